"""Vocabulary: numba hash table vs a dict, admission at min_count, max_vocab eviction and id reuse."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers_core import assert_finite, assert_vocab_consistent
from streamsgns import SGNS
from streamsgns.vocab import Vocabulary, table_delete, table_insert, table_lookup, table_rebuild

# ---------------------------------------------------------------- the open-addressing table
TSIZE = 32
MASK = TSIZE - 1


def _key(k: int, home: int) -> int:
    """A non-zero key whose home slot is ``home`` (forces collisions and wrap-around)."""
    return (k << 5) | home if (k or home) else 1 << 40


op = st.one_of(
    st.tuples(st.just("ins"), st.integers(0, 40), st.sampled_from([0, 1, 2, 30, 31]), st.integers(0, 10**6)),
    st.tuples(st.just("del"), st.integers(0, 40), st.sampled_from([0, 1, 2, 30, 31]), st.just(0)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_table_matches_dict(ops):
    keys = np.zeros(TSIZE, dtype=np.uint64)
    vals = np.zeros(TSIZE, dtype=np.int32)
    ref: dict[int, int] = {}
    universe = set()
    for kind, k, home, v in ops:
        h = _key(k, home)
        universe.add(h)
        if kind == "ins":
            if h not in ref and len(ref) >= TSIZE - 4:  # the caller keeps the load below 1
                continue
            table_insert(keys, vals, np.uint64(h), v)
            ref[h] = v
        else:
            table_delete(keys, vals, np.uint64(h))
            ref.pop(h, None)
        # every key in the universe (present or deleted) looks up correctly
        for u in universe:
            assert table_lookup(keys, vals, np.uint64(u)) == ref.get(u, -1)
        live = keys[keys != 0].tolist()
        assert sorted(live) == sorted(ref)  # each key in exactly one slot, nothing leaked
        # linear-probing invariant: no empty slot between a key's home and its slot
        for i in np.flatnonzero(keys):
            j = int(keys[i]) & MASK
            while j != i:
                assert keys[j] != 0
                j = (j + 1) & MASK


def test_table_rebuild_inserts_live_ids_only():
    hashes = np.array([5, 37, 69, 8], dtype=np.uint64)  # three share home 5 in a table of 32
    counts = np.array([1, 0, 4, 2], dtype=np.int64)
    keys = np.full(TSIZE, 99, dtype=np.uint64)
    vals = np.zeros(TSIZE, dtype=np.int32)
    table_rebuild(keys, vals, hashes, counts, 4)
    assert [table_lookup(keys, vals, h) for h in hashes] == [0, -1, 2, 3]
    assert (keys != 0).sum() == 3


def test_vocabulary_validation():
    for kw in (dict(min_count=0), dict(max_vocab=0), dict(prune_fraction=0.0), dict(prune_fraction=1.5)):
        with pytest.raises(ValueError):
            Vocabulary(**kw)


def test_vocabulary_grow_doubles_and_caps():
    v = Vocabulary(min_count=1, max_vocab=100, capacity=8)
    assert v.capacity == 8
    assert v.grow(9) == 16
    assert v.grow(17) == 32
    assert v.grow(1000) == 100
    assert v.grow(1000) == 100
    assert v.keys.shape[0] >= 2 * 100 and (v.keys.shape[0] & (v.keys.shape[0] - 1)) == 0


# ---------------------------------------------------------------- admission through the learner
def _model(**kw):
    base = dict(vector_size=8, window=1, negative=2, sample=0.0, min_count=3, seed=0, sketch_width=1 << 16,
                track_cooc=False)
    base.update(kw)
    return SGNS(**base)


def test_admission_at_exactly_min_count():
    m = _model(min_count=3)
    m.learn_one("aa bb")
    m.learn_one("aa bb")
    assert m.vocab_size == 0 and "aa" not in m
    assert m.vocab.count("aa") == 2  # the sketch's estimate (no collision in 2**16 cells)
    assert m.progress()["pairs"] == 0
    m.learn_one("aa bb")
    assert m.vocab_size == 2 and "aa" in m and "bb" in m
    assert m.vocab.count("aa") == 3 and m.counts[m.key_to_index["aa"]] == 3
    # admitted while scanning the third line, so that line already trains both pairs
    assert m.progress()["pairs"] == 2
    m.learn_one("aa cc")
    assert m.vocab.count("aa") == 4 and "cc" not in m
    assert m.words_seen == 8
    assert_vocab_consistent(m)


def test_admission_in_the_middle_of_a_line():
    m = _model(min_count=3)
    m.learn_one("xx yy xx yy xx yy")
    assert m.index_to_key == ["xx", "yy"]
    assert m.counts.tolist() == [3, 3]
    # only the last two tokens (admitted) formed a pair: xx→yy and yy→xx
    assert m.progress()["pairs"] == 2


def test_min_count_one_admits_at_first_sight():
    m = _model(min_count=1)
    m.learn_one(["Case", "Sensitive", "case"])  # token lists are taken as they are
    assert m.index_to_key == ["Case", "Sensitive", "case"]
    assert m.counts.tolist() == [1, 1, 1]


# ---------------------------------------------------------------- max_vocab, eviction, id reuse
def _zipf_sentences(n_sent, n_words, seed, length=10):
    rng = np.random.default_rng(seed)
    ranks = rng.zipf(1.3, size=(n_sent * length * 3))
    ranks = ranks[ranks <= n_words][: n_sent * length].reshape(n_sent, length)
    return [" ".join(f"w{r}" for r in row) for row in ranks]


@pytest.mark.parametrize("workers", [1, 2])
def test_max_vocab_bound_and_consistency_after_many_prunes(workers):
    max_vocab = 40
    m = _model(min_count=2, max_vocab=max_vocab, workers=workers, window=3)
    sents = _zipf_sentences(600, 2000, seed=1)
    for i, s in enumerate(sents):
        m.learn_one(s)
        assert m.vocab_size <= max_vocab
        assert m.n_ids <= max_vocab
        assert len(m.key_to_index) <= max_vocab
        if i % 50 == 0:
            m.flush()
            assert_vocab_consistent(m)
    m.flush()
    p = m.progress()
    admitted = int(m.vocab.meta[0]["n_admitted"])
    assert p["evicted"] > 0 and m.vocab.n_prunes > 5
    assert admitted > 3 * max_vocab  # so ids were reused many times
    assert admitted - p["evicted"] == m.vocab_size
    assert_vocab_consistent(m)
    assert_finite(m)
    # frequent words survive the pruning of the rarest
    for w in ("w1", "w2", "w3"):
        assert w in m
    m.close()


def test_evicted_ids_are_reused_and_rows_reinitialised():
    d = 8
    m = _model(min_count=1, max_vocab=20, window=2, vector_size=d)
    for s in _zipf_sentences(300, 500, seed=2):
        m.learn_one(s)
    assert m.n_ids == 20 and m.progress()["evicted"] > 0
    more = _zipf_sentences(150, 500, seed=3)
    reused_trained = 0
    for k in range(30):
        for s in more[5 * k: 5 * k + 5]:
            m.learn_one(s)
        C_before = m.C.copy()
        word = f"fresh{k}"
        # a one-token line: admitted (min_count=1) but no pair is trained on it,
        # so its rows are exactly as initialised
        m.learn_one(word)
        i = m.key_to_index[word]
        assert i < 20 and m.n_ids == 20  # an old id, reused
        reused_trained += bool(np.any(C_before[i] != 0))  # the row had been trained for an evicted word...
        assert np.all(m.C[i] == 0)  # ...and C starts from zero again
        w = m.W[i]
        assert np.all(np.abs(w) <= 0.5 / d) and np.any(w != 0)
        assert m.counts[i] == 1
        assert_vocab_consistent(m)
    assert reused_trained >= 10, reused_trained
    # a reused row trains normally afterwards
    m.learn_one("fresh29 w1 fresh29 w1")
    assert np.any(m.C[m.key_to_index["fresh29"]] != 0)
    assert_finite(m)


def test_max_vocab_one():
    m = _model(min_count=1, max_vocab=1)
    for _ in range(20):
        m.learn_one("aa bb aa cc dd aa")
        assert m.vocab_size == 1 and m.n_ids == 1
        assert_vocab_consistent(m)
    assert m.progress()["evicted"] > 0
    assert_finite(m)


def test_readmitted_word_gets_a_consistent_entry():
    m = _model(min_count=1, max_vocab=5)
    for r in range(200):
        m.learn_one(f"a{r % 7} a{(r * 3) % 7} b{r % 11} a{r % 7}")
        assert_vocab_consistent(m)
    assert m.vocab_size <= 5


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.integers(0, 12), min_size=0, max_size=60), k=st.integers(0, 70),
       sign=st.sampled_from([1, -1]))
def test_select_by_count_is_the_head_of_a_sort_by_count_then_id(counts, k, sign):
    """Law: the k alive ids with the smallest sign·count are the first k of the alive ids sorted by
    (sign·count, id), returned in id order (ties at the threshold go to the lower ids)."""
    from streamsgns.vocab import select_by_count

    c = np.array(counts, dtype=np.int64)
    alive = [i for i in range(len(c)) if c[i] > 0]
    want = sorted(sorted(alive, key=lambda i: (sign * c[i], i))[:k])
    got = select_by_count(c, len(c), k, sign)
    assert got.dtype == np.int64 and got.tolist() == want


def test_select_by_count_picks_the_words_with_the_largest_counts():
    from streamsgns.vocab import select_by_count

    m = SGNS(min_count=1, seed=0)
    m.learn_many([["bb", "dd", "bb", "dd", "aa", "ee", "bb", "dd", "aa", "bb", "dd", "ee", "aa", "bb", "dd", "cc",
                   "aa", "bb", "dd", "ee", "aa", "bb", "dd", "aa", "bb", "dd", "bb", "dd"]])  # bb, dd 9; aa 6
    m.flush()
    v = m.vocab
    assert sorted(m.index_to_key[i] for i in select_by_count(v.counts, v.n_ids, 3, -1)) == ["aa", "bb", "dd"]
    assert len(select_by_count(v.counts, v.n_ids, 100, -1)) == 5
