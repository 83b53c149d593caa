"""Kafka source: message values of one or more topics as chunks of lines.

:class:`KafkaSource` wraps kafka-python's :class:`~kafka.KafkaConsumer` and
follows the :class:`connectors.base.Source` contract:

* every message value becomes one line (a value may itself hold several
  lines); values are passed on as raw bytes, so invalid UTF-8 and NUL bytes
  go through untouched and the learner decodes them with replacement;
* tombstones (``value is None``) and empty values are skipped and counted in
  :attr:`KafkaSource.stats`, but the position still moves past them;
* the position of a chunk is ``{"kafka": {"TOPIC:PARTITION": next_offset}}``
  for every partition seen so far, where ``next_offset`` is the offset of the
  last consumed message plus one (Kafka's committed-offset convention);
* the checkpoint, not the broker, is the source of truth: :meth:`seek` makes
  the consumer start each stored partition at the stored offset, whatever
  the group has committed; :meth:`commit` writes offsets to the group only
  when the trainer says the checkpoint covering them is durable
  (at-least-once delivery).

The consumer never auto-commits. Brokers that are down at start are retried
with exponential backoff; errors while polling are logged, backed off and, if
they persist, the consumer is recreated at the last yielded position so that
nothing is lost or read twice.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from kafka.errors import KafkaError

from connectors.base import Chunk, Source

__all__ = ["KafkaSource", "NoBrokersAvailable", "parse_position"]

_LOGGER = logging.getLogger("streamsgns.kafka")

#: Fast consumer-group settings: a join takes ~3 s instead of ~20 s.
FAST_GROUP_CONFIG = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 500,
    "max_poll_interval_ms": 10000,
}

#: Consecutive poll errors after which the consumer is closed and recreated.
_RECREATE_AFTER = 3


def parse_position(position: Mapping) -> dict[tuple[str, int], int]:
    """Turn a Kafka position into ``{(topic, partition): next_offset}``.

    Parameters
    ----------
    position : dict
        ``{"kafka": {"TOPIC:PARTITION": next_offset, ...}}``, as found in
        :attr:`connectors.base.Chunk.position`.

    Returns
    -------
    dict[tuple[str, int], int]
        Next offset to read for each partition.

    Raises
    ------
    ValueError
        If ``position`` is not a Kafka position (missing ``"kafka"`` key, a
        key without ``":PARTITION"``, or a negative / non-integer offset).
    """
    if not isinstance(position, Mapping) or not isinstance(position.get("kafka"), Mapping):
        raise ValueError(f"not a Kafka position (expected {{'kafka': {{...}}}}): {position!r}")
    out: dict[tuple[str, int], int] = {}
    for key, offset in position["kafka"].items():
        topic, sep, part = str(key).rpartition(":")
        if not sep or not topic or not part.isdigit():
            raise ValueError(f"bad Kafka partition key {key!r} (expected 'TOPIC:PARTITION')")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"bad Kafka offset {offset!r} for {key!r}")
        out[(topic, int(part))] = offset
    return out


class KafkaSource(Source):
    """Read message values of Kafka topics as chunks of lines.

    Parameters
    ----------
    bootstrap_servers : str or list of str
        ``"HOST:PORT"``, a comma-separated list of them, or a list.
    topics : str or list of str
        Topic name(s); a comma-separated string is split.
    group_id : str, optional
        Consumer group. Needed for :meth:`commit` and for group
        subscription; without it :meth:`commit` does nothing.
    assign : {"manual", "group"}, optional
        ``"manual"``: :meth:`~kafka.KafkaConsumer.assign` all partitions of
        the topics (instant, no rebalance; partitions added to a topic later
        are not picked up until the source is recreated). ``"group"``:
        subscribe with the group (partitions are shared between the group's
        members, a join takes ~3 s with the default settings). Default:
        ``"manual"`` without ``group_id``, ``"group"`` with one.
    poll_timeout_ms : int
        Longest wait for data in one poll, in milliseconds; also the longest
        time data is held back before it is yielded.
    idle_timeout : float, optional
        Seconds spent waiting for the broker without any new message (counted
        from the moment the consumer is connected) after which :meth:`chunks`
        ends. Time spent by the caller between two chunks (learning, writing
        a checkpoint) is not idleness. ``None``: never end.
    max_chunk_bytes : int
        Chunk size limit in bytes; a single larger message is a chunk of its own.
    consumer_config : dict, optional
        Extra :class:`~kafka.KafkaConsumer` settings, overriding the defaults
        (``enable_auto_commit=False``, ``auto_offset_reset="earliest"``,
        ``allow_auto_create_topics=False`` and the fast group timings
        ``session_timeout_ms=6000, heartbeat_interval_ms=500,
        max_poll_interval_ms=10000``).
    retry_backoff : tuple of float
        ``(initial, max)`` seconds of the exponential backoff between connection
        attempts and after poll errors; ``max`` also caps kafka-python's own
        reconnect backoff.
    log : logging.Logger or callable, optional
        Where progress and errors go: a logger, or a callable taking one
        string (e.g. ``print``). Default: the ``streamsgns.kafka`` logger.
    commit_timeout_ms : int
        Longest time one :meth:`commit` blocks, in milliseconds.

    Attributes
    ----------
    stats : dict[str, int]
        ``records`` (messages passed on), ``bytes`` (their value bytes),
        ``tombstones`` and ``empty`` (skipped messages), ``chunks``,
        ``errors`` (poll errors), ``reconnects`` (consumers recreated),
        ``resets`` (partitions reset because their position was past the end
        of the log),
        ``commits`` and ``commit_failures``.

    Raises
    ------
    ValueError
        If ``topics`` is empty, ``assign`` is unknown, or ``assign="group"``
        is asked for without ``group_id``.

    Notes
    -----
    Each message value becomes one line of the chunk: one trailing ``b"\\n"``
    of the value is dropped and every message is terminated with ``b"\\n"``,
    so a value ``b"a b\\n"`` and a value ``b"a b"`` give the same line, and a
    value ``b"\\n"`` counts as empty. When a poll brings only skipped
    messages, a chunk with ``data=b""`` and ``n_records=0`` is yielded so that
    the position moves past them.

    The consumer is not thread-safe: call :meth:`seek` and :meth:`commit`
    from the thread that iterates :meth:`chunks` (between two chunks);
    :meth:`close` may be called from any thread.
    """

    def __init__(self, bootstrap_servers: str | Iterable[str], topics: str | Iterable[str],
                 group_id: str | None = None, *, assign: str | None = None,
                 poll_timeout_ms: int = 500, idle_timeout: float | None = None,
                 max_chunk_bytes: int = 1 << 20, consumer_config: dict | None = None,
                 retry_backoff: tuple[float, float] = (0.5, 10.0),
                 log: logging.Logger | Callable[[str], object] | None = None,
                 commit_timeout_ms: int = 10000):
        super().__init__()
        if isinstance(bootstrap_servers, str):
            bootstrap_servers = bootstrap_servers.split(",")
        self.bootstrap_servers = [s.strip() for s in bootstrap_servers if s.strip()]
        if isinstance(topics, str):
            topics = topics.split(",")
        self.topics = [t.strip() for t in topics if t.strip()]
        if not self.topics:
            raise ValueError("KafkaSource needs at least one topic")
        if not self.bootstrap_servers:
            raise ValueError("KafkaSource needs at least one bootstrap server")
        self.group_id = group_id or None
        if assign is None:
            assign = "group" if self.group_id else "manual"
        if assign not in ("manual", "group"):
            raise ValueError(f"assign must be 'manual' or 'group', not {assign!r}")
        if assign == "group" and not self.group_id:
            raise ValueError("assign='group' needs a group_id")
        self.assign = assign
        self.poll_timeout_ms = int(poll_timeout_ms)
        self.idle_timeout = idle_timeout
        self.max_chunk_bytes = max(1, int(max_chunk_bytes))
        self.retry_backoff = (float(retry_backoff[0]), float(retry_backoff[1]))
        self.commit_timeout_ms = int(commit_timeout_ms)
        self._log_target = log if log is not None else _LOGGER
        self._config = self._consumer_config(consumer_config or {})
        self._probe_timeout = max(0.5, self._config.get("bootstrap_timeout_ms", 5000) / 1000.0)
        self.stats = {k: 0 for k in ("records", "bytes", "tombstones", "empty", "chunks",
                                     "errors", "reconnects", "resets", "commits",
                                     "commit_failures")}
        self._consumer = None
        self._closed = threading.Event()  # close(): end chunks() and close the consumer
        self._stop_requested = False  # stop(): end chunks(), keep the consumer for commit()
        # (topic, partition) -> next offset: everything consumed so far, plus
        # what seek() asked for. The yielded chunk positions are snapshots.
        self._positions: dict[tuple[str, int], int] = {}
        self._pending_commit: dict[tuple[str, int], int] = {}
        self._seek_generation = 0
        self._past_end: dict[tuple[str, int], float] = {}
        self._last_seek: set[tuple[str, int]] = set()
        self._seek_others = "committed"  # where partitions missing from seek() start
        self._polling_thread: int | None = None  # thread inside chunks()' poll/connect
        self._poll_done = threading.Event()

    # ------------------------------------------------------------------ setup
    @classmethod
    def from_url(cls, url: str, **kw) -> "KafkaSource":
        """Build a source from ``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=ID``.

        Parameters
        ----------
        url : str
            The URL. Query parameters ``group`` (or ``group_id``), ``assign``,
            ``idle_timeout`` (seconds), ``poll_timeout_ms`` and
            ``max_chunk_bytes`` are understood.
        **kw
            Keyword arguments of :class:`KafkaSource`; they override the URL.

        Returns
        -------
        KafkaSource

        Raises
        ------
        ValueError
            If the scheme is not ``kafka``, or the host or the topic is missing.
        """
        parts = urlsplit(url)
        if parts.scheme != "kafka":
            raise ValueError(f"not a kafka:// URL: {url!r}")
        hosts = parts.netloc
        topics = unquote(parts.path.lstrip("/"))
        if not hosts or not topics:
            raise ValueError(f"kafka URL needs hosts and a topic: kafka://HOST:PORT/TOPIC, got {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        args: dict = {}
        if "group" in query or "group_id" in query:
            args["group_id"] = query.get("group", query.get("group_id"))
        if "assign" in query:
            args["assign"] = query["assign"]
        if "idle_timeout" in query:
            args["idle_timeout"] = float(query["idle_timeout"])
        if "poll_timeout_ms" in query:
            args["poll_timeout_ms"] = int(query["poll_timeout_ms"])
        if "max_chunk_bytes" in query:
            args["max_chunk_bytes"] = int(query["max_chunk_bytes"])
        args.update(kw)
        return cls(hosts, topics, **args)

    def _consumer_config(self, extra: dict) -> dict:
        cfg = {
            "bootstrap_servers": self.bootstrap_servers,
            "group_id": self.group_id,
            "client_id": "streamsgns",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "allow_auto_create_topics": False,
            "reconnect_backoff_max_ms": int(self.retry_backoff[1] * 1000),
            "bootstrap_timeout_ms": 5000,
            # a single message larger than this still comes back whole (KIP-74)
            "max_partition_fetch_bytes": max(1 << 20, self.max_chunk_bytes),
            **FAST_GROUP_CONFIG,
        }
        from kafka import KafkaConsumer

        known = getattr(KafkaConsumer, "DEFAULT_CONFIG", None)
        if known:  # drop our defaults that this kafka-python version lacks
            cfg = {k: v for k, v in cfg.items() if k in known}
        cfg.update(extra)
        return cfg

    def _log(self, msg: str, level: int = logging.INFO) -> None:
        target = self._log_target
        if isinstance(target, logging.Logger):
            target.log(level, msg)
        else:
            target(msg)

    def _backoff(self, attempt: int) -> float:
        initial, cap = self.retry_backoff
        return min(cap, initial * (2 ** max(0, attempt - 1)))

    # -------------------------------------------------------------- consumer
    def _connect(self):
        """Create, assign or subscribe a consumer; retry until it works or close()."""
        from kafka import KafkaConsumer

        attempt = 0
        while not self._stopping():
            attempt += 1
            consumer = None
            try:
                self._probe()
                consumer = KafkaConsumer(**self._config)
                if self.assign == "manual":
                    tps = self._all_partitions(consumer)
                    consumer.assign(tps)
                    self._seek_assigned(consumer, tps)
                else:
                    consumer.subscribe(self.topics, listener=self._make_listener(consumer))
                if attempt > 1:  # as loud as the retries it ends
                    self._log(f"kafka: connected to {','.join(self.bootstrap_servers)} "
                              f"after {attempt} attempts", logging.WARNING)
                return consumer
            except (KafkaError, OSError, _NotReady) as exc:
                if consumer is not None:
                    _close_quietly(consumer)
                delay = self._backoff(attempt)
                if isinstance(exc, _NotReady):
                    what = str(exc)
                else:
                    what = (f"broker {','.join(self.bootstrap_servers)} unavailable "
                            f"({_describe(exc)})")
                self._log(f"kafka: {what}, retrying in {delay:.1f} s", logging.WARNING)
                self._sleep(delay)
        return None

    def _probe(self) -> None:
        """Raise NoBrokersAvailable unless one bootstrap server accepts TCP.

        kafka-python 3's KafkaConsumer blocks for ``bootstrap_timeout_ms`` and
        leaks its IO thread when no broker answers, so a cheap TCP connect is
        tried first.
        """
        errors = []
        for server in self.bootstrap_servers:
            host, sep, port = server.rpartition(":")
            if not sep:
                host, port = server, "9092"
            host = host.strip("[]")
            try:
                with socket.create_connection((host, int(port)), timeout=self._probe_timeout):
                    return
            except (OSError, ValueError) as exc:
                errors.append(f"{server}: {exc}")
        raise NoBrokersAvailable("; ".join(errors))

    def _all_partitions(self, consumer):
        from kafka import TopicPartition

        tps = []
        for topic in self.topics:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                raise _NotReady(f"topic {topic!r} not found on {','.join(self.bootstrap_servers)}")
            tps.extend(TopicPartition(topic, p) for p in sorted(parts))
        return tps

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

    def _reset_past_end(self, consumer, now: float) -> None:
        """Reset partitions whose position lies past the end of their log.

        Kafka answers a fetch past the end with OFFSET_OUT_OF_RANGE and the
        consumer then resets by ``auto_offset_reset``. Some brokers (Tansu
        after a restart with memory storage, which empties every log) answer
        with no records and no error, so the consumer would wait forever. A
        partition whose next offset stays above the last known high watermark
        for a second is reset here by the same policy.
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
                          f"({_describe(exc)})", logging.WARNING)
                continue
            self._log(f"kafka: {tp.topic}:{tp.partition} position {pos} is past the end of the "
                      f"log ({end}): the log was truncated or recreated, resetting to {policy} "
                      f"offset {target}", logging.WARNING)
            consumer.seek(TopicPartition(tp.topic, tp.partition), target)
            self._positions[key] = target
            self._past_end.pop(key, None)
            self.stats["resets"] += 1

    def _rewind(self, consumer, unprocessed) -> None:
        """Seek partitions back to their first unprocessed message, except those
        that :meth:`seek` has just moved."""
        if self._stopping():
            return
        for tp, messages in unprocessed:
            if messages and (tp.topic, tp.partition) not in self._last_seek:
                try:
                    consumer.seek(tp, messages[0].offset)
                except (KafkaError, AssertionError):  # no longer assigned
                    pass

    def _recreate(self) -> None:
        old, self._consumer = self._consumer, None
        if old is not None:
            _close_quietly(old)
        self.stats["reconnects"] += 1
        self._log("kafka: recreating the consumer at the last yielded position", logging.WARNING)
        self._consumer = self._connect()
        if self._consumer is not None and self._pending_commit:
            self._try_commit()

    # ------------------------------------------------------------------- API
    def position(self) -> dict:
        """Return the current position ``{"kafka": {"TOPIC:PARTITION": next_offset}}``.

        Returns
        -------
        dict
            A JSON-serialisable copy, sorted by topic and partition.
        """
        return {"kafka": {f"{t}:{p}": o for (t, p), o in sorted(self._positions.items())}}

    def seek(self, position: dict, others: str = "committed") -> None:
        """Start each partition of ``position`` at its stored offset.

        Applied at once to the partitions already assigned, otherwise when
        they get assigned.

        Parameters
        ----------
        position : dict
            A :attr:`Chunk.position` of this kind of source; an empty dict
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

    def commit(self, position: dict) -> None:
        """Commit exactly the offsets of ``position`` to the consumer group.

        Call it only once the checkpoint covering ``position`` is durable. A
        failed commit is logged and retried with the next :meth:`commit` (or
        at :meth:`close`); it never raises a Kafka error. Does nothing
        without ``group_id``.

        Parameters
        ----------
        position : dict
            A :attr:`Chunk.position` of this source.

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
            self._log(f"kafka: commit of {len(offsets)} offsets failed ({_describe(exc)}), "
                      "retrying with the next commit", logging.WARNING)
            return False
        for key, off in pending.items():
            if self._pending_commit.get(key) == off:
                del self._pending_commit[key]
        self.stats["commits"] += 1
        return True

    def chunks(self) -> Iterator[Chunk]:
        """Yield chunks of message values until ``idle_timeout`` or :meth:`close`.

        Yields
        ------
        Chunk
            Up to ``max_chunk_bytes`` bytes of whole lines (one per message),
            yielded at the latest ``poll_timeout_ms`` after its first message
            arrived, with the position after its last message.

        Notes
        -----
        Connection failures at start are retried forever with backoff (see
        ``retry_backoff``); errors while polling are logged and backed off,
        and after three in a row the consumer is recreated at the last
        yielded position. Besides ``idle_timeout``, the iteration ends on
        :meth:`stop` or :meth:`close` (after yielding what was already read).
        After :meth:`stop` or ``idle_timeout`` the consumer stays open, so a
        final :meth:`commit` reaches the broker; after :meth:`close` it is
        closed when the iteration ends.
        """

        try:
            yield from self._chunks()
        finally:
            self._polling_thread = None
            self._poll_done.set()
            if self._closed.is_set():
                self._close_consumer()

    def _enter_io(self) -> None:
        self._poll_done.clear()
        self._polling_thread = threading.get_ident()

    def _leave_io(self) -> None:
        self._polling_thread = None
        self._poll_done.set()

    def _chunks(self) -> Iterator[Chunk]:
        if self._consumer is None and not self._stopping():
            self._enter_io()
            try:
                self._consumer = self._connect()
            finally:
                self._leave_io()
        if self._consumer is None:
            return
        if self._pending_commit:
            self._try_commit()

        max_bytes = self.max_chunk_bytes
        poll_s = self.poll_timeout_ms / 1000.0
        buf: list[bytes] = []
        buf_bytes = 0
        buf_records = 0
        buf_start = 0.0
        last_yielded = self.position()
        last_activity = time.monotonic()
        errors = 0
        last_range_check = 0.0

        def flush():
            nonlocal buf, buf_bytes, buf_records, last_yielded
            pos = self.position()
            if not buf and pos == last_yielded:
                return None
            chunk = Chunk(b"".join(buf), pos, buf_records)
            buf, buf_bytes, buf_records = [], 0, 0
            last_yielded = pos
            self.stats["chunks"] += 1
            return chunk

        while not self._stopping():
            consumer = self._consumer
            now = time.monotonic()
            if buf_records or buf:
                timeout = max(0.0, buf_start + poll_s - now)
            else:
                timeout = poll_s
            self._enter_io()
            try:
                records = consumer.poll(timeout_ms=int(timeout * 1000))
            except (KafkaError, OSError) as exc:
                self._leave_io()
                if self._stopping():
                    break
                errors += 1
                self.stats["errors"] += 1
                chunk = flush()
                if chunk is not None:
                    yield chunk
                    last_activity = time.monotonic()
                delay = self._backoff(errors)
                self._log(f"kafka: poll failed ({_describe(exc)}), "
                          f"retrying in {delay:.1f} s", logging.WARNING)
                self._sleep(delay)
                if errors >= _RECREATE_AFTER and not self._stopping():
                    self._enter_io()
                    try:
                        self._recreate()
                    finally:
                        self._leave_io()
                    if self._consumer is None:
                        break
                    errors = 0
                    last_activity = time.monotonic()
                continue
            self._leave_io()
            errors = 0
            now = time.monotonic()
            got_any = False
            generation = self._seek_generation
            batches = list(records.items())
            aborted = False
            for bi, (tp, messages) in enumerate(batches):
                key = (tp.topic, tp.partition)
                for mi, msg in enumerate(messages):
                    got_any = True
                    value = msg.value
                    if value is None:
                        self.stats["tombstones"] += 1
                    else:
                        line = value[:-1] if value.endswith(b"\n") else value
                        if not line:
                            self.stats["empty"] += 1
                        else:
                            size = len(line) + 1
                            if buf and buf_bytes + size > max_bytes:
                                yield flush()
                                last_activity = time.monotonic()
                                if generation != self._seek_generation or self._stopping():
                                    # seek() or close() while suspended: drop the rest of
                                    # this poll, and refetch what seek() did not move.
                                    self._rewind(consumer, [(tp, messages[mi:])] + batches[bi + 1:])
                                    aborted = True
                                    break
                            if not buf:
                                buf_start = now
                            buf.append(line)
                            buf.append(b"\n")
                            buf_bytes += size
                            buf_records += 1
                            self.stats["records"] += 1
                            self.stats["bytes"] += len(value)
                    self._positions[key] = msg.offset + 1
                if aborted:
                    break
            if got_any or not consumer.assignment():
                # idle time counts only while partitions are assigned (a group
                # join or rebalance is not idleness)
                last_activity = time.monotonic()
            if self._stopping():
                break
            if not got_any and now - last_range_check >= 0.5:
                last_range_check = now
                self._enter_io()
                try:
                    self._reset_past_end(consumer, now)
                finally:
                    self._leave_io()
            # Yield when the poll came back empty (nothing more is waiting), the
            # chunk is full, or its first line has waited poll_timeout_ms.
            if (not got_any or buf_bytes >= max_bytes or now - buf_start >= poll_s
                    or (got_any and not buf)):
                chunk = flush()
                if chunk is not None:
                    yield chunk
                    last_activity = time.monotonic()
            if (self.idle_timeout is not None and not got_any
                    and time.monotonic() - last_activity >= self.idle_timeout):
                chunk = flush()
                if chunk is not None:
                    yield chunk
                self._log(f"kafka: no message for {self.idle_timeout:g} s, stopping", logging.INFO)
                return
        chunk = flush()  # what was read before stop() or close()
        if chunk is not None:
            yield chunk

    def stop(self) -> None:
        """Ask :meth:`chunks` to end within ``poll_timeout_ms``, without closing.

        Only assigns a plain attribute (no lock is taken), so it is safe from
        a signal handler or another thread. The data read so far is yielded
        first. The consumer stays open, so that the position of the last
        chunk can still be passed to :meth:`commit`; call :meth:`close`
        afterwards. A stopped source does not restart.
        """
        self._stop_requested = True

    def _stopping(self) -> bool:
        return self._stop_requested or self._closed.is_set()

    def _sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking within 0.1 s of :meth:`stop` or :meth:`close`.

        Short ``time.sleep`` steps instead of ``Event.wait``: a signal handler
        that calls :meth:`stop` must never wait for a lock held by the thread
        it interrupted.
        """
        deadline = time.monotonic() + seconds
        while not self._stopping():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def close(self) -> None:
        """Flush pending commits (best effort) and close the consumer. Idempotent.

        From another thread while :meth:`chunks` is inside a poll, waits for
        that poll to return (at most ``poll_timeout_ms`` + 5 s). From a signal
        handler that interrupted the poll, only stops: the consumer is closed
        when :meth:`chunks` ends.
        """
        self._closed.set()
        polling = self._polling_thread
        if polling is not None:
            if polling == threading.get_ident():
                return  # re-entered from a signal handler: chunks() closes on exit
            self._poll_done.wait(self.poll_timeout_ms / 1000.0 + 5.0)
        self._close_consumer()

    def _close_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            if self._pending_commit and self.group_id:
                self._consumer = consumer
                try:
                    self._try_commit()
                finally:
                    self._consumer = None
            _close_quietly(consumer)

    def __repr__(self) -> str:
        return (f"KafkaSource({','.join(self.bootstrap_servers)!r}, {self.topics!r}, "
                f"group_id={self.group_id!r}, assign={self.assign!r})")


def _describe(exc: BaseException) -> str:
    """``"ErrorName: detail"`` without repeating the name (just the name for
    :class:`NoBrokersAvailable`)."""
    name = type(exc).__name__
    detail = str(exc)
    if isinstance(exc, NoBrokersAvailable) or not detail:
        return name
    return detail if detail.startswith(name) else f"{name}: {detail}"


class NoBrokersAvailable(KafkaError):
    """None of the bootstrap servers accepts a TCP connection."""

    retriable = True


class _NotReady(Exception):
    """A topic is missing (yet): retried like an unavailable broker."""


def _close_quietly(consumer) -> None:
    try:
        try:
            consumer.close(autocommit=False, timeout_ms=2000)
        except TypeError:  # kafka-python 2.x
            consumer.close(autocommit=False)
    except Exception:  # noqa: BLE001 - closing a broken consumer must not raise
        _LOGGER.debug("kafka: error while closing the consumer", exc_info=True)
