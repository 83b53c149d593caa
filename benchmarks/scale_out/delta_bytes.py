"""Where the bytes of one replica's delta go, against the checkpoint of the same model.

A model is trained in this process on the first ``--base`` tokens of the ``mix`` corpus (the
simulator's settings: co-occurrence statistics and averages on); one replica then trains
``--round`` more tokens from it, and its :func:`streamsgns.distributed.delta.model_delta` is
broken down by part (vocabulary, sketch cells, W and C rows, new words' rows, co-occurrence
cells and pair-sketch cells), and the seconds (best of 5, interleaved; shared machine) to compute the delta,
to apply a merged update to the base and load the result (``merge_deltas`` + ``SGNS.from_state``,
the replicas' former path) and to apply it in place (:func:`streamsgns.distributed.apply.apply_update`,
theirs now). Also counted: how many of the touched C rows moved by less than a threshold (max
abs change), and the bytes of the delta encoded for the wire
(:func:`streamsgns.distributed.delta.encode_delta`: float16 row differences, and the C rows of
words counted fewer than ``R`` times on alternate rounds; the mean of two consecutive rounds).
Writes ``benchmarks/scale_out/results/delta_bytes.json``.

Usage::

    python benchmarks/scale_out/delta_bytes.py --base 2000000 --round 50000
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout: benchmarks.*, streamsgns_tools


def breakdown(delta: dict) -> dict:
    """Bytes of each part of a delta."""
    from streamsgns.distributed.merge import state_nbytes

    v, p, c = delta["vocab"], delta["parameters"], delta["cooc"]
    out = {"vocab_counts_and_words": state_nbytes({k: x for k, x in v.items() if k != "sketch"}),
           "vocab_sketch_cells": state_nbytes(v["sketch"])}
    for name in ("W", "C"):
        if f"{name}_ids" in p:
            out[f"{name}_rows_touched"] = state_nbytes({k: p[k] for k in (f"{name}_ids", f"{name}_rows")})
            out[f"{name}_rows_new_words"] = int(p[f"{name}_new"].nbytes)
    if c is not None:
        out["cooc_marginals"] = state_nbytes({k: c[k] for k in ("m_ids", "m_inc", "m_new", "tracked_new")})
        out["cooc_exact_cells"] = state_nbytes({k: c[k] for k in ("cell_c", "cell_w", "cell_inc")})
        out["cooc_pair_sketch_cells"] = state_nbytes({k: c[k] for k in ("sk_cells", "sk_inc")})
    return out


def main(argv=None) -> int:
    from benchmarks.scale_out.common import learn_lines
    from benchmarks.scale_out.simulate import SETTINGS, corpus

    from streamsgns import SGNS
    from streamsgns.distributed.delta import delta_nbytes, model_delta
    from streamsgns.distributed.merge import state_nbytes

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=int, default=2_000_000)
    ap.add_argument("--round", type=int, default=50_000)
    args = ap.parse_args(argv)
    lines, ntok = corpus(args.base + args.round)
    cut = int(np.searchsorted(np.cumsum(ntok), args.base)) + 1
    m = SGNS(**SETTINGS, seed=0)
    learn_lines(m, lines[:cut])
    base = {k: v for k, v in m.state_dict().items()}
    import copy

    base = copy.deepcopy(base)
    r = SGNS.from_state(base)
    learn_lines(r, lines[cut:])
    d = model_delta(r.state_dict(), base)
    parts = breakdown(d)
    C, B = r.C[:r.n_ids], base["parameters"]["C"]
    ids = d["parameters"]["C_ids"].astype(np.int64)
    moved = np.abs(C[ids] - B[ids]).max(axis=1)
    small = {str(t): int((moved < t).sum()) for t in (1e-4, 1e-3, 1e-2)}
    import time

    from streamsgns.distributed.delta import merge_deltas

    def best(f, k=3):
        ts = []
        for _ in range(k):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    st = r.state_dict()
    merged = merge_deltas(base, [d])
    update = model_delta(merged, base)
    from streamsgns.distributed.apply import apply_update, writable_state
    from streamsgns.distributed.delta import encode_delta

    def in_place():  # a fresh replica (model and base) each time; only the apply is timed
        rb, rm = writable_state(base), SGNS.from_state(base)
        learn_lines(rm, lines[cut:])
        own = model_delta(rm.state_dict(), rb)
        gc.collect()  # the previous call's model (a reference cycle) is freed here, not inside the timing
        t0 = time.perf_counter()
        apply_update(rm, rb, update, own)
        return time.perf_counter() - t0

    # interleaved, best of 5 each: the machine's load swings within seconds
    timed = {"model_delta": lambda: best(lambda: model_delta(st, base), 1),
             "merge_deltas_one_update": lambda: best(lambda: merge_deltas(base, [update]), 1),
             "from_state": lambda: best(lambda: SGNS.from_state(merged).close(), 1),
             "apply_in_place": in_place}
    seconds = {k: float("inf") for k in timed}
    for _ in range(5):
        for k, f in timed.items():
            seconds[k] = min(seconds[k], f())
    encoded = {}
    for fp16, rare in ((True, 0), (False, 100), (True, 50), (True, 100), (True, 200), (True, 1000)):
        res, nbytes = {}, []
        for rnd in (1, 2):
            e, res = encode_delta(d, base, res, rnd, fp16=fp16, rare_below=rare)
            nbytes.append(delta_nbytes(e))
        encoded[f"fp16={fp16},rare_below={rare}"] = sum(nbytes) / 2
    out = {"seconds_shared_machine": seconds, "base_tokens": m.words_seen, "round_tokens": r.words_seen - m.words_seen, "vocab_size": r.vocab_size,
           "checkpoint_bytes": state_nbytes(base), "delta_bytes": delta_nbytes(d), "parts": parts,
           "encoded_delta_bytes": encoded,
           "rare_words": {str(t): int((base["vocab"]["counts"] < t).sum()) for t in (50, 100, 200, 1000)},
           "C_rows_touched": int(ids.size), "C_rows_moved_less_than": small,
           "W_rows_touched": int(d["parameters"]["W_ids"].size)}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "delta_bytes.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
