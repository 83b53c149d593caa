#!/usr/bin/env python
"""The effective window widened by subsampling and min-count removal (Goldberg & Levy 2014, sec. 3).

word2vec removes subsampled and rare tokens *before* it forms windows (Goldberg & Levy 2014,
"word2vec explained", sec. 3; Levy, Goldberg & Dagan 2015, sec. 3.2 "dirty subsampling"), so a
window of ``L`` kept tokens can span more than ``L`` tokens of the original text. This script
measures the distribution of the **original-text distance** of the trained (word, context) pairs
with ``sample = 0`` and with word2vec's subsampling (``1e-3``, ``1e-4``, ``1e-5``).

How it is measured: by a small numpy re-implementation of the kernel's pair generation on the
same token stream, keeping each token's original position (the learner's running counts
record #(w,c), not distances). Each token of a word with count ``f`` is kept with word2vec's
probability ``min(1, (sqrt(f / (s·T)) + 1) · s·T / f)`` (``s = sample``, the formula of
:mod:`streamsgns.kernels`) where, as in the learner, ``f`` and ``T`` are the *running* counts
(the word's count and the total count of admitted words when its sentence is trained) and a word
is admitted online at its ``min_count``-th occurrence; each kept centre draws its window ``b``
uniformly in ``1..window`` and is paired with the kept tokens within ``b`` positions of it in the
kept sequence. As a check, the number of pairs is compared with the number the learner actually
trained on the same stream (``SGNS.progress()["pairs"]``, other random draws): they agree to a
fraction of a percent.

Usage::

    python benchmarks/quality/effective_window.py [--corpus /tmp/sgdata/brown.txt] [--window 5]
        [--max-tokens 2000000] [--plot effective_window.png]

Prints, per setting: pairs per kept token, mean original distance, the fraction of pairs farther
apart than the window, the 95th/99th percentile, and the distance histogram.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import new_figure, save_figure  # noqa: E402
from streamsgns_tools.corpora import read_token_lists  # noqa: E402


def running_counts(flat, sid, min_count):
    """What the learner knows when it trains each token: its word's count and the total count ``T``.

    The kernel scans a whole sentence (counting its tokens) before training it, and admits a word
    at its ``min_count``-th occurrence (that occurrence is trained; earlier ones are not), so for a
    token of sentence ``s``: ``f`` = occurrences of its word in sentences ``<= s``, ``T`` = sum of the
    counts of the words admitted by the end of ``s``, and the token exists for training iff it is
    at least the ``min_count``-th occurrence of its word.

    Returns
    -------
    f : ndarray, shape (n,), float64
    T : ndarray, shape (n,), float64
    admitted : ndarray, shape (n,), bool
    """
    n = flat.shape[0]
    n_sent = int(sid[-1]) + 1 if n else 1
    key = flat * n_sent + sid
    order = np.argsort(key, kind="stable")
    ks = key[order]
    f = (np.searchsorted(ks, key, side="right") - np.searchsorted(ks, flat * n_sent, side="left")).astype(np.float64)
    # occurrence index (1-based) of each token among its word's tokens, in stream order
    occ = np.empty(n, dtype=np.int64)
    by_word = np.argsort(flat, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(flat[by_word])) + 1]
    run = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    occ[by_word] = run + 1
    admitted = occ >= min_count
    contrib = np.where(occ == min_count, min_count, np.where(occ > min_count, 1, 0)).astype(np.float64)
    csum = np.cumsum(contrib)
    ends = np.r_[np.flatnonzero(np.diff(sid)), n - 1]  # last token of each sentence
    T = csum[ends][sid]
    return f, T, admitted


def trained_distances(flat, sid, pos, sample, window, min_count, rng):
    """Original-text distance of every pair trained, as a histogram (index = distance).

    Parameters
    ----------
    flat : ndarray, shape (n,), int64      word ids of the token stream
    sid : ndarray, shape (n,), int64       sentence of each token
    pos : ndarray, shape (n,), int64       position of each token in its sentence (original text)
    sample : float                         word2vec's ``sample`` (0 = off)
    window : int
    min_count : int                        online admission at the min_count-th occurrence
    rng : numpy.random.Generator

    Returns
    -------
    hist : ndarray, int64     pairs per original distance
    n_pairs, n_kept : int
    """
    f, T, keep = running_counts(flat, sid, min_count)
    if sample > 0:
        thr = sample * T
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(f > thr, (np.sqrt(f / thr) + 1.0) * thr / f, 1.0)
        keep = keep & (rng.random(flat.shape[0]) < p)
    k_sid, k_pos = sid[keep], pos[keep]
    m = k_sid.shape[0]
    b = rng.integers(1, window + 1, size=m)  # window of each kept centre
    hist = np.zeros(1, dtype=np.int64)
    n_pairs = 0
    for d in range(1, window + 1):
        if d >= m:
            break
        same = k_sid[:-d] == k_sid[d:]
        dist = (k_pos[d:] - k_pos[:-d])[same]
        # pair (left, right) at kept offset d: trained once from each centre whose window reaches d
        mult = (b[:-d][same] >= d).astype(np.int64) + (b[d:][same] >= d).astype(np.int64)
        h = np.bincount(dist, weights=mult).astype(np.int64)
        if h.shape[0] > hist.shape[0]:
            hist = np.pad(hist, (0, h.shape[0] - hist.shape[0]))
        hist[: h.shape[0]] += h
        n_pairs += int(mult.sum())
    return hist, n_pairs, int(m)


def learner_pairs(sents, sample, window, min_count, seed):
    from streamsgns import SGNS

    m = SGNS(vector_size=8, window=window, sample=sample, min_count=min_count, seed=seed, track_cooc=False,
             negative=1)
    m.learn_many(sents)
    return m.progress()["pairs"], m.progress()["kept_tokens"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="/tmp/sgdata/brown.txt",
                    help="text, one sentence per line (python -m streamsgns_tools.corpora brown --cache /tmp/sgdata)")
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-check", action="store_true", help="skip the comparison with the learner's pair count")
    ap.add_argument("--plot", help="PNG of the distance distributions")
    args = ap.parse_args(argv)

    t0 = time.time()
    sents = read_token_lists(Path(args.corpus), args.max_tokens)
    cnt = Counter(t for s in sents for t in s)
    vocab = {w: i for i, (w, _) in enumerate(cnt.most_common())}
    flat = np.array([vocab[t] for s in sents for t in s], dtype=np.int64)
    lens = np.array([len(s) for s in sents])
    sid = np.repeat(np.arange(len(sents)), lens)
    pos = np.arange(flat.shape[0]) - np.repeat(np.cumsum(lens) - lens, lens)
    print(f"corpus {args.corpus}: {flat.shape[0]} tokens, {len(sents)} sentences, {len(vocab)} words; "
          f"window {args.window}")

    settings = [("sample=0, min_count=1", 0.0, 1), ("sample=0, min_count=5", 0.0, 5),
                ("sample=1e-3, min_count=5", 1e-3, 5), ("sample=1e-4, min_count=5", 1e-4, 5),
                ("sample=1e-5, min_count=5", 1e-5, 5)]
    rng = np.random.default_rng(args.seed)
    rows = []
    L = args.window
    for name, s, mc in settings:
        hist, n_pairs, n_kept = trained_distances(flat, sid, pos, s, L, mc, rng)
        d = np.arange(hist.shape[0])
        tot = hist.sum()
        cdf = np.cumsum(hist) / tot
        row = {"name": name, "sample": s, "min_count": mc, "pairs": n_pairs, "kept": n_kept,
               "pairs_per_kept": n_pairs / n_kept, "mean": float((d * hist).sum() / tot),
               "beyond": float(hist[L + 1:].sum() / tot), "p95": int(np.searchsorted(cdf, 0.95)),
               "p99": int(np.searchsorted(cdf, 0.99)), "hist": hist}
        if not args.no_check:
            lp, lk = learner_pairs(sents, s, L, mc, args.seed)
            row["learner_pairs"], row["learner_kept"] = lp, lk
        rows.append(row)

    print()
    hdr = f"{'setting':<26s} {'kept tok':>9s} {'pairs':>10s} {'pairs/kept':>10s} {'mean dist':>9s} " \
          f"{'> window':>9s} {'p95':>4s} {'p99':>4s}"
    if not args.no_check:
        hdr += f" {'learner pairs':>13s} {'diff':>6s}"
    print(hdr)
    for r in rows:
        line = (f"{r['name']:<26s} {r['kept']:9d} {r['pairs']:10d} {r['pairs_per_kept']:10.3f} {r['mean']:9.3f} "
                f"{100 * r['beyond']:8.2f}% {r['p95']:4d} {r['p99']:4d}")
        if not args.no_check:
            line += f" {r['learner_pairs']:13d} {100 * (r['pairs'] / r['learner_pairs'] - 1):+5.1f}%"
        print(line)
    print()
    maxd = 3 * L
    print("share of trained pairs by original distance (%)")
    print(f"{'distance':<26s} " + " ".join(f"{k:>5d}" for k in range(1, maxd + 1)) + f" {'>' + str(maxd):>6s}")
    for r in rows:
        h = np.pad(r["hist"], (0, max(0, maxd + 1 - r["hist"].shape[0])))
        tot = h.sum()
        print(f"{r['name']:<26s} " + " ".join(f"{100 * h[k] / tot:5.1f}" for k in range(1, maxd + 1))
              + f" {100 * h[maxd + 1:].sum() / tot:6.2f}")
    print(f"\n({time.time() - t0:.0f} s)")

    if args.plot:
        fig = new_figure((8, 4.5))
        ax = fig.subplots()
        for r in rows:
            h = r["hist"][1: 4 * L + 1]
            ax.plot(np.arange(1, h.shape[0] + 1), h / r["hist"].sum(), marker="o", ms=3, label=r["name"])
        ax.axvline(L + 0.5, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("distance in the original text (tokens)")
        ax.set_ylabel("share of trained pairs")
        ax.set_yscale("log")
        ax.set_title(f"trained pairs by original distance, window {L}")
        ax.legend(fontsize=8)
        save_figure(fig, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
