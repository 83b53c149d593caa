"""streamsgns.vectors: the one cosine search (brute-force law, dead rows, typed errors, gensim agreement)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from streamsgns.vectors import KeyedVectors, unit_rows

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def vector_sets(draw):
    n = draw(st.integers(1, 25))
    d = draw(st.integers(1, 5))
    # small integers: many exact ties and some zero rows
    V = draw(hnp.arrays(np.float32, (n, d), elements=st.integers(-3, 3).map(float)))
    alive = draw(hnp.arrays(np.bool_, (n,)))
    words = [f"w{i}" for i in range(n)]
    return words, V, alive


def _cos64(V, q):
    V = V.astype(np.float64)
    n = np.linalg.norm(V, axis=1)
    n[n == 0] = 1.0
    return (V @ q) / n / (np.linalg.norm(q) or 1.0)


@SETTINGS
@given(vs=vector_sets(), topn=st.integers(1, 30), pick=st.integers(0, 10**6))
def test_most_similar_is_the_brute_force_top_n_of_the_alive_rows(vs, topn, pick):
    words, V, alive = vs
    kv = KeyedVectors(words, V, alive=alive)
    live = np.flatnonzero(alive)
    if live.size == 0:
        with pytest.raises(KeyError):
            kv.most_similar(words[0])
        return
    qi = int(live[pick % live.size])
    got = kv.most_similar(words[qi], topn=topn)
    cand = [i for i in live if i != qi]
    assert len(got) == min(topn, len(cand))
    assert words[qi] not in [w for w, _ in got]  # the query word itself is never listed
    idx = [kv.key_to_index[w] for w, _ in got]
    assert set(idx) <= set(cand) and len(set(idx)) == len(idx)  # only alive rows, no repeats
    cos = _cos64(V, V[qi].astype(np.float64))
    sims = np.array([s for _, s in got])
    np.testing.assert_allclose(sims, cos[idx], atol=1e-6)
    assert np.all(np.diff(sims) <= 1e-6)  # best first
    if got:  # nothing left out is better than the last one listed
        rest = [i for i in cand if i not in idx]
        assert all(cos[i] <= sims[-1] + 1e-6 for i in rest)


def test_query_word_never_listed_even_when_topn_exceeds_the_vocabulary():
    kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    got = kv.most_similar("a", topn=10)
    assert [w for w, _ in got] == ["b", "c"]  # ties broken by row
    assert all(np.isfinite(s) for _, s in got)


def test_dead_and_free_rows_are_never_listed_nor_queried():
    V = np.array([[1, 0], [1, 0.1], [1, 0.01], [0, 1]], dtype=np.float32)
    kv = KeyedVectors(["a", None, "c", "d"], V, alive=[True, True, False, True])
    assert [w for w, _ in kv.most_similar("a", topn=5)] == ["d"]
    assert "c" not in kv and len(kv) == 2  # row 1 has no key: not a word
    with pytest.raises(KeyError, match="'c' is not in the vocabulary"):
        kv.most_similar("c")
    # NaN in a dead row does not matter; in an alive row it is refused
    V[2] = np.nan
    KeyedVectors(["a", "b", "c", "d"], V, alive=[True, True, False, True])
    with pytest.raises(ValueError, match="NaN"):
        KeyedVectors(["a", "b", "c", "d"], V)


def test_vector_queries_and_exclude():
    V = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)
    kv = KeyedVectors(["a", "b", "c", "d"], V)
    got = kv.most_similar(np.array([2.0, 0.0]), topn=2)  # not normalised; the row itself counts
    assert [w for w, _ in got] == ["a", "b"]
    assert got[0][1] == pytest.approx(1.0) and got[1][1] == pytest.approx(0.8)
    assert [w for w, _ in kv.most_similar([2, 0], topn=2, exclude=["a", "zz"])] == ["b", "c"]
    assert [w for w, _ in kv.most_similar("a", exclude=["b"])] == ["c", "d"]
    assert kv.similarity("a", "d") == pytest.approx(-1.0)
    np.testing.assert_array_equal(kv["b"], V[1])


def test_typed_errors():
    kv = KeyedVectors(["a", "b"], np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        kv.most_similar(np.ones(4))
    with pytest.raises(ValueError, match=r"\(1, 3\)"):
        kv.most_similar(np.ones((1, 3)))
    with pytest.raises(ValueError, match="zero"):
        kv.most_similar(np.zeros(3))
    for bad in ([np.nan, 1, 0], [np.inf, 0, 0]):
        with pytest.raises(ValueError, match="NaN or inf"):
            kv.most_similar(bad)
    with pytest.raises(KeyError, match="'zz' is not in the vocabulary"):
        kv.most_similar("zz")
    with pytest.raises(KeyError):
        kv.similarity("a", "zz")
    for topn in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="topn"):
            kv.most_similar("a", topn=topn)
    with pytest.raises(ValueError):
        KeyedVectors(["a"], np.ones((2, 3)))
    with pytest.raises(ValueError):
        KeyedVectors(["a", "b"], np.ones(3))


def test_zero_rows_have_cosine_zero():
    V = np.array([[1, 0], [0, 0], [0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(unit_rows(V)[1], [0, 0])
    kv = KeyedVectors(["a", "z", "c"], V)
    assert kv.similarity("a", "z") == 0.0
    assert kv.most_similar("a") == [("z", 0.0), ("c", 0.0)]


def test_agrees_with_gensim_most_similar():
    gensim = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(0)
    V = rng.normal(size=(500, 20)).astype(np.float32)
    words = [f"w{i}" for i in range(500)]
    ref = gensim.KeyedVectors(20)
    ref.add_vectors(words, V)
    kv = KeyedVectors(words, V)
    for w in ("w0", "w17", "w499"):
        ours = kv.most_similar(w, topn=10)
        theirs = ref.most_similar(w, topn=10)
        assert [x for x, _ in ours] == [x for x, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    q = rng.normal(size=20)
    assert [x for x, _ in kv.most_similar(q, topn=5)] == [x for x, _ in ref.most_similar([q], topn=5)]
