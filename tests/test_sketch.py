"""Count-min sketch: never undercounts, (epsilon, delta) bound, river's sizing, argument checks."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsgns.hashing import hash_token
from streamsgns.sketch import CountMinSketch, _col, cms_add_batch


def _plain_cms_estimates(cms: CountMinSketch, stream, keys):
    """Estimates of a plain (non-conservative) count-min sketch on the same hash columns."""
    table = np.zeros_like(cms.table, dtype=np.int64)
    for h, c in stream:
        for r in range(cms.depth):
            table[r, _col(np.uint64(h), cms.seeds[r], cms.width)] += c
    return {h: min(int(table[r, _col(np.uint64(h), cms.seeds[r], cms.width)]) for r in range(cms.depth))
            for h in keys}


stream_strategy = st.lists(
    st.tuples(st.integers(1, 60), st.integers(0, 5)),  # (key id, increment)
    min_size=1, max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(stream_strategy, st.integers(1, 16), st.integers(1, 4), st.integers(0, 3))
def test_never_undercounts_and_beats_plain_cms(stream, width, depth, seed):
    cms = CountMinSketch(width, depth, seed=seed)
    exact = Counter()
    hashed = [(hash_token(f"k{k}"), c) for k, c in stream]
    for (h, c), (k, _) in zip(hashed, stream):
        est = cms.add(h, c)
        exact[h] += c
        assert est >= exact[h]  # the returned estimate, right after the update
    keys = {h for h, _ in hashed}
    plain = _plain_cms_estimates(cms, hashed, keys)
    for h in keys:
        e = cms.estimate(h)
        assert e >= exact[h]  # conservative update never undercounts
        assert e <= plain[h]  # ... and never overcounts more than the plain sketch
    assert cms.total == sum(exact.values())


@settings(max_examples=60, deadline=None)
@given(stream_strategy, st.integers(1, 32))
def test_add_many_equals_sequential_add(stream, width):
    a = CountMinSketch(width, 3, seed=5)
    b = CountMinSketch(width, 3, seed=5)
    hashes = np.array([hash_token(str(k)) for k, _ in stream], dtype=np.uint64)
    counts = np.array([c for _, c in stream], dtype=np.int64)
    seq = [a.add(int(h), int(c)) for h, c in zip(hashes, counts)]
    batch = b.add_many(hashes, counts)
    assert np.array_equal(a.table, b.table)
    assert batch.tolist() == seq
    assert a.total == b.total
    assert np.array_equal(a.estimate_many(hashes), np.array([a.estimate(int(h)) for h in hashes]))


def test_tokens_bytes_and_hashes_are_the_same_key():
    cms = CountMinSketch(64, 2, seed=0)
    cms.add("word")
    cms.add(b"word")
    cms.add(hash_token("word"), 3)
    assert cms["word"] == cms.estimate(b"word") == cms.estimate(hash_token("word")) == 5


def test_saturates_instead_of_wrapping():
    cms = CountMinSketch(4, 2, seed=0)
    cms.add("x", 2**32 - 2)
    assert cms.add("x", 10) == 2**32 - 1
    assert cms["x"] == 2**32 - 1


def test_error_bound_holds_on_zipf_stream():
    eps, delta = 0.002, 0.05
    cms = CountMinSketch(epsilon=eps, delta=delta, seed=11)
    rng = np.random.default_rng(0)
    n_keys, n = 20000, 200_000
    ranks = rng.zipf(1.1, size=4 * n)
    ranks = ranks[ranks <= n_keys][:n]
    assert ranks.shape[0] == n
    keys = np.array([hash_token(f"w{r}") for r in range(1, n_keys + 1)], dtype=np.uint64)
    stream = keys[ranks - 1]
    cms.add_many(stream)
    assert cms.total == n
    exact = np.bincount(ranks - 1, minlength=n_keys)
    est = cms.estimate_many(keys)
    assert (est >= exact).all()
    bound = cms.error_bound()
    assert bound == pytest.approx(eps * n, rel=0.01)
    over = np.mean(est - exact > bound)
    # Theorem 1 of Cormode & Muthukrishnan: P(error > eps*N) <= delta for each key.
    # Conservative update does much better; require the bound with a margin of 2x.
    assert over <= delta / 2, (over, delta)
    # the sketch is not trivially exact either (the test can see errors)
    assert (est > exact).any()


@pytest.mark.parametrize("eps,delta", [(0.1, 0.05), (0.01, 0.01), (0.001, 0.01), (0.05, 0.5), (0.0003, 1e-4)])
def test_width_depth_match_river(eps, delta):
    from river.sketch import Counter as RiverCounter

    ours = CountMinSketch(epsilon=eps, delta=delta)
    theirs = RiverCounter(epsilon=eps, delta=delta)
    assert (ours.width, ours.depth) == (theirs._w, theirs._d)
    assert ours.width == math.ceil(math.e / eps) and ours.depth == math.ceil(math.log(1 / delta))
    assert ours.epsilon <= eps and ours.delta <= delta


def test_docstring_sizes():
    cms = CountMinSketch(epsilon=0.01, delta=0.01, seed=1)
    assert (cms.width, cms.depth) == (272, 5)
    assert cms.nbytes == 4 * 272 * 5
    assert CountMinSketch().table.shape == (4, 1 << 20)


@pytest.mark.parametrize("kwargs", [
    dict(width=10, depth=2, epsilon=0.1),
    dict(width=10, delta=0.1),
    dict(epsilon=0.0, delta=0.1),
    dict(epsilon=1.0, delta=0.1),
    dict(epsilon=0.1, delta=0.0),
    dict(epsilon=0.1, delta=1.5),
    dict(epsilon=-0.1),
    dict(width=0, depth=2),
    dict(width=10, depth=0),
    dict(width=-5, depth=2),
    dict(width=2**32, depth=1),
])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        CountMinSketch(**kwargs)


def test_bad_counts_raise_and_leave_sketch_untouched():
    cms = CountMinSketch(16, 2, seed=0)
    cms.add("a", 2)
    before = cms.table.copy()
    with pytest.raises(ValueError):
        cms.add("a", -1)
    with pytest.raises(ValueError):
        cms.add_many(np.array([1, 2], dtype=np.uint64), np.array([1, -1]))
    with pytest.raises(ValueError):
        cms.add_many(np.array([1, 2], dtype=np.uint64), np.array([1, 1, 1]))
    assert np.array_equal(before, cms.table) and cms.total == 2


def test_seed_changes_hash_functions():
    a = CountMinSketch(1024, 3, seed=1)
    b = CountMinSketch(1024, 3, seed=2)
    assert not np.array_equal(a.seeds, b.seeds)
    a.add("hello")
    b.add("hello")
    assert not np.array_equal(a.table, b.table)


def test_batch_kernel_returns_estimates_in_order():
    cms = CountMinSketch(1 << 12, 4, seed=3)
    h = np.array([hash_token(w) for w in "a b a c a b".split()], dtype=np.uint64)
    out = cms_add_batch(cms.table, cms.seeds, h, np.ones(6, dtype=np.int64))
    assert out.tolist() == [1, 1, 2, 1, 3, 2]


def test_learner_sketch_total_counts_the_tokens_it_received():
    """The error bound epsilon * N needs N: every token added to the sketch (not yet admitted) counts."""
    from streamsgns import SGNS

    m = SGNS(vector_size=4, min_count=3, seed=0, sketch_width=1 << 10)
    m.learn_one("aa aa aa aa bb cc")  # aa: 3 sketch adds (admitted at the 3rd), then exact; bb, cc: 1 each
    assert m.vocab.sketch.total == 5
    assert m.vocab.sketch.error_bound() == pytest.approx(m.vocab.sketch.epsilon * 5)
