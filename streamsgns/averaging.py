"""Averaged iterates of W and C for the exported vectors (polynomial-decay averaging).

SGD on an endless stream has no end to anneal towards: with a step size that stays large enough to
keep learning, the last iterate carries the SGD noise of its last steps and, when the stream is
ordered (genres, days, sources), a bias towards what it read last. Averaging the iterates removes
both without knowing the stream's length (Polyak & Juditsky 1992; Ruppert 1988). Plain averaging
weighs the first, poor iterates as much as the last ones; *polynomial-decay averaging* (Shamir &
Zhang 2013, "Stochastic gradient descent for non-smooth optimization", ICML, sec. 4) keeps the
weight of the recent past:

    W̄_s = (1 − γ_s) W̄_{s−1} + γ_s W_s,      γ_s = (η + 1) / (s + η)          (SZ13, sec. 4)

so that W̄_s is a weighted mean of the iterates with weights growing like ``s^η``: about the last
``1/(η+1)`` of the history counts. Here ``s`` counts the *folds* of one row: the averages are
folded in every ``every`` tokens (not every update, which would double the kernel's cost), at the
end of the first line that reaches the fold's token count (the kernel pauses there,
:data:`streamsgns.kernels.PAUSE`, so with ``workers=1`` the averages, like W and C, do not depend on
how the stream is cut into calls; with more workers the threads first train up to that line), and each
row has its own ``s``, reset when its id is given to another word (eviction reuses rows), so a new
word's average starts from its own vectors. With forgetting (``horizon``, in tokens) the weight of
a fold never falls below ``every · ln 2 / horizon``, so the average follows a stream that changes.

Training never reads the averages: W and C, and therefore bit-reproducibility, are untouched; only
the exported vectors (``SGNS.vectors``, snapshots, queries, the live PMI report) use them.

Only what is exported is averaged: W always, C only from the moment it is first read (``output``
``"C"`` or ``"W+C"``, the PMI report, ``vectors("C")``), with its own fold counts, so that its
average starts from that moment's C as a new word's starts from its first row. Until then the C
average costs no memory (80,000 rows of 100 floats: 32 MB; on the mix corpus the one-pass peak
RSS fell from 368 to 342 MiB, ``docs/replay_memory_coldstart.md``).

Measured (``benchmarks/learning_rule/learning_rule.py``, ``docs/learning_rule.md``): on the Brown corpus
restricted to its 300 most frequent words, d = 400, 20 passes in corpus order, Spearman(W·Cᵀ,
PMI − log k) is 0.730 for the last iterate and 0.940 averaged with η = 10 with the per-word steps
(the defaults); 0.658 and 0.857 with the global rule (``word_decay=None``).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_array, grow_rows, new_record, record_from_dict, record_to_dict

__all__ = ["IterateAverage", "AverageArrays", "AVERAGE_RECORD", "average_fold", "export_cosines", "exported_rows"]

#: Scalars: ``folds`` done, ``last_fold`` (``words_seen`` at the last fold, tokens) and ``next_fold``
#: (the fold is due at the first line that ends at or past it, tokens).
AVERAGE_RECORD = np.dtype([("folds", np.int64), ("last_fold", np.int64), ("next_fold", np.int64)])

#: What :func:`average_fold` receives: ``W``, ``C`` (cap, d) float32 averages (``C`` (0, d) while C is
#: not averaged), ``steps`` (cap,) int64 folds of each row since its word was admitted, ``csteps``
#: (cap,) int64 (or (0,)) the same for C (C starts later), ``owner`` (cap,) uint64 the word hash the
#: row averaged at its last fold, ``meta`` (1,) AVERAGE_RECORD.
AverageArrays = namedtuple("AverageArrays", "W C steps csteps owner meta")


@njit(cache=True, fastmath=True, nogil=True)
def average_fold(W, C, hashes, counts, n, aW, aC, steps, csteps, owner, eta, gmin):
    """Fold the current rows ``0 .. n-1`` of ``W`` (and ``C``) into the averages ``aW`` (and ``aC``).

    Row ``r`` with ``counts[r] > 0`` (an admitted word): if ``owner[r] != hashes[r]`` (a new word
    in the row) its ``steps`` (and ``csteps``) restart at 0; then ``steps[r] += 1``,
    ``γ = max((eta + 1) / (steps[r] + eta), gmin)`` and ``aW[r] += γ (W[r] − aW[r])`` (Shamir &
    Zhang 2013, sec. 4); the same for C with ``csteps`` when ``aC`` has rows. The first fold of a
    row copies it (``γ = 1``). Freed rows (``counts[r] == 0``) get ``steps[r] = csteps[r] = 0``.

    Parameters
    ----------
    W, C, aW : ndarray, shape (cap, d), float32
    aC : ndarray, shape (cap, d) or (0, d), float32      (0, d): C is not averaged
    hashes : ndarray, shape (cap,), uint64    the vocabulary's word hash per id
    counts : ndarray, shape (cap,), int64     the vocabulary's counts (0 = freed row)
    n : int                                   ids in use
    steps : ndarray, shape (cap,), int64
    csteps : ndarray, shape (cap,) or (0,), int64
    owner : ndarray, shape (cap,), uint64
    eta : float                               η >= 0
    gmin : float                              smallest weight of a fold, in [0, 1]
    """
    d = W.shape[1]
    with_c = aC.shape[0] > 0
    for r in range(n):
        if counts[r] <= 0:
            steps[r] = 0
            if with_c:
                csteps[r] = 0
            continue
        if owner[r] != hashes[r] or steps[r] == 0:
            owner[r] = hashes[r]
            steps[r] = 0
            if with_c:
                csteps[r] = 0
        steps[r] += 1
        g = (eta + 1.0) / (steps[r] + eta)
        if g < gmin:
            g = gmin
        g32 = np.float32(g)
        for j in range(d):
            aW[r, j] += g32 * (W[r, j] - aW[r, j])
        if with_c:
            csteps[r] += 1
            g = (eta + 1.0) / (csteps[r] + eta)
            if g < gmin:
                g = gmin
            g32 = np.float32(g)
            for j in range(d):
                aC[r, j] += g32 * (C[r, j] - aC[r, j])


@njit(cache=True, fastmath=True, nogil=True)
def export_cosines(M, A, steps, pool, Q, out):
    """Cosines between exported rows and query vectors, each exported row read once.

    The exported row ``r`` is ``A[r]`` (its average) when ``steps[r] > 0``, else ``M[r]`` (the current
    row), as :meth:`IterateAverage.rows` gives it; no copy of the rows is made.

    Parameters
    ----------
    M, A : ndarray, shape (cap, d), float32
        The current matrix and its average.
    steps : ndarray, shape (cap,), int64
        Folds of each row's average since it (re)started.
    pool : ndarray, shape (m,), int64
        The rows compared.
    Q : ndarray, shape (k, d), float32
        The query vectors, of unit norm (zero rows give cosines of 0).
    out : ndarray, shape (m, k), float64
        Out: ``cos(export[pool[i]], Q[j])``; ``-inf`` for a zero row. The dot products and norms
        are summed in float32 (the rows' own precision; a relative error of about 1e-6 for
        d = 100), the cosine formed in float64.
    """
    d = M.shape[1]
    k = Q.shape[0]
    for i in range(pool.shape[0]):
        r = pool[i]
        row = A[r] if steps[r] > 0 else M[r]
        nn = np.float32(0.0)  # float32 sums vectorise: 3.6x faster than float64 ones (10k rows, d = 100)
        for t in range(d):
            nn += row[t] * row[t]
        if nn <= 0.0:
            for j in range(k):
                out[i, j] = -np.inf
            continue
        inv = 1.0 / np.sqrt(np.float64(nn))
        for j in range(k):
            dot = np.float32(0.0)
            for t in range(d):
                dot += row[t] * Q[j, t]
            out[i, j] = dot * inv


def exported_rows(M: np.ndarray, A: np.ndarray | None, steps: np.ndarray | None, idx) -> np.ndarray:
    """The exported rows ``idx`` ((k,) int ids): ``A[r]`` where ``steps[r] > 0``, else ``M[r]``
    (``A`` None: ``M``'s rows). ``M``, ``A`` float32 (cap, d), ``steps`` (cap,) int64 (as
    :meth:`IterateAverage.averages` gives them). Shape (k, d), float32, a copy; reads only."""
    idx = np.asarray(idx, dtype=np.int64)
    out = M[idx]
    if A is not None:
        folded = steps[idx] > 0
        out[folded] = A[idx[folded]]
    return out


class IterateAverage:
    """Polynomial-decay averages of the SGNS parameters W and C (one row per vocabulary id).

    Parameters
    ----------
    capacity : int
        Rows allocated (grows with the vocabulary).
    vector_size : int
        Columns ``d``.
    eta : float
        η of the averaging weights ``γ_s = (η + 1)/(s + η)`` (Shamir & Zhang 2013, sec. 4); 0 is the
        plain running mean of all folds, larger values forget faster (10: about the last 9 %).
    every : int or None
        Tokens between folds; None: ``max(16384, 2 · n_ids)`` (the fold costs ``O(n_ids · d)``, a
        training token ``O(window · negative · d)``, so this keeps the fold's share of the time
        to a few per cent whatever the vocabulary size).
    horizon : float or None
        Tokens: a fold never weighs less than ``every · ln 2 / horizon``, so the average weighs
        the past at most like an exponential average of half-life ``horizon``, and its lag behind
        a row that moves stays bounded however old the stream (the learner passes the smaller of
        ``average_horizon`` and ``half_life``). None: no floor.
    with_c : bool
        Average C from the start (else from its first read, :meth:`start_c`).

    Attributes
    ----------
    W : ndarray, shape (capacity, vector_size), float32
    C : ndarray, shape (capacity, vector_size) or (0, vector_size), float32
        Empty until C is averaged.
    steps, csteps : ndarray, shape (capacity,), int64
        Folds of each row's W (C) average since its word was admitted (``csteps`` empty with ``C``).
    owner : ndarray, shape (capacity,), uint64
    meta : ndarray, shape (1,), :data:`AVERAGE_RECORD`

    Raises
    ------
    ValueError
        If ``eta < 0``, ``every < 1`` or ``horizon <= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> avg = IterateAverage(capacity=2, vector_size=2, eta=0.0, every=1)
    >>> W = np.ones((2, 2), np.float32); C = np.zeros((2, 2), np.float32)
    >>> hashes = np.array([7, 9], np.uint64); counts = np.array([3, 0], np.int64)
    >>> avg.fold(W, C, hashes, counts, n=2, words_seen=1)
    >>> avg.fold(3 * W, C, hashes, counts, n=2, words_seen=2)
    >>> avg.W[0].tolist(), int(avg.steps[1])      # mean of 1 and 3; row 1 is free
    ([2.0, 2.0], 0)
    >>> avg.C.shape, avg.rows(C, "C", 2).tolist() == C.tolist()  # C: not averaged until read
    ((0, 2), True)
    >>> avg.C.shape                                              # from now on it is
    (2, 2)

    Memory (``benchmarks/speed/memory.py``, mix corpus, defaults, 80,000 rows of 100 floats): the two
    averages took 62 MB; W alone 31 MB.
    """

    def __init__(self, capacity: int, vector_size: int, eta: float = 10.0, every: int | None = None,
                 horizon: float | None = None, with_c: bool = False):
        if not (np.isfinite(eta) and eta >= 0):
            raise ValueError(f"eta must be a finite number >= 0, got {eta!r}")
        if every is not None and int(every) < 1:
            raise ValueError(f"every must be >= 1 token, got {every!r}")
        if horizon is not None and not (np.isfinite(horizon) and horizon > 0):
            raise ValueError(f"horizon must be > 0 tokens, got {horizon!r}")
        self.eta = float(eta)
        self.every = None if every is None else int(every)
        self.horizon = None if horizon is None else float(horizon)
        cap = max(1, int(capacity))
        self.W = np.zeros((cap, int(vector_size)), dtype=np.float32)
        self.C = np.zeros((0, int(vector_size)), dtype=np.float32)
        self.steps = np.zeros(cap, dtype=np.int64)
        self.csteps = np.zeros(0, dtype=np.int64)
        self.owner = np.zeros(cap, dtype=np.uint64)
        self.meta = new_record(AVERAGE_RECORD)
        self.meta[0]["next_fold"] = self.interval(0)
        if with_c:
            self.start_c()

    @property
    def with_c(self) -> bool:
        """Whether C is averaged."""
        return self.C.shape[0] > 0

    def start_c(self) -> None:
        """Average C from now on: each row's C average starts at its next fold (a copy of C then)."""
        if not self.with_c:
            self.C = np.zeros_like(self.W)
            self.csteps = np.zeros(self.capacity, dtype=np.int64)

    def arrays(self) -> AverageArrays:
        """The state as one bundle of arrays (no copies)."""
        return AverageArrays(self.W, self.C, self.steps, self.csteps, self.owner, self.meta)

    @property
    def capacity(self) -> int:
        return self.W.shape[0]

    def grow(self, capacity: int) -> None:
        """Reallocate to ``capacity`` rows (never shrinks), keeping the existing ones."""
        if capacity <= self.capacity:
            return
        for name in ("W", "C", "steps", "csteps", "owner") if self.with_c else ("W", "steps", "owner"):
            old = getattr(self, name)
            new = np.zeros((capacity,) + old.shape[1:], dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)

    def interval(self, n_ids: int) -> int:
        """Tokens between two folds for ``n_ids`` rows in use."""
        return self.every if self.every is not None else max(16384, 2 * int(n_ids))

    @property
    def next_fold(self) -> int:
        """Tokens (``words_seen``) at or past which the next fold is due."""
        return int(self.meta[0]["next_fold"])

    def fold(self, W, C, hashes, counts, n: int, words_seen: int) -> None:
        """Fold rows ``0 .. n-1`` of ``W``, ``C`` (float32, (cap, d)) into the averages.

        ``hashes`` (cap,) uint64 and ``counts`` (cap,) int64 are the vocabulary's: a row whose word
        changed restarts its average, a freed row is skipped. See :func:`average_fold`.
        """
        self.grow(W.shape[0])  # as many rows as the parameters (they grow with the vocabulary)
        every = self.interval(n)
        gmin = 0.0 if self.horizon is None else min(1.0, every * np.log(2.0) / self.horizon)
        average_fold(W, C, hashes, counts, int(n), self.W, self.C, self.steps, self.csteps, self.owner, self.eta, gmin)
        m = self.meta[0]
        m["folds"] += 1
        m["last_fold"] = int(words_seen)
        m["next_fold"] = int(words_seen) + every

    def restart(self, rows, W: np.ndarray, C: np.ndarray) -> None:
        """Restart the averages of ``rows`` from the current rows of ``W`` and ``C`` (float32, (cap, d)):
        the average becomes the row, and its next fold weighs 1 (as for a newly admitted word). Used
        when a word's usage changed (:mod:`streamsgns.change`)."""
        self.grow(W.shape[0])
        rows = np.asarray(rows, dtype=np.int64)
        self.W[rows] = W[rows]
        self.steps[rows] = 0
        if self.with_c:
            self.C[rows] = C[rows]
            self.csteps[rows] = 0

    def averages(self, M: np.ndarray, which: str) -> tuple[np.ndarray, np.ndarray]:
        """The averages of ``which`` ("W" or "C") and their fold counts, as large as ``M`` (the
        current matrix of that kind, float32 (cap, d)): ``(avg (cap, d) float32, steps (cap,) int64)``
        (views). A row is exported as ``avg[r]`` where ``steps[r] > 0``, else as ``M[r]``. Reading C
        starts its average (:meth:`start_c`)."""
        self.grow(M.shape[0])
        if which == "C":
            self.start_c()
        return (self.W, self.steps) if which == "W" else (self.C, self.csteps)

    def rows(self, W: np.ndarray, which: str, n: int) -> np.ndarray:
        """The exported rows ``0 .. n-1`` of ``which`` ("W" or "C"; ``W`` is then the current C): the
        average where a row has been folded since its word was admitted, else the current row of
        ``W`` (a copy, float32). Reading C starts its average (:meth:`start_c`)."""
        avg, steps = self.averages(W, which)
        out = np.array(W[:n], dtype=np.float32)
        np.copyto(out, avg[:n], where=(steps[:n] > 0)[:, None])  # no temporary copy of the averaged rows
        return out

    def rows_at(self, M: np.ndarray, which: str, idx: np.ndarray) -> np.ndarray:
        """The exported rows ``idx`` ((k,) int64 ids) of ``which`` ("W" or "C"; ``M`` the current
        matrix of that kind, float32 (cap, d)), as :meth:`rows` gives them. Shape (k, d), float32,
        a copy."""
        avg, steps = self.averages(M, which)
        return exported_rows(M, avg, steps, idx)

    def state_dict(self, n_ids: int) -> dict:
        """``W`` (n_ids, d) float32, ``steps`` (n_ids,) int64, ``owner`` (n_ids,) uint64, when C is
        averaged ``C`` (n_ids, d) float32 and ``csteps`` (n_ids,) int64, ``eta``, ``every`` (None =
        adaptive), ``horizon`` and the :data:`AVERAGE_RECORD` scalars. Views."""
        self.grow(n_ids)
        out = {"W": self.W[:n_ids], "steps": self.steps[:n_ids], "owner": self.owner[:n_ids], "eta": self.eta,
               "every": self.every, "horizon": self.horizon, **record_to_dict(self.meta)}
        if self.with_c:
            out.update(C=self.C[:n_ids], csteps=self.csteps[:n_ids])
        return out

    @classmethod
    def from_state(cls, state: dict, capacity: int, vector_size: int) -> "IterateAverage":
        """Rebuild from :meth:`state_dict` output into ``capacity`` rows.

        A state without ``C`` does not average C (until it is read); one with ``C`` but no
        ``csteps`` (written when W and C were always averaged together) takes ``steps`` for both.

        Raises
        ------
        StateError
            If an array is missing, mis-shaped, holds NaN/inf, or ``steps`` is negative.
        """
        try:
            obj = cls(capacity, vector_size, eta=float(state.get("eta", 10.0)), every=state.get("every"),
                      horizon=state.get("horizon"))
        except (TypeError, ValueError) as e:
            raise StateError(f"average: {e}") from e
        W = check_array(state, "W", np.float32, 2, "average", shape=(None, vector_size))
        n = W.shape[0]
        if n > obj.capacity:
            raise StateError(f"average: {n} rows for capacity {obj.capacity}")
        steps = check_array(state, "steps", np.int64, 1, "average", shape=(n,))
        owner = check_array(state, "owner", np.uint64, 1, "average", shape=(n,))
        if not np.isfinite(W).all():
            raise StateError("average: W holds NaN or inf")
        if (steps < 0).any():
            raise StateError("average: negative fold count")
        obj.W[:n], obj.steps[:n], obj.owner[:n] = W, steps, owner
        if state.get("C") is not None:
            C = check_array(state, "C", np.float32, 2, "average", shape=(n, vector_size))
            csteps = check_array(state, "csteps", np.int64, 1, "average", shape=(n,)) if "csteps" in state else steps
            if not np.isfinite(C).all():
                raise StateError("average: C holds NaN or inf")
            if (csteps < 0).any():
                raise StateError("average: negative fold count")
            obj.start_c()
            obj.C[:n], obj.csteps[:n] = C, csteps
        record_from_dict(obj.meta, state, "average")
        return obj

    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return int(self.W.nbytes + self.C.nbytes + self.steps.nbytes + self.csteps.nbytes + self.owner.nbytes)

    # ---------------------------------------------------------------- replica merges
    @staticmethod
    def merged(base: dict, W: np.ndarray, C: np.ndarray, hashes: np.ndarray, counts: np.ndarray,
               words_seen: int, vector_size: int, inplace: bool = False) -> dict:
        """The averages of a merged model: the base's averages with the merged rows folded in when due.

        Never shipped between replicas: the averages follow the merged iterates, one fold per
        sync round at most (when ``words_seen`` has reached ``next_fold``); a row whose word
        changed restarts (:func:`average_fold`). Polynomial-decay weights count folds, so the
        average still covers about the last ``1/(η+1)`` of the history (Shamir & Zhang 2013, sec. 4).

        Parameters
        ----------
        base : dict
            The base's :meth:`state_dict`.
        W, C : ndarray, shape (n, d), float32
            The merged rows (``C is W`` when tied).
        hashes : ndarray, shape (n,), uint64
        counts : ndarray, shape (n,), int64
            The merged vocabulary's.
        words_seen : int
            The merged stream's tokens.
        vector_size : int
        inplace : bool
            Update ``base``'s arrays themselves (they must be writable): O(n) on the fold counts when
            no fold is due, the fold without two copies of the averages when one is.

        Returns
        -------
        dict
            A :meth:`state_dict` of ``n`` rows (new arrays, unless ``inplace``).
        """
        n = int(counts.shape[0])
        with_c = base.get("C") is not None
        if inplace and (not with_c or "csteps" in base):
            out = dict(base)
            for k in ("W", "steps", "owner") + (("C", "csteps") if with_c else ()):
                out[k] = grow_rows(base[k], max(n, base[k].shape[0]))[:n]
            if int(words_seen) < int(base["next_fold"]):
                out["steps"][(counts <= 0) | (out["owner"] != hashes)] = 0
                return out
            avg = IterateAverage.__new__(IterateAverage)  # the fold, on the base's own arrays
            avg.eta, avg.every, avg.horizon = float(base["eta"]), base["every"], base["horizon"]
            avg.W, avg.steps, avg.owner = out["W"], out["steps"], out["owner"]
            avg.C, avg.csteps = (out["C"], out["csteps"]) if with_c else \
                (np.zeros((0, out["W"].shape[1]), dtype=np.float32), np.zeros(0, dtype=np.int64))
            avg.meta = new_record(AVERAGE_RECORD)
            record_from_dict(avg.meta, base, "average")
            avg.fold(np.ascontiguousarray(W), np.ascontiguousarray(C), np.ascontiguousarray(hashes),
                     np.ascontiguousarray(counts), n, int(words_seen))
            out.update(record_to_dict(avg.meta))
            return out
        avg = IterateAverage.from_state(base, max(n, 1, base["W"].shape[0]), vector_size)
        if int(words_seen) >= avg.next_fold:
            avg.fold(np.ascontiguousarray(W), np.ascontiguousarray(C), np.ascontiguousarray(hashes),
                     np.ascontiguousarray(counts), n, int(words_seen))
        else:  # a freed row, or a row given to another word, exports the current row until its next fold
            steps = avg.steps[:n]
            steps[(counts <= 0) | (avg.owner[:n] != hashes)] = 0
        return {k: (np.array(v[:n]) if isinstance(v, np.ndarray) else v) for k, v in avg.state_dict(n).items()}

    def assign(self, state: dict, rows: np.ndarray | None, n_old: int) -> None:
        """Make these averages equal to ``state`` (a :meth:`state_dict` of ``n`` rows) in place.

        The fold counts and owners are copied (O(n)); the averaged rows only at ``rows`` (the only
        ids where they may differ: no fold happened on either side since they were equal), or all of
        them with ``rows=None``; rows ``n .. n_old-1`` are cleared.

        Raises
        ------
        StateError
            If the state averages C and these averages do not (or the reverse), or the capacity is
            too small.
        """
        n = state["W"].shape[0]
        if (state.get("C") is not None) != self.with_c or n > self.capacity:
            raise StateError("average: C averaged on one side only, or capacity too small")
        m = max(n, n_old)
        names = (("W", "steps", "owner"), ("C", "csteps")) if self.with_c else (("W", "steps", "owner"),)
        for group in names:
            for k in group:
                a = getattr(self, k)
                if k in ("W", "C") and rows is not None:
                    r = rows[rows < n]
                    a[r] = state[k][r]
                else:
                    a[:n] = state[k]
                a[n:m] = 0
        record_from_dict(self.meta, state, "average")
