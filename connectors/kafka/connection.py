"""Consumer life cycle of the Kafka source: probe, connect with backoff, recreate, close."""

from __future__ import annotations

import logging
import socket

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.errors import NoBrokersAvailable, NotReady, describe

__all__ = ["RECREATE_AFTER", "ConnectionMixin", "close_quietly", "topic_partitions"]

_LOGGER = logging.getLogger("streamsgns.kafka")

#: Consecutive poll errors after which the consumer is closed and recreated.
RECREATE_AFTER = 3


class ConnectionMixin:
    """Create, recreate and close the source's ``_consumer``.

    Uses ``bootstrap_servers``, ``topics``, ``assign``, ``retry_backoff``,
    ``_config`` and ``_probe_timeout`` of :class:`streamsgns.connectors.kafka.KafkaSource`,
    and the assignment (:meth:`_seek_assigned`, :meth:`_make_listener`),
    commit (:meth:`_try_commit`) and stopping (:meth:`_stopping`,
    :meth:`_sleep`, :meth:`_in_io`) steps of the other mixins.
    """

    def _backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1, 2, ...):
        ``initial * 2**(attempt-1)``, capped at ``max`` of ``retry_backoff``."""
        initial, cap = self.retry_backoff
        return min(cap, initial * (2 ** max(0, attempt - 1)))

    def _ensure_consumer(self) -> bool:
        """Connect unless a consumer exists or the source is stopping, then
        commit what is pending. Returns whether there is a consumer."""
        if self._consumer is None and not self._stopping():
            with self._in_io():
                self._consumer = self._connect()
        if self._consumer is None:
            return False
        if self._pending_commit:
            self._try_commit()
        return True

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
            except (KafkaError, OSError, NotReady) as exc:
                if consumer is not None:
                    close_quietly(consumer)
                delay = self._backoff(attempt)
                if isinstance(exc, NotReady):
                    what = str(exc)
                else:
                    what = (f"broker {','.join(self.bootstrap_servers)} unavailable "
                            f"({describe(exc)})")
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
        """Every partition of ``topics`` (manual assignment), or those of ``partitions``
        (:func:`topic_partitions`)."""
        return topic_partitions(consumer, self.topics, self.bootstrap_servers, getattr(self, "partitions", None))

    def _recreate(self) -> None:
        """Close the consumer and connect a new one at the last yielded position."""
        old, self._consumer = self._consumer, None
        if old is not None:
            close_quietly(old)
        self.stats["reconnects"] += 1
        self._log("kafka: recreating the consumer at the last yielded position", logging.WARNING)
        self._consumer = self._connect()
        if self._consumer is not None and self._pending_commit:
            self._try_commit()

    def _close_consumer(self) -> None:
        """Commit what is pending (best effort), then close the consumer."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            if self._pending_commit and self.group_id:
                self._consumer = consumer
                try:
                    self._try_commit()
                finally:
                    self._consumer = None
            close_quietly(consumer)


def topic_partitions(consumer, topics, bootstrap_servers, partitions=None) -> list:
    """Every partition of ``topics`` as the broker lists them now, or exactly ``partitions``.

    Parameters
    ----------
    consumer : kafka.KafkaConsumer
        Connected; its metadata is read (``partitions_for_topic``).
    topics : list of str
    bootstrap_servers : list of str
        For the error message.
    partitions : list of (str, int), optional
        Named partitions, each checked to exist.

    Returns
    -------
    list of kafka.TopicPartition
        Topic by topic, partitions in increasing order.

    Raises
    ------
    streamsgns.connectors.kafka.errors.NotReady
        If a topic (or a named partition) is missing: the caller retries later.
    """
    from kafka import TopicPartition

    where = ",".join(bootstrap_servers)
    if partitions is not None:
        for topic, p in partitions:
            if p not in (consumer.partitions_for_topic(topic) or ()):
                raise NotReady(f"partition {topic}:{p} not found on {where}")
        return [TopicPartition(t, p) for t, p in partitions]
    tps = []
    for topic in topics:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise NotReady(f"topic {topic!r} not found on {where}")
        tps.extend(TopicPartition(topic, p) for p in sorted(parts))
    return tps


def close_quietly(consumer) -> None:
    """Close ``consumer`` without committing; log, never raise, what goes wrong.

    Parameters
    ----------
    consumer : kafka.KafkaConsumer
        A consumer, possibly broken.
    """
    try:
        try:
            consumer.close(autocommit=False, timeout_ms=2000)
        except TypeError:  # kafka-python 2.x
            consumer.close(autocommit=False)
    except Exception:  # noqa: BLE001 - closing a broken consumer must not raise
        _LOGGER.debug("kafka: error while closing the consumer", exc_info=True)
