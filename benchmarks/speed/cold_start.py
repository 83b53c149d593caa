#!/usr/bin/env python
"""A newcomer's first run: time to the first trained token with an empty numba cache, and what compiles.

Each repeat runs in a fresh subprocess with its own empty ``NUMBA_CACHE_DIR``: it imports the
package, builds ``SGNS(workers=W)`` and learns one small block, timing each step; numba's compile
events (``numba.core.event``, ``numba:compile``) give the seconds spent in each function, its
callees' compilation excluded, the number of compiled specialisations, and the process's CPU
seconds to the first token (less sensitive to a shared machine's load than wall seconds). A last subprocess does
the same with the cache the first one filled (a warm start). Then ``streamsgns train`` on the first
``--cli-bytes`` of the corpus, cold (the command compiles in a child process,
:mod:`streamsgns.warmup`) and warm: wall seconds and the trainer's own peak RSS.

Compilation is CPU-bound: on a shared machine the seconds are inflated by the load (the script
records the load average before and after each run).

Usage::

    python benchmarks/speed/cold_start.py [--repeat 3] [--workers 1] [--corpus mix] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import corpus_file, run_child, write_json  # noqa: E402

_TEXT = "the quick brown fox jumps over the lazy dog and runs away\n" * 2000


def child(workers: int) -> dict:
    """One start in this process: seconds per step, compile seconds per function (exclusive)."""
    import collections

    from numba.core import event

    excl = collections.Counter()
    n_compiled = collections.Counter()
    stack = []

    class Listener(event.Listener):
        def on_start(self, ev):
            d = ev.data.get("dispatcher")
            stack.append([d.py_func.__qualname__ if d is not None else "?", time.perf_counter(), 0.0])

        def on_end(self, ev):
            name, t, inner = stack.pop()
            dt = time.perf_counter() - t
            excl[name] += dt - inner
            n_compiled[name] += 1
            if stack:
                stack[-1][2] += dt

    event.register("numba:compile", Listener())
    c0 = time.process_time()
    t0 = time.perf_counter()
    from streamsgns import SGNS

    t1 = time.perf_counter()
    m = SGNS(workers=workers)
    t2 = time.perf_counter()
    m.learn_text(_TEXT)
    m.flush()
    t3 = time.perf_counter()
    top = sorted(excl.items(), key=lambda kv: -kv[1])[:15]
    return {"import_s": t1 - t0, "construct_s": t2 - t1, "first_block_s": t3 - t2, "first_token_s": t3 - t0,
            "first_token_cpu_s": time.process_time() - c0,
            "compile_s": sum(excl.values()), "specialisations": sum(n_compiled.values()),
            "top_exclusive_s": {k: round(v, 2) for k, v in top}}


def _load() -> float:
    return os.getloadavg()[0]


def _run_child(workers: int, cache: str) -> dict:
    load0 = _load()
    out = run_child(__file__, str(workers), env=dict(os.environ, NUMBA_CACHE_DIR=cache))
    out["load_avg_1min"] = [round(load0, 2), round(_load(), 2)]
    return out


def _run_cli(corpus_part: str, cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    code = ("import sys, time; t = time.perf_counter(); from streamsgns.cli import main; c = main(sys.argv[1:]); "
            "h = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]; "
            "print('RESULT', time.perf_counter() - t, int(h) / 1024)")
    with tempfile.TemporaryDirectory() as d:
        load0 = _load()
        r = subprocess.run([sys.executable, "-c", code, "train", "--input", corpus_part, "--output",
                            os.path.join(d, "v.txt"), "--quiet"], capture_output=True, text=True, env=env)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT")]
    if r.returncode != 0 or not line:
        raise RuntimeError(r.stderr[-3000:])
    _, wall, hwm = line[-1].split()
    return {"wall_s": round(float(wall), 2), "peak_rss_mib": round(float(hwm), 1),
            "load_avg_1min": [round(load0, 2), round(_load(), 2)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--corpus", default="mix", help="corpus name or path (the CLI runs read its first --cli-bytes)")
    ap.add_argument("--cache", default=None, help="corpus cache directory")
    ap.add_argument("--cli-bytes", type=int, default=1 << 20)
    ap.add_argument("--json", default=None)
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        print(json.dumps(child(int(args._child))))
        return 0
    res = {"cold": [], "warm": None, "cli_cold": [], "cli_warm": None, "workers": args.workers}
    cache = None
    for _ in range(args.repeat):
        cache = tempfile.mkdtemp(prefix="numba-cold-")
        res["cold"].append(_run_child(args.workers, cache))
        print(json.dumps(res["cold"][-1]), flush=True)
    res["warm"] = _run_child(args.workers, cache)
    print("warm", json.dumps(res["warm"]), flush=True)
    corpus = str(corpus_file(args.corpus, args.cache))
    with open(corpus, "rb") as f:
        data = f.read(args.cli_bytes)
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
        f.write(data[: data.rfind(b"\n") + 1])
        part = f.name
    try:
        for _ in range(args.repeat):
            cache = tempfile.mkdtemp(prefix="numba-cold-")
            res["cli_cold"].append(_run_cli(part, cache))
            print("cli cold", json.dumps(res["cli_cold"][-1]), flush=True)
        res["cli_warm"] = _run_cli(part, cache)
        print("cli warm", json.dumps(res["cli_warm"]), flush=True)
    finally:
        os.unlink(part)
    if args.json:
        write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
