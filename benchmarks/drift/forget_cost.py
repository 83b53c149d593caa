#!/usr/bin/env python
"""Throughput cost of forgetting: training words/s with ``half_life`` against ``half_life=None``.

Same process, same text, same parameters (gensim's defaults, ``workers=1``). The configurations
are interleaved within each repeat (None, H1, H2, None, H1, H2, ...) so that a slow phase of the
shared machine hits all of them, and the *median* over repeats is reported, with the ratio of
medians and the median of the paired ratios (each run against the baseline run just before it in
the same repeat). Every run builds a fresh ``SGNS`` and feeds the text held in memory as blocks
of about 1 MiB of whole lines through ``learn_text`` (the CLI's path), so disk reads are not
timed; numba compiles the kernels on a small warm-up text first.

Two half-lives: ``--half-life`` (default 5e7, the issue's example: one decay step every
3.1M tokens, so a run of a few million tokens pays for about one step plus the per-chunk check)
and ``--short-half-life`` (default 1e6: a step every 62,500 tokens, dozens per run, the amortised
cost of the steps themselves). ``cost_pct = 100·(1 − words/s with / words/s without)``.

The cost of one decay step is also timed directly (``--step-timing``, default on): on the model of
the last run, ``forget_step`` is called ``5`` times and the fastest kept (the least disturbed by
other processes); ``step_ms / every`` against the baseline's seconds per token is the amortised
cost the steps add, an estimate that does not depend on comparing two noisy runs.

Metrics: ``words_per_s`` = tokens / wall seconds; ``cpu_words_per_s`` = tokens / CPU seconds of
the process (less sensitive to other processes on the machine). The 1-minute load average is
recorded before each run.

Usage::

    python benchmarks/drift/forget_cost.py [--corpus mix] [--tokens 4000000] [--repeat 5]
        [--json benchmarks/results/forget_cost.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, write_json  # noqa: E402  (atomic JSON, as every benchmark here)
from benchmarks.drift.forget_memory import MODEL  # noqa: E402  (the same model settings)

DEFAULT_JSON = RESULTS / "forget_cost.json"


def read_blocks(path: str, n_tokens: int, block_bytes: int = 1 << 20) -> tuple[list[bytes], int]:
    """Whole lines of ``path`` holding about ``n_tokens`` tokens (whitespace count), in blocks of ~1 MiB."""
    blocks, cur, size, n = [], [], 0, 0
    with open(path, "rb") as f:
        for line in f:
            cur.append(line)
            size += len(line)
            n += len(line.split())
            if size >= block_bytes:
                blocks.append(b"".join(cur))
                cur, size = [], 0
            if n >= n_tokens:
                break
    if cur:
        blocks.append(b"".join(cur))
    return blocks, n


def one_run(blocks, half_life) -> dict:
    from streamsgns import SGNS

    m = SGNS(**MODEL, half_life=half_life)
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    for b in blocks:
        m.learn_text(b)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    p = m.progress()
    return {"half_life": half_life, "words": m.words_seen, "wall_s": wall, "cpu_s": cpu,
            "words_per_s": m.words_seen / wall, "cpu_words_per_s": m.words_seen / cpu, "load_1min": load,
            "decay_steps": p["decay_steps"], "faded": p["faded"], "vocab_size": m.vocab_size}


def step_timing(blocks, half_life, n: int = 5) -> dict:
    """Fastest of ``n`` direct calls of the decay step on a model trained on ``blocks`` (seconds)."""
    from streamsgns import SGNS
    from streamsgns.forget import forget_every, forget_step

    m = SGNS(**MODEL, half_life=half_life)
    for b in blocks:
        m.learn_text(b)
    tr = m._trainer  # the kernel's bundles, as the driver passes them
    best = float("inf")
    for _ in range(n):
        m.forget.meta[0]["since"] = forget_every(half_life)
        t0 = time.perf_counter()
        forget_step(tr.cfg, m.forget.arrays(), m.vocab.arrays(), m.vocab.sketch.arrays(), tr._cooc_arrays(),
                    m.noise.arrays(), tr._detect_arrays())
        best = min(best, time.perf_counter() - t0)
    return {"half_life": half_life, "step_s": best, "every": forget_every(half_life), "n_ids": m.n_ids,
            "cooc_cells": int(m.cooc.clo.size + m.cooc.csk.size)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--tokens", type=int, default=4_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--half-life", type=float, default=5e7)
    ap.add_argument("--short-half-life", type=float, default=1e6)
    ap.add_argument("--json", default=str(DEFAULT_JSON))
    ap.add_argument("--no-step-timing", dest="step_timing", action="store_false")
    args = ap.parse_args(argv)
    from streamsgns import SGNS

    blocks, _ = read_blocks(str(corpus_file(args.corpus)), args.tokens)
    for hl in (None, 1000.0):  # compile both paths
        w = SGNS(**MODEL, half_life=hl)
        w.learn_text(b"warm up the kernels with a few words\n" * 2000)
    configs = [None, args.half_life, args.short_half_life]
    runs = []
    for r in range(args.repeat):
        for hl in configs:
            res = one_run(blocks, hl)
            res["repeat"] = r
            runs.append(res)
            print(f"  repeat {r} half_life={hl}: {res['words_per_s']:,.0f} words/s "
                  f"({res['cpu_words_per_s']:,.0f} per CPU s), load {res['load_1min']:.1f}, "
                  f"{res['decay_steps']} decay steps", flush=True)
    summary = []
    base = [x for x in runs if x["half_life"] is None]
    for hl in configs:
        mine = [x for x in runs if x["half_life"] == hl]
        med = statistics.median(x["words_per_s"] for x in mine)
        cmed = statistics.median(x["cpu_words_per_s"] for x in mine)
        paired = [x["words_per_s"] / b["words_per_s"] for x, b in zip(mine, base)]
        cpaired = [x["cpu_words_per_s"] / b["cpu_words_per_s"] for x, b in zip(mine, base)]
        summary.append({"half_life": hl, "median_words_per_s": med, "median_cpu_words_per_s": cmed,
                        "ratio_of_medians": med / statistics.median(b["words_per_s"] for b in base),
                        "median_paired_ratio": statistics.median(paired),
                        "median_paired_cpu_ratio": statistics.median(cpaired),
                        "cost_pct": 100 * (1 - statistics.median(paired)),
                        "cpu_cost_pct": 100 * (1 - statistics.median(cpaired)),
                        "decay_steps": mine[0]["decay_steps"], "words": mine[0]["words"]})
    print(f"\n{base[0]['words']:,} tokens of {args.corpus}, workers=1, {args.repeat} interleaved repeats, medians; "
          "the 2 vCPUs were shared with other jobs")
    print(f"{'half_life':>12} {'steps':>6} {'words/s':>10} {'per CPU s':>10} {'ratio':>7} {'paired':>7} "
          f"{'cost %':>7} {'CPU cost %':>10}")
    for s in summary:
        hl = "None" if s["half_life"] is None else f"{s['half_life']:,.0f}"
        print(f"{hl:>12} {s['decay_steps']:>6} {s['median_words_per_s']:>10,.0f} {s['median_cpu_words_per_s']:>10,.0f} "
              f"{s['ratio_of_medians']:>7.3f} {s['median_paired_ratio']:>7.3f} {s['cost_pct']:>7.1f} "
              f"{s['cpu_cost_pct']:>10.1f}")
    steps = []
    if args.step_timing:
        from streamsgns.forget import forget_every

        sec_per_token = 1.0 / summary[0]["median_cpu_words_per_s"]
        st0 = step_timing(blocks, configs[1])  # a step's work does not depend on H: one model, timed once
        for hl in configs[1:]:
            st = {**st0, "half_life": hl, "every": forget_every(hl)}
            st["amortised_cost_pct"] = 100 * st["step_s"] / st["every"] / sec_per_token
            steps.append(st)
        print(f"\n{'half_life':>12} {'step ms':>8} {'tokens/step':>12} {'amortised cost %':>17}  "
              "(fastest of 5 direct forget_step calls; against the baseline's CPU seconds per token)")
        for st in steps:
            print(f"{st['half_life']:>12,.0f} {1000 * st['step_s']:>8.2f} {st['every']:>12,} "
                  f"{st['amortised_cost_pct']:>17.3f}")
    doc = {"benchmark": "forget_cost", "corpus": args.corpus, "tokens": base[0]["words"], "repeat": args.repeat,
           "model": MODEL, "summary": summary, "runs": runs,
           "step_timing": steps,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                       "note": "2 vCPUs shared with other jobs while this ran: see load_1min per run"},
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"wrote {write_json(args.json, doc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
