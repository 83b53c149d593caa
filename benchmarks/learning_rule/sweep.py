#!/usr/bin/env python
"""Candidates of the learning rule side by side (issue 8): full rank and one pass over mix, streamsgns only.

The screening behind ``docs/learning_rule.md``'s ablation table: for each candidate (a dict of
``SGNS`` parameters), the settings of ``benchmarks/learning_rule/learning_rule.py`` without gensim:

``CORPUS:ORDER`` (e.g. ``brown:corpus``, ``brown:reshuffled``)
    the corpus restricted to its 300 most frequent words, vector_size 400, sample 0, min_count 1,
    20 passes (reshuffled: a new order each pass); Spearman(W·Cᵀ, PMI − log k) of the exported
    (averaged) vectors (``avg``) and of the last iterate (``last``) against the independent PMI.
``mix``
    one pass over the mix corpus, workers=1: WS353, SimLex-999 and Google analogies of the
    exported vectors (``ws``, ``sl``, ``an``).

``lee``
    a small corpus, one pass over gensim's ``lee_background.cor`` (60k tokens): the live
    Spearman(W·Cᵀ, PMI − log k) of ``SGNS.pmi_report`` in the two settings of
    ``tests/test_pmi_live.py`` (``pmi_w1``: vector_size 16, window 1, sample 0, min_count 1, top
    200 words; ``pmi_d16``: vector_size 16, window 5, min_count 2, top 300 words).

One JSON object per (candidate, part) is printed and appended to ``--out`` (JSON lines), so a long
sweep keeps what it has measured. The machine may be shared: ``secs`` are not comparisons.

Usage::

    python benchmarks/learning_rule/sweep.py '[{"alpha": 0.05, "word_decay": 2000}, ...]' \\
        [--parts brown:corpus,brown:reshuffled,mix] [--out benchmarks/results/learning_rule_sweep.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools, tests.helpers_core

from benchmarks.common import RESULTS  # noqa: E402
from benchmarks.quality.pmi_full_rank import IndependentTarget, restricted_corpus  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns.evaluate import evaluate_all  # noqa: E402


def full_rank(path, params, order, cache, passes=20):
    """(averaged, last-iterate) Spearman of one candidate on one corpus and order."""
    if path not in cache:
        s, w = restricted_corpus(path, 300)
        cache[path] = (s, w, IndependentTarget(s, w))
    sents, words, tgt = cache[path]
    m = SGNS(vector_size=400, sample=0.0, min_count=1, seed=0, **params)
    stream = list(sents)
    for p in range(passes):
        if order == "reshuffled":
            random.Random(p).shuffle(stream)
        m.learn_many(stream)
    ids = np.array([m.key_to_index[w] for w in words])
    return (tgt.report(m.vectors("W")[ids], m.vectors("C")[ids])["spearman"],
            tgt.report(np.asarray(m.W[ids]), np.asarray(m.C[ids]))["spearman"])


def one_pass(path, params):
    """WS353 / SimLex / analogies of the exported vectors after one pass (workers=1 unless ``params`` say)."""
    m = SGNS(**{"seed": 0, "workers": 1, **params})
    m.learn_file(path)
    m.flush()
    alive = [i for i, w in enumerate(m.index_to_key) if w is not None and m.counts[i] > 0]
    ev = evaluate_all([m.index_to_key[i] for i in alive], m.vectors("W")[alive])
    return {"ws": ev["wordsim353"]["spearman"], "sl": ev["simlex999"]["spearman"], "an": ev["analogies"]["accuracy"]}


def small_corpus(params):
    """Live PMI Spearman after one pass over Lee, in the two settings of ``tests/test_pmi_live.py``."""
    from tests.helpers_core import lee_token_lists  # the Lee corpus as the tests read it

    lines = [list(t) for t in lee_token_lists()]
    a = SGNS(vector_size=16, window=1, sample=0, min_count=1, seed=3, cooc_top_n=400, **params)
    a.learn_many(lines)
    b = SGNS(vector_size=16, min_count=2, cooc_top_n=300, **params)
    b.learn_many(lines)
    return {"pmi_w1": a.pmi_report(top=200, min_count=3)["spearman"], "pmi_d16": b.pmi_report(top=300)["spearman"]}


def main(argv=None) -> int:
    from streamsgns_tools.corpora import fetch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("candidates", type=json.loads, help="JSON list of dicts of SGNS parameters")
    ap.add_argument("--parts", default="brown:corpus,brown:reshuffled,mix")
    ap.add_argument("--cache", default=os.environ.get("STREAMSGNS_DATA"))
    ap.add_argument("--out", default=str(RESULTS / "learning_rule_sweep.jsonl"))
    args = ap.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    corpora = {}
    for params in args.candidates:
        for part in args.parts.split(","):
            t0 = time.time()
            if part == "mix":
                r = one_pass(fetch("mix", cache_dir=args.cache), params)
            elif part == "lee":
                r = small_corpus(params)
            else:
                name, order = part.split(":")
                avg, last = full_rank(fetch(name, cache_dir=args.cache), params, order, corpora)
                r = {"avg": avg, "last": last}
            r.update(params=params, part=part, secs=time.time() - t0)
            print(json.dumps(r), flush=True)
            with open(args.out, "a") as f:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
