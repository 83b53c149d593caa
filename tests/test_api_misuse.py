"""Wrong inputs to the library API get typed errors, never a silently wrong model (issue 11, case 8)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_core import lee_lines
from streamsgns import SGNS
from streamsgns.io.checkpoint import CheckpointError


@pytest.fixture(scope="module")
def model():
    m = SGNS(vector_size=12, min_count=2, seed=0, sketch_width=1 << 14, cooc_top_n=50)
    m.learn_many(list(lee_lines())[:150])
    return m


@pytest.mark.parametrize("bad", [[["a"], ["b"]], ["ok", None], ["ok", 5], ("x", 1.5), [b"bytes"]])
def test_token_lists_of_non_strings_raise_type_error_and_admit_nothing(bad):
    m = SGNS(vector_size=4, min_count=1, seed=0, sketch_width=1 << 10, track_cooc=False)
    with pytest.raises(TypeError, match="str tokens"):
        m.learn_one(bad)
    with pytest.raises(TypeError, match="str tokens"):
        m.learn_many([["fine", "tokens"], bad])
    assert "['b']" not in m and "None" not in m and "5" not in m
    assert m.words_seen == 2  # the good sentence before the bad one was learnt


def test_learn_text_of_a_number_raises_type_error():
    m = SGNS(vector_size=4, min_count=1, track_cooc=False)
    with pytest.raises(TypeError, match="bytes or str"):
        m.learn_text(5)


def test_loading_a_vectors_file_says_it_is_not_a_checkpoint(model, tmp_path):
    vec = tmp_path / "vectors.txt"
    model.save_word2vec_format(vec)
    with pytest.raises(CheckpointError, match="not a streamsgns checkpoint") as ei:
        SGNS.load(vec)
    assert "pickle" not in str(ei.value)


def test_most_similar_of_a_wrongly_shaped_vector_is_a_value_error(model):
    with pytest.raises(ValueError, match="shape"):
        model.most_similar(np.ones(5))
    with pytest.raises(ValueError, match="shape"):
        model.most_similar(np.ones((2, 12)))


def test_most_similar_of_a_zero_or_nan_vector_is_a_value_error(model):
    with pytest.raises(ValueError, match="zero"):
        model.most_similar(np.zeros(12))
    with pytest.raises(ValueError, match="NaN"):
        model.most_similar(np.full(12, np.nan))


def test_most_similar_of_a_word_never_lists_the_word(model):
    got = [w for w, _ in model.most_similar("government", topn=20)]
    assert "government" not in got and len(got) == 20


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, "0", True])
def test_seed_outside_64_bits_or_not_an_integer_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        SGNS(seed=seed)


def test_largest_seed_differs_from_seed_zero():
    a, b = SGNS(seed=0, vector_size=4, min_count=1), SGNS(seed=2**64 - 1, vector_size=4, min_count=1)
    a.learn_one("alpha beta gamma")
    b.learn_one("alpha beta gamma")
    assert not np.array_equal(a.W, b.W)


@pytest.mark.parametrize("kw", [dict(vector_size=0), dict(window=-1), dict(negative=1.5), dict(alpha=float("nan")),
                                dict(sample=-1e-3), dict(output="both"), dict(tokenizer="split"), dict(on=3),
                                dict(cooc_sketch_rate=0), dict(min_alpha=0.5)])
def test_bad_parameters_name_themselves(kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=name):
        SGNS(**kw)
