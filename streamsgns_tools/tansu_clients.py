"""kafka-python clients of the Tansu harness: create topics, produce, read end and committed offsets."""

from __future__ import annotations

import time
from typing import Iterable, Sequence

__all__ = ["committed_offsets", "create_topic", "end_offsets", "produce", "topic_partitions"]


def topic_partitions(bootstrap: str, topic: str, at_least: int = 1,
                     timeout: float = 10.0) -> list[int]:
    """Wait until ``topic`` shows at least ``at_least`` partitions; return their numbers.

    Parameters
    ----------
    bootstrap : str
        ``"HOST:PORT"``.
    topic : str
        Topic name.
    at_least : int
        Partitions the metadata must show.
    timeout : float
        Seconds to wait.

    Returns
    -------
    list of int
        Sorted partition numbers.

    Raises
    ------
    TimeoutError
        If fewer than ``at_least`` partitions are visible within ``timeout``.
    """
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="tansu-harness-meta")
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic)
            if parts and len(parts) >= at_least:
                return sorted(parts)
            time.sleep(0.1)
    finally:
        consumer.close()
    raise TimeoutError(f"topic {topic!r} not visible with {at_least} partitions on {bootstrap}")


def create_topic(bootstrap: str, name: str, partitions: int = 1, timeout: float = 10.0) -> list[int]:
    """Create ``name`` with ``partitions`` partitions and wait until it is visible.

    An existing topic is kept as it is (whatever its partition count).

    Parameters
    ----------
    bootstrap : str
        ``"HOST:PORT"``.
    name : str
        Topic name.
    partitions : int
        Number of partitions (replication factor 1).
    timeout : float
        Seconds to wait for the topic's metadata to show all partitions.

    Returns
    -------
    list of int
        The topic's partition numbers, sorted.

    Raises
    ------
    TimeoutError
        If the partitions of a new topic are not all visible within ``timeout``.
    """
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tansu-harness-admin",
                             request_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        wanted = partitions
    except TopicAlreadyExistsError:
        wanted = 1
    finally:
        admin.close()
    return topic_partitions(bootstrap, name, at_least=wanted, timeout=timeout)


def produce(bootstrap: str, topic: str, values: Iterable[bytes | str | None],
            partition: int | Sequence[int] | None = None, **producer_config) -> int:
    """Send ``values`` to ``topic`` and wait until all are acknowledged.

    Parameters
    ----------
    bootstrap : str
        ``"HOST:PORT"``.
    topic : str
        Topic name (must exist).
    values : iterable of bytes, str or None
        Message values, possibly a lazy generator (nothing is kept per
        message but its delivery callback); ``str`` is UTF-8 encoded,
        ``None`` is a tombstone (sent with a key, as tombstones are meant for
        compacted topics).
    partition : int or sequence of int, optional
        One partition for all values, or a sequence cycled round-robin over
        the values; the producer's partitioner decides when omitted.
    **producer_config
        More :class:`~kafka.KafkaProducer` settings (e.g. ``linger_ms=50,
        batch_size=1 << 20`` to send 10⁵ small messages in a few seconds).

    Returns
    -------
    int
        Number of messages sent.

    Raises
    ------
    kafka.errors.KafkaError
        The first delivery error, or a timeout if the messages are not all
        acknowledged within 60 seconds of the last send.
    """
    from kafka import KafkaProducer

    config = {"client_id": "tansu-harness-producer", "max_request_size": 32 << 20,
              "linger_ms": 5, "acks": 1, **producer_config}
    producer = KafkaProducer(bootstrap_servers=bootstrap, **config)
    failures: list[BaseException] = []
    n = 0
    try:
        for i, v in enumerate(values):
            if isinstance(v, str):
                v = v.encode("utf-8")
            if partition is None:
                p = None
            elif isinstance(partition, int):
                p = partition
            else:
                p = partition[i % len(partition)]
            key = b"k%d" % i if v is None else None
            producer.send(topic, value=v, key=key, partition=p).add_errback(failures.append)
            n += 1
        producer.flush(timeout=60)  # every future is done after it returns
    finally:
        producer.close(timeout=5)
    if failures:
        raise failures[0]
    return n


def end_offsets(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[str, int]:
    """Return the end offset (next offset to be written) of every partition of ``topic``.

    Parameters
    ----------
    bootstrap : str
        ``"HOST:PORT"``.
    topic : str
        An existing topic.
    timeout : float
        Seconds to wait for the metadata and the offsets.

    Returns
    -------
    dict[str, int]
        ``{"TOPIC:PARTITION": end_offset}``, the form of a KafkaSource position.

    Raises
    ------
    TimeoutError
        If the topic or a high watermark is not found within ``timeout``.

    Notes
    -----
    The high watermark of a fetch from the start of each partition, not
    ``KafkaConsumer.end_offsets``: Tansu's ListOffsets undercounts after
    batched produce requests (see :mod:`streamsgns_tools.tansu`).
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="tansu-harness-offsets",
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             max_partition_fetch_bytes=1024, fetch_max_bytes=1024)
    try:
        deadline = time.monotonic() + timeout
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.1)
        if not parts:
            raise TimeoutError(f"topic {topic!r} not found on {bootstrap}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=100)
            hws = {tp: consumer.highwater(tp) for tp in tps}
            if all(h is not None for h in hws.values()):
                return {f"{tp.topic}:{tp.partition}": int(h) for tp, h in hws.items()}
        raise TimeoutError(f"no high watermark for every partition of {topic!r}")
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str, topic: str,
                      partitions: Iterable[int]) -> dict[str, int | None]:
    """Return the offsets that ``group`` committed for ``partitions`` of ``topic``.

    Parameters
    ----------
    bootstrap : str
        ``"HOST:PORT"``.
    group : str
        Consumer group id.
    topic : str
        Topic name.
    partitions : iterable of int
        Partition numbers.

    Returns
    -------
    dict[str, int or None]
        ``{"TOPIC:PARTITION": offset}``; ``None`` where nothing is committed.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             client_id="tansu-harness-committed", enable_auto_commit=False)
    try:
        return {f"{topic}:{p}": consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        consumer.close()
