"""What change detection costs the training kernel alone: the same batches trained with and without it.

A whole pass (``stationary_cost.py``) measures everything detection adds — the kernel's work,
the checks, the records' searches — but on a machine whose speed drifts by ±10 % between runs
it resolves a few per cent only roughly. This script isolates the kernel and measures it finely:

1. learn the first ``--mb`` megabytes of a corpus with the defaults (``workers=2``), recording
   every ``--every``-th encoded batch the training threads receive, with the arrays they were
   given (the model keeps learning between them, so the recorded batches see a vocabulary of
   tens of thousands of words, as in a real pass);
2. train the last ``--batches`` of them again with :func:`streamsgns.kernels.train_batch` in
   three variants, batch by batch, the variants' order rotating through its six permutations so
   that a slow or fast moment of the machine falls on each alike:

   * ``without``: no detector arrays (``NO_DETECT``): the kernel of ``detect_changes=False``;
   * ``evidence``: the detector's arrays, signatures off (``observe=0``, as replayed sentences
     train): the per-word steps read ``counts − base`` (the step evidence) and nothing else;
   * ``defaults``: detection as it runs: the step evidence, and every positive pair adds its
     context's 16 coordinates to the centre's signature (``streamsgns.change``).

   with one thread (the whole batch) and two (the batch's halves on two threads at once, as
   ``workers=2`` runs them). The rows keep moving (the batches are trained again and again);
   the three variants see the same sequence.

Reports the cost of ``evidence`` and ``defaults`` against ``without`` on the summed times and
as the median of the per-batch ratios. Prints a table, writes
``benchmarks/results/drift_detect_kernel_cost.json``.

    python benchmarks/drift/detect_kernel_cost.py
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, environment, write_json  # noqa: E402
import streamsgns.kernels as K  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns.change import NO_DETECT  # noqa: E402

VARIANTS = ("without", "evidence", "defaults")


def record_batches(path: Path, mb: float, every: int) -> tuple[list, int]:
    """Learn the first ``mb`` MB of ``path`` (defaults, ``workers=2``, seed 0), keeping a copy of
    every ``every``-th batch the first training thread receives with the arrays it was given.
    Returns the recorded ``(batch, cfg, total, pa, counts, na, ca, hashes, da)`` and the ids in use."""
    real = K.train_batch
    recorded, seen = [], [0]

    def spy(batch, s0, s1, cfg, total, pa, counts, na, k, ca, hashes, da):
        if k == 1:
            seen[0] += 1
            if seen[0] % every == 0:
                recorded.append((copy.deepcopy(batch), cfg, total, pa, counts, na, ca, hashes, da))
        return real(batch, s0, s1, cfg, total, pa, counts, na, k, ca, hashes, da)

    K.train_batch = spy  # the trainer calls K.train_batch at each dispatch
    try:
        m = SGNS(workers=2, seed=0)
        with open(path, "rb") as f:
            m.learn_text(f.read(int(mb * 1e6)))
        m.flush()
    finally:
        K.train_batch = real
    return recorded, m.n_ids


def train_once(pool, rec, variant: str, threads: int) -> float:
    """Train one recorded batch in ``variant`` on ``threads`` threads; wall seconds."""
    batch, cfg, total, pa, counts, na, ca, hashes, da = rec
    if variant == "without":
        da = NO_DETECT
    elif variant == "evidence":
        cfg = cfg._replace(observe=0)
    n = int(batch.meta[0]["n_sent"])
    t0 = time.perf_counter()
    if threads == 1:
        K.train_batch(batch, 0, n, cfg, total, pa, counts, na, 1, ca, hashes, da)
    else:
        h = n // 2
        f1 = pool.submit(K.train_batch, batch, 0, h, cfg, total, pa, counts, na, 1, ca, hashes, da)
        f2 = pool.submit(K.train_batch, batch, h, n, cfg, total, pa, counts, na, 2, ca, hashes, da)
        f1.result()
        f2.result()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--mb", type=float, default=30.0, help="megabytes of the corpus learnt while recording")
    ap.add_argument("--every", type=int, default=2, help="record every n-th batch")
    ap.add_argument("--batches", type=int, default=60, help="the last n recorded batches are timed")
    ap.add_argument("--repeat", type=int, default=6, help="passes over the timed batches")
    ap.add_argument("--out", default=str(RESULTS / "drift_detect_kernel_cost.json"))
    args = ap.parse_args(argv)
    recorded, n_ids = record_batches(corpus_file(args.corpus, args.cache), args.mb, args.every)
    recorded = recorded[-args.batches:]
    tokens = int(sum(int(r[0].meta[0]["n_ids"]) for r in recorded))
    print(f"{len(recorded)} batches ({tokens:,} tokens each pass), {n_ids:,} ids in use")
    perms = list(itertools.permutations(VARIANTS))
    rows = []
    with ThreadPoolExecutor(2) as pool:
        for r in recorded[:2]:  # warm: every variant compiled and its arrays touched
            for v in VARIANTS:
                train_once(pool, r, v, 2)
        for threads in (1, 2):
            total = dict.fromkeys(VARIANTS, 0.0)
            ratios = {v: [] for v in VARIANTS}
            q = 0
            for _ in range(args.repeat):
                for r in recorded:
                    t = {v: train_once(pool, r, v, threads) for v in perms[q % len(perms)]}
                    q += 1
                    for v in VARIANTS:
                        total[v] += t[v]
                        ratios[v].append(t[v] / t["without"])
            row = {"threads": threads, "seconds": total}
            for v in ("evidence", "defaults"):
                row[f"{v}_cost_sum"] = total[v] / total["without"] - 1.0
                row[f"{v}_cost_median"] = float(np.median(ratios[v])) - 1.0
            rows.append(row)
    print(f"{'threads':>7} | {'without s':>9} | {'evidence: sum (median)':>23} | {'defaults: sum (median)':>23}")
    for r in rows:
        print(f"{r['threads']:>7} | {r['seconds']['without']:9.2f} | "
              f"{100 * r['evidence_cost_sum']:9.2f} % ({100 * r['evidence_cost_median']:6.2f} %) | "
              f"{100 * r['defaults_cost_sum']:9.2f} % ({100 * r['defaults_cost_median']:6.2f} %)")
    write_json(args.out, {"env": environment(), "args": vars(args), "n_ids": n_ids, "tokens_per_pass": tokens,
                          "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
