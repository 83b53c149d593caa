#!/usr/bin/env python
"""The learning rule of an endless stream (issue 8): last iterate vs averaged iterates, and gensim, one run.

Two measurements, each system on the same tokens in the same order within one run:

``fullrank``
    The setting of ``benchmarks/quality/pmi_full_rank.py``: the Brown corpus restricted to its 300 most
    frequent words, vector_size 400 ≥ |V|, sample 0, min_count 1, every other parameter at its
    **default**, the stream fed ``--passes`` times, in corpus order and reshuffled each pass.
    Score: Spearman(W·Cᵀ, PMI − log k) over pairs with expected #(w,c) ≥ 5 per pass, against the
    PMI counted independently from the raw tokens (``IndependentTarget``). For streamsgns both
    read-outs come from the same run: the last iterate (``SGNS.W``, ``SGNS.C``) and the exported
    averages (``SGNS.vectors``, :mod:`streamsgns.averaging`, ``average_eta`` = 10 by default, and
    the extra η values of ``--etas``, each its own run). gensim 4 Word2Vec (defaults, sg=1, same
    settings, ``epochs = passes``) in corpus order and in one fixed shuffled order (gensim repeats
    its corpus each epoch; streamsgns' "reshuffled" draws a new order per pass, so the two shuffled
    rows are not the same order: the table says so).
``mix``
    One pass over the mix corpus with the defaults (workers=1): WS353, SimLex-999 and Google
    analogies (restrict_vocab 30000) of the last iterate and of the averages (same run), and the
    throughput with averaging on and off (separate runs, interleaved ``--repeat`` times).
``long``
    The mix corpus streamed ``--stream-passes`` times (10), reshuffled each pass: the scores after
    passes 1, 2, 5 and 10 (an endless stream must not end worse than one pass).
``speed``
    Words/s of the candidate settings (``--params``) against the defaults on the first
    ``--speed-bytes`` of mix, workers=1, interleaved ``--repeat`` times (medians).

Usage::

    python benchmarks/learning_rule/learning_rule.py [--parts fullrank,mix,speed,long] [--passes 20] [--etas 3,10]
        [--params '{"alpha": 0.05, "word_decay": 1000}']
        [--cache DIR] [--json benchmarks/results/learning_rule.json]
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, write_json  # noqa: E402  (atomic JSON, as every benchmark here)
from benchmarks.quality.pmi_full_rank import IndependentTarget, gensim_vectors, restricted_corpus  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns.evaluate import evaluate_all  # noqa: E402


def fullrank(args, out):
    from streamsgns_tools.corpora import fetch

    out["fullrank"] = {}
    for corpus in args.corpora:
        out["fullrank"][corpus] = _fullrank_one(args, fetch(corpus, cache_dir=args.cache), corpus)


def _fullrank_one(args, path, corpus):
    print(f"full rank: {corpus} top-300, {args.passes} passes", flush=True)
    sents, words = restricted_corpus(path, 300)
    tgt = IndependentTarget(sents, words)
    rows = []
    settings = dict(vector_size=400, sample=0.0, min_count=1, seed=0, **args.params)
    for order in ("corpus", "reshuffled"):
        for eta in args.etas:
            m = SGNS(**settings, average_eta=eta)
            stream = list(sents)
            t0 = time.time()
            for p in range(args.passes):
                if order == "reshuffled":
                    random.Random(p).shuffle(stream)
                m.learn_many(stream)
            secs = time.time() - t0
            ids = np.array([m.key_to_index[w] for w in words])
            last = tgt.report(np.asarray(m.W[ids]), np.asarray(m.C[ids]))["spearman"]
            avg = tgt.report(m.vectors("W")[ids], m.vectors("C")[ids])["spearman"]
            if eta == args.etas[0]:
                rows.append({"system": "streamsgns", "readout": "last iterate", "order": order, "eta": None,
                             "spearman": last, "seconds": secs, "alpha_end": m.current_alpha})
            rows.append({"system": "streamsgns", "readout": "averaged", "order": order, "eta": eta,
                         "spearman": avg, "seconds": secs, "alpha_end": m.current_alpha})
            print(f"  streamsgns {order:<10s} eta={eta:g}: last {last:.4f}  averaged {avg:.4f}  ({secs:.0f} s)", flush=True)
        if not args.no_gensim:
            g_order = "corpus" if order == "corpus" else "shuffled"
            W, C, secs = gensim_vectors(sents, words, g_order, 0, args.passes, vector_size=400, sample=0.0,
                                        min_count=1, workers=1)
            rep = tgt.report(W, C)["spearman"]
            rows.append({"system": "gensim", "readout": "last iterate (linear decay to min_alpha)", "order": g_order,
                         "eta": None, "spearman": rep, "seconds": secs})
            print(f"  gensim     {g_order:<10s}: {rep:.4f}  ({secs:.0f} s)", flush=True)
    print(f"\n{'system':<11s} {'read-out':<42s} {'order':<11s} {'eta':>4s} {'Spearman':>9s} {'sec':>6s}")
    for r in rows:
        eta = "" if r["eta"] is None else f"{r['eta']:g}"
        print(f"{r['system']:<11s} {r['readout']:<42s} {r['order']:<11s} {eta:>4s} {r['spearman']:>9.4f} {r['seconds']:>6.0f}")
    return {"corpus": f"{corpus} top-300", "passes": args.passes, "settings": settings, "rows": rows}


def _scores(words, vecs):
    ev = evaluate_all(words, vecs)
    return {"ws353": ev["wordsim353"]["spearman"], "simlex": ev["simlex999"]["spearman"],
            "analogies": ev["analogies"]["accuracy"]}


def mix(args, out):
    from streamsgns_tools.corpora import fetch

    path = fetch("mix", cache_dir=args.cache)
    rows, speed, fold = [], {"averaged": [], "last iterate only": []}, None
    for rep in range(args.repeat):
        for label, eta in (("averaged", 10.0), ("last iterate only", None)):
            m = SGNS(seed=0, workers=1, average_eta=eta, **args.params)
            m.learn_file(str(ROOT / "README.md"))  # compile the kernels outside the clock
            m = SGNS(seed=0, workers=1, average_eta=eta, **args.params)
            t0 = time.time()
            m.learn_file(path)
            m.flush()
            secs = time.time() - t0
            speed[label].append(m.words_seen / secs)
            print(f"  mix {label:<18s} {m.words_seen:,} tokens in {secs:.1f} s: {m.words_seen / secs:,.0f} words/s", flush=True)
            if rep == 0 and eta is not None:
                alive = [i for i, w in enumerate(m.index_to_key) if w is not None and m.counts[i] > 0]
                words = [m.index_to_key[i] for i in alive]
                for readout, vecs in (("last iterate", np.asarray(m.W)[alive]), ("averaged", m.vectors("W")[alive])):
                    s = _scores(words, vecs)
                    rows.append({"readout": readout, **s})
                    print(f"  mix {readout:<14s} WS353 {s['ws353']:.4f}  SimLex {s['simlex']:.4f}  analogies {s['analogies']:.4f}", flush=True)
                fold_s = []
                for _ in range(5):  # after the scores (a fold changes the averages): the fold's cost, timed directly (the fastest of 5: robust to a busy machine)
                    t1 = time.perf_counter()
                    m.fold_average()
                    fold_s.append(time.perf_counter() - t1)
                every = m.average.interval(m.n_ids)
                fold = {"n_ids": int(m.n_ids), "every_tokens": int(every), "fold_s": min(fold_s),
                        "fold_ns_per_token": 1e9 * min(fold_s) / every}
                print(f"  fold of {m.n_ids:,} rows: {1e3 * min(fold_s):.1f} ms every {every:,} tokens "
                      f"= {fold['fold_ns_per_token']:.1f} ns per token", flush=True)
    med = {k: float(np.median(v)) for k, v in speed.items()}
    out["mix"] = {"tokens": int(m.words_seen), "scores": rows, "words_per_s": med, "fold": fold,
                  "words_per_s_runs": speed, "cost_of_averaging": 1.0 - med["averaged"] / med["last iterate only"]}
    print(f"  throughput: averaged {med['averaged']:,.0f} w/s, last iterate only {med['last iterate only']:,.0f} w/s "
          f"(cost {100 * out['mix']['cost_of_averaging']:.1f} %)")


def long_stream(args, out):
    """The mix corpus streamed ``--stream-passes`` times, its lines reshuffled each pass (a new order per pass).

    The scores of the exported (averaged) vectors after passes 1, 2, 5, 10, …: an endless stream
    must not get worse than one pass (issue 8). ``--params`` as elsewhere; ``--workers`` threads.
    """
    from streamsgns_tools.corpora import fetch

    with open(fetch("mix", cache_dir=args.cache), "rb") as f:
        lines = f.read().splitlines(keepends=True)
    m = SGNS(seed=0, workers=args.workers, **args.params)
    rows, t0 = [], time.time()
    for p in range(1, args.stream_passes + 1):
        order = list(range(len(lines)))
        random.Random(p).shuffle(order)
        for lo in range(0, len(order), 20000):
            m.learn_text(b"".join(lines[i] for i in order[lo:lo + 20000]))
        m.flush()
        if p in (1, 2, 5) or p % 10 == 0 or p == args.stream_passes:
            alive = [i for i, w in enumerate(m.index_to_key) if w is not None and m.counts[i] > 0]
            s = _scores([m.index_to_key[i] for i in alive], m.vectors("W")[alive])
            rows.append({"passes": p, "tokens": int(m.words_seen), "seconds": time.time() - t0, **s})
            print(f"  long stream: pass {p:>3d} ({m.words_seen:,} tokens, {time.time() - t0:.0f} s): WS353 "
                  f"{s['ws353']:.4f}  SimLex {s['simlex']:.4f}  analogies {s['analogies']:.4f}", flush=True)
    out["long_stream"] = {"params": args.params, "workers": args.workers, "rows": rows}


def speed(args, out):
    """Throughput of the candidate (``--params``) against the defaults, interleaved on the same text."""
    from streamsgns_tools.corpora import fetch

    path = fetch("mix", cache_dir=args.cache)
    with open(path, "rb") as f:
        data = f.read(args.speed_bytes)
    data = data[: data.rfind(b"\n") + 1]
    runs = {"defaults": [], "candidate": []}
    for label, params in (("defaults", {}), ("candidate", args.params)):
        SGNS(seed=0, **params).learn_text(data[:100_000])  # compile outside the clock
    for rep in range(args.repeat):
        for label, params in (("defaults", {}), ("candidate", args.params)):
            m = SGNS(seed=0, workers=1, **params)
            t0 = time.perf_counter()
            m.learn_text(data)
            m.flush()
            runs[label].append(m.words_seen / (time.perf_counter() - t0))
    med = {k: float(np.median(v)) for k, v in runs.items()}
    out["speed"] = {"bytes": len(data), "words_per_s": med, "runs": runs, "params": args.params,
                    "cost": 1.0 - med["candidate"] / med["defaults"]}
    print(f"  speed (interleaved x{args.repeat}, {len(data):,} bytes of mix): defaults {med['defaults']:,.0f} w/s, "
          f"candidate {med['candidate']:,.0f} w/s (cost {100 * out['speed']['cost']:.1f} %)", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="fullrank,mix")
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--corpora", default="brown", help="corpora of the full-rank part (names of streamsgns_tools.corpora)")
    ap.add_argument("--etas", default="10", help="average_eta values of the full-rank runs (the first one also gives the last iterate)")
    ap.add_argument("--repeat", type=int, default=2, help="throughput runs per variant (mix)")
    ap.add_argument("--no-gensim", action="store_true")
    ap.add_argument("--stream-passes", type=int, default=10, help="passes over mix of the long-stream part")
    ap.add_argument("--workers", type=int, default=2, help="threads of the long-stream part")
    ap.add_argument("--speed-bytes", type=int, default=20 << 20, help="text of mix for the speed part (bytes)")
    ap.add_argument("--params", type=json.loads, default={},
                    help='JSON of other SGNS parameters for the streamsgns runs (a candidate), e.g. \'{"alpha": 0.05}\'')
    ap.add_argument("--cache", default=os.environ.get("STREAMSGNS_DATA"))
    ap.add_argument("--json", default=str(RESULTS / "learning_rule.json"))
    args = ap.parse_args(argv)
    args.etas = [float(e) for e in args.etas.split(",")]
    args.corpora = args.corpora.split(",")
    out = {"argv": sys.argv[1:], "params": args.params, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cpus": os.cpu_count(), "note": "machine shared with other jobs: throughput is indicative"}
    parts = args.parts.split(",")
    if "fullrank" in parts:
        fullrank(args, out)
    if "mix" in parts:
        mix(args, out)
    if "speed" in parts:
        speed(args, out)
    if "long" in parts:
        long_stream(args, out)
    print(f"wrote {write_json(args.json, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
