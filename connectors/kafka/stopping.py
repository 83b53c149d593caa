"""Signal-safe stop and close of the Kafka source, and the sleeps they interrupt."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["StoppingMixin"]


class StoppingMixin:
    """:meth:`~streamsgns.connectors.kafka.KafkaSource.stop`, :meth:`~streamsgns.connectors.kafka.KafkaSource.close` and the bookkeeping that makes them safe.

    State (set by :meth:`_init_stopping`): ``_closed`` (an Event set by
    :meth:`~streamsgns.connectors.kafka.KafkaSource.close`), ``_stop_requested`` (a plain bool set by :meth:`~streamsgns.connectors.kafka.KafkaSource.stop`),
    ``_polling_thread`` (the thread inside a poll or a connect, or ``None``)
    and ``_poll_done`` (an Event set when that call returns).
    """

    def _init_stopping(self) -> None:
        self._closed = threading.Event()  # close(): end chunks() and close the consumer
        self._stop_requested = False  # stop(): end chunks(), keep the consumer for commit()
        self._polling_thread: int | None = None  # thread inside chunks()' poll/connect
        self._poll_done = threading.Event()

    def stop(self) -> None:
        """Ask :meth:`~streamsgns.connectors.kafka.KafkaSource.chunks` to end within ``poll_timeout_ms``, without closing.

        Only assigns a plain attribute (no lock is taken), so it is safe from
        a signal handler or another thread. The data read so far is yielded
        first. The consumer stays open, so that the position of the last
        chunk can still be passed to :meth:`~streamsgns.connectors.kafka.KafkaSource.commit`; call :meth:`~streamsgns.connectors.kafka.KafkaSource.close`
        afterwards. A stopped source does not restart.
        """
        self._stop_requested = True

    def _stopping(self) -> bool:
        return self._stop_requested or self._closed.is_set()

    def _sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking within 0.1 s of :meth:`~streamsgns.connectors.kafka.KafkaSource.stop` or :meth:`~streamsgns.connectors.kafka.KafkaSource.close`.

        Short ``time.sleep`` steps instead of ``Event.wait``: a signal handler
        that calls :meth:`~streamsgns.connectors.kafka.KafkaSource.stop` must never wait for a lock held by the thread
        it interrupted.
        """
        deadline = time.monotonic() + seconds
        while not self._stopping():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    @contextmanager
    def _in_io(self) -> Iterator[None]:
        """Mark the current thread as inside a consumer call (poll, connect,
        offset look-up) for the duration of the ``with`` block, so that
        :meth:`~streamsgns.connectors.kafka.KafkaSource.close` from another thread waits for it and from a signal
        handler does not close the consumer under it."""
        self._poll_done.clear()
        self._polling_thread = threading.get_ident()
        try:
            yield
        finally:
            self._polling_thread = None
            self._poll_done.set()

    def close(self) -> None:
        """Flush pending commits (best effort) and close the consumer. Idempotent.

        From another thread while :meth:`~streamsgns.connectors.kafka.KafkaSource.chunks` is inside a poll, waits for
        that poll to return (at most ``poll_timeout_ms`` + 5 s). From a signal
        handler that interrupted the poll, only stops: the consumer is closed
        when :meth:`~streamsgns.connectors.kafka.KafkaSource.chunks` ends.
        """
        self._closed.set()
        polling = self._polling_thread
        if polling is not None:
            if polling == threading.get_ident():
                return  # re-entered from a signal handler: chunks() closes on exit
            self._poll_done.wait(self.poll_timeout_ms / 1000.0 + 5.0)
        self._close_consumer()
