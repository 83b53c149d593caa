"""Incremental vocabulary: word ↔ id, exact counts, admission at ``min_count``.

A token first lives in the count-min sketch (:mod:`streamsgns.sketch`). Once
the sketch's estimate reaches ``min_count`` the word is *admitted*: it gets an
id (a row of ``W`` and ``C``), an exact count that starts from the sketch's
estimate and, from then on, is trained. This is word2vec's ``min_count``
(Mikolov et al. 2013) made online: no vocabulary pass is needed.

``max_vocab`` bounds memory. When an admission finds the vocabulary full, the
rarest ``prune_fraction`` of the admitted words (ties broken by id) are
evicted at once (like gensim's ``max_vocab_size`` pruning, amortised: one
prune per ``prune_fraction * max_vocab`` admissions). A prune selects them in
O(V) (``np.partition`` for the count threshold) and sorts only the ``k`` evicted,
O(V + k log k) instead of an O(V log V) sort of every count; the Python word
maps are then updated for the ``k`` freed ids only. Their ids go to a free list
and are reused, their rows re-initialised at the next admission. ``W``/``C``
capacity grows by doubling up to ``max_vocab``.

The sketch ages (:mod:`streamsgns.sketch`): a word is admitted once seen about
``min_count`` times within the last ``H .. 2H`` tokens of not-yet-admitted words,
so a flood of one-off tokens (IDs, hashes) cannot fill the vocabulary.
Exponential forgetting (``SGNS(half_life=...)``, :func:`streamsgns.forget.forget_step`) decays the
admitted words' counts too and evicts the faded ones; without a half-life they are left alone.

The look-up structure is an open-addressing hash table (:mod:`streamsgns.hashtable`; linear probing,
backward-shift deletion) on 64-bit token hashes, usable from numba. Two
distinct words sharing a 64-bit hash would be merged; for a million words
the probability is about 3e-8.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_array, check_delta_keys, new_record, record_from_dict, record_to_dict
from .hashing import hash_token
from .hashtable import table_delete, table_insert, table_lookup, table_rebuild, table_size
from .sketch import CountMinSketch, cms_estimate_batch, default_halving_tokens

__all__ = ["Vocabulary", "VocabArrays", "VOCAB_RECORD", "table_lookup", "table_insert", "table_delete",
           "table_rebuild", "vocab_count", "vocab_is_full", "vocab_admit", "vocab_free", "vocab_prune",
           "select_by_count"]

#: Scalars of the vocabulary (all int64): ids ``0 .. next_id-1`` have been used; ``n_free`` of
#: them are free (on the ``free_ids`` stack); ``total`` = sum of the admitted words' counts
#: (``T`` of word2vec's subsampling formula); ``n_events`` admissions waiting in ``events`` for
#: the Python side; life-time counters ``n_admitted``, ``n_evicted``, ``n_prunes``.
VOCAB_RECORD = np.dtype([("next_id", np.int64), ("n_free", np.int64), ("total", np.int64),
                         ("n_events", np.int64), ("n_admitted", np.int64), ("n_evicted", np.int64),
                         ("n_prunes", np.int64)])

#: What the kernels receive (no copies): the hash table ``keys`` (T,) uint64 / ``vals`` (T,) int32,
#: per id ``hashes`` (cap,) uint64, ``counts`` (cap,) int64, the ``free_ids`` stack (cap,) int32,
#: ``events`` (E, 3) int64 admissions ``(id, start, end)`` of the current block, ``meta`` (1,) VOCAB_RECORD.
VocabArrays = namedtuple("VocabArrays", "keys vals hashes counts free_ids events meta")

@njit(cache=True, nogil=True, inline="always")
def vocab_count(va, h):
    """Count one occurrence of hash ``h`` if its word is admitted; return its id, or -1."""
    wid = table_lookup(va.keys, va.vals, h)
    if wid >= 0:
        va.counts[wid] += 1
        va.meta[0].total += 1
    return wid


@njit(cache=True, nogil=True, inline="always")
def vocab_is_full(va):
    """True when an admission needs an eviction first (no free id, every row in use)."""
    m = va.meta[0]
    return m.n_free == 0 and m.next_id >= va.counts.shape[0]


@njit(cache=True, nogil=True)
def vocab_admit(va, h, count, start, end):
    """Admit hash ``h`` with initial ``count`` (the sketch's estimate); return its id.

    Takes a free id (most recently freed first) or the next unused one, inserts it in the
    hash table and records the event ``(id, start, end)`` (the word's bytes in the block)
    for :meth:`Vocabulary.apply_admissions`. The caller has checked :func:`vocab_is_full`
    and that ``events`` has room.
    """
    m = va.meta[0]
    if m.n_free > 0:
        m.n_free -= 1
        wid = np.int64(va.free_ids[m.n_free])
    else:
        wid = m.next_id
        m.next_id += 1
    table_insert(va.keys, va.vals, h, wid)
    va.hashes[wid] = h
    va.counts[wid] = count
    m.total += count
    m.n_admitted += 1
    ev = m.n_events
    va.events[ev, 0] = wid
    va.events[ev, 1] = start
    va.events[ev, 2] = end
    m.n_events = ev + 1
    return wid


@njit(cache=True, nogil=True, inline="always")
def vocab_free(va, idx):
    """Evict the admitted word of id ``idx``: out of the hash table, its count (set to 0) out of
    ``total``, its id pushed on ``free_ids``, ``n_evicted`` + 1. The one eviction of a word, for
    :func:`vocab_prune` (at ``max_vocab``) and the faded words of :mod:`streamsgns.forget`."""
    m = va.meta[0]
    table_delete(va.keys, va.vals, va.hashes[idx])
    m.total -= va.counts[idx]
    va.counts[idx] = 0
    va.free_ids[m.n_free] = idx
    m.n_free += 1
    m.n_evicted += 1


# Two small selection/sorting helpers instead of np.partition and np.argsort(kind="mergesort"): numba's
# generic implementations of those took about 6 s of a cold start's compilation, for a path (eviction
# at max_vocab) most runs never take.
@njit(cache=True, nogil=True)
def _kth_smallest(a, k):
    """The ``k``-th smallest value (0-based) of ``a`` (int64, reordered in place): Hoare's selection."""
    lo = 0
    hi = a.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        # median of three as the pivot value
        x, y, z = a[lo], a[mid], a[hi]
        if x > y:
            x, y = y, x
        if y > z:
            y = z
            if x > y:
                y = x
        pivot = y
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


@njit(cache=True, nogil=True)
def _stable_sort_by(ids, key):
    """Sort ``ids`` (int64) by ``key[ids]`` in place, keeping the order of equal keys (bottom-up merge sort)."""
    n = ids.shape[0]
    tmp = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            for o in range(lo, hi):
                if j >= hi or (i < mid and key[ids[i]] <= key[ids[j]]):
                    tmp[o] = ids[i]
                    i += 1
                else:
                    tmp[o] = ids[j]
                    j += 1
            lo = hi
        for o in range(n):
            ids[o] = tmp[o]
        width *= 2


@njit(cache=True, nogil=True)
def select_by_count(counts, n, k, sign):
    """The ``k`` alive ids (count > 0) among ``0 .. n-1`` with the smallest ``sign · count``
    (``sign`` 1: the rarest; −1: the most frequent), ties at the threshold going to the lowest ids.

    O(n): one selection of the threshold (Hoare), then one pass in id order.

    Parameters
    ----------
    counts : ndarray, shape (cap,), int64
    n : int
        Ids to look at.
    k : int
        Ids wanted (fewer are returned if fewer are alive).
    sign : int
        1 or −1.

    Returns
    -------
    ndarray, shape (min(k, alive),), int64
        The ids, in id order.
    """
    live = np.empty(n, dtype=np.int64)
    n_live = 0
    for i in range(n):
        if counts[i] > 0:
            live[n_live] = sign * counts[i]
            n_live += 1
    k = min(np.int64(k), n_live)
    sel = np.empty(max(k, 0), dtype=np.int64)
    if k <= 0:
        return sel
    thr = _kth_smallest(live[:n_live], k - 1)
    n_below = 0
    for i in range(n_live):
        if live[i] < thr:
            n_below += 1
    at_thr = k - n_below
    q = 0
    for i in range(n):
        c = counts[i]
        if c > 0:
            v = sign * c
            if v < thr or (v == thr and at_thr > 0):
                if v == thr:
                    at_thr -= 1
                sel[q] = i
                q += 1
    return sel


@njit(cache=True, nogil=True)
def vocab_prune(va, n_evict):
    """Evict the ``n_evict`` rarest admitted words (ties: lower id first).

    Their ids are pushed on ``free_ids`` (so ``free_ids[n_free_before:n_free]`` are the
    evicted ids, in eviction order), their counts set to 0 and removed from the totals.

    Returns
    -------
    int
        Number evicted.
    """
    m = va.meta[0]
    counts = va.counts
    # the evicted: the rarest, in id order (O(n) selection) ...
    sel = select_by_count(counts, m.next_id, n_evict, 1)
    k = sel.shape[0]
    if k > 0:
        # ... then ordered by (count, id) as a stable sort of every count would list them
        _stable_sort_by(sel, counts)
        for q in range(k):
            vocab_free(va, sel[q])
    m.n_prunes += 1
    return k


class Vocabulary:
    """Word ↔ id map with exact counts of admitted words and a sketch for the rest.

    Parameters
    ----------
    min_count : int
        Occurrences (sketch estimate) needed for admission; >= 1.
    max_vocab : int
        Most words admitted at once; >= 1.
    sketch : CountMinSketch, optional
        Counts of not-yet-admitted words. Default ``CountMinSketch(2**20, 4)``
        (16 MiB), aging every :func:`~streamsgns.sketch.default_halving_tokens` tokens.
    prune_fraction : float
        Fraction of ``max_vocab`` evicted when full, in (0, 1].
    capacity : int
        Initial number of rows (grows by doubling up to ``max_vocab``).
    max_events : int
        Admissions one kernel call may record before it hands back (rows of ``events``).

    Attributes
    ----------
    hashes : ndarray, shape (capacity,), uint64
        Token hash of each id.
    counts : ndarray, shape (capacity,), int64
        Exact count of each admitted word since admission (plus the sketch's
        estimate at admission); 0 marks a free id.
    free_ids : ndarray, shape (capacity,), int32
        Stack of free ids (``n_free`` of them are valid).
    meta : ndarray, shape (1,), :data:`VOCAB_RECORD`
        ``next_id``, ``n_free``, ``total`` and the life-time counters.
    index_to_key : list of (str or None)
        Word of each id (None for free ids).
    key_to_index : dict[str, int]

    Raises
    ------
    ValueError
        On non-positive ``min_count``/``max_vocab`` or a bad ``prune_fraction``.

    Examples
    --------
    >>> v = Vocabulary(min_count=1, max_vocab=10, sketch=CountMinSketch(64, 2))
    >>> v.state_dict()["next_id"], len(v)
    (0, 0)
    """

    def __init__(self, min_count=5, max_vocab=1_000_000, sketch=None, prune_fraction=0.1, capacity=1024, seed=0,
                 max_events=4096):
        if int(min_count) < 1:
            raise ValueError("min_count must be >= 1")
        if int(max_vocab) < 1:
            raise ValueError("max_vocab must be >= 1")
        if not 0 < float(prune_fraction) <= 1:
            raise ValueError("prune_fraction must be in (0, 1]")
        self.min_count = int(min_count)
        self.max_vocab = int(max_vocab)
        self.prune_fraction = float(prune_fraction)
        if sketch is None:
            sketch = CountMinSketch(1 << 20, 4, seed=seed, halve_every=default_halving_tokens(1 << 20, min_count))
        self.sketch = sketch
        cap = max(1, min(int(capacity), self.max_vocab))
        self.hashes = np.zeros(cap, dtype=np.uint64)
        self.counts = np.zeros(cap, dtype=np.int64)
        self.free_ids = np.zeros(cap, dtype=np.int32)
        size = table_size(cap)
        self.keys = np.zeros(size, dtype=np.uint64)
        self.vals = np.zeros(size, dtype=np.int32)
        self.events = np.zeros((max(1, int(max_events)), 3), dtype=np.int64)
        self.meta = new_record(VOCAB_RECORD)
        self.index_to_key: list = []
        self.key_to_index: dict[str, int] = {}

    # ---------------------------------------------------------------- read-outs
    @property
    def capacity(self) -> int:
        """Rows allocated (ids ``0 .. capacity-1``)."""
        return int(self.counts.shape[0])

    @property
    def n_ids(self) -> int:
        """Ids used so far, free ones included (``len(index_to_key)``)."""
        return int(self.meta[0]["next_id"])

    @property
    def n_free(self) -> int:
        """Free ids waiting on the stack."""
        return int(self.meta[0]["n_free"])

    @property
    def total(self) -> int:
        """Sum of the admitted words' counts, in tokens (``T`` of the subsampling formula)."""
        return int(self.meta[0]["total"])

    @property
    def n_prunes(self) -> int:
        """Evictions rounds so far."""
        return int(self.meta[0]["n_prunes"])

    @property
    def prune_size(self) -> int:
        """Words evicted per round when full: ``max(1, max_vocab * prune_fraction)``."""
        return max(1, int(self.max_vocab * self.prune_fraction))

    def arrays(self) -> VocabArrays:
        """The bundle the kernels read and update in place (no copies)."""
        return VocabArrays(self.keys, self.vals, self.hashes, self.counts, self.free_ids, self.events, self.meta)

    def __len__(self) -> int:
        return len(self.key_to_index)

    def __contains__(self, word) -> bool:
        return word in self.key_to_index

    def count(self, word: str) -> int:
        """Exact count of an admitted word, else the sketch's estimate."""
        i = self.key_to_index.get(word)
        if i is not None:
            return int(self.counts[i])
        return self.sketch.estimate(word)

    def lookup_hash(self, word: str) -> int:
        """Id found through the numba hash table (-1 if absent); agrees with ``key_to_index``."""
        return int(table_lookup(self.keys, self.vals, np.uint64(hash_token(word))))

    # ---------------------------------------------------------------- changes
    def grow(self, needed: int) -> int:
        """Make room for at least ``needed`` ids (doubling, capped at ``max_vocab``).

        Returns
        -------
        int
            The new capacity.
        """
        old = self.capacity
        new = min(self.max_vocab, max(2 * old, int(needed)))
        if new <= old:
            return old
        for name in ("hashes", "counts", "free_ids"):
            a = getattr(self, name)
            b = np.zeros(new, dtype=a.dtype)
            b[:old] = a
            setattr(self, name, b)
        size = table_size(new)
        if size != self.keys.shape[0]:
            self.keys = np.zeros(size, dtype=np.uint64)
            self.vals = np.zeros(size, dtype=np.int32)
            table_rebuild(self.keys, self.vals, self.hashes, self.counts, self.n_ids)
        return new

    def apply_admissions(self, buf: np.ndarray) -> None:
        """Mirror the admissions the kernel recorded in ``events`` into the Python maps, then clear them.

        Parameters
        ----------
        buf : ndarray, shape (n,), uint8
            The block the events point into (``buf[start:end]`` is the UTF-8 word admitted as ``id``).
        """
        ne = int(self.meta[0]["n_events"])
        if ne == 0:
            return
        raw = buf.tobytes()
        itk, kti = self.index_to_key, self.key_to_index
        for wid, s, e in self.events[:ne].tolist():
            word = raw[s:e].decode("utf-8", "replace")
            if wid >= len(itk):
                itk.extend([None] * (wid + 1 - len(itk)))
            old = itk[wid]
            if old is not None and kti.get(old) == wid:
                del kti[old]
            itk[wid] = word
            kti[word] = wid
        self.meta[0]["n_events"] = 0

    def drop_evicted(self) -> None:
        """Forget the words whose ids the kernel freed after a prune (call after :meth:`apply_admissions`).

        Every freed id not yet reused is on the free stack, so this costs O(``n_free``), not O(``n_ids``).
        """
        itk, kti = self.index_to_key, self.key_to_index
        for wid in self.free_ids[: self.n_free].tolist():
            word = itk[wid] if wid < len(itk) else None
            if word is not None:
                if kti.get(word) == wid:
                    del kti[word]
                itk[wid] = None

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """The vocabulary's whole state as plain arrays and scalars.

        Returns
        -------
        dict
            ``hashes`` (n,) uint64, ``counts`` (n,) int64, ``free_ids`` (n_free,) int32 for the
            ``n = next_id`` ids used; the words as ``words_blob`` (uint8 UTF-8), ``words_offsets``
            (n + 1,) int64 and ``words_has`` (n,) bool; the :data:`VOCAB_RECORD` scalars; the
            settings ``min_count``, ``max_vocab``, ``prune_fraction``; ``sketch``: the
            :meth:`CountMinSketch.state_dict` of the not-yet-admitted words. Arrays are views.
        """
        n = self.n_ids
        blobs = [(w or "").encode("utf-8") for w in self.index_to_key[:n]]
        offsets = np.zeros(n + 1, dtype=np.int64)
        if blobs:
            offsets[1:] = np.cumsum([len(b) for b in blobs])
        rec = record_to_dict(self.meta)
        rec["n_events"] = 0
        return {
            "hashes": self.hashes[:n], "counts": self.counts[:n], "free_ids": self.free_ids[: self.n_free],
            "words_blob": np.frombuffer(b"".join(blobs), dtype=np.uint8).copy(), "words_offsets": offsets,
            "words_has": np.array([w is not None for w in self.index_to_key[:n]], dtype=np.bool_),
            "min_count": self.min_count, "max_vocab": self.max_vocab, "prune_fraction": self.prune_fraction,
            "sketch": self.sketch.state_dict(), **rec,
        }

    @classmethod
    def from_state(cls, state: dict, capacity: int | None = None, max_events: int = 4096) -> "Vocabulary":
        """Rebuild a vocabulary from :meth:`state_dict` output, checking every invariant the kernel relies on.

        Parameters
        ----------
        state : dict
        capacity : int, optional
            Rows to allocate (at least ``next_id``; default ``next_id``, capped at ``max_vocab``).
        max_events : int

        Raises
        ------
        StateError
            If an array or scalar is missing or malformed, or an invariant fails: ids within
            ``max_vocab``, counts >= 0, free ids distinct, below ``next_id`` and of count 0,
            live ids named by a word and their words distinct, ``total`` = sum of counts.
        """
        where = "vocab"
        for key in ("min_count", "max_vocab", "prune_fraction"):
            if key not in state:
                raise StateError(f"{where}: missing setting {key!r}")
        try:
            obj = cls(state["min_count"], state["max_vocab"], sketch=CountMinSketch.from_state(state["sketch"]),
                      prune_fraction=state["prune_fraction"], capacity=1, max_events=max_events)
        except (TypeError, ValueError, KeyError) as e:
            raise StateError(f"{where}: {e}") from e
        record_from_dict(obj.meta, {**state, "n_events": 0}, where)
        n, nf = obj.n_ids, obj.n_free
        if not 0 <= n <= obj.max_vocab or not 0 <= nf <= n:
            raise StateError(f"{where}: next_id {n} / n_free {nf} out of range (max_vocab {obj.max_vocab})")
        hashes = check_array(state, "hashes", np.uint64, 1, where, shape=(n,))
        counts = check_array(state, "counts", np.int64, 1, where, shape=(n,))
        free = check_array(state, "free_ids", np.int32, 1, where, shape=(nf,))
        has = check_array(state, "words_has", np.bool_, 1, where, shape=(n,))
        offsets = check_array(state, "words_offsets", np.int64, 1, where, shape=(n + 1,))
        blob = check_array(state, "words_blob", np.uint8, 1, where)
        if (counts < 0).any():
            raise StateError(f"{where}: negative counts")
        if int(counts.sum()) != obj.total:
            raise StateError(f"{where}: total {obj.total} != sum of counts {int(counts.sum())}")
        if nf and ((free < 0).any() or (free >= n).any() or np.unique(free).size != nf or (counts[free] != 0).any()):
            raise StateError(f"{where}: free ids out of range, repeated, or still counted")
        if int((counts > 0).sum()) + nf != n:
            raise StateError(f"{where}: {n} ids but {int((counts > 0).sum())} live and {nf} free")
        if offsets[0] != 0 or (np.diff(offsets) < 0).any() or offsets[-1] != blob.shape[0]:
            raise StateError(f"{where}: word offsets are not monotone within the blob")
        if not np.array_equal(has, counts > 0):
            raise StateError(f"{where}: a live id has no word, or a free id has one")
        raw = blob.tobytes()
        try:
            words = [raw[offsets[i]:offsets[i + 1]].decode("utf-8") if has[i] else None for i in range(n)]
        except UnicodeDecodeError as e:
            raise StateError(f"{where}: a word is not valid UTF-8 ({e})") from e
        live = [w for w in words if w is not None]
        if len(set(live)) != len(live):
            raise StateError(f"{where}: a word is held by two ids")
        live_h = hashes[counts > 0]
        if (live_h == 0).any() or np.unique(live_h).size != live_h.size:
            raise StateError(f"{where}: live ids with a zero or repeated hash")
        obj.grow(max(n, 1) if capacity is None else max(int(capacity), n))
        obj.hashes[:n] = hashes
        obj.counts[:n] = counts
        obj.free_ids[:nf] = free
        obj.index_to_key[:] = words
        obj.key_to_index.update({w: i for i, w in enumerate(words) if w is not None})
        table_rebuild(obj.keys, obj.vals, obj.hashes, obj.counts, n)
        return obj

    # ---------------------------------------------------------------- replica deltas
    #: Keys of :meth:`state_dict` that :meth:`state_delta` / :meth:`merge_deltas` handle (a new key must get a rule).
    DELTA_KEYS = frozenset({"hashes", "counts", "free_ids", "words_blob", "words_offsets", "words_has", "next_id",
                            "n_free", "total", "n_events", "sketch", "min_count", "max_vocab", "prune_fraction",
                            "n_admitted", "n_evicted", "n_prunes"})
    _DELTA_COUNTERS = ("n_admitted", "n_evicted", "n_prunes")

    @staticmethod
    def row_map(state: dict, base: dict) -> tuple[np.ndarray, np.ndarray]:
        """Which ids of a replica still hold the base's word, and which hold a word the base has not there.

        Returns
        -------
        same : ndarray, shape (next_id,), bool
            Live in the replica and in the base with the same hash at the same id: its rows and
            counts are sent as changes of the base's id.
        new_rid : ndarray, shape (m,), int64
            The other live ids of the replica (words admitted in the round, or a base word
            evicted and admitted again at another id): sent whole, by their 64-bit hash.
        """
        n, nb = int(state["next_id"]), int(base["next_id"])
        m = min(n, nb)
        rc = state["counts"][:n]
        same = np.zeros(n, dtype=bool)
        same[:m] = (rc[:m] > 0) & (base["counts"][:m] > 0) & (state["hashes"][:m] == base["hashes"][:m])
        return same, np.flatnonzero((rc > 0) & ~same)

    @staticmethod
    def state_delta(state: dict, base: dict, sketch_cells: bool = True) -> dict:
        """What a replica's vocabulary changed since ``base`` (both :meth:`state_dict` outputs).

        ``sketch_cells=False``: the sketch's changed cells are not looked for
        (:meth:`CountMinSketch.state_delta` with ``cells=False``).

        Returns
        -------
        dict
            ``inc_ids`` (a,) int32 base ids still holding their word whose count grew, ``inc``
            (a,) int64 the growth (tokens); the words the base does not hold at that id:
            ``new_hash`` (m,) uint64, ``new_count`` (m,) int64, ``new_blob`` uint8 and
            ``new_offsets`` (m + 1,) int64 (their UTF-8 bytes, in :meth:`row_map` order); the
            increments of the life-time counters; ``sketch``: :meth:`CountMinSketch.state_delta`.

        Raises
        ------
        StateError
            On a state key without a delta rule, or settings that differ from the base's.
        """
        check_delta_keys(state, Vocabulary.DELTA_KEYS, "vocab")
        for key in ("min_count", "max_vocab", "prune_fraction"):
            if state[key] != base[key]:
                raise StateError(f"vocab: {key} differs from the base's ({state[key]!r} vs {base[key]!r})")
        same, new_rid = Vocabulary.row_map(state, base)
        m = min(same.size, int(base["next_id"]))
        inc_ids = np.flatnonzero(same[:m] & (state["counts"][:m] != base["counts"][:m]))
        off = state["words_offsets"]
        raw = state["words_blob"]
        lens = off[new_rid + 1] - off[new_rid]
        new_off = np.zeros(new_rid.size + 1, dtype=np.int64)
        np.cumsum(lens, out=new_off[1:])
        blob = np.concatenate([raw[off[i]:off[i + 1]] for i in new_rid.tolist()]) if new_rid.size else \
            np.zeros(0, dtype=np.uint8)
        return {"inc_ids": inc_ids.astype(np.int32), "inc": state["counts"][inc_ids] - base["counts"][inc_ids],
                "new_hash": state["hashes"][new_rid].copy(), "new_count": state["counts"][new_rid].copy(),
                "new_blob": blob.astype(np.uint8), "new_offsets": new_off,
                **{k: int(state[k]) - int(base[k]) for k in Vocabulary._DELTA_COUNTERS},
                "sketch": CountMinSketch.state_delta(state["sketch"], base["sketch"], cells=sketch_cells)}

    @staticmethod
    def merge_deltas(base: dict, deltas: list, inplace: bool = False, table: bool = True) -> tuple[dict, dict]:
        """Merge the replicas' vocabulary deltas (:meth:`state_delta`) into the base: the next merged vocabulary.

        A word's count is its count at the start of the round (the base's, or for a word new in
        the round the base sketch's estimate, which every replica shared) plus what each replica
        saw of it: exactly where it was admitted, from that replica's sketch elsewhere
        (:meth:`CountMinSketch.estimate_after`; ``table=False``: the sketch's scalars only, see
        :meth:`CountMinSketch.merge_deltas`). Base words keep their ids; new words take the
        base's free ids (lowest first), then new ids, by decreasing merged count (ties: by hash);
        beyond ``max_vocab`` the rarest new words are dropped. A new word's bytes come from the
        first replica that admitted it. The sketch merges by :meth:`CountMinSketch.merge_deltas`
        (into the base's table itself with ``inplace``; the other arrays are new, O(ids)).

        Returns
        -------
        state : dict
            A :meth:`state_dict` (every replica loads it, so a word has one id everywhere).
        plan : dict
            Where each replica's rows go, for the other components' merges: ``n`` (ids),
            ``n_base``, ``counts`` (n,) int64, ``hashes`` (n,) uint64, ``dst`` (one (m_k,) int64
            array per replica: the merged id of each of its new entries, -1 if dropped),
            ``moved`` (per replica, (m_k,) bool: the entry is a base word), ``share`` (per
            replica, (m_k,) float64: 1 / the number of replicas that admitted the new word),
            ``new_ids`` (ids of the words new in the round) and ``inc`` ((K, n) int64: each
            replica's occurrences of each merged id in the round).

        Raises
        ------
        StateError
            If the base holds more than ``max_vocab`` words.
        """
        nb = int(base["next_id"])
        bc, bh = base["counts"][:nb], base["hashes"][:nb]
        b_live = np.flatnonzero(bc > 0)
        all_h = np.unique(np.concatenate([bh[b_live]] + [d["new_hash"] for d in deltas]))
        n_all = all_h.size
        pos_b = np.searchsorted(all_h, bh[b_live])
        in_base = np.zeros(n_all, dtype=bool)
        in_base[pos_b] = True
        b_of = np.full(n_all, -1, dtype=np.int64)
        b_of[pos_b] = b_live
        start = np.zeros(n_all, dtype=np.int64)
        start[pos_b] = bc[b_live]
        sk = base["sketch"]
        if (~in_base).any():
            start[~in_base] = cms_estimate_batch(sk["table"], sk["seeds"], all_h[~in_base])
        K = len(deltas)
        inc = np.zeros((K, n_all), dtype=np.int64)
        live_new = np.zeros((K, n_all), dtype=bool)
        src = np.full(n_all, -1, dtype=np.int64)  # first replica holding a new word, and its entry there
        src_e = np.full(n_all, -1, dtype=np.int64)
        pos_new = []
        for k, d in enumerate(deltas):
            pos = np.searchsorted(all_h, d["new_hash"])
            pos_new.append(pos)
            inc[k, pos] = d["new_count"] - start[pos]
            live_new[k, pos] = True
            take = (src[pos] < 0) & ~in_base[pos]
            src[pos[take]], src_e[pos[take]] = k, np.flatnonzero(take)
            ids = d["inc_ids"].astype(np.int64)
            inc[k, np.searchsorted(all_h, bh[ids])] = d["inc"]
            m = ~live_new[k] & ~in_base  # admitted elsewhere: this replica's sketch saw it
            if m.any():
                inc[k, m] = CountMinSketch.estimate_after(sk, d["sketch"], all_h[m]) - start[m]
        inc = np.maximum(inc, 0)
        merged = np.maximum(start + inc.sum(axis=0), 1)
        max_vocab = int(base["max_vocab"])
        room = max_vocab - int(in_base.sum())
        if room < 0:
            raise StateError("vocab: base holds more than max_vocab words")
        new_idx = np.flatnonzero(~in_base)
        new_idx = new_idx[np.lexsort((all_h[new_idx], -merged[new_idx]))][:room]
        ids = np.where(in_base, b_of, -1)
        free = np.setdiff1d(np.arange(nb, dtype=np.int64), b_live)  # sorted
        nf = min(free.size, new_idx.size)
        ids[new_idx[:nf]] = free[:nf]
        ids[new_idx[nf:]] = nb + np.arange(new_idx.size - nf)
        n = nb + new_idx.size - nf
        keep = ids >= 0
        counts = np.zeros(n, dtype=np.int64)
        hashes = np.zeros(n, dtype=np.uint64)
        counts[ids[keep]] = merged[keep]
        hashes[ids[keep]] = all_h[keep]
        stale = counts[:nb] == 0  # a free id keeps the hash of its last word (as the kernel leaves it)
        hashes[:nb][stale] = bh[stale]
        # the words' bytes: base words from the base's blob, new ones from the first replica that admitted them
        # one gather from [base blob | every delta's new words]: (start, length) of each merged id's bytes
        boff, bblob = base["words_offsets"], base["words_blob"]
        shift = np.cumsum([bblob.size] + [d["new_blob"].size for d in deltas])
        src_buf = np.concatenate([bblob] + [d["new_blob"] for d in deltas]) if deltas else bblob
        start_b = np.zeros(n, dtype=np.int64)
        lens = np.zeros(n, dtype=np.int64)
        start_b[b_live] = boff[b_live]
        lens[b_live] = boff[b_live + 1] - boff[b_live]
        nj = np.flatnonzero(keep & ~in_base)
        for k, d in enumerate(deltas):
            sel = nj[src[nj] == k]
            e = src_e[sel]
            start_b[ids[sel]] = shift[k] + d["new_offsets"][e]
            lens[ids[sel]] = d["new_offsets"][e + 1] - d["new_offsets"][e]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        gather = np.repeat(start_b - offsets[:-1], lens) + np.arange(int(offsets[-1]), dtype=np.int64)
        free_ids = np.flatnonzero(counts == 0).astype(np.int32)[::-1].copy()
        state = {
            "hashes": hashes, "counts": counts, "free_ids": free_ids,
            "words_blob": src_buf[gather].astype(np.uint8),
            "words_offsets": offsets, "words_has": counts > 0, "next_id": n, "n_free": int(free_ids.size),
            "total": int(counts.sum()), "n_events": 0,
            "sketch": CountMinSketch.merge_deltas(sk, [d["sketch"] for d in deltas], inplace=inplace, table=table),
            "min_count": base["min_count"], "max_vocab": base["max_vocab"], "prune_fraction": base["prune_fraction"],
            **{k: int(base[k]) + sum(int(d[k]) for d in deltas) for k in Vocabulary._DELTA_COUNTERS},
        }
        n_hold = live_new.sum(axis=0)
        inc_ids = np.zeros((K, n), dtype=np.int64)
        inc_ids[:, ids[keep]] = inc[:, keep]
        plan = {"n": n, "n_base": nb, "counts": counts, "hashes": hashes, "inc": inc_ids,
                "dst": [ids[p] for p in pos_new], "moved": [in_base[p] for p in pos_new],
                "share": [1.0 / np.maximum(n_hold[p], 1) for p in pos_new],
                "new_ids": ids[np.flatnonzero(keep & ~in_base)]}
        return state, plan

    @staticmethod
    def apply_update(base: dict, update: dict) -> tuple[dict, dict]:
        """``merge_deltas(base, [update], inplace=True)`` for the merged update, without sorting every word.

        The merged update (:meth:`state_delta` of a merged vocabulary against its base) names the
        base words whose count grew by id and the words new in the round by hash; base words keep
        their ids in a merge, so none of its new entries is a base word. The new words are placed
        as :meth:`merge_deltas` places them (by decreasing count, then hash, into the base's free
        ids from the lowest, then new ids), which needs a sort of the new words only; the counts,
        hashes and word bytes are built with O(ids) copies and the sketch's cells are added in
        place. Equal to ``merge_deltas(base, [update])`` (state and plan) for such an update.

        Parameters
        ----------
        base : dict
            The replica's base vocabulary (:meth:`state_dict`, writable sketch table); its sketch
            table is modified.
        update : dict
            :meth:`state_delta` of the merged vocabulary against ``base``.

        Returns
        -------
        state, plan : dict, dict
            As :meth:`merge_deltas` with one delta (the plan's ``inc`` is omitted).

        Raises
        ------
        StateError
            If the base holds more than ``max_vocab`` words.
        """
        nb = int(base["next_id"])
        bc, bh = base["counts"][:nb], base["hashes"][:nb]
        sk = base["sketch"]
        nh = update["new_hash"]
        start = cms_estimate_batch(sk["table"], sk["seeds"], nh) if nh.size else np.zeros(0, dtype=np.int64)
        merged_new = np.maximum(start + np.maximum(update["new_count"] - start, 0), 1)
        n_live = nb - int(base["n_free"])
        room = int(base["max_vocab"]) - n_live
        if room < 0:
            raise StateError("vocab: base holds more than max_vocab words")
        order = np.lexsort((nh, -merged_new))[:room]  # entries placed, in placement order
        free = np.sort(base["free_ids"][:int(base["n_free"])].astype(np.int64))
        nf = min(free.size, order.size)
        dst = np.full(nh.size, -1, dtype=np.int64)
        dst[order[:nf]] = free[:nf]
        dst[order[nf:]] = nb + np.arange(order.size - nf)
        n = nb + order.size - nf
        counts = np.zeros(n, dtype=np.int64)
        counts[:nb] = bc
        ids = update["inc_ids"].astype(np.int64)
        counts[ids] = np.maximum(bc[ids] + np.maximum(update["inc"], 0), 1)
        hashes = np.zeros(n, dtype=np.uint64)
        hashes[:nb] = bh
        kept = dst >= 0
        counts[dst[kept]] = merged_new[kept]
        hashes[dst[kept]] = nh[kept]
        # the words' bytes: one gather from [base blob | the update's new words]
        boff, bblob = base["words_offsets"], base["words_blob"]
        src_buf = np.concatenate([bblob, update["new_blob"]])
        start_b = np.zeros(n, dtype=np.int64)
        lens = np.zeros(n, dtype=np.int64)
        live_b = bc > 0
        start_b[:nb][live_b] = boff[:nb][live_b]
        lens[:nb][live_b] = (boff[1:nb + 1] - boff[:nb])[live_b]
        noff = update["new_offsets"]
        start_b[dst[kept]] = bblob.size + noff[:-1][kept]
        lens[dst[kept]] = (noff[1:] - noff[:-1])[kept]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        gather = np.repeat(start_b - offsets[:-1], lens) + np.arange(int(offsets[-1]), dtype=np.int64)
        free_ids = np.flatnonzero(counts == 0).astype(np.int32)[::-1].copy()
        state = {
            "hashes": hashes, "counts": counts, "free_ids": free_ids, "words_blob": src_buf[gather].astype(np.uint8),
            "words_offsets": offsets, "words_has": counts > 0, "next_id": n, "n_free": int(free_ids.size),
            "total": int(counts.sum()), "n_events": 0,
            "sketch": CountMinSketch.merge_deltas(sk, [update["sketch"]], inplace=True),
            "min_count": base["min_count"], "max_vocab": base["max_vocab"], "prune_fraction": base["prune_fraction"],
            **{k: int(base[k]) + int(update[k]) for k in Vocabulary._DELTA_COUNTERS},
        }
        plan = {"n": n, "n_base": nb, "counts": counts, "hashes": hashes, "dst": [dst],
                "moved": [np.zeros(nh.size, dtype=bool)], "share": [np.ones(nh.size, dtype=np.float64)],
                "new_ids": np.sort(dst[kept])}
        return state, plan

    def assign(self, state: dict, cells: np.ndarray | None = None, shift: tuple | None = None) -> np.ndarray:
        """Make this vocabulary equal to ``state`` (a :meth:`state_dict`) in place, in O(ids + changed words).

        A replica that trained a round from a base and receives the merged vocabulary takes it
        without a rebuild: counts, hashes and the free stack are copied (O(ids)), the hash table is
        rebuilt (O(capacity), as :meth:`from_state` does), and only the words whose id changed are
        decoded and re-keyed. The result equals ``Vocabulary.from_state(state)`` in every array
        :meth:`state_dict` returns and in every lookup.

        Parameters
        ----------
        state : dict
            The merged vocabulary (same settings).
        cells : ndarray, optional
            The sketch cells where this sketch may differ from ``state``'s
            (:meth:`CountMinSketch.assign`); None: the whole table.
        shift : (dict, dict), optional
            Instead of copying cells: the sketch deltas ``(plus, minus)`` by which this sketch's
            table differs from ``state``'s (:meth:`CountMinSketch.assign_shifted`; ``state``'s table
            is then not read).

        Returns
        -------
        ndarray, shape (k,), int64
            The ids whose word (or liveness) changed: their rows of the other per-id arrays must be
            taken from the merged state too.

        Raises
        ------
        StateError
            If the settings differ or the state holds more ids than ``max_vocab``.
        """
        for key in ("min_count", "max_vocab", "prune_fraction"):
            if state[key] != getattr(self, key):
                raise StateError(f"vocab: {key} differs ({state[key]!r} vs {getattr(self, key)!r})")
        n, n_old = int(state["next_id"]), self.n_ids
        if n > self.max_vocab:
            raise StateError(f"vocab: {n} ids beyond max_vocab {self.max_vocab}")
        if n > self.capacity:
            self.grow(n)
        m = max(n, n_old)
        live_new = np.zeros(m, dtype=bool)
        live_new[:n] = state["counts"][:n] > 0
        h_new = np.zeros(m, dtype=np.uint64)
        h_new[:n] = state["hashes"][:n]
        live_old = self.counts[:m] > 0
        changed = np.flatnonzero((live_new != live_old) | (live_new & (h_new != self.hashes[:m])))
        self.hashes[:n] = state["hashes"]
        self.counts[:n] = state["counts"]
        self.hashes[n:m] = 0
        self.counts[n:m] = 0
        nf = int(state["n_free"])
        self.free_ids[:nf] = state["free_ids"]
        record_from_dict(self.meta, {**state, "n_events": 0}, "vocab")
        table_rebuild(self.keys, self.vals, self.hashes, self.counts, n)
        itk, kti = self.index_to_key, self.key_to_index
        if len(itk) < n:
            itk.extend([None] * (n - len(itk)))
        off, raw = state["words_offsets"], state["words_blob"]
        for i in changed.tolist():
            old = itk[i] if i < len(itk) else None
            if old is not None and kti.get(old) == i:
                del kti[old]
            itk[i] = None
        for i in changed.tolist():
            if i < n and live_new[i]:
                try:
                    w = bytes(raw[off[i]:off[i + 1]]).decode("utf-8")
                except UnicodeDecodeError as e:
                    raise StateError(f"vocab: a word is not valid UTF-8 ({e})") from e
                itk[i] = w
                kti[w] = i
        del itk[n:]
        if shift is None:
            self.sketch.assign(state["sketch"], cells)
        else:
            self.sketch.assign_shifted(state["sketch"], *shift)
        return changed
