"""Tests for streamsgns.pmi: hand-computed examples, hypothesis properties, Lee corpus."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from streamsgns import pmi
from streamsgns.pmi.report import _sample_unobserved

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --------------------------------------------------------------------------- strategies
@st.composite
def count_problems(draw, max_n=6):
    """Random sparse integer counts with marginals >= row/column sums (pairs outside too)."""
    nr = draw(st.integers(1, max_n))
    nc = draw(st.integers(1, max_n))
    counts = draw(hnp.arrays(np.int64, (nr, nc), elements=st.integers(0, 50)))
    extra_w = draw(hnp.arrays(np.int64, (nr,), elements=st.integers(0, 30)))
    extra_c = draw(hnp.arrays(np.int64, (nc,), elements=st.integers(0, 30)))
    w_marg = counts.sum(1) + extra_w
    c_marg = counts.sum(0) + extra_c
    # make every marginal positive so observed entries are always defined
    w_marg = np.maximum(w_marg, 1).astype(np.float64)
    c_marg = np.maximum(c_marg, 1).astype(np.float64)
    total = float(max(w_marg.sum(), c_marg.sum()) + draw(st.integers(0, 100)))
    return sp.csr_matrix(counts.astype(np.float64)), w_marg, c_marg, total


# --------------------------------------------------------------------------- hand examples
def test_pmi_hand_example_uses_given_marginals():
    counts = sp.csr_matrix(np.array([[2.0, 0.0], [1.0, 4.0]]))
    w_marg = np.array([4.0, 10.0])  # not the row sums: pairs outside the tracked words
    c_marg = np.array([5.0, 8.0])
    total = 20.0
    m = pmi.pmi_matrix(counts, w_marg, c_marg, total)
    assert isinstance(m, sp.csr_matrix) and m.dtype == np.float64 and m.shape == (2, 2)
    assert m[0, 0] == pytest.approx(math.log(2 * 20 / (4 * 5)))  # log 2
    assert m[1, 0] == pytest.approx(math.log(1 * 20 / (10 * 5)))  # log 0.4
    # PMI exactly 0 for (1, 1) is an observed pair: stored explicitly, pattern kept
    assert m.nnz == 3
    assert m[1, 1] == 0.0
    assert sorted(zip(*m.nonzero())) == [(0, 0), (1, 0)]  # nonzero() skips stored zeros
    pattern = sorted(zip(*m.tocoo().coords))
    assert pattern == [(0, 0), (1, 0), (1, 1)]

    pp = pmi.ppmi_matrix(counts, w_marg, c_marg, total)
    assert pp.nnz == 1 and pp[0, 0] == pytest.approx(math.log(2))

    s = pmi.shifted_pmi(counts, w_marg, c_marg, total, k=5)
    assert s[0, 0] == pytest.approx(math.log(2) - math.log(5))
    assert s[1, 1] == pytest.approx(-math.log(5))
    sp_ = pmi.ppmi_matrix(counts, w_marg, c_marg, total, shift=math.log(5))
    assert sp_.nnz == 0  # SPPMI: log 2 - log 5 < 0


def test_pmi_dense_input_and_duplicates():
    coo = sp.coo_matrix((np.array([1.0, 1.0, 3.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))),
                        shape=(2, 2))
    m = pmi.pmi_matrix(coo, [2.0, 3.0], [3.0, 2.0], 5.0)
    assert m[0, 1] == pytest.approx(math.log(2 * 5 / (2 * 2)))  # duplicates summed
    d = pmi.pmi_matrix(coo.toarray(), [2.0, 3.0], [3.0, 2.0], 5.0)
    np.testing.assert_array_equal(d.toarray(), m.toarray())


def test_cds_hand_example():
    counts = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 3.0]]))
    w_marg = np.array([3.0, 3.0])
    c_marg = np.array([4.0, 16.0])
    # alpha = 0.5: 4**.5 = 2, 16**.5 = 4, P_a = [1/3, 2/3]
    m = pmi.pmi_matrix(counts, w_marg, c_marg, 20.0, cds=0.5)
    assert m[0, 0] == pytest.approx(math.log(1 / (3 * (1 / 3))))
    assert m[0, 1] == pytest.approx(math.log(2 / (3 * (2 / 3))))
    assert m[1, 1] == pytest.approx(math.log(3 / (3 * (2 / 3))))
    # an explicit normaliser over the full vocabulary (e.g. only top-N tracked)
    m2 = pmi.pmi_matrix(counts, w_marg, c_marg, 20.0, cds=0.5, cds_total=12.0)
    assert m2[0, 0] == pytest.approx(math.log(1 / (3 * (2 / 12))))
    # smoothing raises the probability of rare contexts => lowers their PMI
    plain = pmi.pmi_matrix(counts, w_marg, c_marg, 20.0)
    assert m[0, 0] < plain[0, 0]


def test_errors():
    c = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]]))
    wm = np.array([1.0, 1.0])
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, np.ones(3), wm, 2.0)  # shape mismatch
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, wm, np.ones(3), 2.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(sp.csr_matrix(np.array([[-1.0, 1.0], [1.0, 1.0]])), wm, wm, 2.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, np.array([-1.0, 1.0]), wm, 2.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, wm, wm, 0.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, np.array([0.0, 1.0]), wm, 2.0)  # observed pair with #(w) = 0
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, wm, np.array([1.0, 0.0]), 2.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, wm, wm, 2.0, cds=0.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(c, wm, wm, 2.0, shift=np.inf)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(np.ones(3), wm, wm, 2.0)
    with pytest.raises(ValueError):
        pmi.pmi_matrix(sp.csr_matrix(np.array([[np.nan, 1.0], [1.0, 1.0]])), wm, wm, 2.0)
    for k in (0, -1.0, np.nan):
        with pytest.raises(ValueError):
            pmi.shifted_pmi(c, wm, wm, 2.0, k)
    W = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError):
        pmi.pmi_report(W, np.zeros((3, 3), np.float32), c, wm, wm, 2.0, 5)
    with pytest.raises(ValueError):
        pmi.pmi_report(W, np.zeros((2, 4), np.float32), c, wm, wm, 2.0, 5)
    with pytest.raises(ValueError):
        pmi.pmi_report(W, W, c, wm, wm, 2.0, 0)
    with pytest.raises(ValueError):
        pmi.pmi_pairs(W, W, c, wm, wm, 2.0, -5)
    with pytest.raises(ValueError):
        pmi.ppmi_svd(c, 0)
    with pytest.raises(ValueError):
        pmi.ppmi_svd(c, 2, eig=-1.0)
    with pytest.raises(ValueError):
        pmi.dynamic_window_weights(0)
    with pytest.raises(ValueError):
        pmi.cooccurrence_from_tokens([np.array([0, -1, 2])], 3, 2)
    with pytest.raises(ValueError):
        pmi.cooccurrence_from_tokens([np.array([0.5, 1.0])], 3, 2)
    with pytest.raises(ValueError):
        pmi.plot_report(np.zeros(3), np.zeros(4), "unused.png")


# --------------------------------------------------------------------------- PMI properties
@SETTINGS
@given(p=hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(1, 1000)),
       q=hnp.arrays(np.int64, st.integers(1, 8), elements=st.integers(1, 1000)))
def test_outer_product_counts_have_pmi_exactly_zero(p, q):
    # Independence: #(w,c) = #(w)#(c)/|D| with #(w) = p_w·Q, #(c) = q_c·P, |D| = P·Q.
    P, Q = int(p.sum()), int(q.sum())
    counts = sp.csr_matrix(np.outer(p, q).astype(np.float64))
    m = pmi.pmi_matrix(counts, (p * Q).astype(np.float64), (q * P).astype(np.float64), P * Q)
    assert m.nnz == p.size * q.size  # all observed, stored although 0
    assert np.all(m.data == 0.0)
    assert pmi.ppmi_matrix(counts, (p * Q).astype(float), (q * P).astype(float), P * Q).nnz == 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nw=st.integers(2, 6), nc=st.integers(2, 6))
def test_independent_streams_have_small_pmi(seed, nw, nc):
    rng = np.random.default_rng(seed)
    pw = rng.dirichlet(np.ones(nw))
    pc = rng.dirichlet(np.ones(nc))
    N = 200_000
    w = rng.choice(nw, size=N, p=pw)  # two independent i.i.d. streams, paired position-wise
    c = rng.choice(nc, size=N, p=pc)
    counts = sp.coo_matrix((np.ones(N), (w, c)), shape=(nw, nc)).tocsr()
    wm = np.bincount(w, minlength=nw).astype(float)
    cm = np.bincount(c, minlength=nc).astype(float)
    m = pmi.pmi_matrix(counts, wm, cm, N).tocoo()
    a = counts.tocoo()
    assert np.array_equal(m.row, a.row) and np.array_equal(m.col, a.col)
    freq = a.data >= 1000
    # sd of log(#(w,c)/E) ~ 1/sqrt(#(w,c)); 6 sd bound
    assert np.all(np.abs(m.data[freq]) <= 6.0 / np.sqrt(a.data[freq]))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 5), window=st.integers(1, 4),
       weighted=st.booleans())
def test_iid_token_stream_windows_have_small_pmi(seed, n, window, weighted):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n) * 2)
    sents = [rng.choice(n, size=int(rng.integers(20, 200)), p=p) for _ in range(600)]
    counts = pmi.cooccurrence_from_tokens(sents, n, window, weighted=weighted)
    wm = np.asarray(counts.sum(1)).ravel()
    cm = np.asarray(counts.sum(0)).ravel()
    m = pmi.pmi_matrix(counts, wm, cm, counts.sum()).tocoo()
    a = counts.tocoo()
    freq = a.data >= 2000
    # a token takes part in up to 2·window pairs: inflate the Poisson sd accordingly
    assert np.all(np.abs(m.data[freq]) <= 6.0 * np.sqrt(2 * window / a.data[freq]))


@SETTINGS
@given(prob=count_problems(), k=st.floats(0.01, 100.0))
def test_shift_subtracts_log_k_exactly(prob, k):
    counts, wm, cm, tot = prob
    base = pmi.pmi_matrix(counts, wm, cm, tot)
    s = pmi.shifted_pmi(counts, wm, cm, tot, k)
    assert np.array_equal(s.indptr, base.indptr) and np.array_equal(s.indices, base.indices)
    np.testing.assert_array_equal(s.data, base.data - np.log(k))
    s2 = pmi.pmi_matrix(counts, wm, cm, tot, shift=np.log(k))
    np.testing.assert_array_equal(s2.data, s.data)


@SETTINGS
@given(prob=count_problems(), shift=st.floats(-3.0, 3.0))
def test_ppmi_nonnegative_and_max_of_pmi(prob, shift):
    counts, wm, cm, tot = prob
    full = pmi.pmi_matrix(counts, wm, cm, tot, shift=shift).toarray()
    pp = pmi.ppmi_matrix(counts, wm, cm, tot, shift=shift)
    assert isinstance(pp, sp.csr_matrix)
    assert np.all(pp.data > 0)  # zeros eliminated
    np.testing.assert_array_equal(pp.toarray(), np.maximum(full, 0.0))


@SETTINGS
@given(prob=count_problems())
def test_cds_alpha_one_is_plain_pmi(prob):
    counts, wm, cm, _ = prob
    tot = float(cm.sum())  # c_marg covers every context: Σ #(c) = |D|
    plain = pmi.pmi_matrix(counts, wm, cm, tot)
    smooth = pmi.pmi_matrix(counts, wm, cm, tot, cds=1.0)
    assert np.array_equal(plain.indices, smooth.indices)
    np.testing.assert_allclose(smooth.data, plain.data, rtol=0, atol=1e-12)
    # with an explicit normaliser |D| the identity holds for any c_marg
    counts, wm, cm, tot = prob
    smooth2 = pmi.pmi_matrix(counts, wm, cm, tot, cds=1.0, cds_total=tot)
    np.testing.assert_allclose(smooth2.data, pmi.pmi_matrix(counts, wm, cm, tot).data,
                               rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- PPMI-SVD
@SETTINGS
@given(seed=st.integers(0, 2**31), nr=st.integers(3, 12), nc=st.integers(3, 12),
       rank=st.integers(1, 3), extra=st.integers(0, 20))
def test_ppmi_svd_reconstructs_low_rank(seed, nr, nc, rank, extra):
    rng = np.random.default_rng(seed)
    rank = min(rank, nr, nc)
    A = rng.uniform(0, 1, (nr, rank)) @ rng.uniform(0, 1, (rank, nc))  # non-negative, rank r
    dim = rank + extra  # may exceed min(nr, nc): clipped
    W, C = pmi.ppmi_svd(sp.csr_matrix(A), dim)
    r = min(dim, nr, nc)
    assert W.dtype == np.float32 and C.dtype == np.float32
    assert W.shape == (nr, r) and C.shape == (nc, r)
    np.testing.assert_allclose(W.astype(float) @ C.T.astype(float), A, atol=2e-5 * max(1, A.max()))
    # singular values (squared column norms for eig=0.5) sorted descending
    sv = np.sum(W.astype(float) ** 2, axis=0)
    assert np.all(np.diff(sv) <= 1e-5 * max(1.0, sv[0]))


def test_ppmi_svd_sparse_path_matches_dense_and_is_deterministic():
    rng = np.random.default_rng(3)
    n, rank = 400, 6  # > 256 rows: ARPACK path for dim = 6
    A = rng.uniform(0, 1, (n, rank)) @ rng.uniform(0, 1, (rank, n - 20))
    A[A < np.quantile(A, 0.5)] = 0.0  # sparse, full rank now; compare top-6 subspaces
    S = sp.csr_matrix(A)
    W, C = pmi.ppmi_svd(S, rank, seed=1)
    W2, C2 = pmi.ppmi_svd(S, rank, seed=1)
    assert np.array_equal(W, W2) and np.array_equal(C, C2)
    assert W.shape == (n, rank) and C.shape == (n - 20, rank)
    u, s, vt = np.linalg.svd(A, full_matrices=False)
    best = (u[:, :rank] * s[:rank]) @ vt[:rank]
    np.testing.assert_allclose(W.astype(float) @ C.T.astype(float), best, atol=1e-4)
    np.testing.assert_allclose(np.sum(W.astype(float) ** 2, axis=0), s[:rank], rtol=1e-5)
    # eig = 0: W = U, C = V (orthonormal columns); eig = 1: W = U·Σ, C = V·Σ
    W0, C0 = pmi.ppmi_svd(S, rank, eig=0.0, seed=1)
    for M in (W0, C0):
        np.testing.assert_allclose(M.T.astype(float) @ M.astype(float), np.eye(rank), atol=1e-5)
    W1, C1 = pmi.ppmi_svd(S, rank, eig=1.0, seed=1)
    for M in (W1, C1):
        np.testing.assert_allclose(np.linalg.norm(M.astype(float), axis=0), s[:rank], rtol=1e-5)


# --------------------------------------------------------------------------- report
def _report_problem():
    counts = sp.csr_matrix(np.array([
        [10.0, 2.0, 0.0, 1.0],
        [2.0, 0.0, 7.0, 0.0],
        [0.0, 7.0, 1.0, 3.0],
        [1.0, 0.0, 3.0, 0.0],
    ]))
    wm = np.asarray(counts.sum(1)).ravel() + np.array([5.0, 0.0, 2.0, 1.0])
    cm = np.asarray(counts.sum(0)).ravel() + np.array([1.0, 3.0, 0.0, 4.0])
    return counts, wm, cm, float(wm.sum() + 10)


def test_report_perfect_fit():
    counts, wm, cm, tot = _report_problem()
    k = 5
    t = pmi.shifted_pmi(counts, wm, cm, tot, k).toarray()
    # W = target matrix with unobserved entries at -5, C = identity: W_i·C_j = T[i, j]
    T = np.where(counts.toarray() > 0, t, -5.0)
    rep = pmi.pmi_report(T, np.eye(4), counts, wm, cm, tot, k)
    assert rep["n_pairs"] == counts.nnz
    assert rep["spearman"] == pytest.approx(1.0)
    assert rep["pearson"] == pytest.approx(1.0)
    assert rep["weighted_mse"] == 0.0
    assert rep["weighted_loss_gap"] == 0.0
    assert rep["frac_within_0_5"] == 1.0
    assert rep["mean_residual"] == 0.0
    assert rep["n_unobserved"] == 16 - counts.nnz
    assert rep["unobserved_frac_negative"] == 1.0
    assert rep["unobserved_mean"] == -5.0
    assert "residuals" not in rep
    # min_count drops the rare pairs
    rep3 = pmi.pmi_report(T, np.eye(4), counts, wm, cm, tot, k, min_count=3)
    assert rep3["n_pairs"] == int(np.sum(counts.data >= 3))
    assert pmi.pmi_report(T, np.eye(4), counts, wm, cm, tot, k,
                          n_unobserved=2)["n_unobserved"] == 2


def test_weights_are_eq8_curvature_and_gap_matches():
    counts, wm, cm, tot = _report_problem()
    k = 3.0
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 4))
    x, t, weight, rows, cols = pmi.pmi_pairs(W, np.eye(4), counts, wm, cm, tot, k,
                                             return_index=True)
    a = counts.toarray()[rows, cols]
    b = k * wm[rows] * cm[cols] / tot
    np.testing.assert_allclose(x, W[rows, cols])
    np.testing.assert_allclose(t, np.log(a * tot / (wm[rows] * cm[cols])) - np.log(k))
    np.testing.assert_allclose(np.exp(t), a / b)  # eq. 10 optimum

    def L(z):  # eq. 8
        return a * np.log(_sigmoid(z)) + b * np.log(_sigmoid(-z))

    h = 1e-4
    curv = -(L(t + h) - 2 * L(t) + L(t - h)) / h**2
    np.testing.assert_allclose(weight, curv, rtol=1e-5)
    np.testing.assert_allclose(weight, (a + b) * _sigmoid(t) * _sigmoid(-t), rtol=1e-12)
    np.testing.assert_allclose(weight, a * _sigmoid(-t), rtol=1e-12)

    rep = pmi.pmi_report(W, np.eye(4), counts, wm, cm, tot, k)
    assert rep["weighted_loss_gap"] == pytest.approx(np.sum(L(t) - L(x)), rel=1e-9)
    assert rep["weighted_mse"] == pytest.approx(np.sum(weight * (x - t) ** 2) / weight.sum())
    # second order: gap ≈ ½ Σ w (x − t)² for a small perturbation of the optimum
    eps = 1e-3 * rng.normal(size=x.shape)
    T = np.zeros((4, 4))
    T[rows, cols] = t + eps
    small = pmi.pmi_report(T, np.eye(4), counts, wm, cm, tot, k)
    assert small["weighted_loss_gap"] == pytest.approx(0.5 * np.sum(weight * eps**2), rel=1e-2)


@SETTINGS
@given(prob=count_problems(), seed=st.integers(0, 1000), k=st.integers(1, 20))
def test_report_gap_nonnegative_and_bounded_fields(prob, seed, k):
    counts, wm, cm, tot = prob
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(counts.shape[0], 3)).astype(np.float32)
    C = rng.normal(size=(counts.shape[1], 3)).astype(np.float32)
    rep = pmi.pmi_report(W, C, counts, wm, cm, tot, k, n_unobserved=7, seed=seed)
    assert rep["weighted_loss_gap"] >= 0
    assert rep["n_pairs"] == counts.nnz
    # the gap is (a + b)·KL(Bernoulli(σ(t)) ‖ Bernoulli(σ(x))) summed over pairs (module docstring)
    x, t, weight, rows, cols = pmi.pmi_pairs(W, C, counts, wm, cm, tot, k, return_index=True)
    a = counts.toarray()[rows, cols]
    b = k * wm[rows] * cm[cols] / tot
    p, q = _sigmoid(t), _sigmoid(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
    assert rep["weighted_loss_gap"] == pytest.approx(float(np.sum((a + b) * kl)), rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(weight, a * b / (a + b), rtol=1e-12)
    n_zero = counts.shape[0] * counts.shape[1] - counts.nnz
    assert rep["n_unobserved"] == min(7, n_zero)
    if rep["n_pairs"]:
        assert 0 <= rep["frac_within_0_5"] <= 1
        assert rep["weighted_mse"] >= 0
    again = pmi.pmi_report(W, C, counts, wm, cm, tot, k, n_unobserved=7, seed=seed)
    assert again.keys() == rep.keys()
    for key, v in rep.items():  # deterministic (NaN-aware comparison)
        assert v == again[key] or (math.isnan(v) and math.isnan(again[key])), key


def test_unobserved_sample_large_grid_is_deterministic_and_unobserved():
    rng = np.random.default_rng(1)
    n = 2500  # 6.25M cells > enumeration limit: rejection sampling path
    rows = rng.integers(0, n, 20000)
    cols = rng.integers(0, n, 20000)
    counts = sp.coo_matrix((np.ones(20000), (rows, cols)), shape=(n, n)).tocsr()
    wm = np.asarray(counts.sum(1)).ravel() + 1
    cm = np.asarray(counts.sum(0)).ravel() + 1
    r1, c1 = _sample_unobserved(counts, wm, cm, 5000, seed=4)
    r2, c2 = _sample_unobserved(counts, wm, cm, 5000, seed=4)
    assert np.array_equal(r1, r2) and np.array_equal(c1, c2)
    assert r1.shape == (5000,)
    assert np.all(np.asarray(counts[r1, c1]).ravel() == 0)
    assert np.unique(r1 * n + c1).size == 5000  # without replacement
    W = np.ones((n, 2), np.float32)
    rep = pmi.pmi_report(-W, W, counts, wm, cm, counts.sum() + 10, 5, n_unobserved=5000)
    assert rep["n_unobserved"] == 5000 and rep["unobserved_frac_negative"] == 1.0


def test_plot_report(tmp_path):
    rng = np.random.default_rng(0)
    t = rng.normal(size=300)
    out = pmi.plot_report(t + 0.1 * rng.normal(size=300), t, tmp_path / "s.png", title="scatter")
    assert Path(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    t = rng.normal(size=6000)
    out = pmi.plot_report(t + 0.1 * rng.normal(size=6000), t, str(tmp_path / "h.png"))
    assert out == str(tmp_path / "h.png")
    assert Path(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = pmi.plot_report([], [], tmp_path / "e.png")
    assert Path(out).exists()


# --------------------------------------------------------------------------- reference counter
def test_dynamic_window_weights():
    np.testing.assert_allclose(pmi.dynamic_window_weights(5), [1.0, 0.8, 0.6, 0.4, 0.2])
    for window in range(1, 8):
        # P(b >= d) for b uniform in 1..window
        expected = [np.mean([d <= b for b in range(1, window + 1)])
                    for d in range(1, window + 1)]
        np.testing.assert_allclose(pmi.dynamic_window_weights(window), expected)


def _naive_cooc(sents, n, window, weighted, drop_untracked):
    out = np.zeros((n, n))
    for s in sents:
        s = [int(v) for v in s]
        if drop_untracked:
            s = [v for v in s if v < n]
        for i, w in enumerate(s):
            for j, c in enumerate(s):
                d = abs(i - j)
                if d == 0 or d > window or w >= n or c >= n:
                    continue
                out[w, c] += (window - d + 1) / window if weighted else 1.0
    return out


@SETTINGS
@given(sents=st.lists(st.lists(st.integers(0, 7), max_size=15), max_size=6),
       n=st.integers(0, 7), window=st.integers(1, 5), weighted=st.booleans(),
       drop=st.booleans(), as_arrays=st.booleans())
def test_cooccurrence_matches_naive_loop(sents, n, window, weighted, drop, as_arrays):
    ids = [np.array(s, dtype=np.int32) for s in sents] if as_arrays else sents
    got = pmi.cooccurrence_from_tokens(ids, n, window, weighted=weighted, drop_untracked=drop)
    assert isinstance(got, sp.csr_matrix) and got.shape == (n, n) and got.dtype == np.float64
    np.testing.assert_allclose(got.toarray(), _naive_cooc(sents, n, window, weighted, drop),
                               rtol=1e-12, atol=1e-12)


def test_cooccurrence_single_array_is_one_sentence():
    got = pmi.cooccurrence_from_tokens(np.array([0, 1, 2]), 3, 1).toarray()
    np.testing.assert_array_equal(got, [[0, 1, 0], [1, 0, 1], [0, 1, 0]])


# --------------------------------------------------------------------------- Lee corpus
@pytest.fixture(scope="module")
def lee():
    from gensim.test.utils import datapath

    path = datapath("lee_background.cor")
    with open(path, encoding="utf-8") as f:
        sents = [re.findall(r"\w+", line.lower()) for line in f]
    vocab = [w for w, _ in Counter(w for s in sents for w in s).most_common()]
    idx = {w: i for i, w in enumerate(vocab)}
    ids = [np.array([idx[w] for w in s], dtype=np.int64) for s in sents]
    counts = pmi.cooccurrence_from_tokens(ids, len(vocab), 5, weighted=True)
    return idx, counts


def test_lee_frequent_collocations_have_strong_pmi(lee):
    idx, counts = lee
    wm = np.asarray(counts.sum(1)).ravel()  # every word tracked: marginals = sums
    cm = np.asarray(counts.sum(0)).ravel()
    tot = counts.sum()
    m = pmi.pmi_matrix(counts, wm, cm, tot)
    for a, b in [("new", "york"), ("prime", "minister"), ("united", "states")]:
        assert counts[idx[a], idx[b]] >= 15
        assert m[idx[a], idx[b]] > 3.0, (a, b)
        assert m[idx[a], idx[b]] == pytest.approx(m[idx[b], idx[a]])  # symmetric window
    assert abs(m[idx["of"], idx["and"]]) < 0.5  # two function words: near independence
    sm = pmi.pmi_matrix(counts, wm, cm, tot, cds=0.75)
    assert sm[idx["new"], idx["york"]] > 3.0
    # PPMI-SVD of the 300 most frequent words: a smoke test of the realistic path
    top = 300
    sub = pmi.ppmi_matrix(counts[:top, :top], wm[:top], cm[:top], tot)
    W, C = pmi.ppmi_svd(sub, 50)
    assert W.shape == (top, 50) and np.all(np.isfinite(W))
    err = np.linalg.norm(W.astype(float) @ C.T.astype(float) - sub.toarray())
    # Eckart–Young: the rank-50 truncation is the best rank-50 approximation (Frobenius)
    s = np.linalg.svd(sub.toarray(), compute_uv=False)
    assert err == pytest.approx(np.sqrt(np.sum(s[50:] ** 2)), rel=1e-4)
    assert err < 0.9 * np.linalg.norm(sub.toarray())
