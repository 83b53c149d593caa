"""Offset commits of the Kafka source: buffered until the broker takes them, never before the checkpoint is durable."""

from __future__ import annotations

import logging

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.errors import describe
from streamsgns.connectors.kafka.position import parse_position

__all__ = ["CommitMixin"]


class CommitMixin:
    """:meth:`~streamsgns.connectors.kafka.KafkaSource.commit` and its retry buffer.

    State (set by :meth:`_init_commits`): ``_pending_commit``, the offsets
    handed to :meth:`~streamsgns.connectors.kafka.KafkaSource.commit` that the broker has not acknowledged yet. They
    are retried with the next :meth:`~streamsgns.connectors.kafka.KafkaSource.commit`, after a (re)connect, and at
    :meth:`~streamsgns.connectors.kafka.KafkaSource.close`.
    """

    def _init_commits(self) -> None:
        self._pending_commit: dict[tuple[str, int], int] = {}

    def commit(self, position: dict) -> None:
        """Commit exactly the offsets of ``position`` to the consumer group.

        Call it only once the checkpoint covering ``position`` is durable. A
        failed commit is logged and retried with the next :meth:`~streamsgns.connectors.kafka.KafkaSource.commit` (or
        at :meth:`~streamsgns.connectors.kafka.KafkaSource.close`); it never raises a Kafka error. Does nothing
        without ``group_id``.

        Parameters
        ----------
        position : dict
            A :attr:`~streamsgns.connectors.base.Chunk.position` of this source.

        Raises
        ------
        ValueError
            If ``position`` is not a Kafka position.
        """
        offsets = parse_position(position) if position else {}
        if not self.group_id:
            return
        self._pending_commit.update(offsets)
        if self._consumer is None:
            return  # committed once the consumer exists (next commit or close)
        self._try_commit()

    def _try_commit(self) -> bool:
        """Send the pending offsets; count and log a failure, keep them for a retry.

        Returns ``False`` when the broker did not take the commit. Only the
        offsets that were sent, and not replaced in the meantime, leave the
        buffer (counted in ``stats["commits"]`` / ``stats["commit_failures"]``).
        """
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        if not self._pending_commit or self._consumer is None:
            return True
        pending = dict(self._pending_commit)
        offsets = {TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
                   for (t, p), o in pending.items()}
        try:
            try:
                self._consumer.commit(offsets, timeout_ms=self.commit_timeout_ms)
            except TypeError:  # kafka-python 2.x: no timeout
                self._consumer.commit(offsets)
        except (KafkaError, OSError) as exc:
            self.stats["commit_failures"] += 1
            self._log(f"kafka: commit of {len(offsets)} offsets failed ({describe(exc)}), "
                      "retrying with the next commit", logging.WARNING)
            return False
        for key, off in pending.items():
            if self._pending_commit.get(key) == off:
                del self._pending_commit[key]
        self.stats["commits"] += 1
        return True
