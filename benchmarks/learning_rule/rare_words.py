#!/usr/bin/env python
"""Rare words and words that appear late (issue 8): planted twins with known meaning, streamsgns vs gensim, one run.

Why: streamsgns admits a word at its ``min_count``-th occurrence (counted by the count-min sketch)
and never trains the occurrences before it; gensim counts the whole corpus first and trains every
occurrence of every word whose total reaches ``min_count``. A word seen 5 to 50 times, or seen only
near the end of the stream (where gensim's step size has decayed to ``min_alpha``, while
streamsgns' per-word step is still large for a new word), may learn a poor vector.
This measures it where the truth is known.

What: probes are words of WordSim-353 or SimLex-999 whose count in the corpus is within
``--count-range`` and that occur at least ``sum(budgets)`` times in the last 10 % of the stream;
``--probes`` of them are drawn with ``--seed``. For every probe ``w`` and every budget ``k`` of
``--budgets`` exactly ``k`` occurrences of ``w`` are renamed ``w_twin{k}``
(:mod:`streamsgns_tools.twins`): the twin is a word with ``w``'s meaning seen ``k`` times. The same
probes carry all budgets (disjoint occurrences of ``w``), so the budgets are compared on the same
words (a paired comparison: a difference between k = 5 and k = 50 is the budget's, not the probe
draw's); ``w`` loses ``sum(budgets)`` occurrences, a small part of its count. Two placements, each
one renamed corpus holding every twin of every budget: ``spread`` (occurrences drawn among all of
``w``'s) and ``late`` (drawn among those in the last 10 % of the stream). Each system is trained
once per placement on the same token lists in the same order (the learner's own tokenizer,
:func:`streamsgns.tokenize.tokenize`), one pass / one epoch, vector_size 100, window 5, negative 5,
sample 1e-3, min_count 5, workers 1, seed 0: streamsgns with each parameter set of ``--params``
(default: the defaults — per-word steps — and the global rule before issue 8, ``alpha=0.025,
word_decay=None``), and
gensim 4 ``Word2Vec(sg=1)`` with its defaults otherwise.

Score, per system, placement and k: for each twin, the rank of ``w`` among the system's vocabulary
by cosine to the twin's exported vector (1 = nearest; the twins themselves are not candidates);
``has vector`` = fraction of twins in the vocabulary (streamsgns needs ``min_count`` occurrences
as counted by its sketch); ``median rank`` over the twins that have a vector; ``recall@10`` =
fraction of **all** twins whose ``w`` is among their 10 nearest (a twin without a vector is a miss).
Both by plain cosine and by centred cosine (the vocabulary's mean vector subtracted first, as in
Mu & Viswanath 2018): after one pass the vectors share a large common direction (mean of the unit
vectors of norm ~0.96-0.98 on 1M tokens of mix, both systems), and a twin with few updates is
placed by that direction more than by its contexts, so the plain ranks of weak twins sit near the
bottom of the vocabulary rather than at its middle (each run's ``common_direction`` is the norm
of the mean of its unit vectors). ``norm`` = the twins' median vector norm over the vocabulary's
median norm: near 0 means the twin barely moved from its small random initial row.
Vectors: streamsgns ``SGNS.vectors("W")`` (the exported, averaged rows) of the alive words, gensim
``model.wv``.

Usage::

    python benchmarks/learning_rule/rare_words.py [--cache DIR] [--max-tokens 2M] [--probes 100] [--budgets 5,10,20,50]
        [--count-range 300,20000] [--placements spread,late] [--seed 0] [--no-gensim]
        [--params '[{}, {"alpha": 0.025, "word_decay": null}]'] [--json benchmarks/results/rare_words.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, parse_tokens, write_json  # noqa: E402  (atomic JSON, as every benchmark here)
from streamsgns import SGNS  # noqa: E402
from streamsgns.evaluate import eval_data_path  # noqa: E402
from streamsgns.tokenize import tokenize  # noqa: E402
from streamsgns_tools.corpora import read_token_lists  # noqa: E402
from streamsgns_tools.twins import (  # noqa: E402
    occurrence_positions, original_ranks, plant_twins, rename_positions, twin_name)

COMMON = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, workers=1, seed=0)
LATE_FRACTION = 0.1


def eval_words() -> set[str]:
    """The words of WordSim-353 and SimLex-999 that are one token of the learner's tokenizer."""
    words = set()
    for name in ("wordsim353", "simlex999"):
        with open(eval_data_path(name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                for w in line.split("\t")[:2]:
                    toks = tokenize(w)
                    if len(toks) == 1:
                        words.add(toks[0])
    return words


def pick_probes(sentences, vocab, args):
    """Probes drawn with ``args.seed`` among the eligible evaluation words; their positions and the stream's length."""
    pos, n = occurrence_positions(sentences, sorted(eval_words()))
    start = int(np.ceil((1 - LATE_FRACTION) * n))
    lo, hi = args.count_range
    need = sum(args.budgets)
    eligible = sorted(w for w, p in pos.items() if lo <= len(p) <= hi and int((p >= start).sum()) >= need
                      and not any(twin_name(w, k) in vocab for k in args.budgets))
    if len(eligible) < args.probes:
        raise SystemExit(f"only {len(eligible)} eligible probes (count in [{lo}, {hi}], >= {need} in the last "
                         f"{LATE_FRACTION:.0%}); lower --probes or widen --count-range")
    rng = np.random.default_rng(args.seed)
    probes = sorted(rng.choice(eligible, size=args.probes, replace=False).tolist())
    return {w: pos[w] for w in probes}, n, len(eligible), start


def run_streamsgns(sentences, params):
    m = SGNS(**{**COMMON, **params})
    t0 = time.time()
    m.learn_many(sentences)
    m.flush()
    secs = time.time() - t0
    itk, counts = m.index_to_key, np.asarray(m.counts)
    alive = [i for i, w in enumerate(itk) if w is not None and counts[i] > 0]
    return [itk[i] for i in alive], np.asarray(m.vectors("W"))[alive], secs, int(m.words_seen)


def run_gensim(sentences):
    from gensim.models import Word2Vec

    t0 = time.time()
    g = Word2Vec(sentences=sentences, sg=1, epochs=1, **COMMON)
    secs = time.time() - t0
    return list(g.wv.index_to_key), np.asarray(g.wv.vectors), secs, int(g.corpus_total_words)


def score(words, vectors, probes, budgets):
    """Per budget: has-vector fraction, median rank and recall@10, by raw cosine and by centred cosine."""
    twins = {twin_name(w, k): w for w in probes for k in budgets}
    rows, all_ranks = {k: {} for k in budgets}, {}
    index = {w: i for i, w in enumerate(words)}
    norms = np.linalg.norm(np.asarray(vectors, dtype=np.float64), axis=1)
    for k in budgets:  # how far the twins moved: their norm over the vocabulary's median norm (init rows are tiny)
        tn = [norms[index[twin_name(w, k)]] for w in probes if twin_name(w, k) in index]
        rows[k]["norm_ratio"] = float(np.median(tn) / np.median(norms)) if tn else None
    for how, center in (("", False), ("centred_", True)):
        ranks = original_ranks(words, vectors, twins, center=center)
        all_ranks[how.rstrip("_") or "raw"] = ranks
        for k in budgets:
            r = [ranks[twin_name(w, k)] for w in probes]
            have = np.array([x for x in r if x is not None], dtype=np.float64)
            rows[k].update({"twins": len(r), "has_vector": len(have) / len(r),
                            f"{how}median_rank": float(np.median(have)) if len(have) else None,
                            f"{how}recall10": float(np.sum(have <= 10)) / len(r),
                            f"{how}recall10_of_present": float(np.mean(have <= 10)) if len(have) else None})
    return rows, all_ranks


def common_direction(vectors) -> float:
    """Norm of the mean of the unit vectors (0: no shared direction, 1: all rows parallel)."""
    V = np.asarray(vectors, dtype=np.float64)
    return float(np.linalg.norm((V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)).mean(axis=0)))


def label(params) -> str:
    return "streamsgns " + (",".join(f"{k}={v}" for k, v in params.items()) if params else "defaults")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="mix", help="a streamsgns_tools.corpora name or a text file, one sentence per line")
    ap.add_argument("--cache", default=os.environ.get("STREAMSGNS_DATA"))
    ap.add_argument("--max-tokens", default=None, help="only the first lines, up to this many tokens (e.g. 2M)")
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--budgets", default="5,10,20,50")
    ap.add_argument("--count-range", default="300,20000", help="corpus counts of the probes, inclusive")
    ap.add_argument("--placements", default="spread,late")
    ap.add_argument("--seed", type=int, default=0, help="seed of the probe draw and of the twin placement")
    ap.add_argument("--params", type=json.loads, default=[{}, {"alpha": 0.025, "word_decay": None}],
                    help="JSON list of dicts: the streamsgns variants (SGNS parameters over the common settings)")
    ap.add_argument("--no-gensim", action="store_true")
    ap.add_argument("--json", default=str(RESULTS / "rare_words.json"))
    args = ap.parse_args(argv)
    args.budgets = [int(k) for k in args.budgets.split(",")]
    args.count_range = [int(c) for c in args.count_range.split(",")]
    placements = args.placements.split(",")
    if not isinstance(args.params, list) or not all(isinstance(p, dict) for p in args.params):
        raise SystemExit("--params must be a JSON list of objects")

    path = Path(args.corpus) if os.path.isfile(args.corpus) else None
    if path is None:
        from streamsgns_tools.corpora import fetch

        path = fetch(args.corpus, cache_dir=args.cache)
    t0 = time.time()
    pool: dict[str, str] = {}
    sentences = read_token_lists(path, parse_tokens(args.max_tokens), pool=pool)
    vocab = pool.keys()
    probes, n_tokens, n_eligible, late_start = pick_probes(sentences, vocab, args)
    print(f"{path}: {n_tokens:,} tokens, {len(sentences):,} lines (read in {time.time() - t0:.0f} s); "
          f"{len(probes)} probes of {n_eligible} eligible; twins of budgets {args.budgets}", flush=True)
    systems = [(label(p), "streamsgns", p) for p in args.params] + ([] if args.no_gensim else [("gensim", "gensim", None)])
    out = {"argv": sys.argv[1:], "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "corpus": str(path),
           "tokens": n_tokens, "lines": len(sentences), "settings": COMMON, "budgets": args.budgets,
           "late_fraction": LATE_FRACTION, "late_start_token": late_start, "seed": args.seed,
           "count_range": args.count_range, "eligible_probes": n_eligible,
           "probes": {w: {"count": int(len(p)), "late": int((p >= late_start).sum())} for w, p in probes.items()},
           "params": args.params, "note": "machine shared with other jobs: seconds are indicative", "rows": [],
           "ranks": {}}
    for placement in placements:
        renames = plant_twins(probes, n_tokens, args.budgets, placement, seed=args.seed, late_fraction=LATE_FRACTION)
        corpus = list(rename_positions(sentences, renames))
        for name, kind, params in systems:
            words, vecs, secs, seen = run_streamsgns(corpus, params) if kind == "streamsgns" else run_gensim(corpus)
            if seen != n_tokens:
                raise SystemExit(f"{name} saw {seen:,} tokens, the corpus has {n_tokens:,}")
            rows, ranks = score(words, vecs, list(probes), args.budgets)
            common = common_direction(vecs)
            out["ranks"][f"{placement}/{name}"] = ranks
            for k, r in rows.items():
                out["rows"].append({"placement": placement, "k": k, "system": name, "vocab": len(words), "seconds": secs,
                                    "common_direction": common, **r})
            print(f"  {placement:<6s} {name:<40s} vocab {len(words):,}  {secs:.0f} s  common direction {common:.2f}  "
                  + "  ".join(f"k={k}: rec@10 {r['recall10']:.2f}/{r['centred_recall10']:.2f}" for k, r in rows.items()), flush=True)
        del corpus
    print(f"\n{'':<62s} {'---- cosine ----':>17s} {'--- centred cosine ---':>22s}")
    print(f"{'placement':<9s} {'k':>3s} {'system':<40s} {'has vec':>7s} {'norm':>5s} {'med rank':>9s} {'rec@10':>7s} {'med rank':>9s} {'rec@10':>7s}")
    for r in sorted(out["rows"], key=lambda r: (placements.index(r["placement"]), r["k"])):
        med = ["-" if r[m] is None else f"{r[m]:.0f}" for m in ("median_rank", "centred_median_rank")]
        nr = "-" if r["norm_ratio"] is None else f"{r['norm_ratio']:.2f}"
        print(f"{r['placement']:<9s} {r['k']:>3d} {r['system']:<40s} {r['has_vector']:>7.2f} {nr:>5s} {med[0]:>9s} "
              f"{r['recall10']:>7.2f} {med[1]:>9s} {r['centred_recall10']:>7.2f}")
    print(f"wrote {write_json(args.json, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
