#!/usr/bin/env python
"""Where a one-pass run's memory goes: peak RSS, and the bytes of each component.

One fresh subprocess per run (its RSS is its own) reads the corpus once through ``learn_file``
(the CLI's path) with the defaults, except ``--workers`` and the ``--param`` overrides. It records
``VmHWM``/``VmRSS`` (``/proc/self/status``) after importing the package, after the kernels are
loaded (compiled, with a cold cache), after training and after writing the vectors, the peak of
the Python-tracked allocations during training (``tracemalloc``: numpy's arrays and Python
objects, not LLVM's), and the bytes of each component's arrays: W and C, their averages
(:mod:`streamsgns.averaging`), the vocabulary (hash table, counts), the count-min sketch, the noise
table, the co-occurrence statistics and the replay buffer.

Usage::

    python benchmarks/speed/memory.py [--corpus mix] [--workers 2] [--param replay=1.0 ...] [--cold]
        [--json benchmarks/results/memory.json]

``--cold`` gives the child an empty ``NUMBA_CACHE_DIR`` (the kernels compile in the process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import corpus_file, run_child, write_json  # noqa: E402


def _status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                key, val = line.split(":")
                out[key.lower() + "_mib"] = round(int(val.split()[0]) / 1024, 1)
    return out


def _nbytes(obj) -> int:
    import numpy as np

    return int(sum(v.nbytes for v in vars(obj).values() if isinstance(v, np.ndarray)))


def child(corpus: str, workers: int, params: dict) -> dict:
    """One run in this process; returns the measurements (MiB)."""
    import tracemalloc

    out = {"after_import": None}
    from streamsgns import SGNS

    out["after_import"] = _status()
    m = SGNS(workers=workers, **params)
    m.learn_text("load the kernels now\n" * 10)
    out["after_kernels"] = _status()
    tracemalloc.start()
    m.learn_file(corpus)
    m.flush()
    _, peak = tracemalloc.get_traced_memory()
    out["after_training"] = _status()
    out["tracemalloc_peak_training_mib"] = round(peak / 2**20, 1)
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as d:
        m.save_word2vec_format(os.path.join(d, "v.txt"))
    out["after_export"] = _status()
    mib = lambda b: round(b / 2**20, 1)  # noqa: E731
    out["components_mib"] = {
        "W+C": mib(m.params.W.nbytes + (0 if m.tied else m.params.C.nbytes)),
        "average": mib(m.average.nbytes()) if m.average is not None else 0.0,
        "vocab": mib(_nbytes(m.vocab)),
        "sketch": mib(_nbytes(m.vocab.sketch)),
        "noise": mib(_nbytes(m.noise)),
        "cooc": mib(_nbytes(m.cooc)) if m.cooc is not None else 0.0,
        "replay": mib(m.replay_state.nbytes()) if getattr(m, "replay_state", None) is not None else 0.0,
    }
    out.update(words_seen=m.words_seen, vocab_size=m.vocab_size, capacity=m.params.capacity)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="mix", help="corpus name (streamsgns_tools.corpora) or a path")
    ap.add_argument("--cache", default=None, help="corpus cache directory")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--param", action="append", default=[], help="SGNS parameter override, NAME=JSON")
    ap.add_argument("--cold", action="store_true", help="an empty numba cache: compile in the run")
    ap.add_argument("--json", default=None)
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        spec = json.loads(args._child)
        print(json.dumps(child(spec["corpus"], spec["workers"], spec["params"])))
        return 0
    corpus = str(corpus_file(args.corpus, args.cache))
    params = {}
    for p in args.param:
        k, v = p.split("=", 1)
        params[k] = json.loads(v)
    env = dict(os.environ)
    if args.cold:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-cold-")
    spec = json.dumps({"corpus": corpus, "workers": args.workers, "params": params})
    try:
        res = run_child(__file__, spec, env=env)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    res.update(corpus=corpus, workers=args.workers, params=params, cold=args.cold)
    print(json.dumps(res, indent=1))
    if args.json:
        write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
