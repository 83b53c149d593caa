"""Prometheus metrics of a running trainer: ``streamsgns train --metrics-port PORT``.

Why an endpoint, when there is a progress line? A trainer in production runs unattended: a
monitoring system (Prometheus, or anything that reads its text format) scrapes
``http://HOST:PORT/metrics`` every few seconds, keeps the history, and alerts when the consumer
lag grows or no checkpoint has been durable for too long. The progress line is for a person at
a terminal; these numbers are for that system.

:class:`TrainingMetrics` holds the latest *view* of the run — a plain dict the training thread
replaces after each update (:meth:`TrainingMetrics.publish`) — and serves it with
``prometheus_client``'s HTTP server from a thread of its own. A scrape never touches the model
or the Kafka consumer (neither is thread-safe); it reads the view, and computes the seconds
since the last durable checkpoint at scrape time, so that a stalled trainer shows them growing.

Metrics (all prefixed ``streamsgns_``):

======================================  =======  ==========================================
name                                    type     meaning
======================================  =======  ==========================================
``words_seen``                          gauge    tokens learnt so far (the model's count)
``tokens_per_second``                   gauge    tokens/s over the last update interval
``vocab_size``                          gauge    words held by the vocabulary
``loss``                                gauge    mean SGNS loss per pair since the last update
``learning_rate``                       gauge    the current global step size alpha_t
``snapshots_written_total``             counter  snapshots (checkpoints) written
``snapshots_failed_total``              counter  snapshots that could not be written
``seconds_since_durable_checkpoint``    gauge    since the last checkpoint known durable
``change_events_total``                 counter  change alarms of the learner (``changes_count``)
``consumer_lag``                        gauge    per ``topic``/``partition``: high watermark − position
======================================  =======  ==========================================

The server binds 127.0.0.1 unless another host is asked for: metrics describe a private
process, and exposing them is a decision of whoever runs it.

Examples
--------
>>> m = TrainingMetrics(port=0)          # port 0: any free port
>>> m.publish({"words_seen": 1200, "vocab_size": 40, "lag": {("news", 0): 5}})
>>> import urllib.request
>>> text = urllib.request.urlopen(m.url, timeout=5).read().decode()
>>> "streamsgns_words_seen 1200.0" in text, 'streamsgns_consumer_lag{partition="0",topic="news"} 5.0' in text
(True, True)
>>> m.close()

References
----------
Prometheus, "Metric types" and "Writing exporters" (https://prometheus.io/docs/instrumenting/),
for counters versus gauges and the naming; Kafka's consumer lag, high watermark − position, as in
``kafka-consumer-groups --describe``.
"""

from __future__ import annotations

import threading
import time
from typing import Mapping

__all__ = ["TrainingMetrics", "source_lag"]


def source_lag(source) -> dict:
    """Per-partition lag ``{(topic, partition): high_watermark - position}`` of a Kafka source.

    Parameters
    ----------
    source : streamsgns.connectors.kafka.KafkaSource or another source
        Called from the thread that iterates its chunks (the consumer is not thread-safe).

    Returns
    -------
    dict
        Empty for a source without a consumer, or for partitions whose high watermark no
        fetch has reported yet. Never negative.
    """
    lag = getattr(source, "lag", None)
    return lag() if callable(lag) else {}


class _ViewCollector:
    """A ``prometheus_client`` collector that turns the published view into metric families."""

    def __init__(self, owner: "TrainingMetrics"):
        self.owner = owner

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        view = self.owner.view  # one read: the training thread replaces the dict, never mutates it
        gauges = (("words_seen", "Tokens learnt so far (the model's words_seen)."),
                  ("tokens_per_second", "Tokens learnt per second over the last update interval."),
                  ("vocab_size", "Words held by the vocabulary."),
                  ("loss", "Mean SGNS loss per trained pair since the last update (nats)."),
                  ("learning_rate", "The current global learning rate alpha_t."))
        for name, doc in gauges:
            value = view.get(name)
            if value is not None and value == value:  # no sample for unknown or NaN (no pair trained)
                yield GaugeMetricFamily(f"streamsgns_{name}", doc, value=float(value))
        counters = (("snapshots_written", "Snapshots (checkpoints) written."),
                    ("snapshots_failed", "Snapshots that could not be written."),
                    ("change_events", "Semantic change events detected by the learner."))
        for name, doc in counters:
            value = view.get(name)
            if value is not None:
                yield CounterMetricFamily(f"streamsgns_{name}", doc, value=float(value))
        durable = view.get("durable_at")
        if durable is not None:
            yield GaugeMetricFamily("streamsgns_seconds_since_durable_checkpoint",
                                    "Seconds since the last checkpoint known to be durable.",
                                    value=max(0.0, time.monotonic() - durable))
        lag = view.get("lag")
        if lag:
            fam = GaugeMetricFamily("streamsgns_consumer_lag",
                                    "Kafka consumer lag per partition: high watermark - position (messages).",
                                    labels=["topic", "partition"])
            for (topic, partition), value in sorted(lag.items()):
                fam.add_metric([topic, str(partition)], float(value))
            yield fam


class TrainingMetrics:
    """Serve the metrics of a training run over HTTP for Prometheus.

    Parameters
    ----------
    port : int
        TCP port; 0 picks a free one (see the ``port`` attribute).
    host : str
        Address to bind (default ``127.0.0.1``: this machine only).

    Attributes
    ----------
    port : int
        The port bound.
    url : str
        ``http://HOST:PORT/metrics``.
    view : dict
        The last published view (see :meth:`publish`).

    Raises
    ------
    ImportError
        If ``prometheus_client`` is not installed (``pip install streamsgns[production]``).
    OSError
        If the address cannot be bound (port in use, unknown host).
    """

    def __init__(self, port: int, host: str = "127.0.0.1"):
        from prometheus_client import CollectorRegistry, start_http_server

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_ViewCollector(self))
        self.view: dict = {}
        self.host = host
        started = start_http_server(int(port), addr=host, registry=self.registry)
        # prometheus_client >= 0.17 returns (server, thread); older ones return None
        self._server = started[0] if isinstance(started, tuple) else None
        self.port = self._server.server_address[1] if self._server is not None else int(port)
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{self.port}/metrics"
        self._lock = threading.Lock()

    def publish(self, view: Mapping) -> None:
        """Replace the view with ``view`` merged over the previous one (keys left out keep their value).

        Parameters
        ----------
        view : mapping
            Any of ``words_seen``, ``tokens_per_second``, ``vocab_size``, ``loss``,
            ``learning_rate``, ``snapshots_written``, ``snapshots_failed``, ``change_events``
            (numbers), ``durable_at`` (``time.monotonic()`` of the last durable checkpoint) and
            ``lag`` (``{(topic, partition): messages}``).
        """
        with self._lock:
            merged = dict(self.view)
            merged.update(view)
            self.view = merged

    def close(self) -> None:
        """Stop the HTTP server. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
