"""Where each partition of the Kafka source starts and stands: positions, seek, rewind, reset past the end.

Why an object of its own? The checkpoint, not the broker, is the source of truth for where
reading resumes: a trainer restores its model, then seeks the source to the offsets that model
has learnt, whatever the consumer group committed. :class:`Assignment` holds those positions,
moves the consumer to them when partitions are assigned (at connect, or at a group rebalance),
moves them past each message consumed, rewinds a partition whose messages were dropped, and
resets a partition whose position lies past the end of its log. The
:class:`~streamsgns.connectors.kafka.KafkaSource` hands it the consumer at each call; it never
creates or closes one.
"""

from __future__ import annotations

import logging
from typing import Callable

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.errors import describe
from streamsgns.connectors.kafka.position import format_position, parse_position

__all__ = ["Assignment"]


class Assignment:
    """The source's position in every partition, and the seeks that make the consumer follow it.

    Parameters
    ----------
    stats : dict
        The source's counters; ``resets`` is incremented here.
    log : callable
        ``log(message, level)``: where a reset and a failed offset look-up are reported.
    offset_reset : str
        The consumer's ``auto_offset_reset`` policy (``"earliest"`` or ``"latest"``; any other
        value disables :meth:`reset_past_end`).

    Attributes
    ----------
    positions : dict[tuple[str, int], int]
        ``{(topic, partition): next_offset}``: everything consumed so far, plus what :meth:`seek`
        asked for. The positions of yielded chunks are snapshots (:meth:`position`).
    seek_generation : int
        Number of :meth:`seek` calls, so that a chunk generator suspended across one notices it.
    last_seek : set of (str, int)
        Partitions the last :meth:`seek` moved.
    seek_others : {"committed", "earliest"}
        Where partitions missing from the last :meth:`seek` start.
    past_end : dict[tuple[str, int], float]
        When each partition was first seen past the end of its log (monotonic seconds).

    Examples
    --------
    No consumer is needed to keep positions:

    >>> a = Assignment({"resets": 0}, print, "earliest")
    >>> a.seek({"kafka": {"news:0": 12}}, "committed", consumer=None)
    >>> a.advance(("news", 1), 3)
    >>> a.position(), a.seek_generation
    ({'kafka': {'news:0': 12, 'news:1': 3}}, 1)
    """

    def __init__(self, stats: dict, log: Callable[[str, int], None], offset_reset: str):
        self.stats = stats
        self.log = log
        self.offset_reset = offset_reset
        self.positions: dict[tuple[str, int], int] = {}
        self.seek_generation = 0
        self.past_end: dict[tuple[str, int], float] = {}
        self.last_seek: set[tuple[str, int]] = set()
        self.seek_others = "committed"

    def position(self) -> dict:
        """The current position ``{"kafka": {"TOPIC:PARTITION": next_offset}}``, a sorted,
        JSON-serialisable copy (:func:`~streamsgns.connectors.kafka.position.format_position`)."""
        return format_position(self.positions)

    def advance(self, key: tuple[str, int], next_offset: int) -> None:
        """Move partition ``key`` = ``(topic, partition)`` to ``next_offset`` (the offset of the
        message just consumed, plus one)."""
        self.positions[key] = next_offset

    def seek(self, position: dict, others: str, consumer) -> None:
        """Start each partition of ``position`` at its stored offset.

        Applied at once to the partitions ``consumer`` has assigned, otherwise when they get
        assigned (:meth:`seek_assigned`).

        Parameters
        ----------
        position : dict
            A Kafka position; an empty dict changes nothing.
        others : {"committed", "earliest"}
            Where the partitions that ``position`` does not name start (see
            :meth:`streamsgns.connectors.kafka.KafkaSource.seek`).
        consumer : kafka.KafkaConsumer or None
            The source's consumer, ``None`` before it connects.

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
        self.positions.update(offsets)
        self.last_seek = set(offsets)
        self.seek_others = others
        self.seek_generation += 1
        if consumer is not None:
            from kafka import TopicPartition

            assigned = consumer.assignment()
            if others == "earliest":
                tps = list(assigned)
                self.last_seek |= {(tp.topic, tp.partition) for tp in tps}
            else:
                tps = [tp for tp in (TopicPartition(t, p) for t, p in offsets) if tp in assigned]
            self.seek_assigned(consumer, tps)

    def seek_assigned(self, consumer, tps) -> None:
        """Seek the given assigned partitions to their stored positions, if any (to the start of
        the log without one, after ``seek(..., others="earliest")``).

        Parameters
        ----------
        consumer : kafka.KafkaConsumer
        tps : iterable of kafka.TopicPartition
            Partitions just assigned to ``consumer``.
        """
        for tp in tps:
            offset = self.positions.get((tp.topic, tp.partition))
            if offset is not None:
                consumer.seek(tp, offset)
            elif self.seek_others == "earliest":
                consumer.seek_to_beginning(tp)

    def rewind(self, consumer, unprocessed) -> None:
        """Seek partitions back to their first unprocessed message, except those that
        :meth:`seek` has just moved.

        Parameters
        ----------
        consumer : kafka.KafkaConsumer
        unprocessed : list of (kafka.TopicPartition, list)
            ``(partition, messages)`` of a poll whose rest was dropped (see
            :mod:`streamsgns.connectors.kafka.batching`); a partition no longer assigned is
            skipped.
        """
        for tp, messages in unprocessed:
            if messages and (tp.topic, tp.partition) not in self.last_seek:
                try:
                    consumer.seek(tp, messages[0].offset)
                except (KafkaError, AssertionError):  # no longer assigned
                    pass

    def reset_past_end(self, consumer, now: float) -> None:
        """Reset the partitions whose position lies past the end of their log.

        Kafka answers a fetch past the end with OFFSET_OUT_OF_RANGE and the consumer then resets
        by ``auto_offset_reset``. Some brokers (Tansu after a restart with memory storage, which
        empties every log) answer with no records and no error, so the consumer would wait
        forever. A partition whose next offset stays above the last known high watermark for a
        second is reset here by the same policy (counted in ``stats["resets"]``, logged as a
        warning).

        Parameters
        ----------
        consumer : kafka.KafkaConsumer
        now : float
            ``time.monotonic()`` of the call, in seconds.
        """
        from kafka import TopicPartition

        policy = self.offset_reset
        if policy not in ("earliest", "latest"):
            return
        for tp in consumer.assignment():
            key = (tp.topic, tp.partition)
            pos = self.positions.get(key)
            try:
                hw = consumer.highwater(tp)
            except KafkaError:
                hw = None
            if pos is None or hw is None or pos <= hw:
                self.past_end.pop(key, None)
                continue
            since = self.past_end.setdefault(key, now)
            if now - since < 1.0:
                continue
            try:  # confirm with the broker: the cached high watermark may be stale
                end = consumer.end_offsets([tp], timeout_ms=5000)[tp]
                if pos <= end:
                    self.past_end.pop(key, None)
                    continue
                if policy == "earliest":
                    target = consumer.beginning_offsets([tp], timeout_ms=5000)[tp]
                else:
                    target = end
            except (KafkaError, OSError, KeyError) as exc:
                self.log(f"kafka: cannot look up the offsets of {tp.topic}:{tp.partition} "
                         f"({describe(exc)})", logging.WARNING)
                continue
            self.log(f"kafka: {tp.topic}:{tp.partition} position {pos} is past the end of the "
                     f"log ({end}): the log was truncated or recreated, resetting to {policy} "
                     f"offset {target}", logging.WARNING)
            consumer.seek(TopicPartition(tp.topic, tp.partition), target)
            self.positions[key] = target
            self.past_end.pop(key, None)
            self.stats["resets"] += 1

    def lag(self, consumer) -> dict[tuple[str, int], int]:
        """High watermark − position of each assigned partition, in messages (see
        :meth:`streamsgns.connectors.kafka.KafkaSource.lag`).

        Parameters
        ----------
        consumer : kafka.KafkaConsumer or None
            ``None``: no lag (``{}``).

        Returns
        -------
        dict[tuple[str, int], int]
            ``{(topic, partition): messages}``, never negative; partitions without a reported
            high watermark, or not read yet, are left out.
        """
        if consumer is None:
            return {}
        out = {}
        try:
            assigned = consumer.assignment()
        except Exception:  # noqa: BLE001 - a consumer being recreated
            return {}
        for tp in assigned:
            key = (tp.topic, tp.partition)
            pos = self.positions.get(key)
            try:
                hw = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - no longer assigned
                hw = None
            if pos is not None and hw is not None:
                out[key] = max(0, int(hw) - int(pos))
        return out
