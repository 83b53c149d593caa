"""Two replicas on Ray over a 4-partition Kafka topic vs one process, on the same ~2M tokens of real text.

The measurements of `docs/scale-out.md`. One script, one machine, one run: the corpus (the first ``--tokens``
tokens of ``--corpus``, a corpus of ``streamsgns_tools.corpora``, ``mix`` by default) is produced to a
real Tansu broker (4 partitions, lines round-robin); then, interleaved, a single-process
``SGNS.learn_text`` over the same lines and settings, and ``ReplicaJob`` runs with 2 replicas on a
local Ray (``num_cpus=2``) for a sweep of sync intervals (tokens per replica between two syncs)
with ``rows="sum"`` (and with ``--overlap`` the same intervals with the exchange overlapped with
training, ``ReplicaJob(overlap=True)``), and the other row scheme of the delta path (``scaled``) at one interval (the
averaging schemes ``weighted`` / ``mean`` merged whole states on the driver, before the delta path). For each: ``words_seen``, WS-353 / SimLex-999 (Spearman) and
Google analogies (3CosAdd, 30k words), wall time, throughput per replica (tokens over the seconds
the replica spent training), seconds spent syncing (each round's wall time minus its slowest
replica's training), bytes moved per sync (the replicas' states up, the merged state down).

The machine has 2 cores shared by 4 agents working at once: throughput numbers are noisy and two
replicas share the same 2 cores that one process uses alone.

Usage::

    python benchmarks/scale_out/ray_replicas.py                      # 2M tokens of mix, sweep 20k/50k/200k
    python benchmarks/scale_out/ray_replicas.py --tokens 500000 --sync 100000
    python benchmarks/scale_out/ray_replicas.py --sync 50000 --others-at 0 --overlap   # plain and overlapped at 50k

Writes ``benchmarks/results/ray_replicas.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS  # noqa: E402
from benchmarks.scale_out.common import learn_lines, scores  # noqa: E402

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025, seed=0,
                track_cooc=False, average_eta=None, detect_changes=False)
BULK = {"linger_ms": 50, "batch_size": 1 << 20}


def corpus_lines(n_tokens: int, corpus: str = "mix") -> tuple[list[str], str]:
    from benchmarks.common import corpus_file
    from streamsgns.tokenize import tokenize

    path = corpus_file(corpus)
    out, n = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            out.append(line)
            n += len(tokenize(line))
            if n >= n_tokens:
                break
    return out, path.name


def _single_exact(lines, seed=None):
    from streamsgns import SGNS

    m = SGNS(**{**SETTINGS, **({} if seed is None else {"seed": seed})})
    t0 = time.perf_counter()
    learn_lines(m, lines)
    return {"model": m, "seconds": time.perf_counter() - t0}


def replicated(bootstrap: str, topic: str, sync_tokens: int, rows: str, tmp: str, tag: str,
               overlap: bool = False) -> dict:
    from streamsgns.distributed import ReplicaJob

    job = ReplicaJob(f"kafka://{bootstrap}/{topic}?group=bench-{tag}", replicas=2, sync_tokens=sync_tokens,
                     sync_seconds=60.0, idle_timeout=2.0, snapshot_dir=os.path.join(tmp, tag), snapshot_every="60s",
                     vectors=False, rows=rows, stiffness=9.0 if rows == "scaled" else None, overlap=overlap,
                     **SETTINGS)
    t0 = time.perf_counter()
    m = job.run()
    wall = time.perf_counter() - t0
    h = [r for r in job.history if r["tokens"]]
    full = [r for r in h if not any(r["idle"])] or h  # rounds that did not wait for the end of the input
    per_rep_tokens = [sum(r["tokens_per_replica"][k] for r in full) for k in range(2)]
    per_rep_train = [sum(r["train_s"][k] for r in full) for k in range(2)]
    per_rep_learn = [sum(r["learn_s"][k] for r in h) for k in range(2)]
    per_rep_all = [sum(r["tokens_per_replica"][k] for r in h) for k in range(2)]
    sync_s = sum(r["round_s"] - max(r["train_s"]) for r in h)
    return {"model": m, "wall_s": wall, "rounds": len(h),
            "throughput_per_replica": [t / s for t, s in zip(per_rep_tokens, per_rep_train)],
            "learner_throughput_per_replica": [t / s for t, s in zip(per_rep_all, per_rep_learn)],
            "round_s_mean": statistics.mean(r["round_s"] for r in full),
            "sync_s_total": sync_s, "sync_s_per_round": sync_s / max(1, len(h)),
            "merge_s_per_round": statistics.mean(r["merge_s"] for r in h),
            "bytes_per_sync": statistics.mean(r["bytes_up"] + r["bytes_down"] for r in h),
            "bytes_up_per_sync": statistics.mean(r["bytes_up"] for r in h),
            "bytes_down_per_sync": statistics.mean(r["bytes_down"] for r in h),
            "history": job.history}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=2_000_000)
    ap.add_argument("--corpus", default="mix", help="a corpus of streamsgns_tools.corpora, or a path")
    ap.add_argument("--overlap", action="store_true", help="also each interval with the exchange overlapped")
    ap.add_argument("--sync", type=int, nargs="+", default=[20_000, 50_000, 200_000])
    ap.add_argument("--rows", default="sum", help="row scheme of the sync sweep")
    ap.add_argument("--single-seeds", type=int, nargs="*", default=[1, 2],
                    help="more single-process runs with these seeds: the seed-to-seed spread of the scores")
    ap.add_argument("--others-at", type=int, default=50_000,
                    help="also run the other row schemes at this interval (0: not)")
    ap.add_argument("--out", default=str(RESULTS / "ray_replicas.json"))
    args = ap.parse_args(argv)

    import ray

    from streamsgns.tokenize import tokenize
    from streamsgns_tools.tansu import TansuBroker, create_topic, produce

    lines, corpus = corpus_lines(args.tokens, args.corpus)
    n_tokens = sum(len(tokenize(ln)) for ln in lines)
    print(f"corpus {corpus}: {len(lines)} lines, {n_tokens} tokens", flush=True)
    results = {"corpus": corpus, "lines": len(lines), "tokens": n_tokens, "settings": SETTINGS,
               "machine": "2 vCPUs, shared with other work (load averages below); 2 replicas share those 2 vCPUs",
               "load_before": os.getloadavg(), "runs": []}
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    tmp = tempfile.mkdtemp(prefix="ray-bench-")
    try:
        with TansuBroker(log_dir=os.path.join(tmp, "tansu")) as broker:
            create_topic(broker.bootstrap, "bench", partitions=4)
            t0 = time.perf_counter()
            produce(broker.bootstrap, "bench", lines, partition=[0, 1, 2, 3], **BULK)
            print(f"produced in {time.perf_counter() - t0:.1f} s", flush=True)
            plan = [("single", None, None)]
            for s in args.sync:
                plan += [("replicas", s, args.rows), ("single", None, None)]
                if args.overlap:
                    plan += [("overlap", s, args.rows), ("single", None, None)]
            if args.others_at:
                plan += [("replicas", args.others_at, r) for r in ("sum", "scaled") if r != args.rows]
            plan += [("single", None, seed) for seed in args.single_seeds]
            for kind, sync, rows in plan:
                if kind == "single":
                    seed = SETTINGS["seed"] if rows is None else rows  # a single run's third field: its seed
                    r = _single_exact(lines, seed=seed)
                    m = r["model"]
                    row = {"kind": "single", "seed": seed, "words_seen": m.words_seen, "wall_s": r["seconds"],
                           "tokens_per_s": m.words_seen / r["seconds"], "vocab_size": m.vocab_size, **scores(m)}
                else:
                    tag = f"{sync}-{rows}" + ("-overlap" if kind == "overlap" else "")
                    r = replicated(broker.bootstrap, "bench", sync, rows, tmp, tag, overlap=kind == "overlap")
                    m = r.pop("model")
                    hist = r.pop("history")
                    row = {"kind": "replicas", "overlap": kind == "overlap", "replicas": 2, "sync_tokens": sync, "rows": rows,
                           "words_seen": m.words_seen, "tokens_per_s": m.words_seen / r["wall_s"],
                           "vocab_size": m.vocab_size, **r, **scores(m), "history": hist}
                results["runs"].append(row)
                print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "history"},
                      flush=True)
    finally:
        ray.shutdown()
    results["load_after"] = os.getloadavg()
    _table(results)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {args.out}")
    return 0


def _table(results: dict) -> None:
    singles = [r for r in results["runs"] if r["kind"] == "single" and r["seed"] == SETTINGS["seed"]]
    ref = singles[0]
    print(f"\n{results['tokens']} tokens of {results['corpus']}; {results['machine']}; load average "
          f"{results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after")
    print("tok/s/rep: tokens read and trained per second by one replica over the rounds that did not wait for the "
          "end of the input (learner alone in brackets); single: one process, learner only")
    print(f"{'run':<22} {'words_seen':>10} {'WS353':>6} {'SimLex':>6} {'analog':>6} {'wall s':>7} "
          f"{'tok/s/rep':>15} {'sync s':>7} {'MB/sync':>8} {'rounds':>6}")
    for r in results["runs"]:
        name = (f"single, seed {r['seed']}" if r["kind"] == "single" else
                f"2 rep, {r['sync_tokens'] // 1000}k, {r['rows']}" + (", overlap" if r.get("overlap") else ""))
        tpr = (f"{statistics.mean(r['throughput_per_replica']) / 1e3:.0f}k "
               f"({statistics.mean(r['learner_throughput_per_replica']) / 1e3:.0f}k)" if r["kind"] == "replicas"
               else f"{r['tokens_per_s'] / 1e3:.0f}k")
        sync = f"{r['sync_s_total']:.1f}" if r["kind"] == "replicas" else "-"
        mb = f"{r['bytes_per_sync'] / 1e6:.0f}" if r["kind"] == "replicas" else "-"
        rounds = r.get("rounds", "-")
        wall = r["wall_s"]
        print(f"{name:<22} {r['words_seen']:>10} {r['ws353']:>6.3f} {r['simlex']:>6.3f} {r['analogies']:>6.3f} "
              f"{wall:>7.1f} {tpr:>15} {sync:>7} {mb:>8} {rounds:>6}")
    print(f"single-process throughput over {len(singles)} interleaved runs: median "
          f"{statistics.median(r['tokens_per_s'] for r in singles) / 1e3:.0f}k tokens/s; quality reference: "
          f"WS353 {ref['ws353']:.3f}, SimLex {ref['simlex']:.3f}, analogies {ref['analogies']:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
