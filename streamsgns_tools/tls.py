"""TLS for the broker harness: test certificates and a TLS terminator in front of a Tansu broker.

Tansu 0.6.0 cannot serve TLS itself (``--cert`` and ``--key`` exclude each other on its command
line, and the broker never uses the TLS acceptor it builds; ``docs/production.md``). Many
deployments terminate TLS in front of the broker anyway (a proxy or a load balancer), and that is
what :class:`TlsTerminator` is: it accepts TLS connections on 127.0.0.1 with a server certificate
and relays the bytes, decrypted, to the broker's plaintext listener. The client (kafka-python)
makes a real TLS handshake and verifies a real certificate chain; the broker advertises the
terminator's address, so every connection of the client goes through it.

:func:`make_certificates` writes a CA, a server certificate signed by it (for ``127.0.0.1`` and
``localhost``, or for other names to provoke a host-name mismatch), and an unrelated CA (to
provoke an unknown-CA failure), as PEM files, with the ``cryptography`` package.

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

__all__ = ["TlsTerminator", "make_certificates"]


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca(name: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _server_cert(ca_key, ca_cert, names: list[str]):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _key()
    alt = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def make_certificates(directory, names=("127.0.0.1", "localhost")) -> dict[str, Path]:
    """Write a test CA, a server certificate it signs for ``names``, and an unrelated CA.

    Parameters
    ----------
    directory : path
        Where the PEM files go (created).
    names : sequence of str
        IP addresses and DNS names of the server certificate.

    Returns
    -------
    dict[str, pathlib.Path]
        ``ca`` (the CA certificate), ``cert`` and ``key`` (the server's), ``other_ca`` (a CA that
        signed nothing here).
    """
    from cryptography.hazmat.primitives import serialization

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("streamsgns test CA")
    key, cert = _server_cert(ca_key, ca_cert, list(names))
    _, other = _ca("some other CA")
    out = {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key", "other_ca": d / "other-ca.pem"}
    out["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    out["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out["key"].write_bytes(_pem_key(key))
    out["other_ca"].write_bytes(other.public_bytes(serialization.Encoding.PEM))
    return out


class TlsTerminator:
    """Accept TLS on 127.0.0.1 and relay each connection, decrypted, to a plaintext broker.

    Parameters
    ----------
    target : str
        ``"HOST:PORT"`` of the broker's plaintext listener.
    certfile, keyfile : path
        The server certificate (PEM) and its key.
    port : int, optional
        Port to listen on (default: a free one; see :attr:`port`).

    Use it as a context manager, or call :meth:`start` and :meth:`close`.
    """

    host = "127.0.0.1"

    def __init__(self, target: str, certfile, keyfile, port: int | None = None):
        host, _, tport = target.rpartition(":")
        self.target = (host, int(tport))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(certfile), str(keyfile))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, port or 0))
        self.port = self.sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self._conns: list[socket.socket] = []

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:PORT"`` of the TLS listener."""
        return f"{self.host}:{self.port}"

    def start(self) -> "TlsTerminator":
        """Listen and relay from a daemon thread; return ``self``."""
        self.sock.listen(64)
        t = threading.Thread(target=self._accept, daemon=True, name="tls-terminator")
        t.start()
        self._threads.append(t)
        return self

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            tls = self.ctx.wrap_socket(conn, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError):  # the client refused our certificate, or spoke no TLS
            conn.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            tls.close()
            return
        self._conns += [tls, upstream]
        threading.Thread(target=self._pump, args=(tls, upstream), daemon=True).start()
        self._pump(upstream, tls)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        """Stop listening and cut every relayed connection. Idempotent."""
        self._closed.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self) -> "TlsTerminator":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
