"""Noise distribution: alias table exactness, chi-square fit of the samples, the learner's table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from helpers_core import lee_lines
from streamsgns import SGNS
from streamsgns.noise import NoiseDistribution, refresh_due


def _expected(counts, power):
    counts = np.asarray(counts, dtype=np.float64)
    w = np.where(counts > 0, np.power(counts, power, where=counts > 0, out=np.zeros_like(counts)), 0.0)
    return w / w.sum()


COUNTS = np.array([1, 16, 81, 0, 5, 1000, 2, 0, 37, 3, 250, 1], dtype=np.int64)


@pytest.mark.parametrize("power", [0.75, 0.0, 1.0, 0.5])
def test_samples_fit_counts_to_the_power(power):
    nd = NoiseDistribution(power, capacity=len(COUNTS))
    nd.refresh(COUNTS, len(COUNTS))
    assert nd.n == len(COUNTS)
    p = nd.probabilities()
    want = _expected(COUNTS, power)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, want, rtol=1e-9, atol=1e-15)
    n = 200_000
    draws = nd.sample(n, seed=1)
    obs = np.bincount(draws, minlength=len(COUNTS))
    assert obs[COUNTS == 0].sum() == 0  # free ids (count 0) are never drawn
    live = COUNTS > 0
    res = chisquare(obs[live], want[live] * n)
    assert res.pvalue > 1e-3, (power, res)


def test_chisquare_detects_a_wrong_exponent():
    # the same check rejects samples of another distribution: the test can fail
    nd = NoiseDistribution(1.0, capacity=len(COUNTS))
    nd.refresh(COUNTS, len(COUNTS))
    obs = np.bincount(nd.sample(200_000, seed=1), minlength=len(COUNTS))
    live = COUNTS > 0
    assert chisquare(obs[live], _expected(COUNTS, 0.75)[live] * 200_000).pvalue < 1e-6


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=60), st.sampled_from([0.0, 0.5, 0.75, 1.0, 1.5]))
def test_probabilities_exact_for_any_counts(counts, power):
    counts = np.array(counts, dtype=np.int64)
    nd = NoiseDistribution(power, capacity=4)  # grows in refresh
    nd.refresh(counts, len(counts))
    if (counts > 0).sum() == 0:
        assert nd.n == 0
        with pytest.raises(ValueError):
            nd.sample(1)
        return
    p = nd.probabilities()
    assert p.shape == (len(counts),)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(p, _expected(counts, power), rtol=1e-7, atol=1e-12)
    assert (p[counts == 0] == 0).all()
    assert (nd.alias[: nd.n] >= 0).all() and (nd.alias[: nd.n] < len(counts)).all()
    assert ((nd.prob[: nd.n] >= 0) & (nd.prob[: nd.n] <= 1 + 1e-12)).all()
    draws = nd.sample(500, seed=3)
    assert (counts[draws] > 0).all()


def test_docstring_example_and_refresh_of_part_of_the_counts():
    nd = NoiseDistribution(0.75, capacity=3)
    nd.refresh(np.array([1, 16, 81]), 3, words_seen=123)
    np.testing.assert_allclose(nd.probabilities(), [1 / 36, 8 / 36, 27 / 36])
    assert nd.last_refresh == 123
    nd.refresh(np.array([1, 16, 81, 5]), 2, swap=True)  # only the first two ids
    np.testing.assert_allclose(nd.probabilities(), [1 / 9, 8 / 9])
    assert nd.last_refresh == 123


def test_empty_table_and_bad_exponent():
    nd = NoiseDistribution()
    with pytest.raises(ValueError):
        nd.sample(3)
    nd.refresh(np.zeros(5, dtype=np.int64), 5)
    assert nd.n == 0
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            NoiseDistribution(bad)


def test_grow_keeps_table():
    nd = NoiseDistribution(0.75, capacity=3)
    nd.refresh(np.array([1, 16, 81]), 3)
    before = nd.probabilities()
    nd.grow(100)
    assert nd.prob.shape[0] == 100
    np.testing.assert_array_equal(nd.probabilities(), before)


def test_sampling_is_deterministic_per_seed():
    nd = NoiseDistribution(0.75, capacity=len(COUNTS))
    nd.refresh(COUNTS, len(COUNTS))
    assert np.array_equal(nd.sample(1000, seed=4), nd.sample(1000, seed=4))
    assert not np.array_equal(nd.sample(1000, seed=4), nd.sample(1000, seed=5))


def test_refresh_schedule():
    assert not refresh_due(10, 0, 0, 0, 1000)  # no ids
    assert refresh_due(10, 0, 5, 0, 1000)  # empty table
    assert not refresh_due(999, 0, 5, 5, 1000)
    assert refresh_due(1000, 0, 5, 5, 1000)
    assert not refresh_due(4999, 0, 5000, 5000, 1000)  # interval = vocabulary size when larger
    assert refresh_due(5000, 0, 5000, 5000, 1000)


# ---------------------------------------------------------------- the learner's table
@pytest.mark.parametrize("power", [0.75, 0.0, 1.0])
def test_learner_table_follows_counts_of_admitted_words(power):
    m = SGNS(vector_size=8, min_count=2, sample=1e-3, ns_exponent=power, seed=0, max_vocab=400,
             sketch_width=1 << 14, track_cooc=False)
    checked = 0
    for line in lee_lines()[:150]:
        m.learn_one(line)
        if m.noise.last_refresh != m.words_seen:
            continue
        # the table was rebuilt on this very line, after its tokens were counted
        n = m.n_ids
        assert m.noise.n == n
        np.testing.assert_allclose(m.noise.probabilities(), _expected(m.counts, power), rtol=1e-7, atol=1e-12)
        checked += 1
    assert checked >= 5
    assert m.progress()["evicted"] > 0  # free ids (count 0) were part of some tables
    assert m.progress()["noise_refreshes"] >= checked


def test_learner_negatives_fit_the_table():
    m = SGNS(vector_size=8, min_count=3, seed=0, sketch_width=1 << 14, track_cooc=False)
    m.learn_many(lee_lines()[:100])
    m.noise.refresh(m.counts, m.n_ids)
    draws = m.noise.sample(100_000, seed=2)
    assert (m.counts[draws] > 0).all()
    obs = np.bincount(draws, minlength=m.n_ids)
    want = _expected(m.counts, 0.75)
    # pool the rare ids so that every expected cell is >= 5
    rare = want * 100_000 < 5
    common = ~rare
    f_obs, f_exp = obs[common], want[common] * 100_000
    if rare.any():
        f_obs = np.append(f_obs, obs[rare].sum())
        f_exp = np.append(f_exp, want[rare].sum() * 100_000)
    assert rare.sum() < 0.5 * m.n_ids  # most ids are tested individually
    assert chisquare(f_obs, f_exp).pvalue > 1e-3
