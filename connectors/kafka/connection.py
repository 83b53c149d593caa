"""Consumer life cycle of the Kafka source: probe, connect with backoff, recreate, close."""

from __future__ import annotations

import logging
import socket
import ssl
from contextlib import contextmanager
from typing import Iterator

from kafka.errors import KafkaError

from streamsgns.connectors.kafka.errors import KafkaSecurityError, NoBrokersAvailable, NotReady, describe
from streamsgns.connectors.kafka.settings import reveal

__all__ = ["RECREATE_AFTER", "ConnectionMixin", "close_quietly", "topic_partitions"]

_LOGGER = logging.getLogger("streamsgns.kafka")

#: Consecutive poll errors after which the consumer is closed and recreated.
RECREATE_AFTER = 3


class ConnectionMixin:
    """Create, recreate and close the source's ``_consumer``.

    Uses ``bootstrap_servers``, ``topics``, ``assign``, ``retry_backoff``,
    ``_config`` and ``_probe_timeout`` of :class:`streamsgns.connectors.kafka.KafkaSource`,
    and the assignment (:meth:`_seek_assigned`, :meth:`_make_listener`),
    the pending offsets (``_commits``, a :class:`~streamsgns.connectors.kafka.commits.Commits`) and stopping (:meth:`_stopping`,
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
        if self._commits:
            self._commits.send(self._consumer)
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
                with _kafka_errors() as seen:
                    try:
                        consumer = KafkaConsumer(**reveal(self._config))
                    except (KafkaError, OSError):
                        _raise_security_error(seen, self.bootstrap_servers, self._config)
                        raise
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
                sock = socket.create_connection((host, int(port)), timeout=self._probe_timeout)
            except (OSError, ValueError) as exc:
                errors.append(f"{server}: {exc}")
                continue
            with sock:
                if self._config.get("security_protocol", "PLAINTEXT") in ("SSL", "SASL_SSL"):
                    tls_handshake(sock, host, server, self._config, self._probe_timeout)
                return
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
        if self._consumer is not None and self._commits:
            self._commits.send(self._consumer)

    def _close_consumer(self) -> None:
        """Commit what is pending (best effort), then close the consumer."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            if self._commits and self.group_id:
                self._commits.send(consumer)
            close_quietly(consumer)


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
