"""Kafka source: message values of one or more topics as chunks of lines.

:class:`KafkaSource` wraps kafka-python's :class:`~kafka.KafkaConsumer` and
follows the :class:`streamsgns.connectors.base.Source` contract:

* every message value becomes one line (a value may itself hold several
  lines); values are passed on as raw bytes, so invalid UTF-8 and NUL bytes
  go through untouched and the learner decodes them with replacement;
* tombstones (``value is None``) and empty values are skipped and counted in
  :attr:`KafkaSource.stats`, but the position still moves past them;
* the position of a chunk is ``{"kafka": {"TOPIC:PARTITION": next_offset}}``
  for every partition seen so far, where ``next_offset`` is the offset of the
  last consumed message plus one (Kafka's committed-offset convention);
* the checkpoint, not the broker, is the source of truth: :meth:`~KafkaSource.seek`
  makes the consumer start each stored partition at the stored offset,
  whatever the group has committed; :meth:`~KafkaSource.commit` writes
  offsets to the group only when the trainer says the checkpoint covering
  them is durable (at-least-once delivery).

The consumer never auto-commits. Brokers that are down at start are retried
with exponential backoff; errors while polling are logged, backed off and, if
they persist, the consumer is recreated at the last yielded position so that
nothing is lost or read twice.

The path from the broker to the learner, one file per job; :class:`KafkaSource` holds one object
of each job and wires them together (no object reads another's state but through its methods):

- :mod:`~streamsgns.connectors.kafka.config`: ``kafka://`` URL parsing and the consumer settings;
- :mod:`~streamsgns.connectors.kafka.connection`: the consumer: probe, connect with backoff, recreate, close
  (:class:`~streamsgns.connectors.kafka.connection.Connection`);
- :mod:`~streamsgns.connectors.kafka.assignment`: the positions: seek, seek at assignment, rewind, reset past
  the end of a log (:class:`~streamsgns.connectors.kafka.assignment.Assignment`);
- :mod:`~streamsgns.connectors.kafka.batching`: the poll loop behind :meth:`~KafkaSource.chunks`, one poll round
  at a time (:class:`~streamsgns.connectors.kafka.batching.Batching`);
- :mod:`~streamsgns.connectors.kafka.commits`: offset commits, buffered and retried
  (:class:`~streamsgns.connectors.kafka.commits.Commits`);
- :mod:`~streamsgns.connectors.kafka.stopping`: signal-safe :meth:`~KafkaSource.stop` and :meth:`~KafkaSource.close`
  (:class:`~streamsgns.connectors.kafka.stopping.Stopping`);
- :mod:`~streamsgns.connectors.kafka.settings`: the consumer-config file, secrets from the environment, redaction;
- :mod:`~streamsgns.connectors.kafka.position`: the position dict and its parsing;
- :mod:`~streamsgns.connectors.kafka.errors`: the source's errors and how they are logged;
- :mod:`~streamsgns.connectors.kafka.source`: :class:`KafkaSource` itself: settings, counters, and the
  composition of the objects above.
"""

from streamsgns.connectors.kafka.config import FAST_GROUP_CONFIG
from streamsgns.connectors.kafka.errors import NoBrokersAvailable
from streamsgns.connectors.kafka.position import parse_position
from streamsgns.connectors.kafka.source import KafkaSource

__all__ = ["FAST_GROUP_CONFIG", "KafkaSource", "NoBrokersAvailable", "parse_position"]
