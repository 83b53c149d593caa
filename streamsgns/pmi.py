"""Pointwise mutual information targets for SGNS, and diagnostics comparing them with W·Cᵀ.

Pure functions on arrays: nothing here knows about the learner.  The learner (or anyone
else) passes co-occurrence counts over a set of ``n`` tracked words and gets back PMI
matrices, PPMI-SVD embeddings, or a report on how close ``W_i · C_j`` is to the shifted
PMI that SGNS implicitly targets.

Notation (Levy & Goldberg 2014, "Neural Word Embedding as Implicit Matrix Factorization";
seed note 001)
-------------------------------------------------------------------------------------
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
PMI, eq. 12 of note 001 (L&G 2014, sec. 2.1)::

    PMI(w,c) = log( #(w,c) · |D| / (#(w) · #(c)) )

Context-distribution smoothing (Levy, Goldberg & Dagan 2015, "Improving Distributional
Similarity with Lessons Learned from Word Embeddings", sec. 3.2, eq. 3), exponent α::

    PMI_α(w,c) = log( P(w,c) / (P(w) · P_α(c)) ) = log( #(w,c) / (#(w) · P_α(c)) ),
    P_α(c)     = #(c)^α / Σ_c' #(c')^α

The normaliser is the sum over the ``c_marg`` given, unless ``cds_total`` supplies
``Σ_c' #(c')^α`` over the full vocabulary (needed when only the top-N words are tracked
but the negative sampler draws from all admitted words).  With α = 1 and
``Σ c_marg = |D|`` this is plain PMI.

Shifted PMI, eq. 10 of note 001: the SGNS optimum (for d ≥ |V|, see the critique in seed
note 000) is ``x = W_w · C_c = PMI(w,c) − log k``.  Shifted PPMI (SPPMI, L&G 2014 sec.
5.1) is ``max(PMI − log k, 0)``.

Weights of the SGNS loss (derived from eq. 8 of note 001)
---------------------------------------------------------
For one pair, with ``x = W_w · C_c`` and ``a = #(w,c)``, ``b = k · #(w) · P(c)``
(``P(c) = #(c)/|D|``, or ``P_α(c)`` when smoothing — the noise distribution the
negatives are drawn from), eq. 8 reads::

    L(x)   = a · log σ(x) + b · log σ(−x)                      (maximised)
    L'(x)  = a · σ(−x) − b · σ(x)                              (eq. 9)
    L''(x) = −(a + b) · σ(x) · σ(−x)                           (σ' = σ(x)σ(−x))

``L'(t) = 0`` gives ``e^t = a / b``, i.e. ``t = PMI − log k`` (eq. 10), so
``σ(t) = a/(a+b)`` and ``σ(−t) = b/(a+b)``.  The curvature at the optimum is therefore::

    weight = −L''(t) = (a + b) · σ(t) · σ(−t) = a · b / (a + b)
           = #(w,c) · σ(−t) = k · #(w) · P(c) · σ(t)

(half the harmonic mean of the positive and the expected negative count).  To second
order, ``L(t) − L(x) ≈ ½ · weight · (x − t)²``: the weighted matrix factorisation of
L&G 2014 sec. 3.1 / note 001 sec. 2.3 with these weights.  The exact gap is::

    L(t) − L(x) = (a + b) · KL( Bernoulli(σ(t)) ‖ Bernoulli(σ(x)) ) ≥ 0

which :func:`pmi_report` reports as ``weighted_loss_gap`` (computed from eq. 8 directly).

Functions raise ``ValueError`` for shape mismatches, negative / non-finite counts or
marginals, ``total ≤ 0``, ``k ≤ 0``, an observed pair whose marginal is zero, and
other invalid arguments.
"""

from __future__ import annotations

import os
import warnings
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

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
    "cli_pmi",
]

_CHUNK = 1 << 16  # pairs per chunk when computing row-wise dot products
_DENSE_SVD_MAX = 256  # below this min(shape), ppmi_svd always uses the dense SVD
_ENUMERATE_MAX = 4_000_000  # grids up to this size: enumerate unobserved pairs exactly


# --------------------------------------------------------------------------- validation
def _as_csr(counts, name: str = "counts") -> sp.csr_matrix:
    """Copy ``counts`` into a canonical float64 CSR matrix (duplicates summed, zeros dropped)."""
    if sp.issparse(counts):
        m = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    else:
        arr = np.asarray(counts)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
        m = sp.csr_matrix(arr.astype(np.float64))
    if m.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {m.shape}")
    m.sum_duplicates()
    if not np.all(np.isfinite(m.data)):
        raise ValueError(f"{name} contains non-finite values")
    if np.any(m.data < 0):
        raise ValueError(f"{name} contains negative counts")
    m.eliminate_zeros()
    m.sort_indices()
    return m


def _as_marg(marg, size: int, name: str) -> np.ndarray:
    arr = np.asarray(marg, dtype=np.float64)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative counts")
    return arr


def _check_total(total) -> float:
    t = float(total)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"total (|D|) must be finite and > 0, got {total!r}")
    return t


def _check_k(k) -> float:
    kf = float(k)
    if not np.isfinite(kf) or kf <= 0:
        raise ValueError(f"k (number of negatives) must be finite and > 0, got {k!r}")
    return kf


def _check_cds(cds, cds_total):
    if cds is None:
        if cds_total is not None:
            raise ValueError("cds_total given without cds")
        return None, None
    a = float(cds)
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"cds (smoothing exponent alpha) must be finite and > 0, got {cds!r}")
    if cds_total is not None:
        z = float(cds_total)
        if not np.isfinite(z) or z <= 0:
            raise ValueError(f"cds_total must be finite and > 0, got {cds_total!r}")
        return a, z
    return a, None


def _prepare(counts, w_marg, c_marg, total):
    m = _as_csr(counts)
    nr, nc = m.shape
    wm = _as_marg(w_marg, nr, "w_marg")
    cm = _as_marg(c_marg, nc, "c_marg")
    tot = _check_total(total)
    return m, wm, cm, tot


def _context_prob(cm: np.ndarray, tot: float, cds, cds_total) -> np.ndarray:
    """P(c) of the negative-sampling distribution: #(c)/|D| or #(c)^α / Σ #(c')^α."""
    if cds is None:
        return cm / tot
    powered = cm**cds
    z = cds_total if cds_total is not None else float(powered.sum())
    if z <= 0:  # no context counted: any observed pair is then rejected by the caller
        return np.zeros_like(cm)
    return powered / z


def _pair_stats(m: sp.csr_matrix, wm, cm, tot, cds, cds_total):
    """rows, cols, a = #(w,c), pmi and #(w)·P(c) for the stored entries of CSR ``m``."""
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    cols = m.indices.astype(np.int64, copy=False)
    a = m.data
    w = wm[rows]
    if np.any(w[a > 0] <= 0):
        raise ValueError("an observed pair has #(w) = 0 in w_marg: PMI undefined")
    pc_all = _context_prob(cm, tot, cds, cds_total)
    pc = pc_all[cols]
    if np.any(pc[a > 0] <= 0):
        raise ValueError("an observed pair has #(c) = 0 in c_marg: PMI undefined")
    with np.errstate(divide="ignore"):
        if cds is None:
            # log(#(w,c)·|D| / (#(w)·#(c))): exact 0 for outer-product counts.
            pmi = np.log((a * tot) / (w * cm[cols]))
        else:
            pmi = np.log(a / (w * pc))
    return rows, cols, a, pmi, w * pc


# --------------------------------------------------------------------------- PMI matrices
def pmi_matrix(counts, w_marg, c_marg, total, *, cds=None, shift=0.0, cds_total=None):
    """PMI (optionally smoothed and shifted) on the observed co-occurrence entries.

    ``PMI(w,c) = log(#(w,c)·|D| / (#(w)·#(c))) − shift`` (Levy & Goldberg 2014, eq. 12 of
    seed note 001).  With ``cds=α`` the context probability ``#(c)/|D|`` is replaced by
    ``#(c)^α / Σ_c' #(c')^α`` (Levy, Goldberg & Dagan 2015, sec. 3.2, eq. 3).

    Parameters
    ----------
    counts : scipy.sparse matrix or ndarray, shape (n_w, n_c)
        ``#(w,c)`` (non-negative, possibly fractional); usually ``n_w = n_c = n``.
        Duplicate COO entries are summed; explicit zeros count as unobserved.
    w_marg : array_like, shape (n_w,), float64
        ``#(w)`` over *all* pairs of D (not recomputed from ``counts``).
    c_marg : array_like, shape (n_c,), float64
        ``#(c)`` over all pairs of D.
    total : float
        ``|D|``, number of all pairs, > 0.
    cds : float or None
        Context-distribution smoothing exponent α > 0 (0.75 in LGD 2015); None = off.
    shift : float
        Subtracted from every entry; ``np.log(k)`` gives the shifted PMI of eq. 10.
    cds_total : float or None
        ``Σ_c' #(c')^α`` over the full context vocabulary; default: sum over ``c_marg``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_w, n_c), float64
        Same sparsity pattern as the non-zero entries of ``counts``.  Entries whose value
        is exactly 0 are stored explicitly (they are observed pairs), so do not call
        ``eliminate_zeros`` on it if the pattern matters.  Unobserved pairs
        (PMI = −∞) are not stored.

    Raises
    ------
    ValueError
        Shape mismatches, negative or non-finite counts/marginals, ``total <= 0``,
        ``cds <= 0``, non-finite ``shift``, or an observed pair with a zero marginal.
    """
    shift = float(shift)
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift!r}")
    cds, cds_total = _check_cds(cds, cds_total)
    m, wm, cm, tot = _prepare(counts, w_marg, c_marg, total)
    _, _, _, pmi, _ = _pair_stats(m, wm, cm, tot, cds, cds_total)
    out = sp.csr_matrix((pmi - shift, m.indices.copy(), m.indptr.copy()), shape=m.shape)
    out.has_sorted_indices = True
    return out


def ppmi_matrix(counts, w_marg, c_marg, total, *, cds=None, shift=0.0, cds_total=None):
    """Positive PMI ``max(PMI − shift, 0)`` with zeros eliminated.

    Eq. 13 of seed note 001; with ``shift=np.log(k)`` this is the shifted PPMI (SPPMI) of
    Levy & Goldberg 2014, sec. 5.1.  Arguments and errors as :func:`pmi_matrix`.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_w, n_c), float64
        Strictly positive stored entries only.
    """
    out = pmi_matrix(counts, w_marg, c_marg, total, cds=cds, shift=shift, cds_total=cds_total)
    np.maximum(out.data, 0.0, out=out.data)
    out.eliminate_zeros()
    return out


def shifted_pmi(counts, w_marg, c_marg, total, k, *, cds=None, cds_total=None):
    """Shifted PMI ``PMI − log k``: the SGNS optimum of eq. 10 in seed note 001.

    Parameters
    ----------
    counts, w_marg, c_marg, total, cds, cds_total
        As in :func:`pmi_matrix`.
    k : float
        Number of negative samples, > 0.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_w, n_c), float64

    Raises
    ------
    ValueError
        ``k <= 0`` and everything :func:`pmi_matrix` raises.
    """
    kf = _check_k(k)
    return pmi_matrix(counts, w_marg, c_marg, total, cds=cds, shift=np.log(kf),
                      cds_total=cds_total)


# --------------------------------------------------------------------------- PPMI-SVD
def _fix_signs(u: np.ndarray, vt: np.ndarray):
    """Flip each singular pair so the largest-|.| entry of the U column is positive."""
    if u.shape[1] == 0:
        return u, vt
    idx = np.argmax(np.abs(u), axis=0)
    signs = np.sign(u[idx, np.arange(u.shape[1])])
    signs[signs == 0] = 1.0
    return u * signs, vt * signs[:, None]


def ppmi_svd(ppmi, dim, *, eig=0.5, seed=0):
    """Truncated-SVD embeddings of a (P)PMI matrix: ``W = U·Σ^eig``, ``C = V·Σ^eig``.

    Levy & Goldberg 2014 sec. 3.3 and seed note 001 sec. 2.3 (``eig=0.5`` is the symmetric
    ``W = U·√Σ``, ``C = V·√Σ``); the eigenvalue weighting ``eig`` is the ``p`` of Levy,
    Goldberg & Dagan 2015, sec. 3.3.  ``W · Cᵀ = U Σ^(2·eig) Vᵀ``, which is the rank-``dim``
    best approximation of ``ppmi`` when ``eig=0.5``.

    Parameters
    ----------
    ppmi : scipy.sparse matrix or ndarray, shape (n_w, n_c)
        Usually the output of :func:`ppmi_matrix`; any finite real matrix works.
    dim : int
        Number of singular triplets, >= 1.  Clipped to ``min(n_w, n_c)``.
    eig : float
        Exponent of the singular values, >= 0 (0: ``W = U``; 1: ``W = UΣ``).
    seed : int
        Seed of the deterministic ARPACK start vector ``v0``.

    Returns
    -------
    W : ndarray, shape (n_w, min(dim, n_w, n_c)), float32
    C : ndarray, shape (n_c, min(dim, n_w, n_c)), float32
        Components sorted by decreasing singular value; each component's sign is fixed
        so that the largest-magnitude entry of its ``U`` column is positive.

    Notes
    -----
    Uses ``scipy.sparse.linalg.svds`` (ARPACK) when ``dim`` is small relative to
    ``min(n_w, n_c)``; falls back to a dense ``numpy.linalg.svd`` when
    ``min(n_w, n_c) <= 256`` or ``2·dim >= min(n_w, n_c)`` (in particular ``dim >= n``).

    Raises
    ------
    ValueError
        ``dim < 1``, ``eig < 0``, a non-2-D or non-finite matrix.
    """
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    dim = int(dim)
    eig = float(eig)
    if not np.isfinite(eig) or eig < 0:
        raise ValueError(f"eig must be finite and >= 0, got {eig!r}")
    if sp.issparse(ppmi):
        a = sp.csr_matrix(ppmi, dtype=np.float64)
        finite = np.all(np.isfinite(a.data))
    else:
        a = np.asarray(ppmi, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"ppmi must be 2-D, got shape {a.shape}")
        finite = np.all(np.isfinite(a))
    if not finite:
        raise ValueError("ppmi contains non-finite values")
    nr, nc = a.shape
    m = min(nr, nc)
    r = min(dim, m)
    if r == 0:
        return np.zeros((nr, 0), np.float32), np.zeros((nc, 0), np.float32)
    if m <= _DENSE_SVD_MAX or 2 * r >= m:
        dense = a.toarray() if sp.issparse(a) else a
        u, s, vt = np.linalg.svd(dense, full_matrices=False)
        u, s, vt = u[:, :r], s[:r], vt[:r]
    else:
        from scipy.sparse.linalg import svds

        v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, size=m)
        u, s, vt = svds(a, k=r, v0=v0)
        order = np.argsort(-s, kind="stable")
        u, s, vt = u[:, order], s[order], vt[order]
    s = np.maximum(s, 0.0)
    u, vt = _fix_signs(u, vt)
    scale = s**eig
    W = (u * scale).astype(np.float32)
    C = (vt.T * scale).astype(np.float32)
    return W, C


# --------------------------------------------------------------------------- report
def _rowwise_dot(W: np.ndarray, C: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``x[p] = W[rows[p]] · C[cols[p]]`` in float64, chunked to bound memory."""
    out = np.empty(rows.shape[0], dtype=np.float64)
    for s in range(0, rows.shape[0], _CHUNK):
        r = rows[s:s + _CHUNK]
        c = cols[s:s + _CHUNK]
        out[s:s + _CHUNK] = np.einsum(
            "ij,ij->i", W[r].astype(np.float64), C[c].astype(np.float64)
        )
    return out


def _check_vectors(W, C, shape):
    W = np.asarray(W)
    C = np.asarray(C)
    if W.ndim != 2 or C.ndim != 2:
        raise ValueError(f"W and C must be 2-D, got shapes {W.shape} and {C.shape}")
    if W.shape[0] != shape[0]:
        raise ValueError(f"W has {W.shape[0]} rows but counts has {shape[0]} rows")
    if C.shape[0] != shape[1]:
        raise ValueError(f"C has {C.shape[0]} rows but counts has {shape[1]} columns")
    if W.shape[1] != C.shape[1]:
        raise ValueError(f"W and C dimensions differ: {W.shape[1]} != {C.shape[1]}")
    return W, C


def _pairs(W, C, counts, w_marg, c_marg, total, k, min_count, cds, cds_total):
    """x, t, a, b, rows, cols and the validated inputs for the observed pairs."""
    kf = _check_k(k)
    cds, cds_total = _check_cds(cds, cds_total)
    mc = float(min_count)
    if not np.isfinite(mc):
        raise ValueError(f"min_count must be finite, got {min_count!r}")
    m, wm, cm, tot = _prepare(counts, w_marg, c_marg, total)
    W, C = _check_vectors(W, C, m.shape)
    rows, cols, a, pmi, wpc = _pair_stats(m, wm, cm, tot, cds, cds_total)
    keep = a >= mc
    rows, cols, a, pmi, wpc = rows[keep], cols[keep], a[keep], pmi[keep], wpc[keep]
    t = pmi - np.log(kf)
    b = kf * wpc  # expected negatives of the pair: k · #(w) · P(c)  (eq. 8)
    x = _rowwise_dot(W, C, rows, cols)
    return x, t, a, b, rows, cols, (m, wm, cm, W, C)


def pmi_pairs(W, C, counts, w_marg, c_marg, total, k, *, min_count=1, cds=None,
              cds_total=None, return_index=False):
    """Model scores, shifted-PMI targets and SGNS weights of the observed pairs.

    Parameters
    ----------
    W : ndarray, shape (n_w, d)
        Word vectors; row i is tracked word i (float32 usually; computed in float64).
    C : ndarray, shape (n_c, d)
        Context vectors; row j is tracked context j.
    counts, w_marg, c_marg, total, cds, cds_total
        As in :func:`pmi_matrix`.
    k : float
        Number of negatives, > 0.
    min_count : float
        Keep only observed pairs with ``#(w,c) >= min_count``.
    return_index : bool
        Also return the row (word) and column (context) index of every pair.

    Returns
    -------
    x : ndarray, shape (p,), float64
        ``W_i · C_j``.
    t : ndarray, shape (p,), float64
        ``PMI(i, j) − log k`` (eq. 10 of seed note 001).
    weight : ndarray, shape (p,), float64
        Curvature of eq. 8 at its optimum: ``(a + b)·σ(t)·σ(−t) = a·b/(a + b)`` with
        ``a = #(w,c)``, ``b = k·#(w)·P(c)``; see the module docstring.
    rows, cols : ndarray, shape (p,), int64
        Only with ``return_index=True``.

    Pairs are in row-major (CSR) order.

    Raises
    ------
    ValueError
        Shape mismatches between W, C and counts, ``k <= 0``, and everything
        :func:`pmi_matrix` raises.
    """
    x, t, a, b, rows, cols, _ = _pairs(W, C, counts, w_marg, c_marg, total, k,
                                       min_count, cds, cds_total)
    weight = a * b / (a + b)
    if return_index:
        return x, t, weight, rows, cols
    return x, t, weight


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def _corr(kind: str, x: np.ndarray, t: np.ndarray) -> float:
    if x.shape[0] < 2 or np.ptp(x) == 0 or np.ptp(t) == 0:
        return float("nan")
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "pearson":
            return float(stats.pearsonr(x, t)[0])
        return float(stats.spearmanr(x, t)[0])


def _sample_unobserved(m: sp.csr_matrix, wm, cm, n_sample: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic uniform sample (without replacement) of unobserved (w, c) pairs.

    Only words with ``#(w) > 0`` and contexts with ``#(c) > 0`` are eligible.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if n_sample <= 0:
        return empty
    er = np.flatnonzero(wm > 0)
    ec = np.flatnonzero(cm > 0)
    nr_e, nc_e = er.shape[0], ec.shape[0]
    pop = nr_e * nc_e
    if pop == 0:
        return empty
    # Observed pairs as linear indices on the eligible grid (all observed pairs are
    # eligible: _pair_stats rejects observed pairs with a zero marginal).
    rpos = np.full(m.shape[0], -1, np.int64)
    rpos[er] = np.arange(nr_e)
    cpos = np.full(m.shape[1], -1, np.int64)
    cpos[ec] = np.arange(nc_e)
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    obs = np.sort(rpos[rows] * nc_e + cpos[m.indices])
    rng = np.random.default_rng(seed)
    n_zero = pop - obs.shape[0]
    if n_zero <= 0:
        return empty
    if pop <= _ENUMERATE_MAX or n_zero <= 4 * n_sample:
        zeros = np.setdiff1d(np.arange(pop, dtype=np.int64), obs, assume_unique=True)
        if zeros.shape[0] > n_sample:
            zeros = np.sort(rng.choice(zeros, size=n_sample, replace=False))
        lin = zeros
    else:
        chosen = np.zeros(0, np.int64)
        for _ in range(64):
            need = n_sample - chosen.shape[0]
            if need <= 0:
                break
            size = min(int(need * 1.25 * pop / n_zero) + 16, 8 * _ENUMERATE_MAX)
            draw = rng.integers(0, pop, size=size, dtype=np.int64)
            _, first = np.unique(draw, return_index=True)
            draw = draw[np.sort(first)]  # dedupe, keep draw order (deterministic)
            draw = draw[~np.isin(draw, obs, assume_unique=False)]
            draw = draw[~np.isin(draw, chosen)]
            chosen = np.concatenate([chosen, draw[:need]])
        lin = chosen
    return er[lin // nc_e], ec[lin % nc_e]


def pmi_report(W, C, counts, w_marg, c_marg, total, k, *, min_count=1, cds=None,
               n_unobserved=100_000, seed=0, cds_total=None) -> dict:
    """Compare ``x = W_i · C_j`` with the SGNS optimum ``t = PMI − log k``.

    Levy & Goldberg 2014 (eq. 10 of seed note 001) predict ``x = t`` on observed pairs
    when ``d >= |V|``; in low dimension only the weighted fit of eq. 8 is expected (seed
    note 000), so the weighted measures below are the meaningful ones.

    Parameters
    ----------
    W : ndarray, shape (n_w, d), float32
    C : ndarray, shape (n_c, d), float32
    counts, w_marg, c_marg, total, cds, cds_total
        As in :func:`pmi_matrix`.
    k : float
        Number of negatives, > 0.
    min_count : float
        Observed pairs with ``#(w,c) < min_count`` are left out of the observed-pair
        statistics (they are still "observed", so never sampled as unobserved).
    n_unobserved : int
        Maximum number of unobserved pairs (``#(w,c) = 0`` with ``#(w) > 0`` and
        ``#(c) > 0``) sampled uniformly without replacement, deterministically from
        ``seed``; all of them when there are fewer.
    seed : int
        Seed of the unobserved-pair sample.

    Returns
    -------
    dict
        ``n_pairs`` (int): observed pairs compared;
        ``pearson``, ``spearman`` (float, NaN when fewer than 2 pairs or constant):
        correlations of x and t (scipy.stats);
        ``weighted_mse``: ``Σ weight·(x − t)² / Σ weight`` with the eq. 8 curvature
        weights ``a·b/(a + b)`` (see module docstring);
        ``weighted_loss_gap``: ``Σ [L(t) − L(x)]`` with ``L`` from eq. 8 (≥ 0; per-pair
        rounding below zero is clipped); about ``½ Σ weight·(x − t)²`` near the optimum;
        ``frac_within_0_5``: fraction with ``|x − t| < 0.5`` nats;
        ``mean_residual``: mean of ``x − t``;
        ``n_unobserved`` (int): unobserved pairs sampled;
        ``unobserved_frac_negative``: fraction of them with ``x < 0`` (SGNS pushes them
        toward −∞);
        ``unobserved_mean``: their mean ``x``.
        Means over empty sets are NaN.

    Raises
    ------
    ValueError
        As :func:`pmi_pairs`, and ``n_unobserved < 0``.
    """
    if int(n_unobserved) != n_unobserved or n_unobserved < 0:
        raise ValueError(f"n_unobserved must be an integer >= 0, got {n_unobserved!r}")
    x, t, a, b, _, _, (m, wm, cm, W, C) = _pairs(
        W, C, counts, w_marg, c_marg, total, k, min_count, cds, cds_total
    )
    nan = float("nan")
    n = int(x.shape[0])
    r = x - t
    if n:
        weight = a * b / (a + b)
        wsum = float(weight.sum())
        wmse = float(np.sum(weight * r * r) / wsum) if wsum > 0 else nan
        # eq. 8: L(x) = a·log σ(x) + b·log σ(−x); L(t) is its maximum.
        gap = (a * (_log_sigmoid(t) - _log_sigmoid(x))
               + b * (_log_sigmoid(-t) - _log_sigmoid(-x)))
        gap = float(np.sum(np.maximum(gap, 0.0)))
        within = float(np.mean(np.abs(r) < 0.5))
        mean_res = float(np.mean(r))
    else:
        wmse, gap, within, mean_res = nan, 0.0, nan, nan
    ur, uc = _sample_unobserved(m, wm, cm, int(n_unobserved), seed)
    ux = _rowwise_dot(W, C, ur, uc)
    return {
        "n_pairs": n,
        "pearson": _corr("pearson", x, t),
        "spearman": _corr("spearman", x, t),
        "weighted_mse": wmse,
        "weighted_loss_gap": gap,
        "frac_within_0_5": within,
        "mean_residual": mean_res,
        "n_unobserved": int(ux.shape[0]),
        "unobserved_frac_negative": float(np.mean(ux < 0)) if ux.shape[0] else nan,
        "unobserved_mean": float(np.mean(ux)) if ux.shape[0] else nan,
    }


def plot_report(x, t, path, *, title=None):
    """Plot ``W·Cᵀ`` against ``PMI − log k`` and the residual histogram; save a PNG.

    Left panel: hexbin (log colour scale) of ``x`` (y axis) against ``t`` (x axis) with the
    line ``y = x``, or a scatter plot when there are fewer than 5000 points.  Right panel:
    histogram of the residuals ``x − t``.  Non-finite pairs are dropped.  Matplotlib is
    imported lazily and drawn on an Agg canvas without touching the global backend.

    Parameters
    ----------
    x, t : array_like, shape (p,)
        Model scores and targets, e.g. from :func:`pmi_pairs`.
    path : str or os.PathLike
        Output file (PNG).
    title : str or None
        Figure title.

    Returns
    -------
    The ``path`` given.

    Raises
    ------
    ValueError
        ``x`` and ``t`` are not 1-D arrays of the same length.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if x.ndim != 1 or x.shape != t.shape:
        raise ValueError(f"x and t must be 1-D of equal length, got {x.shape} and {t.shape}")
    ok = np.isfinite(x) & np.isfinite(t)
    x, t = x[ok], t[ok]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.8))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    if x.shape[0] == 0:
        for ax in (ax1, ax2):
            ax.text(0.5, 0.5, "no pairs", ha="center", va="center", transform=ax.transAxes)
    else:
        if x.shape[0] < 5000:
            ax1.scatter(t, x, s=6, alpha=0.5, linewidths=0)
        else:
            hb = ax1.hexbin(t, x, gridsize=80, bins="log", mincnt=1, cmap="viridis")
            fig.colorbar(hb, ax=ax1, label="pairs")
        lo = float(min(x.min(), t.min()))
        hi = float(max(x.max(), t.max()))
        if hi == lo:
            lo, hi = lo - 1.0, hi + 1.0
        ax1.plot([lo, hi], [lo, hi], color="crimson", lw=1, label="y = x")
        ax1.legend(loc="upper left")
        r = x - t
        ax2.hist(r, bins=80, color="steelblue")
        ax2.axvline(0.0, color="crimson", lw=1)
        ax2.set_title(f"mean {r.mean():+.3f}, sd {r.std():.3f}, n = {r.shape[0]}", fontsize=9)
    ax1.set_xlabel("PMI − log k  (t)")
    ax1.set_ylabel("W·Cᵀ  (x)")
    ax2.set_xlabel("residual x − t (nats)")
    ax2.set_ylabel("pairs")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png", dpi=100)
    return path


# --------------------------------------------------------------------------- reference counts
def dynamic_window_weights(window):
    """Expected weight of a pair at distance d under word2vec's dynamic window.

    word2vec draws the effective window ``b`` uniformly from ``1..window`` for every
    centre word (Goldberg & Levy 2014, "word2vec explained", seed note 003; Levy, Goldberg &
    Dagan 2015, sec. 3.2 "dynamic context window"), so a context at distance ``d`` is used
    with probability ``P(b >= d) = (window − d + 1) / window``.

    Parameters
    ----------
    window : int
        Maximum window, >= 1.

    Returns
    -------
    ndarray, shape (window,), float64
        Entry ``d − 1`` is the weight of distance ``d``.

    Raises
    ------
    ValueError
        ``window < 1`` or not an integer.
    """
    if int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    window = int(window)
    d = np.arange(1, window + 1, dtype=np.float64)
    return (window - d + 1.0) / window


def _sentences(ids) -> list[np.ndarray]:
    if isinstance(ids, np.ndarray) and ids.ndim == 1 and ids.dtype.kind in "iu":
        ids = [ids]
    out = []
    for s in ids:
        arr = np.asarray(s)
        if arr.size == 0:
            continue
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(
                f"each sentence must be a 1-D integer array, got dtype {arr.dtype}, "
                f"shape {arr.shape}"
            )
        if arr.dtype.kind == "i" and np.any(arr < 0):
            raise ValueError("token ids must be >= 0")
        out.append(arr.astype(np.int64, copy=False))
    return out


def cooccurrence_from_tokens(ids: Iterable[Sequence[int]] | np.ndarray, n, window, *,
                             weighted=False, drop_untracked=False) -> sp.csr_matrix:
    """Independent reference count of ``#(w,c)`` from a raw id stream.

    Every token at position i is a word whose contexts are the tokens at positions
    ``i ± 1 .. i ± window`` of the same sentence (Levy & Goldberg 2014, sec. 2; seed note
    003), so the matrix is symmetric.  Tokens removed before windows are formed
    (out-of-vocabulary, subsampled) must be removed by the caller.

    Parameters
    ----------
    ids : iterable of 1-D integer arrays, or one 1-D integer ndarray
        One array per sentence (a single 1-D integer ndarray is one sentence).
    n : int
        Number of tracked words; pairs involving an id >= n are not counted.
    window : int
        Window on each side, >= 1.
    weighted : bool
        Weight a pair at distance d by :func:`dynamic_window_weights` (the expected
        count under word2vec's dynamic window) instead of 1.
    drop_untracked : bool
        If True, ids >= n are deleted before windows are formed (they no longer occupy a
        position); by default they keep their positions and only their pairs are skipped.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n), float64
        ``#(w,c)``, row = word, column = context.  Marginals of the *whole* stream (for
        :func:`pmi_matrix`) are its row / column sums when every id is < n.

    Raises
    ------
    ValueError
        Negative ids, non-integer sentences, ``n < 0``, ``window < 1``.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    n = int(n)
    wts = dynamic_window_weights(window)
    window = wts.shape[0]
    sents = _sentences(ids)
    if drop_untracked:
        sents = [s[s < n] for s in sents]
        sents = [s for s in sents if s.size]
    out = sp.csr_matrix((n, n), dtype=np.float64)
    if not sents or n == 0:
        return out
    flat = np.concatenate(sents)
    sid = np.repeat(np.arange(len(sents), dtype=np.int64), [s.shape[0] for s in sents])
    tracked = flat < n
    for d in range(1, window + 1):
        if d >= flat.shape[0]:
            break
        keep = (sid[:-d] == sid[d:]) & tracked[:-d] & tracked[d:]
        left = flat[:-d][keep]
        right = flat[d:][keep]
        if left.shape[0] == 0:
            continue
        w = wts[d - 1] if weighted else 1.0
        vals = np.full(2 * left.shape[0], w, dtype=np.float64)
        part = sp.coo_matrix(
            (vals, (np.concatenate([left, right]), np.concatenate([right, left]))),
            shape=(n, n),
        ).tocsr()
        out = out + part
    out.sum_duplicates()
    out.sort_indices()
    return sp.csr_matrix(out)



# --------------------------------------------------------------------------- the learner's running statistics
TARGETS = ("noise", "smoothed", "pmi")


def _top_tracked(model, top):
    """The ``top`` most frequent tracked, alive ids (by decreasing count, ties by id)."""
    if getattr(model, "cooc", None) is None:
        raise ValueError("the model keeps no co-occurrence statistics (built with track_cooc=False)")
    if int(top) != top or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")
    model.flush()
    ids, _ = model.cooc.tracked_ids()
    counts = model.counts
    ids = ids[ids < counts.shape[0]]
    ids = ids[counts[ids] > 0]
    order = np.argsort(-counts[ids], kind="stable")
    return ids[order[: int(top)]]


def learner_pmi_inputs(model, top=1000, target="noise"):
    """Arguments of :func:`pmi_report` / :func:`pmi_pairs` from a learner's running statistics.

    Which PMI SGNS targets depends on where its negatives come from. For a
    trained pair (w, c) (``w`` the ``W`` row, ``c`` the ``C`` row) the kernel
    draws ``k`` negatives for the same input ``w`` from the noise distribution
    ``P_n``, so the pair type (w, c) receives ``a = #(w,c)`` positive and, in
    expectation, ``b = k·#(w)·P_n(c)`` negative updates; the optimum of eq. 8
    of seed note 001 with ``P(c)`` replaced by ``P_n(c)`` is
    ``x = log(#(w,c) / (#(w)·P_n(c))) − log k`` (Levy & Goldberg 2014, sec. 3.1
    for the unigram case; Levy, Goldberg & Dagan 2015, sec. 3.2: with
    ``P_n ∝ #(c)^α`` it is the PMI with context-distribution smoothing).

    Parameters
    ----------
    model : streamsgns.SGNS
        Built with ``track_cooc=True``.
    top : int
        The ``top`` most frequent tracked words (by the vocabulary's exact
        counts) are compared, as words and as contexts.
    target : {"noise", "smoothed", "pmi"}
        ``P(c)`` in the target:

        * ``"noise"`` (default, what this kernel optimises):
          ``P_n(c) = count(c)^α / Σ_c' count(c')^α`` over all admitted words,
          ``count`` the vocabulary's token counts (before subsampling) and
          ``α = model.ns_exponent`` — the distribution the negatives are
          drawn from (the alias table follows these counts, see
          :mod:`streamsgns.noise`).
        * ``"smoothed"``: ``#(c)^α / Σ_c' #(c')^α`` with ``#(c)`` the context
          marginal of the trained pairs (LGD 2015's smoothing applied to the
          pair counts). It differs from ``"noise"`` when subsampling is on
          (``#(c)`` then follows the subsampled counts, ``P_n`` does not)
          and by the sentence-boundary effects on ``#(c)``.
        * ``"pmi"``: the plain PMI of Levy & Goldberg 2014,
          ``#(c)/|D|`` (what SGNS would target with unsmoothed unigram
          noise over the trained contexts).

    Returns
    -------
    dict
        ``ids`` (m,) int64 vocabulary ids; ``words`` (list of m str);
        ``W``, ``C`` (m, d) float32 rows; ``counts`` scipy CSR (m, m) float64
        exact ``#(w,c)``; ``w_marg`` (m,) ``#(w)``; ``c_marg`` (m,);
        ``total`` ``|D|``; ``k``; ``cds`` and ``cds_total`` (for
        :func:`pmi_matrix`'s smoothing; with ``"noise"``, ``c_marg`` holds
        ``P_n(c)`` itself with ``cds=1, cds_total=1``); ``target``.

    Raises
    ------
    ValueError
        Statistics off, no trained pair yet, ``negative == 0`` (no shift
        ``log k`` is defined), an unknown ``target``, ``top < 1``.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    ids = _top_tracked(model, top)
    cs = model.cooc
    total = cs.total()
    if total <= 0 or ids.shape[0] == 0:
        raise ValueError("no trained pair among tracked words yet")
    if model.negative < 1:
        raise ValueError("negative = 0: SGNS has no negatives, PMI − log k is undefined")
    counts = model.counts
    alive = counts > 0
    out = {
        "ids": ids,
        "words": [model.index_to_key[i] for i in ids],
        "W": np.asarray(model.W[ids]),
        "C": np.asarray(model.C[ids]),
        "counts": cs.matrix(ids),
        "w_marg": cs.cwm[ids].astype(np.float64),
        "total": float(total),
        "k": float(model.negative),
        "target": target,
    }
    alpha = float(model.ns_exponent)
    if target == "noise":
        pw = counts[alive].astype(np.float64) ** alpha
        out["c_marg"] = counts[ids].astype(np.float64) ** alpha / pw.sum()
        out["cds"], out["cds_total"] = 1.0, 1.0
    elif target == "smoothed":
        cm = cs.ccm[: counts.shape[0]].astype(np.float64)
        out["c_marg"] = cm[ids]
        if alpha > 0:
            out["cds"], out["cds_total"] = alpha, float(np.sum(cm[cm > 0] ** alpha))
        else:
            out["c_marg"] = (cm[ids] > 0).astype(np.float64)
            out["cds"], out["cds_total"] = 1.0, float(np.count_nonzero(cm))
    else:
        out["c_marg"] = cs.ccm[ids].astype(np.float64)
        out["cds"], out["cds_total"] = None, None
    return out


def _report_args(inp):
    return dict(W=inp["W"], C=inp["C"], counts=inp["counts"], w_marg=inp["w_marg"], c_marg=inp["c_marg"],
                total=inp["total"], k=inp["k"], cds=inp["cds"], cds_total=inp["cds_total"])


def learner_pmi_report(model, top=1000, min_count=1, target="noise", return_pairs=False, **kw) -> dict:
    """:func:`pmi_report` on a learner's running statistics (``SGNS.pmi_report``).

    Compares ``x = W_w · C_c`` with ``t = PMI(w,c) − log k`` over the observed
    pairs among the ``top`` most frequent tracked words (exact counts), the
    PMI being the one the kernel optimises (``target``, see
    :func:`learner_pmi_inputs`).

    Parameters
    ----------
    model : streamsgns.SGNS
    top : int
        Words compared (the most frequent tracked ones).
    min_count : float
        Only pairs with ``#(w,c) >= min_count`` enter the observed-pair measures.
    target : {"noise", "smoothed", "pmi"}
        See :func:`learner_pmi_inputs`.
    return_pairs : bool
        Also return ``x``, ``t``, ``weight`` (arrays of shape (p,), float64)
        under the key ``"pairs"`` (for plots).
    **kw
        Passed to :func:`pmi_report` (``n_unobserved``, ``seed``).

    Returns
    -------
    dict
        The keys of :func:`pmi_report`, plus ``top`` (words compared),
        ``total`` (|D|), ``k``, ``target``, ``alpha`` (the noise exponent),
        ``min_count``, ``words_seen``.

    Raises
    ------
    ValueError
        As :func:`learner_pmi_inputs` and :func:`pmi_report`.
    """
    inp = learner_pmi_inputs(model, top=top, target=target)
    args = _report_args(inp)
    rep = pmi_report(min_count=min_count, **args, **kw)
    rep.update({"top": int(inp["ids"].shape[0]), "total": int(inp["total"]), "k": int(model.negative),
                "target": target, "alpha": float(model.ns_exponent), "min_count": float(min_count),
                "words_seen": int(model.words_seen)})
    if return_pairs:
        x, t, w = pmi_pairs(min_count=min_count, **args)
        rep["pairs"] = {"x": x, "t": t, "weight": w}
    return rep


def learner_ppmi_svd(model, dim, top=None, *, cds=0.75, shift=0.0, eig=0.5, seed=0):
    """PPMI-SVD word vectors from a learner's running pair counts (the explicit factorisation).

    ``W = U_d · Σ_d^eig`` of the truncated SVD of ``PPMI = max(PMI_α − shift, 0)``
    over the ``top`` most frequent tracked words (Levy & Goldberg 2014,
    sec. 3.3 and seed note 001 sec. 2.3 for the symmetric ``eig = 0.5``; Levy,
    Goldberg & Dagan 2015 for the smoothing ``cds = α = 0.75``). ``#(w)``,
    ``#(c)`` and ``|D|`` are the stream's exact marginals; the smoothing sum
    runs over every context seen.

    Parameters
    ----------
    model : streamsgns.SGNS
        With ``track_cooc=True``.
    dim : int
        Dimension (clipped to the number of words).
    top : int, optional
        Words embedded; default all tracked words.
    cds : float or None
        Context-distribution smoothing exponent (None: plain PMI).
    shift : float
        Subtracted before clipping at 0 (``np.log(k)``: shifted PPMI).
    eig : float
        Singular-value exponent.
    seed : int
        Start vector of the sparse SVD.

    Returns
    -------
    words : list of str
        By decreasing count.
    W : ndarray, shape (m, min(dim, m)), float32

    Raises
    ------
    ValueError
        Statistics off, no pair counted, bad ``dim``/``cds``.
    """
    ids = _top_tracked(model, top if top is not None else max(1, model.cooc.top_n))
    cs = model.cooc
    total = cs.total()
    if total <= 0 or ids.shape[0] == 0:
        raise ValueError("no trained pair among tracked words yet")
    cm_all = cs.ccm[: model.n_ids].astype(np.float64)
    cds_total = None
    if cds is not None:
        cds_total = float(np.sum(cm_all[cm_all > 0] ** float(cds)))
    # words whose marginals are 0 (admitted but never trained yet) cannot have a PMI: drop them
    ok = (cs.cwm[ids] > 0) & (cs.ccm[ids] > 0)
    ids = ids[ok]
    if ids.shape[0] == 0:
        raise ValueError("no tracked word has been trained yet")
    P = ppmi_matrix(cs.matrix(ids), cs.cwm[ids].astype(np.float64), cm_all[ids], float(total), cds=cds,
                    shift=shift, cds_total=cds_total)
    W, _ = ppmi_svd(P, dim, eig=eig, seed=seed)
    return [model.index_to_key[i] for i in ids], W


_REPORT_ROWS = [
    ("pearson", "Pearson(x, t)", "{:.4f}"),
    ("spearman", "Spearman(x, t)", "{:.4f}"),
    ("weighted_mse", "weighted MSE (eq. 8 weights)", "{:.4f}"),
    ("weighted_loss_gap", "loss gap Σ[L(t) − L(x)] (nats)", "{:.1f}"),
    ("frac_within_0_5", "fraction |x − t| < 0.5", "{:.4f}"),
    ("mean_residual", "mean residual x − t", "{:+.4f}"),
    ("n_unobserved", "unobserved pairs sampled", "{:d}"),
    ("unobserved_frac_negative", "  fraction with x < 0", "{:.4f}"),
    ("unobserved_mean", "  mean x", "{:+.4f}"),
]


def format_report(rep: dict, header: str = "") -> str:
    """A readable table of a :func:`learner_pmi_report` result."""
    target = {"noise": f"P_n(c) = count(c)^{rep.get('alpha', 0.75):g} / Z (the noise distribution)",
              "smoothed": f"#(c)^{rep.get('alpha', 0.75):g} / Z (smoothed pair marginal)",
              "pmi": "#(c) / |D| (plain PMI)"}.get(rep.get("target"), str(rep.get("target")))
    lines = []
    if header:
        lines.append(header)
    lines.append(f"x = W_w·C_c against t = log(#(w,c) / (#(w)·P(c))) − log k,  P(c) = {target}")
    lines.append(f"words compared (top tracked)       {rep['top']}")
    lines.append(f"observed pairs with #(w,c) >= {rep['min_count']:g}   {rep['n_pairs']}")
    lines.append(f"|D| (trained pairs)                {rep['total']}")
    lines.append(f"k (negatives)                      {rep['k']}")
    for key, label, fmt in _REPORT_ROWS:
        v = rep[key]
        txt = fmt.format(v) if isinstance(v, (int, np.integer)) or np.isfinite(v) else "nan"
        lines.append(f"{label:<35s}{txt}")
    return "\n".join(lines)


def _jsonable(d):
    out = {}
    for k, v in d.items():
        if k == "pairs":
            continue
        if isinstance(v, (np.floating, float)):
            v = float(v)
            out[k] = v if np.isfinite(v) else None
        elif isinstance(v, np.integer):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def cli_pmi(args) -> int:
    """``streamsgns pmi CHECKPOINT_OR_DIR [--top] [--min-count] [--plot] [--svd-dim --svd-output] [--json]``.

    Loads the checkpoint (the newest valid one of a snapshot directory),
    prints :func:`learner_pmi_report` as a table (or JSON with ``--json``),
    draws :func:`plot_report` to ``--plot``, and writes PPMI-SVD vectors
    (:func:`learner_ppmi_svd`, word2vec text format, readable by
    ``streamsgns evaluate`` and ``streamsgns similar``) to ``--svd-output``.

    Returns
    -------
    int
        0 on success; 1 when the checkpoint is unusable (no statistics, no
        pairs, not a checkpoint); the message goes to stderr.
    """
    import json
    import sys
    from pathlib import Path

    from .io.checkpoint import CheckpointError, load_checkpoint
    from .io.snapshotter import latest_checkpoint

    p = Path(args.checkpoint)
    if p.is_dir():
        ck = latest_checkpoint(p)
        if ck is None:
            print(f"streamsgns pmi: no valid checkpoint in {p}", file=sys.stderr)
            return 1
        p = ck
    if p.suffix != ".npz":
        print(f"streamsgns pmi: {p} is not a checkpoint (.npz): word vectors alone carry no "
              "co-occurrence statistics", file=sys.stderr)
        return 1
    try:
        model = load_checkpoint(p)
    except CheckpointError as e:
        print(f"streamsgns pmi: {e}", file=sys.stderr)
        return 1
    try:
        rep = learner_pmi_report(model, top=args.top, min_count=args.min_count, return_pairs=bool(args.plot))
    except ValueError as e:
        print(f"streamsgns pmi: {p}: {e}", file=sys.stderr)
        return 1
    rep["checkpoint"] = str(p)
    if args.plot:
        pr = rep["pairs"]
        plot_report(pr["x"], pr["t"], args.plot,
                    title=f"{p.name}: W·Cᵀ vs PMI − log k, top {rep['top']} words, #(w,c) >= {args.min_count}")
        rep["plot"] = str(args.plot)
    svd_dim = getattr(args, "svd_dim", 0) or 0
    svd_out = getattr(args, "svd_output", None)
    if svd_out and svd_dim <= 0:
        svd_dim = 100
    if svd_dim > 0:
        if not svd_out:
            print("streamsgns pmi: --svd-dim needs --svd-output", file=sys.stderr)
            return 1
        words, V = learner_ppmi_svd(model, svd_dim, top=max(args.top, 1))
        from .io.word2vec import save_word2vec_format

        n = save_word2vec_format(svd_out, words, V)
        rep["svd"] = {"output": str(svd_out), "words": n, "dim": int(V.shape[1])}
    if args.json:
        print(json.dumps(_jsonable(rep), indent=2))
    else:
        print(format_report(rep, header=f"checkpoint {p}  ({model.words_seen} tokens seen, "
                                        f"vocabulary {model.vocab_size})"))
        if args.plot:
            print(f"plot                               {args.plot}")
        if "svd" in rep:
            s = rep["svd"]
            print(f"PPMI-SVD vectors                   {s['output']} ({s['words']} words, d = {s['dim']})")
    return 0
