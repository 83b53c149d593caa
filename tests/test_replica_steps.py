"""Evidence-aware steps of replicas (streamsgns.rates.row_alpha, SGNS.extrapolate_steps, merge rows="gain")."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers_core import assert_finite, assert_same_state, lee_lines, model_state
from streamsgns import SGNS
from streamsgns.distributed.delta import merge_deltas, model_delta
from streamsgns.rates import evidence_offsets, replica_step_gain, replica_step_mass, row_alpha, word_alpha

SMALL = dict(vector_size=16, min_count=2, seed=3, sketch_width=1 << 16, track_cooc=False, average_eta=None,
             detect_changes=False)


def _trained(lines):
    m = SGNS(**SMALL)
    m.learn_many(lines)
    return m


@settings(max_examples=40, deadline=None)
@given(k=st.integers(2, 64), cap=st.floats(1.0, 80.0), w=st.integers(0, 40), extra=st.integers(0, 50_000))
def test_a_replicas_step_is_its_gain_times_one_processs_step_at_the_extrapolated_count(k, cap, w, extra):
    """Row ``w`` at ``n0`` when the replica loaded and ``n0 + extra`` now takes ``m · η(n0 + K·extra)``,
    ``m = clip(cap·(1 + n0/word_decay), 1, K)``: one process's step at the merged stream's count, times the
    gain the merge divides by; a row admitted during the round (past the arrays) counts from 0."""
    m = _trained(lee_lines()[:150])
    m.extrapolate_steps(k, cap)
    cfg = m._trainer.cfg
    n0 = int(m.counts[w])
    gain = min(float(k), max(1.0, cap * (1.0 + n0 / m.word_decay)))
    want = np.float32(gain * word_alpha(cfg, n0 + k * extra))
    assert row_alpha(cfg, n0 + extra, w) == want
    new = m.n_ids + 5
    assert row_alpha(cfg, extra, new) == np.float32(min(float(k), cap) * word_alpha(cfg, k * extra))
    m.close()


def test_one_process_steps_are_unchanged():
    """Scale 1 (every model that is not a replica): the step of the count itself, bit for bit."""
    m = _trained(lee_lines()[:150])
    cfg = m._trainer.cfg
    for w in range(20):
        n = int(m.counts[w])
        assert row_alpha(cfg, n, w) == word_alpha(cfg, n)
    m.close()


def test_a_model_back_at_one_replica_trains_bit_for_bit_as_one_process():
    lines = lee_lines()
    a = _trained(lines[:150])
    b = SGNS.from_state(a.state_dict())
    b.extrapolate_steps(4)
    b.extrapolate_steps(1)
    a.learn_many(lines[150:225])
    b.learn_many(lines[150:225])
    assert_same_state(model_state(a), model_state(b))
    c = SGNS.from_state(a.state_dict())  # and extrapolating does change the steps
    d = SGNS.from_state(a.state_dict())
    d.extrapolate_steps(4)
    c.learn_many(lines[225:300])
    d.learn_many(lines[225:300])
    assert not np.array_equal(c.params.W, d.params.W)
    assert_finite(d)
    for x in (a, b, c, d):
        x.close()


def test_gain_offsets_and_bad_arguments():
    assert replica_step_gain(np.array([0, 2000, 10**6]), 16, 2000.0, 4.0).tolist() == [4.0, 8.0, 16.0]
    assert replica_step_gain(np.array([0, 7]), 8, 2000.0, 8.0).tolist() == [8.0, 8.0]
    assert evidence_offsets(np.array([3]), 5).tolist() == [12.0]
    for bad in (dict(replicas=0, word_decay=1.0, step_cap=1.0), dict(replicas=2, word_decay=1.0, step_cap=0.5),
                dict(replicas=2, word_decay=0.0, step_cap=1.0)):
        with pytest.raises(ValueError):
            replica_step_gain(np.zeros(1), **bad)
    with pytest.raises(ValueError):
        evidence_offsets(np.zeros(1), 0.5)
    m = SGNS(**SMALL)
    with pytest.raises(ValueError):
        m.extrapolate_steps(0)
    with pytest.raises(ValueError):
        m.extrapolate_steps(4, max_step=0.0)
    m.close()


def test_the_gain_merge_weighs_each_rows_summed_update_by_its_inverse_gain():
    """rows="gain": base + (1/m) Σ_k (x_k − base) per base row, ``m`` from the base counts (the replicas'
    gains at load); with one replica of gain 1 it is the sum."""
    lines = lee_lines()
    base = _trained(lines[:150]).state_dict()
    deltas = []
    for k in range(3):
        m = SGNS.from_state(base)
        m.extrapolate_steps(3, 1.0)
        m.learn_many(lines[150 + 50 * k: 200 + 50 * k])
        deltas.append(model_delta(m.state_dict(), base))
        m.close()
    got = merge_deltas(base, deltas, rows="gain", replicas=3, step_cap=1.0)
    summed = merge_deltas(base, deltas, rows="sum")
    nb = base["vocab"]["counts"].shape[0]
    gain = replica_step_gain(base["vocab"]["counts"], 3, 2000.0, 1.0)
    for name in ("W", "C"):
        B = base["parameters"][name][:nb].astype(np.float64)
        upd = summed["parameters"][name][:nb].astype(np.float64) - B
        live = got["vocab"]["counts"][:nb] > 0
        want = (B + upd / gain[:, None]).astype(np.float32)
        np.testing.assert_allclose(got["parameters"][name][:nb][live], want[live], rtol=0, atol=2e-6)
    assert gain.max() > 1.2 and gain.min() < 1.01  # rows of different gains were checked


@settings(max_examples=60, deadline=None)
@given(k=st.integers(2, 64), n0=st.integers(0, 10**7), each=st.integers(1, 20_000), kappa=st.floats(0.1, 30.0))
def test_uncapped_replicas_relax_as_one_process_so_the_relaxation_weight_is_the_mean(k, n0, each, kappa):
    """K replicas at gain K without a step limit, each seeing ``l`` occurrences, sum the steps one process
    sums over ``K·l``: the relaxation weight ``F / Σ f_k`` of rows="gain" with a stiffness is ``1/K``."""
    start = np.array([float(n0)])
    inc = np.full((k, 1), float(each))
    gain = np.array([float(k)])
    mass = replica_step_mass(start, inc, 0.05, 2000.0, k, gain)
    whole = replica_step_mass(start, inc.sum(axis=0), 0.05, 2000.0, 1, np.ones(1))
    np.testing.assert_allclose(mass[:, 0], whole[0], rtol=1e-9)
    f = -np.expm1(-kappa * mass).sum(axis=0)
    F = -np.expm1(-kappa * whole)
    np.testing.assert_allclose(F / f, 1.0 / k, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(2, 64), n0=st.integers(0, 10**6), each=st.integers(1, 20_000), top=st.floats(0.06, 1.0))
def test_a_step_limit_lowers_a_replicas_step_sum_and_bounds_it(k, n0, each, top):
    """With steps limited to ``top`` the sum is at most the unlimited one and at most ``top·l``."""
    start, inc, gain = np.array([float(n0)]), np.array([[float(each)]]), np.array([float(k)])
    free = replica_step_mass(start, inc, 0.05, 2000.0, k, gain)
    capped = replica_step_mass(start, inc, 0.05, 2000.0, k, gain, top)
    assert capped[0, 0] <= free[0, 0] * (1 + 1e-12)
    assert capped[0, 0] <= top * each * (1 + 1e-12)


def _simulated_losses(rows: str, replicas: int = 4, lines_per_round: int = 25, passes: int = 3) -> list:
    """Replicas in one process (the simulator's loop, ``benchmarks/scale_out/simulate.py``) over the Lee corpus
    read ``passes`` times, lines dealt round-robin: the replicas' mean training loss per sync round."""
    from streamsgns.distributed.replica import replica_seed
    from streamsgns.hashing import seed_states

    kw = dict(vector_size=32, window=5, negative=5, min_count=2, track_cooc=False, average_eta=None,
              detect_changes=False, sketch_width=1 << 16, seed=1)
    lines = list(lee_lines()) * passes
    shares = [lines[i::replicas] for i in range(replicas)]
    base = SGNS(**kw).state_dict()
    losses = []
    for r in range(len(shares[0]) // lines_per_round):
        deltas, loss = [], []
        for k in range(replicas):
            p = base["parameters"]
            m = SGNS.from_state({**base, "parameters": {**p, "rng": seed_states(replica_seed(1, k, r + 1),
                                                                                  p["rng"].shape[0])}})
            if rows == "gain":
                m.extrapolate_steps(replicas, None, 4.0)
            m.take_loss()  # from this round only
            m.learn_many(shares[k][r * lines_per_round:(r + 1) * lines_per_round])
            loss.append(m.take_loss())
            deltas.append(model_delta(m.state_dict(), base))
            m.close()
        base = merge_deltas(base, deltas, rows=rows, replicas=replicas, max_step=4.0)
        losses.append(float(np.mean(loss)))
    return losses


def test_four_replicas_diverge_with_the_sum_and_converge_with_evidence_aware_steps():
    """The ``sum`` merge overshoots rows that reach their optimum within a round (the loss the replicas see
    rises round after round); with evidence-aware steps and the gain merge it falls, as in one process."""
    plain = _simulated_losses("sum")
    aware = _simulated_losses("gain")
    assert len(plain) == len(aware) >= 6
    assert np.mean(plain[-3:]) > 1.3 * np.mean(plain[:3]), plain
    assert np.mean(aware[-3:]) < np.mean(aware[:3]), aware
    assert np.all(np.isfinite(aware))


def test_the_merge_actor_merges_with_the_replicas_rule():
    """The merge actor's class (run in-process here; Ray runs the same class) passes the gain rule's
    arguments on: its merged model is ``merge_deltas(rows="gain", ...)`` of the same deltas."""
    from streamsgns.distributed.merger import Merger

    lines = lee_lines()
    base = _trained(lines[:150]).state_dict()
    deltas = []
    for k in range(2):
        m = SGNS.from_state(base)
        m.extrapolate_steps(2, None, 4.0)
        m.learn_many(lines[150 + 60 * k: 210 + 60 * k])
        deltas.append(model_delta(m.state_dict(), base))
        m.close()
    actor = Merger(base, rows="gain", stiffness=3.0, replicas=2, max_step=4.0)
    actor.merge(*deltas)
    want = merge_deltas(base, deltas, rows="gain", stiffness=3.0, replicas=2, max_step=4.0)
    assert_same_state(model_state(actor.model), model_state(SGNS.from_state(want)))
    plain = merge_deltas(base, deltas, rows="sum")
    assert not np.array_equal(plain["parameters"]["W"], want["parameters"]["W"])
    actor.close()


def _gain_deltas(lines, k=3):
    base = _trained(lines[:150]).state_dict()
    deltas = []
    for r in range(k):
        m = SGNS.from_state(base)
        m.extrapolate_steps(k, 1.0)
        m.learn_many(lines[150 + 50 * r: 200 + 50 * r])
        deltas.append(model_delta(m.state_dict(), base))
        m.close()
    return base, deltas


def test_the_diverse_merge_caps_each_rows_gain_weight_at_its_update_diversity():
    """rows="diverse": base + min(1/m, Q/‖S‖²)·S per base row and matrix, S = Σ_k u_k the summed updates,
    Q = Σ_k ‖u_k‖² (the cap binds on some rows and not on others)."""
    base, deltas = _gain_deltas(lee_lines())
    got = merge_deltas(base, deltas, rows="diverse", replicas=3, step_cap=1.0)
    nb = base["vocab"]["counts"].shape[0]
    gain = replica_step_gain(base["vocab"]["counts"], 3, 2000.0, 1.0)
    live = got["vocab"]["counts"][:nb] > 0
    bound = 0
    for name in ("W", "C"):
        B = base["parameters"][name][:nb].astype(np.float64)
        S = np.zeros_like(B)
        Q = np.zeros(nb)
        for d in deltas:
            p = d["parameters"]
            ids = p[f"{name}_ids"].astype(np.int64)
            u = p[f"{name}_rows"].astype(np.float64) - B[ids]
            S[ids] += u
            Q[ids] += (u * u).sum(axis=1)
        s2 = (S * S).sum(axis=1)
        cap = np.where(s2 > 0, Q / np.where(s2 > 0, s2, 1.0), np.inf)
        w = np.minimum(1.0 / gain, cap)
        want = (B + w[:, None] * S).astype(np.float32)
        np.testing.assert_allclose(got["parameters"][name][:nb][live], want[live], rtol=0, atol=2e-6)
        bound += int((cap[live] < 1.0 / gain[live]).sum())
        assert (cap[live] > 1.0 / gain[live]).any()
    assert bound > 0


def test_the_diverse_merge_of_equal_moves_is_their_mean_where_the_gain_rule_overshoots():
    """Three replicas that moved a row to the same place: "diverse" puts it there (the mean of their moves,
    the common target), "gain" with a weight above 1/3 (a rare row, gain 1) goes past it; a row that one replica
    alone moved is merged as by "gain"."""
    base, deltas = _gain_deltas(lee_lines())
    counts = base["vocab"]["counts"]
    C0 = deltas[0]["parameters"]
    ids0 = C0["W_ids"].astype(np.int64)
    others = [set(d["parameters"]["W_ids"].tolist()) for d in deltas[1:]]
    gain = replica_step_gain(counts, 3, 2000.0, 1.0)
    shared = [i for i in ids0.tolist() if all(i in o for o in others) and gain[i] < 1.5]
    alone = [i for i in ids0.tolist() if not any(i in o for o in others)]
    assert shared and alone
    w = shared[0]
    target = C0["W_rows"][int(np.flatnonzero(ids0 == w)[0])]
    for d in deltas[1:]:  # replicas 1 and 2 end where replica 0 did
        p = dict(d["parameters"])
        rows = p["W_rows"].copy()
        rows[int(np.flatnonzero(p["W_ids"] == w)[0])] = target
        p["W_rows"] = rows
        d["parameters"] = p
    div = merge_deltas(base, deltas, rows="diverse", replicas=3, step_cap=1.0)["parameters"]["W"]
    gn = merge_deltas(base, deltas, rows="gain", replicas=3, step_cap=1.0)["parameters"]["W"]
    b = base["parameters"]["W"][w].astype(np.float64)
    u = target.astype(np.float64) - b
    np.testing.assert_allclose(div[w], target, rtol=0, atol=2e-6)
    np.testing.assert_allclose(gn[w], (b + 3.0 / gain[w] * u).astype(np.float32), rtol=0, atol=2e-6)
    assert np.abs(gn[w] - target).max() > 10 * np.abs(div[w] - target).max() + 1e-6
    a = alone[0]
    np.testing.assert_array_equal(div[a], gn[a])


def test_the_merge_actor_and_the_job_take_the_diverse_rule():
    """The merge actor's class merges rows="diverse" as merge_deltas does (not as "gain"), and a job with that
    rule gives its replicas evidence-aware steps (a job with rows="sum" does not)."""
    from streamsgns.distributed.job import ReplicaJob
    from streamsgns.distributed.merger import Merger

    base, deltas = _gain_deltas(lee_lines(), k=2)
    actor = Merger(base, rows="diverse", stiffness=3.0, replicas=2, step_cap=1.0)
    actor.merge(*deltas)
    want = merge_deltas(base, deltas, rows="diverse", stiffness=3.0, replicas=2, step_cap=1.0)
    assert_same_state(model_state(actor.model), model_state(SGNS.from_state(want)))
    gain = merge_deltas(base, deltas, rows="gain", stiffness=3.0, replicas=2, step_cap=1.0)
    assert not np.array_equal(gain["parameters"]["W"], want["parameters"]["W"])
    url = "kafka://localhost:9092/t"
    assert ReplicaJob(url, replicas=2, rows="diverse").evidence_steps
    assert not ReplicaJob(url, replicas=2, rows="sum").evidence_steps
    with pytest.raises(ValueError):
        ReplicaJob(url, replicas=2, rows="mean")


# ---------------------------------------------------------------- split steps (kernels.split_pair)
def _split_cfg(k=16, top=8.0, split=True, negative=0, shared=True, alpha=0.05, n=4):
    """A kernel configuration of a replica of ``k`` replicas from an empty model (gain ``k`` for every row,
    evidence 0 at load), steps limited at ``top·alpha``, split or cut."""
    from streamsgns import kernels as K

    cfg = K.make_config(window=1, negative=negative, min_count=1, max_vocab=1000, max_sentence_length=100,
                        min_refresh_tokens=1000, track_cooc=False, prune_size=1, alpha=alpha, min_alpha=1e-4,
                        decay_tokens=1e6, sample=0.0, ns_exponent=0.75, word_decay=2000.0, shared_negatives=shared)
    return cfg._replace(evidence_scale=np.float64(k), evidence_offset=np.zeros(n), evidence_gain=np.full(n, float(k)),
                        evidence_new_gain=np.float64(k), evidence_max_step=np.float64(top * alpha),
                        evidence_split=np.int64(1 if split else 0))


def _train_kernel(cfg, sen, W, C, counts, noise=None, seed=0):
    from streamsgns import kernels as K
    from streamsgns._state import new_record
    from streamsgns.change import NO_DETECT
    from streamsgns.cooc import NO_COOC
    from streamsgns.hashing import seed_states
    from streamsgns.noise import NOISE_RECORD, NoiseArrays
    from streamsgns.parameters import STREAM_RECORD, ParamArrays

    sen = np.asarray(sen, dtype=np.int32)
    na = NoiseArrays(np.zeros(1), np.zeros(1, np.int32), new_record(NOISE_RECORD)) if noise is None else noise.arrays()
    pa = ParamArrays(W, C, seed_states(seed, 2), new_record(STREAM_RECORD))
    return K.train_sentence(cfg, sen, len(sen), cfg.alpha, int(counts.sum()), pa, counts, na, 1, NO_COOC,
                            np.zeros(0, np.uint64), NO_DETECT, K.new_scratch(len(sen), W.shape[1], cfg.negative, 0))


def _sig(x):
    from streamsgns import kernels as K

    i = K.EXP_TABLE_SIZE if x >= K.MAX_EXP else 0 if x <= -K.MAX_EXP else int((x + K.MAX_EXP) * K._TSCALE)
    return float(K.SIGMOID_TABLE[i])


@pytest.mark.parametrize("top", [8.0, 4.0, 2.5])
def test_a_split_step_is_ceil_step_over_limit_sub_updates_of_the_pair_in_float64(top):
    """16 replicas from an empty model step at ``16·alpha/(1 + 16·n/2000)`` (0.8 at n = 0): with ``split_steps``
    each pair is ``n = ceil(max(a_w, a_t) / (top·alpha))`` word2vec updates at ``a/n``, σ recomputed before each
    (a plain-Python float64 reference); without it one update at ``min(a, top·alpha)`` — which the reference
    does not match."""
    rng = np.random.default_rng(0)
    d = 8
    W0 = rng.normal(0, 0.4, size=(4, d)).astype(np.float32)
    C0 = rng.normal(0, 0.4, size=(4, d)).astype(np.float32)
    counts = np.array([3, 40, 900, 5], dtype=np.int64)
    sen = [0, 1, 2, 0]
    cfg = _split_cfg(top=top)
    steps = [float(row_alpha(cfg, int(counts[w]), w)) for w in range(4)]
    assert max(steps) > top * 0.05  # the limit binds: the split is exercised
    Wr, Cr = W0.astype(np.float64), C0.astype(np.float64)
    nsubs = set()
    for i, word in enumerate(sen):  # window 1: centre i with contexts i - 1, i + 1 (word2vec.c's order)
        for j in (i - 1, i + 1):
            if not 0 <= j < len(sen):
                continue
            ctx = sen[j]
            a_w, a_t = steps[ctx], steps[word]
            n = int(np.ceil(max(a_w, a_t) / (top * 0.05)))  # the kernel's float64 quotient
            nsubs.add(n)
            for _ in range(n):
                err = 1.0 - _sig(Wr[ctx] @ Cr[word])
                neu = err * a_w / n * Cr[word]
                Cr[word] += err * a_t / n * Wr[ctx]
                Wr[ctx] += neu
    assert max(nsubs) >= 2
    W, C = W0.copy(), C0.copy()
    loss, pairs, kept = _train_kernel(cfg, sen, W, C, counts)
    assert (pairs, kept) == (6, 4)
    np.testing.assert_allclose(W, Wr, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(C, Cr, rtol=1e-5, atol=1e-6)
    Wc, Cc = W0.copy(), C0.copy()  # the limit cutting the step instead: not the reference
    _train_kernel(_split_cfg(top=top, split=False), sen, Wc, Cc, counts)
    assert not np.allclose(Wc, Wr, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shared", [True, False])
def test_a_split_pair_equals_its_sub_updates_and_draws_the_negatives_of_the_plain_update(shared):
    """Law: with negatives, one pair split into ``n`` sub-updates equals ``n`` plain updates of the same pair at
    ``step/n`` (kernels.split_pair called with steps pre-divided and no split); and with a limit no step reaches,
    the split path trains a sentence bit for bit as the plain path (same negatives, shared or per pair)."""
    from streamsgns import kernels as K
    from streamsgns.noise import NoiseDistribution

    rng = np.random.default_rng(1)
    d, n_neg = 8, 3
    W0 = rng.normal(0, 0.4, size=(6, d)).astype(np.float32)
    C0 = rng.normal(0, 0.4, size=(6, d)).astype(np.float32)
    outs = np.array([2, 4, 5, 0], dtype=np.int64)
    osteps = np.array([0.7, 0.2, 0.35, 0.0], dtype=np.float32)
    a_w, a_t = np.float32(0.5), np.float32(0.8)
    W, C = W0.copy(), C0.copy()
    K.split_pair(W, C, 1, 3, a_w, a_t, outs, osteps, n_neg, 0.25, np.empty(d, np.float32))  # ceil(0.8/0.25) = 4
    Ws, Cs = W0.copy(), C0.copy()
    inv = np.float32(1.0 / 4)
    for _ in range(4):
        K.split_pair(Ws, Cs, 1, 3, a_w * inv, a_t * inv, outs, osteps * inv, n_neg, np.inf, np.empty(d, np.float32))
    np.testing.assert_array_equal(W, Ws)
    np.testing.assert_array_equal(C, Cs)
    assert not np.array_equal(W, W0) and not np.array_equal(C[2], C0[2])

    counts = np.array([30, 12, 50, 9, 70, 20], dtype=np.int64)
    nd = NoiseDistribution(0.75, capacity=6)
    nd.refresh(counts, 6)
    sen = [0, 1, 2, 3, 4, 5, 1, 2]
    res = []
    for split in (True, False):
        cfg = _split_cfg(top=1e6, split=split, negative=4, shared=shared, n=6)._replace(window=np.int64(3))
        W, C = W0.copy(), C0.copy()
        loss, pairs, _ = _train_kernel(cfg, sen, W, C, counts, noise=nd, seed=5)
        res.append((W, C, pairs, loss))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])
    assert res[0][2] == res[1][2] and res[0][3] == pytest.approx(res[1][3], rel=1e-6)


def test_sixteen_replicas_steps_stay_finite_when_split_and_blow_up_unlimited():
    """At K·alpha = 0.8 (16 replicas from an empty model, the steps of ``SGNS.extrapolate_steps(16)``) single
    updates blow up on Lee; split at ``max_step`` 8 (0.4) the rows stay finite and bounded, and they move further
    than with the limit cutting the step."""
    lines = list(lee_lines()) * 2
    norms = {}
    for name, kw in (("free", {}), ("split", dict(max_step=8.0, split_steps=True)), ("cut", dict(max_step=8.0))):
        m = SGNS(**{**SMALL, "vector_size": 32})
        m.extrapolate_steps(16, None, **kw)
        with np.errstate(all="ignore"):
            m.learn_many(lines)
            W = m.params.W[:m.n_ids].astype(np.float64)
            norms[name] = float(np.nanmax(np.linalg.norm(W, axis=1))) if np.isfinite(W).all() else np.inf
        if name != "free":
            assert_finite(m)
        m.close()
    assert norms["free"] > 50 * norms["split"], norms
    assert norms["split"] < 20, norms


def test_split_steps_arguments_and_the_merge_takes_split_step_sums_as_unlimited():
    """``split_steps`` needs ``max_step``; one replica ignores it; ``merge_deltas(split_steps=True)`` weighs the
    rows as if no step had been limited (the replicas took their whole steps)."""
    m = SGNS(**SMALL)
    with pytest.raises(ValueError):
        m.extrapolate_steps(4, split_steps=True)
    m.extrapolate_steps(1, max_step=2.0, split_steps=True)
    assert m._trainer.cfg.evidence_split == 0
    m.extrapolate_steps(4, max_step=2.0, split_steps=True)
    assert m._trainer.cfg.evidence_split == 1 and m._trainer._replay_cfg.evidence_split == 1
    m.close()
    lines = lee_lines()
    base = _trained(lines[:150]).state_dict()
    deltas = []
    for k in range(4):
        r = SGNS.from_state(base)
        r.extrapolate_steps(4, None, 2.0, split_steps=True)
        r.learn_many(lines[150 + 30 * k: 180 + 30 * k])
        assert_finite(r)
        deltas.append(model_delta(r.state_dict(), base))
        r.close()
    kw = dict(rows="gain", stiffness=3.0, replicas=4)
    split = merge_deltas(base, deltas, max_step=2.0, split_steps=True, **kw)
    free = merge_deltas(base, deltas, max_step=None, **kw)
    cut = merge_deltas(base, deltas, max_step=2.0, **kw)
    np.testing.assert_array_equal(split["parameters"]["W"], free["parameters"]["W"])
    assert not np.array_equal(split["parameters"]["W"], cut["parameters"]["W"])
