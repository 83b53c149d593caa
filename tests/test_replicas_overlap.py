"""The late apply of an overlapped replica (pure numpy, no Ray): ``X' = S_r + (X_{r+1} − X_r)``, re-keyed by hash."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from streamsgns import SGNS
from streamsgns.distributed.apply import writable_state
from streamsgns.distributed.delta import merge_deltas, model_delta
from streamsgns.distributed.overlap import id_map, late_apply

KW = dict(vector_size=16, window=3, negative=3, sample=0.0, track_cooc=False, average_eta=None, sketch_width=1 << 16,
          seed=3, detect_changes=False)
STATS = dict(track_cooc=True, cooc_top_n=512, cooc_sketch_width=1 << 12, average_eta=10.0, average_every=1500)


def _lee_lines():
    from gensim.test.utils import datapath

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip()]


def _round_r(stats: bool, min_count: int = 2, **extra):
    """Two replicas A, B train round r from S_{r-1} and A sends D_r: (lines, S_{r-1}, A, X_r of A, S_r)."""
    lines = _lee_lines()
    kw = {**KW, **(STATS if stats else {}), "min_count": min_count, **extra}
    start = SGNS(**kw)
    start.learn_many(lines[:40])
    s0 = writable_state(start.state_dict())
    a, b = SGNS.from_state(s0), SGNS.from_state(s0)
    a.learn_many(lines[40:110])
    b.learn_many(lines[110:180])
    a.flush()
    b.flush()
    x_r = writable_state(a.state_dict())  # A's state when it sends D_r (a copy: A trains on)
    s_r = merge_deltas(s0, [model_delta(x_r, s0), model_delta(b.state_dict(), s0)])
    return lines, s0, a, x_r, s_r


def _overlapped_round(stats: bool, min_count: int = 2):
    """Two replicas A, B train round r from S_{r-1}; A sends D_r, keeps training round r + 1, then applies U_r late.

    Returns (S_r, X_r of A, X_{r+1} of A, the late-applied state)."""
    lines, _, a, x_r, s_r = _round_r(stats, min_count)
    a.learn_many(lines[180:260])  # round r + 1, trained from X_r while the merge runs
    a.flush()
    x_next = writable_state(a.state_dict())
    return s_r, x_r, x_next, late_apply(x_next, copy.deepcopy(x_r), s_r)


def _ids(state):
    v = state["vocab"]
    n = int(v["next_id"])
    return {int(h): i for i, (h, c) in enumerate(zip(v["hashes"][:n], v["counts"][:n])) if c > 0}


@pytest.mark.parametrize("stats", [False, True])
def test_late_apply_adds_the_round_since_the_send_to_the_merged_state_by_hash(stats):
    s_r, x_r, x_next, late = _overlapped_round(stats)
    SGNS.from_state(late)  # a valid state
    ids_s, ids_x, ids_late = _ids(s_r), _ids(x_r), _ids(late)
    ids_next = _ids(x_next)
    both = [h for h in ids_x if h in ids_s and h in ids_next]
    # the round-r words of A sit elsewhere in the merged state: the re-mapping is exercised
    moved = [h for h in both if ids_x[h] != ids_s[h]]
    assert len(moved) > 20
    # every word of S_r keeps its merged id; rows = S_r + (X_{r+1} − X_r) (float64, rounded once), bit for bit
    assert all(ids_late[h] == ids_s[h] for h in ids_s)
    i_s = np.array([ids_s[h] for h in both])
    i_x = np.array([ids_x[h] for h in both])
    i_n = np.array([ids_next[h] for h in both])
    for name in ("W", "C"):
        want = (s_r["parameters"][name][i_s].astype(np.float64)
                + (x_next["parameters"][name][i_n].astype(np.float64) - x_r["parameters"][name][i_x])).astype(np.float32)
        assert np.array_equal(late["parameters"][name][i_s].view(np.uint32), want.view(np.uint32)), name
    # counts of admitted words and the stream's counters: the merged ones plus the round's increments
    v = late["vocab"]["counts"]
    want_c = s_r["vocab"]["counts"][i_s] + x_next["vocab"]["counts"][i_n] - x_r["vocab"]["counts"][i_x]
    assert np.array_equal(v[i_s], want_c)
    tokens = int(x_next["parameters"]["words_seen"]) - int(x_r["parameters"]["words_seen"])
    assert tokens > 0 and int(late["parameters"]["words_seen"]) == int(s_r["parameters"]["words_seen"]) + tokens
    # words admitted in round r + 1 (held neither by X_r nor by S_r): ids after S_r's, A's rows
    fresh = [h for h in ids_next if h not in ids_x and h not in ids_s]
    assert fresh
    for h in fresh:
        assert ids_late[h] >= int(s_r["vocab"]["next_id"]) or s_r["vocab"]["counts"][ids_late[h]] == 0
        assert np.array_equal(late["parameters"]["W"][ids_late[h]], x_next["parameters"]["W"][ids_next[h]])
    # the other replica's round-r words, unseen by A: S_r's rows; those A admitted in round r + 1 too: A's rows
    others = [ids_s[h] for h in ids_s if h not in ids_x and h not in ids_next]
    assert others and np.array_equal(late["parameters"]["W"][others], s_r["parameters"]["W"][others])
    twice = [h for h in ids_s if h not in ids_x and h in ids_next]
    assert np.array_equal(late["parameters"]["W"][[ids_s[h] for h in twice]],
                          x_next["parameters"]["W"][[ids_next[h] for h in twice]])
    # the next delta (what A sends for round r + 1) carries exactly the round's tokens
    d = model_delta(late, s_r)
    assert int(d["parameters"]["counters"]["words_seen"]) == tokens
    if stats:  # marginals of the statistics: merged + the round's increments, by hash
        from streamsgns.cooc import M_C, M_W

        cm = late["cooc"]["cmeta"]
        want_m = (s_r["cooc"]["cmeta"][i_s, M_W:M_C + 1] + x_next["cooc"]["cmeta"][i_n, M_W:M_C + 1]
                  - x_r["cooc"]["cmeta"][i_x, M_W:M_C + 1])
        assert np.array_equal(cm[i_s, M_W:M_C + 1], want_m)
        assert int(late["cooc"]["total"]) == int(s_r["cooc"]["total"]) + int(x_next["cooc"]["total"]) - int(
            x_r["cooc"]["total"])
        assert np.isfinite(SGNS.from_state(late).vectors()).all()


def test_late_apply_without_training_since_the_send_is_the_merged_state():
    s_r, x_r, _, _ = _overlapped_round(False)
    late = late_apply(copy.deepcopy(x_r), copy.deepcopy(x_r), s_r)
    for key in ("vocab", "noise"):
        a, b = late[key], s_r[key]
        for k in b:
            if isinstance(b[k], np.ndarray):
                assert np.array_equal(a[k], b[k]), (key, k)
    for name in ("W", "C", "words_seen"):
        assert np.array_equal(late["parameters"][name], s_r["parameters"][name]), name
    for k in ("table", "total", "since_halving", "n_halvings"):
        assert np.array_equal(late["vocab"]["sketch"][k], s_r["vocab"]["sketch"][k]), k


def test_merging_the_round_without_re_keying_would_misplace_the_round_r_words():
    """What the test above guards against: the round's delta taken against X_r's ids, merged as it is."""
    s_r, x_r, x_next, late = _overlapped_round(False)
    wrong = merge_deltas(s_r, [model_delta(x_next, x_r)])
    assert not np.array_equal(wrong["parameters"]["W"], late["parameters"]["W"])
    ids_s, ids_x = _ids(s_r), _ids(x_r)
    m = id_map(x_r["vocab"], s_r["vocab"])
    assert all(m[ids_x[h]] == ids_s[h] for h in ids_x if h in ids_s)


def _same(a, b, path=""):
    """Equal nested states (float arrays bit for bit); the RNG streams left out (a replica re-derives its own)."""
    if isinstance(a, dict):
        assert isinstance(b, dict), path
        for k in set(a) | set(b):
            if k != "rng":
                _same(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), path
    else:
        assert a == b, (path, a, b)


def test_the_replicas_late_path_in_place_equals_loading_the_late_state():
    """What an overlapped Ray replica runs: its base takes U in place, the late state is copied into its
    live model; equal to merging and loading, and it learns the same next."""
    from streamsgns.distributed.apply import apply_to_base
    from streamsgns.distributed.overlap import load_into

    lines, s0, a, x_r, s_r = _round_r(stats=True)
    sent = {k: v for k, v in copy.deepcopy(x_r).items() if k not in ("average", "noise")}  # as the replica keeps it
    update = model_delta(s_r, s0)
    a.learn_many(lines[180:260])
    a.flush()
    base = apply_to_base(writable_state(s0), update)
    _same(base, merge_deltas(s0, [update]))
    late = late_apply(a.state_dict(), sent, base)
    _same(late, late_apply(writable_state(a.state_dict()), x_r, s_r))
    load_into(a, late)
    ref = SGNS.from_state(late)
    _same(a.state_dict(), ref.state_dict())
    for m in (a, ref):  # the same streams, then the same text
        m.params.rng[:] = 12345
        m.learn_many(lines[260:300])
        m.flush()
    _same(a.state_dict(), ref.state_dict())


@pytest.mark.parametrize("extra", [{}, {"stats": True}, {"stats": True, "cells": False},
                                   {"sketch_halving_tokens": 3000, "min_count": 4}, {"max_vocab": 300},
                                   {"tied": True}],
                         ids=["plain", "stats", "stats_whole_sketches", "sketch_halvings", "evictions", "tied"])
def test_the_in_place_late_apply_equals_loading_the_late_state(extra):
    """late_apply_inplace on the trained model itself equals load_into(late_apply(...)) on a copy, bit for bit
    (every array of the state), and both learn the same next; with the sketch cells of U and D, or without."""
    from streamsgns.distributed.apply import apply_to_base
    from streamsgns.distributed.overlap import late_apply_inplace, load_into

    extra = dict(extra)
    stats, cells = extra.pop("stats", False), extra.pop("cells", True)
    lines, s0, a, x_r, s_r = _round_r(stats, **extra)
    own, update = model_delta(x_r, s0), model_delta(s_r, s0)
    sent = {k: v for k, v in copy.deepcopy(x_r).items() if k not in ("average", "noise")}  # as the replica keeps it
    a.learn_many(lines[180:260])  # round r + 1, from X_r
    a.flush()
    x_next = writable_state(a.state_dict())
    base = apply_to_base(writable_state(s0), update)  # S_r, as the replica's own base becomes it
    if "sketch_halving_tokens" in extra:  # the sketch halved between the states: the whole sketch is copied
        assert (int(s_r["vocab"]["sketch"]["n_halvings"]) > int(s0["vocab"]["sketch"]["n_halvings"])
                or int(x_next["vocab"]["sketch"]["n_halvings"]) > int(x_r["vocab"]["sketch"]["n_halvings"]))
    if "max_vocab" in extra:  # evictions: some ids hold another word in the model than in the late state
        assert int(x_next["vocab"]["n_evicted"]) > int(x_r["vocab"]["n_evicted"]) or int(
            s_r["vocab"]["n_evicted"]) > int(s0["vocab"]["n_evicted"])
    ref = SGNS.from_state(x_next)
    load_into(ref, late_apply(x_next, sent, base))
    late_apply_inplace(a, sent, base, update if cells else None, own if cells else None)
    _same(a.state_dict(), ref.state_dict())
    _same(base, s_r)  # the merged state is not modified
    assert np.isfinite(a.params.W[:a.vocab.n_ids]).all() and np.isfinite(a.params.C[:a.vocab.n_ids]).all()
    for m in (a, ref):  # the same streams, then the same text
        m.params.rng[:] = 12345
        m.learn_many(lines[260:300])
        m.flush()
    _same(a.state_dict(), ref.state_dict())
