"""Learning-rate rules (streamsgns.rates): the global 1/t schedule and the per-word steps."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers_core import assert_finite, assert_same_state, lee_lines, model_state
from streamsgns import SGNS
from streamsgns import kernels as K
from streamsgns.rates import current_alpha, word_alpha

SMALL = dict(vector_size=16, min_count=2, seed=3, sketch_width=1 << 16, cooc_top_n=200)


def _cfg(**kw):
    base = dict(window=5, negative=5, min_count=5, max_vocab=100, max_sentence_length=100, min_refresh_tokens=1000,
                track_cooc=False, prune_size=10, alpha=0.05, min_alpha=1e-4, decay_tokens=2e7, sample=0.0,
                ns_exponent=0.75)
    return K.make_config(**{**base, **kw})


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 10**9), tau=st.floats(1.0, 1e7))
def test_word_alpha_is_alpha_over_one_plus_count_over_word_decay(n, tau):
    cfg = _cfg(word_decay=tau)
    want = max(1e-4, 0.05 / (1.0 + n / tau))
    assert word_alpha(cfg, n) == pytest.approx(want, rel=1e-6)
    assert word_alpha(cfg, n + 1000) <= word_alpha(cfg, n)  # more evidence, smaller step


def test_global_schedule():
    cfg = _cfg()
    assert current_alpha(cfg, 0.0) == pytest.approx(0.05)
    assert current_alpha(cfg, 2e7) == pytest.approx(0.025)
    assert current_alpha(cfg, 1e15) == pytest.approx(1e-4)


def test_per_word_steps_train_deterministically():
    lines = lee_lines()[:200]
    a = SGNS(**SMALL, word_decay=100.0)
    a.learn_many(lines)
    b = SGNS(**SMALL, word_decay=100.0)
    for x in lines:
        b.learn_one(x)
    assert_same_state(model_state(a), model_state(b))
    assert_finite(a)


def _sgns_err(w, c):
    """``1 − σ(w·c)`` of a positive pair, through the kernel's sigmoid table (word2vec.c's)."""
    f = np.float32(np.dot(w, c))
    idx = K.EXP_TABLE_SIZE if f >= K.MAX_EXP else 0 if f <= -K.MAX_EXP else int((f + K.MAX_EXP) * K._TSCALE)
    return np.float32(1.0) - K.SIGMOID_TABLE[idx]


def test_the_default_rule_moves_each_row_by_its_own_words_step():
    """One positive pair in each direction (window 1, no negatives, no subsampling), after ``aa`` was seen
    6000 times and ``bb`` 2000: each W and C row moves by ``err · η(n) · other row`` with
    ``η(n) = alpha / (1 + n / word_decay)`` of *its own* word's count (0.05 / 4 for ``aa``, 0.05 / 2 for
    ``bb``, the counts including this sentence), not by one global step."""
    m = SGNS(vector_size=8, window=1, negative=0, sample=0.0, min_count=1, track_cooc=False, seed=1)
    assert (m.alpha, m.word_decay, m.min_alpha) == (0.05, 2000.0, 1e-4)  # the defaults are under test
    m.learn_many(["aa bb"] * 1999 + ["aa"] * 4000)
    a, b = m.key_to_index["aa"], m.key_to_index["bb"]
    Wa, Wb, Ca, Cb = (np.array(x) for x in (m.W[a], m.W[b], m.C[a], m.C[b]))
    m.learn_one("aa bb")
    assert (m.counts[a], m.counts[b]) == (6000, 2000)

    def eta(n):
        return np.float32(0.05 / (1.0 + n / 2000.0))

    e_ba, e_ab = _sgns_err(Wb, Ca), _sgns_err(Wa, Cb)  # pair (context bb, word aa), then (aa, bb)
    want = {"W[aa]": e_ab * eta(6000) * Cb, "C[bb]": e_ab * eta(2000) * Wa,
            "W[bb]": e_ba * eta(2000) * Ca, "C[aa]": e_ba * eta(6000) * Wb}
    got = {"W[aa]": m.W[a] - Wa, "C[bb]": m.C[b] - Cb, "W[bb]": m.W[b] - Wb, "C[aa]": m.C[a] - Ca}
    for k in want:
        assert np.linalg.norm(got[k]) > 0, k
        np.testing.assert_allclose(got[k], want[k], rtol=1e-3, atol=1e-3 * np.abs(want[k]).max(), err_msg=k)
    # the global rule at this point would have moved every row by its one alpha_t
    alpha_t = current_alpha(_cfg(), float(m.words_seen))
    assert not np.allclose(got["W[aa]"], e_ab * np.float32(alpha_t) * Cb, rtol=0.1)


def test_the_default_rule_is_per_word_steps():
    m = SGNS()
    assert (m.alpha, m.word_decay, m.min_alpha) == (0.05, 2000.0, 1e-4)


def _step_of_a_new_word(**rule) -> float:
    """How far a word first seen after a long stream moves in its first 20 sentences (W row norm change)."""
    m = SGNS(**SMALL, sample=0.0, **rule)
    for _ in range(3):
        m.learn_many(lee_lines())
    m.learn_many(["zzneo appears here with the words of a sentence"] * 3)  # admitted (min_count 2)
    i = m.key_to_index["zzneo"]
    before = np.array(m.W[i])
    m.learn_many(["zzneo appears here with the words of a sentence"] * 20)
    return float(np.linalg.norm(np.asarray(m.W[i]) - before))


def test_a_late_word_keeps_a_large_step_under_per_word_steps_not_under_the_global_rule():
    # a long stream is simulated by a global schedule that has decayed (t = 180k tokens >> decay_tokens)
    per_word = _step_of_a_new_word()
    global_rule = _step_of_a_new_word(word_decay=None, decay_tokens=1e3)
    assert per_word > 5 * global_rule


def test_a_state_without_word_decay_loads_with_the_global_rule_it_was_trained_with():
    m = SGNS(**SMALL, word_decay=None, alpha=0.025)
    m.learn_many(lee_lines()[:50])
    state = m.state_dict()
    del state["params"]["word_decay"]  # as written before the parameter existed
    r = SGNS.from_state(state)
    assert r.word_decay is None
    assert_same_state(model_state(r), model_state(m))


def test_bad_word_decay_is_refused():
    with pytest.raises(ValueError):
        SGNS(word_decay=0)
    with pytest.raises(ValueError):
        SGNS(word_decay=float("nan"))
