"""PPMI-SVD embeddings: ``W = U·Σ^eig``, ``C = V·Σ^eig`` (Levy & Goldberg 2014 sec. 3.3; LGD 2015 sec. 3.3)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["ppmi_svd"]

_DENSE_SVD_MAX = 256  # below this min(shape), ppmi_svd always uses the dense SVD


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

    Levy & Goldberg 2014, sec. 4, and ``docs/theory.md``, eq. 11 (``eig=0.5`` is the symmetric
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

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> W, C = ppmi_svd(A, 2)   # full rank: W·Cᵀ reproduces the matrix
    >>> bool(np.allclose(W @ C.T, A, atol=1e-6)), W.dtype
    (True, dtype('float32'))
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
