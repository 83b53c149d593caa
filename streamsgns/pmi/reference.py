"""An independent reference count of ``#(w,c)`` from a raw id stream, and the dynamic-window weights.

Used by tests and examples to check the learner's running statistics against counts made another way.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["dynamic_window_weights", "cooccurrence_from_tokens"]


def dynamic_window_weights(window):
    """Expected weight of a pair at distance d under word2vec's dynamic window.

    word2vec draws the effective window ``b`` uniformly from ``1..window`` for every
    centre word (Goldberg & Levy 2014, "word2vec explained", arXiv:1402.3722, sec. 3; Levy, Goldberg &
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

    Examples
    --------
    >>> dynamic_window_weights(3)
    array([1.        , 0.66666667, 0.33333333])
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
    ``i ± 1 .. i ± window`` of the same sentence (Goldberg & Levy 2014, "word2vec
    explained", sec. 3), so the matrix is symmetric.  Tokens removed before windows are formed
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

    Examples
    --------
    >>> import numpy as np
    >>> cooccurrence_from_tokens([np.array([0, 1, 0, 2])], 3, 1).toarray()
    array([[0., 2., 1.],
           [2., 0., 0.],
           [1., 0., 0.]])
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
