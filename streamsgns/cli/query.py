"""``streamsgns similar``, ``evaluate`` and ``pmi``: questions asked of a snapshot.

Each reads its SNAPSHOT with :func:`streamsgns.io.open.open_snapshot` (a word2vec file, a
checkpoint or a snapshot directory; ``pmi`` needs a checkpoint). Every failure to read the snapshot (missing, empty, truncated, not word2vec, not a checkpoint,
a directory without a valid checkpoint) is one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys

import numpy as np

__all__ = ["add_parsers", "cmd_similar", "cmd_evaluate", "cmd_pmi", "format_report"]


def _fail(cmd: str, msg) -> int:
    print(f"streamsgns {cmd}: {msg}", file=sys.stderr)
    return 1


def _load(cmd: str, path, model: bool = False):
    """``open_snapshot(path)`` (:mod:`streamsgns.io.open`), or None after printing why not (one line)."""
    from ..io.open import open_snapshot

    try:
        return open_snapshot(path, model=model)
    except (OSError, ValueError) as e:  # CheckpointError is a ValueError
        _fail(cmd, e)
        return None


def cmd_similar(args) -> int:
    """``streamsgns similar SNAPSHOT WORD [--topn N]``: ``word<TAB>cosine`` lines, best first.

    The word is looked up as given, then lowercased; it is never listed itself.
    Returns 0, or 1 (message on stderr) for an unreadable snapshot or an unknown word.
    """
    from ..vectors import KeyedVectors

    if args.topn < 1:
        return _fail("similar", f"--topn must be >= 1, got {args.topn}")
    snap = _load("similar", args.snapshot)
    if snap is None:
        return 1
    words, V = snap.words, snap.vectors
    try:
        kv = KeyedVectors(words, V)
    except ValueError as e:
        return _fail("similar", f"{args.snapshot}: {e}")
    word = args.word if args.word in kv else args.word.lower()
    if word not in kv:
        print(f"streamsgns: {args.word!r} is not in the vocabulary ({len(words)} words)", file=sys.stderr)
        return 1
    for w, s in kv.most_similar(word, topn=args.topn):
        print(f"{w}\t{s:.4f}")
    return 0


def cmd_evaluate(args) -> int:
    """``streamsgns evaluate SNAPSHOT``: WS-353, SimLex-999 and Google analogy scores (table or JSON).

    Returns 0, or 1 (message on stderr) for an unreadable snapshot or evaluation file.
    """
    from ..evaluate import evaluate_all

    snap = _load("evaluate", args.snapshot)
    if snap is None:
        return 1
    words, V = snap.words, snap.vectors
    try:
        res = evaluate_all(words, V, wordsim=args.wordsim, simlex=args.simlex, analogies=args.analogies,
                           restrict_vocab=args.restrict_vocab, data_dir=args.data_dir)
    except (OSError, ValueError) as e:
        return _fail("evaluate", e)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        ws, sl, an = res["wordsim353"], res["simlex999"], res["analogies"]
        print(f"vocabulary      {len(words)}")
        print(f"WS-353          spearman {ws['spearman']:.4f}  ({ws['pairs']} pairs, {ws['oov']} OOV)")
        print(f"SimLex-999      spearman {sl['spearman']:.4f}  ({sl['pairs']} pairs, {sl['oov']} OOV)")
        print(f"Google analogy  accuracy {an['accuracy']:.4f}  ({an['correct']}/{an['questions']}, "
              f"{an['skipped']} skipped)")
    return 0


_REPORT_ROWS = [
    ("pearson", "Pearson(x, t)", "{:.4f}"),
    ("spearman", "Spearman(x, t)", "{:.4f}"),
    ("weighted_mse", "weighted MSE (eq. 8 weights)", "{:.4f}"),
    ("weighted_loss_gap", "loss gap Σ[L(t) − L(x)] (nats)", "{:.1f}"),
    ("frac_within_0_5", "fraction |x − t| < 0.5", "{:.4f}"),
    ("mean_residual", "mean residual x − t", "{:+.4f}"),
    ("n_unobserved", "unobserved pairs sampled", "{:d}"),
    ("unobserved_frac_negative", "  fraction with x < 0", "{:.4f}"),
    ("unobserved_mean", "  mean x", "{:+.4f}"),
]


def format_report(rep: dict, header: str = "") -> str:
    """A readable table of a :func:`streamsgns.pmi.learner_pmi_report` result (``streamsgns pmi``)."""
    target = {"noise": f"P_n(c) = count(c)^{rep.get('alpha', 0.75):g} / Z (the noise distribution)",
              "smoothed": f"#(c)^{rep.get('alpha', 0.75):g} / Z (smoothed pair marginal)",
              "pmi": "#(c) / |D| (plain PMI)"}.get(rep.get("target"), str(rep.get("target")))
    lines = []
    if header:
        lines.append(header)
    lines.append(f"x = W_w·C_c against t = log(#(w,c) / (#(w)·P(c))) − log k,  P(c) = {target}")
    lines.append(f"words compared (top tracked)       {rep['top']}")
    lines.append(f"observed pairs with #(w,c) >= {rep['min_count']:g}   {rep['n_pairs']}")
    lines.append(f"|D| (trained pairs)                {rep['total']}")
    lines.append(f"k (negatives)                      {rep['k']}")
    for key, label, fmt in _REPORT_ROWS:
        v = rep[key]
        txt = fmt.format(v) if isinstance(v, (int, np.integer)) or np.isfinite(v) else "nan"
        lines.append(f"{label:<35s}{txt}")
    return "\n".join(lines)


def _jsonable(d):
    out = {}
    for k, v in d.items():
        if k == "pairs":
            continue
        if isinstance(v, (np.floating, float)):
            v = float(v)
            out[k] = v if np.isfinite(v) else None
        elif isinstance(v, np.integer):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def cmd_pmi(args) -> int:
    """``streamsgns pmi CHECKPOINT_OR_DIR [--top] [--min-count] [--plot] [--svd-dim --svd-output] [--json]``.

    Loads the checkpoint (the newest valid one of a snapshot directory),
    prints :func:`streamsgns.pmi.learner_pmi_report` as a table (or JSON with ``--json``),
    draws :func:`streamsgns.pmi.plot_report` to ``--plot``, and writes PPMI-SVD vectors
    (:func:`streamsgns.pmi.learner_ppmi_svd`, word2vec text format, readable by
    ``streamsgns evaluate`` and ``streamsgns similar``) to ``--svd-output``.

    Returns
    -------
    int
        0 on success; 1 when the checkpoint is unusable (missing, no statistics, no
        pairs, not a checkpoint) or an output cannot be written; the message goes to stderr.
    """
    from pathlib import Path

    from ..pmi import learner_pmi_report, learner_ppmi_svd, plot_report

    snap = _load("pmi", args.checkpoint, model=True)
    if snap is None:
        return 1
    model, p = snap.model, Path(snap.path)
    try:
        rep = learner_pmi_report(model, top=args.top, min_count=args.min_count, return_pairs=bool(args.plot))
    except ValueError as e:
        print(f"streamsgns pmi: {p}: {e}", file=sys.stderr)
        return 1
    rep["checkpoint"] = str(p)
    if args.plot:
        pr = rep["pairs"]
        try:
            plot_report(pr["x"], pr["t"], args.plot,
                        title=f"{p.name}: W·Cᵀ vs PMI − log k, top {rep['top']} words, #(w,c) >= {args.min_count}")
        except (OSError, ValueError) as e:
            return _fail("pmi", f"cannot write the plot {args.plot}: {e}")
        rep["plot"] = str(args.plot)
    svd_dim = getattr(args, "svd_dim", 0) or 0
    svd_out = getattr(args, "svd_output", None)
    if svd_out and svd_dim <= 0:
        svd_dim = 100
    if svd_dim > 0:
        if not svd_out:
            print("streamsgns pmi: --svd-dim needs --svd-output", file=sys.stderr)
            return 1
        from ..io.word2vec import save_word2vec_format

        try:
            words, V = learner_ppmi_svd(model, svd_dim, top=max(args.top, 1))
            n = save_word2vec_format(svd_out, words, V)
        except (OSError, ValueError) as e:
            return _fail("pmi", f"PPMI-SVD vectors to {svd_out}: {e}")
        rep["svd"] = {"output": str(svd_out), "words": n, "dim": int(V.shape[1])}
    if args.json:
        print(json.dumps(_jsonable(rep), indent=2))
    else:
        print(format_report(rep, header=f"checkpoint {p}  ({model.words_seen} tokens seen, "
                                        f"vocabulary {model.vocab_size})"))
        if args.plot:
            print(f"plot                               {args.plot}")
        if "svd" in rep:
            s = rep["svd"]
            print(f"PPMI-SVD vectors                   {s['output']} ({s['words']} words, d = {s['dim']})")
    return 0


def _int_at_least(lo: int):
    import argparse

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v

    parse.__name__ = "int"
    return parse


_positive_int = _int_at_least(1)


def add_parsers(sub) -> None:
    """Add the ``similar``, ``evaluate`` and ``pmi`` sub-commands to ``sub``."""
    s = sub.add_parser("similar", help="nearest neighbours of a word in a snapshot")
    s.add_argument("snapshot", help="vectors file, checkpoint (.npz) or snapshot directory")
    s.add_argument("word", help="looked up as given, then lowercased")
    s.add_argument("--topn", type=_positive_int, default=10, metavar="N", help="neighbours listed (default 10)")
    s.set_defaults(func=cmd_similar)

    e = sub.add_parser("evaluate", help="WS-353, SimLex-999 and Google analogy scores of a snapshot")
    e.add_argument("snapshot", help="vectors file, checkpoint (.npz) or snapshot directory")
    e.add_argument("--data-dir", metavar="DIR",
                   help="directory holding wordsim353.tsv, simlex999.txt and questions-words.txt (default: "
                        "$STREAMSGNS_EVAL_DATA, else the installed gensim's test data)")
    e.add_argument("--wordsim", help="WS-353 file (default: in --data-dir)")
    e.add_argument("--simlex", help="SimLex-999 file (default: in --data-dir)")
    e.add_argument("--analogies", help="questions-words file (default: in --data-dir)")
    e.add_argument("--restrict-vocab", type=_positive_int, default=30000, metavar="N",
                   help="analogy answers among the N most frequent words (default 30000, as gensim)")
    e.add_argument("--json", action="store_true", help="JSON instead of a table")
    e.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("pmi", help="compare W·Cᵀ with PMI − log k in a checkpoint (and PPMI-SVD)")
    q.add_argument("checkpoint", help="checkpoint (.npz) or snapshot directory")
    q.add_argument("--top", type=_positive_int, default=1000, help="most frequent tracked words compared")
    q.add_argument("--min-count", type=_int_at_least(0), default=1, help="only pairs with #(w,c) >= this")
    q.add_argument("--plot", help="PNG: scatter of W·Cᵀ against PMI − log k, and residuals")
    q.add_argument("--svd-dim", type=_int_at_least(0), default=0, help="also build PPMI-SVD vectors of this dimension")
    q.add_argument("--svd-output", help="write the PPMI-SVD vectors (word2vec format) here")
    q.add_argument("--json", action="store_true", help="JSON instead of a table")
    q.set_defaults(func=cmd_pmi)
