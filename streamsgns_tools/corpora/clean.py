"""Text cleaners: pure functions from a raw package file's text to clean lines (offline, tested).

Every cleaned line is whitespace-normalised (:func:`normalize_line`): one sentence, paragraph,
gloss or fortune per line, no line breaks inside.

Cleaners do not count tokens: :func:`streamsgns_tools.corpora.count_tokens` counts the learner's
tokens (:func:`streamsgns.tokenize.tokenize`, the one token definition of the project). The two
filters of markup remnants below are letter tests and are kept as they were, so that the corpora
(and "mix") stay byte-identical across versions: a Wikipedia paragraph needs three runs of ASCII
letters, a GCIDE paragraph one ASCII letter.
"""

from __future__ import annotations

import html
import re
import warnings
from typing import Iterable, Iterator

__all__ = [
    "normalize_line",
    "split_sentences",
    "strip_brown_tags",
    "brown_sentences",
    "strip_wiki_markup",
    "wiki_paragraphs",
    "wordnet_glosses",
    "gcide_entries",
    "clean_gcide_entry",
    "split_fortunes",
]


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

    Examples
    --------
    >>> normalize_line(" a\\tb\\r\\nc\\u2028d  ")
    'a b c d'
    """
    return " ".join(text.split())


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

    Examples
    --------
    >>> split_sentences('It rained! Did "Bob" come? (He did.) 3 days later.')
    ['It rained!', 'Did "Bob" come?', '(He did.)', '3 days later.']
    """
    return [s for s in (normalize_line(x) for x in _SENT_SPLIT_RE.split(text)) if s]


_BROWN_TAG_RE = re.compile(r"/[^ ]+")


def strip_brown_tags(line: str) -> str:
    """Remove Brown-corpus part-of-speech tags, like ``sed -E 's#/[^ ]+##g'``.

    Parameters
    ----------
    line : str
        A tagged line.

    Returns
    -------
    str
        The words only, whitespace-normalised.

    Examples
    --------
    >>> strip_brown_tags("\\tThe/at jury/nn said/vbd ./.")
    'The jury said .'
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

    Examples
    --------
    >>> brown_sentences("\\n\\tThe/at jury/nn said/vbd ./.\\n\\n\\tIt/pps was/bedz ./.\\n")
    ['The jury said .', 'It was .']
    """
    return [s for s in (strip_brown_tags(line) for line in text.splitlines()) if s]


_WIKI_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_WIKI_REF_RE = re.compile(r"<ref[^>]*?/>|<ref[^>]*>.*?</ref>", re.S | re.I)
_WIKI_TEMPLATE_RE = re.compile(r"\{\{[^{}]*\}\}")
_WIKI_TABLE_RE = re.compile(r"\{\|[^{}]*?\|\}", re.S)
_WIKI_FILE_RE = re.compile(r"\[\[(?:File|Image|Category|[a-z]{2,3}(?:-[a-z]+)?):[^\[\]]*\]\]", re.I)
_WIKI_LINK_RE = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]")
_WIKI_EXT_LINK_RE = re.compile(r"\[(?:https?|ftp)://[^\s\]]+\s*([^\]]*)\]")
_WIKI_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")
_WIKI_QUOTES_RE = re.compile(r"'{2,}")
_HEADING_RE = re.compile(r"^=+.*=+$")
_LETTER_RUN_RE = re.compile(r"[a-z]+")  # markup-remnant test of the cleaners, not a token definition


def _strip_wiki_markup_regex(text: str) -> str:
    text = _WIKI_COMMENT_RE.sub("", text)
    text = _WIKI_REF_RE.sub("", text)
    prev = None
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
        Use ``gensim.corpora.wikicorpus.filter_wiki`` when gensim can be imported (an optional
        dependency, imported lazily); otherwise, or when False, a regex fallback removes comments,
        ``<ref>``s, templates, tables, file/category/interlanguage links, HTML tags and
        bold/italic quotes, and keeps the label of internal and external links.

    Returns
    -------
    str
        Plain text with newlines between paragraphs; headings (``== H ==``) are still there, see
        :func:`wiki_paragraphs`.

    Examples
    --------
    >>> strip_wiki_markup("'''Ada''' was an [[England|English]] writer.{{cite}}", use_gensim=False)
    'Ada was an English writer.'
    """
    if use_gensim:
        try:
            from gensim.corpora.wikicorpus import filter_wiki
        except ImportError:
            warnings.warn("gensim is not installed: wiki markup is stripped by the regex fallback, whose text "
                          "differs slightly from gensim's filter_wiki (enwiki-sample: 438,512 tokens instead "
                          "of 449,851)", UserWarning, stacklevel=2)
        else:
            return _WIKI_QUOTES_RE.sub("", filter_wiki(text))
    return _strip_wiki_markup_regex(text)


def wiki_paragraphs(text: str, min_words: int = 3, use_gensim: bool = True) -> list[str]:
    """Turn the wikitext of one page into clean paragraphs.

    Parameters
    ----------
    text : str
        Raw wikitext.
    min_words : int, default 3
        Paragraphs with fewer runs of ASCII letters (once lowercased) are dropped: list items of
        "See also", table remnants.
    use_gensim : bool, default True
        Passed to :func:`strip_wiki_markup`.

    Returns
    -------
    list of str
        Paragraphs in page order; headings and lines starting with table syntax (``|``, ``!``,
        braces) are dropped and list bullets (``*#:;``) are stripped.

    Examples
    --------
    >>> wiki_paragraphs("== Life ==\\nShe was born in [[London]].\\n* See also", use_gensim=False)
    ['She was born in London.']
    """
    out = []
    for line in strip_wiki_markup(text, use_gensim=use_gensim).splitlines():
        line = line.strip()
        if not line or _HEADING_RE.match(line) or line[0] in "|!{}":
            continue
        line = normalize_line(line.lstrip("*#:; "))
        if len(_LETTER_RUN_RE.findall(line.lower())) >= min_words:
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

    Examples
    --------
    >>> list(wordnet_glosses(["  1 licence", "00001740 03 n 01 entity 0 | that which is known  "]))
    ['that which is known']
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
    """Decode a dictd index number (base 64, most significant digit first); KeyError if invalid."""
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
        ``00-*`` database-information entries dropped, lines with invalid numbers skipped). When
        None, entries are found by layout: an entry starts at a non-indented line after a blank
        line, and everything before the first ``"[1913 Webster]"`` entry is skipped, which drops
        the header.

    Returns
    -------
    list of str
        Raw entry texts (with markup) in file order.

    Examples
    --------
    >>> gcide_entries(b"00-info\\n  x\\n\\nCat \\\\Cat\\\\, n. An animal.\\n   [1913 Webster]\\n")
    ['Cat \\\\Cat\\\\, n. An animal.\\n   [1913 Webster]']
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
    """Plain letters for a GCIDE character escape (``['e]`` → ``e``, ``[imac]`` → ``i``)."""
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
        Cleaned paragraphs that hold at least one ASCII letter once lowercased (the first one
        starts with the headword).

    Examples
    --------
    >>> clean_gcide_entry('Cafe \\\\Ca*f[\\'e]\\\\, n. [F.] A {coffee} house. [Obs.]\\n   [1913 Webster]')
    ['Cafe n. A coffee house.']
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
        p = normalize_line(_GCIDE_TAG_RE.sub(" ", p).replace("{", "").replace("}", ""))
        if _LETTER_RUN_RE.search(p.lower()):  # drops paragraphs of digits and punctuation only
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

    Examples
    --------
    >>> split_fortunes("A clash of doctrine\\n\\tis not a disaster.\\n%\\n_\\bB_\\bold\\n%\\n")
    ['A clash of doctrine is not a disaster.', 'Bold']
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
