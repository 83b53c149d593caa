"""Running co-occurrence statistics ``#(w,c)``, ``#(w)``, ``#(c)``, ``|D|`` of the trained pairs.

Levy & Goldberg (2014) show that SGNS at its optimum sets
``w·c = PMI(w,c) − log k`` with ``PMI(w,c) = log(#(w,c)·|D| / (#(w)·#(c)))``
where the counts are those of the pairs SGNS *actually trains*: after
subsampling and min-count removal, with word2vec's dynamic window. So the
kernel records what it trains: once per sentence, after the SGNS updates of
that sentence, :func:`cooc_sentence` receives the kept (subsampled) ids and the
window drawn for each centre, which determine the trained pairs exactly.

Roles. The kernel trains the pair (context token, centre token) with the
context's row of ``W`` as input and the centre's row of ``C`` as output
(word2vec.c / gensim). In Levy & Goldberg's notation the *word* ``w`` is the
``W`` row and the *context* ``c`` the ``C`` row, so ``#(w,c)`` counts pairs
where ``w`` was the input and ``c`` the output; ``#(w) = Σ_c #(w,c)`` and
``#(c) = Σ_w #(w,c)`` are over **all** trained pairs, ``|D| = Σ #(w)``.

What is kept, and its error
---------------------------
* ``#(w)``, ``#(c)`` (int64 per vocabulary id) and ``|D|``: exact (with
  ``workers=1``). They are updated per *token*, not per pair: a centre ``i``
  with window ``b_i`` adds its number of contexts to ``#(c)``; the number of
  windows covering position ``j`` (a prefix sum of ±1 marks) is added to
  ``#(w)`` of the token at ``j``. An id's slot, ``#(w)`` and ``#(c)`` share one
  32-byte record (``cmeta``), so a rare token costs one cache miss, not three.
* ``#(w,c)`` for pairs of two *tracked* words: exact. The first ``top_n``
  words admitted to the vocabulary get a slot (a slot is released when its
  word is evicted and goes to the next admitted word; in natural text the
  frequent words reach ``min_count`` first, so these are in practice the most
  frequent words; :meth:`CooccurrenceStats.tracked_ids` says exactly which).
  Counts are split into two dense ``uint16`` tables ``clo`` (the low 16 bits)
  and ``chi`` (the high 16 bits, touched once per 65 536 increments of a
  cell), both indexed ``[slot of c, slot of w]``: the inner loop over a
  centre's window then walks one row of ``clo``, which stays in L1/L2.
  Memory: ``4·top_n²`` bytes; a cell saturates at ``2³² − 1``.
* ``#(w,c)`` for pairs with an untracked word: a count-min sketch
  (``sketch_depth × sketch_width`` uint32 cells, conservative update, keys
  mixed from the two words' token hashes so that they survive id reuse),
  **fed a random sample**: each such pair is added with probability
  ``1/sketch_rate`` and weight ``sketch_rate`` (the gaps between sampled pairs
  are drawn from a geometric distribution, so skipping a pair costs one
  decrement). For a pair with true count ``n`` the sampled weight
  ``R·Binomial(n, 1/R)`` (``R = sketch_rate``) is unbiased with standard
  deviation ``sqrt(n·(R − 1))``; the sketch adds to it an over-estimate of at
  most ``e/width · N_R`` with probability ``1 − exp(−depth)`` (Cormode &
  Muthukrishnan 2005, Theorem 1), where ``N_R`` (≈ the number of untracked
  pairs) is the total weight added. ``sketch_rate=1`` adds every pair
  (plain count-min sketch, never below the truth).

Cost (``benchmarks/speed/cooc_overhead.py``, first 20 MB of the ``mix`` corpus,
one worker, defaults: ``top_n`` 1000, sketch 2 × 2²⁰, ``sketch_rate`` 64):
0.842 → 0.774 M words/s, 8.1 % of training throughput; the marginals alone
3.1 %, feeding the sketch every pair instead would cost 35 % (see docs/pmi.md).

The sampling draws come from a generator of their own (``rng``), not from the
kernel's, so ``track_cooc`` never changes ``W`` and ``C``; its state is stored
in checkpoints, so a resumed run counts exactly like an uninterrupted one.
With ``workers=1`` everything is bit-deterministic; with Hogwild threads
(``workers > 1``) unsynchronised increments can lose a few counts, like the
model updates.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._state import (StateError, check_array, check_delta_keys, grow_rows, new_record, record_from_dict,
                     record_to_dict, small_index)
from .hashing import GOLDEN, mix64, next_float, seed_states
from .sketch import cms_add, cms_estimate

__all__ = [
    "CooccurrenceStats",
    "CoocArrays",
    "COOC_RECORD",
    "NO_COOC",
    "cooc_sentence",
    "cooc_admit",
    "cooc_release",
    "window_bounds",
]

# cmeta columns (int64, one 32-byte record per id): slot (-1 untracked), #(w), #(c), reserved
M_SLOT, M_W, M_C = 0, 1, 2

#: Scalars of the statistics: ``skip`` (untracked pairs left before the next sampled one),
#: ``rate`` (``sketch_rate``), ``total`` (``|D|``, pairs counted; evictions do not decrease it),
#: ``n_free_slots`` (free exact slots on ``cslot_free``).
COOC_RECORD = np.dtype([("skip", np.int64), ("rate", np.int64), ("total", np.int64), ("n_free_slots", np.int64)])

#: What the kernels receive: ``cmeta`` (cap, 4) int64, ``cslot_free`` (top_n,) int32, ``clo``/``chi``
#: (top_n, top_n) uint16, ``csk`` (depth, width) uint32, ``csk_seeds`` (depth,) uint64, ``rng`` (1,)
#: uint64 (SplitMix64 state of the sampling draws) and ``meta`` (1,) COOC_RECORD.
CoocArrays = namedtuple("CoocArrays", "cmeta cslot_free clo chi csk csk_seeds rng meta")


@njit(cache=True, nogil=True, inline="always")
def window_bounds(i, b, m):
    """Positions ``lo .. hi-1`` of the window of half-width ``b`` around ``i`` in a sentence of ``m``.

    Shared by :func:`streamsgns.kernels.train_sentence` and :func:`cooc_sentence`, so the pairs
    counted are exactly the pairs trained.
    """
    lo = i - b
    if lo < 0:
        lo = 0
    hi = i + b + 1
    if hi > m:
        hi = m
    return lo, hi


@njit(cache=True, nogil=True, inline="always")
def pair_key(hw, hc):
    """Sketch key of the ordered pair of token hashes (hw = W-row word, hc = C-row word)."""
    return mix64(hw * GOLDEN ^ hc)


@njit(cache=True, nogil=True)
def _geometric_gap(rng, rate, inv_log_q):
    """Trials up to and including the next success of Bernoulli(1/rate): a draw in 1, 2, ...

    Inversion: ``1 + floor(log(1 − u) / log(1 − 1/rate))``; ``inv_log_q = 1 / log(1 − 1/rate)``.
    """
    if rate <= 1:
        return np.int64(1)
    u = next_float(rng, 0)  # [0, 1)
    g = math.floor(math.log1p(-u) * inv_log_q) + 1.0
    if g > 1e18:
        g = 1e18
    return np.int64(g)


@njit(cache=True, nogil=True)
def _inv_log_q(rate):
    return 1.0 / math.log1p(-1.0 / rate) if rate > 1 else 0.0


@njit(cache=True, nogil=True)
def _sketch_pair(w, c, ca, hashes, rate, inv_log_q):
    """For a sampled untracked pair: add ``rate`` to the sketch; return the gap to the next sampled pair."""
    cms_add(ca.csk, ca.csk_seeds, pair_key(hashes[w], hashes[c]), rate)
    return _geometric_gap(ca.rng, rate, inv_log_q)


@njit(cache=True, nogil=True, inline="always")
def _bump(row, hirow, s):
    """``row[s] += 1`` on the low 16 bits, carrying into ``hirow[s]`` (saturates at 2**32 - 1)."""
    v = np.int64(row[s]) + 1
    if v < 65536:
        row[s] = np.uint16(v)
    else:
        h = np.int64(hirow[s])
        if h < 65535:
            row[s] = np.uint16(0)
            hirow[s] = np.uint16(h + 1)


@njit(cache=True, nogil=True)
def cooc_sentence(kept, cbuf, m, ca, hashes):
    """Count the pairs that the kernel trained on one subsampled sentence.

    The pairs are ``(kept[j], kept[i])`` (W-row, C-row) for every centre
    ``i < m`` and every ``j != i`` with ``|i − j| <= cbuf[i]``: exactly the
    pairs :func:`streamsgns.kernels.train_sentence` trains.

    Parameters
    ----------
    kept : ndarray, shape (>= m,), int32
        Vocabulary ids of the sentence after subsampling.
    cbuf : ndarray, shape (>= 3·m + 1,), int32
        ``cbuf[:m]``: the window ``b_i`` drawn for each centre (1..window);
        the rest is scratch.
    m : int
    ca : CoocArrays
        The statistics (:meth:`CooccurrenceStats.arrays`), updated in place: per id
        ``cmeta`` (slot, #(w), #(c)), the exact tables ``clo``/``chi`` indexed
        ``[slot(c), slot(w)]``, the pair sketch ``csk`` (``depth == 0`` disables it).
    hashes : ndarray, shape (capacity,), uint64
        Token hash of each id.

    Returns
    -------
    int
        Pairs counted (``Σ_i`` number of contexts of centre ``i``).
    """
    if m < 2:
        return 0
    cmeta = ca.cmeta
    clo = ca.clo
    chi = ca.chi
    meta = ca.meta[0]
    wins = cbuf[:m]
    slots = cbuf[m: 2 * m]
    cover = cbuf[2 * m: 3 * m + 1]
    for i in range(m):
        slots[i] = cmeta[kept[i], M_SLOT]
        cover[i] = 0
    cover[m] = 0
    use_sketch = ca.csk.shape[0] > 0
    rate = meta.rate
    ilq = _inv_log_q(rate)
    skip = meta.skip  # untracked pairs left before the next sampled one (kept in a register)
    n_pairs = 0
    for i in range(m):
        c = kept[i]
        lo, hi = window_bounds(i, wins[i], m)
        cover[lo] += 1
        cover[hi] -= 1
        n = hi - lo - 1
        cmeta[c, M_C] += n
        n_pairs += n
        sc = slots[i]
        if sc >= 0:
            row = clo[sc]
            hirow = chi[sc]
            for j in range(lo, hi):
                if j == i:
                    continue
                sw = slots[j]
                if sw >= 0:
                    _bump(row, hirow, sw)
                elif use_sketch:
                    if skip > 1:
                        skip -= 1
                    else:
                        skip = _sketch_pair(kept[j], c, ca, hashes, rate, ilq)
        elif use_sketch:
            # every pair of this centre is untracked: skip whole runs of the countdown
            if skip > n:
                skip -= n
            else:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    if skip > 1:
                        skip -= 1
                    else:
                        skip = _sketch_pair(kept[j], c, ca, hashes, rate, ilq)
    meta.skip = skip
    meta.total += n_pairs
    run = 0
    for j in range(m):
        run += cover[j]
        cmeta[kept[j], M_W] += run - 1  # windows covering j, minus j's own
    return n_pairs


@njit(cache=True, nogil=True)
def cooc_admit(wid, ca):
    """Newly admitted id ``wid``: reset its marginals, give it a tracked slot if one is free.

    The slot's cells are already zero (fresh, or cleared by :func:`cooc_release`).
    """
    cmeta = ca.cmeta
    meta = ca.meta[0]
    cmeta[wid, M_W] = 0
    cmeta[wid, M_C] = 0
    nf = meta.n_free_slots
    if nf > 0:
        nf -= 1
        cmeta[wid, M_SLOT] = ca.cslot_free[nf]
        meta.n_free_slots = nf
    else:
        cmeta[wid, M_SLOT] = -1


@njit(cache=True, nogil=True)
def cooc_release(wid, ca):
    """Forget evicted id ``wid``: clear its row and column of counts, free its slot, zero its marginals."""
    cmeta = ca.cmeta
    meta = ca.meta[0]
    s = cmeta[wid, M_SLOT]
    if s >= 0:
        ca.clo[s, :] = 0
        ca.clo[:, s] = 0
        ca.chi[s, :] = 0
        ca.chi[:, s] = 0
        ca.cslot_free[meta.n_free_slots] = s
        meta.n_free_slots += 1
        cmeta[wid, M_SLOT] = -1
    cmeta[wid, M_W] = 0
    cmeta[wid, M_C] = 0


def _empty_cooc() -> CoocArrays:
    return CoocArrays(np.zeros((0, 4), dtype=np.int64), np.zeros(0, dtype=np.int32),
                      np.zeros((0, 0), dtype=np.uint16), np.zeros((0, 0), dtype=np.uint16),
                      np.zeros((0, 1), dtype=np.uint32), np.zeros(0, dtype=np.uint64),
                      np.zeros(1, dtype=np.uint64), new_record(COOC_RECORD))


#: The bundle passed to the kernels when no statistics are kept (``track_cooc=False``): never written.
NO_COOC = _empty_cooc()


def _merged_ids(key: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The merged ids of a delta's cell keys ((m,) int64): a key >= 0 is a base id and stays, a key
    < 0 names the replica's new entry ``-1 - key``, whose merged id is ``dst[-1 - key]`` (-1: dropped)."""
    out = np.where(key >= 0, key, 0)
    neg = key < 0
    out[neg] = dst[-1 - key[neg]]
    return out


class CooccurrenceStats:
    """The arrays behind :func:`cooc_sentence`, plus read-out as scipy sparse matrices.

    Parameters
    ----------
    top_n : int
        Words tracked exactly (memory ``4 * top_n**2`` bytes). 0 disables the
        exact table.
    capacity : int
        Initial vocabulary capacity (grows with the learner's).
    sketch_width, sketch_depth : int
        Size of the count-min sketch of untracked pairs (``4·width·depth``
        bytes); ``sketch_depth=0`` disables it.
    sketch_rate : int
        Each untracked pair enters the sketch with probability ``1/sketch_rate``
        and weight ``sketch_rate`` (unbiased; see the module docstring for the
        error). 1 adds every pair.
    seed : int
        Seeds the sketch's hash rows and the sampling draws.

    Attributes
    ----------
    cmeta : ndarray, shape (capacity, 4), int64
        Per id: slot, #(w), #(c), reserved (views: ``cslot``, ``cwm``, ``ccm``).
    cslot : ndarray view, shape (capacity,), int64
        Slot of each id in ``clo``/``chi``, -1 if untracked.
    cslot_free : ndarray, shape (top_n,), int32
    clo, chi : ndarray, shape (top_n, top_n), uint16
        Low / high 16 bits of #(w,c), indexed ``[slot(c), slot(w)]``.
    cwm, ccm : ndarray views, shape (capacity,), int64
        #(w) (pairs where the id is the W-row) and #(c) (the C-row).
    csk : ndarray, shape (sketch_depth, sketch_width), uint32
    csk_seeds : ndarray, shape (sketch_depth,), uint64
    rng : ndarray, shape (1,), uint64
        SplitMix64 state of the sampling draws.
    meta : ndarray, shape (1,), :data:`COOC_RECORD`
        Countdown to the next sampled pair, ``sketch_rate``, ``|D|`` (the pairs counted;
        evictions do not decrease it) and the number of free exact slots.

    Raises
    ------
    ValueError
        On negative sizes or ``sketch_rate < 1``.
    """

    def __init__(self, top_n=1000, capacity=1024, sketch_width=1 << 20, sketch_depth=2, sketch_rate=64, seed=0):
        if top_n < 0 or sketch_width < 0 or sketch_depth < 0 or capacity < 1:
            raise ValueError("sizes must be non-negative (capacity >= 1)")
        if int(sketch_rate) != sketch_rate or sketch_rate < 1:
            raise ValueError(f"sketch_rate must be an integer >= 1, got {sketch_rate!r}")
        self.top_n = int(top_n)
        self.sketch_rate = int(sketch_rate)
        self.cmeta = np.zeros((capacity, 4), dtype=np.int64)
        self.cmeta[:, M_SLOT] = -1
        # slots are handed out in increasing order: the stack holds them reversed
        self.cslot_free = np.arange(self.top_n, dtype=np.int32)[::-1].copy()
        self.clo = np.zeros((self.top_n, self.top_n), dtype=np.uint16)
        self.chi = np.zeros((self.top_n, self.top_n), dtype=np.uint16)
        if sketch_depth == 0 or sketch_width == 0:
            self.csk = np.zeros((0, 1), dtype=np.uint32)
        else:
            self.csk = np.zeros((int(sketch_depth), int(sketch_width)), dtype=np.uint32)
        self.csk_seeds = seed_states(int(seed) ^ 0xC00C, self.csk.shape[0])
        self.rng = seed_states(int(seed) ^ 0x5A3B1E, 1)
        self.meta = new_record(COOC_RECORD)
        self.meta[0]["rate"] = self.sketch_rate
        self.meta[0]["n_free_slots"] = self.top_n
        self.meta[0]["skip"] = _geometric_gap(self.rng, np.int64(self.sketch_rate),
                                              _inv_log_q(np.int64(self.sketch_rate)))

    def arrays(self) -> CoocArrays:
        """The bundle the kernels read and update in place (no copies)."""
        return CoocArrays(self.cmeta, self.cslot_free, self.clo, self.chi, self.csk, self.csk_seeds, self.rng,
                          self.meta)

    @property
    def cslot(self) -> np.ndarray:
        """Slot of each id (a writable int64 view of ``cmeta``), -1 if untracked."""
        return self.cmeta[:, M_SLOT]

    @property
    def cwm(self) -> np.ndarray:
        """#(w) of each id: pairs where it was the W-row (a writable int64 view of ``cmeta``)."""
        return self.cmeta[:, M_W]

    @property
    def ccm(self) -> np.ndarray:
        """#(c) of each id: pairs where it was the C-row (a writable int64 view of ``cmeta``)."""
        return self.cmeta[:, M_C]

    def grow(self, capacity: int) -> None:
        """Enlarge the per-id arrays to ``capacity`` (new ids untracked, zero counts)."""
        old = self.cmeta.shape[0]
        if capacity <= old:
            return
        a = np.zeros((capacity, 4), dtype=np.int64)
        a[:, M_SLOT] = -1
        a[:old] = self.cmeta
        self.cmeta = a

    # ------------------------------------------------------------------ read-outs
    def tracked_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids with an exact slot and their slots: two (m,) int64 arrays, by increasing id."""
        ids = np.flatnonzero(self.cslot >= 0)
        return ids, self.cslot[ids].astype(np.int64)

    def total(self) -> int:
        """``|D|``: the number of trained pairs counted.

        Equal to ``Σ #(w) = Σ #(c)`` as long as no word has been evicted (an
        evicted word's marginals are reset, its past pairs stay in ``|D|`` and in
        its partners' marginals).
        """
        return int(self.meta[0]["total"])

    @property
    def cexact(self) -> np.ndarray:
        """All exact counts as one (top_n, top_n) uint32 array indexed ``[slot(w), slot(c)]`` (a copy).

        ``hi·65536 + lo`` transposed to the (W-row, C-row) order; a read-out for
        inspection and tests, never used by the kernels.
        """
        return np.ascontiguousarray(((self.chi.astype(np.uint32) << np.uint32(16)) | self.clo).T)

    def dense(self, ids: np.ndarray) -> np.ndarray:
        """Exact #(w,c) among tracked ``ids`` as a dense (m, m) int64 array.

        Row ``i`` = W-row ``ids[i]``, column ``j`` = C-row ``ids[j]``.

        Raises
        ------
        ValueError
            If an id is not tracked.
        """
        ids = np.asarray(ids, dtype=np.int64)
        slots = self.cslot[ids]
        if (slots < 0).any():
            raise ValueError("some ids are not tracked exactly; use tracked_ids()")
        ix = np.ix_(slots, slots)
        sub = self.clo[ix].astype(np.int64) + (self.chi[ix].astype(np.int64) << 16)
        return np.ascontiguousarray(sub.T)

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

        return sp.csr_matrix(self.dense(ids).astype(np.float64))

    def estimate_pair(self, w: int, c: int, hashes: np.ndarray) -> int:
        """#(w,c) for any two ids: exact when both are tracked, else the sketch's estimate.

        Parameters
        ----------
        w, c : int
            W-row and C-row ids.
        hashes : ndarray, shape (capacity,), uint64
            The vocabulary's token hashes (``model.vocab.hashes``).

        Raises
        ------
        ValueError
            If the pair is untracked and the sketch is disabled.
        """
        sw, sc = self.cslot[w], self.cslot[c]
        if sw >= 0 and sc >= 0:
            return int(self.clo[sc, sw]) + (int(self.chi[sc, sw]) << 16)
        if self.csk.shape[0] == 0:
            raise ValueError("untracked pair and the pair sketch is disabled")
        # np.uint64: a Python int below 2**63 would be typed int64 and hashed with arithmetic shifts
        key = np.uint64(pair_key(np.uint64(hashes[w]), np.uint64(hashes[c])))
        return int(cms_estimate(self.csk, self.csk_seeds, key))

    # ------------------------------------------------------------------ state
    _ARRAYS = ("cmeta", "cslot_free", "clo", "chi", "csk", "csk_seeds", "rng")

    def state_dict(self, n_ids: int) -> dict:
        """The statistics' whole state for ids ``0 .. n_ids-1``.

        Returns
        -------
        dict
            ``cmeta`` (n_ids, 4) int64, ``cslot_free`` (top_n,) int32, ``clo``/``chi``
            (top_n, top_n) uint16, ``csk`` (depth, width) uint32, ``csk_seeds`` (depth,) uint64,
            ``rng`` (1,) uint64, the :data:`COOC_RECORD` scalars and the settings ``top_n``,
            ``sketch_rate``. Arrays are views.
        """
        out = {k: getattr(self, k) for k in self._ARRAYS}
        out["cmeta"] = self.cmeta[:n_ids]
        out.update(record_to_dict(self.meta), top_n=self.top_n, sketch_rate=self.sketch_rate)
        return out

    @classmethod
    def from_state(cls, state: dict, capacity: int) -> "CooccurrenceStats":
        """Rebuild from :meth:`state_dict` output for a vocabulary of ``capacity`` rows.

        Raises
        ------
        StateError
            If arrays are missing or malformed, slots repeat or fall outside the table.
        """
        where = "cooc"
        try:
            top_n, rate = int(state["top_n"]), int(state["sketch_rate"])
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f"{where}: bad settings ({e})") from e
        csk = check_array(state, "csk", np.uint32, 2, where)
        cmeta = check_array(state, "cmeta", np.int64, 2, where, shape=(None, 4))
        if cmeta.shape[0] > capacity or top_n < 0 or rate < 1:
            raise StateError(f"{where}: {cmeta.shape[0]} ids for capacity {capacity}, top_n {top_n}, rate {rate}")
        obj = cls(top_n, capacity=max(1, capacity), sketch_width=csk.shape[1], sketch_depth=csk.shape[0],
                  sketch_rate=rate)
        if csk.shape[0] == 0:
            obj.csk = np.zeros(csk.shape, dtype=np.uint32)
        obj.csk_seeds = np.zeros(csk.shape[0], dtype=np.uint64)
        for k in cls._ARRAYS:
            mine = getattr(obj, k)
            a = check_array(state, k, mine.dtype, mine.ndim, where, shape=None if k == "cmeta" else mine.shape)
            if k == "cmeta":
                mine[: a.shape[0]] = a
            else:
                mine[...] = a
        record_from_dict(obj.meta, state, where)
        m = obj.meta[0]
        nfs = int(m["n_free_slots"])
        if m["rate"] != rate or not 0 <= nfs <= top_n or m["total"] < 0 or m["skip"] < 1:
            raise StateError(f"{where}: scalars out of range")
        slots = obj.cmeta[:, M_SLOT]
        used = slots[slots >= 0]
        if (slots < -1).any() or (used >= top_n).any() or np.unique(used).size != used.size:
            raise StateError(f"{where}: exact slots out of range or shared")
        free = obj.cslot_free[:nfs]
        if (free < 0).any() or (free >= top_n).any() or np.intersect1d(free, used).size or used.size + nfs > top_n:
            raise StateError(f"{where}: free slots out of range or in use")
        return obj

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return int(sum(getattr(self, k).nbytes for k in self._ARRAYS))

    # ------------------------------------------------------------------ replica deltas
    #: Keys of :meth:`state_dict` that :meth:`state_delta` / :meth:`merge_deltas` handle (a new key must get a rule).
    DELTA_KEYS = frozenset({*_ARRAYS, *COOC_RECORD.names, "top_n", "sketch_rate"})

    @staticmethod
    def _exact(state: dict) -> np.ndarray:
        """#(w,c) of a state as (top_n, top_n) int64 indexed ``[slot(c), slot(w)]``."""
        return state["clo"].astype(np.int64) + (state["chi"].astype(np.int64) << 16)

    @staticmethod
    def _exact_at(state: dict, c: np.ndarray, w: np.ndarray) -> np.ndarray:
        """#(w,c) of a state at slots ``(c, w)`` ((k,) int64 each): (k,) int64."""
        return state["clo"][c, w].astype(np.int64) + (state["chi"][c, w].astype(np.int64) << 16)

    @staticmethod
    def state_delta(state: dict, base: dict, same: np.ndarray, new_rid: np.ndarray, sketch_cells: bool = True) -> dict:
        """What a replica's statistics changed since ``base``: marginal, exact-cell and pair-sketch increments.

        Exact cells are keyed by word, not slot (slots are handed out per replica): a key ``>= 0``
        is a base id that still holds its word (``same``), ``-1 - e`` the ``e``-th new entry of
        the vocabulary delta (``new_rid``). A cell's increment is the replica's count minus the
        base's count of the same two words (0 for a word new in the round). Pairs of words that keep
        the base's slots are found by comparing the uint16 tables (O(top_n²) compares, no copy);
        only the rows and columns of words that took a slot in the round are read whole.

        Parameters
        ----------
        state, base : dict
            :meth:`state_dict` outputs (replica at the end of the round, merged base).
        same, new_rid : ndarray
            :meth:`streamsgns.vocab.Vocabulary.row_map` of the replica.
        sketch_cells : bool
            Look for the pair sketch's changed cells (False: ``sk_cells``, ``sk_inc`` empty; for a
            caller that takes them otherwise, :meth:`assign_merged`).

        Returns
        -------
        dict
            ``m_ids`` (a,) int32 base ids whose marginals changed and ``m_inc`` (a, 2) int64
            (#(w), #(c)); ``m_new`` (m, 2) int64 the new entries' marginals and ``tracked_new``
            (m,) bool (held an exact slot); ``cell_c``, ``cell_w`` (p,) int32 keys and ``cell_inc``
            (p,) int32 (int64 where they would not fit); ``sk_cells`` (q,) int32 flat pair-sketch
            cells and ``sk_inc`` (q,) uint32;
            ``total`` (pairs counted in the round), ``skip`` and ``rng`` (the replica's sampler).

        Raises
        ------
        StateError
            On a key without a rule, or settings that differ from the base's.
        """
        check_delta_keys(state, CooccurrenceStats.DELTA_KEYS, "cooc")
        if state["top_n"] != base["top_n"] or state["sketch_rate"] != base["sketch_rate"] or \
                state["csk"].shape != base["csk"].shape:
            raise StateError("cooc: settings differ from the base's")
        rm, bm = state["cmeta"], base["cmeta"]
        m = min(same.size, bm.shape[0])
        ids = np.flatnonzero(same[:m])
        dm = rm[ids][:, M_W:M_C + 1] - bm[ids][:, M_W:M_C + 1]
        ch = (dm != 0).any(axis=1)
        # the replica's tracked words, keyed as above, and the base's count of each pair of them
        key = np.full(rm.shape[0], np.iinfo(np.int64).min, dtype=np.int64)
        key[ids] = ids
        key[new_rid] = -1 - np.arange(new_rid.size)
        r_slot = rm[:, M_SLOT]
        tr = np.flatnonzero((r_slot >= 0) & (key != np.iinfo(np.int64).min))
        rs = r_slot[tr]
        bslot = np.full(tr.size, -1, dtype=np.int64)
        is_base = key[tr] >= 0
        bslot[is_base] = bm[key[tr][is_base], M_SLOT]
        ent = np.full(int(state["top_n"]), -1, dtype=np.int64)  # the tracked entry of each replica slot
        ent[rs] = np.arange(tr.size)
        kept = bslot == rs  # the base's word in the base's slot: its cells are compared in place
        # pairs of two such words: where the uint16 tables differ (no int64 copy of the tables)
        sc, sw = np.nonzero((state["clo"] != base["clo"]) | (state["chi"] != base["chi"]))
        ec, ew = ent[sc], ent[sw]
        pick = (ec >= 0) & (ew >= 0)
        pick[pick] = kept[ec[pick]] & kept[ew[pick]]
        ci, wi = ec[pick], ew[pick]
        inc = CooccurrenceStats._exact_at(state, sc[pick], sw[pick]) - CooccurrenceStats._exact_at(base, sc[pick], sw[pick])
        other = np.flatnonzero(~kept)
        if other.size:  # pairs with a word new in its slot: its row and column, less the base's count where tracked
            k_ent = np.flatnonzero(kept)
            c2 = np.concatenate([np.repeat(other, tr.size), np.repeat(k_ent, other.size)])
            w2 = np.concatenate([np.tile(np.arange(tr.size), other.size), np.tile(other, k_ent.size)])
            v = CooccurrenceStats._exact_at(state, rs[c2], rs[w2])
            both = (bslot[c2] >= 0) & (bslot[w2] >= 0)
            v[both] -= CooccurrenceStats._exact_at(base, bslot[c2][both], bslot[w2][both])
            nz = v != 0
            ci, wi, inc = np.concatenate([ci, c2[nz]]), np.concatenate([wi, w2[nz]]), np.concatenate([inc, v[nz]])
        rs, bs = state["csk"].reshape(-1), base["csk"].reshape(-1)
        sk_cells = small_index(np.flatnonzero(rs > bs) if sketch_cells else np.zeros(0, dtype=np.int64),
                               rs.size)  # uint32 compare: no int64 copy of the table
        return {"m_ids": ids[ch].astype(np.int32), "m_inc": dm[ch], "m_new": rm[new_rid][:, M_W:M_C + 1].copy(),
                "tracked_new": r_slot[new_rid] >= 0, "cell_c": small_index(key[tr][ci], rm.shape[0]),
                "cell_w": small_index(key[tr][wi], rm.shape[0]),
                "cell_inc": inc.astype(np.int32) if inc.size and np.abs(inc).max() < (1 << 31) else inc,
                "sk_cells": sk_cells, "sk_inc": rs[sk_cells] - bs[sk_cells],
                "total": int(state["total"]) - int(base["total"]), "skip": int(state["skip"]),
                "rng": np.array(state["rng"])}

    @staticmethod
    def merge_deltas(base: dict, deltas: list, plan: dict) -> dict:
        """The merged statistics: the base plus every replica's increments (:meth:`state_delta`).

        Counts of pairs, marginals and ``|D|`` add up (each replica counted the pairs it trained);
        the pair sketches add cell by cell (Cormode & Muthukrishnan 2005, sec. 4). Base words keep
        their exact slots; a word new in the round that held a slot on some replica takes one of
        the base's free slots (by merged id) while any is left, otherwise its exact cells are
        dropped (its later pairs go to the pair sketch). The sampler state (``skip``, ``rng``) is
        replica 0's.

        Parameters
        ----------
        base : dict
        deltas : list of dict
        plan : dict
            The vocabulary merge's plan (:meth:`streamsgns.vocab.Vocabulary.merge_deltas`).

        Returns
        -------
        dict
            A :meth:`state_dict` for ``plan["n"]`` ids (new arrays).
        """
        n, top = int(plan["n"]), int(base["top_n"])
        bm = base["cmeta"]
        cmeta = np.zeros((n, 4), dtype=np.int64)
        cmeta[:, M_SLOT] = -1
        cmeta[:bm.shape[0]] = bm[:n]
        live = plan["counts"] > 0
        cmeta[plan["new_ids"]] = [-1, 0, 0, 0]
        stack = list(base["cslot_free"][:int(base["n_free_slots"])])
        for i in np.flatnonzero(~live[:bm.shape[0]]).tolist():  # ids freed before: their slot (if any) goes back
            if cmeta[i, M_SLOT] >= 0:
                stack.append(int(cmeta[i, M_SLOT]))
        cmeta[~live] = [-1, 0, 0, 0]
        wants = np.zeros(n, dtype=bool)
        for k, d in enumerate(deltas):
            dst = plan["dst"][k]
            cmeta[d["m_ids"], M_W:M_C + 1] += d["m_inc"]
            ok = dst >= 0
            cmeta[dst[ok], M_W:M_C + 1] += d["m_new"][ok]
            wants[dst[ok & d["tracked_new"] & ~plan["moved"][k]]] = True
        for i in np.flatnonzero(wants).tolist():
            if not stack:
                break
            cmeta[i, M_SLOT] = stack.pop()
        E = CooccurrenceStats._exact(base)
        for i in np.flatnonzero(~live[:bm.shape[0]] & (bm[:min(n, bm.shape[0]), M_SLOT] >= 0)).tolist():
            s = bm[i, M_SLOT]
            E[s, :] = 0
            E[:, s] = 0
        for i in plan["new_ids"].tolist():
            s = cmeta[i, M_SLOT]
            if s >= 0:
                E[s, :] = 0
                E[:, s] = 0
        for k, d in enumerate(deltas):
            dst = plan["dst"][k]
            c, w = _merged_ids(d["cell_c"], dst), _merged_ids(d["cell_w"], dst)
            ok = (c >= 0) & (w >= 0)
            sc, sw = cmeta[c[ok], M_SLOT], cmeta[w[ok], M_SLOT]
            both = (sc >= 0) & (sw >= 0)
            np.add.at(E, (sc[both], sw[both]), d["cell_inc"][ok][both])
        E = np.clip(E, 0, 0xFFFFFFFF)
        csk = base["csk"].copy()
        flat = csk.reshape(-1)
        for d in deltas:
            flat[d["sk_cells"]] += d["sk_inc"]
        free = np.array(stack, dtype=np.int32)
        cslot_free = np.zeros(top, dtype=np.int32)
        cslot_free[:free.size] = free
        return {"cmeta": cmeta, "cslot_free": cslot_free, "clo": (E & 0xFFFF).astype(np.uint16),
                "chi": (E >> 16).astype(np.uint16), "csk": csk, "csk_seeds": base["csk_seeds"],
                "rng": np.array(deltas[0]["rng"] if deltas else base["rng"], dtype=np.uint64),
                "skip": int(deltas[0]["skip"]) if deltas else int(base["skip"]), "rate": int(base["rate"]),
                "total": int(base["total"]) + sum(d["total"] for d in deltas), "n_free_slots": int(free.size),
                "top_n": top, "sketch_rate": int(base["sketch_rate"])}

    @staticmethod
    def apply_update(base: dict, update: dict, plan: dict) -> dict:
        """``merge_deltas(base, [update], plan)`` computed in place, in O(ids + changed cells + top_n·new slots).

        A replica applies the merged update (the :meth:`state_delta` of the merged statistics
        against its base) to its own copy of the base: the exact table's cells, the pair sketch's
        cells and the per-id marginals it names are written into ``base``'s arrays (which must be
        writable; ``cmeta`` is re-allocated with room to spare when the ids grow), and the slot rows
        and columns handed to new words are cleared, as :meth:`merge_deltas` does with one delta.

        Parameters
        ----------
        base : dict
            The replica's base (:meth:`state_dict`, writable arrays); modified.
        update : dict
            :meth:`state_delta` of the merged statistics against ``base``.
        plan : dict
            The vocabulary merge's plan of that one delta.

        Returns
        -------
        dict
            The merged :meth:`state_dict`, equal bit for bit to ``merge_deltas``'s.
        """
        n, top = int(plan["n"]), int(base["top_n"])
        nb0 = base["cmeta"].shape[0]
        cmeta = grow_rows(base["cmeta"], n, fill=[-1, 0, 0, 0])
        live = plan["counts"] > 0
        dead = np.flatnonzero(~live[:nb0])
        old_slots = cmeta[dead, M_SLOT].copy()
        new_ids = plan["new_ids"]
        cmeta[new_ids] = [-1, 0, 0, 0]
        stack = base["cslot_free"][:int(base["n_free_slots"])].tolist()
        back = cmeta[dead, M_SLOT]
        stack.extend(back[back >= 0].tolist())
        cmeta[np.flatnonzero(~live)] = [-1, 0, 0, 0]
        dst, moved = plan["dst"][0], plan["moved"][0]
        cmeta[update["m_ids"], M_W:M_C + 1] += update["m_inc"]
        ok = dst >= 0
        cmeta[dst[ok], M_W:M_C + 1] += update["m_new"][ok]
        wants = np.zeros(n, dtype=bool)
        wants[dst[ok & update["tracked_new"] & ~moved]] = True
        for i in np.flatnonzero(wants).tolist():
            if not stack:
                break
            cmeta[i, M_SLOT] = stack.pop()
        clo, chi = base["clo"], base["chi"]
        clear = [int(x) for x in old_slots[old_slots >= 0]]
        clear += [int(x) for x in cmeta[new_ids, M_SLOT] if x >= 0]
        for sl in clear:
            for T in (clo, chi):
                T[sl, :] = 0
                T[:, sl] = 0

        c, w = _merged_ids(update["cell_c"], dst), _merged_ids(update["cell_w"], dst)
        ok = (c >= 0) & (w >= 0)
        sc, sw = cmeta[c[ok], M_SLOT], cmeta[w[ok], M_SLOT]
        both = (sc >= 0) & (sw >= 0)
        flat = sc[both] * top + sw[both]
        cells, inv = np.unique(flat, return_inverse=True)
        lo, hi = clo.reshape(-1), chi.reshape(-1)
        val = lo[cells].astype(np.int64) + (hi[cells].astype(np.int64) << 16)
        np.add.at(val, inv, update["cell_inc"][ok][both])
        val = np.clip(val, 0, 0xFFFFFFFF)
        lo[cells] = (val & 0xFFFF).astype(np.uint16)
        hi[cells] = (val >> 16).astype(np.uint16)
        csk = base["csk"]
        csk.reshape(-1)[update["sk_cells"]] += update["sk_inc"]
        cslot_free = np.zeros(top, dtype=np.int32)
        cslot_free[:len(stack)] = stack
        return {"cmeta": cmeta, "cslot_free": cslot_free, "clo": clo, "chi": chi, "csk": csk,
                "csk_seeds": base["csk_seeds"], "rng": np.array(update["rng"], dtype=np.uint64),
                "skip": int(update["skip"]), "rate": int(base["rate"]), "total": int(base["total"]) + update["total"],
                "n_free_slots": len(stack), "top_n": top, "sketch_rate": int(base["sketch_rate"])}

    def assign_merged(self, base: dict, delta: dict, plan: dict, sk_cells: np.ndarray | None, n_old: int,
                      shift: tuple | None = None) -> None:
        """Make these statistics ``merge_deltas(base, [delta], plan)`` in place, without building the merged arrays.

        ``base``'s per-id marginals and slots (O(ids)), free slots and exact table (``4·top_n²``
        bytes) are copied in, its pair sketch only at ``sk_cells``, and the delta is then applied to
        these arrays as :meth:`apply_update` applies an update to a base (equal bit for bit to
        ``merge_deltas``, see there). Used by an overlapped replica's late apply
        (:func:`streamsgns.distributed.overlap.late_apply_inplace`), whose statistics already hold the
        merged base plus the delta's pair-sketch increments wherever neither changed a cell.

        Parameters
        ----------
        base : dict
            The merged base's :meth:`state_dict` (not modified).
        delta : dict
            One :meth:`state_delta` against ``base``.
        plan : dict
            :meth:`streamsgns.vocab.Vocabulary.merge_deltas` of ``base``'s vocabulary with that delta's.
        sk_cells : ndarray, optional
            Flat indices of the pair-sketch cells where these statistics may differ from ``base``
            plus the delta (the delta's own cells among them); None: the whole sketch is copied.
        n_old : int
            Ids in use before: ids ``n .. n_old-1`` are cleared.
        shift : (dict, dict), optional
            Instead of copying cells (``sk_cells`` is then ignored): two :meth:`state_delta` outputs
            ``(plus, minus)`` by which this pair sketch differs from ``base`` plus the delta (whose
            own pair-sketch cells are then empty): their increments are added and subtracted (uint32
            sums wrap; the merge's result is what they add up to).

        Raises
        ------
        StateError
            If the settings or shapes differ, or the capacity is too small.
        """
        n, nb = int(plan["n"]), base["cmeta"].shape[0]
        if base["top_n"] != self.top_n or base["csk"].shape != self.csk.shape or n > self.cmeta.shape[0]:
            raise StateError("cooc: settings, shapes or capacity differ")
        self.cmeta[:nb] = base["cmeta"]
        self.cmeta[nb:max(n, n_old, nb)] = [-1, 0, 0, 0]
        for k in ("cslot_free", "clo", "chi"):
            np.copyto(getattr(self, k), base[k])
        if shift is not None:
            if delta["sk_cells"].size:
                raise StateError("cooc: a shifted pair sketch with a delta of pair-sketch cells")
            flat = self.csk.reshape(-1)
            flat[shift[0]["sk_cells"]] += shift[0]["sk_inc"]
            flat[shift[1]["sk_cells"]] -= shift[1]["sk_inc"]
        elif sk_cells is None:
            np.copyto(self.csk, base["csk"])
        else:  # the delta's increments are added below: its cells start from the base's
            flat = self.csk.reshape(-1)
            flat[sk_cells] = base["csk"].reshape(-1)[sk_cells]
            flat[delta["sk_cells"]] = base["csk"].reshape(-1)[delta["sk_cells"]]
        mine = {"cmeta": self.cmeta[:nb], "cslot_free": self.cslot_free, "clo": self.clo, "chi": self.chi,
                "csk": self.csk, "csk_seeds": self.csk_seeds, "rng": self.rng, "top_n": self.top_n,
                "sketch_rate": self.sketch_rate, **{k: base[k] for k in COOC_RECORD.names}}
        out = CooccurrenceStats.apply_update(mine, delta, plan)
        if out["cmeta"].base is not self.cmeta:
            raise StateError("cooc: the merged marginals were not written in place")
        np.copyto(self.cslot_free, out["cslot_free"])
        np.copyto(self.rng, out["rng"])
        record_from_dict(self.meta, out, "cooc")

    def assign(self, state: dict, sk_cells: np.ndarray | None, n_old: int) -> None:
        """Make these statistics equal to ``state`` (a :meth:`state_dict` of ``n`` ids) in place.

        The per-id marginals (O(ids)) and the exact table (``4·top_n²`` bytes) are copied; the pair
        sketch only at ``sk_cells`` (flat indices: the only cells where it may differ; None: the
        whole sketch); ids ``n .. n_old-1`` are cleared.

        Raises
        ------
        StateError
            If the settings or shapes differ, or the capacity is too small.
        """
        n = state["cmeta"].shape[0]
        if state["top_n"] != self.top_n or state["csk"].shape != self.csk.shape or n > self.cmeta.shape[0]:
            raise StateError("cooc: settings, shapes or capacity differ")
        self.cmeta[:n] = state["cmeta"]
        self.cmeta[n:max(n, n_old)] = [-1, 0, 0, 0]
        for k in ("cslot_free", "clo", "chi", "rng"):
            np.copyto(getattr(self, k), state[k])
        if sk_cells is None:
            np.copyto(self.csk, state["csk"])
        else:
            self.csk.reshape(-1)[sk_cells] = state["csk"].reshape(-1)[sk_cells]
        record_from_dict(self.meta, state, "cooc")

