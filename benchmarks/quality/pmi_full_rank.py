#!/usr/bin/env python
"""d ≥ |V|: SGNS's W·Cᵀ converges to the shifted PMI matrix (Levy & Goldberg 2014; docs/theory.md).

Levy & Goldberg (2014, sec. 3.1; ``docs/theory.md``, eq. 5) show that when every product
``x = W_w · C_c`` can take any value (``d ≥ |V|``; Wilson 2016 adds: and the rows of W or C are
linearly independent, see ``docs/theory.md``), the SGNS objective is maximised at ``x = PMI(w,c) − log k`` on every observed
pair, with ``PMI(w,c) = log(#(w,c) / (#(w)·P_n(c)))`` for the noise distribution ``P_n`` the negatives
come from (``P_n ∝ count^0.75``: the smoothed PMI of Levy, Goldberg & Dagan 2015, sec. 3.2).

The setting: the Brown corpus restricted to its 300 most frequent words (the other
tokens are removed before windows are formed, as word2vec does with rare words), vector_size 400,
window 5, negative 5, sample 0, min_count 1, the stream fed several times ("passes"). We report
Spearman(x, t) over the pairs with ``#(w,c) ≥ 5`` against two targets:

* **independent**: ``t`` from a count of the raw token stream that knows nothing of the learner:
  the expected count of each pair under word2vec's dynamic window (a pair at distance ``d`` weighs
  ``(L − d + 1)/L``, :func:`streamsgns.pmi.dynamic_window_weights`), ``#(w)`` its row sum, and
  ``P_n(c) = count(c)^0.75 / Σ count^0.75`` from the token counts; pairs with an expected count
  ≥ 5 per pass. This is the reference computation of the issue, and gensim's Word2Vec (same
  setting, ``epochs`` = passes) is scored against it in the same run.
* **own counts**: ``SGNS.pmi_report`` on the learner's running statistics (the pairs the kernel
  actually trained, with the windows it actually drew), ``#(w,c) ≥ 5·passes``.

What limits convergence, and what this script therefore does:

1. **Order of the stream.** Brown is ordered by genre. With a learning rate ``η`` the model
   forgets on a time scale of ``~1/η`` updates, so at the end of each pass it reflects the last
   genres while the counts are cumulative: the residual ``x − t`` then has a large systematic
   part (measured: Spearman 0.826 after 20 passes in corpus order, 0.963 in random order, same
   schedule). The stream is therefore fed in a random sentence order, a new one each pass
   (``--order reshuffled``; ``corpus`` and ``shuffled``, one fixed permutation, are offered). The
   pairs and counts do not depend on the order of sentences.
2. **Learning-rate schedule.** The documented online schedule ``α_t = α / (1 + t/τ)`` (1/t,
   Robbins–Monro) with ``α = 0.2`` and ``τ = decay_tokens = 1e5`` tokens: large enough steps early
   to grow the vectors (W starts at ±0.5/d, C at 0, and the product's small singular directions,
   which carry the rare pairs, plausibly come last), decaying to ~2e-3 after 20 passes so that the SGD
   noise of the frequent rows stays small. (Measured after 20 passes: ``α = 0.1`` 0.930, ``α = 0.4``
   0.957; ``α = 1`` diverges, and SGNS refuses ``α > 0.5``.)
3. **The right target**: the learner's noise distribution (``count^0.75`` over token counts,
   ``target="noise"`` of :func:`streamsgns.pmi.learner_pmi_inputs`), not ``#(c)/|D|``.

Usage::

    python benchmarks/quality/pmi_full_rank.py [--corpus /tmp/sgdata/brown.txt] [--passes 20] [--vector-size 400]
        [--alpha 0.2] [--decay-tokens 1e5] [--order reshuffled] [--no-gensim] [--plot full_rank.png]

The corpus comes from ``python -m streamsgns_tools.corpora brown --cache /tmp/sgdata``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from streamsgns import SGNS  # noqa: E402
from streamsgns.pmi import cooccurrence_from_tokens, pmi_report  # noqa: E402
from streamsgns.tokenize import tokenize  # noqa: E402


# --------------------------------------------------------------------------- shared with pmi_dimension_sweep.py
def restricted_corpus(path, n_words):
    """Sentences of ``path`` tokenised, keeping only the ``n_words`` most frequent words (others removed
    before windows are formed); sentences left with fewer than 2 tokens are dropped.

    Returns
    -------
    sents : list of list of str
    words : list of str            the vocabulary, by decreasing count
    """
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [tokenize(line) for line in f]
    cnt = Counter(t for s in lines for t in s)
    words = [w for w, _ in cnt.most_common(n_words)]
    keep = set(words)
    sents = [[t for t in s if t in keep] for s in lines]
    return [s for s in sents if len(s) >= 2], words


class IndependentTarget:
    """PMI − log k of the raw stream, expected under the dynamic window, with ``count^alpha`` noise.

    Parameters
    ----------
    sents : list of list of str
    words : list of str             row/column order
    window, k : int
    alpha : float                   noise exponent (ns_exponent)

    Attributes
    ----------
    E : scipy.sparse.csr_matrix, shape (n, n)   expected #(w,c) for one pass (row = W-row word)
    w_marg : ndarray, shape (n,)                expected #(w) for one pass (every token is tracked)
    p_noise : ndarray, shape (n,)               P_n(c) = count(c)^alpha / Σ count^alpha
    """

    def __init__(self, sents, words, window=5, k=5, alpha=0.75):
        idx = {w: i for i, w in enumerate(words)}
        ids = [np.array([idx[t] for t in s], dtype=np.int64) for s in sents]
        n = len(words)
        self.words, self.k = words, k
        self.E = cooccurrence_from_tokens(ids, n, window, weighted=True)
        self.w_marg = np.asarray(self.E.sum(1)).ravel()
        tok = np.bincount(np.concatenate(ids), minlength=n).astype(np.float64)
        self.p_noise = tok**alpha / np.sum(tok**alpha)
        self.total = float(self.E.sum())

    def report(self, W, C, min_count=5.0, **kw):
        """:func:`streamsgns.pmi.pmi_report` of vectors ``W``, ``C`` (rows in ``words`` order)."""
        return pmi_report(W, C, self.E, self.w_marg, self.p_noise, self.total, self.k, min_count=min_count,
                          cds=1.0, cds_total=1.0, **kw)

    def pairs(self, W, C, min_count=5.0):
        from streamsgns.pmi import pmi_pairs

        return pmi_pairs(W, C, self.E, self.w_marg, self.p_noise, self.total, self.k, min_count=min_count,
                         cds=1.0, cds_total=1.0)


def rows_of(model, words):
    """The learner's W and C rows in ``words`` order."""
    ids = np.array([model.key_to_index[w] for w in words])
    return np.asarray(model.W[ids]), np.asarray(model.C[ids])


def train_passes(sents, passes, order, log_every=0, log=None, **params):
    """Feed ``sents`` ``passes`` times to a fresh SGNS (``order``: corpus, shuffled or reshuffled,
    the permutations seeded by ``params["seed"]``)."""
    m = SGNS(**params)
    seed = params.get("seed", 0)
    stream = list(sents)
    if order in ("shuffled", "reshuffled"):
        random.Random(seed).shuffle(stream)
    t0 = time.time()
    for p in range(passes):
        if order == "reshuffled" and p > 0:
            random.Random(seed + p).shuffle(stream)
        m.learn_many(stream)
        if log is not None and log_every and ((p + 1) % log_every == 0 or p + 1 == passes):
            log(m, p + 1, time.time() - t0)
    return m, time.time() - t0


def gensim_vectors(sents, words, order, seed, epochs, **params):
    """gensim Word2Vec (skip-gram, negative sampling) on the same stream; W = wv.vectors, C = syn1neg."""
    from gensim.models import Word2Vec

    stream = list(sents)
    if order in ("shuffled", "reshuffled"):  # gensim repeats one order each epoch
        random.Random(seed).shuffle(stream)
    t0 = time.time()
    g = Word2Vec(stream, sg=1, hs=0, epochs=epochs, seed=seed, **params)
    order_ix = [g.wv.key_to_index[w] for w in words]
    return g.wv.vectors[order_ix], g.syn1neg[order_ix], time.time() - t0


def fmt_row(name, d, n, rep, secs):
    return (f"{name:<34s} {d:>5d} {n:>6d} {rep['n_pairs']:>7d} {rep['spearman']:>8.4f} {rep['pearson']:>8.4f} "
            f"{rep['weighted_mse']:>8.4f} {rep['frac_within_0_5']:>7.3f} {rep['mean_residual']:>+8.3f} {secs:>6.0f}")


def add_passes_arguments(ap) -> None:
    """The options of a multi-pass run on the restricted corpus, shared with ``pmi_dimension_sweep.py``:
    corpus and vocabulary, passes and learning-rate schedule, stream order, seed, and the pair threshold."""
    ap.add_argument("--corpus", default="/tmp/sgdata/brown.txt")
    ap.add_argument("--words", type=int, default=300, help="vocabulary: the most frequent words")
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--alpha", type=float, default=0.2)
    ap.add_argument("--min-alpha", type=float, default=1e-6)
    ap.add_argument("--decay-tokens", type=float, default=1e5)
    ap.add_argument("--order", choices=("corpus", "shuffled", "reshuffled"), default="reshuffled")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-pair", type=float, default=5.0, help="pairs with #(w,c) >= this (per pass)")


HEADER = (f"{'model':<34s} {'d':>5s} {'passes':>6s} {'pairs':>7s} {'Spearman':>8s} {'Pearson':>8s} "
          f"{'wMSE':>8s} {'|r|<0.5':>7s} {'mean r':>8s} {'sec':>6s}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_passes_arguments(ap)
    ap.add_argument("--vector-size", type=int, default=400)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument("--no-gensim", action="store_true")
    ap.add_argument("--gensim-runs", default="400:corpus,50:corpus,400:same",
                    help="gensim runs, vector_size:order with order 'corpus' (the issue's reference) or "
                         "'same' (the first permutation of this run's stream, repeated each epoch)")
    ap.add_argument("--plot", help="PNG: W·Cᵀ against PMI − log k for this learner (independent target)")
    args = ap.parse_args(argv)

    sents, words = restricted_corpus(args.corpus, args.words)
    n_tok = sum(map(len, sents))
    print(f"corpus {args.corpus}: {len(sents)} sentences, {n_tok} tokens of the {len(words)} most frequent words; "
          f"window {args.window}, negative {args.negative}, sample 0, order {args.order}")
    ref = IndependentTarget(sents, words, args.window, args.negative, 0.75)
    k = args.negative
    P = args.passes
    params = dict(vector_size=args.vector_size, window=args.window, negative=k, sample=0.0, min_count=1,
                  alpha=args.alpha, min_alpha=args.min_alpha, decay_tokens=args.decay_tokens, seed=args.seed,
                  cooc_top_n=max(args.words, 1), ns_exponent=0.75)

    print(f"\nstreamsgns: alpha_t = {args.alpha} / (1 + t / {args.decay_tokens:g}), {P} passes")
    print(f"{'pass':>5s} {'alpha':>9s} {'Spearman own':>12s} {'Spearman ind':>12s} {'wMSE own':>9s} {'sec':>5s}")

    def log(m, p, secs):
        own = m.pmi_report(top=args.words, min_count=args.min_pair * p)
        ind = ref.report(*rows_of(m, words), min_count=args.min_pair, n_unobserved=0)
        print(f"{p:5d} {m.current_alpha:9.2e} {own['spearman']:12.4f} {ind['spearman']:12.4f} "
              f"{own['weighted_mse']:9.4f} {secs:5.0f}", flush=True)

    m, secs = train_passes(sents, P, args.order, log_every=max(1, P // 5), log=log, **params)

    # the learner's counts against the independent expectation (P passes)
    ids = np.array([m.key_to_index[w] for w in words])
    own = m.cooc.matrix(ids).toarray() / P
    E = ref.E.toarray()
    big = E >= args.min_pair
    z = (own[big] - E[big]) / np.sqrt(E[big] / P)
    own_rep = m.pmi_report(top=args.words, min_count=args.min_pair * P)
    W, C = rows_of(m, words)
    ind_rep = ref.report(W, C, min_count=args.min_pair)
    print(f"\nlearner's #(w,c)/passes vs the expected count (pairs with E >= {args.min_pair:g}): "
          f"median |relative diff| {np.median(np.abs(own[big] / E[big] - 1)):.4f}, z mean {z.mean():+.3f} "
          f"sd {z.std():.3f}; |D| = {m.cooc.total()} = pairs trained {m.progress()['pairs']}")

    others = {tg: m.pmi_report(top=args.words, min_count=args.min_pair * P, target=tg, n_unobserved=0)
              for tg in ("smoothed", "pmi")}
    print("own counts, other targets: " + "; ".join(
        f"{tg}: Spearman {r['spearman']:.4f}, mean residual {r['mean_residual']:+.3f}" for tg, r in others.items())
        + "  (noise, the kernel's own: Spearman " + f"{own_rep['spearman']:.4f}, mean residual "
        f"{own_rep['mean_residual']:+.3f})")

    print("\n" + HEADER)
    print(fmt_row("streamsgns, own counts", args.vector_size, P, own_rep, secs))
    print(fmt_row("streamsgns, independent target", args.vector_size, P, ind_rep, secs))
    results = {"streamsgns_own": own_rep, "streamsgns_independent": ind_rep}

    if not args.no_gensim:
        try:
            import gensim  # noqa: F401
        except ImportError:
            print("(gensim not installed: no reference run)")
        else:
            for run in [x.strip() for x in args.gensim_runs.split(",") if x.strip()]:
                d, g_order = run.split(":")
                d = int(d)
                g_order = args.order if g_order == "same" else g_order
                gW, gC, gs = gensim_vectors(sents, words, g_order, args.seed, P, vector_size=d,
                                            window=args.window, negative=k, sample=0, min_count=1,
                                            ns_exponent=0.75, workers=2)
                rep = ref.report(gW, gC, min_count=args.min_pair)
                results[f"gensim_{d}_{g_order}"] = rep
                label = "corpus order" if g_order == "corpus" else "shuffled order"
                print(fmt_row(f"gensim {gensim.__version__}, {label}", d, P, rep, gs), flush=True)
    print("\nSpearman/Pearson: correlation of x = W_w·C_c with t = PMI − log k over the observed pairs; wMSE: "
          "Σ weight·(x − t)² / Σ weight with the SGNS curvature weights; |r|<0.5: share within 0.5 nats.")

    if args.plot:
        from streamsgns.pmi import plot_report

        x, t, _ = ref.pairs(W, C, min_count=args.min_pair)
        plot_report(x, t, args.plot, title=f"Brown, top {args.words} words, d = {args.vector_size}, "
                                             f"{P} passes: Spearman {ind_rep['spearman']:.3f}")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
