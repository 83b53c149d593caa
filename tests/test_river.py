"""river integration: check_estimator, pipelines with scalers and classifiers."""

from __future__ import annotations

import math

import pytest
from river import checks, compose, linear_model, preprocessing

from helpers_core import lee_lines
from streamsgns import SGNS


@pytest.mark.parametrize("params", list(SGNS._unit_test_params()), ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_check_estimator(params):
    pytest.importorskip("sklearn", reason="river.checks builds its datasets with scikit-learn")
    checks.check_estimator(SGNS(**params))


def test_is_a_river_transformer():
    from river import base

    m = SGNS(vector_size=4)
    assert isinstance(m, base.Transformer)
    assert m.learn_one("hello world") is None
    c = m.clone()
    assert c.vector_size == 4 and c.words_seen == 0
    assert c._get_params() == m._get_params()


def test_pipeline_with_standard_scaler():
    model = SGNS(on="text", vector_size=6, min_count=1, seed=0, sketch_width=1 << 12, cooc_top_n=50) | \
        preprocessing.StandardScaler()
    assert isinstance(model, compose.Pipeline)
    out = None
    for line in lee_lines()[:40]:
        x = {"text": line, "id": 1}
        model.learn_one(x)
        out = model.transform_one(x)
    assert sorted(out) == sorted(f"sgns_{i}" for i in range(6))
    assert all(math.isfinite(v) for v in out.values())
    sgns = model.steps[list(model.steps)[0]]
    assert sgns.words_seen > 1000 and sgns.vocab_size > 100


def test_pipeline_with_logistic_regression():
    model = compose.Pipeline(
        SGNS(on="text", vector_size=8, min_count=1, seed=0, sketch_width=1 << 12, cooc_top_n=50),
        linear_model.LogisticRegression(),
    )
    model2 = SGNS(on="text", vector_size=8, min_count=1, seed=0, sketch_width=1 << 12,
                  cooc_top_n=50) | linear_model.LogisticRegression()
    stream = [
        ({"text": "the cat purrs and sleeps on the sofa"}, True),
        ({"text": "stocks fell as the market closed lower"}, False),
        ({"text": "a kitten chased the cat around the house"}, True),
        ({"text": "the bank raised interest rates again"}, False),
    ] * 30
    for x, y in stream:
        model.learn_one(x, y)
        model2.learn_one(x, y)
    for m in (model, model2):
        p = m.predict_proba_one({"text": "the cat sleeps"})
        assert set(p) <= {True, False} and all(0.0 <= v <= 1.0 for v in p.values())
        assert isinstance(m.predict_one({"text": "market rates"}), bool)
    assert model.predict_proba_one({"text": "unknown words only"}) is not None
