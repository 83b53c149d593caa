"""The driver of a multi-replica job: Ray actors, sync rounds, merge, checkpoint, commit, recovery.

One round (bulk-synchronous): every replica (:class:`~streamsgns.distributed.replica.Replica`, a
Ray actor) applies the merged update of the previous round in place to its copy of the merged state
and to its model (:func:`~streamsgns.distributed.apply.apply_update`), trains
``sync_tokens`` tokens of its partitions (or ``sync_seconds`` s, or until idle), and returns a small
report (next offsets, tokens, seconds) and, as a separate object in Ray's store, its sparse delta
(:func:`~streamsgns.distributed.delta.model_delta`: touched W/C rows, count increments, new words by
hash, changed sketch cells). The driver hands the deltas' ObjectRefs to the merge actor
(:class:`~streamsgns.distributed.merger.Merger`, on the driver's node), which merges them
(:func:`~streamsgns.distributed.delta.merge_deltas`), validates the result and returns the merged
update as another object that the replicas fetch: **row data never passes through the driver**,
which only moves references and reports (``driver_bytes`` in ``ReplicaJob.sync`` counts the
array bytes it received during the rounds). When a snapshot is due, the merge actor writes ONE
checkpoint holding the merged model and the next offset of every partition, and only then does
the driver commit those offsets to the consumer group.

Exactly-once accounting: the merged state of each round and the offsets it covers form a
consistent cut. When a replica dies (its process killed: :class:`ray.exceptions.RayActorError`),
the round is abandoned, a new actor replaces the dead one, and every replica rolls back to the
last merged state (fetched from the merge actor) and seeks its partitions to that state's offsets:
the messages read since are read again and counted once. When the driver dies (its actors die
with it), ``resume=True`` restarts the whole job from its newest checkpoint (offsets included);
offsets committed to the group never run ahead of a durable checkpoint.

With ``overlap=True`` a replica does not wait for the merge of the delta it has just sent: it
trains the next round at once and takes the merged update one round late
(:func:`~streamsgns.distributed.overlap.late_apply`); the merge, the checkpoint and the fetch run
while the replicas train. The checkpoint is still a merged state with the offsets of its round
(written one round later); a death rolls back to the last merged round (see :meth:`ReplicaJob.run`).

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

from .merge import state_nbytes
from .merger import Merger
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
    rows : {"sum", "scaled", "gain", "diverse"}
        How the merge combines W and C rows (:func:`~streamsgns.distributed.delta.merge_deltas`):
        ``"sum"``, the base plus every replica's update (closest to one process at 2 replicas in
        ``benchmarks/scale_out/ray_replicas.py``, unstable from 3 replicas on: ``docs/scale-out.md``), or
        ``"scaled"``, each word's summed update scaled towards the mean for rows that reach their
        optimum within a round (:func:`streamsgns.rates.merged_step_scale` with ``stiffness``), or
        ``"gain"``, the replicas take evidence-aware steps (:meth:`streamsgns.SGNS.extrapolate_steps`)
        and each row's summed update is weighed by its gain's inverse (``docs/scale-out.md``), or
        ``"diverse"``, the same steps and weights, each row's weight capped at its update diversity
        (replicas that moved a row the same way merged as their mean; quality measured in the
        simulator only, ``docs/scale-out.md``, "What makes quality fall with N").
    stiffness : float, optional
        With ``rows="scaled"`` (None: the step-integral rule without saturation) and ``rows="gain"``
        (None: each row's summed update over its gain).
    step_cap, max_step : float, optional
        With ``rows="gain"`` or ``"diverse"``: the replicas' largest step in units of ``alpha`` that sets the rows'
        gains (:func:`streamsgns.rates.replica_step_gain`; None: ``replicas``), and a limit on every
        replica step (None: none), :meth:`streamsgns.SGNS.extrapolate_steps`.
    delta_fp16 : bool
        Replicas send their W/C row differences as float16 with error feedback (half the row
        bytes; :func:`streamsgns.distributed.delta.encode_delta`, ``docs/scale-out.md``).
    rare_below : int
        Replicas send the C rows of words counted fewer than this many times on alternate rounds,
        half of them each round (frequency tiers; 0: every row every round).
    overlap : bool
        Overlap the exchange with training: each replica sends its delta and trains the next
        round at once, taking the merged update of a round after the next one
        (:func:`~streamsgns.distributed.overlap.late_apply`: one round more staleness). Off: the
        bulk-synchronous rounds, unchanged. An overlapped replica holds no model of the merged state,
        on which forgetting's decay steps and the change checks run at round boundaries
        (:mod:`streamsgns.distributed.rounds`): with ``overlap`` the job runs without change
        detection (``detect_changes`` is turned off) and refuses ``half_life``.
    max_restarts : int
        Replica deaths tolerated over the job's life.
    cpus_per_replica : float
        Ray CPUs reserved by each actor.
    on_round : callable, optional
        Called with ``(job, info)`` after each merged round (tests, progress).
    runtime_env : dict, optional
        Ray runtime environment of the actors (a local cluster gets this package's path).
    consumer_config : dict, optional
        kafka-python consumer settings of the driver and of every replica (a secured Kafka:
        :func:`streamsgns.connectors.kafka.settings.read_kafka_config`); secrets stay wrapped
        in :class:`~streamsgns.connectors.kafka.settings.Secret` on their way to the actors, so
        that no repr or log line shows them.
    **model_params
        :class:`streamsgns.SGNS` parameters. Co-occurrence statistics and change signatures merge by
        increments, averaged iterates are folded on the merged model once per round when due;
        forgetting's decay steps (``half_life``) and change checks (``detect_changes``) run at round
        boundaries by the merged token count, identically on every replica
        (:mod:`streamsgns.distributed.rounds`).

    Attributes
    ----------
    model : streamsgns.SGNS
        The merged model (after :meth:`run`).
    position : dict
        Next offset of every partition covered by ``model``.
    history : list of dict
        Per round: tokens, seconds training / merging / checkpointing, bytes moved.
    sync : dict
        Totals over the rounds: ``rounds``, ``bytes_up`` (delta bytes sent by the replicas),
        ``bytes_down`` (merged-update bytes fetched by the replicas), ``driver_bytes`` (array bytes
        the driver received during the rounds: 0 when no row data passes through it), ``wait_s``
        (replica seconds between two rounds' training: waiting for the sync, applying, loading;
        with ``overlap``, waiting for the previous round's update and taking it late; summed over
        replicas), ``train_s`` (replica seconds reading and training, summed); with ``overlap``
        also ``fetch_s`` (the part of ``wait_s`` spent waiting for the merged update).
    restarts : int
        Replicas replaced after a death.
    snapshots_written, snapshots_failed : int
        Checkpoints written (durable), and those that could not be written.
    durable_at : float or None
        ``time.monotonic()`` when the last checkpoint became durable.

    Raises
    ------
    ValueError
        On a bad setting (``replicas < 1``, an unknown ``rows``, …), or ``half_life`` with ``overlap``.
    """

    def __init__(self, url: str, replicas: int = 2, group_id: str | None = None, sync_tokens: int = 50_000,
                 sync_seconds: float = 30.0, idle_timeout: float | None = None, snapshot_dir=None,
                 snapshot_every: str = "60s", keep: int = 3, resume: bool = False, ray_address: str | None = None,
                 rows: str = "sum", max_restarts: int = 20, cpus_per_replica: float = 1.0,
                 on_round: Callable | None = None, runtime_env: dict | None = None, vectors: bool = True,
                 overwrite: bool = False, stiffness: float | None = None, consumer_config: dict | None = None,
                 delta_fp16: bool = False, rare_below: int = 0, step_cap: float | None = None,
                 max_step: float | None = None, overlap: bool = False, **model_params):
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
        self.consumer_config = dict(consumer_config or {})
        self.snapshots_written = self.snapshots_failed = 0
        self.durable_at: float | None = None
        if rows not in ("sum", "scaled", "gain", "diverse"):
            raise ValueError(f"rows must be 'sum', 'scaled', 'gain' or 'diverse' (replicas send sparse deltas), "
                             f"not {rows!r}")
        self.stiffness, self.step_cap, self.max_step = stiffness, step_cap, max_step
        #: Whether the replicas take evidence-aware steps (the rules that weigh rows by their gains).
        self.evidence_steps = rows in ("gain", "diverse")
        if int(rare_below) < 0:
            raise ValueError("rare_below must be >= 0")
        self.delta_fp16, self.rare_below = bool(delta_fp16), int(rare_below)
        self.overlap = bool(overlap)
        self._pids: list[int] = []
        self.model_params = dict(model_params)
        if self.overlap:  # an overlapped replica takes no round steps (streamsgns.distributed.overlap)
            if model_params.get("half_life") is not None:
                raise ValueError("half_life is not supported with overlap=True (its decay steps run at round "
                                 "boundaries on the merged state, which an overlapped replica does not hold)")
            self.model_params["detect_changes"] = False  # its checks too: an overlapped job runs without them
        self.sync = {"rounds": 0, "bytes_up": 0, "bytes_down": 0, "driver_bytes": 0, "wait_s": 0.0, "train_s": 0.0}
        if self.overlap:
            self.sync["fetch_s"] = 0.0
        self._merger = None
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

        from streamsgns.connectors.kafka.settings import reveal

        cfg = consumer_config(self.bootstrap.split(","), self.group_id, 2.0, 1 << 20, self.consumer_config)
        return KafkaConsumer(**reveal(cfg))

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

    def lag(self) -> dict:
        """Lag of the job per partition: end offset − the offset the merged model covers (messages).

        Asks the broker for the end offsets with the driver's consumer; call it from the driver's
        thread (e.g. in ``on_round``). Empty before the job runs or when the broker does not answer.
        """
        consumer = getattr(self, "_driver_consumer", None)
        if consumer is None:
            return {}
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        from streamsgns.connectors.kafka.position import parse_position

        pos = parse_position(self.position)
        try:
            ends = consumer.end_offsets([TopicPartition(t, p) for t, p in pos])
        except (KafkaError, OSError):
            return {}
        return {(tp.topic, tp.partition): max(0, int(end) - pos[(tp.topic, tp.partition)])
                for tp, end in ends.items() if end is not None}

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
                          min(5.0, self.sync_seconds), consumer_config=self.consumer_config or None,
                          delta_fp16=self.delta_fp16, rare_below=self.rare_below,
                          replicas=self.n, evidence_steps=self.evidence_steps, step_cap=self.step_cap,
                          max_step=self.max_step, **({"overlap": True} if self.overlap else {}))

    def _new_merger(self, ray, base_ref, run_id):
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = ray.get_runtime_context().get_node_id()  # checkpoints go to the driver's disk
        cls = ray.remote(num_cpus=0, max_restarts=0)(Merger)
        return cls.options(scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote(
            base_ref, snapshot_dir=str(self.snapshot_dir) if self.snapshot_dir else None,
            snapshot_every=self.snapshot_every, keep=self.keep, vectors=self.vectors, run_id=run_id, rows=self.rows,
            stiffness=self.stiffness, replicas=self.n, step_cap=self.step_cap, max_step=self.max_step)

    def _reset_all(self, ray, base_ref) -> None:
        ray.get([a.reset.remote(base_ref, self.position, self.round) for a in self._actors])
        if self.overlap:  # an overlapped replica is always busy: its pid is asked while it is idle
            self._pids = ray.get([a.pid.remote() for a in self._actors])

    def pids(self) -> list[int]:
        """Process ids of the replicas (their Ray workers)."""
        if self.overlap and self._pids:
            return list(self._pids)
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
            if snap is not None and not stored and snap.other_runs():
                others = snap.other_runs()
                if not self.overwrite:
                    raise RunDirInUse(f"{self.snapshot_dir} holds {len(others)} checkpoint(s) of another run "
                                      f"(newest {others[-1].name}): resume it, or overwrite to delete them")
                log.warning(f"overwrite: removed {snap.remove_other_runs()} file(s) of another run")
            ray = self._init_ray()
            consumer = self._driver_consumer = self._consumer()
            tps = self._partitions(consumer)
            keys = [f"{tp.topic}:{tp.partition}" for tp in tps]
            if len(keys) < self.n:
                log.warning(f"replicas: {self.n} replicas for {len(keys)} partitions: "
                            f"{self.n - len(keys)} will idle")
            self._shares = assign_partitions(keys, self.n)
            self.position = {"kafka": self._start_offsets(consumer, tps, stored)}
            run_id = None
            if snap is not None:  # the merge actor writes the checkpoints: it takes the directory's lock over
                run_id = snap.run_id
                snap.close()
                snap = None
            base_ref = ray.put(self.model.state_dict())  # once, at start
            self._merger = self._new_merger(ray, base_ref, run_id)
            self._actors = [self._new_actor(ray, i) for i in range(self.n)]
            self._reset_all(ray, base_ref)
            del base_ref
            (self._loop_overlap if self.overlap else self._loop)(ray, consumer)
            from ..learner import SGNS

            self.model.close()
            self.model = SGNS.from_state(ray.get(self._merger.state.remote()))  # the result, once
            self.model.source_position = self.position
            return self.model
        finally:
            if self._merger is not None:
                try:
                    import ray as _ray

                    _ray.get(self._merger.close.remote())
                    _ray.kill(self._merger, no_restart=True)
                except Exception:  # noqa: BLE001 - an actor already gone
                    pass
                self._merger = None
            for a in self._actors:
                try:
                    import ray as _ray

                    _ray.kill(a, no_restart=True)
                except Exception:  # noqa: BLE001 - an actor already gone
                    pass
            self._actors = []
            self._driver_consumer = None
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

    def _loop(self, ray, consumer) -> None:
        update = None  # ObjectRef of the merged update the replicas apply at the start of the round
        while True:
            self.round += 1
            t0 = time.perf_counter()
            outs = [a.train.options(num_returns=2).remote(update, self.round, self.sync_tokens, self.sync_seconds)
                    for a in self._actors]
            results, dead = self._gather(ray, [o[0] for o in outs])
            t_train = time.perf_counter() - t0
            if dead:
                self._replace_dead(ray, dead)
                self._reset_all(ray, self._merger.state.remote())  # node to node, not through the driver
                update = None
                continue
            t1 = time.perf_counter()
            report_ref, update = self._merger.merge.options(num_returns=2).remote(*[o[1] for o in outs])
            merged = ray.get(report_ref)
            t_merge = time.perf_counter() - t1
            offsets = dict(self.position["kafka"])
            for r in results:
                offsets.update(r["position"]["kafka"])
            self.position = {"kafka": offsets}
            idle = self.idle_timeout is not None and all(r["idle"] for r in results)
            final = idle or self._stop
            t3 = time.perf_counter()
            if self.snapshot_dir:
                self._await_snapshot(ray, consumer, self._merger.snapshot.remote(self.position, final))
            t_ckpt = time.perf_counter() - t3
            driver_bytes = sum(state_nbytes(r) for r in results) + state_nbytes(merged)
            self._record(results, {**merged, "round": self.round}, t0, t_train, t_merge, t_ckpt, driver_bytes)
            if final:
                return

    def _record(self, results: list, merged: dict, t0: float, t_train: float, t_merge: float, t_ckpt: float,
                driver_bytes: int) -> None:
        """Add a merged round to ``sync`` and ``history`` and call ``on_round``."""
        up = sum(r["bytes_up"] for r in results)
        down = merged["bytes_down"] * len(results)
        s = self.sync
        s["rounds"] += 1
        s["bytes_up"] += up
        s["bytes_down"] += down
        s["driver_bytes"] += driver_bytes
        s["wait_s"] += sum(r["wait_s"] for r in results)
        s["train_s"] += sum(r["train_s"] for r in results)
        if "fetch_s" in s:  # overlapped rounds
            s["fetch_s"] += sum(r.get("fetch_s", 0.0) for r in results)
        info = {"round": merged["round"], "tokens": sum(r["tokens"] for r in results),
                "tokens_per_replica": [r["tokens"] for r in results], "words_seen": merged["words_seen"],
                "round_s": time.perf_counter() - t0, "train_round_s": t_train, "merge_s": t_merge,
                "merger_s": merged["merge_s"], "checkpoint_s": t_ckpt, "train_s": [r["train_s"] for r in results],
                "learn_s": [r["learn_s"] for r in results], "idle": [r["idle"] for r in results],
                "wait_s": [r["wait_s"] for r in results], "fetch_s": [r.get("fetch_s", 0.0) for r in results],
                "load_s": [r["load_s"] for r in results], "state_s": [r["state_s"] for r in results],
                "bytes_up": up, "bytes_down": down, "driver_bytes": driver_bytes,
                "vocab_size": merged["vocab_size"], "restarts": self.restarts}
        self.history.append(info)
        if self.on_round is not None:
            self.on_round(self, info)

    def _finish(self, ray, consumer, pending: dict) -> None:
        """Wait for a submitted merge (and its checkpoint), commit the offsets it made durable, record it.

        ``self.position`` becomes the merged round's: the offsets the merge actor's state covers."""
        t1 = time.perf_counter()
        merged = {**ray.get(pending["report"]), "round": pending["round"]}
        t_merge = time.perf_counter() - t1
        self._merges += 1
        self.position = pending["position"]
        t3 = time.perf_counter()
        if pending["snapshot"] is not None:
            self._await_snapshot(ray, consumer, pending["snapshot"])
        t_ckpt = time.perf_counter() - t3
        results = pending["results"]
        driver_bytes = sum(state_nbytes(r) for r in results) + state_nbytes(merged)
        self._record(results, merged, pending["t0"], pending["t_train"], t_merge, t_ckpt, driver_bytes)

    def _replace_dead(self, ray, dead: list) -> None:
        """Count the replicas ``dead`` (indices) as restarts and put a new actor in each one's place.

        Raises
        ------
        RuntimeError
            If replicas died more than ``max_restarts`` times in all.
        """
        self.restarts += len(dead)
        if self.restarts > self.max_restarts:
            raise RuntimeError(f"replicas died {self.restarts} times (max_restarts={self.max_restarts})")
        for i in dead:
            try:
                ray.kill(self._actors[i], no_restart=True)
            except Exception:  # noqa: BLE001
                pass
            self._actors[i] = self._new_actor(ray, i)

    def _await_snapshot(self, ray, consumer, ref) -> None:
        """Wait for the merge actor's checkpoint ``ref``; once it is durable, commit ``self.position``."""
        try:
            written = ray.get(ref)
        except BaseException:
            self.snapshots_failed += 1
            raise
        if written:
            self.snapshots_written += 1
            self.durable_at = time.monotonic()
            self._commit(consumer, self.position)  # the checkpoint is durable

    def _loop_overlap(self, ray, consumer) -> None:
        """The rounds with the exchange overlapped: a replica never waits for the merge of the delta it has just sent.

        Round ``r``: every replica trains, then takes the merged update of round ``r − 1`` (a
        reference passed in a list, so that Ray does not hold the call back for it; the replica
        fetches it when it needs it) and sends its delta against the merged state of round ``r − 1``.
        The driver keeps one round queued behind the one it waits for: round ``r + 1`` is submitted
        before round ``r`` ends, so a replica starts it as soon as it has sent its delta of round
        ``r`` (no barrier between rounds: a replica waits for the others only when it needs the
        merged update of their previous round, one round later). When round ``r`` has ended, the
        driver queues on the merge actor the checkpoint of round ``r`` (its merge, already queued,
        with round ``r``'s offsets) and the merge of round ``r + 1``, submits round ``r + 2``, then
        waits for the merge of round ``r`` and commits while the replicas train.

        When the input is idle (or :meth:`stop`), the round already queued behind the last one is
        still trained, merged and checkpointed (an ``idle_timeout`` more), then the job ends.

        After a death (found when round ``r`` ends) the rounds queued behind it are drained (they
        fail when they fetch a merged update that cannot exist) and every replica rolls back to the
        last merged round (``r − 1``: its merge was already running on deltas held by Ray's store)
        and its offsets: round ``r`` is read again, as without overlap, plus the part of round
        ``r + 1`` that the survivors had read. Only if the merge of round ``r − 1`` fails because a
        delta was lost with its node (:class:`ray.exceptions.ObjectLostError`) does the rollback go
        back two rounds.
        """
        from collections import deque

        self._merges = int(ray.get(self._merger.merges.remote()))
        rounds: deque = deque()  # rounds submitted, oldest first: the one waited for, and the one queued behind it

        def start(late) -> None:
            self.round += 1
            outs = [a.train.options(num_returns=2).remote(None, self.round, self.sync_tokens, self.sync_seconds,
                                                          None if late is None else [late]) for a in self._actors]
            rounds.append({"round": self.round, "outs": outs, "t0": time.perf_counter(), "snapshot": None})

        def merge(e: dict) -> None:
            e["report"], e["update"] = self._merger.merge.options(num_returns=2).remote(*[o[1] for o in e["outs"]])

        def begin() -> None:  # from the merged state (start, or after a rollback): nothing to take late
            start(None)
            merge(rounds[0])
            start(rounds[0]["update"])

        begin()
        draining = False
        while True:
            cur = rounds[0]
            results, dead = self._gather(ray, [o[0] for o in cur["outs"]])
            cur["t_train"] = time.perf_counter() - cur["t0"]
            lost = False
            if not dead:
                offsets = dict(self.position["kafka"])
                for r in results:
                    offsets.update(r["position"]["kafka"])
                cur["position"], cur["results"] = {"kafka": offsets}, results
                idle = self.idle_timeout is not None and all(r["idle"] for r in results)
                last = draining or len(rounds) == 1
                final = idle or self._stop
                if self.snapshot_dir:  # behind this round's merge, before the next one's: written only if it succeeded
                    cur["snapshot"] = self._merger.snapshot.remote(cur["position"], last, self._merges + 1)
                if not last:
                    merge(rounds[1])
                    if final:
                        draining = True
                    else:
                        start(rounds[1]["update"])
                try:  # the merge of this round, while the next one trains
                    self._finish(ray, consumer, cur)
                except ray.exceptions.ObjectLostError as e:
                    log.warning(f"replicas: a delta of round {cur['round']} was lost ({type(e).__name__}); "
                                "rolling back to the round before")
                    lost = True
                rounds.popleft()
                if last and not lost:
                    return
            if dead or lost:
                self._replace_dead(ray, dead)
                for e in list(rounds):  # this round and those queued behind it: drained, their results dropped
                    for o in e["outs"]:
                        try:
                            ray.get(o[0])
                        except ray.exceptions.RayError:
                            pass
                rounds.clear()
                self._merges = int(ray.get(self._merger.merges.remote()))
                self._reset_all(ray, self._merger.state.remote())  # the last merged round and its offsets
                draining = False
                begin()
