"""Learning-rate rules of the SGNS kernel, for a stream of unknown length (issue 8).

**Per-word 1/n** (the default: ``alpha = 0.05, word_decay = 2000``). Each row's step comes from
its own word's evidence: the W row of the context word and the C row of each target (positive or
negative) move with ``max(min_alpha, alpha / (1 + n / word_decay))``, ``n`` the word's count
(exact, decayed with a half-life). This is a Robbins–Monro step (Robbins & Monro 1951:
``Σ a_n = ∞, Σ a_n² < ∞``, met by ``a_n ∝ 1/n``) per block of coordinates with ``n`` the number
of times the row's word was seen, in the spirit of per-parameter steps (AdaGrad's diagonal update,
Duchi, Hazan & Singer 2011, which yskip applies to SGNS rows, Kaji & Kobayashi 2017) but with the
count as the evidence: frequent words take small steps as their evidence grows, rare and newly
admitted words keep large ones, and no corpus length enters. A word is at gensim's
``alpha = 0.025`` after ``word_decay`` occurrences and at ``min_alpha`` after about
``word_decay · alpha / min_alpha`` (1M). The two constants were chosen by measurement on Brown
(full rank, 20 passes) and one pass over the mix corpus, and checked on other corpora without
changing them (``benchmarks/learning_rule/learning_rule.py``; the table is ``docs/learning_rule.md``).

**Global 1/t** (``word_decay=None``, the default before issue 8, with ``alpha = 0.025``). With
``t`` the tokens seen, ``alpha_t = max(min_alpha, alpha / (1 + t / decay_tokens))`` — the classic
``1/t`` schedule with a plateau of about ``decay_tokens`` tokens (2e7, chosen on one pass over
mix). With forgetting (``half_life = H``, :mod:`streamsgns.forget`) ``t`` is the *decayed* token
count ``t = Σ_tokens 2^(−age/H)``, so the step settles at ``alpha / (1 + H / (ln 2 ·
decay_tokens))`` rather than decaying towards ``min_alpha``: once counts forget evidence older than
a few ``H``, the evidence held is about ``H / ln 2`` tokens, and the step should stay the one that
amount of evidence warrants. The per-word rule settles the same way, each word at its own decayed
count.

The exported vectors are averages of the iterates either way (:mod:`streamsgns.averaging`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["current_alpha", "word_alpha", "mean_word_alpha"]


@njit(cache=True, nogil=True, inline="always")
def current_alpha(cfg, words_seen):
    """``max(min_alpha, alpha / (1 + t / decay_tokens))`` for ``t = words_seen`` (tokens, float)."""
    a = cfg.alpha / (1.0 + words_seen / cfg.decay_tokens)
    if a < cfg.min_alpha:
        a = cfg.min_alpha
    return a


@njit(cache=True, nogil=True, inline="always")
def word_alpha(cfg, n):
    """Step of one row, float32: ``max(min_alpha, alpha / (1 + n / word_decay))``, ``n`` its word's count.

    Only called with ``cfg.word_decay > 0``.
    """
    a = cfg.alpha / (1.0 + n / cfg.word_decay)
    return np.float32(a if a > cfg.min_alpha else cfg.min_alpha)


def mean_word_alpha(alpha: float, min_alpha: float, word_decay: float, counts: np.ndarray) -> float:
    """Mean per-word step a token takes now: ``Σ_w n_w · eta(n_w) / Σ_w n_w``, ``eta`` of :func:`word_alpha`.

    What a progress line shows as "alpha" under the per-word rule: each token's row moves with its
    word's step, so the tokens' mean step is the count-weighted mean over the vocabulary.

    Parameters
    ----------
    alpha, min_alpha, word_decay : float
        The rule's constants.
    counts : numpy.ndarray
        (n_ids,) counts of the admitted words (0 for free rows), any integer or float dtype.

    Returns
    -------
    float
        ``alpha`` when no word is admitted yet.

    Examples
    --------
    >>> round(mean_word_alpha(0.05, 1e-4, 2000.0, np.array([2000, 0])), 6)
    0.025
    """
    n = np.asarray(counts, dtype=np.float64)
    total = n.sum()
    if total <= 0:
        return float(alpha)
    eta = np.maximum(min_alpha, alpha / (1.0 + n / word_decay))
    return float((n * eta).sum() / total)
