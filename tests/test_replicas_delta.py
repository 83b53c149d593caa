"""Sparse replica deltas (pure numpy, no Ray): the delta merge equals the dense ``sum`` merge bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from streamsgns import SGNS
from streamsgns.distributed.delta import delta_nbytes, merge_deltas, model_delta
from streamsgns.distributed.merge import MergeError, merge_states, state_nbytes

KW = dict(vector_size=16, window=3, negative=3, sample=0.0, track_cooc=False, average_eta=None, sketch_width=1 << 16,
          seed=3, detect_changes=False)


def _lee_lines():
    from gensim.test.utils import datapath

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip()]


def _assert_same_state(a, b, path=""):
    """Equal nested states; float arrays compared bit for bit (as uint32 / uint64 views).

    The change detector's keys are left out at the top level: the dense merge of whole states drops
    them (detection off), the delta merge keeps the base's (empty) change records."""
    if path == "" and isinstance(a, dict):
        a = {k: v for k, v in a.items() if k not in ("change", "change_log")}
        b = {k: v for k, v in b.items() if k not in ("change", "change_log")}
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(set(a) ^ set(b)))
        for k in a:
            _assert_same_state(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, (path, a.dtype, b.dtype,
                                                                                           a.shape, b.shape)
        if a.dtype.kind == "f":
            view = np.uint32 if a.itemsize == 4 else np.uint64
            assert np.array_equal(a.view(view), b.view(view)), path
        else:
            assert np.array_equal(a, b), path
    else:
        assert a == b, (path, a, b)


def _rounds(parts, min_count, rounds, max_vocab=1_000_000, **kw):
    """Train ``rounds`` sync rounds of len(parts) replicas; yield (base, replica states) of each round."""
    model = SGNS(min_count=min_count, max_vocab=max_vocab, **{**KW, **kw})
    base = model.state_dict()
    per = [np.array_split(np.arange(len(p)), rounds) for p in parts]
    for r in range(rounds):
        states = []
        for k, p in enumerate(parts):
            m = SGNS.from_state(base)
            m.learn_many([p[i] for i in per[k][r]])
            states.append(m.state_dict())
        yield base, states
        base = merge_states(base, states, rows="sum")


@pytest.mark.parametrize("min_count,max_vocab", [(1, 1_000_000), (3, 1_000_000), (2, 300)])
def test_delta_merge_equals_dense_sum_merge_bit_for_bit(min_count, max_vocab):
    lines = _lee_lines()[:600]
    parts = [lines[0:200], lines[200:400], lines[400:600]]
    n_new = 0
    for base, states in _rounds(parts, min_count, rounds=3, max_vocab=max_vocab):
        dense = merge_states(base, states, rows="sum")
        deltas = [model_delta(s, base) for s in states]
        n_new += sum(d["vocab"]["new_hash"].size for d in deltas)
        sparse = merge_deltas(base, deltas)
        _assert_same_state(dense, sparse)
        SGNS.from_state(sparse)
    assert n_new > 0  # words admitted during rounds took the new-word path


def test_delta_merge_equals_dense_merge_across_sketch_halvings():
    lines = _lee_lines()[:400]
    parts = [lines[0:200], lines[200:400]]
    halved = 0
    for base, states in _rounds(parts, 8, rounds=2, sketch_halving_tokens=3000):
        halved += sum(s["vocab"]["sketch"]["n_halvings"] - base["vocab"]["sketch"]["n_halvings"] for s in states)
        _assert_same_state(merge_states(base, states, rows="sum"), merge_deltas(base, [model_delta(s, base) for s in states]))
    assert halved > 0


def test_delta_is_a_fraction_of_the_state():
    lines = _lee_lines()
    base_model = SGNS(min_count=5, **{**KW, "sketch_width": 1 << 20, "vector_size": 100})
    base_model.learn_many(lines)
    base = base_model.state_dict()
    r = SGNS.from_state(base)
    r.learn_many(lines[:10])
    d = model_delta(r.state_dict(), base)
    # a short round touches few sketch cells and W rows; C rows are touched by the negatives
    assert delta_nbytes(d) < state_nbytes(base) / 5
    assert d["parameters"]["W_ids"].size < r.vocab_size / 2


def test_unknown_state_key_is_refused():
    base = SGNS(min_count=1, **KW).state_dict()
    m = SGNS.from_state(base)
    m.learn_one("a b c")
    s = m.state_dict()
    with pytest.raises(MergeError, match="drift"):
        model_delta({**s, "drift": {}}, base)
    with pytest.raises(MergeError, match="scale"):
        model_delta({**s, "vocab": {**s["vocab"], "scale": 1.0}}, base)
    with pytest.raises(MergeError, match="bias"):
        model_delta({**s, "parameters": {**s["parameters"], "bias": np.zeros(3)}}, base)
    with pytest.raises(MergeError, match="detecting changes"):  # a replica detecting changes, its base not
        model_delta({**s, "change": {"obs": np.zeros(3)}}, base)
    d = SGNS(min_count=1, **{**KW, "detect_changes": True})
    with pytest.raises(MergeError, match="tail"):  # a key of the detector's state without a rule
        s = d.state_dict()
        model_delta({**s, "change": {**s["change"], "tail": np.zeros(3)}}, d.state_dict())


def test_cooc_statistics_and_averages_merge_by_increments():
    lines = _lee_lines()[:300]
    kw = {**KW, "track_cooc": True, "cooc_top_n": 1024, "cooc_sketch_width": 1 << 12, "average_eta": 10.0,
          "average_every": 500}
    b = SGNS(min_count=3, **kw)
    b.learn_many(lines[:30])
    base = b.state_dict()
    reps = []
    for part in (lines[100:200], lines[200:300]):
        r = SGNS.from_state(base)
        r.learn_many(part)
        reps.append(r)
    states = [r.state_dict() for r in reps]
    merged = SGNS.from_state(merge_deltas(base, [model_delta(s, base) for s in states]))
    bc = b.cooc
    assert merged.cooc.total() == bc.total() + sum(r.cooc.total() - bc.total() for r in reps)
    # pairs of words tracked in the base: base + every replica's increment, exactly
    ids, _ = bc.tracked_ids()
    live = [i for i in ids if all(r.index_to_key[i] == b.index_to_key[i] for r in reps)]
    want = bc.dense(live) + sum(r.cooc.dense(live) - bc.dense(live) for r in reps)
    np.testing.assert_array_equal(merged.cooc.dense(live), want)
    np.testing.assert_array_equal(merged.cooc.cwm[live], bc.cwm[live] + sum(r.cooc.cwm[live] - bc.cwm[live] for r in reps))
    # a word admitted in the round on one replica only: its marginals are that replica's
    new = [w for w in reps[0].key_to_index if w not in b.key_to_index and w not in reps[1].key_to_index]
    assert new
    w = new[0]
    assert merged.cooc.ccm[merged.key_to_index[w]] == reps[0].cooc.ccm[reps[0].key_to_index[w]]
    # the base's free exact slots go to words new in the round, and their pair counts come along
    assert int((merged.cooc.cslot >= 0).sum()) == kw["cooc_top_n"] > int((bc.cslot >= 0).sum())
    got = [w for w in new if merged.cooc.cslot[merged.key_to_index[w]] >= 0 and reps[0].cooc.cslot[reps[0].key_to_index[w]] >= 0]
    assert len(got) > 10
    np.testing.assert_array_equal(merged.cooc.dense([merged.key_to_index[w] for w in got]),
                                  reps[0].cooc.dense([reps[0].key_to_index[w] for w in got]))
    # averages: folded on the merged rows (never shipped), the export is finite and follows the ids
    assert merged.average is not None and merged.average.meta[0]["folds"] == b.average.meta[0]["folds"] + 1
    assert np.isfinite(merged.vectors()).all()
    assert merged.pmi_report(top=20)["n_pairs"] > 0


def test_a_replica_applying_the_merged_update_gets_the_merged_state():
    lines = _lee_lines()[:600]
    parts = [lines[0:300], lines[300:600]]
    kw = {"track_cooc": True, "cooc_top_n": 256, "cooc_sketch_width": 1 << 12, "average_eta": 10.0,
          "average_every": 2000}
    base = SGNS(min_count=2, **{**KW, **kw}).state_dict()
    for r in range(2):
        states = []
        for p in parts:
            m = SGNS.from_state(base)
            m.learn_many(p[r * 150:(r + 1) * 150])
            states.append(m.state_dict())
        merged = merge_deltas(base, [model_delta(s, base) for s in states])
        update = model_delta(merged, base)
        assert delta_nbytes(update) < state_nbytes(merged)
        _assert_same_state(merge_deltas(base, [update]), merged)
        base = merged


@pytest.mark.parametrize("stiffness", [None, 9.0])
def test_scaled_rule_is_the_sum_for_one_replica_and_never_exceeds_it(stiffness):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from streamsgns.rates import merged_step_scale

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.integers(0, 10**7), min_size=1, max_size=5),
           st.lists(st.lists(st.integers(0, 10**5), min_size=5, max_size=5), min_size=1, max_size=8))
    def check(start, inc):
        n = len(start)
        inc = np.array([row[:n] for row in inc], dtype=np.int64)
        s = merged_step_scale(np.array(start), inc, 0.05, 1e-4, 2000.0, stiffness)
        assert ((s > 0) & (s <= 1)).all()
        assert (s >= 1.0 / inc.shape[0] - 1e-12).all()  # never below the mean of the updates
        one = merged_step_scale(np.array(start), inc[:1], 0.05, 1e-4, 2000.0, stiffness)
        assert np.allclose(one, 1.0)

    check()


def test_scaled_merge_of_one_replica_equals_its_state():
    lines = _lee_lines()[:100]
    base = SGNS(min_count=2, **KW).state_dict()
    m = SGNS.from_state(base)
    m.learn_many(lines)
    d = [model_delta(m.state_dict(), base)]
    _assert_same_state(merge_deltas(base, d, rows="scaled", stiffness=9.0), merge_deltas(base, d))


@pytest.mark.parametrize("extra", [{}, {"sketch_halving_tokens": 3000, "min_count": 4}, {"max_vocab": 300},
                                   {"tied": True}], ids=["plain", "sketch_halvings", "evictions", "tied"])
def test_in_place_apply_equals_loading_the_merged_state(extra):
    """A replica taking the merged update in place (apply_update) holds what SGNS.from_state of the
    merged state gives, bit for bit, and learns the same afterwards."""
    from streamsgns.distributed.apply import apply_update, writable_state

    lines = _lee_lines()  # 300 documents
    kw = {**KW, "min_count": 2, "track_cooc": True, "cooc_top_n": 256, "cooc_sketch_width": 1 << 12,
          "average_eta": 10.0, "average_every": 3000, **extra}
    first = SGNS(**kw)  # a base with history (with max_vocab: evicted words' ids free, then reused)
    first.learn_many(lines[240:260])
    base = first.state_dict()
    if "max_vocab" in extra:
        assert base["vocab"]["n_free"] > 0
    parts = [lines[0:120], lines[120:240]]
    models = [SGNS.from_state(base) for _ in parts]
    bases = [writable_state(base) for _ in parts]
    admitted = 0
    for r in range(4):
        owns = []
        for m, b, p in zip(models, bases, parts):
            m.learn_many(p[r * 30:(r + 1) * 30])
            owns.append(model_delta(m.state_dict(), b))
        merged = merge_deltas(base, owns)
        update = model_delta(merged, base)
        admitted += update["vocab"]["new_hash"].size
        for k, (m, b, own) in enumerate(zip(models, bases, owns)):
            bases[k] = apply_update(m, b, update, own)
            _assert_same_state(bases[k], merged)
            ref = SGNS.from_state(merge_deltas(base, [update]))
            _assert_same_state(m.state_dict(), ref.state_dict())
            assert m.index_to_key == ref.index_to_key and m.key_to_index == ref.key_to_index
            assert m.vocab.capacity <= max(ref.vocab.capacity, 2 * m.vocab.n_ids)  # grown as ids need, not per apply
        base = merged
    assert admitted > 0
    # what the models learn next is the same too (no hidden state left behind)
    ref = SGNS.from_state(base)
    for m in (models[0], ref):
        m.learn_many(lines[240:300])
    _assert_same_state(models[0].state_dict(), ref.state_dict())


def _cooc_cells_dense(state, base, same, new_rid):
    """The exact cells' increments of a replica computed densely (every pair of tracked words), as sorted triples."""
    from streamsgns.cooc import M_SLOT, CooccurrenceStats

    rm, bm = state["cmeta"], base["cmeta"]
    m = min(same.size, bm.shape[0])
    ids = np.flatnonzero(same[:m])
    key = np.full(rm.shape[0], np.iinfo(np.int64).min, dtype=np.int64)
    key[ids] = ids
    key[new_rid] = -1 - np.arange(new_rid.size)
    tr = np.flatnonzero((rm[:, M_SLOT] >= 0) & (key != np.iinfo(np.int64).min))
    rs = rm[tr, M_SLOT]
    D = CooccurrenceStats._exact(state)[np.ix_(rs, rs)]
    bslot = np.full(tr.size, -1, dtype=np.int64)
    is_base = key[tr] >= 0
    bslot[is_base] = bm[key[tr][is_base], M_SLOT]
    ok = bslot >= 0
    D[np.ix_(ok, ok)] -= CooccurrenceStats._exact(base)[np.ix_(bslot[ok], bslot[ok])]
    ci, wi = np.nonzero(D)
    return sorted(zip(key[tr][ci].tolist(), key[tr][wi].tolist(), D[ci, wi].tolist()))


def test_cooc_delta_finds_every_changed_pair():
    """The exact cells a replica sends (found by comparing its tables in place) are every pair whose count
    changed, including the pairs of words that took a slot during the round."""
    from streamsgns.cooc import CooccurrenceStats
    from streamsgns.vocab import Vocabulary

    lines = _lee_lines()  # 300 documents
    kw = {**KW, "min_count": 2, "track_cooc": True, "cooc_top_n": 1024, "cooc_sketch_width": 1 << 12}
    b = SGNS(**kw)
    b.learn_many(lines[:30])
    base = b.state_dict()
    kinds = set()
    for part in (lines[30:33], lines[100:300]):  # a short round (few new words) and a long one
        r = SGNS.from_state(base)
        r.learn_many(part)
        st = r.state_dict()
        same, new_rid = Vocabulary.row_map(st["vocab"], base["vocab"])
        d = CooccurrenceStats.state_delta(st["cooc"], base["cooc"], same, new_rid)
        got = sorted(zip(d["cell_c"].tolist(), d["cell_w"].tolist(), d["cell_inc"].tolist()))
        assert got == _cooc_cells_dense(st["cooc"], base["cooc"], same, new_rid)
        kinds |= {(c >= 0) + (w >= 0) for c, w, _ in got}
    assert kinds == {0, 1, 2}  # pairs of two new words, of a new and a base word, of two base words


def test_encoded_delta_fp16_with_error_feedback_and_tiers():
    """Encoded rows: float16 differences whose rounding error is carried to the next round (error feedback),
    rare words' C rows on alternate rounds (kept whole in the residual meanwhile); counts stay exact."""
    from streamsgns.distributed.delta import decode_delta, encode_delta

    lines = _lee_lines()
    base = SGNS(min_count=3, **KW)
    base.learn_many(lines[:150])
    base = base.state_dict()
    r = SGNS.from_state(base)
    r.learn_many(lines[150:200])
    d = model_delta(r.state_dict(), base)
    counts = base["vocab"]["counts"]
    rare = 20
    enc, res = encode_delta(d, base, {}, round_no=1, fp16=True, rare_below=rare)
    p, ep = d["parameters"], enc["parameters"]
    assert ep["W_d16"].dtype == np.float16 and "W_rows" not in ep and "C_rows" not in ep
    assert delta_nbytes(enc) < 0.75 * delta_nbytes(d)
    assert enc["vocab"] is d["vocab"]  # counts, words and sketch cells: exact
    # the C rows left out are rare words' of one parity, and their whole difference waits in the residual
    left = np.setdiff1d(p["C_ids"], ep["C_ids"])
    assert left.size and (counts[left] < rare).all() and ((left + 1) % 2 == 1).all()
    B = base["parameters"]
    pos = np.searchsorted(p["C_ids"], left)
    np.testing.assert_array_equal(res["C"][left], p["C_rows"][pos] - B["C"][left])
    # sent rows: the receiver's row plus the residual is the replica's row (to float32 rounding)
    dec = decode_delta(enc, base)["parameters"]
    for name in ("W", "C"):
        ids = ep[f"{name}_ids"].astype(np.int64)
        x = p[f"{name}_rows"][np.searchsorted(p[f"{name}_ids"], ids)]
        np.testing.assert_allclose(dec[f"{name}_rows"] + res[name][ids], x, rtol=0, atol=1e-6)
        assert np.abs(res[name][ids]).max() > 0  # float16 did round
    # the next round's differences carry the residual: what was left out is sent then (other parity)
    enc2, res2 = encode_delta(d, base, res, round_no=2, fp16=True, rare_below=rare)
    assert np.isin(left, enc2["parameters"]["C_ids"]).all()
    # merging the encoded delta is merging its decoded form
    _assert_same_state(merge_deltas(base, [enc]), merge_deltas(base, [decode_delta(enc, base)]))
