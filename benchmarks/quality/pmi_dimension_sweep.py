#!/usr/bin/env python
"""How far W·Cᵀ stays from PMI − log k as the dimension shrinks (Wilson 2016's critique, ``docs/theory.md``).

Levy & Goldberg's equality ``W_w · C_c = PMI(w,c) − log k`` needs every product to be free, i.e.
``d ≥ |V|`` (and linearly independent rows: Wilson 2016). Below that SGNS can only find the best
rank-``d`` compromise of its weighted objective (``docs/theory.md``, eq. 3 and 8: a weighted matrix
factorisation whose weights favour frequent pairs), and the residual must grow as ``d`` shrinks.
This script measures it on the setting of ``pmi_full_rank.py`` (Brown, 300 most frequent words,
window 5, negative 5, sample 0, the same schedule and number of passes, a fresh random sentence
order per pass), for ``vector_size`` 400, 200, 100, 50, 25, 10:

* Spearman and Pearson correlation of ``x = W_w·C_c`` with ``t = PMI − log k`` over the pairs with
  an expected count ≥ 5 per pass (the independent target of ``pmi_full_rank.py``);
* the weighted MSE ``Σ weight·(x − t)² / Σ weight`` with the curvature weights of eq. 8, and the
  loss gap ``Σ [L(t) − L(x)]`` per pair (nats): what SGNS actually pays for not reaching the PMI;
* the share of pairs within 0.5 nats, and the sign of ``x`` on unobserved pairs.

Usage::

    python benchmarks/quality/pmi_dimension_sweep.py [--dims 400,200,100,50,25,10] [--passes 20] [--plot sweep.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import new_figure, save_figure  # noqa: E402
from benchmarks.quality.pmi_full_rank import (  # noqa: E402
    IndependentTarget, add_passes_arguments, restricted_corpus, rows_of, train_passes)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_passes_arguments(ap)
    ap.add_argument("--dims", default="400,200,100,50,25,10")
    ap.add_argument("--plot", help="PNG of the residual measures against d")
    args = ap.parse_args(argv)

    sents, words = restricted_corpus(args.corpus, args.words)
    ref = IndependentTarget(sents, words, 5, 5, 0.75)
    print(f"corpus {args.corpus}: {sum(map(len, sents))} tokens of the {len(words)} most frequent words; "
          f"{args.passes} passes, alpha_t = {args.alpha} / (1 + t / {args.decay_tokens:g}), order {args.order}")
    print(f"\n{'d':>5s} {'pairs':>7s} {'Spearman':>8s} {'Pearson':>8s} {'wMSE':>8s} {'gap/pair':>9s} "
          f"{'|r|<0.5':>7s} {'mean r':>7s} {'unobs x<0':>9s} {'sec':>5s}")
    rows = []
    for d in [int(x) for x in args.dims.split(",")]:
        t0 = time.time()
        m, _ = train_passes(sents, args.passes, args.order, vector_size=d, window=5, negative=5, sample=0.0,
                            min_count=1, alpha=args.alpha, min_alpha=args.min_alpha, decay_tokens=args.decay_tokens,
                            seed=args.seed, cooc_top_n=args.words)
        rep = ref.report(*rows_of(m, words), min_count=args.min_pair)
        rep["d"] = d
        rows.append(rep)
        print(f"{d:5d} {rep['n_pairs']:7d} {rep['spearman']:8.4f} {rep['pearson']:8.4f} {rep['weighted_mse']:8.4f} "
              f"{rep['weighted_loss_gap'] / rep['n_pairs']:9.4f} {rep['frac_within_0_5']:7.3f} "
              f"{rep['mean_residual']:+7.3f} {rep['unobserved_frac_negative']:9.3f} {time.time() - t0:5.0f}",
              flush=True)
    print("\nwMSE: Σ weight·(x − t)² / Σ weight (eq. 8 curvature weights); gap/pair: Σ[L(t) − L(x)] / pairs, the "
          "loss SGNS pays (nats, expected counts of one pass) per observed pair type for not reaching the PMI; "
          "unobs x<0: share of unobserved pairs with W·C < 0.")

    if args.plot:
        fig = new_figure((10, 4))
        a1, a2 = fig.subplots(1, 2)
        ds = [r["d"] for r in rows]
        a1.plot(ds, [r["spearman"] for r in rows], "o-", label="Spearman")
        a1.plot(ds, [r["pearson"] for r in rows], "s-", label="Pearson")
        a1.plot(ds, [r["frac_within_0_5"] for r in rows], "^-", label="share |x − t| < 0.5")
        a2.plot(ds, [r["weighted_mse"] for r in rows], "o-", color="crimson", label="weighted MSE")
        for ax in (a1, a2):
            ax.set_xscale("log")
            ax.set_xlabel("vector_size d")
            ax.axvline(len(words), color="grey", ls="--", lw=0.8)
            ax.legend(fontsize=8)
        a2.set_yscale("log")
        fig.suptitle(f"W·Cᵀ vs PMI − log k, Brown top {len(words)} words (|V| = {len(words)}: dashed)")
        save_figure(fig, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
