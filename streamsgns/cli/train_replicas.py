"""``streamsgns train --replicas N``: one model trained by N Ray actors from one Kafka topic.

The options of ``train`` that apply (model settings, ``--snapshot-dir``, ``--snapshot-every``,
``--keep``, ``--resume``, ``--output``, ``--binary``, ``--group``, ``--idle-timeout``,
``--summary``) mean the same; ``--ray-address``, ``--sync-tokens`` and ``--sync-seconds`` are
this mode's. Ray is imported only here (``pip install streamsgns[ray]``). See
:mod:`streamsgns.distributed.job` and ``docs/scale-out.md``.
"""

from __future__ import annotations

import json
import logging
import signal
import sys

__all__ = ["add_replica_arguments", "cmd_train_replicas"]

log = logging.getLogger("streamsgns")


def add_replica_arguments(parser, number_type) -> None:
    """Add the ``replicas`` group of ``train``: ``--replicas``, ``--ray-address``, ``--sync-tokens``, ``--sync-seconds``,
    ``--delta-fp16``, ``--rare-below``, ``--overlap``."""
    g = parser.add_argument_group("replicas (Ray)", "one model trained by N Ray actors from one Kafka topic "
                                                    "(pip install 'streamsgns[ray]')")
    g.add_argument("--replicas", type=number_type("pos_int"), default=None, metavar="N",
                   help="train one model with N Ray actors (needs --input kafka://...)")
    g.add_argument("--ray-address", default=None, metavar="ADDRESS",
                   help="with --replicas: 'auto' or HOST:PORT of a running Ray cluster (default: a local Ray)")
    g.add_argument("--sync-tokens", type=number_type("pos_int"), default=None, metavar="N",
                   help="with --replicas: tokens each replica trains between two syncs (default 50000)")
    g.add_argument("--sync-seconds", type=number_type("pos_float"), default=30.0, metavar="SECONDS",
                   help="with --replicas: longest time between two syncs (default 30)")
    g.add_argument("--delta-fp16", action="store_true",
                   help="with --replicas: replicas send W/C row differences as float16 with error feedback "
                        "(half the row bytes; docs/scale-out.md)")
    g.add_argument("--rare-below", type=number_type("nonneg_int"), default=0, metavar="COUNT",
                   help="with --replicas: send the C rows of words counted fewer than COUNT times on alternate "
                        "rounds (frequency tiers; default 0: every round)")
    g.add_argument("--overlap", action="store_true",
                   help="with --replicas: replicas train the next round while their delta is merged and take "
                        "the merged update one round late (one round more staleness; docs/scale-out.md)")


def cmd_train_replicas(args, params: dict, metrics=None) -> int:
    """Run a :class:`streamsgns.distributed.ReplicaJob` from the parsed ``train`` arguments; exit status.

    ``metrics`` (a :class:`streamsgns.cli.metrics.TrainingMetrics`, ``--metrics-port``) receives the
    job's view after every sync round: the merged model, the driver's checkpoints, and the lag of
    every partition against the offsets the merged model covers.
    """
    inputs = args.input or []
    if len(inputs) != 1 or not inputs[0].startswith("kafka://"):
        args.parser.error("--replicas needs --input kafka://HOST:PORT/TOPIC")
    if args.resume and not args.snapshot_dir:
        args.parser.error("--resume needs --snapshot-dir")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise SystemExit("streamsgns: --replicas needs Ray: pip install 'streamsgns[ray]'") from None
    from ..distributed.job import ReplicaJob, RunDirInUse

    params = {k: v for k, v in params.items() if k != "workers" or v != 1}
    on_round = None if args.quiet else _progress
    if metrics is not None:
        on_round = _with_metrics(metrics, on_round)
    try:
        from streamsgns.connectors.kafka.config import parse_url

        parse_url(inputs[0])
    except ValueError as e:
        args.parser.error(str(e))
    job = ReplicaJob(inputs[0], replicas=args.replicas, group_id=args.group,
                     sync_tokens=args.sync_tokens or 50_000, sync_seconds=args.sync_seconds,
                     idle_timeout=args.idle_timeout, snapshot_dir=args.snapshot_dir,
                     snapshot_every=args.snapshot_every, keep=args.keep, resume=args.resume,
                     ray_address=args.ray_address, overwrite=args.overwrite,
                     on_round=on_round, consumer_config=getattr(args, "kafka_settings", None) or None,
                     delta_fp16=args.delta_fp16, rare_below=args.rare_below,
                     **({"overlap": True} if args.overlap else {}), **params)

    def on_signal(signum, frame):
        job.stop()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        model = job.run()
    except RunDirInUse as e:
        raise SystemExit(f"streamsgns: {e} (--resume or --overwrite)") from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if args.output:
        n = model.save_word2vec_format(args.output, binary=args.binary)
        log.info(f"wrote {n} vectors to {args.output}")
    summary = {"words_seen": model.words_seen, "vocab_size": model.vocab_size, "replicas": args.replicas,
               "rounds": len(job.history), "restarts": job.restarts, "position": job.position, "sync": job.sync}
    if args.summary:
        print(json.dumps(summary), file=sys.stderr)
    else:
        log.info(f"done: {model.words_seen} tokens, vocabulary {model.vocab_size}, {len(job.history)} syncs, "
                 f"{job.restarts} replica restarts")
    return 0


def _with_metrics(metrics, then):
    """An ``on_round`` callback that publishes the job's view to ``metrics``, then calls ``then``."""
    def on_round(job, info) -> None:
        view = {"words_seen": info["words_seen"], "vocab_size": info["vocab_size"],
                "tokens_per_second": info["tokens"] / max(info["round_s"], 1e-9),
                "snapshots_written": job.snapshots_written, "snapshots_failed": job.snapshots_failed,
                "lag": job.lag(), "change_events": getattr(job.model, "changes_count", None)}
        if job.model is not None:
            view["learning_rate"] = job.model.progress()["alpha"]
        if job.durable_at is not None:
            view["durable_at"] = job.durable_at
        metrics.publish(view)
        if then is not None:
            then(job, info)

    return on_round


def _progress(job, info) -> None:
    log.info(f"sync {info['round']}: {info['words_seen']} tokens, vocabulary {info['vocab_size']}, "
             f"round {info['round_s']:.2f} s (merge {info['merge_s']:.2f} s), "
             f"{info['bytes_up'] / 1e6:.1f} MB of deltas up, {info['bytes_down'] / 1e6:.1f} MB of merged updates down")
