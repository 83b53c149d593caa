"""Learning-rate rules of the SGNS kernel, for a stream of unknown length.

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

**Global 1/t** (``word_decay=None``; the default of streamsgns 0.1, with ``alpha = 0.025``). With
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

__all__ = ["current_alpha", "word_alpha", "row_alpha", "evidence_offsets", "replica_step_gain", "replica_step_mass",
           "mean_word_alpha", "merged_step_scale"]


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


@njit(cache=True, nogil=True, inline="always")
def row_alpha(cfg, n, w):
    """Step of row ``w`` (float32) with step evidence ``n`` (tokens). Only called with ``cfg.word_decay > 0``.

    One process (``cfg.evidence_scale == 1.0``): :func:`word_alpha` of ``n``. A replica of a job of
    ``K = cfg.evidence_scale`` replicas (``docs/scale-out.md``, "Evidence-aware steps"):

    * its evidence is extrapolated to the merged stream's: it started the sync round from the
      merged evidence ``n0`` and has seen ``n − n0`` of the word's occurrences since; the other
      ``K − 1`` replicas read their shares at about the same rate, so the merged stream has seen
      about ``n0 + K·(n − n0) = K·n − offset[w]``, ``offset[w] = (K − 1)·n0`` (``cfg.evidence_offset``);
    * the step one process would take at that evidence is multiplied by the row's gain ``m[w]``
      (``cfg.evidence_gain``, :func:`replica_step_gain`), and the merge weighs the row's summed
      update by ``1/m[w]``. In the linear regime (a row far from its optimum) the merged move is
      one process's whatever ``m``; a row that reaches its optimum within a round needs ``m = K``
      (the merge is then the mean of K moves to the optimum, not K times it).

    Rows past the arrays' end (words admitted during the round) take ``n0 = 0`` and
    ``cfg.evidence_new_gain``. The step is at most ``cfg.evidence_max_step``, unless the replica
    splits its large steps (``cfg.evidence_split``: the kernel trains a pair whose largest step ``a``
    exceeds the limit as ``ceil(a / evidence_max_step)`` sub-updates, :func:`streamsgns.kernels.split_pair`;
    ``docs/scale-out.md``, "Split steps"): then the step is returned whole.
    """
    s = cfg.evidence_scale
    if s == 1.0:
        return word_alpha(cfg, n)
    off = cfg.evidence_offset
    if w < off.shape[0]:
        x = s * n - off[w]
        g = cfg.evidence_gain[w]
    else:
        x = s * n
        g = cfg.evidence_new_gain
    if x < 0.0:
        x = 0.0
    a = g * word_alpha(cfg, x)
    if cfg.evidence_split != 0:
        return np.float32(a)
    return np.float32(a if a < cfg.evidence_max_step else cfg.evidence_max_step)


def replica_step_gain(evidence: np.ndarray, replicas: int, word_decay: float, step_cap: float) -> np.ndarray:
    """Per-row gain ``m`` of a replica's steps, and ``1/m`` the merge's weight of the summed updates.

    ``m = clip(step_cap·(1 + n0/word_decay), 1, K)``: the largest gain up to ``K`` (the mean of the
    replicas' moves, stable however far a row moves within a round) that keeps the replica's step
    ``m·alpha/(1 + n/word_decay)`` at most ``step_cap·alpha``. ``step_cap >= K``: ``m = K`` for every
    row (the mean of moves made at K times one process's step); ``step_cap = 1``: rare rows keep
    one process's step and the sum, frequent rows get the mean. Derivation: ``docs/scale-out.md``.

    Parameters
    ----------
    evidence : numpy.ndarray
        (n,) the rows' merged step evidence at the start of the round (tokens; 0 for free rows and
        words admitted during the round).
    replicas : int
        ``K`` (>= 1).
    word_decay : float
        Of the per-word rule (> 0).
    step_cap : float
        Largest replica step, in units of ``alpha`` (>= 1).

    Returns
    -------
    numpy.ndarray
        (n,) float64 in [1, K].

    Raises
    ------
    ValueError
        On ``replicas < 1``, ``step_cap < 1`` or ``word_decay <= 0``.

    Examples
    --------
    >>> replica_step_gain(np.array([0, 2000, 1_000_000]), 16, 2000.0, 4.0).tolist()
    [4.0, 8.0, 16.0]
    """
    k, cap, wd = int(replicas), float(step_cap), float(word_decay)
    if k < 1 or not (np.isfinite(cap) and cap >= 1.0) or not (np.isfinite(wd) and wd > 0):
        raise ValueError(f"replicas >= 1, step_cap >= 1 and word_decay > 0 needed, got {replicas!r}, "
                         f"{step_cap!r}, {word_decay!r}")
    n0 = np.asarray(evidence, dtype=np.float64)
    return np.clip(cap * (1.0 + n0 / wd), 1.0, float(k))


def replica_step_mass(start: np.ndarray, inc: np.ndarray, alpha: float, word_decay: float, replicas: int,
                      gain: np.ndarray, max_step: float = np.inf) -> np.ndarray:
    """Sum of a replica's steps over a word's occurrences in a round (the integral of :func:`row_alpha`).

    A replica that loaded row ``w`` at evidence ``n0`` and saw ``l`` occurrences took the steps
    ``min(m·η(n0 + K·x), max_step)`` for ``x = 0 .. l``, ``η(n) = alpha / (1 + n / word_decay)``;
    the integral is ``max_step·x*`` up to ``x*`` where the limit stops binding, then
    ``m·alpha·word_decay/K · ln((word_decay + n0 + K·l) / (word_decay + n0 + K·x*))``. With ``K = 1``,
    ``m = 1`` and no limit it is one process's ``alpha·word_decay·ln(1 + l/(word_decay + n0))``, the
    mass of :func:`merged_step_scale`. ``min_alpha`` is ignored (it binds only past ~1M occurrences).

    Parameters
    ----------
    start : ndarray, shape (n,)
        ``n0`` per row (tokens).
    inc : ndarray, shape (..., n)
        Occurrences in the round (tokens), one row per replica.
    alpha, word_decay : float
    replicas : int
        ``K``.
    gain : ndarray, shape (n,)
        ``m`` per row (:func:`replica_step_gain`).
    max_step : float
        The limit on a step (same unit as ``alpha``; inf: none).

    Returns
    -------
    ndarray, shape like ``inc``, float64
        Step sums (same unit as ``alpha``).

    Examples
    --------
    >>> a = replica_step_mass(np.array([0.0]), np.array([[500.0]]), 0.05, 2000.0, 4, np.array([4.0]))
    >>> b = replica_step_mass(np.array([0.0]), np.array([[2000.0]]), 0.05, 2000.0, 1, np.array([1.0]))
    >>> bool(np.allclose(a, b))    # 500 occurrences at 4 replicas' evidence and gain: one process's 2000
    True
    """
    k = float(replicas)
    n0 = np.asarray(start, dtype=np.float64)
    m = np.asarray(gain, dtype=np.float64)
    x = np.asarray(inc, dtype=np.float64)
    wd = float(word_decay)
    if np.isfinite(max_step):
        xs = np.maximum(0.0, (wd * (m * alpha / max_step - 1.0) - n0) / k)  # where the limit stops binding
    else:
        xs = np.zeros_like(n0)
    xs = np.minimum(xs, x)
    capped = xs * (max_step if np.isfinite(max_step) else 0.0)
    return capped + m * alpha * wd / k * np.log((wd + n0 + k * x) / (wd + n0 + k * xs))


def evidence_offsets(evidence: np.ndarray, scale: float) -> np.ndarray:
    """``(scale − 1)·n0`` per row: the ``evidence_offset`` of :func:`row_alpha`.

    Parameters
    ----------
    evidence : numpy.ndarray
        (n_ids,) the rows' step evidence at the start of a sync round (tokens, any integer dtype):
        their counts, minus the change detector's bases where it runs.
    scale : float
        Replicas reading the stream (>= 1).

    Returns
    -------
    numpy.ndarray
        (n_ids,) float64.

    Raises
    ------
    ValueError
        If ``scale`` is not a finite number >= 1.

    Examples
    --------
    >>> evidence_offsets(np.array([0, 10, 2000]), 4.0).tolist()
    [0.0, 30.0, 6000.0]
    """
    scale = float(scale)
    if not (np.isfinite(scale) and scale >= 1.0):
        raise ValueError(f"evidence scale must be a finite number >= 1 (replicas), got {scale!r}")
    return (scale - 1.0) * np.asarray(evidence, dtype=np.float64)


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


def merged_step_scale(start: np.ndarray, inc: np.ndarray, alpha: float, min_alpha: float,
                      word_decay: float, stiffness: float | None = None) -> np.ndarray:
    """Per-word factor that makes the sum of K replicas' updates take one process's total step.

    Under the per-word rule a row's step falls as its word's count grows. K replicas that each
    trained a round from the same count ``n0`` each took the steps of counts ``n0 .. n0 + m_k``;
    one process reading the whole round would have taken those of ``n0 .. n0 + Σ m_k``. Summing the
    replicas' updates (asynchronous SGD's merge) therefore over-steps a word by up to K× while its
    count is small (a new or rare word, or every word early in a stream), and is right once
    ``n0 ≫ Σ m_k``. With the step ``η(n) = alpha / (1 + n / word_decay)`` the total step over counts
    ``a .. b`` is ``∫ η = alpha · word_decay · ln((word_decay + b) / (word_decay + a))``, so the factor is

        s = ln(1 + M / (word_decay + n0)) / Σ_k ln(1 + m_k / (word_decay + n0)),   M = Σ_k m_k

    (1 where no replica saw the word, or where the step is already at ``min_alpha``): between the
    mean of the updates (``1/K``, a word seen far more often than ``word_decay`` in the round from
    a count near 0) and their sum (``n0 ≫ M``).

    Parameters
    ----------
    start : ndarray, shape (n,), int64
        Each word's count at the start of the round (tokens).
    inc : ndarray, shape (K, n), int64
        Each replica's occurrences of each word in the round (tokens).
    alpha, min_alpha, word_decay : float
        The per-word rule's constants (:func:`word_alpha`).
    stiffness : float, optional
        With it, a row is taken to relax towards its replica's optimum: a replica whose steps in
        the round sum to ``A_k`` (the integral above) moves it ``f_k = 1 − exp(−stiffness·A_k)`` of the
        way (a linearised loss of curvature ``stiffness`` per unit of step), one process over the
        merged round ``F = 1 − exp(−stiffness·A)``, and ``s = F / Σ_k f_k``: the sum for rows far from
        their optimum (rare words), the mean for rows that reach it within a round (frequent words),
        whose summed updates would otherwise overshoot ``K − 1`` times (an unstable loop from
        ``K = 3`` on, measured in ``docs/scale-out.md``). None: no saturation (the step integrals alone).

    Returns
    -------
    ndarray, shape (n,), float64
        Factors in (0, 1].

    Examples
    --------
    >>> s = merged_step_scale(np.array([0, 100_000]), np.array([[1000, 1000]] * 4), 0.05, 1e-4, 2000.0)
    >>> [round(float(x), 3) for x in s]      # 4 replicas: a new word's sum is scaled, a frequent one's nearly kept
    [0.677, 0.986]
    """
    n0 = np.asarray(start, dtype=np.float64)
    m = np.asarray(inc, dtype=np.float64)
    den = word_decay + n0
    if stiffness is None:
        each = np.log1p(m / den).sum(axis=0)
        whole = np.log1p(m.sum(axis=0) / den)
    else:  # saturating: a row that reached its replica's optimum within the round moves no further
        mass = alpha * word_decay * stiffness
        each = (-np.expm1(-mass * np.log1p(m / den))).sum(axis=0)
        whole = -np.expm1(-mass * np.log1p(m.sum(axis=0) / den))
    s = np.where(each > 0, whole / np.where(each > 0, each, 1.0), 1.0)
    floor = alpha / (1.0 + n0 / word_decay) <= min_alpha
    return np.where(floor, 1.0, np.minimum(s, 1.0))
