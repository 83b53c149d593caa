"""SGNS learner: input types, validation, determinism, learn_many ≡ learn_one, resume, workers, semantics."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_core import assert_finite, assert_same_state, assert_vocab_consistent, cosine, lee_lines, model_state
from streamsgns import SGNS
from streamsgns.tokenize import tokenize

SMALL = dict(vector_size=16, min_count=2, seed=3, sketch_width=1 << 16, cooc_top_n=200)


# ---------------------------------------------------------------- inputs
def test_learn_one_accepts_str_list_dict_bytes():
    m = SGNS(**SMALL, on="text")
    m.learn_one("alpha beta gamma")
    m.learn_one(["alpha", "beta", "gamma"])
    m.learn_one(("alpha", "beta"))
    m.learn_one({"text": "alpha beta gamma", "other": 1})
    m.learn_one(b"alpha beta\ngamma delta")
    m.learn_one(bytearray(b"alpha beta"))
    assert m.words_seen == 3 + 3 + 2 + 3 + 4 + 2
    assert {"alpha", "beta", "gamma"} <= set(m.key_to_index)
    assert m.stats["bad_inputs"] == 0


def test_bad_types_are_counted_and_skipped():
    m = SGNS(**SMALL, on="text")
    for bad in (None, 42, 3.5, object(), {"other": "no text field"}, {"text": None}, {"text": 7}):
        m.learn_one(bad)
    assert m.stats["bad_inputs"] == 7
    assert m.words_seen == 0
    m.learn_many([None, "aa bb", 5, ["cc", "dd"], {"text": "ee ff"}, {"x": 1}])
    assert m.stats["bad_inputs"] == 10
    assert m.words_seen == 6
    assert m.progress()["bad_inputs"] == 10


def test_dict_without_on_raises():
    m = SGNS(**SMALL)
    with pytest.raises(ValueError, match="on"):
        m.learn_one({"text": "hello world"})
    with pytest.raises(ValueError):
        m.learn_many([{"text": "hello world"}])
    with pytest.raises(ValueError):
        m.transform_one({"text": "hello world"})


@pytest.mark.parametrize("kw", [
    dict(vector_size=0), dict(vector_size=-3), dict(vector_size=2.5), dict(vector_size=True), dict(vector_size="8"),
    dict(window=0), dict(negative=-1), dict(min_count=0), dict(max_vocab=0), dict(workers=0), dict(seed=-1),
    dict(alpha=0), dict(alpha=-0.1), dict(alpha=float("nan")), dict(alpha=1.5), dict(alpha=float("inf")),
    dict(min_alpha=0), dict(alpha=0.01, min_alpha=0.02), dict(decay_tokens=0), dict(decay_tokens=float("inf")),
    dict(sample=-1e-3), dict(sample=float("nan")), dict(sample=float("inf")), dict(sample="1e-3"),
    dict(ns_exponent=float("nan")), dict(ns_exponent=float("inf")), dict(ns_exponent=None),
    dict(output="X"), dict(tokenizer=5), dict(max_sentence_length=0), dict(sketch_width=0), dict(sketch_depth=0),
    dict(batch_bytes=0), dict(cooc_top_n=-1),
])
def test_constructor_validation(kw):
    with pytest.raises(ValueError):
        SGNS(**kw)


def test_edge_parameters_train_and_mean_what_they_say():
    """The smallest valid settings are not just accepted: the model trains (finite, moving W and C) and
    each setting does what it names."""
    lines = list(lee_lines()[:150])
    m = SGNS(negative=0, sample=0, ns_exponent=0, min_alpha=0.025, alpha=0.025, cooc_top_n=0, vector_size=1,
             min_count=2, seed=3)
    m.learn_many(lines[:75])
    n, W0, C0 = m.n_ids, m.W.copy(), m.C.copy()
    m.learn_many(lines[75:])
    assert m.vocab_size > 100 and m.W.shape[1] == 1
    assert_finite(m)
    # positive pairs alone still train both matrices
    assert not np.array_equal(m.W[:n], W0[:n]) and not np.array_equal(m.C[:n], C0[:n])
    assert m.current_alpha == pytest.approx(0.025, rel=1e-12)  # min_alpha == alpha: a constant step
    p = m.noise.probabilities()
    np.testing.assert_allclose(p, 1.0 / p.size)  # ns_exponent=0: uniform noise over the vocabulary
    with pytest.raises(ValueError):
        m.pmi_report()  # cooc_top_n=0: no word's pairs are counted exactly

    m = SGNS(ns_exponent=-0.5, output="W+C", tokenizer=str.split, min_count=1, **{k: v for k, v in SMALL.items()
                                                                                 if k != "min_count"})
    m.learn_many(["Hello, world! hello world world world"] * 20)
    assert set(m.key_to_index) == {"Hello,", "world!", "hello", "world"}  # str.split: case and punctuation kept
    np.testing.assert_array_equal(m.vectors(), m.W + m.C)
    p = m.noise.probabilities()
    counts = m.counts[: p.size]
    assert p[np.argmin(counts)] > p[np.argmax(counts)]  # a negative exponent favours rare words


def test_custom_tokenizer():
    m = SGNS(**{**SMALL, "min_count": 1}, tokenizer=lambda s: s.split(","))
    m.learn_one("A b,C d,,e\nx,y")
    assert m.words_seen == 5  # empty tokens ("" between two commas) are dropped
    assert "A b" in m and "C d" in m and "x" in m
    assert m.transform_one("A b,zz")["sgns_0"] == pytest.approx(float(m["A b"][0]))


# ---------------------------------------------------------------- counting
def test_words_seen_counts_raw_tokens_exactly():
    lines = list(lee_lines()[:120]) + ["Ünïcödé wörds, 東京タワー!", "", "a b c", "x-ray co-op --", "\u212aK"]
    m = SGNS(**SMALL)
    for line in lines:
        m.learn_one(line)
    want = sum(len(tokenize(line)) for line in lines)
    assert m.words_seen == want
    m2 = SGNS(**SMALL)
    m2.learn_many(lines)
    assert m2.words_seen == want
    m3 = SGNS(**SMALL)
    m3.learn_text("\n".join(lines).encode())
    assert m3.words_seen == want
    assert m.counts.sum() <= want


def test_counts_of_admitted_words_are_exact():
    lines = lee_lines()[:100]
    m = SGNS(**{**SMALL, "min_count": 1, "sketch_width": 1 << 20})
    m.learn_many(lines)
    from collections import Counter

    exact = Counter(t for line in lines for t in tokenize(line))
    assert m.vocab_size == len(exact)
    for w, i in m.key_to_index.items():
        assert m.counts[i] == exact[w]


def test_progress_counters_same_for_learn_many_and_learn_one():
    stream = ["aa bb cc", "", "dd ee", ["ff", "gg"], [], "hh\n", "!!", "ii jj\n\nkk", ["ll"]]
    a = SGNS(**SMALL)
    for x in stream:
        a.learn_one(x)
    b = SGNS(**SMALL)
    b.learn_many(stream)
    pa, pb = a.progress(), b.progress()
    assert pa == pb
    # a str sentence counts as its "\n"-separated lines (str.split semantics), a token list as one line
    assert pa["lines"] == 12 and pa["empty_lines"] == 5


# ---------------------------------------------------------------- determinism
def test_same_seed_bit_identical():
    lines = lee_lines()[:150]
    a = SGNS(**SMALL)
    a.learn_many(lines)
    b = SGNS(**SMALL)
    b.learn_many(lines)
    assert_same_state(model_state(a), model_state(b))


def test_learn_many_equals_loop_of_learn_one():
    lines = list(lee_lines()[:100])
    mixed = lines[:30] + [tokenize(x) for x in lines[30:50]] + [x.encode() for x in lines[50:60]] + lines[60:]
    a = SGNS(**SMALL, batch_bytes=5000)  # many blocks
    for x in mixed:
        a.learn_one(x)
    b = SGNS(**SMALL, batch_bytes=5000)
    b.learn_many(mixed)
    c = SGNS(**SMALL)  # one block per kind
    c.learn_many(mixed)
    sa, sb, sc = model_state(a), model_state(b), model_state(c)
    assert_same_state(sa, sb)
    assert_same_state(sa, sc)
    assert a.progress() == b.progress() == c.progress()


def test_different_seeds_differ():
    lines = lee_lines()[:80]
    a = SGNS(**SMALL)
    a.learn_many(lines)
    b = SGNS(**{**SMALL, "seed": 4})
    b.learn_many(lines)
    assert a.index_to_key == b.index_to_key and np.array_equal(a.counts, b.counts)  # same vocabulary...
    assert not np.array_equal(a.W, b.W)  # ...different draws
    assert not np.array_equal(a.C, b.C)


def test_checkpoint_resume_is_identical_to_uninterrupted(tmp_path):
    lines = list(lee_lines())
    params = dict(vector_size=12, min_count=3, seed=11, sketch_width=1 << 16, cooc_top_n=300, max_vocab=2000)
    full = SGNS(**params)
    full.learn_many(lines)
    full.learn_many(lines[:50])

    first = SGNS(**params)
    first.learn_many(lines[:137])
    first.learn_many(lines[137:170])
    path = first.save(tmp_path / "mid.npz", position={"n": 170})
    resumed = SGNS.load(path)
    assert resumed.source_position == {"n": 170}
    assert_same_state(model_state(first), model_state(resumed))
    resumed.learn_many(lines[170:])
    resumed.learn_many(lines[:50])
    assert full.progress()["evicted"] > 0  # the resumed state included a pruned vocabulary
    assert_same_state(model_state(full), model_state(resumed))
    assert resumed.progress() == full.progress()


# ---------------------------------------------------------------- workers, tied, outputs
def test_two_workers():
    lines = lee_lines()
    m = SGNS(**{**SMALL, "workers": 2, "batch_bytes": 20_000})
    m.learn_many(lines)
    m.learn_many(lines)
    m.flush()
    assert m.words_seen == 2 * sum(len(tokenize(x)) for x in lines)
    p = m.progress()
    assert p["pairs"] > 0 and p["kept_tokens"] > 0 and p["noise_refreshes"] > 0
    assert_finite(m)
    assert_vocab_consistent(m)
    loss = m.take_loss()
    assert np.isfinite(loss) and 0 < loss < 10
    m.close()
    m.close()  # idempotent


def test_tied_weights_learn():
    m = SGNS(**{**SMALL, "tied": True})
    assert m.params.W is m.params.C
    m.learn_many(lee_lines()[:200])
    assert np.shares_memory(m.W, m.C) and np.array_equal(m.W, m.C)
    assert np.abs(m.W).max() > 0.5 / m.vector_size  # moved away from the initialisation
    assert_finite(m)
    assert np.isfinite(m.take_loss())


def test_outputs_and_queries():
    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:200])
    np.testing.assert_array_equal(m.vectors("W+C"), m.vectors("W") + m.vectors("C"))  # the averages (default)
    raw = SGNS(**SMALL, average_eta=None)
    raw.learn_many(lee_lines()[:200])
    np.testing.assert_array_equal(raw.vectors("W+C"), raw.W + raw.C)
    np.testing.assert_array_equal(raw.vectors("C"), raw.C)
    with pytest.raises(ValueError):
        m.vectors("X")
    w = m["government"]
    assert w.shape == (16,) and w.dtype == np.float32
    w[:] = 0  # a copy
    assert np.any(m["government"] != 0)
    with pytest.raises(KeyError):
        m["zzzz-not-a-word"]
    sims = m.most_similar("government", topn=5)
    assert len(sims) == 5 and all(s <= 1.0 + 1e-6 for _, s in sims)
    assert "government" not in [w for w, _ in sims]
    assert [s for _, s in sims] == sorted([s for _, s in sims], reverse=True)
    assert m.similarity("government", sims[0][0]) == pytest.approx(sims[0][1], abs=1e-6)
    by_vec = m.most_similar(m["government"], topn=1)
    assert by_vec[0][0] == "government"
    t = m.transform_one("the government said")
    assert list(t) == [f"sgns_{i}" for i in range(16)]
    ids = [m.key_to_index[w] for w in ("the", "government", "said")]
    np.testing.assert_allclose(list(t.values()), m.vectors()[ids].mean(axis=0), rtol=1e-5)  # the exported rows
    assert set(m.transform_one("qqqq zzzz").values()) == {0.0}
    m2 = SGNS(**{**SMALL, "output": "W+C"})
    m2.learn_many(lee_lines()[:50])
    np.testing.assert_array_equal(m2["the"], m2.W[m2.key_to_index["the"]] + m2.C[m2.key_to_index["the"]])


def test_queries_follow_learning_and_folds():
    """The cached search is the export's, rebuilt after learning and after a fold of the averages:
    most_similar always answers from the current exported vectors, never from an older copy."""
    from streamsgns.vectors import KeyedVectors

    def fresh(m):
        return KeyedVectors(m.index_to_key, m.vectors(), alive=m.counts > 0, key_to_index=m.key_to_index)

    m = SGNS(**SMALL, average_every=10**9)  # no fold while learning: only the explicit one below
    m.learn_many(lee_lines()[:100])
    kv = m.keyed_vectors()
    before = m.most_similar("government", topn=5)
    assert m.keyed_vectors() is kv  # cached while the model does not change
    m.learn_many(lee_lines()[100:200])
    after = m.most_similar("government", topn=5)
    assert m.keyed_vectors() is not kv
    assert after != before
    assert after == fresh(m).most_similar("government", topn=5)
    kv = m.keyed_vectors()
    m.fold_average()
    assert m.keyed_vectors() is not kv
    assert m.most_similar("government", topn=5) == fresh(m).most_similar("government", topn=5)


def test_pickle_round_trip():
    import pickle

    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:50])
    m2 = pickle.loads(pickle.dumps(m))
    assert_same_state(model_state(m), model_state(m2))
    m.learn_many(lee_lines()[50:80])
    m2.learn_many(lee_lines()[50:80])
    assert_same_state(model_state(m), model_state(m2))


# ---------------------------------------------------------------- does it learn?
def test_two_topics_are_separated():
    rng = np.random.default_rng(0)
    A = [f"a{i}" for i in range(1, 21)]
    B = [f"b{i}" for i in range(1, 21)]
    sents = []
    for k in range(3000):
        topic = A if k % 2 == 0 else B
        sents.append([topic[j] for j in rng.integers(0, 20, size=10)])
    m = SGNS(vector_size=16, window=3, negative=5, min_count=1, sample=0.0, seed=0, alpha=0.025, track_cooc=False)
    m.learn_many(sents)
    V = m.W

    def mean_cos(xs, ys, same):
        vals = [cosine(V[m.key_to_index[x]], V[m.key_to_index[y]]) for x in xs for y in ys if not (same and x == y)]
        return float(np.mean(vals))

    within = (mean_cos(A, A, True) + mean_cos(B, B, True)) / 2
    cross = mean_cos(A, B, False)
    assert within > cross + 0.5, (within, cross)
    # and every word's nearest neighbour is in its own topic
    for w in A + B:
        nn = m.most_similar(w, topn=1)[0][0]
        assert nn[0] == w[0], (w, nn)


def test_lee_semantics():
    lines = lee_lines()
    m = SGNS(vector_size=32, min_count=3, seed=0, decay_tokens=1e6, sketch_width=1 << 18, track_cooc=False)
    for _ in range(8):
        m.learn_many(lines)
    related = [("bin", "laden"), ("arafat", "yasser"), ("taliban", "afghanistan"), ("test", "match"),
               ("fire", "crews"), ("president", "bush")]
    unrelated = [("bin", "cricket"), ("arafat", "fire"), ("taliban", "crews"), ("test", "yasser"),
                 ("fire", "laden"), ("president", "crews")]
    rel = [m.similarity(a, b) for a, b in related]
    unr = [m.similarity(a, b) for a, b in unrelated]
    assert np.mean(rel) > np.mean(unr) + 0.3, (rel, unr)
    for (a, b), (_, u) in zip(related, unrelated):
        assert m.similarity(a, b) > m.similarity(a, u), (a, b, u)
    assert "laden" in [w for w, _ in m.most_similar("bin", topn=5)]
    # the loss went down compared with an untrained model's first pass
    fresh = SGNS(vector_size=32, min_count=3, seed=0, decay_tokens=1e6, sketch_width=1 << 18, track_cooc=False)
    fresh.learn_many(lines)
    first = fresh.take_loss()
    m.take_loss()
    m.learn_many(lines)
    assert m.take_loss() < first


# ---------------------------------------------------------------- capacity growth, files
def test_growth_of_capacity_does_not_change_the_result():
    lines = lee_lines()[:200]
    params = dict(vector_size=8, min_count=1, seed=2, max_sentence_length=100, sketch_width=1 << 16, cooc_top_n=300)
    grown = SGNS(**params)
    assert grown.vocab.capacity == 1024
    grown.learn_many(lines)
    assert grown.vocab.capacity > 4000 and grown.n_ids > 4000  # grew by doubling several times
    big = SGNS(**params)
    big.reserve(grown.vocab.capacity)  # room from the start: no growth on the way
    big.learn_many(lines)
    sg, sb = model_state(grown), model_state(big)
    assert_same_state(sg, sb)
    assert_vocab_consistent(grown)


def test_growth_with_two_workers():
    m = SGNS(vector_size=8, min_count=1, seed=2, max_sentence_length=100, workers=2, sketch_width=1 << 16)
    m.learn_many(lee_lines())
    m.flush()
    assert m.vocab.capacity > 4000
    assert m.words_seen == sum(len(tokenize(x)) for x in lee_lines())
    assert_finite(m)
    assert_vocab_consistent(m)
    m.close()


def test_learn_file_equals_learn_text(tmp_path):
    from helpers_core import lee_path

    a = SGNS(**SMALL)
    a.learn_file(lee_path(), block_bytes=10_000)
    b = SGNS(**SMALL)
    with open(lee_path(), "rb") as f:
        b.learn_text(f.read())
    assert_same_state(model_state(a), model_state(b))


def test_two_workers_dense_single_character_tokens():
    # token lists of 1-character tokens hold more ids per byte than text: exercises the OUT_FULL path
    rng = np.random.default_rng(0)
    sents = [[chr(97 + int(c)) for c in rng.integers(0, 26, size=int(rng.integers(0, 300)))] for _ in range(3000)]
    a = SGNS(vector_size=8, min_count=1, seed=0, workers=2, sketch_width=1 << 12, batch_bytes=1 << 16)
    a.learn_many(sents)
    a.flush()
    assert a.words_seen == sum(map(len, sents))
    assert a.progress()["lines"] == len(sents)
    assert a.vocab_size == 26
    assert_finite(a)
    a.close()
    b = SGNS(vector_size=8, min_count=1, seed=0, workers=1, sketch_width=1 << 12, batch_bytes=1 << 16)
    b.learn_many(sents)
    assert b.progress()["lines"] == len(sents) and b.words_seen == a.words_seen
    assert np.array_equal(a.counts, b.counts) and a.index_to_key == b.index_to_key


def test_empty_model_queries_and_export(tmp_path):
    from streamsgns.io.word2vec import load_word2vec_format

    m = SGNS(**SMALL)
    assert m.vocab_size == 0 and m.W.shape == (0, 16)
    assert m.most_similar(np.ones(16), topn=3) == []
    assert set(m.transform_one("anything here").values()) == {0.0}
    assert m.save_word2vec_format(tmp_path / "e.txt") == 0
    words, V = load_word2vec_format(tmp_path / "e.txt")
    assert words == [] and V.shape == (0, 16)
    assert np.isnan(m.take_loss())


def test_transform_one_accepts_bytes_like_learn_one():
    m = SGNS(vector_size=8, min_count=1, seed=0)
    m.learn_one("alpha beta gamma")
    assert m.transform_one(b"alpha beta") == m.transform_one("alpha beta")
    assert any(v != 0.0 for v in m.transform_one(b"alpha").values())


def test_w_plus_c_lookups_equal_the_sum_of_rows():
    m = SGNS(vector_size=8, min_count=1, seed=0, output="W+C")
    for _ in range(5):
        m.learn_one("alpha beta gamma delta")
    i = m.key_to_index["beta"]
    np.testing.assert_array_equal(m["beta"], m.W[i] + m.C[i])
    ids = [m.key_to_index[w] for w in ("alpha", "gamma")]
    mean = (m.W[ids] + m.C[ids]).mean(axis=0)
    got = np.array([m.transform_one("alpha gamma")[f"sgns_{k}"] for k in range(8)], dtype=np.float32)
    np.testing.assert_allclose(got, mean, rtol=1e-6)
