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


def test_per_word_steps_train_deterministically_and_differ_from_the_global_rule():
    lines = lee_lines()[:200]
    a = SGNS(**SMALL, word_decay=100.0)
    a.learn_many(lines)
    b = SGNS(**SMALL, word_decay=100.0)
    for x in lines:
        b.learn_one(x)
    assert_same_state(model_state(a), model_state(b))
    assert_finite(a)
    c = SGNS(**SMALL, word_decay=None)
    c.learn_many(lines)
    assert not np.array_equal(a.W, c.W)


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
