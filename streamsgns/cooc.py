"""Running co-occurrence statistics #(w,c), #(w), #(c), |D| of the trained pairs.

Levy & Goldberg (2014) show that SGNS at its optimum sets
``w·c = PMI(w,c) − log k`` with ``PMI(w,c) = log(#(w,c)·|D| / (#(w)·#(c)))``
where the counts are those of the pairs SGNS *actually trains*: after
subsampling and min-count removal, with word2vec's dynamic window. So the
kernel records each positive pair it trains, right where it trains it
(:func:`cooc_record`, called from :mod:`streamsgns.kernels`).

Memory is bounded:

* ``#(w)`` and ``#(c)`` are exact per vocabulary id (int64, one per row of W/C),
  and ``|D|`` is an exact int64 total.
* ``#(w,c)`` is exact (a dense ``uint32`` matrix of ``top_n × top_n`` cells,
  ``4·top_n²`` bytes) for pairs of *tracked* words: the first ``top_n`` words
  admitted to the vocabulary, slots being released when a word is evicted and
  given to the next admitted word. In natural text frequent words reach
  ``min_count`` first, so the tracked set is in practice the most frequent
  words; ``CooccurrenceStats.tracked_ids`` says exactly which ids are tracked.
* Pairs with an untracked word go to a count-min sketch keyed by the two
  words' hashes (``sketch_width × sketch_depth`` uint32 cells; 0 disables it),
  whose estimates exceed the truth by at most ``e/width · |D_untracked|`` with
  probability ``1 − exp(−depth)`` (Cormode & Muthukrishnan 2005).

Counts are exact with ``workers=1``; with Hogwild threads (``workers > 1``) the
unsynchronised increments can lose a few counts, like the model updates.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashing import mix64, seed_states
from .sketch import cms_add, cms_estimate

__all__ = ["CooccurrenceStats", "cooc_record", "cooc_assign_slot", "cooc_release"]

_PAIR_MUL = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def pair_key(hw, hc):
    """Sketch key of the ordered pair of token hashes (hw, hc)."""
    return mix64(hw * _PAIR_MUL ^ hc)


@njit(cache=True, nogil=True, inline="always")
def cooc_record(w, c, cslot, cexact, cwm, ccm, csk, csk_seeds, hashes):
    """Count one trained pair: ``w`` the W-row (input) id, ``c`` the C-row (output) id.

    Parameters
    ----------
    w, c : int
        Vocabulary ids.
    cslot : ndarray, shape (capacity,), int32
        Slot of each id in ``cexact``, -1 if untracked.
    cexact : ndarray, shape (top_n, top_n), uint32
    cwm, ccm : ndarray, shape (capacity,), int64
        #(w) and #(c).
    csk : ndarray, shape (depth, width), uint32; csk_seeds : (depth,) uint64
        Sketch of the other pairs (``depth == 0`` disables it).
    hashes : ndarray, shape (capacity,), uint64
        Token hash of each id (sketch keys survive id reuse).
    """
    cwm[w] += 1
    ccm[c] += 1
    sw = cslot[w]
    sc = cslot[c]
    if sw >= 0 and sc >= 0:
        cexact[sw, sc] += np.uint32(1)
    elif csk.shape[0] > 0:
        cms_add(csk, csk_seeds, pair_key(hashes[w], hashes[c]), 1)


@njit(cache=True, nogil=True)
def cooc_assign_slot(wid, cslot, cslot_free, st, s_nfree):
    """Give newly admitted id ``wid`` a tracked slot if one is free; reset its marginals."""
    nf = st[s_nfree]
    if nf > 0:
        nf -= 1
        cslot[wid] = cslot_free[nf]
        st[s_nfree] = nf
    else:
        cslot[wid] = -1


@njit(cache=True, nogil=True)
def cooc_release(wid, cslot, cslot_free, cexact, cwm, ccm, st, s_nfree):
    """Forget evicted id ``wid``: clear its row/column of counts and free its slot."""
    s = cslot[wid]
    if s >= 0:
        cexact[s, :] = 0
        cexact[:, s] = 0
        cslot_free[st[s_nfree]] = s
        st[s_nfree] += 1
        cslot[wid] = -1
    cwm[wid] = 0
    ccm[wid] = 0


class CooccurrenceStats:
    """The arrays behind :func:`cooc_record`, plus read-out as scipy sparse matrices.

    Parameters
    ----------
    top_n : int
        Words tracked exactly (memory ``4 * top_n**2`` bytes). 0 disables
        the exact table.
    capacity : int
        Initial vocabulary capacity (grows with the learner's).
    sketch_width, sketch_depth : int
        Size of the sketch for untracked pairs; ``sketch_depth=0`` disables it.
    seed : int

    Attributes
    ----------
    cslot : ndarray, shape (capacity,), int32
    cslot_free : ndarray, shape (top_n,), int32
    cexact : ndarray, shape (top_n, top_n), uint32
    cwm, ccm : ndarray, shape (capacity,), int64
        #(w) (pairs where the id is the W-row) and #(c) (the C-row).
    csk : ndarray, shape (sketch_depth, sketch_width), uint32
    csk_seeds : ndarray, shape (sketch_depth,), uint64

    Raises
    ------
    ValueError
        On negative sizes.
    """

    def __init__(self, top_n=2000, capacity=1024, sketch_width=1 << 20, sketch_depth=2, seed=0):
        if top_n < 0 or sketch_width < 0 or sketch_depth < 0 or capacity < 1:
            raise ValueError("sizes must be non-negative (capacity >= 1)")
        self.top_n = int(top_n)
        self.cslot = np.full(capacity, -1, dtype=np.int32)
        # slots are handed out in increasing order: the stack holds them reversed
        self.cslot_free = np.arange(self.top_n, dtype=np.int32)[::-1].copy()
        self.cexact = np.zeros((self.top_n, self.top_n), dtype=np.uint32)
        self.cwm = np.zeros(capacity, dtype=np.int64)
        self.ccm = np.zeros(capacity, dtype=np.int64)
        if sketch_depth == 0 or sketch_width == 0:
            self.csk = np.zeros((0, 1), dtype=np.uint32)
        else:
            self.csk = np.zeros((int(sketch_depth), int(sketch_width)), dtype=np.uint32)
        self.csk_seeds = seed_states(int(seed) ^ 0xC00C, self.csk.shape[0])

    def grow(self, capacity: int) -> None:
        """Enlarge the per-id arrays to ``capacity`` (new ids untracked, zero counts)."""
        old = self.cslot.shape[0]
        if capacity <= old:
            return
        cs = np.full(capacity, -1, dtype=np.int32)
        cs[:old] = self.cslot
        self.cslot = cs
        for name in ("cwm", "ccm"):
            a = np.zeros(capacity, dtype=np.int64)
            a[:old] = getattr(self, name)
            setattr(self, name, a)

    def tracked_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids with an exact slot and their slots: two (m,) int64 arrays."""
        ids = np.flatnonzero(self.cslot >= 0)
        return ids, self.cslot[ids].astype(np.int64)

    def total(self) -> int:
        """|D|: the number of trained pairs counted (sum of #(w))."""
        return int(self.cwm.sum())

    def matrix(self, ids: np.ndarray):
        """Exact #(w,c) among tracked ``ids`` as a scipy CSR matrix.

        Parameters
        ----------
        ids : ndarray, shape (m,), int
            Vocabulary ids, all tracked.

        Returns
        -------
        scipy.sparse.csr_matrix, shape (m, m), float64
            Row ``i`` = W-row ``ids[i]``, column ``j`` = C-row ``ids[j]``.

        Raises
        ------
        ValueError
            If an id is not tracked.
        """
        import scipy.sparse as sp

        ids = np.asarray(ids, dtype=np.int64)
        slots = self.cslot[ids]
        if (slots < 0).any():
            raise ValueError("some ids are not tracked exactly; use tracked_ids()")
        sub = self.cexact[np.ix_(slots, slots)].astype(np.float64)
        return sp.csr_matrix(sub)

    def estimate_pair(self, w: int, c: int, hashes: np.ndarray) -> int:
        """#(w,c) for any two ids: exact when both are tracked, else the sketch's estimate."""
        sw, sc = self.cslot[w], self.cslot[c]
        if sw >= 0 and sc >= 0:
            return int(self.cexact[sw, sc])
        if self.csk.shape[0] == 0:
            raise ValueError("untracked pair and the pair sketch is disabled")
        return int(cms_estimate(self.csk, self.csk_seeds, pair_key(hashes[w], hashes[c])))

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return int(sum(a.nbytes for a in (self.cslot, self.cslot_free, self.cexact, self.cwm, self.ccm, self.csk)))
