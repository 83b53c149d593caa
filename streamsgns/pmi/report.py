"""How close ``W·Cᵀ`` is to the SGNS optimum ``PMI − log k``: :func:`pmi_pairs` and :func:`pmi_report`.

The eq.-8 weights and the loss gap are derived in the docstring of :mod:`streamsgns.pmi`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .matrices import _check_cds, _check_k, _pair_stats, _prepare

__all__ = ["pmi_pairs", "pmi_report"]

_CHUNK = 1 << 16  # pairs per chunk when computing row-wise dot products
_ENUMERATE_MAX = 4_000_000  # grids up to this size: enumerate unobserved pairs exactly


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
    b = kf * wpc  # expected negatives of the pair: k · #(w) · P(c)  (docs/theory.md, eq. 3)
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
        ``PMI(i, j) − log k`` (Levy & Goldberg 2014, sec. 3.1; ``docs/theory.md``, eq. 5).
    weight : ndarray, shape (p,), float64
        Curvature of the pair's objective at its optimum (``docs/theory.md``, eq. 8):
        ``(a + b)·σ(t)·σ(−t) = a·b/(a + b)`` with
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

    Levy & Goldberg 2014 (sec. 3.1; ``docs/theory.md``, eq. 5) predict ``x = t`` on observed
    pairs when ``d >= |V|``; in low dimension only the weighted fit of the pair objective is
    expected (Wilson 2016, in ``docs/theory.md``; eq. 3 and 8 there), so the weighted measures below are
    the meaningful ones.

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
        ``weighted_mse``: ``Σ weight·(x − t)² / Σ weight`` with the curvature
        weights ``a·b/(a + b)`` (see module docstring);
        ``weighted_loss_gap``: ``Σ [L(t) − L(x)]`` with ``L`` the pair objective (≥ 0; per-pair
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
        # docs/theory.md, eq. 3: L(x) = a·log σ(x) + b·log σ(−x); L(t) is its maximum.
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
