"""Tests for streamsgns.cooc: the running #(w,c), #(w), #(c), |D| of the pairs the kernel trains.

The learner's counts are checked against an independent count of the admitted token stream
(:func:`streamsgns.pmi.cooccurrence_from_tokens`): exactly where the pairs are determined
(``window=1``: the dynamic window is then always 1; ``sample=0``: no subsampling), and within a
statistical tolerance of the dynamic-window expectation for ``window=5``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamsgns import SGNS
from streamsgns.cooc import CooccurrenceStats, cooc_sentence, pair_key
from streamsgns.pmi import cooccurrence_from_tokens

from helpers_core import lee_token_lists

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- helpers
def _naive(kept, wins, n):
    """All pairs (W-row = context j, C-row = centre i) of one sentence, as a dense (n, n) array."""
    M = np.zeros((n, n), dtype=np.int64)
    for i, c in enumerate(kept):
        b = wins[i]
        for j in range(max(0, i - b), min(len(kept), i + b + 1)):
            if j != i:
                M[kept[j], c] += 1
    return M


def _stats_for(n, top_n, slots, **kw):
    """CooccurrenceStats over ids 0..n-1 with id ``i`` tracked in slot ``slots[i]`` (-1 untracked)."""
    s = CooccurrenceStats(top_n=top_n, capacity=max(n, 1), **kw)
    s.cslot[:n] = slots
    used = set(int(x) for x in slots if x >= 0)
    s.cslot_free[:] = -1
    free = [x for x in range(top_n) if x not in used]
    s.cslot_free[: len(free)] = free
    return s


def _feed(s, kept, wins, hashes):
    kept = np.asarray(kept, dtype=np.int32)
    m = kept.shape[0]
    cbuf = np.full(3 * m + 1, -7, dtype=np.int32)  # windows, then scratch (garbage on purpose)
    cbuf[:m] = wins
    return cooc_sentence(kept, cbuf, m, s.arrays(), hashes)


@pytest.fixture(scope="module")
def lee_lines():
    pytest.importorskip("gensim")
    return [list(t) for t in lee_token_lists()]


def _admitted_stream(lines, min_count):
    """The token stream the kernel trains when admission is exact: from each word's min_count-th occurrence on."""
    seen = Counter()
    out = []
    for toks in lines:
        keep = []
        for t in toks:
            seen[t] += 1
            if seen[t] >= min_count:
                keep.append(t)
        out.append(keep)
    return out


def _ids(model, sents):
    kti = model.key_to_index
    return [np.array([kti[t] for t in s], dtype=np.int64) for s in sents if s]


# --------------------------------------------------------------------------- the per-sentence counter
@st.composite
def sentences(draw):
    n = draw(st.integers(1, 12))
    top_n = draw(st.integers(0, n))
    perm = draw(st.permutations(list(range(n))))
    tracked = perm[:top_n]
    slots = np.full(n, -1, dtype=np.int32)
    slot_of = draw(st.permutations(list(range(top_n)))) if top_n else []
    for k, i in enumerate(tracked):
        slots[i] = slot_of[k]
    sents = draw(st.lists(st.lists(st.integers(0, n - 1), min_size=0, max_size=15), min_size=1, max_size=4))
    window = draw(st.integers(1, 6))
    wins = [[draw(st.integers(1, window)) for _ in s] for s in sents]
    return n, top_n, slots, sents, wins


@SETTINGS
@given(sentences())
def test_cooc_sentence_matches_naive_pair_loop(problem):
    n, top_n, slots, sents, wins = problem
    s = _stats_for(n, top_n, slots, sketch_depth=0)
    hashes = np.arange(1, n + 1, dtype=np.uint64)
    ref = np.zeros((n, n), dtype=np.int64)
    n_pairs = 0
    for kept, w in zip(sents, wins):
        n_pairs += _feed(s, kept, w, hashes)
        ref += _naive(kept, w, n)
    tracked = np.flatnonzero(slots >= 0)
    np.testing.assert_array_equal(s.dense(tracked), ref[np.ix_(tracked, tracked)])
    np.testing.assert_array_equal(s.cwm[:n], ref.sum(1))  # #(w): pairs where the id is the W-row
    np.testing.assert_array_equal(s.ccm[:n], ref.sum(0))  # #(c): pairs where the id is the C-row
    assert n_pairs == ref.sum() == s.total()
    # untracked slots stay empty
    free = s.cslot_free[s.cslot_free >= 0]
    assert not s.clo[free].any() and not s.clo[:, free].any()


def test_cooc_sentence_hand_example():
    # ids 0 1 2 1, windows 1 2 1 1 → pairs (context, centre):
    # i=0 (0): (1,0); i=1 (1, b=2): (0,1) (2,1) (1,1); i=2 (2): (1,2) (1,2); i=3 (1): (2,1)
    s = _stats_for(3, 3, np.array([0, 1, 2], dtype=np.int32), sketch_depth=0)
    assert _feed(s, [0, 1, 2, 1], [1, 2, 1, 1], np.arange(1, 4, dtype=np.uint64)) == 7
    expected = np.array([[0, 1, 0],   # W-row 0 with C-row 1
                         [1, 1, 2],   # W-row 1 with C-rows 0, 1, 2 (twice)
                         [0, 2, 0]])  # W-row 2 with C-row 1, twice
    np.testing.assert_array_equal(s.dense(np.arange(3)), expected)
    np.testing.assert_array_equal(s.cwm[:3], [1, 4, 2])
    np.testing.assert_array_equal(s.ccm[:3], [1, 4, 2])


def test_low_16_bits_carry_into_the_high_table_and_saturate():
    s = _stats_for(2, 2, np.array([0, 1], dtype=np.int32), sketch_depth=0)
    h = np.array([1, 2], dtype=np.uint64)
    s.clo[1, 0] = 65535  # #(w=0, c=1) = 65535
    _feed(s, [0, 1], [1, 1], h)  # pairs (1,0) and (0,1)
    assert s.dense(np.arange(2))[0, 1] == 65536
    assert s.clo[1, 0] == 0 and s.chi[1, 0] == 1
    assert s.estimate_pair(0, 1, h) == 65536
    s.clo[1, 0], s.chi[1, 0] = 65535, 65535  # 2**32 - 1: saturated
    _feed(s, [0, 1], [1, 1], h)
    assert s.dense(np.arange(2))[0, 1] == 2**32 - 1


def test_sketch_rate_one_never_undercounts_and_is_exact_without_collisions():
    n = 6
    s = _stats_for(n, 2, np.array([0, 1, -1, -1, -1, -1], dtype=np.int32), sketch_rate=1,
                   sketch_width=1 << 16, sketch_depth=3)
    hashes = np.array([11, 22, 33, 44, 55, 66], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    rng = np.random.default_rng(0)
    ref = np.zeros((n, n), dtype=np.int64)
    for _ in range(200):
        kept = rng.integers(0, n, size=8)
        wins = rng.integers(1, 4, size=8)
        _feed(s, kept, wins, hashes)
        ref += _naive(kept, wins, n)
    for w in range(n):
        for c in range(n):
            assert s.estimate_pair(w, c, hashes) == ref[w, c]


def test_sampled_sketch_is_unbiased_within_its_documented_error():
    """Untracked pairs enter the sketch with probability 1/R and weight R: E[estimate] = count,
    sd = sqrt(count·(R − 1)) (module docstring); checked at 5 sd on a heavy pair, and the mean over
    many pairs is within 3 standard errors of the truth."""
    R = 8
    n = 40
    s = _stats_for(n, 0, np.full(n, -1, dtype=np.int32), sketch_rate=R, sketch_width=1 << 18, sketch_depth=2,
                   seed=3)
    hashes = (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    rng = np.random.default_rng(1)
    ref = np.zeros((n, n), dtype=np.int64)
    for _ in range(3000):
        kept = rng.integers(0, n, size=10)
        kept[::3] = 0  # word 0 is frequent: its pairs are heavy
        wins = rng.integers(1, 3, size=10)
        _feed(s, kept, wins, hashes)
        ref += _naive(kept, wins, n)
    est = np.array([[s.estimate_pair(w, c, hashes) for c in range(n)] for w in range(n)])
    assert (est % R == 0).all()
    w, c = np.unravel_index(np.argmax(ref), ref.shape)
    heavy = ref[w, c]
    assert heavy > 1000
    assert abs(est[w, c] - heavy) < 5 * np.sqrt(heavy * (R - 1))
    obs = ref > 0
    diff = (est - ref)[obs].astype(float)
    se = np.sqrt(((R - 1) * ref[obs]).sum()) / obs.sum()
    assert abs(diff.mean()) < 3 * se + 1e-9 + 1.0  # collisions can only add (< 1 count on average here)
    assert s.total() == ref.sum()


def test_release_clears_row_and_column_and_frees_the_slot():
    from streamsgns.cooc import cooc_release

    s = _stats_for(3, 3, np.array([0, 1, 2], dtype=np.int32), sketch_depth=0)
    s.cslot_free[:] = 0
    h = np.arange(1, 4, dtype=np.uint64)
    for _ in range(3):
        _feed(s, [0, 1, 2, 0], [2, 2, 2, 2], h)
    s.meta[0]["n_free_slots"] = 0
    slot = int(s.cslot[1])
    cooc_release(1, s.arrays())
    assert s.cslot[1] == -1 and s.meta[0]["n_free_slots"] == 1 and s.cslot_free[0] == slot
    assert not s.clo[slot].any() and not s.clo[:, slot].any()
    assert s.cwm[1] == 0 and s.ccm[1] == 0
    assert s.dense(np.array([0, 2])).sum() > 0


def test_constructor_errors():
    with pytest.raises(ValueError):
        CooccurrenceStats(top_n=-1)
    with pytest.raises(ValueError):
        CooccurrenceStats(sketch_rate=0)
    s = CooccurrenceStats(top_n=2, capacity=4, sketch_depth=0)
    with pytest.raises(ValueError):
        s.matrix(np.array([0]))  # not tracked
    with pytest.raises(ValueError):
        s.estimate_pair(0, 1, np.ones(4, dtype=np.uint64))  # untracked and no sketch


def test_pair_key_is_ordered():
    a, b = np.uint64(12345), np.uint64(67890)
    assert pair_key(a, b) != pair_key(b, a)


# --------------------------------------------------------------------------- the learner, against the token stream
def test_window_one_counts_equal_adjacent_pairs_exactly(lee_lines):
    """window=1, sample=0: every kept adjacent pair is trained once in each direction, so the learner's
    #(w,c) is exactly the adjacent-pair count of the admitted stream (min_count=3, exact admission)."""
    m = SGNS(vector_size=8, window=1, sample=0, min_count=3, seed=2, cooc_top_n=20000, sketch_width=1 << 20)
    m.learn_many(lee_lines)
    stream = _admitted_stream(lee_lines, 3)
    ids = _ids(m, stream)
    n = m.n_ids
    ref = cooccurrence_from_tokens(ids, n, 1)
    tracked, _ = m.cooc.tracked_ids()
    assert tracked.shape[0] == n == m.vocab_size
    got = m.cooc.matrix(np.arange(n))
    assert abs(got - ref).sum() == 0
    np.testing.assert_array_equal(m.cooc.cwm[:n], np.asarray(ref.sum(1)).ravel())
    np.testing.assert_array_equal(m.cooc.ccm[:n], np.asarray(ref.sum(0)).ravel())
    pairs = m.progress()["pairs"]
    assert m.cooc.total() == m.cooc.cwm.sum() == m.cooc.ccm.sum() == pairs == ref.sum()


def test_top_n_tracks_the_first_admitted_words_exactly(lee_lines):
    m = SGNS(vector_size=8, window=1, sample=0, min_count=1, seed=2, cooc_top_n=50)
    m.learn_many(lee_lines)
    tracked, slots = m.cooc.tracked_ids()
    np.testing.assert_array_equal(tracked, np.arange(50))  # ids are handed out in admission order
    assert sorted(slots.tolist()) == list(range(50))
    ref = cooccurrence_from_tokens(_ids(m, lee_lines), m.n_ids, 1)
    np.testing.assert_array_equal(m.cooc.dense(tracked), ref[:50, :50].toarray())
    # marginals are over all pairs, tracked or not
    np.testing.assert_array_equal(m.cooc.cwm[: m.n_ids], np.asarray(ref.sum(1)).ravel())
    assert m.cooc.total() == m.progress()["pairs"]


def test_window_five_matches_the_dynamic_window_expectation(lee_lines):
    """window=5, sample=0: a pair at distance d is trained with probability (5 − d + 1)/5. The learner's
    counts agree with the expected counts within Poisson-like noise (z = (obs − exp)/sqrt(exp))."""
    m = SGNS(vector_size=8, window=5, sample=0, min_count=1, seed=5, cooc_top_n=2000)
    m.learn_many(lee_lines)
    ids = _ids(m, lee_lines)
    top = np.arange(300)  # the first 300 admitted words are all tracked
    E = cooccurrence_from_tokens(ids, 300, 5, weighted=True).toarray()
    O = m.cooc.dense(top).astype(float)
    big = E >= 20
    assert big.sum() > 500
    z = (O[big] - E[big]) / np.sqrt(E[big])
    assert abs(z.mean()) < 0.1
    assert 0.5 < z.std() < 1.1  # the variance of a count is Σ p_d(1 − p_d) <= its mean
    assert np.mean(np.abs(z) > 4) < 0.002
    # totals: Σ_i (number of contexts of centre i) ≈ its expectation, to 0.5 %
    full = cooccurrence_from_tokens(ids, m.n_ids, 5, weighted=True)
    assert abs(m.cooc.total() - full.sum()) / full.sum() < 0.005
    assert m.cooc.total() == m.progress()["pairs"] == m.cooc.cwm.sum() == m.cooc.ccm.sum()
    # marginals: #(w) ≈ Σ_c E[#(w,c)] for frequent words
    ew = np.asarray(full.sum(1)).ravel()
    zw = (m.cooc.cwm[: m.n_ids] - ew) / np.sqrt(np.maximum(ew, 1.0))
    assert np.abs(zw).max() < 5


def test_subsampling_is_counted_as_trained(lee_lines):
    """With sample > 0 the statistics follow the kernel, not the raw text: |D| = pairs trained, and
    the frequent words' share of #(c) falls below their share of raw tokens."""
    m = SGNS(vector_size=8, window=5, sample=1e-3, min_count=1, seed=1, cooc_top_n=500)
    m.learn_many(lee_lines)
    assert m.cooc.total() == m.progress()["pairs"] == m.cooc.cwm.sum()
    n0 = SGNS(vector_size=8, window=5, sample=0, min_count=1, seed=1, cooc_top_n=500)
    n0.learn_many(lee_lines)
    the = m.key_to_index["the"]
    assert m.cooc.ccm[the] / m.cooc.total() < 0.5 * n0.cooc.ccm[the] / n0.cooc.total()


def test_statistics_do_not_change_training(lee_lines):
    kw = dict(vector_size=16, window=3, sample=1e-3, min_count=2, seed=7)
    on = SGNS(track_cooc=True, **kw)
    off = SGNS(track_cooc=False, **kw)
    on.learn_many(lee_lines[:150])
    off.learn_many(lee_lines[:150])
    np.testing.assert_array_equal(on.W, off.W)
    np.testing.assert_array_equal(on.C, off.C)


def _cooc_state(m):
    return {k: np.array(v) for k, v in m.cooc.state_dict(m.n_ids).items()}


def test_learn_many_equals_a_loop_of_learn_one(lee_lines):
    kw = dict(vector_size=8, window=4, sample=1e-3, min_count=2, seed=3, cooc_top_n=100)
    a, b = SGNS(**kw), SGNS(**kw)
    a.learn_many(lee_lines[:120])
    for s in lee_lines[:120]:
        b.learn_one(s)
    sa, sb = _cooc_state(a), _cooc_state(b)
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    np.testing.assert_array_equal(a.W, b.W)


def test_checkpoint_round_trip_resumes_the_counts_exactly(lee_lines, tmp_path):
    kw = dict(vector_size=8, window=5, sample=1e-3, min_count=2, seed=4, cooc_top_n=80)
    full = SGNS(**kw)
    full.learn_many(lee_lines)
    half = SGNS(**kw)
    half.learn_many(lee_lines[:150])
    path = tmp_path / "ck.npz"
    half.save(path)
    resumed = SGNS.load(path)
    s0, s1 = _cooc_state(half), _cooc_state(resumed)
    for k in s0:
        np.testing.assert_array_equal(s0[k], s1[k], err_msg=k)
    resumed.learn_many(lee_lines[150:])
    sf, sr = _cooc_state(full), _cooc_state(resumed)
    for k in sf:
        np.testing.assert_array_equal(sf[k], sr[k], err_msg=k)
    np.testing.assert_array_equal(full.W, resumed.W)
    np.testing.assert_array_equal(full.C, resumed.C)


def test_checkpoint_with_other_table_shapes_is_rejected(lee_lines, tmp_path):
    from streamsgns.io.checkpoint import CheckpointError

    m = SGNS(vector_size=8, min_count=1, cooc_top_n=30)
    m.learn_many(lee_lines[:20])
    path = tmp_path / "ck.npz"
    m.save(path)
    with pytest.raises(CheckpointError):
        SGNS.load(path, cooc_top_n=40)


def test_eviction_releases_slots_and_counts(lee_lines):
    """max_vocab small: words are evicted and their ids and slots reused; the table keeps its invariants
    and the exact counts of pairs among words still present never exceed the adjacent-pair count."""
    m = SGNS(vector_size=8, window=1, sample=0, min_count=1, max_vocab=200, seed=1, cooc_top_n=60)
    m.learn_many(lee_lines[:150])
    assert m.progress()["evicted"] > 0
    c = m.cooc
    tracked, slots = c.tracked_ids()
    free = c.cslot_free[: int(c.meta[0]["n_free_slots"])]
    assert len(set(slots.tolist())) == len(slots)
    assert sorted(slots.tolist() + free.tolist()) == list(range(60))
    assert not c.clo[free].any() and not c.clo[:, free].any() and not c.chi[free].any()
    alive = m.counts > 0
    assert alive[tracked].all()
    dead = np.flatnonzero(~alive)
    assert not c.cwm[dead].any() and not c.ccm[dead].any()
    assert c.total() == m.progress()["pairs"]


def test_eviction_hand_example():
    """a, b frequent; c admitted, paired with a, then evicted when d arrives (max_vocab 3): d inherits
    c's id and slot with none of c's counts."""
    m = SGNS(vector_size=4, window=1, sample=0, min_count=1, max_vocab=3, seed=0, cooc_top_n=3)
    for _ in range(5):
        m.learn_one(["aa", "bb", "aa", "bb"])
    m.learn_one(["aa", "cc"])
    c_id = m.key_to_index["cc"]
    assert m.cooc.estimate_pair(m.key_to_index["aa"], c_id, m.vocab.hashes) == 1
    m.learn_one(["dd"])  # full: the rarest (cc) is evicted, dd takes its id
    assert "cc" not in m.key_to_index and m.key_to_index["dd"] == c_id
    ids = np.array([m.key_to_index[w] for w in ("aa", "bb", "dd")])
    D = m.cooc.dense(ids)
    assert D[:, 2].sum() == 0 and D[2].sum() == 0
    assert m.cooc.cwm[c_id] == 0 and m.cooc.ccm[c_id] == 0
    m.learn_one(["aa", "dd"])
    D = m.cooc.dense(ids)
    assert D[0, 2] == 1 and D[2, 0] == 1
    assert m.cooc.cwm[c_id] == 1 and m.cooc.ccm[c_id] == 1
    assert m.cooc.total() == m.progress()["pairs"]


def test_hogwild_workers_count_nearly_every_pair(lee_lines):
    m = SGNS(vector_size=8, window=5, sample=0, min_count=1, seed=1, workers=2, cooc_top_n=300, batch_bytes=1 << 16)
    m.learn_many(lee_lines)
    m.flush()
    pairs = m.progress()["pairs"]
    assert pairs > 0
    # unsynchronised increments can lose a few counts, never invent any
    assert 0.95 * pairs <= m.cooc.total() <= pairs
    assert 0.95 * pairs <= m.cooc.cwm.sum() <= pairs
    m.close()
