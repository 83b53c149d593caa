"""Incremental vocabulary: word ↔ id, exact counts, admission at ``min_count``.

A token first lives in the count-min sketch (:mod:`streamsgns.sketch`). Once
the sketch's estimate reaches ``min_count`` the word is *admitted*: it gets an
id (a row of ``W`` and ``C``), an exact count that starts from the sketch's
estimate and, from then on, is trained. This is word2vec's ``min_count``
(Mikolov et al. 2013) made online: no vocabulary pass is needed.

``max_vocab`` bounds memory. When an admission finds the vocabulary full, the
rarest ``prune_fraction`` of the admitted words (ties broken by id) are
evicted at once (like gensim's ``max_vocab_size`` pruning, amortised: one
O(V log V) prune per ``prune_fraction * max_vocab`` admissions); their ids
go to a free list and are reused, their rows re-initialised at the next
admission. ``W``/``C`` capacity grows by doubling up to ``max_vocab``.

The look-up structure is an open-addressing hash table (linear probing,
backward-shift deletion) on 64-bit token hashes, usable from numba. Two
distinct words sharing a 64-bit hash would be merged; for a million words
the probability is about 3e-8.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashing import hash_token
from .sketch import CountMinSketch

__all__ = ["Vocabulary", "table_lookup", "table_insert", "table_delete", "table_rebuild"]

_EMPTY = np.uint64(0)


@njit(cache=True, nogil=True, inline="always")
def table_lookup(keys, vals, h):
    """Id of hash ``h`` in the table, or -1.

    Parameters
    ----------
    keys : ndarray, shape (T,), uint64
        ``T`` a power of two; 0 marks an empty slot.
    vals : ndarray, shape (T,), int32
    h : numpy.uint64
        Non-zero key.
    """
    mask = keys.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    while True:
        k = keys[i]
        if k == h:
            return np.int64(vals[i])
        if k == _EMPTY:
            return np.int64(-1)
        i = (i + 1) & mask


@njit(cache=True, nogil=True)
def table_insert(keys, vals, h, v):
    """Insert or overwrite ``h → v``. The table must have a free slot."""
    mask = keys.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    while keys[i] != _EMPTY and keys[i] != h:
        i = (i + 1) & mask
    keys[i] = h
    vals[i] = v


@njit(cache=True, nogil=True)
def table_delete(keys, vals, h):
    """Remove ``h`` (backward-shift deletion, no tombstones). Absent keys are ignored."""
    mask = keys.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    while keys[i] != h:
        if keys[i] == _EMPTY:
            return
        i = (i + 1) & mask
    j = i
    while True:
        keys[i] = _EMPTY
        while True:
            j = (j + 1) & mask
            if keys[j] == _EMPTY:
                return
            home = np.int64(keys[j] & np.uint64(mask))
            # keep keys[j] where it is if its home lies cyclically in (i, j]
            if i <= j:
                if i < home <= j:
                    continue
            else:
                if home > i or home <= j:
                    continue
            break
        keys[i] = keys[j]
        vals[i] = vals[j]
        i = j


@njit(cache=True, nogil=True)
def table_rebuild(keys, vals, hashes, counts, n):
    """Clear the table and insert ``hashes[i] → i`` for every live id ``i < n``.

    A live id has ``counts[i] > 0``.
    """
    keys[:] = _EMPTY
    for i in range(n):
        if counts[i] > 0:
            table_insert(keys, vals, hashes[i], i)


def _table_size(capacity: int) -> int:
    size = 16
    while size < 2 * capacity:
        size <<= 1
    return size


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
        (16 MiB).
    prune_fraction : float
        Fraction of ``max_vocab`` evicted when full, in (0, 1].
    capacity : int
        Initial number of rows (grows by doubling up to ``max_vocab``).

    Attributes
    ----------
    hashes : ndarray, shape (capacity,), uint64
        Token hash of each id.
    counts : ndarray, shape (capacity,), int64
        Exact count of each admitted word since admission (plus the sketch's
        estimate at admission); 0 marks a free id.
    free_ids : ndarray, shape (capacity,), int32
        Stack of free ids (``n_free`` of them are valid).
    index_to_key : list of (str or None)
        Word of each id (None for free ids).
    key_to_index : dict[str, int]

    Raises
    ------
    ValueError
        On non-positive ``min_count``/``max_vocab`` or a bad ``prune_fraction``.
    """

    def __init__(self, min_count=5, max_vocab=1_000_000, sketch=None, prune_fraction=0.1, capacity=1024, seed=0):
        if int(min_count) < 1:
            raise ValueError("min_count must be >= 1")
        if int(max_vocab) < 1:
            raise ValueError("max_vocab must be >= 1")
        if not 0 < float(prune_fraction) <= 1:
            raise ValueError("prune_fraction must be in (0, 1]")
        self.min_count = int(min_count)
        self.max_vocab = int(max_vocab)
        self.prune_fraction = float(prune_fraction)
        self.sketch = sketch if sketch is not None else CountMinSketch(1 << 20, 4, seed=seed)
        cap = max(1, min(int(capacity), self.max_vocab))
        self.hashes = np.zeros(cap, dtype=np.uint64)
        self.counts = np.zeros(cap, dtype=np.int64)
        self.free_ids = np.zeros(cap, dtype=np.int32)
        size = _table_size(cap)
        self.keys = np.zeros(size, dtype=np.uint64)
        self.vals = np.zeros(size, dtype=np.int32)
        self.index_to_key: list = []
        self.key_to_index: dict[str, int] = {}

    @property
    def capacity(self) -> int:
        """Rows allocated (ids ``0 .. capacity-1``)."""
        return int(self.counts.shape[0])

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
        size = _table_size(new)
        if size != self.keys.shape[0]:
            self.keys = np.zeros(size, dtype=np.uint64)
            self.vals = np.zeros(size, dtype=np.int32)
            table_rebuild(self.keys, self.vals, self.hashes, self.counts, len(self.index_to_key))
        return new

    def apply_admissions(self, events: np.ndarray, buf: np.ndarray) -> None:
        """Mirror admissions made by the numba kernel into the Python maps.

        Parameters
        ----------
        events : ndarray, shape (m, 3), int64
            ``(id, start, end)``: ``buf[start:end]`` is the UTF-8 word admitted as ``id``.
        buf : ndarray, shape (n,), uint8
            The block the events point into.
        """
        raw = buf.tobytes() if len(events) else b""
        itk, kti = self.index_to_key, self.key_to_index
        for wid, s, e in events.tolist():
            word = raw[s:e].decode("utf-8", "replace")
            if wid >= len(itk):
                itk.extend([None] * (wid + 1 - len(itk)))
            old = itk[wid]
            if old is not None and kti.get(old) == wid:
                del kti[old]
            itk[wid] = word
            kti[word] = wid

    def drop_evicted(self) -> None:
        """Forget the words whose ids the kernel freed (count 0) after a prune."""
        itk, kti = self.index_to_key, self.key_to_index
        counts = self.counts
        for wid, word in enumerate(itk):
            if word is not None and counts[wid] == 0:
                if kti.get(word) == wid:
                    del kti[word]
                itk[wid] = None

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
