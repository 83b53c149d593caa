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


def _review_vs_news():
    """A real labelled task: a movie-review sentence (Pang & Lee's polarity set in gensim's test data) or a
    news sentence (gensim's Lee corpus); 200 of each, label True for a review."""
    import random

    from helpers_core import gensim_data

    with open(gensim_data("pang_lee_polarity.cor"), encoding="latin-1") as f:
        reviews = [line.split(" ", 1)[1].strip() for line in f if " " in line]
    news = [s for doc in lee_lines() for s in doc.split(". ") if len(s.split()) >= 6]
    news = random.Random(0).sample(news, len(reviews))
    return [(s, True) for s in reviews] + [(s, False) for s in news]


def _progressive_accuracy(data, passes=4, seed=1):
    """Progressive validation (predict, then learn) of SGNS | StandardScaler | LogisticRegression; the
    embeddings first read the unlabelled news stream. Accuracy of each pass."""
    import random

    from river import metrics

    rng = random.Random(seed)
    model = compose.Pipeline(SGNS(on="text", vector_size=16, min_count=1, seed=0, sketch_width=1 << 14,
                                  cooc_top_n=50),
                             preprocessing.StandardScaler(), linear_model.LogisticRegression())
    model.steps[list(model.steps)[0]].learn_many(list(lee_lines()))
    data = list(data)
    out = []
    for _ in range(passes):
        rng.shuffle(data)
        acc = metrics.Accuracy()
        for text, y in data:
            x = {"text": text}
            y_pred = model.predict_one(x)
            if y_pred is not None:
                acc.update(y, y_pred)
            model.learn_one(x, y)
        out.append(acc.get())
    return out, model


def test_pipeline_with_logistic_regression_learns_a_real_task():
    """SGNS vectors feed an online classifier that tells movie reviews from news well above chance, and the
    same pipeline on shuffled labels stays at chance: the accuracy comes from the labels, not an artefact."""
    import random

    data = _review_vs_news()
    real, model = _progressive_accuracy(data)
    labels = [y for _, y in data]
    random.Random(2).shuffle(labels)
    control, _ = _progressive_accuracy([(x, y) for (x, _), y in zip(data, labels)])
    late_real, late_control = sum(real[1:]) / 3, sum(control[1:]) / 3
    assert late_real >= 0.68, real
    assert abs(late_control - 0.5) < 0.08, control
    assert late_real - late_control >= 0.15, (real, control)
    p = model.predict_proba_one({"text": "the film is a tedious and silly melodrama"})
    assert set(p) <= {True, False} and all(0.0 <= v <= 1.0 for v in p.values())
