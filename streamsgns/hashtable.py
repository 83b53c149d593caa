"""Open-addressing hash table on 64-bit token hashes, usable from numba (the vocabulary's look-up).

Linear probing, backward-shift deletion (no tombstones; Knuth, TAOCP vol. 3, 6.4, algorithm R).
Keys are non-zero uint64 token hashes (0 marks an empty slot), values int32 ids; the table
size is a power of two at least twice the number of ids (:func:`table_size`), so probes
stay short. Used by :mod:`streamsgns.vocab`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["table_lookup", "table_insert", "table_delete", "table_rebuild", "table_size"]

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


def table_size(capacity: int) -> int:
    """Slots for ``capacity`` ids: the smallest power of two >= ``2 * capacity`` (at least 16)."""
    size = 16
    while size < 2 * capacity:
        size <<= 1
    return size
