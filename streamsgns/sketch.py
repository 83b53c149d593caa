"""Count-min sketch with conservative update (Cormode & Muthukrishnan 2005).

Unigram counts of the words that are *not yet* in the vocabulary live here:
a word is admitted once its estimate reaches ``min_count`` (see
:mod:`streamsgns.vocab`). The sketch never undercounts, and with the
``(epsilon, delta)`` sizing of river's ``sketch.Counter``,
``width = ceil(e / epsilon)`` and ``depth = ceil(ln(1 / delta))``, an
estimate exceeds the true count by more than ``epsilon * N`` (``N`` = total
count added) with probability at most ``delta`` (Cormode & Muthukrishnan
2005, Theorem 1). Conservative update (Estan & Varghese 2002) only raises the
cells that hold the minimum, which keeps that guarantee and shrinks the error.

Keys are 64-bit token hashes (:func:`streamsgns.hashing.hash_bytes`); row
``r`` maps hash ``h`` to column ``mix64(h ^ seeds[r]) mod width``.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_array, new_record, record_from_dict, record_to_dict
from .hashing import hash_token, mix64, seed_states

__all__ = ["CountMinSketch", "SketchArrays", "SKETCH_RECORD", "cms_add", "cms_estimate", "cms_add_batch",
           "cms_estimate_batch", "sketch_count"]

#: Scalars of the sketch: ``total`` = sum of all increments (``N`` of the error bound).
SKETCH_RECORD = np.dtype([("total", np.int64)])

#: What the kernels receive: ``table`` (depth, width) uint32, ``seeds`` (depth,) uint64, ``meta`` (1,) SKETCH_RECORD.
SketchArrays = namedtuple("SketchArrays", "table seeds meta")

_U32MAX = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


@njit(cache=True, nogil=True, inline="always")
def _col(h, seed, width):
    # "fastrange" (Lemire 2019): maps 32 random bits onto [0, width) without a division
    return np.int64(((mix64(h ^ seed) >> _S32) * np.uint64(width)) >> _S32)


@njit(cache=True, nogil=True)
def cms_estimate(table, seeds, h):
    """Estimated count of key ``h``: the minimum over the rows (never below the truth)."""
    depth, width = table.shape
    est = _U32MAX
    for r in range(depth):
        v = np.uint64(table[r, _col(h, seeds[r], width)])
        if v < est:
            est = v
    return np.int64(est)


@njit(cache=True, nogil=True)
def cms_add(table, seeds, h, c):
    """Add ``c`` to key ``h`` with conservative update; return the new estimate.

    Parameters
    ----------
    table : ndarray, shape (depth, width), uint32
        Updated in place; cells saturate at ``2**32 - 1``.
    seeds : ndarray, shape (depth,), uint64
    h : numpy.uint64
        Key (a token hash).
    c : int
        Non-negative increment.

    Returns
    -------
    int
        The estimate of ``h`` after the update (>= its true count).
    """
    depth, width = table.shape
    new = np.uint64(cms_estimate(table, seeds, h)) + np.uint64(c)
    if new > _U32MAX:
        new = _U32MAX
    for r in range(depth):
        j = _col(h, seeds[r], width)
        if np.uint64(table[r, j]) < new:
            table[r, j] = np.uint32(new)
    return np.int64(new)


@njit(cache=True, nogil=True)
def cms_add_batch(table, seeds, hashes, counts):
    """Add ``counts[i]`` to ``hashes[i]`` for every i, in order (conservative update).

    Parameters
    ----------
    table : ndarray, shape (depth, width), uint32
    seeds : ndarray, shape (depth,), uint64
    hashes : ndarray, shape (n,), uint64
    counts : ndarray, shape (n,), int64

    Returns
    -------
    ndarray, shape (n,), int64
        Estimates right after each update.
    """
    out = np.empty(hashes.shape[0], dtype=np.int64)
    for i in range(hashes.shape[0]):
        out[i] = cms_add(table, seeds, hashes[i], counts[i])
    return out


@njit(cache=True, nogil=True)
def cms_estimate_batch(table, seeds, hashes):
    """Estimates of many keys: ``hashes`` (n,) uint64 → (n,) int64."""
    out = np.empty(hashes.shape[0], dtype=np.int64)
    for i in range(hashes.shape[0]):
        out[i] = cms_estimate(table, seeds, hashes[i])
    return out


@njit(cache=True, nogil=True, inline="always")
def sketch_count(sk, h):
    """Add one occurrence of hash ``h`` to the sketch bundle ``sk`` (:data:`SketchArrays`); return the new estimate."""
    sk.meta[0].total += 1
    return cms_add(sk.table, sk.seeds, h, 1)


class CountMinSketch:
    """Count-min sketch of token counts, conservative update, uint32 cells.

    Give either ``width`` and ``depth`` or ``epsilon`` and ``delta``.

    Parameters
    ----------
    width : int, optional
        Columns per row. Default ``2**20`` when neither sizing is given.
    depth : int, optional
        Rows (independent hash functions). Default 4.
    epsilon : float, optional
        Relative error: ``width = ceil(e / epsilon)``.
    delta : float, optional
        Failure probability: ``depth = ceil(ln(1 / delta))``.
    seed : int
        Seeds the row hash functions (stable across runs and machines).

    Attributes
    ----------
    table : ndarray, shape (depth, width), uint32
        Memory: ``4 * depth * width`` bytes.
    total : int
        Sum of all increments (``N`` in the error bound).

    Raises
    ------
    ValueError
        If the sizes are not positive or ``epsilon``/``delta`` not in (0, 1).

    Examples
    --------
    >>> cms = CountMinSketch(epsilon=0.01, delta=0.01, seed=1)
    >>> cms.width, cms.depth
    (272, 5)
    >>> for w in "to be or not to be".split():
    ...     _ = cms.add(w)
    >>> cms["to"] >= 2 and cms["be"] >= 2
    True
    """

    def __init__(self, width=None, depth=None, *, epsilon=None, delta=None, seed=0):
        if epsilon is not None or delta is not None:
            if width is not None or depth is not None:
                raise ValueError("give either (width, depth) or (epsilon, delta), not both")
            epsilon = 0.001 if epsilon is None else float(epsilon)
            delta = 0.01 if delta is None else float(delta)
            if not (0 < epsilon < 1 and 0 < delta < 1):
                raise ValueError(f"epsilon and delta must be in (0, 1), got {epsilon}, {delta}")
            width = math.ceil(math.e / epsilon)
            depth = math.ceil(math.log(1 / delta))
        width = 1 << 20 if width is None else int(width)
        depth = 4 if depth is None else int(depth)
        if width < 1 or depth < 1 or width >= 1 << 32:
            raise ValueError(f"need 1 <= width < 2**32 and depth >= 1, got {width}, {depth}")
        self.seed = int(seed)
        self.table = np.zeros((depth, width), dtype=np.uint32)
        self.seeds = seed_states(self.seed ^ 0x5EED5EED, depth)
        self.meta = new_record(SKETCH_RECORD)

    @property
    def total(self) -> int:
        """Sum of all increments (``N`` of the error bound), in tokens."""
        return int(self.meta[0]["total"])

    @total.setter
    def total(self, value: int) -> None:
        self.meta[0]["total"] = int(value)

    def arrays(self) -> SketchArrays:
        """The bundle the kernels read and update in place (no copies)."""
        return SketchArrays(self.table, self.seeds, self.meta)

    def state_dict(self) -> dict:
        """The sketch's whole state: ``table`` (depth, width) uint32, ``seeds`` (depth,) uint64, ``total``, ``seed``.

        The arrays are the live ones (not copies). :meth:`from_state` restores it; sketches with
        the same seeds merge by adding tables (Cormode & Muthukrishnan 2005, section 4).
        """
        return {"table": self.table, "seeds": self.seeds, "seed": self.seed, **record_to_dict(self.meta)}

    @classmethod
    def from_state(cls, state: dict) -> "CountMinSketch":
        """Rebuild a sketch from :meth:`state_dict` output (arrays are copied).

        Raises
        ------
        StateError
            If an array is missing, of the wrong dtype or shape, or ``total`` is negative.
        """
        table = check_array(state, "table", np.uint32, 2, "sketch")
        seeds = check_array(state, "seeds", np.uint64, 1, "sketch", shape=(table.shape[0],))
        if table.shape[0] < 1 or not 1 <= table.shape[1] < (1 << 32):
            raise StateError(f"sketch: bad table shape {table.shape}")
        obj = cls(table.shape[1], table.shape[0], seed=int(state.get("seed", 0)))
        obj.table[...] = table
        obj.seeds[...] = seeds
        record_from_dict(obj.meta, state, "sketch")
        if obj.total < 0:
            raise StateError(f"sketch: negative total {obj.total}")
        return obj

    @property
    def width(self) -> int:
        return self.table.shape[1]

    @property
    def depth(self) -> int:
        return self.table.shape[0]

    @property
    def epsilon(self) -> float:
        """Relative error of the estimates: ``e / width``."""
        return math.e / self.width

    @property
    def delta(self) -> float:
        """Probability that an estimate exceeds ``epsilon * total``: ``exp(-depth)``."""
        return math.exp(-self.depth)

    def error_bound(self) -> float:
        """Additive error (in counts) that holds with probability ``1 - delta``."""
        return self.epsilon * self.total

    def add(self, token, count: int = 1) -> int:
        """Add ``count`` occurrences of ``token`` (str, bytes or int hash).

        Returns
        -------
        int
            The new estimate.

        Raises
        ------
        ValueError
            If ``count`` is negative (a count-min sketch cannot decrement
            under conservative update).
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        h = token if isinstance(token, (int, np.integer)) else hash_token(token)
        self.total += int(count)
        return int(cms_add(self.table, self.seeds, np.uint64(h), count))

    def add_many(self, hashes: np.ndarray, counts=None) -> np.ndarray:
        """Batch :meth:`add` on hashes: (n,) uint64 and (n,) int64 counts (default 1)."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        if counts is None:
            counts = np.ones(hashes.shape[0], dtype=np.int64)
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        if counts.shape != hashes.shape:
            raise ValueError("hashes and counts must have the same shape")
        if (counts < 0).any():
            raise ValueError("counts must be >= 0")
        self.total += int(counts.sum())
        return cms_add_batch(self.table, self.seeds, hashes, counts)

    def estimate(self, token) -> int:
        """Estimated count of ``token`` (str, bytes or int hash); never below the truth."""
        h = token if isinstance(token, (int, np.integer)) else hash_token(token)
        return int(cms_estimate(self.table, self.seeds, np.uint64(h)))

    def estimate_many(self, hashes: np.ndarray) -> np.ndarray:
        """Batch :meth:`estimate`: (n,) uint64 → (n,) int64."""
        return cms_estimate_batch(self.table, self.seeds, np.ascontiguousarray(hashes, dtype=np.uint64))

    __getitem__ = estimate

    @property
    def nbytes(self) -> int:
        """Memory held by the table, in bytes."""
        return int(self.table.nbytes)
