"""Learning-rate rules of the SGNS kernel, for a stream of unknown length (issue 8).

**Global 1/t** (the default). With ``t`` the tokens seen,
``alpha_t = max(min_alpha, alpha / (1 + t / decay_tokens))`` — the classic ``1/t`` Robbins–Monro
schedule (Robbins & Monro 1951) with a plateau of about ``decay_tokens`` tokens; no corpus length
is needed. The default ``decay_tokens = 2e7`` was chosen by measurement on the 12.6M-token real
"mix" corpus (one pass, gensim's other defaults): 2e6 / 2e7 / 5e7 / 2e8 gave WS353 0.35 / 0.48 /
0.50 / 0.51, SimLex 0.22 / 0.29 / 0.29 / 0.30 and Google analogies 0.09 / 0.14 / 0.13 / 0.12
(gensim's linear decay over one epoch: 0.42, 0.25, 0.11). A single pass profits from a learning
rate that stays high; 2e7 keeps the best analogy score while still annealing long streams (alpha
is 0.0025 after 2e8 tokens).

With forgetting (``half_life = H``, :mod:`streamsgns.forget`) ``t`` is the *decayed* token count
``t = Σ_tokens 2^(−age/H)`` instead, so the step settles at ``alpha / (1 + H / (ln 2 ·
decay_tokens))`` rather than decaying towards ``min_alpha``. Why: the ``1/t`` schedule shrinks the
step as evidence accumulates; once counts forget evidence older than a few ``H``, the evidence held
is about ``H / ln 2`` tokens, and the step should stay the one that amount of evidence warrants, so
that words whose use changes keep moving. With ``H = ∞`` (None) this is the rule above, unchanged.

**Per-word 1/n** (``word_decay``, off by default). Each row's step comes from its own word's
evidence: the W row of the context word and the C row of each target (positive or negative) move
with ``max(min_alpha, alpha / (1 + n / word_decay))``, ``n`` the word's count (exact, decayed with
a half-life). This is the Robbins–Monro ``1/t`` schedule per coordinate block, with ``t`` the
number of times the row's word was seen, in the spirit of per-parameter steps (AdaGrad, Duchi,
Hazan & Singer 2011, which yskip applies to SGNS rows, Kaji & Kobayashi 2017) but with the count as
the evidence: frequent words take small steps, rare and newly admitted words keep large ones, and
no corpus length enters. Measured (``benchmarks/learning_rule.py``, ``docs/learning_rule.md``) with
``alpha = 0.05, word_decay = 1000`` and averaged export: full rank (Brown top 300, d = 400, 20
passes) Spearman(W·Cᵀ, PMI − log k) 0.945 in corpus order and 0.969 shuffled (gensim 0.922 /
0.971 in the same setting), and one pass over mix WS353 / SimLex / analogies 0.598 / 0.322 / 0.184
(the default rule: 0.486 / 0.281 / 0.156).

The exported vectors are averages of the iterates either way (:mod:`streamsgns.averaging`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["current_alpha", "word_alpha"]


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
