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

**Aging.** Without it, ``N`` grows for ever on an endless stream, so ``epsilon * N``
does too: once every cell holds ``min_count``, any one-off token (an ID, a hash) is
"seen ``min_count`` times" and admitted (measured: 10M distinct tokens admit ~942k
of them with the default ``2**20 × 4`` sketch). With ``halve_every = H > 0`` every
cell and ``total`` are halved (floor) each time ``H`` increments have been added
since the last halving. The sketch then estimates the *halved stream*: a key's
count ``f~`` is halved (floor) at the same moments. Since ``floor`` is monotone,
a cell that held at least ``f~`` of each of its keys still does, so estimates
never undercount ``f~``; and with real-valued halving the plain sketch is linear,
so Theorem 1 of Cormode & Muthukrishnan (2005) applies to the halved stream as it
stands. Flooring loses at most 1 count per key, so with probability ``1 - delta``

    f~(x) <= estimate(x) <= f~(x) + epsilon * N~ + 1,   N~ = total < 2 H

(``N~`` settles just below ``2H``: halving ``H + N~`` gives back ``N~`` at
``N~ = H``; conservative update only lowers cells, Estan & Varghese 2002).
:func:`default_halving_tokens` picks ``H = width * (min_count - 1) / (2e)`` so
that ``epsilon * 2H = min_count - 1``: a one-off token reaches ``min_count`` with
probability below ``delta``, however long the stream. :func:`halve_table`
is the one halving: exponential forgetting (:mod:`streamsgns.forget`) halves this sketch through it.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._state import (StateError, check_array, check_delta_keys, new_record, record_from_dict, record_to_dict,
                     small_index)
from .hashing import hash_token, mix64, seed_states

__all__ = ["CountMinSketch", "SketchArrays", "SKETCH_RECORD", "cms_add", "cms_estimate", "cms_add_batch",
           "cms_estimate_batch", "cms_cells", "sketch_count", "sketch_add_batch", "halve_table", "sketch_age",
           "default_halving_tokens", "MIN_HALVING_TOKENS"]

#: Scalars of the sketch (int64): ``total`` = sum of the increments, halved with the cells (``N~`` of
#: the error bound); ``halve_every`` = increments between two halvings (0: never age);
#: ``since_halving`` = increments since the last halving; ``n_halvings`` = halvings so far.
SKETCH_RECORD = np.dtype([("total", np.int64), ("halve_every", np.int64), ("since_halving", np.int64),
                          ("n_halvings", np.int64)])

#: Shortest aging interval :func:`default_halving_tokens` picks, in tokens added to the sketch. A
#: word must be seen ``min_count`` times within about ``H .. 2H`` such tokens to be admitted, so a
#: very short horizon would refuse real rare words (a small sketch rather needs a wider table).
#: 2**17 is also longer than every test stream, so defaults give the pre-aging results there.
MIN_HALVING_TOKENS = 1 << 17


def default_halving_tokens(width: int, min_count: int) -> int:
    """The default aging interval ``H`` (tokens added to the sketch between two halvings).

    ``H = max(MIN_HALVING_TOKENS, floor(width * (min_count - 1) / (2 e)))``: with the total
    kept below ``2H``, the bound ``epsilon * N~ < (e / width) * 2H`` of Theorem 1 (Cormode &
    Muthukrishnan 2005) is ``min_count - 1``, so a token seen once reaches ``min_count`` with
    probability below ``delta = exp(-depth)`` (the module docstring gives the argument).
    Measured with the default ``2**20 × 4`` sketch and ``min_count=5`` (``H = 771,499``): 10M
    distinct tokens admit none (H = 0.5, 0.74, 1, 2 × width: 0; 4 × width: 69; never aging: 1,240,783
    reach the threshold).

    Parameters
    ----------
    width : int
        Columns of the sketch.
    min_count : int
        The admission threshold.

    Returns
    -------
    int
        ``H`` in tokens (>= ``MIN_HALVING_TOKENS``).

    Examples
    --------
    >>> default_halving_tokens(1 << 20, 5)
    771499
    >>> default_halving_tokens(1 << 12, 5) == MIN_HALVING_TOKENS
    True
    """
    return max(MIN_HALVING_TOKENS, int(width * (int(min_count) - 1) / (2 * math.e)))

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


@njit(cache=True, nogil=True)
def halve_table(table):
    """Halve every cell (an exact shift, i.e. floor): the one halving of a count-min table.

    Rounding down is monotone, so a cell that was >= the count of each of its keys stays >=
    their halved (and rounded down) counts: the sketch still never undercounts the halved
    stream. The aging schedule (:func:`sketch_age`) and exponential forgetting
    (:func:`streamsgns.forget.forget_step`) both halve through it.

    Parameters
    ----------
    table : ndarray, shape (depth, width), uint32
        Updated in place.
    """
    depth, width = table.shape
    for r in range(depth):
        for j in range(width):
            table[r, j] >>= np.uint32(1)


@njit(cache=True, nogil=True)
def sketch_age(sk):
    """Halve the sketch bundle ``sk`` now: every cell and ``total`` (floor), count the halving."""
    m = sk.meta[0]
    halve_table(sk.table)
    m.total >>= 1
    m.n_halvings += 1


@njit(cache=True, nogil=True, inline="always")
def _advance(sk, c):
    """Count ``c`` increments towards the next halving; age as many times as are due."""
    m = sk.meta[0]
    if m.halve_every > 0:
        m.since_halving += c
        if m.since_halving >= m.halve_every:
            due = m.since_halving // m.halve_every
            m.since_halving -= due * m.halve_every
            for _ in range(min(due, 33)):  # 33 halvings clear any uint32 cell: skip the rest
                halve_table(sk.table)
            m.total = m.total >> min(due, 63)
            m.n_halvings += due


@njit(cache=True, nogil=True, inline="always")
def sketch_count(sk, h):
    """Add one occurrence of hash ``h`` to the sketch bundle ``sk`` (:data:`SketchArrays`); return the new estimate.

    The estimate is taken right after the update; when a halving is due (``halve_every``
    increments since the last) the sketch is halved after that.
    """
    sk.meta[0].total += 1
    est = cms_add(sk.table, sk.seeds, h, 1)
    _advance(sk, 1)
    return est


@njit(cache=True, nogil=True)
def sketch_add_batch(sk, hashes, counts):
    """:func:`cms_add_batch` on a bundle, keeping ``total`` and the halving schedule.

    Parameters
    ----------
    sk : SketchArrays
    hashes : ndarray, shape (n,), uint64
    counts : ndarray, shape (n,), int64
        Non-negative.

    Returns
    -------
    ndarray, shape (n,), int64
        Estimates right after each update (before a halving that update makes due).
    """
    out = np.empty(hashes.shape[0], dtype=np.int64)
    for i in range(hashes.shape[0]):
        sk.meta[0].total += counts[i]
        out[i] = cms_add(sk.table, sk.seeds, hashes[i], counts[i])
        _advance(sk, counts[i])
    return out


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
    halve_every : int
        Halve every cell and ``total`` each time this many increments (tokens) have been
        added since the last halving; 0 (default) never ages. See the module docstring for
        the bound it keeps and :func:`default_halving_tokens` for a choice.

    Attributes
    ----------
    table : ndarray, shape (depth, width), uint32
        Memory: ``4 * depth * width`` bytes.
    total : int
        Sum of all increments, halved with the cells (``N~`` in the error bound).
    meta : ndarray, shape (1,), :data:`SKETCH_RECORD`
        ``total``, ``halve_every``, ``since_halving``, ``n_halvings``.

    Raises
    ------
    ValueError
        If the sizes are not positive, ``epsilon``/``delta`` not in (0, 1) or ``halve_every``
        negative.

    Examples
    --------
    >>> cms = CountMinSketch(epsilon=0.01, delta=0.01, seed=1)
    >>> cms.width, cms.depth
    (272, 5)
    >>> for w in "to be or not to be".split():
    ...     _ = cms.add(w)
    >>> cms["to"] >= 2 and cms["be"] >= 2
    True
    >>> aging = CountMinSketch(64, 2, halve_every=4)
    >>> _ = aging.add("x", 3); aging["x"], aging.n_halvings
    (3, 0)
    >>> _ = aging.add("y"); aging["x"], aging.total, aging.n_halvings
    (1, 2, 1)
    """

    def __init__(self, width=None, depth=None, *, epsilon=None, delta=None, seed=0, halve_every=0):
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
        if isinstance(halve_every, bool) or int(halve_every) != halve_every or int(halve_every) < 0:
            raise ValueError(f"halve_every must be an integer >= 0, got {halve_every!r}")
        self.meta = new_record(SKETCH_RECORD)
        self.meta[0]["halve_every"] = int(halve_every)

    @property
    def total(self) -> int:
        """Sum of all increments, halved with the cells (``N~`` of the error bound), in tokens."""
        return int(self.meta[0]["total"])

    @total.setter
    def total(self, value: int) -> None:
        self.meta[0]["total"] = int(value)

    @property
    def halve_every(self) -> int:
        """Increments (tokens) between two halvings; 0 = never."""
        return int(self.meta[0]["halve_every"])

    @property
    def since_halving(self) -> int:
        """Increments (tokens) added since the last halving (or since the start)."""
        return int(self.meta[0]["since_halving"])

    @property
    def n_halvings(self) -> int:
        """Halvings so far (:meth:`halve` calls included)."""
        return int(self.meta[0]["n_halvings"])

    def halve(self) -> None:
        """Halve every cell and ``total`` now (floor), as the schedule does; counts as a halving."""
        sketch_age(self.arrays())

    def arrays(self) -> SketchArrays:
        """The bundle the kernels read and update in place (no copies)."""
        return SketchArrays(self.table, self.seeds, self.meta)

    def state_dict(self) -> dict:
        """The sketch's whole state: ``table`` (depth, width) uint32, ``seeds`` (depth,) uint64, ``seed``
        and the :data:`SKETCH_RECORD` scalars (``total`` and the aging schedule).

        The arrays are the live ones (not copies). :meth:`from_state` restores it; sketches with
        the same seeds merge by adding tables (Cormode & Muthukrishnan 2005, section 4).
        """
        return {"table": self.table, "seeds": self.seeds, "seed": self.seed, **record_to_dict(self.meta)}

    @classmethod
    def from_state(cls, state: dict) -> "CountMinSketch":
        """Rebuild a sketch from :meth:`state_dict` output (arrays are copied).

        A state written before aging existed (no ``halve_every``) loads as a sketch that never
        ages, with ``since_halving = n_halvings = 0``.

        Raises
        ------
        StateError
            If an array is missing, of the wrong dtype or shape, or a scalar is negative,
            or ``since_halving >= halve_every > 0`` (a halving overdue).
        """
        table = check_array(state, "table", np.uint32, 2, "sketch")
        seeds = check_array(state, "seeds", np.uint64, 1, "sketch", shape=(table.shape[0],))
        if table.shape[0] < 1 or not 1 <= table.shape[1] < (1 << 32):
            raise StateError(f"sketch: bad table shape {table.shape}")
        obj = cls(table.shape[1], table.shape[0], seed=int(state.get("seed", 0)))
        obj.table[...] = table
        obj.seeds[...] = seeds
        record_from_dict(obj.meta, {"halve_every": 0, "since_halving": 0, "n_halvings": 0, **state}, "sketch")
        for name in SKETCH_RECORD.names:
            if int(obj.meta[0][name]) < 0:
                raise StateError(f"sketch: negative {name} {int(obj.meta[0][name])}")
        if 0 < obj.halve_every <= obj.since_halving:
            raise StateError(f"sketch: since_halving {obj.since_halving} >= halve_every {obj.halve_every}")
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
        """Add ``count`` occurrences of ``token`` (str, bytes or int hash), then age if due.

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
        return int(sketch_add_batch(self.arrays(), np.array([h], dtype=np.uint64),
                                    np.array([count], dtype=np.int64))[0])

    def add_many(self, hashes: np.ndarray, counts=None) -> np.ndarray:
        """Batch :meth:`add` on hashes: (n,) uint64 and (n,) int64 counts (default 1); returns (n,) int64 estimates."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        if counts is None:
            counts = np.ones(hashes.shape[0], dtype=np.int64)
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        if counts.shape != hashes.shape:
            raise ValueError("hashes and counts must have the same shape")
        if (counts < 0).any():
            raise ValueError("counts must be >= 0")
        return sketch_add_batch(self.arrays(), hashes, counts)

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

    # ---------------------------------------------------------------- replica deltas
    #: Keys of :meth:`state_dict` that :meth:`state_delta` / :meth:`merge_deltas` handle (a new key must get a rule).
    DELTA_KEYS = frozenset({"table", "seeds", "seed", "total", "halve_every", "since_halving", "n_halvings"})

    @staticmethod
    def state_delta(state: dict, base: dict, cells: bool = True) -> dict:
        """What a replica's sketch changed since ``base`` (both :meth:`state_dict` outputs): its changed cells.

        A replica that halved ``k`` times during the round is compared with the base halved ``k``
        times; cells only grow between halvings (conservative update), so the increments
        ``d = table − (base >> k)`` are >= 0 and non-zero only where the round added something.

        Parameters
        ----------
        state, base : dict
            The replica's sketch state at the end of the round, and the one it started from.
        cells : bool
            Look for the changed cells (False: ``cells`` and ``inc`` empty, the scalars only; for a
            caller that takes the cells otherwise, :meth:`assign_shifted`).

        Returns
        -------
        dict
            ``cells`` (m,) int32 flat indices into the (depth, width) table (int64 beyond 2³¹
            cells), ``inc`` (m,) uint32 their increments, ``halvings`` (``k``), and the replica's
            ``total`` and ``since_halving`` (scalars); 8 bytes per changed cell.

        Raises
        ------
        StateError
            On keys without a rule, another table shape or seeds, or fewer halvings than the base.
        """
        check_delta_keys(state, CountMinSketch.DELTA_KEYS, "sketch")
        if state["table"].shape != base["table"].shape or not np.array_equal(state["seeds"], base["seeds"]):
            raise StateError("sketch: a replica's table or seeds differ from the base's")
        k = int(state["n_halvings"]) - int(base["n_halvings"])
        if k < 0:
            raise StateError("sketch: a replica has fewer halvings than the base it started from")
        if not cells:
            return {"cells": np.zeros(0, dtype=np.int32), "inc": np.zeros(0, dtype=np.uint32), "halvings": k,
                    "total": int(state["total"]), "since_halving": int(state["since_halving"])}
        r = state["table"].reshape(-1)
        b = base["table"].reshape(-1)
        if k:
            b = b >> np.uint32(k) if k < 32 else np.zeros_like(b)
        cells = small_index(np.flatnonzero(r > b), r.size)  # uint32 compare: no int64 copy of the table
        return {"cells": cells, "inc": r[cells] - b[cells], "halvings": k,
                "total": int(state["total"]), "since_halving": int(state["since_halving"])}

    @staticmethod
    def estimate_after(base: dict, delta: dict, hashes: np.ndarray) -> np.ndarray:
        """The estimates the replica that sent ``delta`` had for ``hashes`` (``(n,) uint64 → (n,) int64``).

        Its table is ``(base >> halvings) + inc`` at the delta's cells and ``base >> halvings``
        elsewhere: this reads the ``depth`` cells of each hash without rebuilding the table.
        """
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        table = base["table"]
        cells = cms_cells(base["seeds"], table.shape[1], hashes)  # (n, depth)
        vals = table.reshape(-1)[cells].astype(np.int64) >> min(int(delta["halvings"]), 40)
        pos = np.searchsorted(delta["cells"], cells)
        pos = np.minimum(pos, max(delta["cells"].size - 1, 0))
        if delta["cells"].size:
            hit = delta["cells"][pos] == cells
            vals[hit] += delta["inc"][pos[hit]].astype(np.int64)
        return vals.min(axis=1) if vals.size else np.zeros(hashes.shape[0], dtype=np.int64)

    @staticmethod
    def merge_deltas(base: dict, deltas: list, inplace: bool = False, table: bool = True) -> dict:
        """The merged sketch state: ``base`` plus every replica's cell increments (:meth:`state_delta`).

        Sketches of identical hashing merge by adding cells (Cormode & Muthukrishnan 2005, sec. 4).
        If no replica halved, the cells are ``base + Σ inc`` (uint32) and the merged sketch halves
        as often as the summed ``since_halving`` makes due; if some did (at most ``K`` times), the
        base is halved ``K`` times and each replica's increments ``K − k`` times more. The result
        is the sum rule of the dense merge of whole sketches, cell for cell.

        With ``inplace`` and no halving by any replica, the increments are added to ``base["table"]``
        itself (O(changed cells) instead of a copy of the table; a replica applying the merged update
        to its own base). With ``table=False`` and no halving by any replica, only the scalars are
        merged (``table`` is None in the result): for a caller whose table already holds the cells
        (:meth:`assign_shifted`).

        Returns
        -------
        dict
            A :meth:`state_dict` (new arrays, unless ``inplace`` as above).

        Raises
        ------
        ValueError
            With ``table=False`` when a replica halved (the halved base's cells are needed).
        """
        H = int(base["halve_every"])
        ks = [int(d["halvings"]) for d in deltas]
        K = max(ks, default=0)
        since = [int(d["since_halving"]) for d in deltas]
        keep = {"seeds": base["seeds"], "seed": base["seed"], "halve_every": H}
        if K == 0:
            table = (base["table"] if inplace else base["table"].copy()) if table else None
            if table is not None:
                flat = table.reshape(-1)
                for d in deltas:
                    flat[d["cells"]] += d["inc"]
            total = int(base["total"]) + sum(int(d["total"]) - int(base["total"]) for d in deltas)
            since_sum = int(base["since_halving"]) + sum(s - int(base["since_halving"]) for s in since)
            due = since_sum // H if H > 0 else 0
            if due:
                if table is None:
                    pass
                elif due >= 32:
                    table[...] = 0
                else:
                    table >>= np.uint32(due)
                total >>= min(due, 63)
            return {"table": table, **keep, "total": int(total), "since_halving": since_sum - due * H if H > 0 else 0,
                    "n_halvings": int(base["n_halvings"]) + due}
        if not table:
            raise ValueError("sketch: a merge with halvings needs the table")
        b_total = int(base["total"])
        table = base["table"].astype(np.int64) >> min(K, 40)
        flat = table.reshape(-1)
        total = b_total >> K
        s = int(base["since_halving"])
        for d, k, sr in zip(deltas, ks, since):
            flat[d["cells"]] += d["inc"].astype(np.int64) >> (K - k)
            total += max(0, int(d["total"]) - (b_total >> k)) >> (K - k)
            s += sr + k * H - int(base["since_halving"])
        due = s // H if H > 0 else 0
        extra = max(0, due - K)
        if extra:
            table >>= min(extra, 40)
            total >>= min(extra, 63)
        return {"table": np.minimum(table, 0xFFFFFFFF).astype(np.uint32), **keep, "total": int(total),
                "since_halving": int(s - due * H) if H > 0 else 0, "n_halvings": int(base["n_halvings"]) + max(K, due)}


    def assign(self, state: dict, cells: np.ndarray | None = None) -> None:
        """Make this sketch equal to ``state`` (a :meth:`state_dict`), copying only ``cells`` of the table.

        Parameters
        ----------
        state : dict
            The sketch state to take (same shape and seeds).
        cells : ndarray, shape (m,), int64, optional
            Flat indices of the only cells where this table may differ from ``state``'s (the cells
            a replica's round and the merged update changed); None: copy the whole table.

        Raises
        ------
        StateError
            If the table's shape or the seeds differ.
        """
        table = state["table"]
        if table.shape != self.table.shape or not np.array_equal(state["seeds"], self.seeds):
            raise StateError("sketch: table shape or seeds differ")
        if cells is None:
            np.copyto(self.table, table)
        else:
            self.table.reshape(-1)[cells] = table.reshape(-1)[cells]
        record_from_dict(self.meta, state, "sketch")

    def assign_shifted(self, state: dict, plus: dict, minus: dict) -> None:
        """Make this sketch ``state`` when its table differs from ``state``'s, before ``state``'s own
        halvings, by ``plus``'s increments less ``minus``'s: add and subtract them cell by cell, then
        halve as often as ``state`` has halved more than this sketch. O(cells), and O(table) only for
        a halving.

        An overlapped replica's late state is ``S + (X' − X)`` cell for cell (``S`` the merged sketch,
        ``X`` the replica's when it sent its delta, ``X'`` its own now); its table holds ``X'``, and
        ``S − X`` is the merged update's cells less its own delta's (both :meth:`state_delta` against
        the same base, without halvings), so it takes ``plus`` = the update, ``minus`` = its delta
        (:func:`streamsgns.distributed.overlap.late_apply_inplace`). Equal to merging and copying the
        table: uint32 sums wrap, and the result of the merge is what they add up to.

        Parameters
        ----------
        state : dict
            The target's scalars (:meth:`state_dict`; its ``table`` is not read and may be None).
        plus, minus : dict
            :meth:`state_delta` outputs without halvings (``cells``, ``inc``).

        Raises
        ------
        StateError
            If a delta has halvings, or ``state`` has fewer halvings than this sketch.
        """
        if int(plus["halvings"]) or int(minus["halvings"]):
            raise StateError("sketch: a shift by deltas with halvings")
        due = int(state["n_halvings"]) - self.n_halvings
        if due < 0:
            raise StateError("sketch: the target has fewer halvings than this sketch")
        flat = self.table.reshape(-1)
        flat[plus["cells"]] += plus["inc"]
        flat[minus["cells"]] -= minus["inc"]
        if due >= 32:
            self.table[...] = 0
        elif due:
            self.table >>= np.uint32(due)
        record_from_dict(self.meta, state, "sketch")


@njit(cache=True, nogil=True)
def cms_cells(seeds, width, hashes):
    """Flat cell index ``r · width + column`` of every row ``r`` for each hash: (n,) uint64 → (n, depth) int64."""
    depth = seeds.shape[0]
    out = np.empty((hashes.shape[0], depth), dtype=np.int64)
    for i in range(hashes.shape[0]):
        for r in range(depth):
            out[i, r] = r * width + _col(hashes[i], seeds[r], width)
    return out

