"""One replica of a multi-replica job: a Kafka reader of its partitions and an SGNS model (a Ray actor).

:class:`Replica` is a plain class; :mod:`streamsgns.distributed.job` runs it as a Ray actor
(``ray.remote(Replica)``), one process per replica. It keeps the last merged state (its *base*).
Each sync round it applies the merged update of the previous round in place to its base and to its
model (:func:`streamsgns.distributed.apply.apply_update`: O(what changed), no reload; the update
is an object of Ray's store, fetched from the merge actor's node, never through the driver), trains on its partitions for ``max_tokens`` tokens or ``max_seconds`` seconds (or until its
partitions have been idle for ``idle_timeout``), and hands back a small report (next offset of
each of its partitions, tokens, seconds) and, as a separate object, its sparse delta against the
base (:func:`streamsgns.distributed.delta.model_delta`). It never commits offsets: the driver
does, after the checkpoint that covers them is durable.

With ``overlap`` the order of a round changes: the replica trains first, then fetches the merged
update of the *previous* round (merged while it trained), takes it late
(:func:`streamsgns.distributed.overlap.late_apply`: the merged state plus its own round, re-keyed
by hash, written into its model in place by :func:`~streamsgns.distributed.overlap.late_apply_inplace`)
and only then computes its delta against the new base; so it never waits for the merge of the delta
it has just sent.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..hashing import mix64, seed_states
from .apply import writable_state
from .delta import merge_deltas
from .rounds import take_steps

__all__ = ["Replica", "replica_seed"]

_LOGGER = logging.getLogger("streamsgns.replica")


def replica_seed(seed: int, index: int, round_no: int) -> int:
    """The seed of replica ``index``'s RNG streams in sync round ``round_no`` (SplitMix64 mixing).

    Replicas load one merged state, RNG streams included; each then re-seeds its streams from
    this value, so that no two replicas (and no two rounds) draw the same negatives.

    Examples
    --------
    >>> replica_seed(0, 0, 1) != replica_seed(0, 1, 1) != replica_seed(0, 0, 2)
    True
    """
    with np.errstate(over="ignore"):
        z = np.uint64(int(seed) % (1 << 64)) ^ np.uint64(((index + 1) << 40) ^ (round_no + 1))
        return int(mix64(z))


class Replica:
    """Train an SGNS replica on a share of a Kafka topic's partitions.

    Parameters
    ----------
    index : int
        Replica number (0 .. N-1): mixed into its RNG seed.
    bootstrap_servers : str
        ``"HOST:PORT[,HOST:PORT]"``.
    topics : str
        Comma-separated topics.
    partitions : list of str
        ``"TOPIC:PARTITION"`` keys this replica reads (manual assignment, see
        :class:`streamsgns.connectors.kafka.KafkaSource`).
    idle_timeout : float
        Seconds without a message after which a round ends early (reported as ``idle``).
    poll_timeout_ms : int
        Longest wait of one poll (ms).
    max_chunk_bytes : int
        Bytes of messages fed to the learner at once.
    consumer_config : dict, optional
        More kafka-python consumer settings.
    delta_fp16 : bool
        Send W/C row differences as float16 with error feedback
        (:func:`~streamsgns.distributed.delta.encode_delta`).
    rare_below : int
        Send the C rows of words counted fewer than this many times on alternate rounds (0: every round).
    replicas : int
        Replicas of the job; with ``evidence_steps``, the model takes evidence-aware steps at
        every load (:meth:`streamsgns.SGNS.extrapolate_steps`).
    evidence_steps : bool
        The merge rule is ``rows="gain"`` (:func:`~streamsgns.distributed.delta.merge_deltas`).
    step_cap, max_step : float, optional
        Of :meth:`~streamsgns.SGNS.extrapolate_steps`.
    overlap : bool
        Keep a copy of the state each delta was computed from, for the late apply of
        :meth:`train`'s ``late`` update (``ReplicaJob(overlap=True)``).
    """

    def __init__(self, index: int, bootstrap_servers: str, topics: str, partitions: list[str],
                 idle_timeout: float = 1.0, poll_timeout_ms: int = 200, max_chunk_bytes: int = 1 << 20,
                 consumer_config: dict | None = None, delta_fp16: bool = False, rare_below: int = 0,
                 replicas: int = 1, evidence_steps: bool = False, step_cap: float | None = None,
                 max_step: float | None = None, overlap: bool = False):
        from streamsgns.connectors.kafka import KafkaSource

        logging.getLogger("kafka").setLevel(logging.WARNING)
        if consumer_config:  # the worker's log files never show a secret, whoever logs it
            from streamsgns.connectors.kafka.settings import RedactingFilter, secret_texts

            scrub = RedactingFilter(secret_texts(consumer_config))
            if scrub.secrets:
                for handler in logging.getLogger().handlers:
                    handler.addFilter(scrub)
        self.index = int(index)
        self.replicas, self.evidence_steps = int(replicas), bool(evidence_steps)
        self.step_cap, self.max_step = step_cap, max_step
        self.partitions = list(partitions)
        self.source = KafkaSource(bootstrap_servers, topics, None, assign="manual", partitions=self.partitions,
                                  poll_timeout_ms=poll_timeout_ms, idle_timeout=idle_timeout,
                                  max_chunk_bytes=max_chunk_bytes, consumer_config=consumer_config,
                                  retry_backoff=(0.2, 2.0), log=_LOGGER)
        self.model = None
        self.base = None
        self._own = None
        self.delta_fp16, self.rare_below = bool(delta_fp16), int(rare_below)
        self._residual = {}  # what the encoded deltas have not transmitted yet (per base id)
        self._it = None
        self._idle_since = time.perf_counter()
        self.overlap = bool(overlap)
        self._sent = None  # with overlap: the state the last delta was computed from (a copy)

    def pid(self) -> int:
        """The process id of this replica (the Ray worker), e.g. to kill it in a test."""
        return os.getpid()

    def node_id(self) -> str:
        """The Ray node this replica runs on (hex id)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def _load(self, state: dict, round_no: int, steps: bool = False) -> float:
        from ..learner import SGNS

        t0 = time.perf_counter()
        p = state["parameters"]
        seed = replica_seed(int(state["params"].get("seed", 0)), self.index, round_no)
        if self.model is not None:
            self.model.close()
        self.model = SGNS.from_state({**state, "parameters": {**p, "rng": seed_states(seed, p["rng"].shape[0])}})
        if steps:  # a merged state before the round's steps (the merge actor took them on its copy)
            state = take_steps(self.model, state)
        self.model.defer_round_steps()  # decay steps and change checks: at round boundaries, by the merged count
        if self.evidence_steps:  # steps at the merged stream's evidence (the merge's rows="gain")
            self.model.extrapolate_steps(self.replicas, self.step_cap, self.max_step)
        self.base = writable_state(state)  # the merged RNG streams; updated in place by apply_update
        self._own = None
        self._residual = {}  # a rollback drops what earlier rounds had not transmitted (rows only, never counts)
        return time.perf_counter() - t0

    def _apply_late(self, update: dict, round_no: int) -> None:
        """Take the previous round's merged update after this round's training (overlap): the base
        becomes the merged state ``S`` in place (:func:`~streamsgns.distributed.apply.apply_to_base`),
        the model ``S`` plus this round (:func:`~streamsgns.distributed.overlap.late_apply`, computed
        into its own arrays where they differ from it: :func:`~streamsgns.distributed.overlap.late_apply_inplace`),
        with this replica's RNG streams of the next round (as :meth:`_load` derives them)."""
        from .apply import apply_to_base
        from .overlap import late_apply_inplace

        if self._sent is None:
            raise RuntimeError(f"replica {self.index}: a late update without the state of the last send")
        self.base = apply_to_base(self.base, update)
        late_apply_inplace(self.model, self._sent, self.base, update, self._own)
        self._sent = None
        self._own = None
        rng = self.model.params.rng
        seeds = seed_states(replica_seed(int(self.base["params"].get("seed", 0)), self.index, round_no + 1),
                            self.base["parameters"]["rng"].shape[0])
        k = min(rng.shape[0], seeds.shape[0])
        rng[:k] = seeds[:k]
        if self.evidence_steps:  # the merged evidence is the rows' new n0 (as at a load)
            self.model.extrapolate_steps(self.replicas, self.step_cap, self.max_step)

    def _apply(self, update: dict, round_no: int) -> None:
        """Take the merged update in place (:func:`~streamsgns.distributed.apply.apply_update`), run
        the round's steps (:func:`~streamsgns.distributed.rounds.take_steps`: a change check, a decay
        step, when the merged token count makes them due), then re-derive this replica's RNG streams
        for the round (as :meth:`_load` does)."""
        from .apply import apply_update

        if self._own is None:  # no delta of the round on record: load the merged state instead
            self._load(merge_deltas(self.base, [update]), round_no, steps=True)
            return
        self.base = apply_update(self.model, self.base, update, self._own)
        self._own = None
        self.base = take_steps(self.model, self.base)  # the round's check and decay step, as the merge actor's
        rng = self.model.params.rng
        seeds = seed_states(replica_seed(int(self.base["params"].get("seed", 0)), self.index, round_no),
                            self.base["parameters"]["rng"].shape[0])
        k = min(rng.shape[0], seeds.shape[0])
        rng[:k] = seeds[:k]
        if self.evidence_steps:  # the merged evidence is the rows' new n0 (as at a load)
            self.model.extrapolate_steps(self.replicas, self.step_cap, self.max_step)

    def reset(self, state: dict, position: dict, round_no: int) -> None:
        """Load ``state`` and move each of this replica's partitions to its offset in ``position``.

        Used at start and to roll back to the last merged state after another replica died: what
        was read since is read again, so no message is lost or counted twice.

        Parameters
        ----------
        state : dict
            A merged :meth:`streamsgns.SGNS.state_dict`.
        position : dict
            ``{"kafka": {"TOPIC:PARTITION": next_offset}}`` for (at least) this replica's partitions.
        round_no : int
        """
        if self._it is not None:
            self._it.close()
            self._it = None
        self._load(state, round_no)
        self._sent = None
        self._idle_since = time.perf_counter()
        mine = {k: v for k, v in position["kafka"].items() if k in self.partitions}
        missing = set(self.partitions) - set(mine)
        if missing:
            raise ValueError(f"replica {self.index}: no offset for partitions {sorted(missing)}")
        self.source.seek({"kafka": mine}, others="earliest")

    def train(self, update: dict | None, round_no: int, max_tokens: int, max_seconds: float,
              late: list | None = None) -> tuple[dict, dict]:
        """One sync round: apply the merged ``update`` (unless None), train until a limit, return a report and a delta.

        Parameters
        ----------
        update : dict or None
            The merged update of the previous round (:func:`streamsgns.distributed.delta.model_delta`
            of the merged state against this replica's base); None: keep the loaded model.
        round_no : int
        max_tokens : int
            Tokens to train before returning (checked after each chunk).
        max_seconds : float
            Seconds of reading and training before returning.
        late : list of one ObjectRef, optional
            With overlap: the merged update of the previous round, still being merged when the
            round starts (a list, so that Ray does not wait for it before the call); fetched and
            taken late (:meth:`_apply_late`) after this round's training, before the delta.

        Returns
        -------
        report : dict
            ``position`` (next offset of each of this replica's partitions), ``tokens`` trained,
            ``idle`` (the partitions had no message for ``idle_timeout`` s), ``bytes_up`` (bytes of
            the delta), and seconds: ``wait_s`` (from the end of the previous round's training to
            the start of this one's: waiting for the sync and applying the update; with ``late``,
            plus the wait for it and its late apply), ``fetch_s`` (waiting for ``late``), ``load_s``
            (applying the update in place, or late), ``train_s`` (reading and training), ``learn_s``
            (the learner alone), ``state_s`` (computing the delta). No row data.
        delta : dict
            :func:`~streamsgns.distributed.delta.model_delta` of the trained model against the base.
        """
        from .delta import delta_nbytes, encode_delta, model_delta

        t_in = time.perf_counter()
        load_s = 0.0
        if update is not None:
            self._apply(update, round_no)
            load_s = time.perf_counter() - t_in
        m = self.model
        start = m.words_seen
        t0 = time.perf_counter()
        wait_s = t0 - self._idle_since
        idle = False
        learn_s = 0.0
        while m.words_seen - start < max_tokens and time.perf_counter() - t0 < max_seconds:
            if self._it is None:
                self._it = self.source.chunks()
            try:
                chunk = next(self._it)
            except StopIteration:  # idle_timeout without a message
                self._it = None
                idle = True
                break
            t = time.perf_counter()
            m.learn_text(chunk.data)
            learn_s += time.perf_counter() - t
        train_s = time.perf_counter() - t0
        tokens = m.words_seen - start
        fetch_s = 0.0
        if late is not None:  # the previous round's merge, taken now that this round is trained
            import ray

            t = time.perf_counter()
            upd = ray.get(late[0])
            fetch_s = time.perf_counter() - t
            t = time.perf_counter()
            self._apply_late(upd, round_no)
            del upd
            load_s += time.perf_counter() - t
            wait_s += fetch_s + time.perf_counter() - t
            m = self.model
        t1 = time.perf_counter()
        state = m.state_dict()
        delta = model_delta(state, self.base)
        self._own = delta  # where the model now differs from the base: what the next apply copies
        if self.overlap:  # what the next late apply takes this round's delta against (no averages: not shipped)
            self._sent = writable_state({k: v for k, v in state.items() if k not in ("average", "noise")})
        if self.delta_fp16 or self.rare_below > 0:
            delta, self._residual = encode_delta(delta, self.base, self._residual, round_no, fp16=self.delta_fp16,
                                                 rare_below=self.rare_below)
        state_s = time.perf_counter() - t1
        self._idle_since = time.perf_counter()
        report = {"position": self.source.position(), "tokens": tokens, "idle": idle,
                  "bytes_up": delta_nbytes(delta), "wait_s": wait_s, "load_s": load_s, "train_s": train_s,
                  "learn_s": learn_s, "state_s": state_s, "index": self.index}
        if late is not None:
            report["fetch_s"] = fetch_s
        return report, delta

    def close(self) -> None:
        """Close the Kafka consumer (nothing is committed)."""
        if self._it is not None:
            self._it.close()
            self._it = None
        self.source.close()
