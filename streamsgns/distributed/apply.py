"""A replica takes the merged update in place: O(what changed), not a rebuild of the model.

A replica ends a round holding ``X`` (its trained model) and its base ``S`` (the merged state it
started from, its own writable copy), and has sent ``D = model_delta(X, S)``. The merge actor
returns the merged update ``U = model_delta(S', S)``. :func:`apply_update` makes both the base and
the live model equal to ``S'`` without :meth:`streamsgns.SGNS.from_state` (which allocates, copies
and re-validates every array, decodes every word and rebuilds the averages):

* the base becomes ``S'`` in place, one component at a time
  (:meth:`~streamsgns.vocab.Vocabulary.apply_update` with the sketch's cells,
  :meth:`~streamsgns.parameters.SGNSParameters.apply_update`,
  :meth:`~streamsgns.cooc.CooccurrenceStats.apply_update`, the averages'
  :meth:`~streamsgns.averaging.IterateAverage.merged` with ``inplace=True``); what every replica
  derives from the merged counts is rebuilt there (the noise table, O(ids));
* the model differs from ``S'`` only where the round (``D``) or the merge (``U``) changed
  something, plus the ids whose word differs: only those rows of W, C and the averages and those
  cells of the sketches are copied; the per-id vectors (counts, hashes, marginals: O(ids) bytes)
  and the exact co-occurrence table (``4·top_n²`` bytes) are copied whole, and the hash table is
  rebuilt (O(capacity), as a load does). A halving of the word sketch or a fold of the averages
  on either side copies that part whole (both are O(state) where they happen anyway).

The result equals loading ``merge_deltas(S, [U])`` with :meth:`streamsgns.SGNS.from_state` bit for
bit, in every array of the state and in what the model learns next
(``tests/test_replicas_delta.py``).
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
from ..vocab import Vocabulary
from .merge import MergeError

__all__ = ["apply_update", "apply_to_base", "writable_state"]


def writable_state(state):
    """A deep copy of a state with every array writable and owned (e.g. one fetched from Ray's store,
    whose arrays are read-only views), so that :func:`apply_update` can update it in place."""
    if isinstance(state, dict):
        return {k: writable_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return np.array(state, copy=True)
    return state


def _union(*ids) -> np.ndarray:
    """The indices of all of ``ids`` in one int64 array (repeats kept: copying an entry twice is harmless)."""
    return np.concatenate([np.asarray(i, dtype=np.int64).ravel() for i in ids])


def apply_update(model, base: dict, update: dict, own: dict | None) -> dict:
    """Make ``base`` and ``model`` the merged state ``merge_deltas(base, [update])``, in place.

    Parameters
    ----------
    model : streamsgns.SGNS
        The replica's model: ``base`` plus the round that produced ``own`` (``workers=1``, without
        replay, as replicas train). Modified in place; its RNG streams become
        the merged state's (a replica then re-derives its own).
    base : dict
        The state the round started from (:meth:`streamsgns.SGNS.state_dict` with writable arrays
        owned by the caller: :func:`writable_state`); its arrays are updated in place and must not
        be used as the old base afterwards.
    update : dict
        The merged update: :func:`~streamsgns.distributed.delta.model_delta` of the merged state
        against ``base``.
    own : dict or None
        The replica's own delta of the round (``model_delta(model.state_dict(), base)``): where the
        model differs from ``base``. None: unknown (every row is copied).

    Returns
    -------
    dict
        The merged state (the replica's next base; arrays partly shared with the model's inputs,
        never with the model).

    Raises
    ------
    MergeError
        If the update does not fit the base or the model (settings, shapes, keys); the model and
        the base may then be half updated: load a merged state again (a replica's ``reset``).
    """
    try:
        return _apply(model, base, update, own)
    except (StateError, KeyError, IndexError, ValueError) as e:
        raise MergeError(f"update does not fit the replica: {type(e).__name__}: {e}") from e


def apply_to_base(base: dict, update: dict) -> dict:
    """Make ``base`` the merged state ``merge_deltas(base, [update])`` in place (the base half of
    :func:`apply_update`, for a replica whose model is taken late: :mod:`streamsgns.distributed.overlap`).

    Parameters
    ----------
    base : dict
        A writable state (:func:`writable_state`); its arrays are updated in place and must not be
        used as the old base afterwards.
    update : dict
        The merged update against ``base`` (plain or encoded).

    Returns
    -------
    dict
        The merged state (arrays partly shared with ``base``'s).

    Raises
    ------
    MergeError
        If the update does not fit the base.
    """
    from .delta import decode_delta

    try:
        return _apply_base(base, decode_delta(update, base))[0]
    except (StateError, KeyError, IndexError, ValueError) as e:
        raise MergeError(f"update does not fit the replica: {type(e).__name__}: {e}") from e


def _apply_base(base: dict, update: dict) -> tuple[dict, dict]:
    """Step 1 of :func:`apply_update`: the base becomes the merged state, in place; (state, vocabulary plan)."""
    bv, bp = base["vocab"], base["parameters"]
    vocab, plan = Vocabulary.apply_update(bv, update["vocab"])
    params = SGNSParameters.apply_update(bp, update["parameters"], plan)
    new = {"params": dict(base["params"]), "vocab": vocab,
           "noise": NoiseDistribution.rebuilt(base["noise"], plan["counts"], plan["n"], params["words_seen"]),
           "cooc": None, "parameters": params,
           "stats": {k: int(v) + int(update["stats"].get(k, 0)) for k, v in base.get("stats", {}).items()}}
    if base.get("cooc") is not None:
        new["cooc"] = CooccurrenceStats.apply_update(base["cooc"], update["cooc"], plan)
    if base.get("forget") is not None:
        new["forget"] = Forgetting.merge_deltas(base["forget"], [update["forget"]])
    if "change" in base:  # O(ids) arrays, as the vocabulary's
        new["change"] = None if base["change"] is None else ChangeDetector.merge_deltas(
            base["change"], [update["change"]], plan)
    if "change_log" in base:
        new["change_log"] = base["change_log"]
    if base.get("average") is not None:
        C = params["W"] if params["tied"] else params["C"]
        new["average"] = IterateAverage.merged(base["average"], params["W"], C, plan["hashes"], plan["counts"],
                                               int(params["words_seen"]), params["W"].shape[1], inplace=True)
    return new, plan


def _apply(model, base: dict, update: dict, own: dict | None) -> dict:
    from .delta import decode_delta

    update = decode_delta(update, base)  # an encoded update (float16 rows) against this same base
    if model.replay_state is not None:
        raise MergeError("apply_update: a replica trains without replay")
    model.flush()
    bv = base["vocab"]
    n_base, n_model = int(bv["next_id"]), model.vocab.n_ids
    # ids where the model holds another word than the base (admitted, evicted or moved in the round)
    m = max(n_base, n_model)
    live_b, h_b = np.zeros(m, bool), np.zeros(m, np.uint64)
    live_b[:n_base], h_b[:n_base] = bv["counts"][:n_base] > 0, bv["hashes"][:n_base]
    live_m = np.zeros(m, bool)
    live_m[:n_model] = model.vocab.counts[:n_model] > 0
    h_m = np.zeros(m, np.uint64)
    h_m[:n_model] = model.vocab.hashes[:n_model]
    moved = np.flatnonzero((live_b != live_m) | (live_b & (h_b != h_m)))
    sk_halvings = int(bv["sketch"]["n_halvings"])
    folds = None if base.get("average") is None else int(base["average"]["folds"])

    # 1. the base becomes the merged state, in place
    new, plan = _apply_base(base, update)
    vocab, params = new["vocab"], new["parameters"]

    # 2. the model becomes the merged state where it differs from it
    up, uv = update["parameters"], update["vocab"]
    full_sketch = (own is None or own["vocab"]["sketch"]["halvings"] or uv["sketch"]["halvings"]
                   or int(vocab["sketch"]["n_halvings"]) != sk_halvings)
    cells = None if full_sketch else _union(own["vocab"]["sketch"]["cells"], uv["sketch"]["cells"])
    changed = model.vocab.assign(vocab, cells)
    cap = model.vocab.capacity
    model._trainer.fit(cap)
    if model.average is not None:
        model.average.grow(cap)
    words = _union(moved, changed, plan["dst"][0][plan["dst"][0] >= 0])  # ids whose word differs somewhere
    rows = {}
    for name in ("W",) if params["tied"] else ("W", "C"):
        rows[name] = np.arange(max(n_model, plan["n"]), dtype=np.int64) if own is None else \
            _union(own["parameters"][f"{name}_ids"], up[f"{name}_ids"], words)
    model.params.assign(params, rows, n_model)
    model.noise.assign(new["noise"])
    if model.cooc is not None:
        sk = None if own is None else _union(own["cooc"]["sk_cells"], update["cooc"]["sk_cells"])
        model.cooc.assign(new["cooc"], sk, n_model)
    if new.get("forget") is not None:
        model.forget.assign(new["forget"])
    if model.detect is not None:
        model.detect.assign(new["change"])
    if model.average is not None:
        a = new["average"]
        refolded = int(a["folds"]) != folds or int(model.average.meta[0]["folds"]) != folds
        model.average.assign(a, None if refolded else _union(*rows.values()), n_model)
    model.stats = {"invalid_utf8": 0, "bad_inputs": 0, **new["stats"]}
    model.source_position = None
    model._trainer.pause_at = model._next_periodic()
    model._export.invalidate()
    return new
