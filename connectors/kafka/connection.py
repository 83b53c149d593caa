"""The Kafka source's consumer: probe the broker, connect with backoff, recreate, close.

Why an object of its own? A broker may be down when the trainer starts, restart under it, or
refuse its credentials, and a long-running stream must ride out the first two and say plainly
what the third is. :class:`Connection` owns the one :class:`~kafka.KafkaConsumer` of a
:class:`~streamsgns.connectors.kafka.KafkaSource`: it probes the brokers with a plain TCP (and
TLS) connect before kafka-python tries, retries with exponential backoff until the source is
stopped, recreates the consumer after repeated poll errors, and closes it. Which offsets a newly
assigned partition starts from is not its business: it calls back the source's
:class:`~streamsgns.connectors.kafka.assignment.Assignment`. The TLS handshake and the reading of
kafka-python's bootstrap errors live here too, as functions, so that a refused secured
connection becomes a :class:`~streamsgns.connectors.kafka.errors.KafkaSecurityError` with its
cause.
"""

from __future__ import annotations

import logging
import socket
import ssl
from contextlib import contextmanager
from typing import Callable, Iterator

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.commits import Commits
from streamsgns.connectors.kafka.errors import KafkaSecurityError, NoBrokersAvailable, NotReady, describe
from streamsgns.connectors.kafka.settings import reveal
from streamsgns.connectors.kafka.stopping import Stopping

__all__ = ["RECREATE_AFTER", "Connection", "close_quietly", "topic_partitions"]

_LOGGER = logging.getLogger("streamsgns.kafka")

#: Consecutive poll errors after which the consumer is closed and recreated.
RECREATE_AFTER = 3


class Connection:
    """Create, recreate and close the consumer of one Kafka source.

    Parameters
    ----------
    bootstrap_servers : list of str
        ``"HOST:PORT"`` of each broker to try.
    topics : list of str
        Topics to assign (``assign="manual"``) or subscribe to (``assign="group"``).
    assign : {"manual", "group"}
        How partitions are taken (see :class:`~streamsgns.connectors.kafka.KafkaSource`).
    partitions : list of (str, int) or None
        With ``assign="manual"``: only these partitions; ``None``: every partition of ``topics``.
    config : dict
        kafka-python :class:`~kafka.KafkaConsumer` settings
        (:func:`~streamsgns.connectors.kafka.config.consumer_config`); secrets may still be
        wrapped (:func:`~streamsgns.connectors.kafka.settings.reveal` unwraps them for the
        consumer only).
    retry_backoff : tuple of float
        ``(initial, max)`` seconds between connection attempts (:meth:`backoff`).
    stats : dict
        The source's counters; ``reconnects`` is incremented here.
    log : callable
        ``log(message, level)``: where retries and recreations are reported.
    stopping : Stopping
        Ends the retries, and marks each connect as a consumer call.
    commits : Commits
        Offsets waiting for the broker: sent after each (re)connect and before the consumer is
        closed.
    on_assigned : callable
        ``on_assigned(consumer, partitions)``, called with the
        :class:`~kafka.TopicPartition` list each time partitions are assigned (at connect with
        ``assign="manual"``, at each rebalance with ``assign="group"``), to seek them.

    Attributes
    ----------
    consumer : kafka.KafkaConsumer or None
        The current consumer; ``None`` before the first connect, while it is recreated, and
        after :meth:`close`.
    probe_timeout : float
        Seconds a TCP (and TLS) probe of one broker may take: ``bootstrap_timeout_ms`` of
        ``config``, at least 0.5 s.
    """

    def __init__(self, bootstrap_servers: list[str], topics: list[str], assign: str,
                 partitions: list[tuple[str, int]] | None, config: dict, retry_backoff: tuple[float, float], *,
                 stats: dict, log: Callable[[str, int], None], stopping: Stopping, commits: Commits,
                 on_assigned: Callable[[object, list], None]):
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.assign = assign
        self.partitions = partitions
        self.config = config
        self.retry_backoff = retry_backoff
        self.probe_timeout = max(0.5, config.get("bootstrap_timeout_ms", 5000) / 1000.0)
        self.stats = stats
        self.log = log
        self.stopping = stopping
        self.commits = commits
        self.on_assigned = on_assigned
        self.consumer = None

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1, 2, ...):
        ``initial * 2**(attempt-1)``, capped at ``max`` of ``retry_backoff``."""
        initial, cap = self.retry_backoff
        return min(cap, initial * (2 ** max(0, attempt - 1)))

    def ensure(self) -> bool:
        """Connect unless a consumer exists or the source is stopping, then send the pending
        commits.

        Returns
        -------
        bool
            Whether there is a consumer.

        Raises
        ------
        streamsgns.connectors.kafka.errors.KafkaSecurityError
            When the broker answers but the secured connection fails (not retried).
        """
        if self.consumer is None and not self.stopping.requested():
            with self.stopping.in_io():
                self.consumer = self.connect()
        if self.consumer is None:
            return False
        if self.commits:
            self.commits.send(self.consumer)
        return True

    def connect(self):
        """Create a consumer, assign or subscribe it; retry with backoff until it works or the
        source stops.

        Returns
        -------
        kafka.KafkaConsumer or None
            ``None`` when the source stopped first.

        Raises
        ------
        streamsgns.connectors.kafka.errors.KafkaSecurityError
            When the broker answers but the secured connection fails (not retried).
        """
        from kafka import KafkaConsumer

        attempt = 0
        while not self.stopping.requested():
            attempt += 1
            consumer = None
            try:
                self.probe()
                with _kafka_errors() as seen:
                    try:
                        consumer = KafkaConsumer(**reveal(self.config))
                    except (KafkaError, OSError):
                        _raise_security_error(seen, self.bootstrap_servers, self.config)
                        raise
                if self.assign == "manual":
                    tps = topic_partitions(consumer, self.topics, self.bootstrap_servers, self.partitions)
                    consumer.assign(tps)
                    self.on_assigned(consumer, tps)
                else:
                    consumer.subscribe(self.topics, listener=_listener(consumer, self.on_assigned))
                if attempt > 1:  # as loud as the retries it ends
                    self.log(f"kafka: connected to {','.join(self.bootstrap_servers)} "
                             f"after {attempt} attempts", logging.WARNING)
                return consumer
            except (KafkaError, OSError, NotReady) as exc:
                if consumer is not None:
                    close_quietly(consumer)
                delay = self.backoff(attempt)
                if isinstance(exc, NotReady):
                    what = str(exc)
                else:
                    what = (f"broker {','.join(self.bootstrap_servers)} unavailable "
                            f"({describe(exc)})")
                self.log(f"kafka: {what}, retrying in {delay:.1f} s", logging.WARNING)
                self.stopping.sleep(delay)
        return None

    def probe(self) -> None:
        """Check that one bootstrap server accepts TCP (and, with SSL, a TLS handshake).

        kafka-python 3's KafkaConsumer blocks for ``bootstrap_timeout_ms`` and leaks its IO
        thread when no broker answers, so a cheap TCP connect is tried first.

        Raises
        ------
        streamsgns.connectors.kafka.errors.NoBrokersAvailable
            If no server accepts a TCP connection within ``probe_timeout``.
        streamsgns.connectors.kafka.errors.KafkaSecurityError
            If the first server that accepts fails the TLS handshake (:func:`tls_handshake`).
        """
        errors = []
        for server in self.bootstrap_servers:
            host, sep, port = server.rpartition(":")
            if not sep:
                host, port = server, "9092"
            host = host.strip("[]")
            try:
                sock = socket.create_connection((host, int(port)), timeout=self.probe_timeout)
            except (OSError, ValueError) as exc:
                errors.append(f"{server}: {exc}")
                continue
            with sock:
                if self.config.get("security_protocol", "PLAINTEXT") in ("SSL", "SASL_SSL"):
                    tls_handshake(sock, host, server, self.config, self.probe_timeout)
                return
        raise NoBrokersAvailable("; ".join(errors))

    def recreate(self) -> None:
        """Close the consumer and connect a new one (counted in ``stats["reconnects"]``); the
        assignment callback seeks it to the last yielded position. ``consumer`` is ``None``
        afterwards if the source stopped while reconnecting."""
        old, self.consumer = self.consumer, None
        if old is not None:
            close_quietly(old)
        self.stats["reconnects"] += 1
        self.log("kafka: recreating the consumer at the last yielded position", logging.WARNING)
        self.consumer = self.connect()
        if self.consumer is not None and self.commits:
            self.commits.send(self.consumer)

    def close(self) -> None:
        """Send the pending commits (best effort), then close the consumer. Idempotent."""
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            if self.commits:
                self.commits.send(consumer)
            close_quietly(consumer)


def _listener(consumer, on_assigned):
    """A rebalance listener (group mode) that hands newly assigned partitions to ``on_assigned``."""
    from kafka import ConsumerRebalanceListener

    class _Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            # Nothing to commit here: offsets are committed by the trainer
            # only once a checkpoint covering them is durable.
            pass

        def on_partitions_assigned(self, assigned):
            on_assigned(consumer, assigned)

    return _Listener()


def _ssl_context(config) -> ssl.SSLContext:
    """The client TLS context kafka-python builds from ``config`` (its own code where it has one)."""
    settings = {k: config.get(k, d) for k, d in (("ssl_context", None), ("ssl_check_hostname", True),
                                                  ("ssl_cafile", None), ("ssl_certfile", None),
                                                  ("ssl_keyfile", None), ("ssl_password", None),
                                                  ("ssl_crlfile", None))}
    settings = reveal(settings)
    try:
        from kafka.net.transport import KafkaSSLTransport

        return KafkaSSLTransport._build_ssl_context(settings)
    except (ImportError, AttributeError):  # kafka-python 2.x: the same steps
        if settings["ssl_context"] is not None:
            return settings["ssl_context"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = bool(settings["ssl_check_hostname"])
        if settings["ssl_cafile"]:
            ctx.load_verify_locations(settings["ssl_cafile"])
        else:
            ctx.load_default_certs()
        if settings["ssl_certfile"]:
            ctx.load_cert_chain(settings["ssl_certfile"], settings["ssl_keyfile"], settings["ssl_password"])
        if settings["ssl_crlfile"]:
            ctx.load_verify_locations(crl=settings["ssl_crlfile"])
            ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return ctx


#: OpenSSL verification codes (``X509_V_ERR_*``) of a certificate signed by a CA the client does not trust.
_UNKNOWN_CA = {2, 18, 19, 20, 21}
#: ``X509_V_ERR_HOSTNAME_MISMATCH`` and ``X509_V_ERR_IP_ADDRESS_MISMATCH``.
_NAME_MISMATCH = {62, 64}


def tls_handshake(sock: socket.socket, host: str, server: str, config, timeout: float) -> None:
    """Make the TLS handshake of ``config`` on a connected socket; name the cause if it fails.

    Parameters
    ----------
    sock : socket.socket
        Connected to the broker (left open; the caller closes it).
    host : str
        Host name checked against the certificate (``ssl_check_hostname``).
    server : str
        ``"HOST:PORT"``, for the message.
    config : mapping
        kafka-python settings (``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``,
        ``ssl_password``, ``ssl_check_hostname``, ``ssl_crlfile``, ``ssl_context``).
    timeout : float
        Seconds the handshake may take.

    Raises
    ------
    KafkaSecurityError
        ``"unknown CA"`` (the certificate is not signed by a CA of ``ssl_cafile``), ``"host
        name mismatch"``, ``"certificate rejected"`` (expired, revoked, the client's refused...)
        or ``"not a TLS listener"`` (no TLS answer: e.g. ``security.protocol=SSL`` against a
        plaintext listener).
    """
    try:
        ctx = _ssl_context(config)
    except (ssl.SSLError, OSError) as e:
        raise KafkaSecurityError("certificate rejected", f"cannot load the TLS files of the Kafka config "
                                 f"({e.strerror or e.__class__.__name__})") from None
    sock.settimeout(timeout)
    try:
        with ctx.wrap_socket(sock, server_hostname=host.rstrip(".") if ctx.check_hostname else host):
            return
    except ssl.SSLCertVerificationError as e:
        code = getattr(e, "verify_code", None)
        why = getattr(e, "verify_message", None) or str(e)
        if code in _UNKNOWN_CA:
            raise KafkaSecurityError("unknown CA", f"the certificate of {server} is not signed by a CA of "
                                     f"ssl.cafile ({why})") from None
        if code in _NAME_MISMATCH:
            raise KafkaSecurityError("host name mismatch", f"the certificate of {server} is not valid for "
                                     f"{host!r} ({why}; check the URL's host, or "
                                     "ssl.endpoint.identification.algorithm)") from None
        raise KafkaSecurityError("certificate rejected", f"{server}: {why}") from None
    except ssl.SSLError as e:
        reason = getattr(e, "reason", None) or str(e)
        if "ALERT" in str(reason).upper():  # the broker refused us (e.g. it wants a client certificate)
            raise KafkaSecurityError("certificate rejected", f"{server} ended the TLS handshake ({reason})") from None
        raise KafkaSecurityError("not a TLS listener", f"{server} does not speak TLS ({reason}): is it a "
                                 "plaintext listener? (security.protocol)") from None
    except (socket.timeout, TimeoutError):
        raise KafkaSecurityError("not a TLS listener", f"{server} gave no TLS answer within {timeout:g} s: is it "
                                 "a plaintext listener? (security.protocol)") from None
    except (ConnectionError, OSError) as e:
        raise KafkaSecurityError("not a TLS listener", f"{server} closed the connection during the TLS "
                                 f"handshake ({e.strerror or e.__class__.__name__}): is it a plaintext "
                                 "listener? (security.protocol)") from None


class _Seen(logging.Handler):
    """Collects the exceptions kafka-python logs (its bootstrap reports why a connection failed)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        self.errors.extend(a for a in args if isinstance(a, BaseException))
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


@contextmanager
def _kafka_errors() -> Iterator[_Seen]:
    """Collect, for the ``with`` block, the exceptions that kafka-python logs at WARNING or above."""
    seen = _Seen()
    logger = logging.getLogger("kafka")
    logger.addHandler(seen)
    try:
        yield seen
    finally:
        logger.removeHandler(seen)


def _raise_security_error(seen: _Seen, bootstrap_servers, config) -> None:
    """Raise :class:`KafkaSecurityError` if kafka-python's bootstrap failed on authentication.

    With SASL configured, a bootstrap connection that failed with anything but a network error
    (the TCP probe just succeeded) failed in the SASL exchange: a refused mechanism, refused
    credentials, or a server message the client could not read (a broker that does not know the
    user may answer SCRAM's first step with ``e=unknown-user``, which kafka-python cannot parse).
    """
    from kafka import errors as E

    where = ",".join(bootstrap_servers)
    network = tuple(c for c in (getattr(E, "KafkaConnectionError", None), getattr(E, "KafkaTimeoutError", None),
                                getattr(E, "NodeNotReadyError", None), getattr(E, "NoBrokersAvailable", None),
                                OSError, TimeoutError) if c is not None)
    sasl = str(config.get("security_protocol", "PLAINTEXT")).startswith("SASL_")
    for exc in seen.errors:
        if isinstance(exc, getattr(E, "UnsupportedSaslMechanismError", ())):
            raise KafkaSecurityError("SASL mechanism not enabled", f"{where}: {describe(exc)}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise KafkaSecurityError("unknown CA" if getattr(exc, "verify_code", None) in _UNKNOWN_CA
                                     else "certificate rejected", f"{where}: {exc}")
        if sasl and not isinstance(exc, network):
            raise KafkaSecurityError("authentication failed", f"{where} refused the SASL "
                                     f"{config.get('sasl_mechanism')} login of user "
                                     f"{config.get('sasl_plain_username')!r} ({describe(exc)}): check "
                                     "sasl.username and the password")


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
