"""KafkaSource: a Kafka topic as a :class:`~streamsgns.connectors.base.Source` of chunks of lines.

Why read Kafka through this class rather than a plain consumer loop? A trainer needs three things
a consumer does not give by itself: chunks of whole lines with the exact position after them (so
that a checkpoint can resume there), offsets committed only once that checkpoint is durable (at
least once, never lost), and a stream that outlives a broker restart or a network cut. The class
is the composition of the objects that do each job (see its Notes); it holds the settings, the
counters (:attr:`KafkaSource.stats`) and those objects, and implements the ``Source`` contract
with them.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, Iterator

from streamsgns.connectors.base import Chunk, Source
from streamsgns.connectors.kafka.assignment import Assignment
from streamsgns.connectors.kafka.batching import Batching
from streamsgns.connectors.kafka.commits import Commits
from streamsgns.connectors.kafka.config import consumer_config as _consumer_config
from streamsgns.connectors.kafka.config import parse_url
from streamsgns.connectors.kafka.connection import Connection
from streamsgns.connectors.kafka.position import parse_position
from streamsgns.connectors.kafka.stopping import Stopping

__all__ = ["KafkaSource"]

_LOGGER = logging.getLogger("streamsgns.kafka")

_STATS = ("records", "bytes", "tombstones", "empty", "chunks", "errors", "reconnects", "resets",
          "commits", "commit_failures")


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
    partitions : list of str, optional
        With ``assign="manual"``: read only these partitions
        (``"TOPIC:PARTITION"``), e.g. the share of one replica of a
        multi-replica job (:mod:`streamsgns.distributed`). Default: all
        partitions of ``topics``.

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

    Each job is an object the source holds, and the source wires them together:
    :class:`~streamsgns.connectors.kafka.connection.Connection` (the consumer: connect, recreate,
    close), :class:`~streamsgns.connectors.kafka.assignment.Assignment` (the positions, seek,
    rewind), :class:`~streamsgns.connectors.kafka.batching.Batching` (the poll loop behind
    :meth:`chunks`), :class:`~streamsgns.connectors.kafka.commits.Commits` (the pending offsets of
    :meth:`commit`) and :class:`~streamsgns.connectors.kafka.stopping.Stopping` (:meth:`stop`,
    :meth:`close`).

    Examples
    --------
    Nothing connects before :meth:`chunks` is iterated:

    >>> src = KafkaSource.from_url("kafka://127.0.0.1:9092/news?group=g")
    >>> src.topics, src.group_id, src.assign, src.position()
    (['news'], 'g', 'group', {'kafka': {}})
    >>> src.close()
    """

    def __init__(self, bootstrap_servers: str | Iterable[str], topics: str | Iterable[str],
                 group_id: str | None = None, *, assign: str | None = None,
                 poll_timeout_ms: int = 500, idle_timeout: float | None = None,
                 max_chunk_bytes: int = 1 << 20, consumer_config: dict | None = None,
                 retry_backoff: tuple[float, float] = (0.5, 10.0),
                 log: logging.Logger | Callable[[str], object] | None = None,
                 commit_timeout_ms: int = 10000, partitions: Iterable[str] | None = None):
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
        self.partitions = None
        if partitions is not None:
            if assign != "manual":
                raise ValueError("partitions need assign='manual'")
            self.partitions = sorted(parse_position({"kafka": {str(k): 0 for k in partitions}}))
        self.poll_timeout_ms = int(poll_timeout_ms)
        self.idle_timeout = idle_timeout
        self.max_chunk_bytes = max(1, int(max_chunk_bytes))
        self.retry_backoff = (float(retry_backoff[0]), float(retry_backoff[1]))
        self.commit_timeout_ms = int(commit_timeout_ms)
        self._log_target = log if log is not None else _LOGGER
        config = _consumer_config(self.bootstrap_servers, self.group_id, self.retry_backoff[1],
                                  self.max_chunk_bytes, consumer_config or {})
        self.stats = {k: 0 for k in _STATS}
        self._stopping = Stopping()
        self._commits = Commits(self.stats, self._log, self.commit_timeout_ms)
        self._assignment = Assignment(self.stats, self._log, config.get("auto_offset_reset", "earliest"))
        self._connection = Connection(self.bootstrap_servers, self.topics, self.assign, self.partitions, config,
                                      self.retry_backoff, stats=self.stats, log=self._log, stopping=self._stopping,
                                      commits=self._commits, on_assigned=self._assignment.seek_assigned)
        self._batching = Batching(self._connection, self._assignment, self._stopping, stats=self.stats,
                                  log=self._log, max_chunk_bytes=self.max_chunk_bytes,
                                  poll_timeout_ms=self.poll_timeout_ms, idle_timeout=self.idle_timeout)

    @classmethod
    def from_url(cls, url: str, **kw) -> "KafkaSource":
        """Build a source from ``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=ID``.

        Parameters
        ----------
        url : str
            The URL. Query parameters ``group`` (or ``group_id``), ``assign``,
            ``idle_timeout`` (seconds), ``poll_timeout_ms`` and
            ``max_chunk_bytes`` are understood (see
            :func:`streamsgns.connectors.kafka.config.parse_url`).
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
        hosts, topics, args = parse_url(url)
        args.update(kw)
        return cls(hosts, topics, **args)

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

        Raises
        ------
        streamsgns.connectors.kafka.errors.KafkaSecurityError
            When the broker answers but the secured connection fails (wrong
            credentials, unknown CA, host name mismatch, not a TLS listener):
            not retried.
        """
        try:
            yield from self._batching.chunks(self._idle_work)
        finally:
            self._stopping.io_ended()
            if self._stopping.closed.is_set():
                self._connection.close()

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
        self._assignment.seek(position, others, self._connection.consumer)

    def position(self) -> dict:
        """Return the current position ``{"kafka": {"TOPIC:PARTITION": next_offset}}``.

        Returns
        -------
        dict
            A JSON-serialisable copy, sorted by topic and partition.
        """
        return self._assignment.position()

    def commit(self, position: dict) -> None:
        """Commit exactly the offsets of ``position`` to the consumer group.

        Call it only once the checkpoint covering ``position`` is durable. A
        failed commit is logged and retried with the next :meth:`commit` (or
        at :meth:`close`); it never raises a Kafka error. Does nothing
        without ``group_id``.

        Parameters
        ----------
        position : dict
            A ``position`` of a :class:`~streamsgns.connectors.base.Chunk` of this source.

        Raises
        ------
        ValueError
            If ``position`` is not a Kafka position.
        """
        offsets = parse_position(position) if position else {}
        if not self.group_id:
            return
        self._commits.add(offsets)
        self._commits.send(self._connection.consumer)  # without a consumer: sent once it exists

    def lag(self) -> dict[tuple[str, int], int]:
        """Consumer lag per assigned partition: high watermark − position, in messages.

        The high watermark is the one the broker reported with the last fetch of the partition
        (no request is made); partitions without one yet, or not read yet, are left out. Call it
        from the thread that iterates :meth:`chunks`, between two chunks.

        Returns
        -------
        dict[tuple[str, int], int]
            ``{(topic, partition): messages}``, never negative; empty before the consumer exists.
        """
        return self._assignment.lag(self._connection.consumer)

    def stop(self) -> None:
        """Ask :meth:`chunks` to end within ``poll_timeout_ms``, without closing.

        Only assigns a plain attribute (no lock is taken), so it is safe from
        a signal handler or another thread. The data read so far is yielded
        first. The consumer stays open, so that the position of the last
        chunk can still be passed to :meth:`commit`; call :meth:`close`
        afterwards. A stopped source does not restart.
        """
        self._stopping.request_stop()

    def close(self) -> None:
        """Flush pending commits (best effort) and close the consumer. Idempotent.

        From another thread while :meth:`chunks` is inside a poll, waits for
        that poll to return (at most ``poll_timeout_ms`` + 5 s). From a signal
        handler that interrupted the poll, only stops: the consumer is closed
        when :meth:`chunks` ends.
        """
        if self._stopping.close(wait=self.poll_timeout_ms / 1000.0 + 5.0):
            self._connection.close()

    def _idle_work(self) -> bool:
        """Run :attr:`on_idle` (looked up at each call: a caller may set it at any time)."""
        return self.on_idle is not None and self.on_idle()

    def _log(self, msg: str, level: int = logging.INFO) -> None:
        target = self._log_target
        if isinstance(target, logging.Logger):
            target.log(level, msg)
        else:
            target(msg)

    def __repr__(self) -> str:
        return (f"KafkaSource({','.join(self.bootstrap_servers)!r}, {self.topics!r}, "
                f"group_id={self.group_id!r}, assign={self.assign!r})")
