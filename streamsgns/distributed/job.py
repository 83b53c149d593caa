"""The driver of a multi-replica job: Ray actors, sync rounds, merge, checkpoint, commit, recovery.

One round (bulk-synchronous): every replica (:class:`~streamsgns.distributed.replica.Replica`, a
Ray actor) loads the merged state of the previous round from Ray's object store (no copy on one
node), trains ``sync_tokens`` tokens of its partitions (or ``sync_seconds`` s, or until idle), and
returns its state dict and next offsets; the driver merges them
(:func:`~streamsgns.distributed.merge.merge_states`), validates the result by loading it
(:meth:`streamsgns.SGNS.from_state`), and, when a snapshot is due, writes ONE checkpoint holding the
merged model and the next offset of every partition, and only then commits those offsets to the
consumer group.

Exactly-once accounting: the merged state of each round and the offsets it covers form a
consistent cut. When a replica dies (its process killed: :class:`ray.exceptions.RayActorError`),
the round is abandoned, a new actor replaces the dead one, and every replica rolls back to the
last merged state and seeks its partitions to that state's offsets: the messages read since are
read again and counted once. When the driver dies, ``resume=True`` restarts the whole job from
its newest checkpoint (offsets included); offsets committed to the group never run ahead of a
durable checkpoint.

Partitions are shared out by the driver (manual assignment, round-robin over the sorted
partitions), not by the consumer group's rebalancing; the group id is used for the commits (and for
a fresh job's start offsets). Why: ``docs/scale-out.md``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable

from .merge import merge_states, state_nbytes
from .replica import Replica

__all__ = ["ReplicaJob", "RunDirInUse", "assign_partitions"]

log = logging.getLogger("streamsgns")


class RunDirInUse(RuntimeError):
    """The snapshot directory holds another run's checkpoints (and neither resume nor overwrite was asked)."""


def assign_partitions(partitions: list[str], n: int) -> list[list[str]]:
    """Share ``partitions`` (``"TOPIC:PARTITION"`` keys) out over ``n`` replicas, round-robin.

    Examples
    --------
    >>> assign_partitions(["t:0", "t:1", "t:2", "t:3", "t:4"], 2)
    [['t:0', 't:2', 't:4'], ['t:1', 't:3']]
    """
    return [partitions[i::n] for i in range(n)]


class ReplicaJob:
    """Train one SGNS model with ``replicas`` Ray actors reading one Kafka topic.

    Parameters
    ----------
    url : str
        ``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC][?group=ID]``.
    replicas : int
        Number of replicas (Ray actors), >= 1.
    group_id : str, optional
        Consumer group that receives the commits (default: the URL's ``group``, else
        ``"streamsgns"``).
    sync_tokens : int
        Tokens each replica trains between two syncs.
    sync_seconds : float
        Longest round, in seconds (a slow topic still syncs).
    idle_timeout : float, optional
        End the job once every replica has waited this many seconds without a message
        (None: run until :meth:`stop`).
    snapshot_dir : str, optional
        Directory of checkpoints (:class:`streamsgns.io.snapshotter.Snapshotter`); without it
        nothing is checkpointed and no offset is committed.
    snapshot_every : str
        ``"30s"`` or ``"1000000w"`` (a checkpoint is written after the first sync that is due).
    keep : int
        Checkpoints kept.
    resume : bool
        Continue from the newest valid checkpoint of ``snapshot_dir``.
    overwrite : bool
        Start a new run in a ``snapshot_dir`` that holds another run's checkpoints, deleting them
        (without it such a directory is refused, :class:`RunDirInUse`, as by the single trainer).
    ray_address : str, optional
        ``"auto"`` or ``"HOST:PORT"`` of a running Ray cluster; None starts a local one (unless
        Ray is already initialised).
    rows : {"sum", "weighted", "mean"}
        How the merge combines W and C rows (:func:`~streamsgns.distributed.merge.merge_states`);
        ``"sum"`` (default) kept quality closest to one process in ``benchmarks/scale_out/ray_replicas.py``.
    max_restarts : int
        Replica deaths tolerated over the job's life.
    cpus_per_replica : float
        Ray CPUs reserved by each actor.
    on_round : callable, optional
        Called with ``(job, info)`` after each merged round (tests, progress).
    runtime_env : dict, optional
        Ray runtime environment of the actors (a local cluster gets this package's path).
    **model_params
        :class:`streamsgns.SGNS` parameters (``track_cooc``, ``average_eta`` and ``detect_changes`` are forced
            off: statistics, averaged iterates and change detection are not merged; the merge itself averages the
            replicas' rows).

    Attributes
    ----------
    model : streamsgns.SGNS
        The merged model (after :meth:`run`).
    position : dict
        Next offset of every partition covered by ``model``.
    history : list of dict
        Per round: tokens, seconds training / merging / checkpointing, bytes moved.
    restarts : int
        Replicas replaced after a death.
    """

    def __init__(self, url: str, replicas: int = 2, group_id: str | None = None, sync_tokens: int = 50_000,
                 sync_seconds: float = 30.0, idle_timeout: float | None = None, snapshot_dir=None,
                 snapshot_every: str = "60s", keep: int = 3, resume: bool = False, ray_address: str | None = None,
                 rows: str = "sum", max_restarts: int = 20, cpus_per_replica: float = 1.0,
                 on_round: Callable | None = None, runtime_env: dict | None = None, vectors: bool = True,
                 overwrite: bool = False, **model_params):
        from streamsgns.connectors.kafka.config import parse_url

        hosts, topics, args = parse_url(url)
        if int(replicas) < 1:
            raise ValueError("replicas must be >= 1")
        if int(sync_tokens) < 1 or not float(sync_seconds) > 0:
            raise ValueError("sync_tokens and sync_seconds must be > 0")
        self.bootstrap, self.topics = hosts, topics
        self.group_id = group_id or args.get("group_id") or "streamsgns"
        self.n = int(replicas)
        self.sync_tokens, self.sync_seconds = int(sync_tokens), float(sync_seconds)
        self.idle_timeout = idle_timeout
        self.snapshot_dir, self.snapshot_every, self.keep = snapshot_dir, snapshot_every, int(keep)
        self.resume, self.ray_address, self.rows = resume, ray_address, rows
        self.max_restarts, self.cpus_per_replica = int(max_restarts), float(cpus_per_replica)
        self.on_round, self.runtime_env, self.vectors = on_round, runtime_env, vectors
        self.overwrite = bool(overwrite)
        self.model_params = {**model_params, "track_cooc": False, "average_eta": None, "detect_changes": False}
        self.model = None
        self.position: dict = {"kafka": {}}
        self.history: list[dict] = []
        self.restarts = 0
        self.round = 0
        self._stop = False
        self._actors: list = []
        self._shares: list[list[str]] = []

    # ------------------------------------------------------------------ Kafka side (driver)
    def _consumer(self):
        from kafka import KafkaConsumer

        from streamsgns.connectors.kafka.config import consumer_config

        cfg = consumer_config(self.bootstrap.split(","), self.group_id, 2.0, 1 << 20, {})
        return KafkaConsumer(**cfg)

    def _partitions(self, consumer, timeout: float = 30.0) -> list:
        from streamsgns.connectors.kafka.connection import topic_partitions
        from streamsgns.connectors.kafka.errors import NotReady

        t0 = time.monotonic()
        while True:
            try:
                return topic_partitions(consumer, self.topics.split(","), self.bootstrap.split(","))
            except NotReady:
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(f"topic(s) {self.topics!r} not found on {self.bootstrap}") from None
            time.sleep(0.5)

    def _start_offsets(self, consumer, tps, stored: dict) -> dict:
        """Next offset of every partition: the checkpoint's, else the group's commit, else the log's start."""
        out = {}
        missing = []
        for tp in tps:
            key = f"{tp.topic}:{tp.partition}"
            if key in stored:
                out[key] = int(stored[key])
            elif stored:  # resumed: a partition the checkpoint does not name contributed nothing
                missing.append(tp)
            else:
                c = consumer.committed(tp)
                if c is None:
                    missing.append(tp)
                else:
                    out[key] = int(c)
        if missing:
            for tp, off in consumer.beginning_offsets(missing).items():
                out[f"{tp.topic}:{tp.partition}"] = int(off)
        return out

    def _commit(self, consumer, position: dict) -> None:
        from kafka import TopicPartition
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        from streamsgns.connectors.kafka.position import parse_position

        offsets = {TopicPartition(t, p): OffsetAndMetadata(off, "", -1) for (t, p), off in parse_position(position).items()}
        try:
            consumer.commit(offsets)
        except (KafkaError, OSError) as e:  # retried with the next checkpoint's offsets
            log.warning(f"replicas: commit of {len(offsets)} offsets failed ({e}); retried at the next checkpoint")

    # ------------------------------------------------------------------ Ray side
    def _init_ray(self):
        import ray

        self._own_ray = False
        if not ray.is_initialized():
            env = self.runtime_env
            if env is None and self.ray_address is None:
                root = str(Path(__file__).resolve().parents[2])
                path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
                env = {"env_vars": {"PYTHONPATH": path}}
            ray.init(address=self.ray_address, runtime_env=env, log_to_driver=False)
            self._own_ray = True
        return ray

    def _new_actor(self, ray, i: int):
        cls = ray.remote(num_cpus=self.cpus_per_replica, max_restarts=0)(Replica)
        # chunks of about a third of a round, so that a round ends near sync_tokens (~6 bytes a token)
        chunk = min(1 << 20, max(4096, 2 * self.sync_tokens))
        return cls.remote(i, self.bootstrap, self.topics, self._shares[i], max_chunk_bytes=chunk,
                          idle_timeout=self.idle_timeout if self.idle_timeout is not None else
                          min(5.0, self.sync_seconds))

    def _reset_all(self, ray, base_ref) -> None:
        ray.get([a.reset.remote(base_ref, self.position, self.round) for a in self._actors])

    def pids(self) -> list[int]:
        """Process ids of the replicas (their Ray workers)."""
        import ray

        return ray.get([a.pid.remote() for a in self._actors])

    def stop(self) -> None:
        """Ask :meth:`run` to end after the current round (safe from a signal handler)."""
        self._stop = True

    # ------------------------------------------------------------------ the job
    def _load_or_create(self, snap):
        from ..io.snapshotter import latest_checkpoint, run_id_of
        from ..learner import SGNS

        if snap is not None and self.resume:
            loaded = {}

            def check(p):
                loaded[p] = SGNS.load(p)

            ck = latest_checkpoint(self.snapshot_dir, log_fn=log.warning, check=check)
            if ck is not None:
                model = loaded.pop(ck)
                snap.adopt(run_id_of(ck))
                log.info(f"replicas: resumed from {ck} at {model.words_seen} tokens")
                return model, (model.source_position or {}).get("kafka", {})
        return SGNS(**self.model_params), {}

    def run(self):
        """Run the job until the input is idle (``idle_timeout``) or :meth:`stop`; return the merged model.

        Returns
        -------
        streamsgns.SGNS

        Raises
        ------
        RuntimeError
            If replicas died more than ``max_restarts`` times, or the topic does not exist.
        RunDirInUse
            If ``snapshot_dir`` holds another run's checkpoints and neither ``resume`` nor
            ``overwrite`` is set (checked before Ray or Kafka is touched).
        ImportError
            If Ray is not installed (``pip install streamsgns[ray]``).
        """
        snap = None
        if self.snapshot_dir:
            from ..io.snapshotter import Snapshotter, parse_every

            secs, toks = parse_every(self.snapshot_every)
            snap = Snapshotter(self.snapshot_dir, every_tokens=toks, every_seconds=secs, keep=self.keep,
                               vectors=self.vectors)
        consumer = None
        try:
            self.model, stored = self._load_or_create(snap)
            if self.model.cooc is not None:
                raise ValueError("a model with co-occurrence statistics cannot be trained by replicas")
            if snap is not None and not stored and snap.other_runs():
                others = snap.other_runs()
                if not self.overwrite:
                    raise RunDirInUse(f"{self.snapshot_dir} holds {len(others)} checkpoint(s) of another run "
                                      f"(newest {others[-1].name}): resume it, or overwrite to delete them")
                log.warning(f"overwrite: removed {snap.remove_other_runs()} file(s) of another run")
            ray = self._init_ray()
            consumer = self._consumer()
            tps = self._partitions(consumer)
            keys = [f"{tp.topic}:{tp.partition}" for tp in tps]
            if len(keys) < self.n:
                log.warning(f"replicas: {self.n} replicas for {len(keys)} partitions: "
                            f"{self.n - len(keys)} will idle")
            self._shares = assign_partitions(keys, self.n)
            self.position = {"kafka": self._start_offsets(consumer, tps, stored)}
            if snap is not None:
                snap.start(self.model)
            base = self.model.state_dict()
            base_ref = ray.put(base)
            self._actors = [self._new_actor(ray, i) for i in range(self.n)]
            self._reset_all(ray, base_ref)
            self._loop(ray, consumer, snap, base, base_ref)
            return self.model
        finally:
            for a in self._actors:
                try:
                    import ray as _ray

                    _ray.kill(a, no_restart=True)
                except Exception:  # noqa: BLE001 - an actor already gone
                    pass
            self._actors = []
            if consumer is not None:
                consumer.close(autocommit=False)
            if snap is not None:
                snap.close()
            if getattr(self, "_own_ray", False):
                import ray as _ray

                _ray.shutdown()

    def _gather(self, ray, refs):
        """Results of one round, and the indexes of the replicas that died."""
        results, dead = [None] * len(refs), []
        for i, ref in enumerate(refs):
            try:
                results[i] = ray.get(ref)
            except ray.exceptions.RayActorError as e:
                log.warning(f"replicas: replica {i} died ({type(e).__name__}); rolling back to the last sync")
                dead.append(i)
        return results, dead

    def _loop(self, ray, consumer, snap, base, base_ref) -> None:
        from ..learner import SGNS

        send = None  # the merged state the replicas load at the start of the round (None: already loaded)
        while True:
            self.round += 1
            t0 = time.perf_counter()
            refs = [a.train.remote(send, self.round, self.sync_tokens, self.sync_seconds) for a in self._actors]
            results, dead = self._gather(ray, refs)
            t_train = time.perf_counter() - t0
            if dead:
                self.restarts += len(dead)
                if self.restarts > self.max_restarts:
                    raise RuntimeError(f"replicas died {self.restarts} times (max_restarts={self.max_restarts})")
                for i in dead:
                    try:
                        ray.kill(self._actors[i], no_restart=True)
                    except Exception:  # noqa: BLE001
                        pass
                    self._actors[i] = self._new_actor(ray, i)
                self._reset_all(ray, base_ref)
                send = None
                continue
            t1 = time.perf_counter()
            states = [r["state"] for r in results]
            merged = merge_states(base, states, rows=self.rows)
            model = SGNS.from_state(merged)  # validates the merged state
            t_merge = time.perf_counter() - t1
            offsets = dict(self.position["kafka"])
            for r in results:
                offsets.update(r["position"]["kafka"])
            if self.model is not None:
                self.model.close()
            self.model, self.position = model, {"kafka": offsets}
            model.source_position = self.position
            base = merged
            t2 = time.perf_counter()
            base_ref = ray.put(base)
            send = base_ref
            t_put = time.perf_counter() - t2
            idle = self.idle_timeout is not None and all(r["idle"] for r in results)
            final = idle or self._stop
            t3 = time.perf_counter()
            if snap is not None and (final or snap.due(model)):
                snap.snapshot(model, position=self.position)  # durable when it returns
                self._commit(consumer, self.position)
            t_ckpt = time.perf_counter() - t3
            info = {"round": self.round, "tokens": sum(r["tokens"] for r in results),
                    "tokens_per_replica": [r["tokens"] for r in results], "words_seen": model.words_seen,
                    "round_s": time.perf_counter() - t0, "wait_s": t_train, "merge_s": t_merge, "put_s": t_put,
                    "checkpoint_s": t_ckpt, "train_s": [r["train_s"] for r in results],
                    "learn_s": [r["learn_s"] for r in results], "idle": [r["idle"] for r in results],
                    "load_s": [r["load_s"] for r in results], "state_s": [r["state_s"] for r in results],
                    "bytes_up": sum(state_nbytes(s) for s in states), "bytes_down": state_nbytes(base) * len(states),
                    "vocab_size": model.vocab_size, "restarts": self.restarts}
            self.history.append(info)
            if self.on_round is not None:
                self.on_round(self, info)
            if final:
                return
