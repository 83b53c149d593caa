"""The Kafka source's poll loop: poll the consumer, turn message values into lines, yield chunks.

Why an object of its own? What a trainer gets from Kafka is decided here: how many messages make
a chunk (``max_chunk_bytes``), how long a line may wait before it is passed on
(``poll_timeout_ms``), what is skipped (tombstones, empty values), when a quiet topic ends the
stream (``idle_timeout``), and how poll errors are ridden out. :class:`Batching` runs one poll
round after another with the consumer of a
:class:`~streamsgns.connectors.kafka.connection.Connection`, moves the positions of an
:class:`~streamsgns.connectors.kafka.assignment.Assignment` past every message, and asks a
:class:`~streamsgns.connectors.kafka.stopping.Stopping` before each step; it holds only the lines
of the chunk being filled (:class:`LineBuffer`) and the times of one iteration.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Generator, Iterator

from kafka.errors import KafkaError

from streamsgns.connectors.base import Chunk
from streamsgns.connectors.kafka.assignment import Assignment
from streamsgns.connectors.kafka.connection import RECREATE_AFTER, Connection
from streamsgns.connectors.kafka.errors import describe
from streamsgns.connectors.kafka.stopping import Stopping

__all__ = ["Batching", "LineBuffer", "value_to_line"]


def value_to_line(value: bytes) -> bytes:
    """The line of a message value: the value without one trailing ``b"\\n"``.

    Examples
    --------
    >>> value_to_line(b"a b\\n"), value_to_line(b"a b"), value_to_line(b"\\n")
    (b'a b', b'a b', b'')
    """
    return value[:-1] if value.endswith(b"\n") else value


class LineBuffer:
    """Lines waiting to become one chunk.

    Parameters
    ----------
    max_bytes : int
        Chunk size limit in bytes (a single larger line still fits an empty buffer).
    position : dict
        Position of the last chunk yielded (a fresh source: its start position).

    Attributes
    ----------
    nbytes : int
        Bytes held, line ends included.
    records : int
        Lines held (one per message).
    started : float
        ``time.monotonic()`` when the first held line arrived (kept after a flush).
    last_position : dict
        Position of the last chunk taken with :meth:`take`.
    """

    def __init__(self, max_bytes: int, position: dict):
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.nbytes = 0
        self.records = 0
        self.started = 0.0
        self.last_position = position

    def __bool__(self) -> bool:
        return bool(self.parts)

    def fits(self, line: bytes) -> bool:
        """Whether ``line`` (plus its ``b"\\n"``) can join without passing ``max_bytes``."""
        return not self.parts or self.nbytes + len(line) + 1 <= self.max_bytes

    @property
    def full(self) -> bool:
        """Whether ``max_bytes`` is reached."""
        return self.nbytes >= self.max_bytes

    def add(self, line: bytes, now: float) -> None:
        """Append ``line`` and its ``b"\\n"``; ``now`` is the arrival time (monotonic seconds)."""
        if not self.parts:
            self.started = now
        self.parts.append(line)
        self.parts.append(b"\n")
        self.nbytes += len(line) + 1
        self.records += 1

    def take(self, position: dict) -> Chunk | None:
        """Empty the buffer into a chunk at ``position``.

        Returns ``None`` when there is no line and the position has not moved
        since the last chunk; a chunk with ``data=b""`` when only the
        position moved (skipped messages).
        """
        if not self.parts and position == self.last_position:
            return None
        chunk = Chunk(b"".join(self.parts), position, self.records)
        self.parts, self.nbytes, self.records = [], 0, 0
        self.last_position = position
        return chunk


@dataclass
class _Clock:
    """Times and counters of one :meth:`Batching.chunks` iteration (monotonic seconds)."""

    last_activity: float  # last message, chunk, or (re)connect: start of idleness
    errors: int = 0  # poll errors in a row
    last_range_check: float = 0.0  # last reset_past_end


class Batching:
    """The chunks of one Kafka source, one poll round at a time.

    One round: :meth:`_poll` (wait at most until the oldest held line is due) →
    :meth:`_take_records` (values into lines; yield when the next line does not fit) →
    :meth:`_check_past_end` after an empty poll → yield if :meth:`_due` → end if
    :meth:`_idle_too_long`. A poll error goes to :meth:`_recover_from_poll_error` instead
    (backoff, then recreate the consumer after ``RECREATE_AFTER`` errors in a row).

    Parameters
    ----------
    connection : Connection
        Owns the consumer: connected on the first round, recreated after repeated poll errors.
    assignment : Assignment
        Owns the positions: each chunk's position is its :meth:`Assignment.position` when the
        chunk is taken.
    stopping : Stopping
        Ends the iteration, wakes the backoff sleeps, and marks each poll as a consumer call.
    stats : dict
        The source's counters; ``records``, ``bytes`` (value bytes), ``tombstones``,
        ``empty``, ``chunks`` and ``errors`` are incremented here.
    log : callable
        ``log(message, level)``: where poll errors and the idle end are reported.
    max_chunk_bytes : int
        Chunk size limit in bytes; a single larger message is a chunk of its own.
    poll_timeout_ms : int
        Longest wait for data in one poll, and longest time a line is held back, in
        milliseconds.
    idle_timeout : float or None
        Seconds without a new message (while partitions are assigned) after which the iteration
        ends; ``None``: never.
    """

    def __init__(self, connection: Connection, assignment: Assignment, stopping: Stopping, *, stats: dict,
                 log: Callable[[str, int], None], max_chunk_bytes: int, poll_timeout_ms: int,
                 idle_timeout: float | None):
        self.connection = connection
        self.assignment = assignment
        self.stopping = stopping
        self.stats = stats
        self.log = log
        self.max_chunk_bytes = max_chunk_bytes
        self.poll_timeout_ms = poll_timeout_ms
        self.idle_timeout = idle_timeout

    def chunks(self, idle_work: Callable[[], bool]) -> Iterator[Chunk]:
        """Yield chunks of message values until ``idle_timeout`` or the source stops (see
        :meth:`streamsgns.connectors.kafka.KafkaSource.chunks`).

        Parameters
        ----------
        idle_work : callable
            ``() -> bool``, called when the consumer is caught up: True means it did work, and the
            next poll only peeks for new records instead of waiting.

        Yields
        ------
        Chunk
            Up to ``max_chunk_bytes`` bytes of whole lines (one per message), with the position
            after its last message.

        Raises
        ------
        streamsgns.connectors.kafka.errors.KafkaSecurityError
            When the broker answers but the secured connection fails (not retried).
        """
        connection, stopping = self.connection, self.stopping
        if not connection.ensure():
            return
        buf = LineBuffer(self.max_chunk_bytes, self.assignment.position())
        clock = _Clock(last_activity=time.monotonic())
        idle = False  # the last poll returned nothing and no line is held: the consumer is caught up
        while not stopping.requested():
            consumer = connection.consumer
            try:
                # caught up (lag 0): spend the wait on the caller's idle work, then only peek for new records
                busy = idle and idle_work()
                records = self._poll(consumer, buf, wait=not busy)
            except (KafkaError, OSError) as exc:
                if stopping.requested():
                    break
                if not (yield from self._recover_from_poll_error(exc, buf, clock)):
                    break
                continue
            clock.errors = 0
            now = time.monotonic()
            got_any = yield from self._take_records(consumer, records, buf, now, clock)
            idle = not got_any and not buf
            if got_any or not consumer.assignment():
                # idle time counts only while partitions are assigned (a group
                # join or rebalance is not idleness)
                clock.last_activity = time.monotonic()
            if stopping.requested():
                break
            if not got_any:
                self._check_past_end(consumer, now, clock)
            if self._due(buf, got_any, now):
                chunk = self._emit(buf)
                if chunk is not None:
                    yield chunk
                    clock.last_activity = time.monotonic()
            if not got_any and self._idle_too_long(clock):
                chunk = self._emit(buf)
                if chunk is not None:
                    yield chunk
                self.log(f"kafka: no message for {self.idle_timeout:g} s, stopping", logging.INFO)
                return
        chunk = self._emit(buf)  # what was read before stop() or close()
        if chunk is not None:
            yield chunk

    def _emit(self, buf: LineBuffer) -> Chunk | None:
        """The buffered lines as a chunk at the current position (counted), or ``None``."""
        chunk = buf.take(self.assignment.position())
        if chunk is not None:
            self.stats["chunks"] += 1
        return chunk

    def _poll(self, consumer, buf: LineBuffer, wait: bool = True) -> dict:
        """One ``consumer.poll``, waiting at most until the oldest held line is
        ``poll_timeout_ms`` old (a full ``poll_timeout_ms`` with none held; not at all with ``wait=False``)."""
        poll_s = self.poll_timeout_ms / 1000.0
        timeout = max(0.0, buf.started + poll_s - time.monotonic()) if buf else poll_s
        if not wait:
            timeout = 0.0
        with self.stopping.in_io():
            return consumer.poll(timeout_ms=int(timeout * 1000))

    def _recover_from_poll_error(self, exc: BaseException, buf: LineBuffer,
                                 clock: _Clock) -> Generator[Chunk, None, bool]:
        """Yield what is held, log, back off; recreate the consumer after
        ``RECREATE_AFTER`` errors in a row. Returns ``False`` when the
        iteration must end (closed while reconnecting)."""
        clock.errors += 1
        self.stats["errors"] += 1
        chunk = self._emit(buf)
        if chunk is not None:
            yield chunk
            clock.last_activity = time.monotonic()
        delay = self.connection.backoff(clock.errors)
        self.log(f"kafka: poll failed ({describe(exc)}), "
                 f"retrying in {delay:.1f} s", logging.WARNING)
        self.stopping.sleep(delay)
        if clock.errors >= RECREATE_AFTER and not self.stopping.requested():
            with self.stopping.in_io():
                self.connection.recreate()
            if self.connection.consumer is None:
                return False
            clock.errors = 0
            clock.last_activity = time.monotonic()
        return True

    def _take_records(self, consumer, records: dict, buf: LineBuffer, now: float,
                      clock: _Clock) -> Generator[Chunk, None, bool]:
        """Turn the messages of one poll into buffered lines, moving the position
        past each message; yield a chunk whenever the next line does not fit.

        Tombstones (``value is None``) and empty values are counted in
        ``stats`` and skipped. If :meth:`~streamsgns.connectors.kafka.KafkaSource.seek`, :meth:`~streamsgns.connectors.kafka.KafkaSource.stop` or :meth:`~streamsgns.connectors.kafka.KafkaSource.close`
        happens while a chunk is out, the rest of the poll is dropped and
        its partitions are rewound (see :meth:`Assignment.rewind`). Returns whether
        the poll brought any message.
        """
        assignment, stopping = self.assignment, self.stopping
        got_any = False
        generation = assignment.seek_generation
        batches = list(records.items())
        for bi, (tp, messages) in enumerate(batches):
            key = (tp.topic, tp.partition)
            for mi, msg in enumerate(messages):
                got_any = True
                value = msg.value
                line = self._line_of(value)
                if line is not None:
                    if not buf.fits(line):
                        yield self._emit(buf)
                        clock.last_activity = time.monotonic()
                        if generation != assignment.seek_generation or stopping.requested():
                            # seek() or close() while suspended: drop the rest of
                            # this poll, and refetch what seek() did not move.
                            if not stopping.requested():
                                assignment.rewind(consumer, [(tp, messages[mi:])] + batches[bi + 1:])
                            return got_any
                    buf.add(line, now)
                    self.stats["records"] += 1
                    self.stats["bytes"] += len(value)
                assignment.advance(key, msg.offset + 1)
        return got_any

    def _line_of(self, value: bytes | None) -> bytes | None:
        """The line of a message value, or ``None`` for a tombstone or an empty
        value (counted in ``stats["tombstones"]`` / ``stats["empty"]``)."""
        if value is None:
            self.stats["tombstones"] += 1
            return None
        line = value_to_line(value)
        if not line:
            self.stats["empty"] += 1
            return None
        return line

    def _check_past_end(self, consumer, now: float, clock: _Clock) -> None:
        """After an empty poll, at most every 0.5 s: :meth:`Assignment.reset_past_end`."""
        if now - clock.last_range_check >= 0.5:
            clock.last_range_check = now
            with self.stopping.in_io():
                self.assignment.reset_past_end(consumer, now)

    def _due(self, buf: LineBuffer, got_any: bool, now: float) -> bool:
        """Whether to yield now: the poll came back empty (nothing more is
        waiting), the chunk is full, its first line has waited
        ``poll_timeout_ms``, or the poll brought only skipped messages."""
        return (not got_any or buf.full or now - buf.started >= self.poll_timeout_ms / 1000.0
                or (got_any and not buf))

    def _idle_too_long(self, clock: _Clock) -> bool:
        """Whether ``idle_timeout`` seconds passed since the last activity."""
        return (self.idle_timeout is not None
                and time.monotonic() - clock.last_activity >= self.idle_timeout)
