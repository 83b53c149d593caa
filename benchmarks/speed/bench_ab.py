"""A/B throughput of two checkouts of streamsgns on the same text, in the same run.

Each repetition trains a fresh model in a child process per checkout (``PYTHONPATH`` = that
checkout), alternating A, B, B, A, ... so that drifts of machine load hit both alike. A child
first compiles/loads the kernels on a small text, then times ``learn_text`` over the first
``--mbytes`` of the corpus in blocks of 1 MiB: wall-clock and CPU seconds (``time.process_time``,
robust to other processes on the machine). Prints a table and writes JSON.

    python benchmarks/speed/bench_ab.py --a /tmp/wt-before --b . --corpus data/mix.txt --mbytes 40 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*

from benchmarks.common import RESULTS  # noqa: E402

_CHILD = r"""
import json, sys, time
from streamsgns import SGNS
params = json.loads(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    data = f.read(int(sys.argv[3]))
cut = data.rfind(b"\n") + 1
data = data[:cut]
warm = SGNS(**params)
warm.learn_text(data[: 200_000])
m = SGNS(**params)
blocks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
t0, c0 = time.perf_counter(), time.process_time()
for b in blocks:
    m.learn_text(b)
m.flush()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"words": m.words_seen, "wall": wall, "cpu": cpu, "vocab": m.vocab_size}))
"""


def run(checkout: str, corpus: str, nbytes: int, params: dict) -> dict:
    checkout = os.path.abspath(checkout)
    env = dict(os.environ, PYTHONPATH=checkout)
    # run from inside the checkout: ``python -c`` puts the working directory first on sys.path, so a
    # child started from the other checkout would import that one whatever PYTHONPATH says
    out = subprocess.run([sys.executable, "-c", _CHILD, os.path.abspath(corpus), json.dumps(params), str(nbytes)],
                         env=env, cwd=checkout, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="checkout A (e.g. the commit before a change)")
    ap.add_argument("--b", required=True, help="checkout B")
    ap.add_argument("--corpus", required=True, help="text file, one sentence per line")
    ap.add_argument("--mbytes", type=float, default=40.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--params", default='{"workers": 1}', help="SGNS parameters as JSON")
    ap.add_argument("--out", default=str(RESULTS / "ab.json"))
    args = ap.parse_args(argv)
    params = json.loads(args.params)
    nbytes = int(args.mbytes * (1 << 20))
    runs = {"A": [], "B": []}
    order = ["A", "B", "B", "A"] * ((args.repeat + 1) // 2)
    for k in order[: 2 * args.repeat]:
        r = run(args.a if k == "A" else args.b, args.corpus, nbytes, params)
        r["load"] = os.getloadavg()[0]
        runs[k].append(r)
        print(f"{k}: {r['words'] / r['wall']:>10,.0f} words/s wall  {r['words'] / r['cpu']:>10,.0f} words/s CPU  "
              f"load {r['load']:.2f}", flush=True)
    summary = {}
    for k, rs in runs.items():
        summary[k] = {"words": rs[0]["words"], "vocab": rs[0]["vocab"],
                      "median_wall_wps": statistics.median(r["words"] / r["wall"] for r in rs),
                      "median_cpu_wps": statistics.median(r["words"] / r["cpu"] for r in rs),
                      "best_wall_wps": max(r["words"] / r["wall"] for r in rs)}
    ratio = {m: summary["B"][m] / summary["A"][m] for m in ("median_wall_wps", "median_cpu_wps", "best_wall_wps")}
    print(f"\n{'':8}{'median wall':>14}{'median CPU':>14}{'best wall':>14}   words   vocab")
    for k in ("A", "B"):
        s = summary[k]
        print(f"{k:8}{s['median_wall_wps']:>14,.0f}{s['median_cpu_wps']:>14,.0f}{s['best_wall_wps']:>14,.0f}"
              f"   {s['words']:,}   {s['vocab']:,}")
    print(f"{'B / A':8}{ratio['median_wall_wps']:>14.3f}{ratio['median_cpu_wps']:>14.3f}{ratio['best_wall_wps']:>14.3f}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"a": args.a, "b": args.b, "corpus": args.corpus, "bytes": nbytes, "params": params,
                   "runs": runs, "summary": summary, "ratio_b_over_a": ratio, "time": time.time()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
