"""The SGNS parameters: the matrices W (syn0) and C (syn1neg), the RNG streams and the stream counters.

One component owns what the kernel learns and what it has consumed: ``W`` and ``C`` (rows =
vocabulary ids), the SplitMix64 streams that draw every random number (stream 0 initialises
rows, stream ``1 + k`` trains on thread ``k``), and the counters of the stream (tokens, lines,
pairs trained, the running loss). Like the other components it exposes its state as a plain
dict (:meth:`SGNSParameters.state_dict`) and the kernels receive it as one bundle
(:data:`ParamArrays`).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._state import (StateError, check_array, check_delta_keys, grow_rows, new_record, record_from_dict,
                     record_to_dict)
from .hashing import seed_states

__all__ = ["SGNSParameters", "ParamArrays", "STREAM_RECORD"]

#: Stream counters: ``words_seen`` (tokens scanned, admitted or not), ``lines``, ``empty_lines``
#: (lines without a token), ``control_bytes`` (NUL and other control bytes, read as separators),
#: ``split_lines`` (lines longer than ``max_sentence_length`` tokens, cut into sentences),
#: ``pairs`` ((w, c) pairs trained), ``kept`` (tokens left after subsampling); ``loss`` and
#: ``loss_n``: summed SGNS loss (nats) and its number of pairs since the last read-out.
STREAM_RECORD = np.dtype([("words_seen", np.int64), ("lines", np.int64), ("empty_lines", np.int64),
                          ("control_bytes", np.int64), ("split_lines", np.int64), ("pairs", np.int64),
                          ("kept", np.int64), ("loss", np.float64), ("loss_n", np.float64)])

#: What the kernels receive: ``W``, ``C`` (cap, d) float32 (``C is W`` when tied), ``rng``
#: (1 + workers,) uint64, ``meta`` (1,) STREAM_RECORD.
ParamArrays = namedtuple("ParamArrays", "W C rng meta")


class SGNSParameters:
    """W, C, RNG streams and stream counters of one SGNS model.

    Parameters
    ----------
    capacity : int
        Rows allocated (grows with the vocabulary).
    vector_size : int
        Columns ``d``.
    workers : int
        Training threads; ``1 + workers`` RNG streams are kept.
    seed : int
        Seeds the streams (SplitMix64, :func:`streamsgns.hashing.seed_states`).
    tied : bool
        One matrix for words and contexts (``C is W``).

    Attributes
    ----------
    W, C : ndarray, shape (capacity, vector_size), float32
    rng : ndarray, shape (1 + workers,), uint64
    meta : ndarray, shape (1,), :data:`STREAM_RECORD`

    Examples
    --------
    >>> p = SGNSParameters(capacity=4, vector_size=3, workers=1, seed=0)
    >>> p.W.shape, p.rng.shape, p.counter("words_seen")
    ((4, 3), (2,), 0)
    """

    def __init__(self, capacity: int, vector_size: int, workers: int = 1, seed: int = 0, tied: bool = False):
        self.tied = bool(tied)
        self.W = np.zeros((max(1, int(capacity)), int(vector_size)), dtype=np.float32)
        self.C = self.W if self.tied else np.zeros_like(self.W)
        self.rng = seed_states(int(seed), 1 + int(workers))
        self.meta = new_record(STREAM_RECORD)

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return int(self.W.shape[0])

    def counter(self, name: str):
        """One stream counter (int, or float for ``loss``/``loss_n``)."""
        return record_to_dict(self.meta)[name]

    def arrays(self) -> ParamArrays:
        """The bundle the kernels update in place (no copies)."""
        return ParamArrays(self.W, self.C, self.rng, self.meta)

    def grow(self, capacity: int) -> None:
        """Enlarge W and C to ``capacity`` rows (new rows zero), keeping the learnt ones."""
        old = self.capacity
        if capacity <= old:
            return
        # one matrix at a time, so that the old W is freed before the new C is allocated (peak memory)
        W = np.zeros((capacity, self.W.shape[1]), dtype=np.float32)
        W[:old] = self.W
        self.W = W
        if self.tied:
            self.C = W
        else:
            C = np.zeros_like(W)
            C[:old] = self.C
            self.C = C

    def take_loss(self) -> float:
        """Mean SGNS loss per trained pair since the last call (nats; NaN if none), then reset."""
        m = self.meta[0]
        n = float(m["loss_n"])
        loss = float(m["loss"]) / n if n > 0 else float("nan")
        m["loss"] = 0.0
        m["loss_n"] = 0.0
        return loss

    def state_dict(self, n_ids: int) -> dict:
        """The whole state for ids ``0 .. n_ids-1``.

        Returns
        -------
        dict
            ``W`` (n_ids, d) float32, ``C`` (n_ids, d) float32 (absent when tied), ``rng``
            (1 + workers,) uint64, ``tied``, and the :data:`STREAM_RECORD` counters. Views.
        """
        out = {"W": self.W[:n_ids], "rng": self.rng, "tied": self.tied, **record_to_dict(self.meta)}
        if not self.tied:
            out["C"] = self.C[:n_ids]
        return out

    def finite(self, n_ids: int) -> bool:
        """Whether the first ``n_ids`` rows of W and C hold no NaN or inf."""
        return bool(np.isfinite(self.W[:n_ids]).all() and (self.tied or np.isfinite(self.C[:n_ids]).all()))

    @classmethod
    def from_state(cls, state: dict, capacity: int, vector_size: int, workers: int = 1,
                   seed: int = 0) -> "SGNSParameters":
        """Rebuild from :meth:`state_dict` output into ``capacity`` rows.

        The RNG streams of the stored threads are kept; with more workers than stored, the
        extra streams are seeded from ``seed``.

        Raises
        ------
        StateError
            If W/C are missing, of another ``vector_size``, hold NaN or inf, or a counter is negative.
        """
        tied = bool(state.get("tied", False))
        obj = cls(capacity, vector_size, workers=workers, seed=seed, tied=tied)
        W = check_array(state, "W", np.float32, 2, "parameters", shape=(None, vector_size))
        n = W.shape[0]
        if n > capacity:
            raise StateError(f"parameters: {n} rows for capacity {capacity}")
        obj.W[:n] = W
        if not tied:
            obj.C[:n] = check_array(state, "C", np.float32, 2, "parameters", shape=(n, vector_size))
        if not obj.finite(n):
            raise StateError("parameters: W or C holds NaN or inf")
        rng = check_array(state, "rng", np.uint64, 1, "parameters")
        k = min(rng.shape[0], obj.rng.shape[0])
        obj.rng[:k] = rng[:k]
        record_from_dict(obj.meta, state, "parameters")
        counts = record_to_dict(obj.meta)
        if any(v < 0 for key, v in counts.items() if key != "loss"):
            raise StateError("parameters: negative stream counter")
        return obj

    # ---------------------------------------------------------------- replica deltas
    #: Keys of :meth:`state_dict` that :meth:`state_delta` / :meth:`merge_deltas` handle (a new key must get a rule).
    DELTA_KEYS = frozenset({"W", "C", "rng", "tied", *STREAM_RECORD.names})

    @staticmethod
    def state_delta(state: dict, base: dict, same: np.ndarray, new_rid: np.ndarray) -> dict:
        """What a replica's parameters changed since ``base``: the rows it touched and its counter increments.

        Parameters
        ----------
        state, base : dict
            :meth:`state_dict` outputs of the replica (end of round) and of the merged base.
        same : ndarray, shape (n,), bool
            Replica ids that still hold the base's word (:meth:`streamsgns.vocab.Vocabulary.row_map`).
        new_rid : ndarray, shape (m,), int64
            Replica ids of the other live words, in the vocabulary delta's order.

        Returns
        -------
        dict
            Per matrix ``M`` in W, C (C absent when tied): ``M_ids`` (t,) int32 base ids whose
            row changed and ``M_rows`` (t, d) float32 their new values (the rows themselves, not
            differences, so that the merge adds ``x − base`` in float64 exactly as a merge of
            whole states does); ``M_new`` (m, d) float32 the rows of the new entries; ``counters``
            (each :data:`STREAM_RECORD` field's increment) and ``rng`` (the replica's streams).

        Raises
        ------
        StateError
            On a state key without a delta rule, or a ``tied`` setting that differs.
        """
        check_delta_keys(state, SGNSParameters.DELTA_KEYS, "parameters")
        if bool(state["tied"]) != bool(base["tied"]):
            raise StateError("parameters: tied differs from the base's")
        m = min(same.size, base["W"].shape[0])
        out = {"counters": {k: state[k] - base[k] for k in STREAM_RECORD.names}, "rng": np.array(state["rng"])}
        for name in ("W",) if state["tied"] else ("W", "C"):
            X, B = state[name], base[name]
            ch = np.flatnonzero((X[:m] != B[:m]).any(axis=1) & same[:m])  # block compare: no gathered copies
            out[f"{name}_ids"] = ch.astype(np.int32)
            out[f"{name}_rows"] = X[ch]
            out[f"{name}_new"] = X[new_rid]
        return out

    @staticmethod
    def merge_deltas(base: dict, deltas: list, plan: dict, scale: np.ndarray | None = None,
                     diversity: bool = False) -> dict:
        """The merged parameters: every replica's row updates added to the base (the ``sum`` rule).

        A base row becomes ``base + Σ_k (x_k − base)`` over the replicas that changed it
        (computed in float64, rounded once to float32: asynchronous SGD's sum of updates, Recht
        et al. 2011); a word admitted in the round gets the sum of the replicas' C rows (zero at
        admission on every replica) and the mean of their W rows (each replica drew its own
        random start). Rows of free ids are zero. Counters: the base plus every replica's
        increment; RNG streams: replica 0's (each replica re-derives its own at load).

        Parameters
        ----------
        base : dict
        deltas : list of dict
            :meth:`state_delta` outputs, one per replica.
        plan : dict
            The vocabulary merge's plan (:meth:`streamsgns.vocab.Vocabulary.merge_deltas`).
        scale : ndarray, shape (n,), float64, optional
            Per merged id, a factor applied to the summed updates (base rows) and to the summed C
            rows of new words (:func:`streamsgns.rates.merged_step_scale`); None: the plain sum.
        diversity : bool
            Cap each row's factor, matrix by matrix, at the row's update diversity
            ``Q / ‖S‖²``, ``S = Σ_k u_k`` the summed updates of the replicas that moved it and
            ``Q = Σ_k ‖u_k‖²`` (Yin et al. 2018, "Gradient diversity", eq. 1; by Cauchy–Schwarz in
            ``[1/T, ∞)`` with ``T`` the replicas that moved the row): ``T`` equal moves are merged as
            their mean, ``T`` orthogonal ones as their sum, one replica's move is left to ``scale``.
            A row whose ``S`` is zero keeps ``scale``. New words' W rows (a mean) are not capped.
            False: ``scale`` alone (and with ``scale=None`` the plain sum, whatever ``diversity``).

        Returns
        -------
        dict
            A :meth:`state_dict` with ``plan["n"]`` rows.
        """
        n, nb = int(plan["n"]), int(plan["n_base"])
        tied = bool(base["tied"])
        out = {"rng": np.array(deltas[0]["rng"], dtype=np.uint64), "tied": tied,
               **{k: base[k] + sum(d["counters"][k] for d in deltas) for k in STREAM_RECORD.names}}
        live = plan["counts"] > 0
        new_ids = plan["new_ids"]
        for name in ("W",) if tied else ("W", "C"):
            B = base[name]
            d_ = B.shape[1]
            acc = np.zeros((n, d_), dtype=np.float64)
            acc[:nb] = B[:nb]
            div = diversity and scale is not None
            if scale is not None:  # collect the updates apart, scale, then add to the base
                base_rows, acc = acc, np.zeros_like(acc)
            q = np.zeros(n, dtype=np.float64) if div else None  # Σ_k ‖u_k‖² per id
            for k, d in enumerate(deltas):
                ids = d[f"{name}_ids"].astype(np.int64)
                u = d[f"{name}_rows"] - B[ids].astype(np.float64)
                acc[ids] += u
                mv = plan["moved"][k] & (plan["dst"][k] >= 0)
                dst = plan["dst"][k][mv]
                v = d[f"{name}_new"][mv] - B[dst].astype(np.float64)
                acc[dst] += v
                if div:  # ids are distinct within one delta, and so are dst
                    q[ids] += np.einsum("ij,ij->i", u, u)
                    q[dst] += np.einsum("ij,ij->i", v, v)
            acc[new_ids] = 0.0
            if div:
                q[new_ids] = 0.0
            for k, d in enumerate(deltas):
                nw = ~plan["moved"][k] & (plan["dst"][k] >= 0)
                rows = d[f"{name}_new"][nw]
                if name == "W":  # each replica's own random start: the mean
                    acc[plan["dst"][k][nw]] += plan["share"][k][nw][:, None] * rows
                else:  # zero at admission everywhere: the sum
                    acc[plan["dst"][k][nw]] += rows
                    if div:
                        r64 = rows.astype(np.float64)
                        q[plan["dst"][k][nw]] += np.einsum("ij,ij->i", r64, r64)
            if scale is not None:
                sc = np.asarray(scale, dtype=np.float64)[:, None]
                if div:
                    s2 = np.einsum("ij,ij->i", acc, acc)
                    cap = np.where(s2 > 0, q / np.where(s2 > 0, s2, 1.0), np.inf)
                    sc = np.minimum(sc, cap[:, None])
                if name == "W":  # new words' W rows are a mean, not a sum: not scaled
                    sc = sc.copy()
                    sc[new_ids] = 1.0
                acc = base_rows + sc * acc
            M = acc.astype(np.float32)
            M[~live] = 0.0
            out[name] = M
        return out

    @staticmethod
    def apply_update(base: dict, update: dict, plan: dict) -> dict:
        """The merged parameters from the merged update, computed in place: O(rows of the update), not O(rows).

        A replica applies the merged update (the :meth:`state_delta` of the merged parameters
        against its base) to its own copy of the base: the update's rows are the merged rows, and
        only those are written, as they are (the merged state exactly; :meth:`merge_deltas`' float64
        ``b + (x − b)`` gives the same float32 row whenever ``x − b`` is exact in float64, i.e.
        unless an element moved across more than 29 binary orders of magnitude in one round). ``base["W"]`` / ``base["C"]`` are
        modified (they must be writable); when the ids grow, the matrices are re-allocated with
        room to spare (amortised O(1) rows per new id) and the returned arrays are views.

        Parameters
        ----------
        base : dict
            The replica's base (:meth:`state_dict`, writable arrays); modified.
        update : dict
            :meth:`state_delta` of the merged parameters against ``base``.
        plan : dict
            The vocabulary merge's plan of that one delta (:meth:`streamsgns.vocab.Vocabulary.merge_deltas`).

        Returns
        -------
        dict
            The merged :meth:`state_dict` (``plan["n"]`` rows): the merged state's rows, equal bit for
            bit to ``merge_deltas(base, [update], plan)``'s but for the case above.
        """
        n, tied = int(plan["n"]), bool(base["tied"])
        out = {"rng": np.array(update["rng"], dtype=np.uint64), "tied": tied,
               **{k: base[k] + update["counters"][k] for k in STREAM_RECORD.names}}
        counts = plan["counts"]
        dst, moved = plan["dst"][0], plan["moved"][0]
        kept = dst >= 0
        for name in ("W",) if tied else ("W", "C"):
            M = grow_rows(base[name], n)
            ids = update[f"{name}_ids"].astype(np.int64)
            M[ids] = update[f"{name}_rows"]
            mv = moved & kept
            M[dst[mv]] = update[f"{name}_new"][mv]
            nw = ~moved & kept
            rows = update[f"{name}_new"][nw]
            if name == "W":  # as the merge's mean over the replicas that admitted the word
                rows = (plan["share"][0][nw][:, None] * rows).astype(np.float32)
            M[dst[nw]] = rows
            touched = np.concatenate([ids, dst[kept]])
            dead = touched[counts[touched] <= 0]
            M[dead] = 0.0
            out[name] = M
        return out

    def assign(self, state: dict, rows: dict, n_old: int) -> None:
        """Make these parameters equal to ``state`` (a :meth:`state_dict`) by copying only some rows of W and C.

        Parameters
        ----------
        state : dict
            The parameters to take (``n`` rows; capacity must already hold them).
        rows : dict
            ``{"W": (k,) int64, "C": (k',) int64}``: the only ids where each matrix may differ from
            ``state``'s (those a replica's round touched and those the merged update changed;
            repeats allowed). A set covering more than a quarter of the ids is copied as one block.
        n_old : int
            Ids in use before: rows ``n .. n_old-1`` are cleared.

        Raises
        ------
        StateError
            If ``tied`` differs or the capacity is too small.
        """
        n = state["W"].shape[0]
        if bool(state["tied"]) != self.tied or n > self.capacity:
            raise StateError("parameters: tied setting or capacity differs")
        for name in ("W",) if self.tied else ("W", "C"):
            M, r = getattr(self, name), rows[name]
            r = r[r < n]
            if r.size > n // 4:  # a block copy beats a gather/scatter of most rows
                M[:n] = state[name]
            else:
                M[r] = state[name][r]
            M[n:max(n, n_old)] = 0.0
        k = min(state["rng"].shape[0], self.rng.shape[0])
        self.rng[:k] = state["rng"][:k]
        record_from_dict(self.meta, state, "parameters")

    @staticmethod
    def differing_rows(a: dict, b: dict, same: np.ndarray, n: int) -> dict:
        """Ids ``0 .. n-1`` where two states' rows may differ: those not holding the same word in both
        (``~same``, and every id beyond ``same``) and those whose W (C) row differs (block compare).

        Parameters
        ----------
        a, b : dict
            :meth:`state_dict` outputs (e.g. a replica's state when it sent its delta, and the merged state).
        same : ndarray, shape (m,), bool
            Ids where ``a`` and ``b`` hold the same word (:meth:`streamsgns.vocab.Vocabulary.row_map`).
        n : int
            Ids of interest.

        Returns
        -------
        dict
            ``{"W": (k,) int64, "C": (k',) int64}`` (no ``"C"`` when tied), sorted.
        """
        m = min(int(same.size), a["W"].shape[0], b["W"].shape[0], int(n))
        out = {}
        for name in ("W",) if a["tied"] else ("W", "C"):
            eq = same[:m] & ~(a[name][:m] != b[name][:m]).any(axis=1)
            out[name] = np.concatenate([np.flatnonzero(~eq), np.arange(m, int(n), dtype=np.int64)])
        return out

    def assign_merged(self, base: dict, delta: dict, plan: dict, rows: dict, n_old: int) -> None:
        """Make these parameters ``merge_deltas(base, [delta], plan)`` (the ``sum`` rule, one delta) in
        place, copying ``base``'s rows only where this model may differ from them.

        The base's rows are copied at ``rows[name]`` (as one block when they are more than a quarter
        of the base's ids), ids from ``plan["n_base"]`` on are cleared, and the delta is then applied
        to the model's own arrays as :meth:`apply_update` applies it to a base (its rows written as
        they are: bit for bit ``merge_deltas``' rows unless an element moved across more than 29 binary
        orders of magnitude in one round, see there); free ids are zero. Every other row of ids
        ``0 .. n-1`` must already hold ``base``'s value (the caller's guarantee: it is not read). Used by
        an overlapped replica's late apply (:func:`streamsgns.distributed.overlap.late_apply_inplace`),
        whose model already holds the merged base wherever neither the merge nor the round changed a row.

        Parameters
        ----------
        base : dict
            The merged base's :meth:`state_dict` (``plan["n_base"]`` rows; not modified).
        delta : dict
            One :meth:`state_delta` against ``base`` (plain float32 rows).
        plan : dict
            :meth:`streamsgns.vocab.Vocabulary.merge_deltas` of ``base``'s vocabulary with that delta's.
        rows : dict
            ``{"W": (k,) int64, "C": ...}``: the ids below ``plan["n_base"]`` where this model may
            differ from ``base`` other than by the delta (repeats allowed; other ids are ignored).
        n_old : int
            Ids in use before: rows ``n .. n_old-1`` are cleared.

        Raises
        ------
        StateError
            If ``tied`` differs or the capacity is below ``plan["n"]``.
        """
        n, nb = int(plan["n"]), int(plan["n_base"])
        if bool(base["tied"]) != self.tied or n > self.capacity:
            raise StateError("parameters: tied setting or capacity differs")
        names = ("W",) if self.tied else ("W", "C")
        dead = np.flatnonzero(plan["counts"][:n] <= 0)
        for name in names:
            M, B, r = getattr(self, name), base[name], np.asarray(rows[name], dtype=np.int64)
            r = r[(r >= 0) & (r < nb)]
            if r.size > nb // 4:  # a block copy beats a gather/scatter of most rows
                M[:nb] = B[:nb]
            else:
                M[r] = B[r]
            M[nb:max(n, n_old)] = 0.0
        # the delta, applied to the model's own arrays (views: apply_update writes into them)
        mine = {"tied": self.tied, **{name: getattr(self, name) for name in names},
                **{k: base[k] for k in STREAM_RECORD.names}}
        out = SGNSParameters.apply_update(mine, delta, plan)
        for name in names:
            M = getattr(self, name)
            if out[name].base is not M and out[name] is not M:
                raise StateError("parameters: the merged rows were not written in place")
            M[dead] = 0.0
        k = min(out["rng"].shape[0], self.rng.shape[0])
        self.rng[:k] = out["rng"][:k]
        record_from_dict(self.meta, out, "parameters")

    # ---------------------------------------------------------------- compressed row deltas
    @staticmethod
    def encode_delta(delta: dict, base: dict, residual: dict, counts: np.ndarray, round_no: int,
                     fp16: bool = True, rare_below: int = 0) -> dict:
        """Shrink the rows of a :meth:`state_delta` for the wire: float16 differences with error feedback, and rare
        words' C rows every other round.

        Each touched row ``i`` of base id is sent as ``q = float16(x − b + r)``, ``b`` the base row and
        ``r`` the replica's residual (what earlier rounds did not transmit); the receiver
        reconstructs ``b + float32(q)`` (:meth:`decode_delta`) and the residual becomes what float16
        missed, ``x − b + r − q``, added to the row's next difference (error feedback,
        Seide et al. 2014, sec. 3; Karimireddy et al. 2019, Algorithm 2). With ``rare_below > 0``
        the C rows of words counted fewer than ``rare_below`` times in the base are sent on
        alternate rounds, half of them (by id parity) each round; a row not sent this round keeps
        its whole difference in the residual (frequency tiers: pWord2Vec, Ji et al. 2016, sec. 4:
        frequent words' rows every sync, the rest less often). Counts, sketch cells and the new
        words' rows are untouched (they stay exact).

        Parameters
        ----------
        delta : dict
            :meth:`state_delta` output (float32 ``M_rows``).
        base : dict
            The base :meth:`state_dict` the delta is against.
        residual : dict
            ``{"W": (r, d) float32, "C": ...}`` per base id (empty at start); updated in place or
            re-allocated (grown to the base's ids): keep the returned one.
        counts : ndarray, shape (n,), int64
            The base vocabulary's counts (the tiers).
        round_no : int
            Alternates the rare rows' halves.
        fp16 : bool
            Send float16 differences (else float32 rows, as :meth:`state_delta`).
        rare_below : int
            Count below which a word's C row is in the alternate tier (0: no tiers).

        Returns
        -------
        dict
            The delta with ``M_ids`` (t,) int32 and either ``M_d16`` (t, d) float16 differences or
            ``M_rows`` (t, d) float32 rows, and ``residual`` replaced by the updated residual
            (pop it before sending: it stays on the replica).
        """
        out = dict(delta)
        res = dict(residual)
        nb = base["W"].shape[0]
        dead = counts[:nb] <= 0
        for name in ("W",) if base["tied"] else ("W", "C"):
            B = base[name]
            R = residual.get(name)
            R = np.zeros((nb, B.shape[1]), dtype=np.float32) if R is None else grow_rows(R, nb)
            R[dead] = 0.0  # a free id's next word starts without a debt
            ids = delta[f"{name}_ids"].astype(np.int64)
            t = delta[f"{name}_rows"] - B[ids]
            t += R[ids]
            if rare_below > 0 and name == "C":
                send = (counts[ids] >= rare_below) | ((ids + round_no) % 2 == 0)
                R[ids[~send]] = t[~send]
                ids, t = ids[send], t[send]
            if fp16:
                np.clip(t, -65504.0, 65504.0, out=t)
                q = t.astype(np.float16)
                t -= q  # what float16 missed
                R[ids] = t
                out.pop(f"{name}_rows")
                out[f"{name}_d16"] = q
            else:
                R[ids] = 0.0
                out[f"{name}_rows"] = B[ids] + t
            out[f"{name}_ids"] = ids.astype(np.int32)
            res[name] = R
        out["residual"] = res
        return out

    @staticmethod
    def decode_delta(delta: dict, base: dict) -> dict:
        """The :meth:`state_delta` form of an :meth:`encode_delta` output: float32 rows ``b + float32(q)``.

        Parameters
        ----------
        delta : dict
            Encoded parameters delta (``M_d16`` float16 differences), or a plain one (returned as is).
        base : dict
            The base :meth:`state_dict` it is against (the receiver's copy, equal to the sender's).

        Returns
        -------
        dict
            The delta with float32 ``M_rows`` (new dict; inputs are not modified).

        Raises
        ------
        StateError
            If the ids and rows do not match.
        """
        out = dict(delta)
        for name in ("W", "C"):
            q = delta.get(f"{name}_d16")
            if q is None:
                continue
            ids = delta[f"{name}_ids"].astype(np.int64)
            if q.shape != (ids.size, base[name].shape[1]):
                raise StateError(f"parameters: {name} differences do not match their ids")
            out.pop(f"{name}_d16")
            out[f"{name}_rows"] = base[name][ids] + q.astype(np.float32)
        return out
