"""Pointwise mutual information targets for SGNS, and diagnostics comparing them with W·Cᵀ.

Pure functions on arrays: nothing here knows about the learner.  The learner (or anyone
else) passes co-occurrence counts over a set of ``n`` tracked words and gets back PMI
matrices, PPMI-SVD embeddings, or a report on how close ``W_i · C_j`` is to the shifted
PMI that SGNS implicitly targets.

Notation (Levy & Goldberg 2014; ``docs/theory.md``)
---------------------------------------------------
``D``
    The multiset of (word, context) pairs the SGNS kernel trained; ``|D|`` is ``total``.
``#(w,c)``
    How often the pair (w, c) occurs in D (``counts``; row = word = row of W,
    column = context = row of C).  It may be fractional (expected counts under the
    dynamic window, see :func:`dynamic_window_weights`).
``#(w)``, ``#(c)``
    Marginals over **all** pairs in D (``w_marg``, ``c_marg``), not only over the tracked
    words, so they are passed in and never recomputed from ``counts``.

Formulas
--------
PMI (L&G 2014, sec. 3.1; ``docs/theory.md``, eq. 6)::

    PMI(w,c) = log( #(w,c) · |D| / (#(w) · #(c)) )

Context-distribution smoothing (Levy, Goldberg & Dagan 2015, "Improving Distributional
Similarity with Lessons Learned from Word Embeddings", sec. 3.2, eq. 3), exponent α::

    PMI_α(w,c) = log( P(w,c) / (P(w) · P_α(c)) ) = log( #(w,c) / (#(w) · P_α(c)) ),
    P_α(c)     = #(c)^α / Σ_c' #(c')^α

The normaliser is the sum over the ``c_marg`` given, unless ``cds_total`` supplies
``Σ_c' #(c')^α`` over the full vocabulary (needed when only the top-N words are tracked
but the negative sampler draws from all admitted words).  With α = 1 and
``Σ c_marg = |D|`` this is plain PMI.

Shifted PMI (L&G 2014, sec. 3.1; ``docs/theory.md``, eq. 5): the SGNS optimum (for ``d ≥ |V|``
and linearly independent rows: Wilson 2016, in ``docs/theory.md``) is ``x = W_w · C_c = PMI(w,c) − log k``.
Shifted PPMI (SPPMI, L&G 2014, sec. 4; ``docs/theory.md``, eq. 10) is ``max(PMI − log k, 0)``.

Weights of the SGNS loss (``docs/theory.md``, eq. 3 and 7-9)
------------------------------------------------------------
For one pair, with ``x = W_w · C_c`` and ``a = #(w,c)``, ``b = k · #(w) · P(c)``
(``P(c) = #(c)/|D|``, or ``P_α(c)`` when smoothing — the noise distribution the
negatives are drawn from), the objective of one pair (L&G 2014, sec. 3.1) reads::

    L(x)   = a · log σ(x) + b · log σ(−x)                      (maximised)
    L'(x)  = a · σ(−x) − b · σ(x)
    L''(x) = −(a + b) · σ(x) · σ(−x)                           (σ' = σ(x)σ(−x))

``L'(t) = 0`` gives ``e^t = a / b``, i.e. ``t = PMI − log k``, so
``σ(t) = a/(a+b)`` and ``σ(−t) = b/(a+b)``.  The curvature at the optimum is therefore::

    weight = −L''(t) = (a + b) · σ(t) · σ(−t) = a · b / (a + b)
           = #(w,c) · σ(−t) = k · #(w) · P(c) · σ(t)

(half the harmonic mean of the positive and the expected negative count).  To second
order, ``L(t) − L(x) ≈ ½ · weight · (x − t)²``: the weighted matrix factorisation of
L&G 2014, sec. 3, with these weights.  The exact gap is::

    L(t) − L(x) = (a + b) · KL( Bernoulli(σ(t)) ‖ Bernoulli(σ(x)) ) ≥ 0

which :func:`pmi_report` reports as ``weighted_loss_gap`` (computed from ``L`` directly).

Functions raise ``ValueError`` for shape mismatches, negative / non-finite counts or
marginals, ``total ≤ 0``, ``k ≤ 0``, an observed pair whose marginal is zero, and
other invalid arguments.

Layout
------
* :mod:`.matrices`: :func:`pmi_matrix`, :func:`ppmi_matrix`, :func:`shifted_pmi` (+ validation);
* :mod:`.svd`: :func:`ppmi_svd`;
* :mod:`.report`: :func:`pmi_pairs`, :func:`pmi_report` (the SGNS weights, loss gap);
* :mod:`.plot`: :func:`plot_report` (matplotlib, imported lazily);
* :mod:`.reference`: :func:`cooccurrence_from_tokens`, :func:`dynamic_window_weights`;
* :mod:`.live`: :func:`learner_pmi_inputs`, :func:`learner_pmi_report`, :func:`learner_ppmi_svd`
  (a learner's running statistics, read through its public attributes).

The ``streamsgns pmi`` command lives in :mod:`streamsgns.cli.query`.
"""

from __future__ import annotations

from .live import TARGETS, learner_pmi_inputs, learner_pmi_report, learner_ppmi_svd
from .matrices import pmi_matrix, ppmi_matrix, shifted_pmi
from .plot import plot_report
from .reference import cooccurrence_from_tokens, dynamic_window_weights
from .report import pmi_pairs, pmi_report
from .svd import ppmi_svd

__all__ = [
    "pmi_matrix",
    "ppmi_matrix",
    "shifted_pmi",
    "ppmi_svd",
    "pmi_pairs",
    "pmi_report",
    "plot_report",
    "dynamic_window_weights",
    "cooccurrence_from_tokens",
    "learner_pmi_inputs",
    "learner_pmi_report",
    "learner_ppmi_svd",
    "TARGETS",
]
