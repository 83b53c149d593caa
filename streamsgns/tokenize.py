"""Tokenisation: river's ``BagOfWords`` pattern, and the fast text → bytes path.

The default tokenizer lowercases and keeps the matches of
``(?u)\\b\\w[\\w\\-]+\\b`` (tokens of two or more word characters, with inner
hyphens), the pattern of river's ``feature_extraction.BagOfWords``.

On the hot path the learner never builds Python lists of tokens: a block of
text is lowercased, encoded to UTF-8 and scanned by the numba scanner
(:func:`streamsgns.scan.scan_token`) that reproduces the pattern exactly on
ASCII bytes. Lines holding non-ASCII characters are tokenised here with the
Python regex (so Unicode ``\\w`` is honoured) and re-joined with spaces, which
the scanner then splits back into the same tokens. :func:`tokenize` is the
reference both paths agree with (property-tested).
"""

from __future__ import annotations

import codecs
import re
from typing import Callable, Iterable, Sequence

__all__ = [
    "TOKEN_PATTERN",
    "tokenize",
    "normalize_text",
    "join_token_lists",
    "decode",
    "SENTENCE_SEP",
    "TOKEN_SEP",
    "check_token_list",
]

TOKEN_PATTERN = r"(?u)\b\w[\w\-]+\b"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
# the bytes the numba scanner counts as control bytes (below 0x20 except TAB, LF, CR)
_CTRL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Separator of tokens in pre-tokenised blocks (ASCII unit separator).
TOKEN_SEP = "\x1f"
#: Separator of sentences in every block.
SENTENCE_SEP = "\n"

_decode_errors = [0]


def _counting_replace(exc: UnicodeDecodeError):
    _decode_errors[0] += 1
    return ("\ufffd", exc.end)


codecs.register_error("streamsgns-replace", _counting_replace)


def decode(data: bytes) -> tuple[str, int]:
    """Decode UTF-8 with replacement, counting the invalid sequences.

    Parameters
    ----------
    data : bytes

    Returns
    -------
    text : str
        Each invalid byte sequence is replaced by U+FFFD.
    n_invalid : int
        Number of invalid sequences replaced.
    """
    # Each invalid sequence becomes one U+FFFD and a literal U+FFFD (EF BF BD) always
    # decodes as itself, so the difference counts the errors without any shared
    # counter (a module-level counter read before/after the call also counted the
    # errors of decodes running in other threads meanwhile).
    text = data.decode("utf-8", "replace")
    n = text.count("\ufffd")
    if n:
        n -= data.count(b"\xef\xbf\xbd")
    return text, n


def tokenize(text: str) -> list[str]:
    """Lowercase ``text`` and return its tokens (river's BagOfWords pattern).

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str

    Examples
    --------
    >>> tokenize("The quick-brown fox -- isn't a FOX-")
    ['the', 'quick-brown', 'fox', 'isn', 'fox']
    """
    return _TOKEN_RE.findall(text.lower())


def normalize_text(text: str) -> bytes:
    """Turn raw text (many ``\\n``-separated sentences) into scanner-ready bytes.

    ASCII lines are only lowercased (the numba scanner applies the pattern);
    each non-ASCII line is replaced by its :func:`tokenize` tokens joined by
    spaces, followed by the line's control characters (so that the scanner
    still counts them). The result scans to exactly
    ``[tokenize(line) for line in lines]``.

    Parameters
    ----------
    text : str

    Returns
    -------
    bytes
        UTF-8; same number of ``\\n``-separated lines as ``text``.
    """
    low = text.lower()
    if low.isascii():
        return low.encode("ascii")
    lines = low.split("\n")
    for i, line in enumerate(lines):
        if not line.isascii():
            tokens = " ".join(_TOKEN_RE.findall(line))
            ctrl = _CTRL_RE.findall(line)
            lines[i] = tokens + " " + "".join(ctrl) if ctrl else tokens
    return "\n".join(lines).encode("utf-8", "replace")


def _clean_token(tok: str) -> str:
    if "\n" in tok or TOKEN_SEP in tok:
        tok = tok.replace("\n", " ").replace(TOKEN_SEP, " ")
    return tok


def join_token_lists(sentences: Iterable[Sequence[str]]) -> bytes:
    """Pack pre-tokenised sentences into one block for the scanner's token mode.

    Tokens are taken as they are (no lowercasing, any characters); inside a
    token, ``\\n`` and ``\\x1f`` are replaced by spaces.

    Parameters
    ----------
    sentences : iterable of sequence of str

    Returns
    -------
    bytes
        Tokens separated by ``\\x1f``, sentences by ``\\n``, UTF-8.
    """
    parts = []
    for toks in sentences:
        parts.append(TOKEN_SEP.join(_clean_token(str(t)) for t in toks))
    return SENTENCE_SEP.join(parts).encode("utf-8", "replace")


def apply_tokenizer(tokenizer: Callable[[str], Sequence[str]], text: str) -> bytes:
    """Run a custom tokenizer on each line of ``text`` and pack the result.

    Parameters
    ----------
    tokenizer : callable
        ``str -> sequence of str``.
    text : str
        One or more ``\\n``-separated sentences.

    Returns
    -------
    bytes
        A token-mode block (see :func:`join_token_lists`).
    """
    return join_token_lists(tokenizer(line) for line in text.split("\n"))


def check_token_list(tokens):
    """Return ``tokens`` as given if every token is a ``str``.

    Raises
    ------
    TypeError
        Naming the first token that is not a ``str`` (``None``, numbers and nested lists are not
        words: ``str()`` of them would silently become one).

    Examples
    --------
    >>> check_token_list(["a", "b"])
    ['a', 'b']
    """
    for t in tokens:
        if not isinstance(t, str):
            raise TypeError(f"a token list must hold str tokens, got {type(t).__name__} {t!r:.40}")
    return tokens
