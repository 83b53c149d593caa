"""Errors of the Kafka source and their one-line descriptions in log messages."""

from __future__ import annotations

from kafka.errors import KafkaError

__all__ = ["NoBrokersAvailable", "NotReady", "describe"]


class NoBrokersAvailable(KafkaError):
    """None of the bootstrap servers accepts a TCP connection.

    A retriable :class:`kafka.errors.KafkaError`: the source backs off and
    tries again (see :meth:`streamsgns.connectors.kafka.KafkaSource.chunks`).
    """

    retriable = True


class NotReady(Exception):
    """A topic is missing (yet): retried like an unavailable broker."""


def describe(exc: BaseException) -> str:
    """Describe ``exc`` as ``"ErrorName: detail"`` without repeating the name.

    Parameters
    ----------
    exc : BaseException
        The error to describe.

    Returns
    -------
    str
        Just the class name for :class:`NoBrokersAvailable` (its detail lists
        every server and is logged elsewhere) and for errors without a message.

    Examples
    --------
    >>> describe(OSError("connection refused"))
    'OSError: connection refused'
    >>> describe(NoBrokersAvailable("127.0.0.1:1: refused"))
    'NoBrokersAvailable'
    """
    name = type(exc).__name__
    detail = str(exc)
    if isinstance(exc, NoBrokersAvailable) or not detail:
        return name
    return detail if detail.startswith(name) else f"{name}: {detail}"
