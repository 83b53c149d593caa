"""Adaptive noise distribution: P_n(w) ∝ count(w) ** ns_exponent over admitted words.

SGNS draws its ``negative`` noise words from the unigram distribution raised
to 3/4 (Mikolov et al. 2013, section 2.2; Goldberg & Levy 2014, eq. 4). In a
stream the counts keep changing, so the sampler must follow them.

**Choice: a Walker/Vose alias table rebuilt on an amortised schedule.**
Sampling is O(1) (one 64-bit random number, two reads from adjacent arrays),
exact for the counts at the last rebuild, and deterministic given the RNG
state, which the checkpoint stores. A rebuild costs O(V) and runs when the
number of tokens seen since the previous rebuild reaches
``max(min_refresh_tokens, V)`` — so the amortised cost is O(1) per token and
the table is never staler than one vocabulary's worth of tokens. Early in a
stream, when V is small, it is rebuilt every ``min_refresh_tokens`` tokens
and follows the drift closely. We preferred this over Kaji & Kobayashi's
(2017) adaptive unigram table (a fixed-size table updated by random
replacement at every token) because the alias table is exact rather than
approximate at a given table size, needs no per-token table writes (which
would contend between Hogwild threads), and its state is two arrays of size
V instead of a table of ~1e8 entries.

With ``workers > 1`` the table is rebuilt into fresh arrays and swapped in
between batches, so a training thread never sees a half-built table.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_array, new_record, record_from_dict, record_to_dict
from .hashing import next_u64, seed_states

__all__ = ["NoiseDistribution", "NoiseArrays", "NOISE_RECORD", "build_alias", "sample_alias", "refresh_due",
           "noise_refresh_if_due", "noise_force_refresh"]

#: Scalars of the noise table: ``n`` columns in use (0 = empty), ``last_refresh`` (tokens seen at
#: the last rebuild), ``n_refresh`` (rebuilds so far).
NOISE_RECORD = np.dtype([("n", np.int64), ("last_refresh", np.int64), ("n_refresh", np.int64)])

#: What the kernels receive: ``prob`` (cap,) float64, ``alias`` (cap,) int32, ``meta`` (1,) NOISE_RECORD.
NoiseArrays = namedtuple("NoiseArrays", "prob alias meta")

_S32 = np.uint64(32)
_LO32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0


@njit(cache=True, nogil=True)
def build_alias(counts, n, power, prob, alias):
    """Build Vose's alias table for weights ``counts[:n] ** power`` in place.

    Parameters
    ----------
    counts : ndarray, shape (>= n,), int64
        Counts; ids with count 0 (free ids) get probability 0.
    n : int
        Number of ids covered.
    power : float
        ``ns_exponent`` (0.75 in word2vec; 0 = uniform, 1 = unigram).
    prob : ndarray, shape (>= n,), float64
        Output: acceptance probability of each column.
    alias : ndarray, shape (>= n,), int32
        Output: alias of each column.

    Returns
    -------
    int
        ``n`` if any weight is positive, else 0 (an empty table).

    Notes
    -----
    Vose (1991), "A linear algorithm for generating random numbers with a
    given distribution", IEEE TSE 17(9).
    """
    if n == 0:
        return 0
    w = np.empty(n, dtype=np.float64)
    total = 0.0
    for i in range(n):
        c = counts[i]
        if c > 0:
            w[i] = np.float64(c) ** power
        else:
            w[i] = 0.0
        total += w[i]
    if total <= 0.0:
        return 0
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    scale = n / total
    for i in range(n):
        w[i] *= scale
        if w[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        prob[s] = w[s]
        alias[s] = g
        w[g] = (w[g] + w[s]) - 1.0
        if w[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for k in range(nl):
        prob[large[k]] = 1.0
        alias[large[k]] = large[k]
    for k in range(ns):  # only reached through rounding error
        prob[small[k]] = 1.0
        alias[small[k]] = small[k]
    return n


@njit(cache=True, nogil=True, inline="always")
def sample_alias(prob, alias, n, rng, k):
    """Draw one id from the alias table (O(1)) using RNG stream ``k``.

    Parameters
    ----------
    prob : ndarray, float64; alias : ndarray, int32
        Built by :func:`build_alias`.
    n : int
        Number of columns (> 0).
    rng : ndarray, uint64
        SplitMix64 states (:mod:`streamsgns.hashing`).
    k : int
        Stream index.
    """
    r = next_u64(rng, k)
    i = np.int64(((r >> _S32) * np.uint64(n)) >> _S32)
    u = np.float64(r & _LO32) * _INV32
    if u < prob[i]:
        return i
    return np.int64(alias[i])


@njit(cache=True, nogil=True, inline="always")
def refresh_due(words_seen, last_refresh, n_ids, table_n, min_refresh_tokens):
    """True when the alias table should be rebuilt (the amortised schedule above)."""
    if n_ids == 0:
        return False
    if table_n == 0:
        return True
    interval = n_ids if n_ids > min_refresh_tokens else min_refresh_tokens
    return words_seen - last_refresh >= interval


@njit(cache=True, nogil=True)
def noise_refresh_if_due(na, counts, n_ids, words_seen, power, min_refresh_tokens):
    """Rebuild the alias table of bundle ``na`` in place from ``counts[:n_ids]`` when :func:`refresh_due`.

    Returns
    -------
    bool
        Whether it was rebuilt.
    """
    m = na.meta[0]
    if not refresh_due(words_seen, m.last_refresh, n_ids, m.n, min_refresh_tokens):
        return False
    m.n = build_alias(counts, n_ids, power, na.prob, na.alias)
    m.last_refresh = words_seen
    m.n_refresh += 1
    return True


@njit(cache=True, nogil=True, inline="always")
def noise_force_refresh(na):
    """Make the next :func:`noise_refresh_if_due` rebuild (after an eviction changed the ids)."""
    na.meta[0].last_refresh = -(1 << 62)


class NoiseDistribution:
    """Sampler of negative words ∝ count ** ns_exponent (alias table, see module doc).

    Parameters
    ----------
    ns_exponent : float
        Exponent of the unigram counts (word2vec: 0.75).
    capacity : int
        Initial number of ids the table can hold (grows with the vocabulary).
    min_refresh_tokens : int
        Smallest rebuild interval, in tokens.

    Attributes
    ----------
    prob : ndarray, shape (capacity,), float64
    alias : ndarray, shape (capacity,), int32
    n : int
        Columns in use (0 = empty table: no negatives can be drawn yet).
    last_refresh : int
        ``words_seen`` at the last rebuild, in tokens.

    Raises
    ------
    ValueError
        If ``ns_exponent`` is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> nd = NoiseDistribution(0.75, capacity=3)
    >>> nd.refresh(np.array([1, 16, 81]), 3)
    >>> np.round(nd.probabilities(), 3)
    array([0.028, 0.222, 0.75 ])
    """

    def __init__(self, ns_exponent=0.75, capacity=1024, min_refresh_tokens=1000):
        if not np.isfinite(ns_exponent):
            raise ValueError("ns_exponent must be finite")
        self.ns_exponent = float(ns_exponent)
        self.min_refresh_tokens = int(min_refresh_tokens)
        self.prob = np.zeros(max(1, capacity), dtype=np.float64)
        self.alias = np.zeros(max(1, capacity), dtype=np.int32)
        self.meta = new_record(NOISE_RECORD)

    @property
    def n(self) -> int:
        """Columns in use (0 = empty table: no negatives can be drawn yet)."""
        return int(self.meta[0]["n"])

    @property
    def last_refresh(self) -> int:
        """Tokens seen at the last rebuild."""
        return int(self.meta[0]["last_refresh"])

    def arrays(self, snapshot: bool = False) -> NoiseArrays:
        """The bundle the kernels read (and rebuild in place).

        Parameters
        ----------
        snapshot : bool
            Give the bundle a copy of the scalar record, so that a training thread keeps the
            column count of *its* table while the driver swaps in a new one (``workers > 1``).
        """
        return NoiseArrays(self.prob, self.alias, self.meta.copy() if snapshot else self.meta)

    def refresh(self, counts: np.ndarray, n: int, words_seen: int | None = None, *, swap: bool = False) -> None:
        """Rebuild the table from ``counts[:n]``.

        Parameters
        ----------
        counts : ndarray, shape (>= n,), int64
        n : int
        words_seen : int, optional
            Recorded as ``last_refresh`` (tokens).
        swap : bool
            Build into new arrays and swap them in (safe while other threads
            sample from the old ones), instead of rebuilding in place.
        """
        cap = max(n, self.prob.shape[0])
        if swap or cap > self.prob.shape[0]:
            prob = np.zeros(cap, dtype=np.float64)
            alias = np.zeros(cap, dtype=np.int32)
        else:
            prob, alias = self.prob, self.alias
        m = build_alias(np.ascontiguousarray(counts, dtype=np.int64), n, self.ns_exponent, prob, alias)
        self.prob, self.alias = prob, alias
        self.meta[0]["n"] = int(m)
        self.meta[0]["n_refresh"] += 1
        if words_seen is not None:
            self.meta[0]["last_refresh"] = int(words_seen)

    def refresh_due(self, words_seen: int, n_ids: int) -> bool:
        """Whether the amortised schedule calls for a rebuild now (see the module docstring)."""
        return bool(refresh_due(words_seen, self.last_refresh, n_ids, self.n, self.min_refresh_tokens))

    def state_dict(self) -> dict:
        """The table's whole state: ``prob`` (n,) float64, ``alias`` (n,) int32, the :data:`NOISE_RECORD`
        scalars, and the settings ``ns_exponent``, ``min_refresh_tokens``. Arrays are views."""
        n = self.n
        return {"prob": self.prob[:n], "alias": self.alias[:n], "ns_exponent": self.ns_exponent,
                "min_refresh_tokens": self.min_refresh_tokens, **record_to_dict(self.meta)}

    @classmethod
    def from_state(cls, state: dict, capacity: int | None = None) -> "NoiseDistribution":
        """Rebuild from :meth:`state_dict` output.

        Raises
        ------
        StateError
            If arrays are missing or malformed, probabilities are outside [0, 1] or aliases
            outside the table.
        """
        try:
            obj = cls(float(state["ns_exponent"]), capacity=1, min_refresh_tokens=int(state["min_refresh_tokens"]))
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f"noise: bad settings ({e})") from e
        record_from_dict(obj.meta, state, "noise")
        n = obj.n
        if n < 0 or obj.meta[0]["n_refresh"] < 0:
            raise StateError(f"noise: negative column count {n}")
        prob = check_array(state, "prob", np.float64, 1, "noise", shape=(n,))
        alias = check_array(state, "alias", np.int32, 1, "noise", shape=(n,))
        if not (np.isfinite(prob).all() and (prob >= 0).all() and (prob <= 1).all()):
            raise StateError("noise: acceptance probabilities outside [0, 1]")
        if n and ((alias < 0).any() or (alias >= n).any()):
            raise StateError("noise: alias outside the table")
        obj.grow(max(n, 1) if capacity is None else max(int(capacity), n))
        obj.prob[:n] = prob
        obj.alias[:n] = alias
        return obj

    def grow(self, capacity: int) -> None:
        """Enlarge the arrays to ``capacity`` ids, keeping the current table."""
        if capacity > self.prob.shape[0]:
            for name in ("prob", "alias"):
                a = getattr(self, name)
                b = np.zeros(capacity, dtype=a.dtype)
                b[: a.shape[0]] = a
                setattr(self, name, b)

    def probabilities(self) -> np.ndarray:
        """The exact distribution the table samples from: (n,) float64, sums to 1."""
        n = self.n
        p = self.prob[:n].copy()
        out = p / n
        np.add.at(out, self.alias[:n], (1.0 - p) / n)
        return out

    def sample(self, size: int, seed: int = 0) -> np.ndarray:
        """Draw ``size`` ids (for tests and inspection; the kernel samples inline).

        Returns
        -------
        ndarray, shape (size,), int64

        Raises
        ------
        ValueError
            If the table is empty.
        """
        if self.n == 0:
            raise ValueError("the noise table is empty: no word has been admitted yet")
        return _sample_many(self.prob, self.alias, self.n, seed_states(seed, 1), int(size))


    # ---------------------------------------------------------------- replica merges
    @staticmethod
    def rebuilt(base: dict, counts: np.ndarray, n: int, words_seen: int) -> dict:
        """The noise table of a merged model: rebuilt from its counts, never shipped between replicas.

        Every replica could compute it from the merged counts; the merge builds it once (O(n)).

        Parameters
        ----------
        base : dict
            The base's :meth:`state_dict` (settings and ``n_refresh``).
        counts : ndarray, shape (>= n,), int64
            The merged vocabulary's counts.
        n : int
            Ids in use.
        words_seen : int
            The merged ``words_seen`` (tokens), recorded as ``last_refresh``.

        Returns
        -------
        dict
            A :meth:`state_dict` (new arrays); ``n_refresh`` is the base's plus one.
        """
        nd = NoiseDistribution(float(base["ns_exponent"]), capacity=max(int(n), 1),
                               min_refresh_tokens=int(base["min_refresh_tokens"]))
        nd.refresh(counts, int(n), words_seen=int(words_seen))
        out = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in nd.state_dict().items()}
        out["n_refresh"] = int(base["n_refresh"]) + 1
        return out

    def assign(self, state: dict) -> None:
        """Take the table of ``state`` (a :meth:`state_dict`) in place: O(n) copies, no rebuild.

        Raises
        ------
        StateError
            If the settings differ.
        """
        if float(state["ns_exponent"]) != self.ns_exponent or int(state["min_refresh_tokens"]) != self.min_refresh_tokens:
            raise StateError("noise: settings differ")
        n = state["prob"].shape[0]
        self.grow(n)
        self.prob[:n] = state["prob"]
        self.alias[:n] = state["alias"]
        record_from_dict(self.meta, state, "noise")


@njit(cache=True, nogil=True)
def _sample_many(prob, alias, n, rng, size):
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i] = sample_alias(prob, alias, n, rng, 0)
    return out
