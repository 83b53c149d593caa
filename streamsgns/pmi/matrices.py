"""PMI, PPMI, shifted PMI and context-distribution smoothing on sparse co-occurrence counts.

Levy & Goldberg 2014 ("Neural Word Embedding as Implicit Matrix Factorization", sec. 3.1;
``docs/theory.md``, eq. 5 and 6) for PMI and shifted PMI; Levy, Goldberg & Dagan 2015
("Improving Distributional Similarity with Lessons Learned from Word Embeddings", sec. 3.2,
eq. 3) for the smoothing.
The notation (``#(w,c)``, ``#(w)``, ``#(c)``, ``|D|``) is that of :mod:`streamsgns.pmi`.
The ``_``-prefixed validation helpers are shared by :mod:`.report` (same package).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["pmi_matrix", "ppmi_matrix", "shifted_pmi"]


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

    ``PMI(w,c) = log(#(w,c)·|D| / (#(w)·#(c))) − shift`` (Levy & Goldberg 2014, sec. 3.1;
    ``docs/theory.md``, eq. 6).  With ``cds=α`` the context probability ``#(c)/|D|`` is replaced by
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
        Subtracted from every entry; ``np.log(k)`` gives the shifted PMI (``docs/theory.md``, eq. 5).
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

    Examples
    --------
    >>> import numpy as np
    >>> from streamsgns.pmi import cooccurrence_from_tokens
    >>> counts = cooccurrence_from_tokens([np.array([0, 1, 0, 2])], 3, 1)  # "a b a c", window 1
    >>> w_marg = np.asarray(counts.sum(1)).ravel(); c_marg = np.asarray(counts.sum(0)).ravel()
    >>> m = pmi_matrix(counts, w_marg, c_marg, counts.sum())
    >>> round(float(m[0, 1]), 4)  # log(#(a,b)·|D| / (#(a)·#(b))) = log(2·6 / (3·2)) = log 2
    0.6931
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

    ``docs/theory.md``, eq. 10; with ``shift=np.log(k)`` this is the shifted PPMI (SPPMI) of
    Levy & Goldberg 2014, sec. 4.  Arguments and errors as :func:`pmi_matrix`.

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
    """Shifted PMI ``PMI − log k``: the SGNS optimum.

    Levy & Goldberg 2014, sec. 3.1; ``docs/theory.md``, eq. 5.

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

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[2.0, 1.0], [1.0, 0.0]])
    >>> s = shifted_pmi(counts, [3.0, 1.0], [3.0, 1.0], 4.0, k=5)
    >>> np.round(s.data, 4)  # log(2·4/9) − log 5, log(4/3) − log 5 (twice); (1, 1) unobserved
    array([-1.7272, -1.3218, -1.3218])
    """
    kf = _check_k(k)
    return pmi_matrix(counts, w_marg, c_marg, total, cds=cds, shift=np.log(kf),
                      cds_total=cds_total)
