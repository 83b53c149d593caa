"""The late apply of an overlapped replica: the merged update of round ``r`` taken after round ``r + 1``.

Without overlap a replica sends ``D_r = X_r − S_{r−1}`` and waits for the merged update
``U_r = S_r − S_{r−1}`` before it trains on. With overlap (``ReplicaJob(overlap=True)``) it keeps
training round ``r + 1`` at once, from ``X_r``, and takes ``U_r`` when it has arrived, after that
round. Its model is then ``X_{r+1}``; what it must become is the merged state plus its own round
``r + 1``:

    ``X' = S_r + (X_{r+1} − X_r)``   (equivalently ``X_{r+1} + U_r − D_r`` on the rows of base words)

whose delta against the new base ``S_r`` is what the replica sends for round ``r + 1``. The
difficulty is the vocabulary: the words the replica admitted in round ``r`` sit at replica-local
ids in ``X_r`` and ``X_{r+1}``, and the merge placed them at other ids of ``S_r`` (together with the
other replicas' new words). :func:`late_apply` therefore goes through the delta code, which already
keys new words by their 64-bit hash:

1. ``E = model_delta(X_{r+1}, X_r)``: the round ``r + 1`` alone (rows touched, count and cell
   increments, the words admitted in it by hash), against the state the replica had when it sent
   ``D_r`` (kept as a copy);
2. :func:`rebase_delta` re-keys ``E`` from ``X_r``'s ids to ``S_r``'s by hash (base words keep their
   ids in a merge; the round-``r`` words move to their merged ids) and turns what is absolute in a
   delta into what it was relative to ``X_r``: a row ``x`` becomes ``S_r + (x − X_r)`` (float64,
   rounded once), the sketch's totals and a new word's count move by ``S_r``'s minus ``X_r``'s;
3. ``X' = merge_deltas(S_r, [E'])`` with the ``sum`` rule (one delta: base + its changes). The words
   admitted in round ``r + 1`` take ids after ``S_r``'s (its free ids first), as any merge places
   new words.

What this changes against an on-time apply: the round ``r + 1`` was trained from ``X_r`` instead of
``S_r`` (one round more staleness: the other replicas' round ``r`` is seen a round later), and its
updates are added to ``S_r`` as they are. A word admitted in round ``r + 1`` that another replica
admitted in round ``r`` takes this replica's row (trained from its start in round ``r + 1``), as a
re-admitted word does in any merge; a round-``r`` word that the merge dropped (``max_vocab``) loses
its round ``r + 1`` changes; exact co-occurrence cells of a word without a slot in ``S_r`` are
dropped, as in any merge. Counts of admitted words, ``words_seen`` and the stream counters are
increments, so the exactly-once accounting is that of the plain path
(``tests/test_replicas_overlap.py``).

A replica does not build ``X'`` whole: :func:`late_apply_inplace` computes it into the live model's
own arrays (``X' = X_{r+1} + (S_r − X_r)`` where the merge changed something, as ``S_r + (X_{r+1} −
X_r)``), copying ``S_r``'s rows only where ``S_r`` and ``X_r`` differ (the others' update and the
merge rule's correction, ``U_r − D_r``) or the word at an id moved, and the sketch cells only where
``U_r``, ``D_r`` or the round changed them; it equals ``load_into(model, late_apply(...))`` bit for
bit (docs/scale-out.md, *The late apply in place*).
"""

from __future__ import annotations

import numpy as np

from ..sketch import cms_estimate_batch
from .delta import decode_delta, merge_deltas, model_delta

__all__ = ["rebase_delta", "late_apply", "late_apply_inplace", "id_map", "load_into"]


def id_map(old: dict, new: dict) -> np.ndarray:
    """Where each id of vocabulary state ``old`` sits in vocabulary state ``new``, by 64-bit hash.

    Parameters
    ----------
    old, new : dict
        :meth:`streamsgns.vocab.Vocabulary.state_dict` outputs.

    Returns
    -------
    ndarray, shape (old next_id,), int64
        The id in ``new`` holding the word of each live id of ``old``; -1 for a free id of ``old``
        or a word ``new`` does not hold.

    Examples
    --------
    >>> old = {"next_id": 3, "hashes": np.array([7, 9, 4], np.uint64), "counts": np.array([1, 0, 2])}
    >>> new = {"next_id": 3, "hashes": np.array([4, 5, 7], np.uint64), "counts": np.array([3, 1, 1])}
    >>> id_map(old, new).tolist()
    [2, -1, 0]
    """
    no, nn = int(old["next_id"]), int(new["next_id"])
    live = np.flatnonzero(np.asarray(new["counts"][:nn]) > 0)
    h = np.asarray(new["hashes"][:nn])[live]
    order = np.argsort(h, kind="stable")
    hs, ids = h[order], live[order]
    oh = np.asarray(old["hashes"][:no])
    pos = np.minimum(np.searchsorted(hs, oh), max(hs.size - 1, 0))
    out = np.full(no, -1, dtype=np.int64)
    if hs.size:
        hit = (hs[pos] == oh) & (np.asarray(old["counts"][:no]) > 0)
        out[hit] = ids[pos[hit]]
    return out


def _index(a: np.ndarray) -> np.ndarray:
    """int32 indices where they fit (as the deltas send them), else int64."""
    return a.astype(np.int32) if a.size == 0 or int(a.max()) < (1 << 31) else a.astype(np.int64)


def rebase_delta(delta: dict, old: dict, new: dict) -> dict:
    """Re-key a delta against state ``old`` into one against state ``new`` (same words, other ids).

    ``delta`` is :func:`~streamsgns.distributed.delta.model_delta` of a replica's state against
    ``old`` (its own state when it sent its previous delta); ``new`` is the merged state that
    replaced ``old``'s contents (the merged base). The result, merged onto ``new`` with
    :func:`~streamsgns.distributed.delta.merge_deltas` (``rows="sum"``), adds to ``new`` what the
    replica changed since ``old``:

    * base-word ids (count increments, touched rows, marginals, exact-cell keys) map by hash
      (:func:`id_map`); entries of words ``new`` does not hold are dropped;
    * a touched row ``x`` becomes ``new + (x − old)`` (float64, rounded once to float32), so that
      the merge's ``base + (x' − base)`` adds the replica's change and not its value;
    * the sketch's ``total`` and ``since_halving`` (absolute in a delta) and each word admitted
      since ``old`` (its count, absolute) move by ``new``'s minus ``old``'s value (its sketch
      estimate in each), so that the merge counts only the replica's increments;
    * what is already an increment (cell and count increments, counters, statistics) or keyed by
      hash (new words, sketch cells) is kept.

    Parameters
    ----------
    delta : dict
        A plain (not encoded) :func:`~streamsgns.distributed.delta.model_delta` against ``old``.
    old, new : dict
        :meth:`streamsgns.SGNS.state_dict` outputs with the same settings.

    Returns
    -------
    dict
        A delta against ``new`` (new arrays where re-keyed; others shared with ``delta``).

    Raises
    ------
    KeyError, IndexError, ValueError
        If the delta does not fit ``old`` (a :class:`~streamsgns.distributed.merge.MergeError` from
        :func:`late_apply`).
    """
    vo, vn = old["vocab"], new["vocab"]
    to = id_map(vo, vn)
    out = dict(delta)
    # vocabulary: count increments by id, new words' counts against the new base's sketch
    dv = dict(delta["vocab"])
    ids = to[dv["inc_ids"].astype(np.int64)]
    ok = ids >= 0
    dv["inc_ids"], dv["inc"] = _index(ids[ok]), dv["inc"][ok]
    so, sn = vo["sketch"], vn["sketch"]
    if dv["new_hash"].size:
        shift = (cms_estimate_batch(sn["table"], sn["seeds"], dv["new_hash"]).astype(np.int64)
                 - cms_estimate_batch(so["table"], so["seeds"], dv["new_hash"]).astype(np.int64))
        dv["new_count"] = np.maximum(dv["new_count"] + shift, 1)
    ds = dict(dv["sketch"])
    k = int(ds["halvings"])
    ds["total"] = int(ds["total"]) - (int(so["total"]) >> k) + (int(sn["total"]) >> k)
    ds["since_halving"] = int(ds["since_halving"]) - int(so["since_halving"]) + int(sn["since_halving"])
    dv["sketch"] = ds
    out["vocab"] = dv
    # parameters: touched rows as the new base plus the change since old
    dp = dict(delta["parameters"])
    po, pn = old["parameters"], new["parameters"]
    for name in ("W",) if dp.get("C_ids") is None else ("W", "C"):
        oid = dp[f"{name}_ids"].astype(np.int64)
        nid = to[oid]
        ok = nid >= 0
        oid, nid = oid[ok], nid[ok]
        # new + (x − old) in float64, rounded once (np.subtract/np.add in float64: no float64 copies of the inputs)
        t = np.subtract(dp[f"{name}_rows"][ok], po[name][oid], dtype=np.float64)
        np.add(pn[name][nid], t, out=t, dtype=np.float64)
        dp[f"{name}_rows"] = t.astype(np.float32)
        dp[f"{name}_ids"] = _index(nid)
    out["parameters"] = dp
    # co-occurrence statistics: marginals by id, exact cells keyed by base id (>= 0) or new entry (< 0)
    if delta.get("cooc") is not None:
        dc = dict(delta["cooc"])
        mid = to[dc["m_ids"].astype(np.int64)]
        ok = mid >= 0
        dc["m_ids"], dc["m_inc"] = _index(mid[ok]), dc["m_inc"][ok]
        keys = []
        for name in ("cell_c", "cell_w"):
            key = dc[name].astype(np.int64)
            base_key = key >= 0
            key[base_key] = to[key[base_key]]
            keys.append((key, base_key))
        ok = ~(keys[0][1] & (keys[0][0] < 0)) & ~(keys[1][1] & (keys[1][0] < 0))
        dc["cell_c"], dc["cell_w"] = keys[0][0][ok], keys[1][0][ok]
        dc["cell_inc"] = dc["cell_inc"][ok]
        out["cooc"] = dc
    return out


def late_apply(live: dict, sent: dict, merged: dict) -> dict:
    """The state an overlapped replica continues from: the merged state plus its round since it sent.

    Parameters
    ----------
    live : dict
        The replica's state now (``X_{r+1}``: :meth:`streamsgns.SGNS.state_dict`).
    sent : dict
        Its state when it sent its previous delta (``X_r``, a copy).
    merged : dict
        The merged state of that round (``S_r``: the replica's previous base with the merged update
        applied).

    Returns
    -------
    dict
        ``X' = merge_deltas(S_r, [rebase_delta(model_delta(X_{r+1}, X_r), X_r, S_r)])``: a state
        :meth:`streamsgns.SGNS.from_state` accepts, whose rows of words held by ``X_r`` and ``S_r``
        are ``S_r + (X_{r+1} − X_r)`` (float64, rounded once), whose counts and counters are
        ``S_r``'s plus the round's increments, and which holds the words admitted since ``X_r`` at
        ids after ``S_r``'s.

    Raises
    ------
    streamsgns.distributed.merge.MergeError
        If the states do not fit each other.
    """
    from .merge import MergeError

    e = model_delta(live, sent)
    try:
        e = rebase_delta(decode_delta(e, sent), sent, merged)
    except (KeyError, IndexError, ValueError) as err:
        raise MergeError(f"late apply: {type(err).__name__}: {err}") from err
    return merge_deltas(merged, [e], rows="sum")


def load_into(model, state: dict) -> None:
    """Make ``model`` hold ``state`` by copying every row and cell into its arrays (no new model).

    What :func:`streamsgns.distributed.apply.apply_update` does to the model when it does not know
    where the model differs (every row copied), with ``state`` given whole: cheaper than
    :meth:`streamsgns.SGNS.from_state` (no allocation unless the ids outgrow the capacity, no
    validation), for a state made by :func:`late_apply` from this model's own state.

    Parameters
    ----------
    model : streamsgns.SGNS
        A replica's model (``workers=1``, without change detection or replay), same settings as ``state``.
    state : dict
        A :meth:`streamsgns.SGNS.state_dict` (e.g. :func:`late_apply`'s); not modified, no array shared.

    Raises
    ------
    streamsgns.distributed.merge.MergeError
        If the model has change detection or replay.
    """
    from .merge import MergeError

    if model.detect is not None or model.replay_state is not None:
        raise MergeError("load_into: a replica trains without change detection or replay")
    model.flush()
    n_model = model.vocab.n_ids
    vocab, params = state["vocab"], state["parameters"]
    model.vocab.assign(vocab, None)
    cap = model.vocab.capacity
    model._trainer.fit(cap)
    if model.average is not None:
        model.average.grow(cap)
    every = np.arange(max(n_model, int(vocab["next_id"])), dtype=np.int64)
    model.params.assign(params, {name: every for name in (("W",) if params["tied"] else ("W", "C"))}, n_model)
    model.noise.assign(state["noise"])
    if model.cooc is not None:
        model.cooc.assign(state["cooc"], None, n_model)
    if state.get("forget") is not None:
        model.forget.assign(state["forget"])
    if model.average is not None:
        model.average.assign(state["average"], None, n_model)
    model.stats = {"invalid_utf8": 0, "bad_inputs": 0, **state["stats"]}
    model.source_position = None
    model._trainer.pause_at = model._next_periodic()
    model._export.invalidate()


def _cells(*ids) -> np.ndarray:
    """The indices of all of ``ids`` in one int64 array (repeats kept)."""
    return np.concatenate([np.asarray(i, dtype=np.int64).ravel() for i in ids])


def late_apply_inplace(model, sent: dict, merged: dict, update: dict | None = None, own: dict | None = None) -> None:
    """:func:`late_apply` taken into the live model in place: what ``load_into(model, late_apply(...))`` does,
    without building the late state's matrices and tables.

    The model holds ``X_{r+1}``; the late state is ``X' = merge_deltas(S_r, [E'])``, ``E'`` the round
    since the send re-keyed to ``S_r``'s ids (:func:`late_apply`, steps 1–2, unchanged). Where the
    model and ``X'`` hold the same word at the same id and neither the round (``E'``) nor the merge
    (``S_r ≠ X_r``) changed the row, the model's row already is ``X'``'s (``x = X_r = S_r`` there, so
    ``S_r + (x − X_r) = x``, exact whenever ``x − S_r`` is exact in float64, as in
    :func:`streamsgns.distributed.apply.apply_update`); every other row is computed as the merge
    computes it and written in place (:meth:`streamsgns.parameters.SGNSParameters.assign_merged`):
    the rows the round touched, the rows where ``S_r`` differs from ``X_r`` (the others' update and the
    merge rule's correction, ``U_r − D_r``), and the rows of ids whose word moved (new words,
    evictions, the round-``r`` words re-placed by the merge). The sketches (the vocabulary's and the
    pair sketch) are neither compared nor copied: their tables already hold ``X_{r+1}``, and
    ``S_r − X_r`` is ``update``'s cells less ``own``'s, added in place
    (:meth:`streamsgns.sketch.CountMinSketch.assign_shifted`); after a halving (in ``update``,
    ``own`` or the round) the round's cells are found by comparison and ``S_r``'s copied at the cells
    of the three, or, without ``update`` and ``own``, whole. The co-occurrence statistics take
    ``S_r``'s per-id arrays and exact table, then the round
    (:meth:`streamsgns.cooc.CooccurrenceStats.assign_merged`); the averages become ``S_r``'s, folded
    with the late rows when due, in the model's own arrays
    (:meth:`streamsgns.averaging.IterateAverage.merged` with ``inplace=True``); the vocabulary, the
    noise table and the counters are taken as :func:`load_into` takes them. The result equals ``load_into(model, late_apply(live,
    sent, merged))`` bit for bit, in every array of the state and in what the model learns next
    (``tests/test_replicas_overlap.py``).

    Parameters
    ----------
    model : streamsgns.SGNS
        The replica's model (``X_{r+1}``; ``workers=1``, without change detection or replay); modified.
    sent : dict
        Its state when it sent its previous delta (``X_r``; the averages and the noise table may be left out).
    merged : dict
        The merged state of that round (``S_r``; not modified).
    update, own : dict, optional
        The merged update ``model_delta(S_r, S_{r−1})`` and the replica's delta of round ``r``
        (``model_delta(X_r, S_{r−1})``, plain): how ``S_r`` and ``X_r`` differ in the sketches.
        None: the sketches are compared and copied whole.

    Raises
    ------
    streamsgns.distributed.merge.MergeError
        If the states do not fit each other or the model has change detection or replay; the model
        may then be half updated (a replica then loads a merged state again).
    """
    from ..averaging import IterateAverage
    from ..forget import Forgetting
    from ..noise import NoiseDistribution
    from ..parameters import SGNSParameters
    from ..vocab import Vocabulary
    from .._state import StateError
    from .merge import MergeError

    if model.detect is not None or model.replay_state is not None:
        raise MergeError("late_apply_inplace: a replica trains without change detection or replay")
    model.flush()
    live = model.state_dict()
    try:
        # the sketches: X' = X_{r+1} + (S_r − X_r) cell for cell, S_r − X_r = U's cells less D's (nothing halved)
        us = None if update is None else update["vocab"]["sketch"]
        ds = None if own is None else own["vocab"]["sketch"]
        shifted = (us is not None and ds is not None and not int(us["halvings"]) and not int(ds["halvings"])
                   and model.vocab.sketch.n_halvings == int(sent["vocab"]["sketch"]["n_halvings"]))
        e = model_delta(live, sent, sketch_cells=not shifted)
        e = rebase_delta(decode_delta(e, sent), sent, merged)
        # the late state's small parts, as merge_deltas(merged, [e], rows="sum") builds them
        vocab, plan = Vocabulary.merge_deltas(merged["vocab"], [e["vocab"]], table=not shifted)
        ep = e["parameters"]
        words_seen = int(merged["parameters"]["words_seen"]) + int(ep["counters"]["words_seen"])
        noise = NoiseDistribution.rebuilt(merged["noise"], plan["counts"], plan["n"], words_seen)
        forget = None if merged.get("forget") is None else Forgetting.merge_deltas(merged["forget"], [e["forget"]])
        stats = {k: int(v) + int(e["stats"].get(k, 0)) for k, v in merged.get("stats", {}).items()}
        # otherwise: where the model's sketches may differ from the late state's (the round's cells, U's, D's)
        sv = e["vocab"]["sketch"]
        halved = (shifted or us is None or ds is None or sv["halvings"] or us["halvings"] or ds["halvings"]
                  or int(vocab["sketch"]["n_halvings"]) != model.vocab.sketch.n_halvings)
        cells = None if halved else _cells(sv["cells"], us["cells"], ds["cells"])
        sk = None if merged.get("cooc") is None or own is None or update is None else \
            _cells(update["cooc"]["sk_cells"], own["cooc"]["sk_cells"])
        # rows where X_r and S_r differ (or hold different words): the others' update and the merge's correction
        same, _ = Vocabulary.row_map(sent["vocab"], merged["vocab"])
        n_model = model.vocab.n_ids
        changed = model.vocab.assign(vocab, cells, (us, ds) if shifted else None)  # ids whose word moved
        cap = model.vocab.capacity
        model._trainer.fit(cap)
        if model.average is not None:
            model.average.grow(cap)
        n = int(plan["n"])
        rows = SGNSParameters.differing_rows(sent["parameters"], merged["parameters"], same, n)
        dead = np.flatnonzero(plan["counts"][:n] <= 0)
        rows = {name: _cells(r, changed, dead) for name, r in rows.items()}
        model.params.assign_merged(merged["parameters"], ep, plan, rows, n_model)
        model.noise.assign(noise)
        if model.cooc is not None:
            model.cooc.assign_merged(merged["cooc"], e["cooc"], plan, sk, n_model,
                                     (update["cooc"], own["cooc"]) if shifted else None)
        if forget is not None:
            model.forget.assign(forget)
        if model.average is not None:  # S_r's averages, folded with the late rows when due (as IterateAverage.merged)
            model.average.assign(merged["average"], None, max(n_model, n))
            p = model.params
            a = IterateAverage.merged(model.average.state_dict(n), p.W[:n], p.W[:n] if p.tied else p.C[:n],
                                      plan["hashes"], plan["counts"], words_seen, p.W.shape[1], inplace=True)
            model.average.assign(a, np.zeros(0, dtype=np.int64), n)
    except (StateError, KeyError, IndexError, ValueError) as err:
        raise MergeError(f"late apply: {type(err).__name__}: {err}") from err
    model.stats = {"invalid_utf8": 0, "bad_inputs": 0, **stats}
    model.source_position = None
    model._trainer.pause_at = model._next_periodic()
    model._export.invalidate()
