"""Planted change: rename 20 pairs of frequent nouns halfway through the mix; how fast does each system follow?

The stream is the ``mix`` corpus (one sentence per line, the learner's tokens). From its midpoint
on, every occurrence of ``a`` is written as ``b`` and of ``b`` as ``a`` for 20 pairs of frequent
nouns of similar frequency (:mod:`streamsgns_tools.planted`). With ``--extend`` (default) the
first half follows again, renamed, so that the systems get twice as much text after the change
as before it (``--after`` caps the tokens after the change).

For each renamed word the target is its top-10 neighbour set in a **reference** model of the
same system trained on the renamed text only (the whole corpus renamed, one pass, same
parameters): what the word should look like once the change is learnt. Every ``--every`` tokens
after the change the streaming model's top-10 set is compared with the reference's: the
overlap ``|N_stream ∩ N_ref| / 10``; a word has *recovered* at the first checkpoint where the
overlap reaches 0.5. Neighbours are searched among the ``--neighbour-vocab`` most frequent words
of the corpus (those a model holds). The same overlap for 100 frequent words that are not
renamed gives the *ceiling*: how far two models of one system agree at all. Churn: the top-10
overlap of those words between consecutive checkpoints (1 = no churn).

Systems (``--systems``, comma-separated, all in one run):

* ``streamsgns``: ``SGNS`` (defaults, ``workers=1``), fed the token lists;
* ``streamsgns-hl<H>``: the same with ``half_life=H`` tokens (issue 9 part 1), e.g. ``hl2M``;
* ``gensim``: gensim's online mode as a user runs it today: per chunk of ``--every`` tokens,
  ``build_vocab(chunk, update=True)`` then ``train(chunk, total_examples=..., epochs=1)`` (each
  call restarts the learning rate at ``alpha`` and decays it to ``min_alpha`` over the chunk;
  ``min_count`` applies to each chunk), ``sg=1``, same parameters, ``workers=1``.

    python benchmarks/drift/planted.py                                # streamsgns, gensim
    python benchmarks/drift/planted.py --systems streamsgns,streamsgns-hl2M,streamsgns-hl5M,gensim
    python benchmarks/drift/planted.py --max-tokens 6000000           # first 6M tokens only

Prints tables, writes ``benchmarks/results/drift_planted.json`` and ``docs/drift/planted_*.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, environment, parse_tokens, write_json  # noqa: E402
from benchmarks.drift.common import FIGURES, make_sgns, overlap  # noqa: E402
from streamsgns.vectors import KeyedVectors  # noqa: E402
from streamsgns_tools.corpora import read_token_lists  # noqa: E402
from streamsgns_tools.planted import rename_tokens, swap_mapping  # noqa: E402

PAIRS = [("time", "state"), ("people", "world"), ("man", "law"), ("government", "water"), ("god", "year"),
         ("country", "body"), ("day", "power"), ("life", "city"), ("war", "family"), ("name", "species"),
         ("system", "king"), ("house", "children"), ("land", "head"), ("hand", "sea"), ("light", "money"),
         ("earth", "son"), ("word", "food"), ("language", "blood"), ("tree", "court"), ("heart", "president")]
"""20 pairs of frequent nouns of the mix, each pair of similar frequency (ratio < 1.5) and unrelated meaning."""

PARAMS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025, min_alpha=1e-4)


def kv_of(words, vectors, space) -> KeyedVectors:
    """KeyedVectors over the words of ``space`` (the corpus's most frequent words) that the model holds."""
    idx = {w: i for i, w in enumerate(words)}
    keep = [idx[w] for w in space if w in idx]
    return KeyedVectors([words[i] for i in keep], np.asarray(vectors[keep], dtype=np.float32))


def sgns_words(m):
    counts = np.asarray(m.counts)
    alive = np.flatnonzero(counts > 0)
    itk = m.index_to_key
    return [itk[i] for i in alive], m.vectors()[alive]


def top10(kv, words, k=10):
    return {w: [x for x, _ in kv.most_similar(w, topn=k)] if w in kv else [] for w in words}


class SGNSSystem:
    def __init__(self, half_life, seed):
        self.m = make_sgns(half_life=half_life, seed=seed, workers=1, track_cooc=False, **PARAMS)

    def learn(self, chunk):
        self.m.learn_many(chunk)

    def words(self):
        return sgns_words(self.m)


class GensimSystem:
    def __init__(self, half_life, seed):
        self.m = None
        self.seed = seed

    def learn(self, chunk):
        from gensim.models import Word2Vec

        n = sum(map(len, chunk))
        if self.m is None:
            self.m = Word2Vec(sg=1, hs=0, negative=PARAMS["negative"], window=PARAMS["window"],
                              vector_size=PARAMS["vector_size"], sample=PARAMS["sample"],
                              min_count=PARAMS["min_count"], alpha=PARAMS["alpha"], min_alpha=PARAMS["min_alpha"],
                              workers=1, seed=self.seed)
            self.m.build_vocab(chunk)
        else:
            self.m.build_vocab(chunk, update=True)
        self.m.train(chunk, total_examples=len(chunk), total_words=n, epochs=1)

    def words(self):
        return list(self.m.wv.index_to_key), self.m.wv.vectors


def make_system(name, seed):
    if name == "gensim":
        return GensimSystem(None, seed)
    if name == "streamsgns":
        return SGNSSystem(None, seed)
    if name.startswith("streamsgns-hl"):
        return SGNSSystem(parse_tokens(name[len("streamsgns-hl"):]), seed)
    raise SystemExit(f"unknown system {name!r}")


def chunks(token_lists, every):
    block, n = [], 0
    for t in token_lists:
        block.append(t)
        n += len(t)
        if n >= every:
            yield block, n
            block, n = [], 0
    if block:
        yield block, n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--systems", default="streamsgns,gensim")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=None, help="use only the first lines, up to this many tokens")
    ap.add_argument("--no-extend", action="store_true", help="stop at the end of the corpus (no renamed first half)")
    ap.add_argument("--after", default=None, help="cap on the tokens after the change, e.g. 8M")
    ap.add_argument("--every", type=int, default=1_000_000, help="tokens between checkpoints (and gensim's chunk)")
    ap.add_argument("--before", type=int, default=3, help="checkpoints (every --every tokens) before the change")
    ap.add_argument("--neighbour-vocab", type=int, default=20000)
    ap.add_argument("--stable", type=int, default=100, help="frequent words not renamed that are followed")
    ap.add_argument("--figures", default=str(FIGURES))
    ap.add_argument("--tag", default="", help="suffix of the JSON and figure names, e.g. -fine")
    ap.add_argument("--out", default=None, help="default benchmarks/results/drift_planted<tag>.json")
    args = ap.parse_args(argv)
    args.out = args.out or str(RESULTS / f"drift_planted{args.tag}.json")
    systems = args.systems.split(",")
    t_all = time.perf_counter()

    sents = read_token_lists(corpus_file(args.corpus, args.cache), args.max_tokens)
    cum = np.cumsum([len(t) for t in sents])
    total = int(cum[-1])
    mid = int(np.searchsorted(cum, total / 2)) + 1
    mapping = swap_mapping(PAIRS)
    renamed_words = sorted(mapping)
    renamed = list(rename_tokens(sents, mapping))
    stream_after = renamed[mid:] + ([] if args.no_extend else renamed[:mid])
    cap = parse_tokens(args.after)
    if cap:
        c2 = np.cumsum([len(t) for t in stream_after])
        stream_after = stream_after[:int(np.searchsorted(c2, cap)) + 1]
    before_tokens = int(cum[mid - 1])
    after_tokens = sum(map(len, stream_after))
    counts = Counter(w for t in sents for w in t)
    space = [w for w, _ in counts.most_common(args.neighbour_vocab)]
    rank = {w: i for i, w in enumerate(space)}
    stable = [w for w in space[100:2100] if w not in mapping][:: max(1, 2000 // args.stable)][:args.stable]
    followed = renamed_words + stable
    print(f"{args.corpus}: {total:,} tokens; change after {before_tokens:,}; {after_tokens:,} renamed tokens after it "
          f"({'corpus rest + first half renamed' if not args.no_extend else 'corpus rest'}); {len(PAIRS)} pairs; "
          f"{len(stable)} stable words (ranks 100-2100)")
    for a, b in PAIRS:
        print(f"  {a} ({counts[a]:,}, rank {rank[a]}) <-> {b} ({counts[b]:,}, rank {rank[b]})")

    res = {"args": vars(args), "env": environment(), "tokens": total, "before_tokens": before_tokens,
           "after_tokens": after_tokens, "pairs": PAIRS, "counts": {w: counts[w] for w in followed},
           "stable_words": stable, "systems": {}}
    refs = {}
    for name in systems:
        base = "gensim" if name == "gensim" else "streamsgns"
        # reference: the same system, without forgetting, on the renamed text only (the target; one per system)
        if base not in refs:
            t0 = time.perf_counter()
            if base == "gensim":
                from gensim.models import Word2Vec

                ref = Word2Vec(renamed, sg=1, hs=0, negative=PARAMS["negative"], window=PARAMS["window"],
                               vector_size=PARAMS["vector_size"], sample=PARAMS["sample"],
                               min_count=PARAMS["min_count"], alpha=PARAMS["alpha"], min_alpha=PARAMS["min_alpha"],
                               workers=1, seed=args.seed, epochs=1)
                words = (list(ref.wv.index_to_key), ref.wv.vectors)
            else:
                ref = make_system(base, args.seed)
                for c, _ in chunks(renamed, args.every):
                    ref.learn(c)
                words = ref.words()
            refs[base] = (top10(kv_of(*words, space), followed), time.perf_counter() - t0)
            print(f"\n[{name}] reference ({base} on the renamed corpus): {refs[base][1]:.0f} s", flush=True)
            del ref
        ref_nb, ref_s = refs[base]

        sysm = make_system(name, args.seed)
        t0 = time.perf_counter()
        seen = 0
        points = []

        def checkpoint(after):
            kv = kv_of(*sysm.words(), space)
            nb = top10(kv, followed)
            points.append({"after": after, "neighbours": nb,
                           "overlap": {w: overlap(nb[w], ref_nb[w]) if nb[w] and ref_nb[w] else None
                                       for w in followed}})

        for c, k in chunks(sents[:mid], args.every):
            sysm.learn(c)
            seen += k
            if before_tokens - seen >= args.every // 2 and before_tokens - seen <= args.before * args.every:
                checkpoint(seen - before_tokens)  # a few checkpoints before the change (negative)
        checkpoint(0)
        after = 0
        for c, k in chunks(stream_after, args.every):
            sysm.learn(c)
            after += k
            checkpoint(after)
        secs = time.perf_counter() - t0
        summ = summarise(points, renamed_words, stable)
        res["systems"][name] = {"seconds": secs, "reference_seconds": ref_s,
                                "tokens_per_s": (before_tokens + after_tokens) / secs, **summ,
                                "points": [{"after": p["after"], "overlap": p["overlap"]} for p in points],
                                "final_neighbours": {w: points[-1]["neighbours"][w] for w in renamed_words[:10]},
                                "reference_neighbours": {w: ref_nb[w] for w in renamed_words[:10]}}
        print(f"[{name}] {before_tokens + after_tokens:,} tokens in {secs:.0f} s "
              f"({(before_tokens + after_tokens) / secs / 1e6:.2f} M tokens/s incl. checkpoints; shared machine)")
        print(f"{'after change':>12} {'renamed':>8} {'>=0.5':>6} {'stable':>7} {'churn':>6}")
        for p, r in zip(points, summ["series"]):
            print(f"{p['after'] / 1e6:>11.2f}M {r['renamed_mean']:>8.3f} {r['renamed_recovered']:>6} "
                  f"{r['stable_mean']:>7.3f} {r['stable_churn'] if r['stable_churn'] is not None else float('nan'):>6.3f}")
        print(f"[{name}] words recovered (overlap >= 0.5): {summ['recovered']}/{len(renamed_words)}; median tokens "
              f"to recover: {summ['median_tokens_to_recover']}; renamed mean overlap crosses 0.5 at "
              f"{summ['mean_crosses_half_at']}", flush=True)
        write_json(args.out, res)

    print("\nsummary (tokens after the change; overlap of top-10 with the reference)")
    print(f"{'system':<20} {'recovered':>9} {'median tokens':>14} {'mean>=0.5 at':>13} {'final renamed':>13} "
          f"{'final stable':>12} {'churn':>6} {'tok/s':>8}")
    for name, s in res["systems"].items():
        last = s["series"][-1]
        print(f"{name:<20} {s['recovered']:>5}/{len(renamed_words):<3} {str(s['median_tokens_to_recover']):>14} "
              f"{str(s['mean_crosses_half_at']):>13} {last['renamed_mean']:>13.3f} {last['stable_mean']:>12.3f} "
              f"{s['mean_churn_after']:>6.3f} {s['tokens_per_s']:>8,.0f}")
    res["seconds"] = time.perf_counter() - t_all
    _plot(res, renamed_words, args)
    print(f"\nwrote {write_json(args.out, res)}")
    return 0


def summarise(points, renamed_words, stable) -> dict:
    series = []
    prev = None
    for p in points:
        ro = [p["overlap"][w] for w in renamed_words if p["overlap"][w] is not None]
        so = [p["overlap"][w] for w in stable if p["overlap"][w] is not None]
        churn = rchurn = None
        if prev is not None:
            churn = float(np.mean([overlap(p["neighbours"][w], prev["neighbours"][w]) for w in stable
                                   if p["neighbours"][w] and prev["neighbours"][w]]))
            rc = [overlap(p["neighbours"][w], prev["neighbours"][w]) for w in renamed_words
                  if p["neighbours"][w] and prev["neighbours"][w]]
            rchurn = float(np.mean(rc)) if rc else None
        series.append({"after": p["after"], "renamed_mean": float(np.mean(ro)) if ro else 0.0,
                       "renamed_recovered": sum(x >= 0.5 for x in ro), "stable_mean": float(np.mean(so)),
                       "stable_churn": churn, "renamed_churn": rchurn})
        prev = p
    to_recover = {}
    for w in renamed_words:
        hit = next((p["after"] for p in points if p["after"] >= 0 and (p["overlap"][w] or 0) >= 0.5), None)
        to_recover[w] = hit
    hits = sorted(v for v in to_recover.values() if v is not None)
    crosses = next((s["after"] for s in series if s["after"] >= 0 and s["renamed_mean"] >= 0.5), None)
    churns = [s["stable_churn"] for s in series if s["stable_churn"] is not None and s["after"] > 0]
    return {"series": series, "tokens_to_recover": to_recover, "recovered": len(hits),
            "median_tokens_to_recover": (int(np.median(hits)) if len(hits) * 2 >= len(renamed_words) else
                                         f"> {points[-1]['after']:,}"),
            "mean_crosses_half_at": crosses if crosses is not None else f"> {points[-1]['after']:,}",
            "mean_churn_after": float(np.mean(churns)) if churns else float("nan")}


def _plot(res, renamed_words, args):
    from streamsgns.drift_series import _figure, _token_formatter

    fig = _figure(13, 4.8)
    a1, a2 = fig.subplots(1, 2)
    colors = {}
    for i, (name, s) in enumerate(res["systems"].items()):
        c = f"C{i}"
        colors[name] = c
        xs = [p["after"] for p in s["series"]]
        a1.plot(xs, [p["renamed_mean"] for p in s["series"]], "o-", color=c, label=f"{name}: renamed words")
        a1.plot(xs, [p["stable_mean"] for p in s["series"]], "s:", color=c, alpha=0.7,
                label=f"{name}: words not renamed (ceiling)")
        a2.plot(xs[1:], [p["stable_churn"] for p in s["series"][1:]], "o-", color=c, label=f"{name}: not renamed")
        rc = [(x, p.get("renamed_churn")) for x, p in zip(xs[1:], s["series"][1:]) if p.get("renamed_churn") is not None]
        if rc:
            a2.plot(*zip(*rc), "x--", color=c, alpha=0.6, label=f"{name}: renamed")
    a1.axhline(0.5, color="k", lw=1, ls="--", label="0.5: recovered")
    a1.set_xlabel("tokens after the change")
    a1.set_ylabel("overlap of top-10 with the reference")
    a1.set_title(f"renamed words ({len(renamed_words)}) reach the renamed-text reference", loc="left", fontsize=10)
    a1.xaxis.set_major_formatter(_token_formatter())
    a1.set_ylim(0, 1)
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7, loc="upper left")
    a2.set_xlabel("tokens after the change")
    for ax in (a1, a2):
        ax.axvline(0, color="grey", lw=1)
    a2.set_ylabel("top-10 overlap with the previous checkpoint")
    a2.set_title(f"churn: {len(res['stable_words'])} frequent words not renamed, and the renamed (1 = no churn)",
                 loc="left", fontsize=10)
    a2.xaxis.set_major_formatter(_token_formatter())
    a2.set_ylim(0, 1)
    a2.grid(alpha=0.3)
    a2.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"planted change: 20 noun pairs swapped after {res['before_tokens'] / 1e6:.3g}M tokens of the mix "
                 f"corpus, checkpoint every {args.every / 1e6:g}M tokens")
    fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.12, wspace=0.2)
    os.makedirs(args.figures, exist_ok=True)
    p = os.path.join(args.figures, f"planted_recovery{args.tag}.png")
    fig.savefig(p, dpi=100)
    res["figures"] = [p]


if __name__ == "__main__":
    raise SystemExit(main())
