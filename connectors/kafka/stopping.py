"""When the Kafka source must stop: the stop and close requests, and the waits they interrupt.

Why an object of its own? A trainer stops its source from a signal handler (SIGTERM, Ctrl-C) or
from another thread, while the iterating thread may be inside a poll or a connect. Stopping must
then take no lock (the handler may have interrupted the thread holding it), wake every backoff
sleep within a tenth of a second, and never close the consumer under a call that is using it.
:class:`Stopping` holds the flags and the "inside a consumer call" bookkeeping that make this
safe; the :class:`~streamsgns.connectors.kafka.KafkaSource` asks it before each step and closes
its consumer only when :meth:`Stopping.close` says it may.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["Stopping"]


class Stopping:
    """The stop conditions of one Kafka source, and the sleeps and consumer calls they end.

    Attributes
    ----------
    closed : threading.Event
        Set by :meth:`close`: the iteration ends and the consumer is closed.
    stop_requested : bool
        Set by :meth:`request_stop`: the iteration ends, the consumer stays open (a plain
        attribute, so that setting it takes no lock).
    polling_thread : int or None
        Identifier of the thread inside a consumer call (poll, connect, offset look-up), or
        ``None``.
    poll_done : threading.Event
        Set whenever that call returns.

    Examples
    --------
    >>> stopping = Stopping()
    >>> stopping.requested()
    False
    >>> stopping.request_stop()
    >>> stopping.requested(), stopping.closed.is_set()
    (True, False)
    >>> stopping.sleep(60.0)  # returns at once: the source is stopping
    """

    def __init__(self):
        self.closed = threading.Event()
        self.stop_requested = False
        self.polling_thread: int | None = None
        self.poll_done = threading.Event()

    def request_stop(self) -> None:
        """Ask the iteration to end; only assigns a plain attribute, so it is safe from a signal handler."""
        self.stop_requested = True

    def requested(self) -> bool:
        """Whether :meth:`request_stop` or :meth:`close` was called."""
        return self.stop_requested or self.closed.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking within 0.1 s of :meth:`request_stop` or :meth:`close`.

        Short ``time.sleep`` steps instead of ``Event.wait``: a signal handler that stops the
        source must never wait for a lock held by the thread it interrupted.

        Parameters
        ----------
        seconds : float
            Longest sleep, in seconds.
        """
        deadline = time.monotonic() + seconds
        while not self.requested():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    @contextmanager
    def in_io(self) -> Iterator[None]:
        """Mark the current thread as inside a consumer call (poll, connect, offset look-up) for
        the ``with`` block, so that :meth:`close` from another thread waits for it and from a
        signal handler does not let the consumer be closed under it."""
        self.poll_done.clear()
        self.polling_thread = threading.get_ident()
        try:
            yield
        finally:
            self.io_ended()

    def io_ended(self) -> None:
        """Record that no consumer call is running (also when an iteration ends inside one)."""
        self.polling_thread = None
        self.poll_done.set()

    def close(self, wait: float) -> bool:
        """Set ``closed``, then say whether the caller may close the consumer now.

        Parameters
        ----------
        wait : float
            Longest wait, in seconds, for a consumer call running in another thread to return.

        Returns
        -------
        bool
            ``False`` when called from a signal handler that interrupted a consumer call of its
            own thread: the iteration closes the consumer when it ends. ``True`` otherwise
            (after the wait for another thread's call, if one was running).
        """
        self.closed.set()
        polling = self.polling_thread
        if polling is not None:
            if polling == threading.get_ident():
                return False
            self.poll_done.wait(wait)
        return True
