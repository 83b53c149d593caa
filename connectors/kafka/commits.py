"""Offset commits of the Kafka source: buffered until the broker takes them, never before the checkpoint is durable.

Why an object of its own? A commit tells the consumer group "everything before these offsets is
learnt and saved": sent too early, a crash loses data; lost, a restart reads data twice. The
trainer hands the source a position only once the checkpoint covering it is durable, and
:class:`Commits` keeps those offsets until the broker acknowledges them, across failed commits,
reconnects and close.
"""

from __future__ import annotations

import logging
from typing import Callable

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.errors import describe

__all__ = ["Commits"]


class Commits:
    """The offsets handed to :meth:`streamsgns.connectors.kafka.KafkaSource.commit` that the
    broker has not acknowledged yet, and the sending of them.

    An object the source holds (not a mixin): its one piece of state, ``pending``, is its own.
    Pending offsets are retried with the next commit, after a (re)connect, and at close.

    Parameters
    ----------
    stats : dict
        The source's counters; ``commits`` and ``commit_failures`` are incremented here.
    log : callable
        ``log(message, level)``: where a failed commit is reported.
    timeout_ms : int
        Longest time one commit blocks, in milliseconds.

    Attributes
    ----------
    pending : dict[tuple[str, int], int]
        ``{(topic, partition): next_offset}`` not yet taken by the broker.
    """

    def __init__(self, stats: dict, log: Callable[[str, int], None], timeout_ms: int):
        self.stats = stats
        self.log = log
        self.timeout_ms = int(timeout_ms)
        self.pending: dict[tuple[str, int], int] = {}

    def __bool__(self) -> bool:
        return bool(self.pending)

    def add(self, offsets: dict[tuple[str, int], int]) -> None:
        """Queue ``offsets`` (newer offsets of a partition replace older ones)."""
        self.pending.update(offsets)

    def send(self, consumer) -> bool:
        """Send the pending offsets with ``consumer``; count and log a failure, keep them for a retry.

        Parameters
        ----------
        consumer : kafka.KafkaConsumer or None
            ``None``: nothing is sent (committed once a consumer exists).

        Returns
        -------
        bool
            ``False`` when the broker did not take the commit. Only the offsets that were sent,
            and not replaced in the meantime, leave ``pending`` (counted in
            ``stats["commits"]`` / ``stats["commit_failures"]``).
        """
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        if not self.pending or consumer is None:
            return True
        pending = dict(self.pending)
        offsets = {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in pending.items()}
        try:
            try:
                consumer.commit(offsets, timeout_ms=self.timeout_ms)
            except TypeError:  # kafka-python 2.x: no timeout
                consumer.commit(offsets)
        except (KafkaError, OSError) as exc:
            self.stats["commit_failures"] += 1
            self.log(f"kafka: commit of {len(offsets)} offsets failed ({describe(exc)}), "
                     "retrying with the next commit", logging.WARNING)
            return False
        for key, off in pending.items():
            if self.pending.get(key) == off:
                del self.pending[key]
        self.stats["commits"] += 1
        return True
