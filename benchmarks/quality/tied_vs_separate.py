#!/usr/bin/env python
"""One matrix or two? ``tied=True`` (W = C) against separate W and C, and W+C against W (seed note 002).

Seed note 002 asks why word2vec keeps two matrices. Goldberg & Levy (2014, footnote 2 of
"word2vec explained") give the reason: a word rarely occurs in its own context, so SGNS wants
``w·c`` small for c = w, which is impossible when ``c = w`` (``w·w = |w|² > 0``). Levy, Goldberg &
Dagan (2015, sec. 3.3) add that ``W + C`` (the context vectors added to the word vectors) often
helps similarity tasks, as in GloVe.

This script trains, in one pass of the same stream with the same seed and defaults
(vector_size 100, window 5, negative 5, sample 1e-3, min_count 5):

* ``separate``: the usual SGNS; scored with W (syn0), C (syn1neg) and W + C;
* ``tied``: ``SGNS(tied=True)``, one matrix used as both W and C;

and scores each on WS-353 and SimLex-999 (Spearman) and the Google analogies (3CosAdd,
30 000 most frequent words) with :func:`streamsgns.evaluate.evaluate_all`. It also reports, from
the running statistics, the mean self-similarity ``w·c`` of frequent words (``cos(W_w, C_w)``),
which the tied model cannot make negative.

Usage::

    python benchmarks/quality/tied_vs_separate.py [--corpus /tmp/sgdata/mix.txt] [--max-bytes 80000000]
        [--vector-size 100] [--workers 1]

The corpus comes from ``python -m streamsgns_tools.corpora mix --cache /tmp/sgdata``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from streamsgns import SGNS  # noqa: E402
from streamsgns.evaluate import evaluate_all  # noqa: E402


def read_blocks(path, max_bytes):
    from streamsgns.connectors.files import iter_line_blocks

    with open(path, "rb") as f:
        data = f.read(max_bytes)
    cut = data.rfind(b"\n")
    if 0 < cut < len(data) - 1:
        data = data[: cut + 1]
    return list(iter_line_blocks(io.BytesIO(data), 1 << 20))


def vectors(model, kind):
    counts = model.counts
    alive = np.flatnonzero(counts > 0)
    order = alive[np.argsort(-counts[alive], kind="stable")]
    return [model.index_to_key[i] for i in order], np.array(model.vectors(kind)[order])


def self_similarity(model, top=1000):
    """Mean cosine and dot product of W_w with C_w over the ``top`` most frequent words."""
    counts = model.counts
    ids = np.argsort(-counts, kind="stable")[:top]
    W, C = model.W[ids].astype(np.float64), model.C[ids].astype(np.float64)
    dots = np.einsum("ij,ij->i", W, C)
    cos = dots / (np.linalg.norm(W, axis=1) * np.linalg.norm(C, axis=1) + 1e-12)
    return float(cos.mean()), float(dots.mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="/tmp/sgdata/mix.txt")
    ap.add_argument("--max-bytes", type=int, default=80_000_000, help="read at most this much (default: all of mix)")
    ap.add_argument("--vector-size", type=int, default=100)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    blocks = read_blocks(args.corpus, args.max_bytes)
    common = dict(vector_size=args.vector_size, window=5, negative=5, sample=1e-3, min_count=5, seed=args.seed,
                  workers=args.workers, track_cooc=False)
    rows = []
    for name, tied in (("separate", False), ("tied", True)):
        m = SGNS(tied=tied, **common)
        t0 = time.time()
        for b in blocks:
            m.learn_text(b)
        m.flush()
        secs = time.time() - t0
        cos, dot = self_similarity(m)
        kinds = ("W", "C", "W+C") if not tied else ("W",)
        for kind in kinds:
            words, V = vectors(m, kind)
            res = evaluate_all(words, V)
            label = f"{name}, {kind}" if not tied else "tied, W = C"
            rows.append((label, res, m.words_seen, m.vocab_size, secs, cos, dot))
            print(f"  {label}: done ({secs:.0f} s training)", flush=True)
        m.close()

    print(f"\ncorpus {args.corpus}, first {args.max_bytes / 1e6:.0f} MB: {rows[0][2]} tokens, one pass, "
          f"vocabulary {rows[0][3]}; vector_size {args.vector_size}, window 5, negative 5, sample 1e-3")
    print(f"{'vectors':<16s} {'WS-353':>7s} {'SimLex':>7s} {'analogy':>8s} {'(OOV ws/sl, skipped an)':>24s} "
          f"{'cos(W_w,C_w)':>12s} {'W_w·C_w':>8s}")
    for label, res, _, _, _, cos, dot in rows:
        ws, sl, an = res["wordsim353"], res["simlex999"], res["analogies"]
        print(f"{label:<16s} {ws['spearman']:7.4f} {sl['spearman']:7.4f} {an['accuracy']:8.4f} "
              f"{ws['oov']:>10d}/{sl['oov']:<4d} {an['skipped']:>8d} {cos:12.3f} {dot:8.3f}")
    print("\nWS-353/SimLex: Spearman of cosine similarities with human scores; analogy: 3CosAdd accuracy. "
          "cos(W_w,C_w), W_w·C_w: a word with its own context vector, mean over the 1000 most frequent words.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
