"""Sketch aging (issue 11.5): halving on schedule, never undercounting the halved stream, junk floods
not admitted, state and checkpoints, O(V) prune with the old eviction order, count decay."""

from __future__ import annotations

import binascii
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers_core import assert_vocab_consistent, lee_lines
from streamsgns import SGNS
from streamsgns._state import StateError
from streamsgns.hashing import hash_token
from streamsgns.sketch import (MIN_HALVING_TOKENS, CountMinSketch, _col, default_halving_tokens)
from streamsgns.tokenize import tokenize
from streamsgns.vocab import Vocabulary, vocab_prune


# ---------------------------------------------------------------- the sketch alone
def test_halves_on_schedule():
    cms = CountMinSketch(256, 3, seed=1, halve_every=10)
    for t in range(1, 95):
        cms.add(f"k{t % 7}")
        assert (cms.n_halvings, cms.since_halving) == divmod(t, 10)
    # 94 tokens: 9 halvings; total halved at each (floor) and counted on between
    total = 0
    for t in range(1, 95):
        total += 1
        if t % 10 == 0:
            total //= 2
    assert cms.total == total


def test_no_aging_by_default_and_with_zero():
    cms = CountMinSketch(64, 2)
    cms.add_many(np.arange(1, 5001, dtype=np.uint64))
    assert (cms.halve_every, cms.n_halvings, cms.total) == (0, 0, 5000)


stream_strategy = st.lists(st.tuples(st.integers(1, 40), st.integers(0, 4)), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(stream_strategy, st.integers(1, 16), st.integers(1, 4), st.integers(1, 25), st.integers(0, 3))
def test_never_undercounts_the_halved_stream(stream, width, depth, every, seed):
    """Estimates >= the exact counts halved (floor) at the same moments, <= a plain sketch halved alike."""
    cms = CountMinSketch(width, depth, seed=seed, halve_every=every)
    exact = Counter()
    plain = np.zeros((depth, width), dtype=np.int64)
    since = total = 0
    for k, c in stream:
        h = hash_token(f"k{k}")
        est = cms.add(h, c)
        exact[h] += c
        total += c
        for r in range(depth):
            plain[r, _col(np.uint64(h), cms.seeds[r], width)] += c
        assert est >= exact[h]  # returned right after the update, before a halving it makes due
        since += c
        while since >= every:
            since -= every
            exact = Counter({key: v // 2 for key, v in exact.items()})
            plain //= 2
            total //= 2
        for key, v in exact.items():
            e = cms.estimate(key)
            assert e >= v
            assert e <= min(int(plain[r, _col(np.uint64(key), cms.seeds[r], width)]) for r in range(depth))
    assert cms.total == total and cms.since_halving == since
    assert int(cms.table.astype(np.int64).sum(axis=1).max()) <= cms.total  # row sums <= N~ (the bound's N)


@settings(max_examples=40, deadline=None)
@given(stream_strategy, st.integers(1, 25))
def test_add_many_keeps_the_schedule_of_sequential_adds(stream, every):
    a = CountMinSketch(32, 3, seed=5, halve_every=every)
    b = CountMinSketch(32, 3, seed=5, halve_every=every)
    hashes = np.array([hash_token(str(k)) for k, _ in stream], dtype=np.uint64)
    counts = np.array([c for _, c in stream], dtype=np.int64)
    seq = [a.add(int(h), int(c)) for h, c in zip(hashes, counts)]
    assert b.add_many(hashes, counts).tolist() == seq
    assert np.array_equal(a.table, b.table) and a.state_dict()["n_halvings"] == b.state_dict()["n_halvings"]
    assert (a.total, a.since_halving) == (b.total, b.since_halving)


def test_a_huge_increment_halves_many_times_at_once():
    cms = CountMinSketch(16, 2, halve_every=3)
    cms.add("x", 2**31)
    assert cms.n_halvings == 2**31 // 3 and cms.since_halving == 2**31 % 3
    assert cms["x"] == 0 and cms.total == 0


def test_default_interval_follows_the_bound():
    # epsilon * 2H = (e / width) * 2H <= min_count - 1, with the floor for small sketches
    for width, mc in [(1 << 20, 5), (1 << 24, 5), (1 << 22, 2), (1 << 20, 20)]:
        h = default_halving_tokens(width, mc)
        assert h == max(MIN_HALVING_TOKENS, int(width * (mc - 1) / (2 * math.e)))
        if h > MIN_HALVING_TOKENS:
            assert math.e / width * 2 * h <= mc - 1 < math.e / width * 2 * (h + 1)
    assert default_halving_tokens(1 << 12, 5) == default_halving_tokens(1 << 20, 1) == MIN_HALVING_TOKENS
    assert SGNS(vector_size=4).vocab.sketch.halve_every == 771_499
    assert SGNS(vector_size=4, sketch_halving_tokens=0).vocab.sketch.halve_every == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_halving_interval_is_refused(bad):
    with pytest.raises(ValueError, match="sketch_halving_tokens"):
        SGNS(sketch_halving_tokens=bad)
    with pytest.raises((ValueError, TypeError)):
        CountMinSketch(16, 2, halve_every=bad)


# ---------------------------------------------------------------- state
def test_sketch_state_round_trips_and_refuses_forged_schedules():
    cms = CountMinSketch(64, 3, seed=4, halve_every=7)
    cms.add_many(np.arange(1, 40, dtype=np.uint64))
    st_ = cms.state_dict()
    back = CountMinSketch.from_state(st_)
    assert back.state_dict().keys() == st_.keys()
    assert all(np.array_equal(back.state_dict()[k], v) for k, v in st_.items())
    assert (back.halve_every, back.since_halving, back.n_halvings) == (7, 39 % 7, 39 // 7)
    for forged in ({"since_halving": 7}, {"since_halving": -1}, {"n_halvings": -2}, {"halve_every": -7},
                   {"halve_every": 2.5}):
        with pytest.raises(StateError):
            CountMinSketch.from_state({**st_, **forged})
    old = {k: v for k, v in st_.items() if k not in ("halve_every", "since_halving", "n_halvings")}
    assert CountMinSketch.from_state(old).halve_every == 0  # a state from before aging: never ages


def _junk(n, seed):
    rng = np.random.default_rng(seed)
    h = np.frombuffer(binascii.hexlify(rng.bytes(8 * n)), dtype="S16").astype(str)
    return [" ".join(h[i:i + 20]) for i in range(0, n, 20)]


def test_checkpoint_keeps_the_schedule_and_a_resumed_run_is_bit_identical(tmp_path):
    lines = list(lee_lines())
    kw = dict(vector_size=8, min_count=3, seed=2, sketch_width=1 << 10, sketch_halving_tokens=1000,
              cooc_top_n=20, cooc_sketch_width=1 << 10)
    a = SGNS(**kw)
    a.learn_many(lines[:150])
    assert a.vocab.sketch.n_halvings > 0 and a.vocab.sketch.since_halving > 0
    a.save(tmp_path / "c.npz")
    b = SGNS.load(tmp_path / "c.npz")
    sa, sb = a.vocab.sketch.state_dict(), b.vocab.sketch.state_dict()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    n0 = a.vocab.sketch.n_halvings
    for m in (a, b):
        m.learn_many(lines[150:])
    assert b.vocab.sketch.n_halvings > n0
    assert b.vocab.sketch.state_dict()["n_halvings"] == a.vocab.sketch.state_dict()["n_halvings"]
    assert np.array_equal(a.vocab.sketch.table, b.vocab.sketch.table)
    assert a.index_to_key == b.index_to_key
    assert np.array_equal(a.W, b.W) and np.array_equal(a.C, b.C)


# ---------------------------------------------------------------- junk floods
def _flood_model(halving):
    return SGNS(vector_size=8, min_count=5, seed=0, sketch_width=1 << 14, sketch_halving_tokens=halving,
                track_cooc=False)


@pytest.mark.parametrize("aging", [True, False])
def test_a_junk_flood_is_not_admitted_but_real_words_are(aging):
    h = int((1 << 14) * 4 / (2 * math.e))  # the default formula without its floor, for this small sketch
    m = _flood_model(h if aging else 0)
    m.learn_many(_junk(200_000, 0))
    admitted = int(m.vocab.meta[0]["n_admitted"])
    if not aging:  # what the test guards against: a saturated sketch admits one-off tokens by the thousand
        assert admitted > 10_000
        return
    assert admitted <= 5 and m.vocab.sketch.n_halvings >= 200_000 // h
    # real text interleaved with more junk (3 junk lines per Lee line): its frequent words still get in
    lee = list(lee_lines())
    junk = _junk(20 * 3 * len(lee), 1)
    mixed = [x for i, line in enumerate(lee) for x in [line] + junk[3 * i:3 * i + 3]]
    m.learn_many(mixed)
    assert int(m.vocab.meta[0]["n_admitted"]) - m.vocab_size == 0  # nothing evicted ...
    assert not any(w is not None and len(w) == 16 and all(c in "0123456789abcdef" for c in w)
                   for w in m.index_to_key)  # ... and no junk in the vocabulary
    freq = Counter(t for line in lee for t in tokenize(line))
    frequent = [w for w, c in freq.items() if c >= 20]
    assert len(frequent) > 300 and all(w in m for w in frequent)
    assert_vocab_consistent(m)


# ---------------------------------------------------------------- the vocabulary under eviction
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=80), st.integers(1, 90))
def test_prune_evicts_in_the_order_of_a_stable_sort(counts, n_evict):
    """The O(V) selection gives the ids, and their order on the free stack, of the old argsort prune."""
    v = Vocabulary(min_count=1, max_vocab=len(counts), sketch=CountMinSketch(8, 1), capacity=len(counts))
    c = np.array(counts, dtype=np.int64)
    v.counts[:] = c
    v.hashes[:] = np.arange(1, len(c) + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    v.meta[0]["next_id"] = len(c)
    v.meta[0]["total"] = int(c.sum())
    free0 = np.flatnonzero(c == 0)
    v.free_ids[: free0.size] = free0
    v.meta[0]["n_free"] = free0.size
    from streamsgns.hashtable import table_rebuild

    table_rebuild(v.keys, v.vals, v.hashes, v.counts, len(c))
    order = [int(i) for i in np.argsort(c, kind="mergesort") if c[i] > 0][:n_evict]
    k = vocab_prune(v.arrays(), n_evict)
    assert k == len(order)
    assert v.free_ids[free0.size: free0.size + k].tolist() == order
    assert int(v.counts[: len(c)].sum()) == v.total == int(c.sum()) - int(c[order].sum())


def test_loading_applies_an_overridden_aging_interval_and_refuses_a_silent_mismatch(tmp_path):
    from streamsgns import SGNS
    from streamsgns.io.checkpoint import CheckpointError, read_checkpoint, save_checkpoint

    m = SGNS(vector_size=4, min_count=2, sketch_width=1 << 10, sketch_halving_tokens=500, track_cooc=False)
    m.learn_many(["alpha beta gamma delta"] * 50)
    p = m.save(tmp_path / "a.npz")
    assert SGNS.load(p).vocab.sketch.meta[0]["halve_every"] == 500
    assert SGNS.load(p, sketch_halving_tokens=0).vocab.sketch.meta[0]["halve_every"] == 0
    manifest, state = read_checkpoint(p)
    state["params"]["sketch_halving_tokens"] = 700  # parameters that disagree with the stored schedule
    save_checkpoint(tmp_path / "b.npz", state, {"position": None})
    with pytest.raises(CheckpointError, match="aging interval"):
        SGNS.load(tmp_path / "b.npz")
    del state["vocab"]["sketch"]["halve_every"]  # a state from before aging: takes the parameter's interval
    save_checkpoint(tmp_path / "c.npz", state, {"position": None})
    assert SGNS.load(tmp_path / "c.npz").vocab.sketch.meta[0]["halve_every"] == 700
