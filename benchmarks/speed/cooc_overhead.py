#!/usr/bin/env python
"""Cost of the running co-occurrence statistics: training words/s with ``track_cooc`` off and on.

Same process, same text, same parameters; the configurations are interleaved within each
repeat, each one right after a run of the baseline (off, on, off, marginals only, ...), so that
a slow phase of the machine hits both, and the best of ``--repeat`` runs is kept for each (the
usual estimate of the undisturbed speed). Every
run builds a fresh ``SGNS`` and feeds the text held in memory as blocks of about 1 MiB of
whole lines through ``learn_text`` (the CLI's path: numba tokeniser, vocabulary, training),
so disk reads are not timed. numba compiles the kernels on a small warm-up text first.

Metrics: ``words_per_s`` = tokens consumed / wall seconds (``time.perf_counter``);
``cpu_words_per_s`` = tokens / CPU seconds of the process (``time.process_time``), less
sensitive to other processes on the machine; ``cost_pct = 100·(1 − on/off)`` of the best
words/s, ``cpu_cost_pct`` the same with CPU time, and ``paired_cpu_cost_median_pct`` the median
over repeats of the CPU-time cost of a run against the baseline run just before it (the most
robust of the three on a busy machine). The 1-minute load average is recorded before each run: a run started above
``--max-load`` waits (up to ``--wait`` seconds) for the machine to calm down, and a run
during which the load exceeded it is repeated (at most ``--retries`` times), because on a
2-vCPU machine any other busy process halves the speed.

``--breakdown`` adds configurations that isolate the parts of the statistics: marginals
only (no pair table, no sketch), the exact top-N table without the sketch, the sketch fed
every untracked pair (``sketch_rate=1``, the unsampled design), and the default with a
top-N of 2000. They are built by replacing ``model.cooc`` before any text is fed, which is
equivalent to constructing the learner with those statistics.

Usage::

    python benchmarks/speed/cooc_overhead.py [--input /tmp/mix20.txt] [--repeat 3]
        [--breakdown] [--json benchmarks/results/cooc_overhead.json]

The default input is the first 20 MB of the ``mix`` corpus
(``python -m streamsgns_tools.corpora mix --cache DIR``; ``head -c 20000000 DIR/mix.txt``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS  # noqa: E402

DEFAULT_JSON = RESULTS / "cooc_overhead.json"
MODEL = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, workers=1, seed=0)


def configs(breakdown: bool) -> list[dict]:
    out = [
        {"name": "off", "params": {"track_cooc": False}},
        {"name": "on", "params": {"track_cooc": True}},
    ]
    if breakdown:
        out += [
            {"name": "marginals only", "params": {"track_cooc": True, "cooc_top_n": 0, "cooc_sketch_depth": 0}},
            {"name": "exact top-N, no sketch", "params": {"track_cooc": True, "cooc_sketch_depth": 0}},
            {"name": "sketch every pair (rate 1)", "params": {"track_cooc": True, "cooc_sketch_rate": 1}},
            {"name": "on, top-N 2000", "params": {"track_cooc": True, "cooc_top_n": 2000}},
        ]
    return out


def make_model(cfg):
    from streamsgns import SGNS

    # every setting of the statistics is a constructor parameter (saved in checkpoints)
    return SGNS(**{**MODEL, **cfg["params"]})


def wait_for_quiet(max_load: float, wait: float) -> float:
    t0 = time.monotonic()
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() - t0 < wait:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def run_once(cfg, blocks):
    m = make_model(cfg)
    w0, c0 = time.perf_counter(), time.process_time()
    for b in blocks:
        m.learn_text(b)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    p = m.progress()
    return {"wall_s": wall, "cpu_s": cpu, "words": p["words_seen"], "pairs": p["pairs"],
            "words_per_s": p["words_seen"] / wall, "cpu_words_per_s": p["words_seen"] / cpu,
            "cooc_mib": (m.cooc.nbytes / 2**20) if m.cooc is not None else 0.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default="/tmp/mix20.txt", help="text file, one sentence per line")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--breakdown", action="store_true", help="also time the parts of the statistics")
    ap.add_argument("--max-load", type=float, default=1.5, help="1-min load average above which a run waits/redoes")
    ap.add_argument("--wait", type=float, default=300.0, help="seconds to wait for the load to drop")
    ap.add_argument("--retries", type=int, default=2, help="re-runs of a run disturbed by load")
    ap.add_argument("--configs", help="JSON list of {name, params, cooc} to time instead (the first is the baseline)")
    ap.add_argument("--json", default=str(DEFAULT_JSON))
    args = ap.parse_args(argv)

    from streamsgns.connectors.files import iter_line_blocks
    from streamsgns import SGNS

    data = Path(args.input).read_bytes()
    blocks = list(iter_line_blocks(io.BytesIO(data), 1 << 20))
    cfgs = json.loads(args.configs) if args.configs else configs(args.breakdown)
    for cfg in cfgs:  # numba compilation and first-touch costs, untimed
        make_model(cfg).learn_text(blocks[0][:300_000])
    SGNS(**MODEL).learn_text(blocks[0][:1000])

    base_cfg = cfgs[0]
    runs = {c["name"]: [] for c in cfgs}
    paired = {c["name"]: [] for c in cfgs[1:]}  # CPU-time cost against the baseline run just before

    def timed(cfg):
        for attempt in range(args.retries + 1):
            load0 = wait_for_quiet(args.max_load, args.wait)
            res = run_once(cfg, blocks)
            res["load_before"], res["load_after"] = load0, os.getloadavg()[0]
            res["attempt"] = attempt
            if max(load0, res["load_after"]) <= args.max_load:
                break
        runs[cfg["name"]].append(res)
        print(f"  {cfg['name']:<28s} {res['words_per_s'] / 1e6:6.3f} M words/s (CPU {res['cpu_words_per_s'] / 1e6:6.3f})"
              f"  load {res['load_before']:.2f}/{res['load_after']:.2f}", flush=True)
        return res

    for r in range(args.repeat):
        print(f"repeat {r + 1}/{args.repeat}", flush=True)
        for cfg in cfgs[1:]:
            b = timed(base_cfg)
            c = timed(cfg)
            paired[cfg["name"]].append(100.0 * (1.0 - c["cpu_words_per_s"] / b["cpu_words_per_s"]))

    best = {n: max(v, key=lambda x: x["words_per_s"]) for n, v in runs.items()}
    base = best[base_cfg["name"]]
    base_cpu = max(x["cpu_words_per_s"] for x in runs[base_cfg["name"]])
    rows = []
    for cfg in cfgs:
        b = best[cfg["name"]]
        cpu = max(x["cpu_words_per_s"] for x in runs[cfg["name"]])
        pc = paired.get(cfg["name"], [0.0])
        rows.append({
            "name": cfg["name"], "params": cfg["params"], "cooc": cfg.get("cooc"),
            "best_words_per_s": b["words_per_s"], "best_cpu_words_per_s": cpu,
            "cost_pct": 100.0 * (1.0 - b["words_per_s"] / base["words_per_s"]),
            "cpu_cost_pct": 100.0 * (1.0 - cpu / base_cpu),
            "paired_cpu_cost_pct": pc, "paired_cpu_cost_median_pct": float(np.median(pc)),
            "cooc_mib": b["cooc_mib"], "runs": runs[cfg["name"]],
        })
    print()
    print(f"input {args.input}: {base['words']} tokens, {base['pairs']} pairs; best of {len(runs[cfgs[-1]['name']])} "
          f"runs, workers=1")
    print(f"{'configuration':<28s} {'M words/s':>10s} {'cost':>7s} {'CPU M w/s':>10s} {'CPU cost':>9s} "
          f"{'paired':>7s} {'MiB':>6s}")
    for row in rows:
        print(f"{row['name']:<28s} {row['best_words_per_s'] / 1e6:10.3f} {row['cost_pct']:6.1f}% "
              f"{row['best_cpu_words_per_s'] / 1e6:10.3f} {row['cpu_cost_pct']:8.1f}% "
              f"{row['paired_cpu_cost_median_pct']:6.1f}% {row['cooc_mib']:6.1f}")
    print("cost: 1 − best words/s ÷ best baseline; CPU: the same with CPU time; paired: median over repeats of the "
          "CPU-time cost against the baseline run just before it.")
    out = {
        "benchmark": "cooc_overhead", "input": str(args.input), "input_bytes": len(data),
        "model": MODEL, "repeat": args.repeat, "max_load": args.max_load,
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": rows,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
