"""``streamsgns drift``: words whose neighbourhoods moved between snapshots, or across a run.

* ``streamsgns drift OLD NEW [--top 50] [--k 10] [--align/--no-align] [--plot drift.png] [--json]``
  ranks the words of two snapshots by change (:func:`streamsgns.drift.neighbour_drift`);
* ``streamsgns drift --run-dir DIR --words w1,w2 [--changes FILE.jsonl] [--plot out.png] [--json]``
  follows chosen words across all snapshots of a run (:func:`streamsgns.drift_series.drift_series`),
  with the change events of ``streamsgns train --changes`` marked.

A snapshot that is missing, empty or unreadable is one line on stderr and exit status 1; a bad
option is a usage error (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys

from .query import _int_at_least

__all__ = ["add_parser", "cmd_drift"]


def _fail(msg) -> int:
    print(f"streamsgns drift: {msg}", file=sys.stderr)
    return 1


def _words(text: str) -> list:
    ws = [w.strip() for w in text.split(",") if w.strip()]
    if not ws:
        raise argparse.ArgumentTypeError(f"no word in {text!r} (use w1,w2,...)")
    return ws


def _pair(args) -> int:
    from ..drift import compare_snapshots, format_table

    try:
        rep = compare_snapshots(args.snapshots[0], args.snapshots[1], top=args.top, k=args.k,
                                candidates=args.candidates, restrict_vocab=args.restrict_vocab or None,
                                min_count=args.min_count, align=args.align, words=args.words,
                                sort=args.sort)
    except (OSError, ValueError) as e:  # CheckpointError is a ValueError
        return _fail(e)
    if args.plot:
        from ..drift_series import plot_pair

        try:
            plot_pair(rep, args.plot, show=min(args.top, 30))
        except ImportError:
            return _fail("--plot needs matplotlib (pip install 'streamsgns[plot]')")
        except (OSError, ValueError) as e:
            return _fail(f"cannot write the plot {args.plot}: {e}")
    if args.json:
        d = rep.to_dict()
        if args.plot:
            d["plot"] = str(args.plot)
        print(json.dumps(d, indent=2))
    else:
        sys.stdout.write(format_table(rep, show=args.show))
        if args.plot:
            print(f"# plot: {args.plot}")
    if not args.align and rep.median_self_similarity < 0.2:
        print(f"streamsgns drift: note: the median self-similarity is {rep.median_self_similarity:.2f}; "
              "if the snapshots come from different runs, use --align", file=sys.stderr)
    return 0


def _series(args) -> int:
    from ..drift_series import drift_series, plot_drift

    try:
        records = _change_records(args)
        s = drift_series(args.run_dir, args.words, k=args.k, restrict_vocab=args.restrict_vocab or None,
                         changes=records)
    except (OSError, ValueError) as e:
        return _fail(e)
    if args.plot:
        try:
            plot_drift(s, args.plot, show=args.show)
        except ImportError:
            return _fail("--plot needs matplotlib (pip install 'streamsgns[plot]')")
        except (OSError, ValueError) as e:
            return _fail(f"cannot write the plot {args.plot}: {e}")
    if args.json:
        if args.plot:
            s["plot"] = str(args.plot)
        print(json.dumps(s, indent=2))
        return 0
    print(f"# {len(s['snapshots'])} snapshots in {args.run_dir}; cos = cosine with the word's vector in "
          "the previous / last snapshot")
    fmt = lambda v: "     -" if v is None else f"{v:6.3f}"  # noqa: E731
    for w, pts in s["words"].items():
        for ev in s["changes"].get(w, []):
            print(f"\n# {w}: change detected at {ev['tokens']} tokens (score {ev['score']})")
        print(f"\n{w}\n{'tokens seen':>14}  cos prev  cos last  neighbours")
        for p in pts:
            nb = ", ".join(p["neighbours"][:args.show]) if p["present"] else "(not in the vocabulary)"
            print(f"{p['words_seen']:>14}    {fmt(p['self_similarity_previous'])}    "
                  f"{fmt(p['self_similarity_last'])}  {nb}")
    if args.plot:
        print(f"\n# plot: {args.plot}")
    return 0


def _change_records(args) -> list:
    """The change records of ``--changes`` (or of ``RUN_DIR/changes.jsonl`` when it exists); [] if none."""
    from pathlib import Path

    path = args.changes or (Path(args.run_dir) / "changes.jsonl")
    if not args.changes and not Path(path).exists():
        return []
    out = []
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                break  # a torn last line of a crashed run
            if isinstance(rec, dict):
                out.append(rec)
    return out


def cmd_drift(args) -> int:
    """Run ``streamsgns drift``; returns 0, or 1 (one line on stderr) for an unreadable snapshot.

    Raises
    ------
    SystemExit
        With status 2 for a usage error (wrong number of snapshots, ``--run-dir`` without
        ``--words``).
    """
    if args.run_dir is not None:
        if args.snapshots:
            args.parser.error("give either two snapshots or --run-dir, not both")
        if not args.words:
            args.parser.error("--run-dir needs --words w1,w2,...")
        return _series(args)
    if len(args.snapshots) != 2:
        args.parser.error(f"two snapshots are needed (old, new), got {len(args.snapshots)}; "
                          "or --run-dir DIR --words w1,w2")
    return _pair(args)


def add_parser(sub) -> None:
    """Add the ``drift`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    d = sub.add_parser("drift", help="words whose neighbourhoods changed between snapshots",
                       description="Words whose neighbourhoods moved between two snapshots, or across a run.")
    d.add_argument("snapshots", nargs="*", metavar="SNAPSHOT",
                   help="old and new snapshot: word2vec vectors (text or binary), checkpoint (.npz) or snapshot "
                        "directory (its newest valid snapshot)")
    d.add_argument("--run-dir", help="follow --words across all snapshots of this run directory")
    d.add_argument("--words", type=_words, help="comma-separated words (series; or: score only these)")
    d.add_argument("--top", type=_int_at_least(1), default=50, help="rows listed (default 50)")
    d.add_argument("--k", type=_int_at_least(1), default=10, help="neighbours compared per word (default 10)")
    d.add_argument("--candidates", type=_int_at_least(1), default=1000,
                   help="most frequent shared words scored (default 1000)")
    d.add_argument("--restrict-vocab", type=_int_at_least(0), default=10000,
                   help="neighbours among this many most frequent words, 0 = all (default 10000)")
    d.add_argument("--min-count", type=_int_at_least(0), default=0,
                   help="checkpoints only: words counted at least this often in both (default 0)")
    d.add_argument("--align", action=argparse.BooleanOptionalAction, default=False,
                   help="orthogonal Procrustes alignment before the self-similarity, for snapshots of "
                        "different runs (default: no, one run shares its axes)")
    d.add_argument("--sort", choices=["change", "self"], default="change",
                   help="rank by change score (ties: lower self-similarity first) or by self-similarity")
    d.add_argument("--show", type=_int_at_least(1), default=5, help="neighbours printed per word (default 5)")
    d.add_argument("--changes", metavar="FILE.jsonl",
                   help="with --run-dir: mark the change events of this file (streamsgns train --changes) in the "
                        "series and plot (default: RUN_DIR/changes.jsonl when it exists)")
    d.add_argument("--plot", help="write a PNG")
    d.add_argument("--json", action="store_true", help="JSON instead of a table")
    d.set_defaults(func=cmd_drift, parser=d)
