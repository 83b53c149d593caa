"""A model that keeps learning: after a long past, how fast are words whose meaning changed re-learnt?

Protocol (the same for every arm, in one run, per seed):

1. **Past.** The ``mix`` corpus streamed ``--passes`` times (lines reshuffled each pass with the
   seed: a stationary, time-shuffled stream), default settings, ``workers=1``.
2. **Change.** Then a random half of the corpus again, with 20 pairs of frequent nouns of similar
   frequency swapped (``a`` written as ``b`` and ``b`` as ``a``; :data:`PAIRS`): from there on each
   word of a pair takes over its partner's contexts.
3. **Measure** at ``--at`` tokens after the change (default +0.5M, +1M, +2M): for a renamed word
   ``a``, the overlap of its top-10 neighbours with its partner ``b``'s top-10 neighbours just
   before the change (``|N_now(a) ∩ N_before(b)| / 10``, the pair's two words left out of both
   lists); for ``--stable`` frequent words that were not renamed, the overlap of their top-10 now
   with their own top-10 before the change (1 = they stayed put). Neighbours are searched, by
   cosine of the exported vectors, among the 20,000 most frequent words of the past model.

Arms (``--arms``), each continuing from a copy of the same past (a checkpoint written and loaded):

* ``default``: the model as it is (change detection on, its defaults);
* ``oracle``: knows which words changed and, at the change, restarts them as brand-new words:
  W row re-initialised as at admission (U(−0.5/d, 0.5/d)), C row zero, step evidence and averaged
  export restarted; its own detector is silenced (``change_threshold=1e9``);
* ``silent``: change detection silenced (``change_threshold=1e9``): no word is restarted;
* ``gensim``: gensim 4's ``Word2Vec(sg=1)`` fed the same past as one corpus (one ``train`` call over
  the ``--passes`` shuffled passes, its linear learning-rate decay over all of it), then its online
  mode over the change: per block of ``--gensim-block`` tokens ``build_vocab(block, update=True)``
  and ``train(block, epochs=1)`` (each call restarts the learning rate at ``alpha = 0.025``).

Alarms: the change records of ``default`` (``SGNS.changes()``): recall and delay on the renamed
words, false alarms among the others after the change, and during the past (a time-shuffled
stream: every alarm there is false), per 1,000 words per 10M tokens.

    python benchmarks/drift/relearn.py                                  # 4 passes, seeds 0-2, all arms
    python benchmarks/drift/relearn.py --passes 1 --seeds 0 --arms default,oracle,silent

Prints a table, writes ``benchmarks/results/drift_relearn.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, environment, parse_tokens, write_json  # noqa: E402
from benchmarks.drift.planted import PAIRS, kv_of, sgns_words  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns_tools.corpora import read_token_lists  # noqa: E402
from streamsgns_tools.planted import rename_tokens, swap_mapping  # noqa: E402

SPACE = 20_000


def passes(token_lists, n_passes: int, seed: int):
    """The past: ``n_passes`` passes over ``token_lists``, each in its own shuffled order."""
    for p in range(n_passes):
        order = np.random.default_rng([seed, p]).permutation(len(token_lists))
        for i in order:
            yield token_lists[i]


def change_segment(token_lists, seed: int, mapping: dict):
    """A random half of the corpus (shuffled), renamed."""
    order = np.random.default_rng([seed, 10_000]).permutation(len(token_lists))[: len(token_lists) // 2]
    return list(rename_tokens((token_lists[i] for i in order), mapping))


def blocks(token_lists, stops):
    """Yield ``(block, tokens_so_far)`` with a block ending at each of ``stops`` (tokens)."""
    block, n, k = [], 0, 0
    for t in token_lists:
        if k >= len(stops):
            return
        block.append(t)
        n += len(t)
        if n >= stops[k]:
            yield block, n
            block, k = [], k + 1
    if block and k < len(stops):
        yield block, n


def neighbours(kv, word, exclude, k=10):
    if word not in kv:
        return []
    return [w for w, _ in kv.most_similar(word, topn=k, exclude=exclude)]


def measure(kv, renamed, partner, stable, before) -> dict:
    """Overlaps of a model's neighbours now with the neighbours before the change."""
    ren = {}
    for w in renamed:
        ex = (w, partner[w])
        ren[w] = len(set(neighbours(kv, w, ex)) & set(before[partner[w]])) / 10
    st = {w: len(set(neighbours(kv, w, (w,))) & set(before[w])) / 10 for w in stable}
    return {"renamed": float(np.mean(list(ren.values()))), "stable": float(np.mean(list(st.values()))),
            "per_word": ren}


def oracle_restart(m: SGNS, words, seed: int) -> None:
    """Restart ``words`` as brand-new words: W row as at admission, C row 0, step evidence, average."""
    rng = np.random.default_rng([seed, 77])
    d = m.vector_size
    rows = np.array([m.key_to_index[w] for w in words if w in m.key_to_index], dtype=np.int64)
    m.flush()
    m.params.W[rows] = ((rng.random((len(rows), d)) - 0.5) / d).astype(np.float32)
    m.params.C[rows] = 0.0
    m.detect.restart(rows, m.vocab.counts)
    if m.average is not None:
        m.average.restart(rows, m.params.W, m.params.C)
    m._export.invalidate()


def run_gensim(past, change, stops, seed, block_tokens, space, renamed, partner, stable):
    from gensim.models import Word2Vec

    t0 = time.perf_counter()
    g = Word2Vec(sg=1, hs=0, negative=5, window=5, vector_size=100, sample=1e-3, min_count=5, workers=1, seed=seed)
    g.build_vocab(past)
    g.train(past, total_examples=len(past), epochs=1)
    past_s = time.perf_counter() - t0
    kv = kv_of(list(g.wv.index_to_key), g.wv.vectors, space)
    before = {w: neighbours(kv, w, (w, partner.get(w, w))) for w in renamed + stable}
    points, done = [], 0
    pending = []
    for sent in change:
        pending.append(sent)
        n = sum(map(len, pending))
        if n >= block_tokens or done + n >= stops[-1]:
            g.build_vocab(pending, update=True)
            g.train(pending, total_examples=len(pending), total_words=n, epochs=1)
            done += n
            pending = []
            for s in stops:
                if done >= s and not any(p["at"] == s for p in points):
                    kv = kv_of(list(g.wv.index_to_key), g.wv.vectors, space)
                    points.append({"at": s, "tokens": done, **measure(kv, renamed, partner, stable, before)})
            if done >= stops[-1]:
                break
    return {"past_s": past_s, "points": points}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--passes", type=int, default=4, help="passes over the corpus before the change")
    ap.add_argument("--max-tokens", default=None, help="use only the first lines of the corpus, e.g. 3M")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--arms", default="default,oracle,silent,gensim")
    ap.add_argument("--gensim-seeds", default="0", help="seeds with a gensim arm (its past is the slow part)")
    ap.add_argument("--at", default="500k,1M,2M", help="tokens after the change at which to measure")
    ap.add_argument("--gensim-block", default="500k", help="tokens per build_vocab/train call of gensim's online mode")
    ap.add_argument("--stable", type=int, default=200, help="frequent words not renamed that are followed")
    ap.add_argument("--params", default="", help="extra SGNS parameters for every streamsgns arm, k=v,...")
    ap.add_argument("--out", default=str(RESULTS / "drift_relearn.json"))
    ap.add_argument("--combine", default=None,
                    help="comma-separated JSON files of earlier runs (e.g. one seed each, run in parallel): "
                         "merge their seeds, print the table, write --out; nothing is trained")
    args = ap.parse_args(argv)
    if args.combine:
        import json

        parts = [json.loads(Path(f).read_text()) for f in args.combine.split(",")]
        result = {**parts[0], "seeds": {k: v for p in parts for k, v in p["seeds"].items()},
                  "combined_from": args.combine.split(",")}
        arms = parts[0]["args"]["arms"].split(",")
        stops = [parse_tokens(s) for s in parts[0]["args"]["at"].split(",")]
        result["summary"] = summarise(result, arms, stops)
        print_table(result["summary"], stops)
        write_json(args.out, result)
        print(f"wrote {args.out}")
        return 0

    stops = [parse_tokens(s) for s in args.at.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = args.arms.split(",")
    extra = {}
    for kv_ in filter(None, args.params.split(",")):
        k, v = kv_.split("=")
        extra[k] = None if v == "None" else float(v) if "." in v or "e" in v else int(v)
    path = corpus_file(args.corpus, args.cache)
    tl = read_token_lists(path, parse_tokens(args.max_tokens) if args.max_tokens else None)
    n_tokens = sum(map(len, tl))
    mapping = swap_mapping(PAIRS)
    renamed = [w for p in PAIRS for w in p]
    partner = mapping
    print(f"corpus {path}: {len(tl):,} lines, {n_tokens:,} tokens; past {args.passes} passes; "
          f"{len(PAIRS)} pairs swapped after it", flush=True)
    result = {"env": environment(), "args": vars(args), "corpus_tokens": n_tokens, "pairs": PAIRS, "seeds": {}}
    for seed in seeds:
        res = result["seeds"][str(seed)] = {}
        t0 = time.perf_counter()
        m = SGNS(seed=seed, **extra)
        past_lists = list(passes(tl, args.passes, seed))
        m.learn_many(past_lists)
        past_s = time.perf_counter() - t0
        past_tokens = m.words_seen
        words, vecs = sgns_words(m)
        counts = dict(zip(m.index_to_key, m.counts.tolist()))
        space = sorted((w for w in words if w is not None), key=lambda w: -counts[w])[:SPACE]
        stable = [w for w in space[20: 20 + args.stable + len(renamed)] if w not in mapping][: args.stable]
        kv = kv_of(words, vecs, space)
        before = {w: neighbours(kv, w, (w, partner.get(w, w))) for w in renamed + stable}
        past_changes = m.changes()
        vocab = m.vocab_size
        res["past"] = {"tokens": past_tokens, "seconds": past_s, "vocab_size": vocab,
                       "alarms": len(past_changes),
                       "alarms_per_1000_words_per_10M": 1000 * len(past_changes) / vocab / (past_tokens / 1e7),
                       "alarmed_words": [c["word"] for c in past_changes][:50]}
        print(f"seed {seed}: past {past_tokens:,} tokens in {past_s:.0f} s, vocab {vocab:,}, "
              f"{len(past_changes)} alarms in the past", flush=True)
        change = change_segment(tl, seed, mapping)
        with tempfile.TemporaryDirectory() as tmp:
            ck = Path(tmp) / "past.npz"
            m.save(ck)
            del m
            for arm in arms:
                if arm == "gensim":
                    continue
                over = {"change_threshold": 1e9} if arm in ("oracle", "silent") else {}
                a = SGNS.load(ck, **over)
                if arm == "oracle":
                    oracle_restart(a, renamed, seed)
                n_before = len(a.changes())
                points = []
                t1 = time.perf_counter()
                for block, done in blocks(change, stops):
                    a.learn_many(block)
                    w_, v_ = sgns_words(a)
                    points.append({"at": stops[len(points)], "tokens": a.words_seen - past_tokens,
                                   **measure(kv_of(w_, v_, space), renamed, partner, stable, before)})
                new = a.changes()[n_before:]
                after_tokens = a.words_seen - past_tokens
                hit = {c["word"]: c["tokens"] - past_tokens for c in new if c["word"] in mapping}
                false = [c["word"] for c in new if c["word"] not in mapping]
                res[arm] = {"points": points, "seconds": time.perf_counter() - t1,
                            "recall": len(hit) / len(renamed), "delay_tokens": sorted(hit.values()),
                            "median_delay": float(np.median(list(hit.values()))) if hit else None,
                            "false_alarms": len(false), "false_words": false[:50],
                            "false_per_1000_words_per_10M": 1000 * len(false) / a.vocab_size / (after_tokens / 1e7)}
                print(f"  {arm:8s} " + "  ".join(f"+{p['at'] / 1e6:g}M renamed {p['renamed']:.2f} stable "
                                                  f"{p['stable']:.2f}" for p in points)
                      + f"  recall {res[arm]['recall']:.2f} false {len(false)}", flush=True)
                del a
        if "gensim" in arms and str(seed) in args.gensim_seeds.split(","):
            res["gensim"] = run_gensim(past_lists, change, stops, seed, parse_tokens(args.gensim_block), space,
                                       renamed, partner, stable)
            print("  gensim   " + "  ".join(f"+{p['at'] / 1e6:g}M renamed {p['renamed']:.2f} stable {p['stable']:.2f}"
                                            for p in res["gensim"]["points"]), flush=True)
        del past_lists
    result["summary"] = summarise(result, arms, stops)
    print_table(result["summary"], stops)
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


def summarise(result, arms, stops) -> dict:
    out = {}
    for arm in arms:
        runs = [r[arm] for r in result["seeds"].values() if arm in r]
        if not runs:
            continue
        row = {"seeds": len(runs)}
        for i, s in enumerate(stops):
            for k in ("renamed", "stable"):
                vals = [r["points"][i][k] for r in runs if i < len(r["points"])]
                row[f"{k}@{s}"] = (float(np.mean(vals)), float(np.min(vals)), float(np.max(vals))) if vals else None
        if "recall" in runs[0]:
            row["recall"] = float(np.mean([r["recall"] for r in runs]))
            delays = [d for r in runs for d in r["delay_tokens"]]
            row["median_delay"] = float(np.median(delays)) if delays else None
            row["false_per_1000_words_per_10M"] = float(np.mean([r["false_per_1000_words_per_10M"] for r in runs]))
        out[arm] = row
    past = [r["past"] for r in result["seeds"].values()]
    out["past"] = {"alarms_per_1000_words_per_10M": float(np.mean([p["alarms_per_1000_words_per_10M"] for p in past])),
                   "tokens": past[0]["tokens"]}
    return out


def print_table(summary, stops) -> None:
    head = "| arm | " + " | ".join(f"renamed +{s / 1e6:g}M" for s in stops) + " | " + \
        " | ".join(f"stable +{s / 1e6:g}M" for s in stops) + " | recall | median delay | false /1000 w /10M |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for arm, row in summary.items():
        if arm == "past":
            continue
        cells = [f"{row[f'renamed@{s}'][0]:.2f} ({row[f'renamed@{s}'][1]:.2f}–{row[f'renamed@{s}'][2]:.2f})"
                 if row.get(f"renamed@{s}") else "–" for s in stops]
        cells += [f"{row[f'stable@{s}'][0]:.2f}" if row.get(f"stable@{s}") else "–" for s in stops]
        md = row.get("median_delay")
        cells += [f"{row['recall']:.2f}" if "recall" in row else "–", f"{md / 1e3:.0f}k" if md else "–",
                  f"{row['false_per_1000_words_per_10M']:.2f}" if "recall" in row else "–"]
        print(f"| {arm} | " + " | ".join(cells) + " |")
    print(f"past (time-shuffled, {summary['past']['tokens']:,} tokens): "
          f"{summary['past']['alarms_per_1000_words_per_10M']:.3f} alarms per 1,000 words per 10M tokens")


if __name__ == "__main__":
    raise SystemExit(main())
