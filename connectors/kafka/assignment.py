"""Where each partition starts: seek, the rebalance listener, rewind, and the reset-past-end workaround."""

from __future__ import annotations

import logging

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.errors import describe
from streamsgns.connectors.kafka.position import parse_position

__all__ = ["AssignmentMixin"]


class AssignmentMixin:
    """Move the consumer to the positions that the checkpoint, not the broker, holds.

    State (set by :meth:`_init_assignment`): ``_seek_generation`` (counts
    :meth:`~streamsgns.connectors.kafka.KafkaSource.seek` calls, so that a chunk generator suspended across one
    notices it), ``_last_seek`` (partitions the last :meth:`~streamsgns.connectors.kafka.KafkaSource.seek` moved),
    ``_seek_others`` (where partitions missing from it start) and
    ``_past_end`` (first time each partition was seen past the end of its
    log). Reads and writes ``_positions`` of
    :class:`streamsgns.connectors.kafka.KafkaSource`.
    """

    def _init_assignment(self) -> None:
        self._seek_generation = 0
        self._past_end: dict[tuple[str, int], float] = {}
        self._last_seek: set[tuple[str, int]] = set()
        self._seek_others = "committed"  # where partitions missing from seek() start

    def seek(self, position: dict, others: str = "committed") -> None:
        """Start each partition of ``position`` at its stored offset.

        Applied at once to the partitions already assigned, otherwise when
        they get assigned.

        Parameters
        ----------
        position : dict
            A :attr:`~streamsgns.connectors.base.Chunk.position` of this kind of source; an empty dict
            changes nothing.
        others : {"committed", "earliest"}
            Where the partitions that ``position`` does not name start:
            ``"committed"`` (default), at the group's committed offset, or the
            earliest offset without one; ``"earliest"``, at the start of their
            log whatever the group committed. A trainer resuming from a
            checkpoint passes ``"earliest"``: a partition that the checkpoint
            does not name contributed nothing to the restored model, even if
            a newer (since lost) checkpoint's offsets were committed for it.

        Raises
        ------
        ValueError
            If ``position`` is not a Kafka position, or ``others`` is unknown.
        """
        if others not in ("committed", "earliest"):
            raise ValueError(f"others must be 'committed' or 'earliest', not {others!r}")
        if not position:
            return
        offsets = parse_position(position)
        self._positions.update(offsets)
        self._last_seek = set(offsets)
        self._seek_others = others
        self._seek_generation += 1
        consumer = self._consumer
        if consumer is not None:
            from kafka import TopicPartition

            assigned = consumer.assignment()
            if others == "earliest":
                tps = list(assigned)
                self._last_seek |= {(tp.topic, tp.partition) for tp in tps}
            else:
                tps = [tp for tp in (TopicPartition(t, p) for t, p in offsets) if tp in assigned]
            self._seek_assigned(consumer, tps)

    def _seek_assigned(self, consumer, tps) -> None:
        """Seek the given assigned partitions to the stored positions, if any
        (to the start of the log without one, after ``seek(..., others="earliest")``)."""
        for tp in tps:
            offset = self._positions.get((tp.topic, tp.partition))
            if offset is not None:
                consumer.seek(tp, offset)
            elif self._seek_others == "earliest":
                consumer.seek_to_beginning(tp)

    def _make_listener(self, consumer):
        """A rebalance listener that seeks newly assigned partitions (group mode)."""
        from kafka import ConsumerRebalanceListener

        source = self

        class _Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                # Nothing to commit here: offsets are committed by the trainer
                # only once a checkpoint covering them is durable.
                pass

            def on_partitions_assigned(self, assigned):
                source._seek_assigned(consumer, assigned)

        return _Listener()

    def _rewind(self, consumer, unprocessed) -> None:
        """Seek partitions back to their first unprocessed message, except those
        that :meth:`~streamsgns.connectors.kafka.KafkaSource.seek` has just moved.

        ``unprocessed`` is a list of ``(TopicPartition, messages)`` of a poll
        whose rest was dropped (see :mod:`streamsgns.connectors.kafka.batching`).
        """
        if self._stopping():
            return
        for tp, messages in unprocessed:
            if messages and (tp.topic, tp.partition) not in self._last_seek:
                try:
                    consumer.seek(tp, messages[0].offset)
                except (KafkaError, AssertionError):  # no longer assigned
                    pass

    def _reset_past_end(self, consumer, now: float) -> None:
        """Reset partitions whose position lies past the end of their log.

        Kafka answers a fetch past the end with OFFSET_OUT_OF_RANGE and the
        consumer then resets by ``auto_offset_reset``. Some brokers (Tansu
        after a restart with memory storage, which empties every log) answer
        with no records and no error, so the consumer would wait forever. A
        partition whose next offset stays above the last known high watermark
        for a second is reset here by the same policy (counted in
        ``stats["resets"]``).
        """
        from kafka import TopicPartition

        policy = self._config.get("auto_offset_reset", "earliest")
        if policy not in ("earliest", "latest"):
            return
        for tp in consumer.assignment():
            key = (tp.topic, tp.partition)
            pos = self._positions.get(key)
            try:
                hw = consumer.highwater(tp)
            except KafkaError:
                hw = None
            if pos is None or hw is None or pos <= hw:
                self._past_end.pop(key, None)
                continue
            since = self._past_end.setdefault(key, now)
            if now - since < 1.0:
                continue
            try:  # confirm with the broker: the cached high watermark may be stale
                end = consumer.end_offsets([tp], timeout_ms=5000)[tp]
                if pos <= end:
                    self._past_end.pop(key, None)
                    continue
                if policy == "earliest":
                    target = consumer.beginning_offsets([tp], timeout_ms=5000)[tp]
                else:
                    target = end
            except (KafkaError, OSError, KeyError) as exc:
                self._log(f"kafka: cannot look up the offsets of {tp.topic}:{tp.partition} "
                          f"({describe(exc)})", logging.WARNING)
                continue
            self._log(f"kafka: {tp.topic}:{tp.partition} position {pos} is past the end of the "
                      f"log ({end}): the log was truncated or recreated, resetting to {policy} "
                      f"offset {target}", logging.WARNING)
            consumer.seek(TopicPartition(tp.topic, tp.partition), target)
            self._positions[key] = target
            self._past_end.pop(key, None)
            self.stats["resets"] += 1
