"""Sparse replica deltas: what one replica changed in a sync round, and their merge into the next base.

A replica starts a round from the merged state ``S`` (the *base*), trains, and ends with ``X``.
:func:`model_delta` turns ``X`` into ``D`` = what changed (the W and C rows it touched, count
increments, new words by their 64-bit hash, the sketch cells that grew, counters), asking each
component for its own part; :func:`merge_deltas` turns ``S`` and the replicas' ``D``\\ s into the
next base, again one component at a time. This module holds the order of the calls and no
component's layout:

* ``vocab``: :meth:`Vocabulary.state_delta` (with :meth:`~streamsgns.sketch.CountMinSketch.state_delta`) →
  :meth:`Vocabulary.merge_deltas`, which also returns the *plan* (where each replica's rows go);
* ``parameters``: :meth:`SGNSParameters.state_delta` → :meth:`SGNSParameters.merge_deltas`;
* ``cooc``: :meth:`CooccurrenceStats.state_delta` → :meth:`CooccurrenceStats.merge_deltas`;
* ``forget``: :meth:`Forgetting.state_delta` → :meth:`Forgetting.merge_deltas` (``since`` increments:
  the merged token count since the last decay step);
* ``change``: :meth:`ChangeDetector.state_delta` → :meth:`ChangeDetector.merge_deltas` (signature
  sums and pair counts added);
* ``noise``: not shipped → :meth:`NoiseDistribution.rebuilt` from the merged counts;
* ``average``: not shipped → :meth:`IterateAverage.merged` (a fold of the merged rows when due);
* ``stats``: increments → base + Σ increments; ``params``: must equal the base's;
* ``change_log``: refused if a replica added records, else the base's;
* decay steps of forgetting and change checks: not shipped, not merged here — every replica and the
  merge actor run them on the merged state at the round boundary
  (:func:`streamsgns.distributed.rounds.round_steps`).

The merge equals :func:`streamsgns.distributed.merge.merge_states` with ``rows="sum"`` on the same
replica states, bit for bit (``tests/test_replicas_delta.py``), while moving only what changed.
A replica may shrink its delta for the wire (:func:`encode_delta`: float16 row differences with
error feedback, rare words' C rows on alternate rounds); :func:`merge_deltas` decodes it against
the same base. A replica takes the merged update in place with
:func:`streamsgns.distributed.apply.apply_update`.

Adding a component (the pattern)
--------------------------------
1. next to its ``state_dict()``, a ``DELTA_KEYS`` set naming every key of its state, checked by
   :func:`streamsgns._state.check_delta_keys` in its ``state_delta``, so a key added later is refused
   until it has a rule;
2. a static ``state_delta(state, base[, same, new_rid])``: plain arrays of what changed; per-id arrays
   key a base word by its id when ``same`` (the replica still holds the base's word there) and a
   new entry by its position in ``new_rid`` (:meth:`Vocabulary.row_map`), never by replica id;
3. a static ``merge_deltas(base, deltas[, plan])`` returning the component's next ``state_dict``;
   per-id arrays follow the vocabulary's plan (``plan["dst"][k][e]`` is the merged id of replica
   ``k``'s new entry ``e``; base ids are kept); state that every replica can derive from the merged
   counts (a table rebuilt, a fold, a decay step) is rebuilt there and not shipped;
4. one line in :func:`model_delta` and one in :func:`merge_deltas` below; an unknown top-level key
   is refused (:class:`MergeError`) until then.
"""

from __future__ import annotations

import numpy as np

from .._state import StateError
from ..averaging import IterateAverage
from ..change import ChangeDetector
from ..cooc import CooccurrenceStats
from ..forget import Forgetting
from ..noise import NoiseDistribution
from ..parameters import SGNSParameters
from ..rates import merged_step_scale, replica_step_gain, replica_step_mass
from ..vocab import Vocabulary
from .merge import MergeError, state_nbytes

__all__ = ["model_delta", "merge_deltas", "delta_nbytes", "encode_delta", "decode_delta", "TOP_KEYS"]

#: Top-level keys of :meth:`streamsgns.SGNS.state_dict` that a delta covers.
TOP_KEYS = frozenset({"params", "vocab", "noise", "cooc", "parameters", "forget", "stats", "average", "change",
                      "change_log"})


def _same_params(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "workers"} == {k: v for k, v in b.items() if k != "workers"}


def _log_entries(state: dict) -> tuple:
    """The change records and pending records of a state (none for a state without a change log)."""
    import json

    log = state.get("change_log")
    if log is None:
        return ([], [])
    return tuple(json.loads(bytes(np.asarray(log[k], dtype=np.uint8)).decode("utf-8") or "[]")
                 for k in ("records", "pending"))


def model_delta(state: dict, base: dict) -> dict:
    """What a replica changed since ``base``: one delta per component (arrays of the changes only).

    Parameters
    ----------
    state : dict
        The replica's :meth:`streamsgns.SGNS.state_dict` at the end of the round.
    base : dict
        The merged state it loaded at the start of the round.

    Returns
    -------
    dict
        ``vocab``, ``parameters``, ``cooc`` (None without statistics), ``forget``, ``change`` (None
        without change detection), ``stats``; :func:`delta_nbytes` gives its size.

    Raises
    ------
    MergeError
        On a state key without a rule, settings that differ from the base's, or state a replica
        must not change inside a round (a decay step, a change check, a change record).

    Examples
    --------
    >>> from streamsgns import SGNS
    >>> base = SGNS(vector_size=8, min_count=1, sketch_width=1024, cooc_sketch_width=1024, seed=0,
    ...             detect_changes=False).state_dict()
    >>> r = SGNS.from_state(base)
    >>> r.learn_one("the cat sat on the mat")
    >>> d = model_delta(r.state_dict(), base)
    >>> d["vocab"]["new_count"].tolist(), d["parameters"]["W_new"].shape
    ([2, 1, 1, 1, 1], (5, 8))
    """
    unknown = sorted(set(state) - TOP_KEYS)
    if unknown:
        raise MergeError(f"no delta rule for state key(s) {unknown}; see streamsgns.distributed.delta")
    if not _same_params(state["params"], base["params"]):
        raise MergeError("params: a replica's settings differ from the base's")
    if _log_entries(state) != _log_entries(base):
        raise MergeError("change_log: a replica recorded changes; change records are not merged")
    try:
        vs, vb = state["vocab"], base["vocab"]
        same, new_rid = Vocabulary.row_map(vs, vb)
        out = {"vocab": Vocabulary.state_delta(vs, vb),
               "parameters": SGNSParameters.state_delta(state["parameters"], base["parameters"], same, new_rid),
               "cooc": None, "forget": None, "change": None,
               "stats": {k: int(v) - int(base.get("stats", {}).get(k, 0)) for k, v in state.get("stats", {}).items()}}
        if (state.get("cooc") is None) != (base.get("cooc") is None):
            raise MergeError("cooc: a replica and its base differ in keeping co-occurrence statistics")
        if state.get("cooc") is not None:
            out["cooc"] = CooccurrenceStats.state_delta(state["cooc"], base["cooc"], same, new_rid)
        if state.get("forget") is not None:
            out["forget"] = Forgetting.state_delta(state["forget"], base["forget"])
        if (state.get("change") is None) != (base.get("change") is None):
            raise MergeError("change: a replica and its base differ in detecting changes")
        if state.get("change") is not None:
            out["change"] = ChangeDetector.state_delta(state["change"], base["change"], same, new_rid)
    except StateError as e:
        raise MergeError(str(e)) from e
    return out


def merge_deltas(base: dict, deltas: list, rows: str = "sum", stiffness: float | None = None,
                 replicas: int | None = None, step_cap: float | None = None, max_step: float | None = None,
                 split_steps: bool = False) -> dict:
    """The next base: ``base`` plus the replicas' deltas (:func:`model_delta`), component by component.

    Parameters
    ----------
    base : dict
        The merged state every replica started the round from.
    deltas : list of dict
        One per replica (K >= 1), in replica order (it fixes the order of the float sums and
        which replica's RNG streams are kept); plain or :func:`encode_delta` outputs.
    rows : {"sum", "scaled", "gain", "diverse"}
        ``"sum"``: each row gets the base plus every replica's update (equal bit for bit to
        :func:`~streamsgns.distributed.merge.merge_states` with ``rows="sum"``). ``"scaled"``: the
        summed update of a word is scaled so that its total step is the one a single process
        would have taken over the merged evidence (:func:`streamsgns.rates.merged_step_scale`, from the
        step evidence at the start of the round; per-word rule only, the global rule sums). ``"gain"``: the replicas took evidence-aware steps
        (:meth:`streamsgns.SGNS.extrapolate_steps` with ``replicas`` and ``step_cap``), and each row's
        summed update is weighed by ``1/m``, ``m`` its gain (:func:`streamsgns.rates.replica_step_gain`
        of its step evidence in the base: its count, less the change detector's restart ``base`` when
        changes are detected; new words' C rows too, their W rows are the mean as with ``"sum"``); with
        ``stiffness``, by ``F / Σ_k f_k`` instead, the relaxation model of ``"scaled"`` on the steps
        the replicas took (:func:`streamsgns.rates.replica_step_mass`): ``1/m`` where no step hit
        ``max_step``, more for rows whose steps it limited and that stay far from their optimum.
        ``"diverse"``: ``"gain"`` (the same replica steps and weights), each row's weight then capped
        at its update diversity ``Σ_k ‖u_k‖² / ‖Σ_k u_k‖²`` (:meth:`SGNSParameters.merge_deltas`
        with ``diversity=True``): replicas that moved a row the same way are merged as their mean
        whatever the gain, so a row the step limit left with a weight above ``1/T`` cannot overshoot
        the common target of its ``T`` replicas.
    stiffness : float, optional
        Of ``rows="scaled"`` and ``rows="gain"``.
    replicas, step_cap, max_step : int, float, float, optional
        Of ``rows="gain"``: the replicas of the job (None: ``len(deltas)``), the replicas' largest
        step in units of ``alpha`` that sets the gains (None: ``replicas``) and their limit on any
        step in units of ``alpha`` (None: none), as given to :meth:`streamsgns.SGNS.extrapolate_steps`.
    split_steps : bool
        Of ``rows="gain"`` / ``"diverse"`` with a stiffness: the replicas split their steps above
        ``max_step`` into sub-updates (``SGNS.extrapolate_steps(..., split_steps=True)``), so their step
        sums are not limited: :func:`streamsgns.rates.replica_step_mass` without ``max_step``
        (``docs/scale-out.md``, "Split steps").

    Returns
    -------
    dict
        A state :meth:`streamsgns.SGNS.from_state` accepts (new arrays; inputs are not modified).

    Raises
    ------
    MergeError
        With no delta, or deltas that do not fit the base.
    """
    if not deltas:
        raise MergeError("no replica delta to merge")
    if rows not in ("sum", "scaled", "gain", "diverse"):
        raise MergeError(f"rows must be 'sum', 'scaled', 'gain' or 'diverse', not {rows!r}")
    try:
        deltas = [decode_delta(d, base) for d in deltas]
        vocab, plan = Vocabulary.merge_deltas(base["vocab"], [d["vocab"] for d in deltas])
        scale = None
        p = base["params"]
        restarts = np.zeros(int(plan["n"]), np.int64)  # the per-word steps' evidence is count − restart base
        if base.get("change") is not None:
            nr = min(int(plan["n_base"]), base["change"]["base"].shape[0], restarts.shape[0])
            restarts[:nr] = base["change"]["base"][:nr]
            restarts[plan["new_ids"]] = 0
        if rows == "scaled" and p.get("word_decay"):
            start = np.maximum(plan["counts"] - plan["inc"].sum(axis=0) - restarts, 0)
            scale = merged_step_scale(start, plan["inc"], float(p["alpha"]), float(p["min_alpha"]),
                                      float(p["word_decay"]), stiffness)
        elif rows in ("gain", "diverse") and p.get("word_decay"):
            k = len(deltas) if replicas is None else int(replicas)
            n0 = np.zeros(int(plan["n"]), np.float64)
            nb = min(int(plan["n_base"]), n0.shape[0])
            n0[:nb] = base["vocab"]["counts"][:nb]  # the replicas' evidence at load (free rows: 0) ...
            n0 = np.maximum(n0 - restarts, 0)  # ... since their last restart (SGNS.extrapolate_steps)
            wd, alpha = float(p["word_decay"]), float(p["alpha"])
            gain = replica_step_gain(n0, k, wd, float(k if step_cap is None else step_cap))
            if stiffness is None:
                scale = 1.0 / gain
            else:
                top = np.inf if max_step is None or split_steps else float(max_step) * alpha
                each = -np.expm1(-stiffness * replica_step_mass(n0, plan["inc"], alpha, wd, k, gain, top)).sum(axis=0)
                whole = -np.expm1(-stiffness * replica_step_mass(n0, plan["inc"].sum(axis=0), alpha, wd, 1,
                                                                  np.ones_like(gain)))
                scale = np.where(each > 0, whole / np.where(each > 0, each, 1.0), 1.0 / gain)
        params = SGNSParameters.merge_deltas(base["parameters"], [d["parameters"] for d in deltas], plan, scale,
                                             diversity=rows == "diverse")
        out = {"params": dict(base["params"]), "vocab": vocab,
               "noise": NoiseDistribution.rebuilt(base["noise"], plan["counts"], plan["n"], params["words_seen"]),
               "cooc": None, "parameters": params,
               "stats": {k: int(v) + sum(int(d["stats"].get(k, 0)) for d in deltas)
                         for k, v in base.get("stats", {}).items()}}
        if base.get("cooc") is not None:
            out["cooc"] = CooccurrenceStats.merge_deltas(base["cooc"], [d["cooc"] for d in deltas], plan)
        if base.get("forget") is not None:
            out["forget"] = Forgetting.merge_deltas(base["forget"], [d["forget"] for d in deltas])
        if "change" in base:  # the records stay the base's (a replica adds none; checks run at round boundaries)
            out["change"] = None if base["change"] is None else ChangeDetector.merge_deltas(
                base["change"], [d["change"] for d in deltas], plan)
        if "change_log" in base:
            out["change_log"] = base["change_log"]
        if base.get("average") is not None:
            C = params["W"] if params["tied"] else params["C"]
            out["average"] = IterateAverage.merged(base["average"], params["W"], C, plan["hashes"], plan["counts"],
                                                   int(params["words_seen"]), params["W"].shape[1])
    except (StateError, KeyError, IndexError, ValueError) as e:
        raise MergeError(f"deltas do not fit the base: {type(e).__name__}: {e}") from e
    return out


def encode_delta(delta: dict, base: dict, residual: dict, round_no: int, fp16: bool = True,
                 rare_below: int = 0) -> tuple[dict, dict]:
    """Shrink a replica's delta for the wire (its W/C rows only; everything else stays exact).

    :meth:`streamsgns.parameters.SGNSParameters.encode_delta`: float16 row differences with the
    replica's error-feedback ``residual``, and/or the C rows of words counted fewer than
    ``rare_below`` times in the base sent on alternate rounds (half of them each round).
    :func:`merge_deltas` decodes it (:func:`decode_delta`) against the same base.

    Parameters
    ----------
    delta : dict
        :func:`model_delta` output.
    base : dict
        The state the delta is against.
    residual : dict
        The replica's residual (``{}`` at start or after a rollback).
    round_no : int
    fp16 : bool
    rare_below : int

    Returns
    -------
    delta : dict
        The encoded delta (what the replica sends).
    residual : dict
        The updated residual (kept by the replica for its next round).
    """
    p = SGNSParameters.encode_delta(delta["parameters"], base["parameters"], residual, base["vocab"]["counts"],
                                    round_no, fp16=fp16, rare_below=rare_below)
    res = p.pop("residual")
    return {**delta, "parameters": p}, res


def decode_delta(delta: dict, base: dict) -> dict:
    """A plain :func:`model_delta` from an :func:`encode_delta` output (float32 rows against ``base``); a
    plain delta is returned as it is.

    Raises
    ------
    StateError
        If the encoded rows do not match their ids.
    """
    p = delta["parameters"]
    if "W_d16" not in p and "C_d16" not in p:
        return delta
    return {**delta, "parameters": SGNSParameters.decode_delta(p, base["parameters"])}


def delta_nbytes(delta) -> int:
    """Bytes of the arrays of a delta (what a replica sends at a sync), as :func:`state_nbytes`.

    Examples
    --------
    >>> delta_nbytes({"a": np.zeros(3, np.float32), "b": None})
    12
    """
    return state_nbytes(delta)
