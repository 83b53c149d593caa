"""Averaged iterates (streamsgns.averaging): the law of the weights, row reuse, determinism, checkpoints."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from streamsgns import SGNS
from streamsgns.averaging import IterateAverage
from streamsgns._state import StateError

from helpers_core import assert_same_state, lee_lines, model_state

SMALL = dict(vector_size=16, min_count=2, seed=3, sketch_width=1 << 16, cooc_top_n=200)


@settings(max_examples=30, deadline=None)
@given(eta=st.floats(0, 20), xs=st.lists(st.floats(-5, 5), min_size=1, max_size=30))
def test_fold_is_the_polynomial_decay_average(eta, xs):
    """W̄_s = (1 − γ_s) W̄_{s−1} + γ_s W_s with γ_s = (η+1)/(s+η) equals Σ w_i x_i with the closed-form
    weights w_i ∝ Π_{j>i}(1 − γ_j) γ_i (Shamir & Zhang 2013, sec. 4); η = 0 is the plain mean."""
    avg = IterateAverage(1, 1, eta=eta, every=1)
    hashes, counts = np.array([5], np.uint64), np.array([1], np.int64)
    for t, x in enumerate(xs):
        avg.fold(np.array([[x]], np.float32), np.zeros((1, 1), np.float32), hashes, counts, 1, t + 1)
    g = [(eta + 1) / (s + eta) for s in range(1, len(xs) + 1)]
    w = [g[i] * np.prod([1 - gj for gj in g[i + 1:]]) for i in range(len(xs))]
    assert abs(sum(w) - 1) < 1e-9
    assert avg.W[0, 0] == pytest.approx(float(np.dot(w, xs)), abs=1e-4)
    if eta == 0:
        assert avg.W[0, 0] == pytest.approx(float(np.mean(xs)), abs=1e-4)


def test_a_reused_row_restarts_its_average():
    avg = IterateAverage(1, 2, eta=0.0, every=1)
    C = np.zeros((1, 2), np.float32)
    avg.fold(np.full((1, 2), 4.0, np.float32), C, np.array([1], np.uint64), np.array([3], np.int64), 1, 1)
    avg.fold(np.full((1, 2), 8.0, np.float32), C, np.array([1], np.uint64), np.array([3], np.int64), 1, 2)
    assert avg.W[0].tolist() == [6.0, 6.0]
    # evicted, then given to another word: its average starts from the new word's row
    avg.fold(np.full((1, 2), 8.0, np.float32), C, np.array([1], np.uint64), np.array([0], np.int64), 1, 3)
    assert avg.steps[0] == 0
    avg.fold(np.full((1, 2), -1.0, np.float32), C, np.array([2], np.uint64), np.array([1], np.int64), 1, 4)
    assert avg.W[0].tolist() == [-1.0, -1.0] and avg.owner[0] == 2


def test_horizon_bounds_the_weight_from_below():
    avg = IterateAverage(1, 1, eta=0.0, every=100, horizon=100 * np.log(2) * 4)  # gmin = every ln 2 / horizon = 0.25
    hashes, counts, C = np.array([1], np.uint64), np.array([1], np.int64), np.zeros((1, 1), np.float32)
    for t in range(50):
        avg.fold(np.zeros((1, 1), np.float32), C, hashes, counts, 1, 100 * (t + 1))
    avg.fold(np.ones((1, 1), np.float32), C, hashes, counts, 1, 5100)
    assert avg.W[0, 0] == pytest.approx(0.25)  # a plain mean would give 1/51


def test_exported_vectors_are_the_averages_and_training_is_untouched():
    lines = lee_lines()[:200]
    a = SGNS(**SMALL, average_every=2000)
    a.learn_many(lines)
    b = SGNS(**SMALL, average_eta=None)
    b.learn_many(lines)
    np.testing.assert_array_equal(a.W, b.W)  # training never reads the averages
    np.testing.assert_array_equal(a.C, b.C)
    assert a.average.meta[0]["folds"] >= 3
    folded = a.average.steps[: a.n_ids] > 0
    assert folded.sum() > 10
    np.testing.assert_array_equal(a.vectors("W")[folded], a.average.W[: a.n_ids][folded])
    assert not np.array_equal(a.vectors("W"), a.W)
    w = a.index_to_key[int(np.flatnonzero(folded)[0])]
    np.testing.assert_array_equal(a[w], a.vectors("W")[a.key_to_index[w]])
    assert np.isfinite(a.vectors("W+C")).all()


def test_averages_do_not_depend_on_how_the_stream_is_cut():
    lines = lee_lines()[:150]
    a = SGNS(**SMALL, average_every=1500)
    for x in lines:
        a.learn_one(x)
    b = SGNS(**SMALL, average_every=1500)
    b.learn_text("\n".join(lines) + "\n")
    assert_same_state(model_state(a), model_state(b))


def test_resume_with_averages_is_bit_identical(tmp_path):
    lines = lee_lines()[:160]
    a = SGNS(**SMALL, average_every=1000)
    a.learn_many(lines)
    b = SGNS(**SMALL, average_every=1000)
    b.learn_many(lines[:70])
    b.save(tmp_path / "ck.npz")
    c = SGNS.load(tmp_path / "ck.npz")
    c.learn_many(lines[70:])
    assert_same_state(model_state(a), model_state(c))


def test_a_forged_average_state_is_refused():
    m = SGNS(**SMALL, average_every=500)
    m.learn_many(lee_lines()[:50])
    st_ = m.state_dict()
    st_["average"]["W"] = st_["average"]["W"].copy()
    st_["average"]["W"][0, 0] = np.nan
    with pytest.raises(StateError):
        SGNS.from_state(st_)


def test_bad_averaging_parameters_are_refused():
    with pytest.raises(ValueError):
        SGNS(average_eta=-1)
    with pytest.raises(ValueError):
        SGNS(average_every=0)


def test_c_is_averaged_only_once_read(tmp_path):
    """W's average always; C's from its first read on (output W, no co-occurrence statistics), with its
    own fold counts; the checkpoint keeps whichever exists, and a state holding C without its own
    counts still loads. With the statistics (the live PMI report compares W·Cᵀ with PMI), C is
    averaged from the start."""
    lines = lee_lines()[:300]
    assert SGNS(**{**SMALL, "track_cooc": True}).average.C.shape[0] > 0
    a = SGNS(**{**SMALL, "track_cooc": False}, average_every=1000)
    a.learn_many(lines[:100])
    a.save_word2vec_format(tmp_path / "w.txt")  # exports W only
    a.most_similar(a.index_to_key[0])
    assert a.average.C.shape[0] == 0 and "C" not in a.state_dict()["average"]
    np.testing.assert_array_equal(a.vectors("C"), a.C)  # not averaged yet: the current C
    assert a.average.C.shape[0] > 0
    a.learn_many(lines[100:])
    done = a.average.csteps[: a.n_ids] > 0
    assert done.sum() > 10 and (a.average.csteps[: a.n_ids] < a.average.steps[: a.n_ids]).any()
    np.testing.assert_array_equal(a.vectors("C")[done], a.average.C[: a.n_ids][done])
    b = SGNS.from_state(a.state_dict())
    np.testing.assert_array_equal(b.vectors("C"), a.vectors("C"))
    state = a.state_dict()
    old = {**state, "average": {k: v for k, v in state["average"].items() if k != "csteps"}}
    c = SGNS.from_state(old)  # written when W and C were always averaged together
    np.testing.assert_array_equal(c.average.csteps[: a.n_ids], a.average.steps[: a.n_ids])
    # output W+C averages C from the start
    d = SGNS(**SMALL, average_every=1000, output="W+C")
    assert d.average.C.shape[0] > 0
