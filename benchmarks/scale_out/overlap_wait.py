"""How long replicas wait for syncs, with and without ``--overlap``: 2 replicas on a local Ray, a real Tansu broker.

The first ``--tokens`` tokens of the ``mix`` corpus are produced to a 4-partition topic (lines
round-robin); then ``ReplicaJob`` runs with 2 replicas (``num_cpus=2``), alternately without and with
``overlap=True``, each run ``--repeat`` times, on the same topic (a new consumer group each run).
For each run: ``words_seen`` (must equal the tokens produced), wall seconds, and the job's ``sync``
totals: ``train_s`` (replica seconds reading and training, summed over replicas), ``wait_s``
(replica seconds between two rounds' training: waiting for the merge, applying, loading; with
overlap also the late apply), ``fetch_s`` (with overlap: the part of ``wait_s`` spent waiting for
the merged update), and their ratio ``wait_s / train_s``; per round: the replicas' ``load_s``
(applying the update in place, or late) and the merge actor's seconds.

The two replicas, the merge actor, the driver and the broker share the machine's cores (and, on the
development machine, other agents' jobs): the seconds are noisy, the ratio is what the comparison is about.

Usage::

    python benchmarks/scale_out/overlap_wait.py --tokens 1000000 --sync 50000 --repeat 2

Writes ``benchmarks/scale_out/results/overlap_wait.json`` and prints a table.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.scale_out.common import git_commit  # noqa: E402

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, seed=0, detect_changes=False)
BULK = {"linger_ms": 50, "batch_size": 1 << 20}


def run_job(bootstrap: str, topic: str, sync_tokens: int, overlap: bool, tmp: str, tag: str) -> dict:
    from streamsgns.distributed import ReplicaJob

    job = ReplicaJob(f"kafka://{bootstrap}/{topic}?group=wait-{tag}", replicas=2, sync_tokens=sync_tokens,
                     sync_seconds=60.0, idle_timeout=2.0, snapshot_dir=os.path.join(tmp, tag), snapshot_every="60s",
                     vectors=False, overlap=overlap, **SETTINGS)
    t0 = time.perf_counter()
    m = job.run()
    wall = time.perf_counter() - t0
    s = dict(job.sync)
    busy = [h for h in job.history if not any(h["idle"])]  # rounds before the end of the input
    return {"overlap": overlap, "sync_tokens": sync_tokens, "words_seen": int(m.words_seen), "wall_s": wall,
            "sync": s, "wait_over_train": s["wait_s"] / s["train_s"],
            "busy_rounds": len(busy),
            "busy_wait_over_train": sum(sum(h["wait_s"]) for h in busy) / max(1e-9, sum(sum(h["train_s"]) for h in busy)),
            "load_s_median": statistics.median([x for h in job.history for x in h["load_s"]]),
            "fetch_s_median": statistics.median([x for h in job.history for x in h["fetch_s"]]) if overlap else None,
            "merger_s_median": statistics.median([h["merger_s"] for h in job.history]),
            "history": job.history}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--sync", type=int, default=50_000, help="tokens per replica per round")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "overlap_wait.json"))
    args = ap.parse_args(argv)

    import ray

    from benchmarks.scale_out.simulate import corpus
    from streamsgns_tools.tansu import TansuBroker, create_topic, produce

    lines, ntok = corpus(args.tokens)
    produced = int(ntok.sum())
    print(f"mix: {len(lines)} lines, {produced} tokens", flush=True)
    out = {"tokens": produced, "lines": len(lines), "settings": SETTINGS, "commit": git_commit(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_avg_start": os.getloadavg(),
           "machine": "2 vCPUs shared with other agents' jobs: seconds are noisy", "runs": []}
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    tmp = tempfile.mkdtemp(prefix="overlap-wait-")
    try:
        with TansuBroker(log_dir=os.path.join(tmp, "tansu")) as broker:
            create_topic(broker.bootstrap, "wait", partitions=4)
            produce(broker.bootstrap, "wait", lines, partition=[0, 1, 2, 3], **BULK)
            for i in range(args.repeat):
                for overlap in (False, True):
                    tag = f"{'on' if overlap else 'off'}{i}"
                    r = run_job(broker.bootstrap, "wait", args.sync, overlap, tmp, tag)
                    r["load_avg"] = os.getloadavg()
                    assert r["words_seen"] == produced, (r["words_seen"], produced)
                    out["runs"].append(r)
                    s = r["sync"]
                    print(f"overlap={overlap}: {s['rounds']} rounds, wall {r['wall_s']:.1f} s, train {s['train_s']:.1f} s, "
                          f"wait {s['wait_s']:.1f} s (fetch {s.get('fetch_s', 0):.1f} s), wait/train "
                          f"{r['wait_over_train']:.3f} (busy rounds {r['busy_wait_over_train']:.3f}), "
                          f"load median {r['load_s_median']:.3f} s, merge actor median {r['merger_s_median']:.3f} s, "
                          f"load avg {r['load_avg'][0]:.1f}", flush=True)
    finally:
        ray.shutdown()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
