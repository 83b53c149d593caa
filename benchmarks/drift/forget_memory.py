#!/usr/bin/env python
"""Memory on an endless stream whose vocabulary keeps turning over, with and without ``half_life``.

The stream: the first ``--segment`` tokens of a real corpus (default ``mix``), then the same text
again ``--rounds - 1`` times with every token renamed into a fresh word (round ``r`` writes ``w``
as ``w_r``): each round brings a whole new vocabulary with the same frequencies, and the words of
earlier rounds never come back. Without forgetting every word ever admitted keeps its row (until
``max_vocab``); with ``half_life`` the words of past rounds fade and are evicted, so the rows in use
should stay flat.

Each configuration runs in its own fresh subprocess (so that its RSS is its own), feeding the
stream through ``learn_text`` in blocks of about 1 MiB (the CLI's path), ``workers=1``. After every
``--every`` tokens it records: ``n_ids`` (rows in use, free ones included), ``vocab_size`` (words
admitted), ``capacity`` (rows allocated), ``state_bytes`` (bytes of every array in
``SGNS.state_dict()``, what a checkpoint holds) and ``rss_mib`` (the process's ``VmRSS``).

Usage::

    python benchmarks/drift/forget_memory.py [--corpus mix] [--segment 1000000] [--rounds 12]
        [--half-life 250000] [--json benchmarks/results/forget_memory.json]

Prints a table and writes the JSON (``benchmarks/results/`` is where the benchmarks write).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, write_json  # noqa: E402  (atomic JSON, as every benchmark here)
from streamsgns_tools.corpora import read_token_lists  # noqa: E402

DEFAULT_JSON = RESULTS / "forget_memory.json"
MODEL = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, workers=1, seed=0)


def round_blocks(seg: list[list[str]], r: int, block_bytes: int = 1 << 20):
    """Blocks of ``\\n``-separated lines of round ``r`` (round 0: the text itself; else every word ``w`` as ``w_r``)."""
    suf = "" if r == 0 else f"_{r}"
    lines, size = [], 0
    for toks in seg:
        line = " ".join(t + suf for t in toks) if suf else " ".join(toks)
        lines.append(line)
        size += len(line) + 1
        if size >= block_bytes:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines, size = [], 0
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def state_bytes(state) -> int:
    if isinstance(state, np.ndarray):
        return int(state.nbytes)
    if isinstance(state, dict):
        return sum(state_bytes(v) for v in state.values())
    return 0


def child(spec: dict) -> dict:
    from streamsgns import SGNS

    seg = read_token_lists(spec["corpus"], spec["segment"])
    m = SGNS(**MODEL, half_life=spec["half_life"])
    m.learn_text(b"warm up the kernels\n" * 10)
    m = SGNS(**MODEL, half_life=spec["half_life"])
    series, next_at, t0 = [], spec["every"], time.perf_counter()
    for r in range(spec["rounds"]):
        for block in round_blocks(seg, r):
            m.learn_text(block)
            if m.words_seen >= next_at:
                next_at += spec["every"]
                series.append({"tokens": m.words_seen, "round": r, "n_ids": m.n_ids, "vocab_size": m.vocab_size,
                               "capacity": m.vocab.capacity, "state_bytes": state_bytes(m.state_dict()),
                               "rss_mib": round(rss_mib(), 1), "faded": m.progress()["faded"],
                               "evicted": m.progress()["evicted"], "wall_s": round(time.perf_counter() - t0, 2)})
    return {"half_life": spec["half_life"], "series": series, "words_seen": m.words_seen,
            "segment_tokens": sum(len(t) for t in seg), "progress": m.progress()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--segment", type=int, default=1_000_000, help="tokens per round")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--half-life", type=float, default=250_000)
    ap.add_argument("--every", type=int, default=500_000, help="tokens between two measurements")
    ap.add_argument("--json", default=str(DEFAULT_JSON))
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        print(json.dumps(child(json.loads(args._child))))
        return 0
    path = str(corpus_file(args.corpus))  # cached in $STREAMSGNS_DATA or ~/.cache/streamsgns
    runs = []
    for hl in (None, args.half_life):
        spec = {"corpus": path, "segment": args.segment, "rounds": args.rounds, "half_life": hl, "every": args.every}
        t0 = time.time()
        out = subprocess.run([sys.executable, __file__, "--_child", json.dumps(spec)], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            return 1
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res["run_s"] = round(time.time() - t0, 1)
        runs.append(res)
    a, b = runs
    print(f"stream: {args.rounds} rounds of {a['segment_tokens']:,} tokens of {args.corpus} (round r renames w as w_r), "
          f"half_life {args.half_life:,.0f}; workers=1")
    print(f"{'tokens':>11} | {'n_ids':>8} {'state MiB':>9} {'RSS MiB':>8} | {'n_ids':>8} {'state MiB':>9} {'RSS MiB':>8} {'faded':>8}")
    print(f"{'':>11} | {'half_life=None':^27} | {'half_life=' + format(args.half_life, ',.0f'):^36}")
    for x, y in zip(a["series"], b["series"]):
        print(f"{x['tokens']:>11,} | {x['n_ids']:>8,} {x['state_bytes'] / 2**20:>9.1f} {x['rss_mib']:>8.0f} | "
              f"{y['n_ids']:>8,} {y['state_bytes'] / 2**20:>9.1f} {y['rss_mib']:>8.0f} {y['faded']:>8,}")
    load = os.getloadavg()[0]
    doc = {"benchmark": "forget_memory", "corpus": args.corpus, "segment": args.segment, "rounds": args.rounds,
           "half_life": args.half_life, "model": MODEL, "runs": runs,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_1min_end": load,
                       "note": "2 vCPUs shared with other jobs while this ran"},
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"wrote {write_json(args.json, doc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
