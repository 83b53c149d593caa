"""What change detection and the bounded export lag cost on a stream that does not change.

One pass over the ``mix`` corpus in corpus order, ``workers`` as ``bench_vs_gensim`` (2), the
defaults against the same model without them (``detect_changes=False, average_horizon=None``),
in one run: WS353, SimLex-999 and Google analogies of the exported vectors
(:func:`streamsgns.evaluate.evaluate_all`, ``restrict_vocab=30000``), the change events raised
(every one false: the stream is the corpus as it is), and words/s, the variants interleaved
``--repeat`` times after one untimed warm-up of each (the compilation is not a cost of detection):
medians of words/s and of the paired ratios (run ``i`` of the defaults against run ``i`` without),
and the process CPU seconds per run (on 2 vCPUs with two training threads and the parser, CPU
time is steadier than wall time; the bar is on throughput, wall time). Every run is scored
(``workers > 1`` runs are not reproducible: the scores' spread over the repeats is part of the
answer); the evaluation is outside the timed part.

    python benchmarks/drift/stationary_cost.py --repeat 5
    python benchmarks/drift/stationary_cost.py --chunks 48 --repeat 9   # what docs/drift.md reports

``--chunks N``: the two variants learn side by side, two models alive at once, the corpus cut into
``N`` pieces at line ends and each piece given to one model then the other (the order alternating
piece by piece), each piece timed to its ``flush()``. A machine whose speed drifts over tens of
seconds (this project's: ±10 % between whole runs of the same code) then slows both variants alike
within a piece, and the cost is read from the pieces' paired times (their sums and the median of
their ratios), not from whole runs minutes apart. Each model still learns the whole corpus in
order, as one pass; a ``flush()`` per piece drains the threads' queue at its end, in both variants.

Prints a table, writes ``benchmarks/results/drift_stationary_cost.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, environment, write_json  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns.evaluate import evaluate_all  # noqa: E402

VARIANTS = {"defaults": {}, "without": {"detect_changes": False, "average_horizon": None}}


def warm_up(workers: int, text: bytes) -> None:
    """Compile every kernel the variants use (training, a change check, a search), outside the timed runs."""
    for kw in VARIANTS.values():
        m = SGNS(workers=workers, seed=0, **kw)
        m.learn_text(text)
        m.flush()
        m.check_changes()
        m.most_similar(m.index_to_key[0])
        m.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chunks", type=int, default=0,
                    help="learn the variants side by side, piece by piece (0: whole runs one after the other)")
    ap.add_argument("--out", default=str(RESULTS / "drift_stationary_cost.json"))
    args = ap.parse_args(argv)
    path = corpus_file(args.corpus, args.cache)
    if args.chunks > 0:
        return side_by_side(args, path)
    runs = {k: [] for k in VARIANTS}
    with open(path, "rb") as f:
        warm_up(args.workers, f.read(2_000_000))
    for rep in range(args.repeat):
        for name, kw in VARIANTS.items():
            m = SGNS(workers=args.workers, seed=0, **kw)
            t0, c0 = time.perf_counter(), time.process_time()
            m.learn_file(path)
            m.flush()
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            r = {"seconds": secs, "cpu_seconds": cpu, "words_per_s": m.words_seen / secs, "changes": m.changes_count}
            counts = m.counts  # the exported vectors by decreasing count, as a word2vec snapshot holds them
            alive = np.flatnonzero(counts > 0)
            order = alive[np.argsort(-counts[alive], kind="stable")]
            ev = evaluate_all([m.index_to_key[i] for i in order], m.vectors()[order], restrict_vocab=30000)
            r["scores"] = {"ws353": round(ev["wordsim353"]["spearman"], 4),
                           "simlex": round(ev["simlex999"]["spearman"], 4),
                           "analogies": round(ev["analogies"]["accuracy"], 4)}
            runs[name].append(r)
            print(f"{name:9s} run {rep}: {r['words_per_s']:,.0f} words/s, {cpu:.2f} CPU s, {r['changes']} change events, "
                  f"scores {r['scores']}", flush=True)
            m.close()
    med = {k: float(np.median([r["words_per_s"] for r in v])) for k, v in runs.items()}
    scores = {k: {s: [r["scores"][s] for r in v] for s in ("ws353", "simlex", "analogies")} for k, v in runs.items()}
    paired = [1 - d["words_per_s"] / w["words_per_s"] for d, w in zip(runs["defaults"], runs["without"])]
    cpu = {k: float(np.median([r["cpu_seconds"] for r in v])) for k, v in runs.items()}
    res = {"env": environment(), "args": vars(args), "runs": runs, "median_words_per_s": med,
           "cost": 1 - med["defaults"] / med["without"], "paired_costs": paired,
           "median_paired_cost": float(np.median(paired)), "median_cpu_seconds": cpu,
           "cpu_cost": cpu["defaults"] / cpu["without"] - 1,
           "mean_score_difference": {s: float(np.mean(scores["defaults"][s]) - np.mean(scores["without"][s]))
                                     for s in ("ws353", "simlex", "analogies")}}
    for s, d in res["mean_score_difference"].items():
        print(f"{s}: defaults {np.round(scores['defaults'][s], 4).tolist()} without "
              f"{np.round(scores['without'][s], 4).tolist()}: mean difference {d:+.4f}")
    print(f"throughput: defaults {med['defaults']:,.0f} vs without {med['without']:,.0f} words/s "
          f"(cost {100 * res['cost']:.1f} %); paired costs {np.round(100 * np.array(paired), 1).tolist()} % "
          f"(median {100 * res['median_paired_cost']:.1f} %); CPU s {cpu['defaults']:.2f} vs {cpu['without']:.2f} "
          f"(+{100 * res['cpu_cost']:.1f} %)")
    write_json(args.out, res)
    print(f"wrote {args.out}")
    return 0


def pieces(data: bytes, n: int) -> list[bytes]:
    """``data`` cut into ``n`` pieces of about equal size, each ending at a line end."""
    out, start = [], 0
    for k in range(1, n + 1):
        end = len(data) if k == n else data.find(b"\n", k * len(data) // n)
        end = len(data) if end < 0 else end + 1
        if end > start:
            out.append(data[start:end])
        start = max(start, end)
    return out


def side_by_side(args, path) -> int:
    """``--chunks``: both variants alive at once, fed piece by piece (see the module docstring)."""
    with open(path, "rb") as f:
        data = f.read()
    parts = pieces(data, args.chunks)
    warm_up(args.workers, data[:2_000_000])
    names = list(VARIANTS)
    reps = []
    for rep in range(args.repeat):
        models = {k: SGNS(workers=args.workers, seed=0, **kw) for k, kw in VARIANTS.items()}
        secs = {k: [] for k in names}
        cpu = {k: [] for k in names}
        for i, part in enumerate(parts):
            for name in (names if (i + rep) % 2 == 0 else names[::-1]):
                m = models[name]
                t0, c0 = time.perf_counter(), time.process_time()
                m.learn_text(part)
                m.flush()
                secs[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        words = {k: models[k].words_seen for k in names}
        ratios = [d / w for d, w in zip(secs["defaults"], secs["without"])]
        r = {"seconds": {k: float(sum(v)) for k, v in secs.items()}, "cpu_seconds": {k: float(sum(v)) for k, v in cpu.items()},
             "words_seen": words, "changes": models["defaults"].changes_count,
             "cost": 1 - (words["defaults"] / sum(secs["defaults"])) / (words["without"] / sum(secs["without"])),
             "median_piece_cost": float(1 - 1 / np.median(ratios)),
             "cpu_cost": sum(cpu["defaults"]) / sum(cpu["without"]) - 1, "piece_seconds": secs}
        reps.append(r)
        print(f"repeat {rep}: defaults {words['defaults'] / r['seconds']['defaults']:,.0f} words/s, without "
              f"{words['without'] / r['seconds']['without']:,.0f}: cost {100 * r['cost']:.1f} % (median of "
              f"{len(parts)} pieces {100 * r['median_piece_cost']:.1f} %), CPU {100 * r['cpu_cost']:+.1f} %, "
              f"{r['changes']} change events", flush=True)
        for m in models.values():
            m.close()
    res = {"env": environment(), "args": vars(args), "mode": "side_by_side", "repeats": reps,
           "median_cost": float(np.median([r["cost"] for r in reps])),
           "median_cpu_cost": float(np.median([r["cpu_cost"] for r in reps]))}
    print(f"throughput cost, median of {len(reps)} repeats: {100 * res['median_cost']:.1f} % "
          f"(CPU {100 * res['median_cpu_cost']:+.1f} %)")
    write_json(args.out, res)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
