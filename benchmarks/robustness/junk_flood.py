"""Junk flood (issue 11.5): 10M distinct one-off tokens, then real text, before and after sketch aging.

A log stream carries IDs and hashes that never repeat. Without aging, the count-min sketch of
not-yet-admitted words fills up until every one-off token looks ``min_count`` times seen: the
vocabulary fills with junk and every admission needs a prune. This benchmark measures, for two
versions of the code (``before``: a commit without aging, extracted with ``git archive``;
``after``: this working tree), each in its own fresh child process:

* ``flood``: ``--junk-tokens`` random 16-hex-digit IDs, 20 per line, fed through ``learn_text``
  in 1 MiB blocks (the CLI's path), then the Lee corpus repeated ``--text-repeat`` times;
* ``text``: the Lee corpus repeated alone (the normal rate, for comparison).

A third version, this tree with aging off (``sketch_halving_tokens=0``), separates the effect of
aging from that of the cheaper prune (``np.partition`` selection, ``drop_evicted`` over the freed
ids only); ``--max-vocab 200000`` makes the junk fill the vocabulary and prune often.

Reported: words admitted during the flood (``n_admitted``, evicted ones included), junk words
left in the vocabulary, words/s over the whole flood and over its last quarter (when the
vocabulary is full, before aging), words/s on the text after the flood, the text's words in
the vocabulary at the end, peak RSS (the child's ``VmHWM``), and words per CPU second (less
sensitive to other work on a shared machine). Junk generation is outside the timed sections.
The model is ``SGNS()`` with its defaults (``workers=1``, ``min_count=5``, ``max_vocab=1e6``,
sketch ``2**20 × 4``, seed 0).

Usage::

    python benchmarks/robustness/junk_flood.py                      # 10M junk, Lee × 10, before and after
    python benchmarks/robustness/junk_flood.py --junk-tokens 2000000 --before 36eb178

Needs the Lee corpus (gensim's test data, or ``$STREAMSGNS_DATA``/``~/.cache/streamsgns/lee.txt``).
Writes ``benchmarks/results/junk_flood.json`` and prints a table; results in ``benchmarks/robustness/sketch_aging.md``.
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the checkout (benchmarks.*, streamsgns_tools) goes LAST on sys.path: a child imports streamsgns from
# its PYTHONPATH (the checkout under test, e.g. an older commit), which must win over this tree.
sys.path.append(str(ROOT))

from benchmarks.common import RESULTS  # noqa: E402

#: The last commit of main without sketch aging (the branch ``sketch`` started from it).
BEFORE_REV = "36eb178"
JUNK = re.compile(r"^[0-9a-f]{16}$")
BLOCK_BYTES = 1 << 20


# ---------------------------------------------------------------------------------- child side
def _vm(field: str) -> int:
    """A ``/proc/self/status`` memory field, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


def _lee_text() -> str:
    cached = Path(os.environ.get("STREAMSGNS_DATA") or Path.home() / ".cache" / "streamsgns") / "lee.txt"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    from gensim.test.utils import datapath

    return Path(datapath("lee_background.cor")).read_text(encoding="utf-8")


def _junk_blocks(n_tokens: int, seed: int):
    """Blocks of ``\\n``-terminated lines of 20 random 16-hex-digit tokens, ~1 MiB each, ``n_tokens`` in all."""
    import numpy as np

    rng = np.random.default_rng(seed)
    per_block = BLOCK_BYTES // 17 // 20 * 20
    left = n_tokens
    while left > 0:
        n = min(per_block, left)
        hexes = np.frombuffer(binascii.hexlify(rng.bytes(8 * n)), dtype="S16")
        lines = [b" ".join(hexes[i:i + 20].tolist()) for i in range(0, n, 20)]
        yield b"\n".join(lines) + b"\n", n
        left -= n


def _text_blocks(text: str, repeat: int):
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8")
    for _ in range(repeat):
        i = 0
        while i < len(data):
            j = data.rfind(b"\n", i, i + BLOCK_BYTES) + 1 if i + BLOCK_BYTES < len(data) else len(data)
            j = j if j > i else min(len(data), i + BLOCK_BYTES)
            yield data[i:j]
            i = j


def _timed(model, blocks):
    """Feed blocks; return (tokens, wall s, cpu s, per-block [(tokens, wall s)])."""
    tok = wall = cpu = 0.0
    per = []
    for item in blocks:
        data, _ = item if isinstance(item, tuple) else (item, None)
        w0, c0, t0 = time.perf_counter(), time.process_time(), model.words_seen
        model.learn_text(data)
        dw, dc, dt = time.perf_counter() - w0, time.process_time() - c0, model.words_seen - t0
        tok, wall, cpu = tok + dt, wall + dw, cpu + dc
        per.append((dt, dw))
    return int(tok), wall, cpu, per


def child(args) -> dict:
    import streamsgns
    from streamsgns import SGNS

    code = Path(streamsgns.__file__).resolve().parent.parent
    if code != Path(args.code).resolve():
        raise SystemExit(f"imported streamsgns from {code}, expected {args.code}")
    warm = SGNS(vector_size=8, min_count=1, sketch_width=1 << 10, max_vocab=50, seed=1)
    warm.learn_text(b"warm up the kernels once\nso that compilation is not timed\n" * 20)
    kwargs = json.loads(args.kwargs)
    m = SGNS(seed=0, **kwargs)
    out = {"code": str(code), "scenario": args.scenario, "kwargs": kwargs, "load_before": os.getloadavg()}
    if args.scenario == "flood":
        a0 = int(m.vocab.meta[0]["n_admitted"])
        tok, wall, cpu, per = _timed(m, _junk_blocks(args.junk_tokens, 1))
        q = len(per) - max(1, len(per) // 4)
        last_tok, last_wall = sum(t for t, _ in per[q:]), sum(w for _, w in per[q:])
        junk_left = sum(1 for w in m.index_to_key if w is not None and JUNK.match(w))
        sk = m.vocab.sketch
        out["flood"] = {"tokens": tok, "wall_s": wall, "cpu_s": cpu, "words_per_s": tok / wall,
                        "words_per_cpu_s": tok / cpu, "last_quarter_words_per_s": last_tok / last_wall,
                        "admitted": int(m.vocab.meta[0]["n_admitted"]) - a0, "junk_in_vocab": junk_left,
                        "vocab_size": m.vocab_size, "prunes": int(m.vocab.meta[0]["n_prunes"]),
                        "sketch_halvings": int(getattr(sk, "n_halvings", 0)), "rss_bytes": _vm("VmRSS")}
    tok, wall, cpu, _ = _timed(m, _text_blocks(_lee_text(), args.text_repeat))
    words = [w for w in m.index_to_key if w is not None]
    out["text"] = {"tokens": tok, "wall_s": wall, "cpu_s": cpu, "words_per_s": tok / wall,
                   "words_per_cpu_s": tok / cpu, "text_words_in_vocab": sum(1 for w in words if not JUNK.match(w)),
                   "junk_in_vocab": sum(1 for w in words if JUNK.match(w)), "vocab_size": m.vocab_size,
                   "prunes": int(m.vocab.meta[0]["n_prunes"])}
    out["peak_rss_bytes"] = _vm("VmHWM")
    out["load_after"] = os.getloadavg()
    return out


# ---------------------------------------------------------------------------------- parent side
def _extract(rev: str, dest: Path) -> Path:
    """``git archive`` of ``rev``'s package into ``dest`` (no worktree or ref is created)."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "streamsgns"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar.stdout, check=True)
    return dest


def _run_child(code: Path, scenario: str, args, kwargs: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--code", str(code), "--scenario", scenario,
           "--junk-tokens", str(args.junk_tokens), "--text-repeat", str(args.text_repeat),
           "--kwargs", json.dumps(kwargs)]
    r = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"child {scenario} on {code} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _table(results: dict) -> str:
    mib = 1 << 20
    head = ("version", "admitted from flood", "junk left", "prunes", "flood w/s (per CPU s)", "flood last ¼ w/s",
            "text after flood w/s (per CPU s)", "text alone w/s (per CPU s)", "text words in vocab (after flood / alone)",
            "peak RSS MiB (flood / text alone)")
    rows = []
    for name, r in results.items():
        f, t = r["flood"], r["text"]
        rows.append((name, f"{f['flood']['admitted']:,}", f"{f['text']['junk_in_vocab']:,}", f"{f['text']['prunes']:,}",
                     f"{f['flood']['words_per_s']:,.0f} ({f['flood']['words_per_cpu_s']:,.0f})",
                     f"{f['flood']['last_quarter_words_per_s']:,.0f}",
                     f"{f['text']['words_per_s']:,.0f} ({f['text']['words_per_cpu_s']:,.0f})",
                     f"{t['text']['words_per_s']:,.0f} ({t['text']['words_per_cpu_s']:,.0f})",
                     f"{f['text']['text_words_in_vocab']:,} / {t['text']['text_words_in_vocab']:,}",
                     f"{f['peak_rss_bytes'] / mib:,.0f} / {t['peak_rss_bytes'] / mib:,.0f}"))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--junk-tokens", type=int, default=10_000_000)
    p.add_argument("--text-repeat", type=int, default=10, help="times the Lee corpus is fed after the flood")
    p.add_argument("--before", default=BEFORE_REV, help="commit without aging (default %(default)s)")
    p.add_argument("--skip-before", action="store_true")
    p.add_argument("--max-vocab", type=int, default=1_000_000, help="SGNS(max_vocab=...) of every run")
    p.add_argument("--no-aging-off", action="store_true",
                   help="skip the run of this tree with aging off (sketch_halving_tokens=0)")
    p.add_argument("--out", default=str(RESULTS / "junk_flood.json"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--code", help=argparse.SUPPRESS)
    p.add_argument("--scenario", choices=("flood", "text"), help=argparse.SUPPRESS)
    p.add_argument("--kwargs", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    versions = {}
    common = {"max_vocab": args.max_vocab}
    if not args.skip_before:
        # a fixed place per commit, so that numba's on-disk cache of its kernels is reused
        versions[f"before ({args.before})"] = (_extract(args.before, Path(tempfile.gettempdir()) /
                                                        f"streamsgns-junk-flood-{args.before}"), common)
    versions["after (this tree)"] = (ROOT, common)
    if not args.no_aging_off:
        versions["after, aging off"] = (ROOT, {**common, "sketch_halving_tokens": 0})
    results = {}
    for name, (code, kwargs) in versions.items():
        # a first small child compiles the kernels into numba's cache: the children measured
        # below load them, so compilation counts neither in their time nor in their peak RSS
        _run_child(code, "text", argparse.Namespace(junk_tokens=0, text_repeat=1), kwargs)
        results[name] = {}
        for scenario in ("flood", "text"):
            t0 = time.perf_counter()
            results[name][scenario] = _run_child(code, scenario, args, kwargs)
            print(f"{name} {scenario}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    out = {"junk_tokens": args.junk_tokens, "text_repeat": args.text_repeat, "max_vocab": args.max_vocab,
           "cpus": os.cpu_count(), "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(_table(results))
    loads = [f"{name} {sc}: {r['load_before'][0]:.1f}/{r['load_after'][0]:.1f}"
             for name, by_scenario in results.items() for sc, r in by_scenario.items()]
    print("\nload (1-min average) at the start/end of each child: " + "; ".join(loads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
