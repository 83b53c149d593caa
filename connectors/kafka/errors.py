"""Errors of the Kafka source and their one-line descriptions in log messages."""

from __future__ import annotations

from kafka.errors import KafkaError

__all__ = ["KafkaSecurityError", "NoBrokersAvailable", "NotReady", "describe"]


class NoBrokersAvailable(KafkaError):
    """None of the bootstrap servers accepts a TCP connection.

    A retriable :class:`kafka.errors.KafkaError`: the source backs off and
    tries again (see :meth:`streamsgns.connectors.kafka.KafkaSource.chunks`).
    """

    retriable = True


class KafkaSecurityError(Exception):
    """The broker answers, but the secured connection cannot be made: not retried.

    Raised out of :meth:`streamsgns.connectors.kafka.KafkaSource.chunks` within seconds (one
    TLS handshake, or one bootstrap of ``bootstrap_timeout_ms``), instead of the endless retries
    of an unavailable broker: a wrong password or an untrusted certificate does not heal by
    waiting. ``train`` prints the message on one line and exits with its own status.

    Attributes
    ----------
    cause : str
        ``"authentication failed"``, ``"unknown CA"``, ``"host name mismatch"``,
        ``"certificate rejected"``, ``"not a TLS listener"`` or ``"SASL mechanism not enabled"``.
    """

    def __init__(self, cause: str, detail: str):
        super().__init__(f"{cause}: {detail}")
        self.cause = cause


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
