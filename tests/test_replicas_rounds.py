"""Forgetting and change detection with replicas (pure numpy, no Ray): what runs at round boundaries.

Replicas defer forgetting's decay steps and change checks while they learn
(:meth:`streamsgns.SGNS.defer_round_steps`); the merge adds their ``since`` and change-signature
increments, and the merge actor and every replica run the due steps on the merged state
(:func:`streamsgns.distributed.rounds.take_steps`), reaching the same state bit for bit, nothing of
it shipped.
"""

from __future__ import annotations

import numpy as np
import pytest

from streamsgns import SGNS
from streamsgns.distributed.apply import apply_update, writable_state
from streamsgns.distributed.delta import merge_deltas, model_delta
from streamsgns.distributed.merge import MergeError
from streamsgns.distributed.rounds import steps_due, take_steps

from test_change import MOVERS, SMALL, stream

KW = dict(vector_size=16, window=3, negative=3, sample=0.0, min_count=2, track_cooc=True, cooc_top_n=256,
          cooc_sketch_width=1 << 12, average_eta=10.0, average_every=3000, sketch_width=1 << 16, seed=3)


def _lee_lines():
    from gensim.test.utils import datapath

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip()]


def _equal(a, b, path="", skip=()):
    """Equal nested states (every key, the change detector and records included); floats bit for bit."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(set(a) ^ set(b)))
        for k in a:
            if f"{path}.{k}" not in skip:
                _equal(a[k], b[k], f"{path}.{k}", skip)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, (path, a.shape, b.shape)
        if a.dtype.kind == "f":
            view = np.uint32 if a.itemsize == 4 else np.uint64
            assert np.array_equal(a.view(view), b.view(view)), path
        else:
            assert np.array_equal(a, b), path
    else:
        assert a == b, (path, a, b)


def _replicas(base: dict, n: int):
    """``n`` replicas of ``base`` as a Ray replica holds them: a model that defers its round steps, and its own base."""
    models = [SGNS.from_state(base) for _ in range(n)]
    for m in models:
        m.defer_round_steps()
    return models, [writable_state(base) for _ in range(n)]


def test_forgetting_merge_equals_one_process_decay_of_the_merged_state():
    """With ``half_life``, replicas take no decay step inside a round (their ``since`` counts on past
    ``every``); the merged ``since`` is the merged token count since the last step; the step taken at the
    round boundary on the merged state equals, bit for bit, the step one process holding the merged state
    takes at its next chunk (vocabulary counts and free ids, word sketch, co-occurrence statistics, noise
    table, forgetting counters, change detector; W and C on live rows: the merge zeroes faded words'
    rows), follows the law ``c' = round(c · 2**(-since/H))`` within 1, and every replica reaches the merge
    actor's state by taking the update (without the step) in place and the step itself."""
    H = 40_000.0  # a step every 2,500 tokens
    lines = _lee_lines()
    first = SGNS(**KW, half_life=H, change_every=10**9)  # checks never due: the decay alone
    first.learn_many(lines[240:270])
    base = writable_state(first.state_dict())
    assert base["forget"]["n_decays"] > 0  # a base with a history of decay steps
    models, bases = _replicas(base, 2)
    for k, m in enumerate(models):
        m.learn_many(lines[k * 40:(k + 1) * 40])
        f = m.forget.state_dict()
        assert f["n_decays"] == base["forget"]["n_decays"]  # deferred
        assert f["since"] == base["forget"]["since"] + m.words_seen - base["parameters"]["words_seen"] > 2 * m.forget.every
    owns = [model_delta(m.state_dict(), b) for m, b in zip(models, bases)]
    merged0 = merge_deltas(base, owns)
    tokens = merged0["parameters"]["words_seen"] - base["parameters"]["words_seen"]
    since = merged0["forget"]["since"]
    assert since == base["forget"]["since"] + tokens

    merger = SGNS.from_state(merged0)
    assert steps_due(merged0)
    merged = take_steps(merger, merged0)
    assert merged["forget"]["n_decays"] == base["forget"]["n_decays"] + 1 and merged["forget"]["since"] == 0
    assert not steps_due(merged)

    # one process holding the merged state: its kernel takes the step at its next chunk start
    one = SGNS.from_state(merged0)
    one.learn_text("\n")
    ref = one.state_dict()
    assert ref["forget"]["n_decays"] == merged["forget"]["n_decays"]
    _equal(merged, ref, skip={".parameters", ".stats"})
    p, q = merged["parameters"], ref["parameters"]
    live = merged["vocab"]["counts"] > 0
    assert (~live).any() and (merged0["vocab"]["counts"][~live] > 0).any()  # words faded at this step
    for name in ("W", "C"):
        assert np.array_equal(p[name][live].view(np.uint32), q[name][live].view(np.uint32))
        assert not p[name][~live].any()
    assert np.array_equal(p["rng"], q["rng"])
    assert {k: v for k, v in p.items() if k not in ("W", "C", "rng", "lines", "empty_lines")} == \
        {k: v for k, v in q.items() if k not in ("W", "C", "rng", "lines", "empty_lines")}

    # the law: every count times 2**(-since/H), stochastically rounded
    factor = 2.0 ** (-since / H)
    c0, c1 = merged0["vocab"]["counts"], merged["vocab"]["counts"]
    assert np.all(np.abs(c1[live] - c0[live] * factor) < 1.0)
    assert np.isclose(merged["forget"]["decayed_tokens"],
                      base["forget"]["decayed_tokens"] * factor + H / np.log(2) * (1 - factor))

    # every replica: the update in place (no decay in it), then the same step
    update = model_delta(merged0, base)
    for k, (m, b, own) in enumerate(zip(models, bases, owns)):
        nb = take_steps(m, apply_update(m, b, update, own))
        _equal(nb, merged)
        _equal(m.state_dict(), merger.state_dict())


def test_two_replicas_find_the_planted_change_and_restart_it_on_both():
    """Two simulated replicas (sentences dealt alternately, as two partitions), per-word change detection on:
    the signature sums and pair counts merge, the check runs on the merged state at each round boundary (on
    the merge actor and on both replicas, whose states stay equal to its own bit for bit, records included),
    the movers of the planted change raise the alarms soon after it, and their restarts reach both
    replicas' step evidence."""
    kw = dict(SMALL)
    sents = stream(23_000, 20_000)  # 10 tokens a sentence: the change at 200,000 tokens
    parts = [sents[0::2], sents[1::2]]
    per = 200  # sentences per replica per round: 4,000 merged tokens, one check per round
    base = writable_state(SGNS(**kw).state_dict())
    models, bases = _replicas(base, 2)
    merger = None
    first: dict = {}
    for r in range(len(parts[0]) // per):
        owns = []
        for k, m in enumerate(models):
            m.learn_many(parts[k][r * per:(r + 1) * per])
            owns.append(model_delta(m.state_dict(), bases[k]))
        merged0 = merge_deltas(base, owns)
        update = model_delta(merged0, base)
        if merger is not None:
            merger.close()
        merger = SGNS.from_state(merged0)
        assert steps_due(merged0)  # a check every round (4,000 merged tokens = change_every)
        base = take_steps(merger, merged0)
        assert not steps_due(base)
        for k, m in enumerate(models):
            bases[k] = take_steps(m, apply_update(m, bases[k], update, owns[k]))
            _equal(bases[k], base)
        for c in merger.changes():
            first.setdefault(c["word"], c["tokens"])
    assert set(MOVERS) <= set(first), first
    assert len(set(first) - set(MOVERS)) <= 1, first  # at most one other word (single process, seed 0: none)
    assert all(200_000 < first[w] <= 200_000 + 4 * kw["change_every"] for w in MOVERS), first
    k2i = merger.key_to_index
    counts = merger.vocab.counts
    for w in MOVERS:
        r = k2i[w]
        b = int(merger.detect.base[r])
        assert 0 < b <= counts[r] and counts[r] - b < 0.2 * counts[r], (w, b, counts[r])  # restarted evidence
        for m in models:
            assert m.key_to_index[w] == r and int(m.detect.base[r]) == b  # on both replicas
    settled = k2i["a3"]
    assert all(int(m.detect.base[settled]) == 0 for m in models)


def test_detector_state_round_trips_through_delta_merge_apply():
    """The detector's delta holds the rows whose pair count grew (signature sums as values, pair
    increments) and the new words' rows; one replica's delta merges back to its own rows bit for bit (by
    word: the merge may give a new word another id), two replicas' pair counts add and their signature
    increments add in float64; the in-place apply equals the merge; a replica that ran a check inside its
    round is refused."""
    lines = _lee_lines()
    kw = {**KW, "change_every": 10**9}
    first = SGNS(**kw)
    first.learn_many(lines[200:230])
    base = writable_state(first.state_dict())
    models, bases = _replicas(base, 2)
    for k, m in enumerate(models):
        m.learn_many(lines[k * 30:(k + 1) * 30])
    states = [m.state_dict() for m in models]
    deltas = [model_delta(s, b) for s, b in zip(states, bases)]
    assert all(d["change"]["ids"].size > 0 and d["change"]["new_pairs"].size > 0 for d in deltas)

    def by_word(state):
        v, c = state["vocab"], state["change"]
        live = np.flatnonzero(v["counts"] > 0)
        return {int(v["hashes"][i]): i for i in live}, c

    # one replica: its own rows back, bit for bit
    one = merge_deltas(base, deltas[:1])
    (h_one, c_one), (h_rep, c_rep) = by_word(one), by_word(states[0])
    assert set(h_one) == set(h_rep)
    i, j = np.array([h_one[h] for h in h_rep]), np.array(list(h_rep.values()))
    for name in ("base", "sig", "pairs", "center", "dmean", "obs", "cusum", "level", "burst", "tested"):
        a, b = c_one[name][i], c_rep[name][j]
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), name

    # two replicas: base words' pair counts add, signature sums add their increments
    two = merge_deltas(base, deltas)["change"]
    nb = base["vocab"]["next_id"]
    inc = sum(s["change"]["pairs"][:nb] - base["change"]["pairs"][:nb] for s in states)
    live = base["vocab"]["counts"][:nb] > 0
    same = [(s["vocab"]["hashes"][:nb] == base["vocab"]["hashes"][:nb]) & (s["vocab"]["counts"][:nb] > 0) for s in
            states]
    ok = live & same[0] & same[1]
    assert np.array_equal(two["pairs"][:nb][ok], base["change"]["pairs"][:nb][ok] + inc[ok])
    want = base["change"]["sig"][:nb].astype(np.float64) + sum(
        s["change"]["sig"][:nb].astype(np.float64) - base["change"]["sig"][:nb] for s in states)
    assert np.array_equal(two["sig"][:nb][ok], want[ok].astype(np.float32))
    assert inc[ok].sum() > 0

    # the in-place apply of the merged update equals the merge
    merged = merge_deltas(base, deltas)
    update = model_delta(merged, base)
    for m, b, d in zip(models, bases, deltas):
        _equal(take_steps(m, apply_update(m, b, update, d)), merged)
        _equal(m.state_dict()["change"], merged["change"])

    # a check inside a round is refused
    m = models[0]
    m.learn_many(lines[100:110])
    m.check_changes()
    with pytest.raises(MergeError, match="no change check inside a round"):
        model_delta(m.state_dict(), bases[0])


def test_a_replica_decay_step_inside_a_round_is_refused():
    """A model that did not defer its steps decays the shared base counts in its own clock: refused by name."""
    lines = _lee_lines()
    base = SGNS(**KW, half_life=20_000.0).state_dict()
    m = SGNS.from_state(base)  # no defer_round_steps
    m.learn_many(lines[:20])
    assert m.forget.meta[0]["n_decays"] > 0
    with pytest.raises(MergeError, match="decay step"):
        model_delta(m.state_dict(), base)


def test_simulator_runs_with_half_life_and_change_detection(tmp_path, monkeypatch):
    """``benchmarks/scale_out/simulate.py`` with a half-life and change detection (two replicas, Lee corpus):
    decay steps and checks happen at round boundaries, and replica 0's in-place state stays the merge's."""
    from benchmarks.scale_out import simulate as sim

    lines = _lee_lines()
    from streamsgns.tokenize import tokenize

    ntok = np.array([len(tokenize(ln)) for ln in lines], dtype=np.int64)
    monkeypatch.setattr(sim, "SETTINGS", dict(vector_size=16, window=3, negative=3, sample=1e-3, min_count=2,
                                              half_life=20_000.0, detect_changes=True, change_every=5_000))
    monkeypatch.setattr(sim, "ROWS", "sum")
    res = sim.simulate(lines, ntok, 2, 0, 5_000)
    assert res["tokens"] == int(ntok.sum())
    assert res["decay_steps"] >= res["rounds"] - 2 and res["change_checks"] >= res["rounds"] - 2
    assert np.isfinite([res["ws353"], res["simlex"], res["analogies"]]).all()


def test_gain_merge_weighs_a_restarted_word_by_its_step_evidence():
    """With change detection, a replica's evidence-aware steps use the step evidence ``count − base``
    (:meth:`SGNS.extrapolate_steps`); the ``gain`` merge weighs the summed updates of a word by the
    inverse of the gain of that same evidence, so a word restarted by an alarm (evidence 0: gain 1 with
    ``step_cap=1``) is summed while a frequent settled word (gain above 1.3) is not."""
    from streamsgns.rates import replica_step_gain

    lines = _lee_lines()
    first = SGNS(**{**KW, "track_cooc": False, "average_eta": None, "change_every": 10**9})
    first.learn_many(lines[:100])
    base = writable_state(first.state_dict())
    counts = base["vocab"]["counts"]
    restarted, settled = np.argsort(-counts)[:2]  # the two most frequent words
    base["change"]["base"][restarted] = counts[restarted]  # as an alarm leaves it
    models, bases = _replicas(base, 2)
    for k, m in enumerate(models):
        m.extrapolate_steps(2, step_cap=1.0)
        m.learn_many(lines[100 + 40 * k:140 + 40 * k])
    deltas = [model_delta(m.state_dict(), b) for m, b in zip(models, bases)]
    merged = merge_deltas(base, deltas, rows="gain", replicas=2, step_cap=1.0)
    wd = float(base["params"]["word_decay"])
    for r, evidence in ((restarted, 0), (settled, counts[settled])):
        scale = 1.0 / replica_step_gain(np.array([float(evidence)]), 2, wd, 1.0)[0]
        B = base["parameters"]["W"][r].astype(np.float64)
        upd = np.zeros_like(B)
        for m in models:
            upd += m.params.W[r] - B
        assert np.array_equal(merged["parameters"]["W"][r], (B + scale * upd).astype(np.float32)), (r, scale)
    assert 1.0 / replica_step_gain(np.array([0.0]), 2, wd, 1.0)[0] == 1.0
    assert 1.0 / replica_step_gain(np.array([float(counts[restarted])]), 2, wd, 1.0)[0] < 0.75  # by count: not summed
