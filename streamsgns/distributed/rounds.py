"""What every replica computes at a round boundary from the merged state, instead of receiving it.

Two pieces of a model's state move by the token count rather than by the tokens themselves:
forgetting's decay steps (:mod:`streamsgns.forget`: every count times ``2 ** (-s / H)`` once
``since >= every`` tokens) and change detection's checks (:mod:`streamsgns.change`: an O(V) test
every ``change_every`` tokens, whose alarms restart a word's step evidence and its averages). A
replica that ran them inside its round would decay the shared base counts in its own token clock,
or test a word on its own share of the evidence. So a replica defers both while it learns
(:meth:`streamsgns.SGNS.defer_round_steps`: ``since`` and the change signatures still accumulate,
and merge as increments), and at the round boundary :func:`round_steps` runs, on the merged state
and by the merged token count, what is due: the change check (with its restarts and records),
then the decay step — the order one process takes at a line end followed by its next chunk.

Where it runs: on the merge actor's model of the merged state (:class:`~streamsgns.distributed.merger.Merger`,
which checkpoints the result) and on every replica after it took the merged update
(:class:`~streamsgns.distributed.replica.Replica`; the simulator does the same). Both steps are
deterministic functions of the merged state — the decay's rounding is keyed by word hashes and the
step number, the check is numba code over the rows, the alarms' records use the merged vectors —
so every replica reaches the merge actor's state bit for bit, and nothing of it is shipped (the
merged update is the delta *before* the steps; ``tests/test_replicas_rounds.py``). A check costs
O(V) on every replica every ``change_every`` merged tokens, against shipping its results: every
observed row's centre, scale, CUSUM and counters (about 190 bytes a row) to every replica.
"""

from __future__ import annotations

import numpy as np

from .apply import writable_state

__all__ = ["round_steps", "decay_now", "take_steps", "steps_due"]


def decay_now(model) -> np.ndarray:
    """One decay step of forgetting on ``model`` now (:func:`streamsgns.forget.forget_step`), whatever ``since`` is.

    The step one process takes at its next chunk start once ``since >= every``: every count times
    ``2 ** (-since / half_life)``, faded words evicted (their W and C rows zeroed, as a merge
    leaves the rows of free ids), the change detector's step-evidence bases scaled, the noise
    table rebuilt before its next use.

    Parameters
    ----------
    model : streamsgns.SGNS
        With a ``half_life``; ``workers=1`` or flushed.

    Returns
    -------
    ndarray, shape (k,), int64
        The ids freed by the step (faded words).

    Raises
    ------
    ValueError
        If the model has no ``half_life``.
    """
    from .. import kernels as K
    from ..trainer import _NO_BATCH

    if model.half_life is None:
        raise ValueError("decay_now: the model has no half_life")
    model.flush()
    t, va = model._trainer, model.vocab
    n = va.n_ids
    live = va.counts[:n] > 0
    evicted = int(va.meta[0]["n_evicted"])
    K.forget_block(t.cfg, model.forget.arrays(), va.arrays(), va.sketch.arrays(), t._cooc_arrays(),
                   model.noise.arrays(), t._detect_arrays(), _NO_BATCH, False)
    if int(va.meta[0]["n_evicted"]) != evicted:
        va.drop_evicted()
    freed = np.flatnonzero(live & (va.counts[:n] == 0))
    if freed.size:
        model.params.W[freed] = 0.0
        model.params.C[freed] = 0.0
    return freed


def round_steps(model) -> frozenset:
    """Run what the merged token count makes due on a model of the merged state: a change check, then a decay step.

    Parameters
    ----------
    model : streamsgns.SGNS
        Holding the merged state of a round (the merge actor's, or a replica's after
        :func:`~streamsgns.distributed.apply.apply_update`); modified in place.

    Returns
    -------
    frozenset of str
        The top-level keys of :meth:`streamsgns.SGNS.state_dict` the steps changed (empty: nothing
        was due): ``change`` and ``change_log`` after a check (and ``average`` when it raised an
        alarm); ``vocab``, ``noise``, ``cooc``, ``forget`` and ``change`` after a decay step (and
        ``parameters`` when words faded).

    Examples
    --------
    >>> from streamsgns import SGNS
    >>> m = SGNS(vector_size=8, min_count=1, sketch_width=1024, cooc_sketch_width=1024, half_life=160,
    ...          detect_changes=False, seed=0)
    >>> m.defer_round_steps()
    >>> m.learn_one("the cat sat on the mat and the dog ate the hat")  # 12 tokens: a step was due at 10
    >>> int(m.forget.meta[0]["n_decays"]), int(m.forget.meta[0]["since"])  # none was taken
    (0, 12)
    >>> sorted(round_steps(m)), int(m.forget.meta[0]["n_decays"]), int(m.forget.meta[0]["since"])
    (['change', 'cooc', 'forget', 'noise', 'vocab'], 1, 0)
    """
    keys = set()
    seen = model.words_seen
    if model.detect is not None and seen >= model.detect.next_check:
        alarms = model.changes_count
        model.check_changes()
        keys |= {"change", "change_log"}
        if model.changes_count != alarms and model.average is not None:
            keys.add("average")
    f = model.forget
    if f.half_life is not None and int(f.meta[0]["since"]) >= f.every:
        if decay_now(model).size:
            keys.add("parameters")
        keys |= {"vocab", "noise", "cooc", "forget", "change"}
    if keys:
        model._trainer.pause_at = model._next_periodic()
        model._export.invalidate()
    return frozenset(keys)


def steps_due(state: dict) -> bool:
    """Whether :func:`round_steps` would change a model of ``state`` (a merged :meth:`streamsgns.SGNS.state_dict`).

    Two comparisons, no model: for a replica that does not hold a model of the merged state (one
    that takes the merged update late, after training on) and would build one only when needed.

    Examples
    --------
    >>> steps_due({"parameters": {"words_seen": 40_000}, "change": {"next_check": 32_768},
    ...            "forget": {"half_life": None, "since": 0}})
    True
    >>> steps_due({"parameters": {"words_seen": 40_000}, "change": None,
    ...            "forget": {"half_life": 1e6, "since": 40_000}})
    False
    """
    from ..forget import forget_every

    change, forget = state.get("change"), state.get("forget")
    if change is not None and int(state["parameters"]["words_seen"]) >= int(change["next_check"]):
        return True
    return bool(forget is not None and forget.get("half_life") is not None
                and int(forget["since"]) >= forget_every(forget["half_life"]))


def take_steps(model, state: dict) -> dict:
    """:func:`round_steps` on ``model`` (holding ``state``), and ``state`` with the parts the steps changed.

    Parameters
    ----------
    model : streamsgns.SGNS
        Holding ``state`` (loaded from it, or updated in place to it); modified in place.
    state : dict
        The merged state (a :meth:`streamsgns.SGNS.state_dict`); not modified.

    Returns
    -------
    dict
        ``state`` itself when nothing was due, else a new dict whose changed parts are owned copies
        of the model's (the parameters' RNG streams stay ``state``'s: a replica re-derives its own).
    """
    keys = round_steps(model)
    if not keys:
        return state
    now = model.state_dict()
    out = dict(state)
    for k in keys:
        out[k] = writable_state(now[k])
    if "parameters" in keys:
        out["parameters"]["rng"] = np.array(state["parameters"]["rng"], copy=True)
    return out
