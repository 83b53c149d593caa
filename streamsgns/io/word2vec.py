"""word2vec's text and binary vector formats (Mikolov et al.'s ``word2vec.c``).

gensim's ``KeyedVectors.load_word2vec_format`` and most tools read them. The
learner writes words by decreasing count, so a reader's ``limit=`` /
``restrict_vocab=`` keeps the most frequent ones.
"""

from __future__ import annotations

import re

import numpy as np

from .atomic import atomic_write

__all__ = ["save_word2vec_format", "load_word2vec_format"]


def _safe_word(w: str) -> str:
    return re.sub(r"\s", "_", w) if (" " in w or "\t" in w or "\n" in w or "\r" in w) else w


def save_word2vec_format(path, words, vectors, binary: bool = False, rows=None) -> int:
    """Write ``words`` and their ``vectors`` in word2vec format, atomically.

    The one word2vec writer of streamsgns (the learner, the PMI tools and the
    benchmarks call it). Whitespace inside a word is written as ``_`` (the
    format separates fields by spaces).

    Parameters
    ----------
    path : str or os.PathLike
    words : sequence of str, length n
    vectors : ndarray, shape (n, d), float
        Written as float32 (``%.9g`` text, or little-endian binary).
    binary : bool
        word2vec's binary format instead of text.
    rows : ndarray of int, shape (n,), optional
        Write ``vectors[rows]`` (``vectors`` then has any number of rows), gathered a few
        thousand rows at a time instead of copied whole (memory).

    Returns
    -------
    int
        Words written.

    Raises
    ------
    ValueError
        If the lengths differ or the vectors hold NaN or inf: a corrupted
        model is never written.
    OSError
        If the file cannot be written (the previous file is left intact).
    """
    sub = np.ascontiguousarray(vectors, dtype=np.float32)
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
    n = sub.shape[0] if rows is None else rows.shape[0]
    if sub.ndim != 2 or n != len(words):
        raise ValueError(f"{len(words)} words for vectors of shape {sub.shape}" +
                         ("" if rows is None else f" and {rows.shape[0]} rows"))
    if not (np.isfinite(sub).all() if rows is None else all(np.isfinite(sub[rows[s:s + 4096]]).all()
                                                              for s in range(0, n, 4096))):
        raise ValueError("refusing to write vectors that hold NaN or inf")
    words = [_safe_word(w) for w in words]
    dim = sub.shape[1]

    def block(s, e):
        return sub[s:e] if rows is None else sub[rows[s:e]]

    def write(f):
        f.write(f"{len(words)} {dim}\n".encode())
        if binary:
            for s in range(0, n, 4096):
                le = block(s, s + 4096).astype("<f4", copy=False)
                for w, row in zip(words[s:s + 4096], le):
                    f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            step = 1024  # rows formatted at a time: memory stays O(step * dim) Python floats (about 3 MB for d = 100)
            for s in range(0, len(words), step):
                rows_ = block(s, s + step).tolist()
                f.write("".join(w + " " + " ".join("%.9g" % v for v in row) + "\n"
                                for w, row in zip(words[s:s + step], rows_)).encode("utf-8"))

    atomic_write(path, write)
    return len(words)


_FLOAT_PREFIX = re.compile(r"[-+]?(\d*\.?\d*([eE][-+]?\d*)?|inf?|infin?i?t?y?|na?n?)", re.IGNORECASE)


def _text_values(line: bytes, cut: bool = False):
    """Number of value fields after the word if ``line`` reads as a text row, else None.

    With ``cut`` (the line is the end of a truncated file), an incomplete UTF-8 sequence at
    the end and an incomplete last number (``-``, ``1e``) still read as text.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        if not (cut and e.end == len(line) and e.start >= len(line) - 3):
            return None
        text = line[: e.start].decode("utf-8", "strict")
    parts = text.rstrip(" \r").split(" ")
    if len(parts) < 2:
        return 0 if cut and parts[0] else None
    for j, x in enumerate(parts[1:]):
        try:
            float(x)
        except ValueError:
            if not (cut and j == len(parts) - 2 and _FLOAT_PREFIX.fullmatch(x)):
                return None
    return len(parts) - 1


def _parse_header(path, line: bytes) -> tuple[int, int]:
    if not line:
        raise ValueError(f"{path}: empty file, not a word2vec file")
    try:
        fields = line.decode("ascii").split()
        n, d = int(fields[0]), int(fields[1])
        if len(fields) != 2:
            raise ValueError
    except (UnicodeDecodeError, ValueError, IndexError):
        shown = line[:60].decode("utf-8", "replace").rstrip("\n")
        raise ValueError(f"{path}: not a word2vec file (the first line must be 'WORDS DIM', got {shown!r})") from None
    if n < 0 or d < 1:
        raise ValueError(f"{path}: bad word2vec header: {n} words of dimension {d}")
    return n, d


def _read_binary(path, rest: bytes, n: int, d: int, words: list, out: np.ndarray) -> None:
    pos, row = 0, 4 * d
    for i in range(n):
        while pos < len(rest) and rest[pos:pos + 1] == b"\n":  # word2vec.c ends each row with \n
            pos += 1
        sp = rest.find(b" ", pos)
        if sp < 0 or sp + 1 + row > len(rest):
            raise ValueError(f"{path}: truncated binary word2vec file: {i} complete rows for a header of {n}")
        try:
            words.append(rest[pos:sp].decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"{path}: row {i}: the word is not valid UTF-8 (corrupted binary file)") from None
        out[i] = np.frombuffer(rest, dtype="<f4", count=d, offset=sp + 1)
        pos = sp + 1 + row


def _read_text(path, rest: bytes, n: int, d: int, words: list, out: np.ndarray) -> None:
    # split on "\n" only: str.splitlines() would also break rows at characters
    # such as \x0b, \x1c, \x85 or \u2028 inside words (gensim reads them whole)
    complete = rest.endswith(b"\n")
    try:
        text = rest.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.end != len(rest) or e.reason != "unexpected end of data":
            raise ValueError(f"{path}: not valid UTF-8 at byte {e.start} after the header "
                             "(text word2vec file)") from None
        text = rest[: e.start].decode("utf-8")  # cut inside a character: the last row is incomplete
        if len(text.rsplit("\n", 1)[-1].split(" ")) == d + 1:
            raise ValueError(f"{path}: truncated word2vec file: row cut inside a character") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < n:
        raise ValueError(f"{path}: truncated word2vec file: {len(lines)} rows for a header of {n}")
    for i in range(n):
        parts = lines[i].rstrip(" \r").split(" ")
        last = i == len(lines) - 1 and not complete
        if len(parts) != d + 1:
            if last and len(parts) < d + 1:
                raise ValueError(f"{path}: truncated word2vec file: row {i} has {len(parts) - 1} of {d} values")
            raise ValueError(f"{path}: row {i} has {len(parts) - 1} values, expected {d}")
        try:
            out[i] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            raise ValueError(f"{path}: row {i}: values are not numbers") from None
        words.append(parts[0])


def load_word2vec_format(path, binary: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Read word2vec text or binary vectors (no gensim needed).

    Text or binary is decided from the first row after the header when ``binary`` is None:
    a text row is valid UTF-8 whose fields after the word are all numbers (a truncated text
    row still is); anything else is binary. Truncation is reported, never read as data, with
    one exception: a text file cut inside the last number of its last row reads as complete
    (text files may end without a newline, so nothing tells the cut from the end).

    Parameters
    ----------
    path : str or os.PathLike
    binary : bool, optional
        Detected from the content when None.

    Returns
    -------
    words : list of str
    vectors : ndarray, shape (n, d), float32

    Raises
    ------
    ValueError
        If the file is empty, is not a word2vec file (the header is not ``WORDS DIM``), is
        truncated (the message says "truncated"), or a row is malformed.
    OSError
        If the file cannot be read (``FileNotFoundError`` when it does not exist).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
    >>> save_word2vec_format(path, ["a", "b"], np.eye(2))
    2
    >>> load_word2vec_format(path)
    (['a', 'b'], array([[1., 0.],
           [0., 1.]], dtype=float32))
    """
    with open(path, "rb") as f:
        n, d = _parse_header(path, f.readline())
        rest = f.read()
    # every row holds at least a 1-byte word, a separator and d values of >= 1 byte (text: d
    # spaces + d digits; binary: 4d bytes): refuse an absurd header before allocating n x d floats
    if n * (2 * d + 1) > len(rest) + 1:
        raise ValueError(f"{path}: truncated word2vec file: {len(rest)} bytes cannot hold {n} rows of dimension {d}")
    guessed = binary is None
    if guessed:
        first, nl, _ = rest.partition(b"\n")
        binary = n > 0 and _text_values(first, cut=not nl) is None
    words: list = []
    out = np.empty((n, d), dtype=np.float32)
    try:
        (_read_binary if binary else _read_text)(path, rest, n, d, words, out)
    except ValueError:
        if not (guessed and binary and not words and _is_utf8(first)):
            raise
        # a first row of text that is not d numbers, and too short to be a binary row
        raise ValueError(f"{path}: row 0 is neither a text row of {d} numbers nor a complete binary "
                         "row (malformed, or truncated)") from None
    return words, out


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
