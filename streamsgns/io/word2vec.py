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


def save_word2vec_format(path, words, vectors, binary: bool = False) -> int:
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
    if sub.ndim != 2 or sub.shape[0] != len(words):
        raise ValueError(f"{len(words)} words for vectors of shape {sub.shape}")
    if not np.isfinite(sub).all():
        raise ValueError("refusing to write vectors that hold NaN or inf")
    words = [_safe_word(w) for w in words]
    dim = sub.shape[1]

    def write(f):
        f.write(f"{len(words)} {dim}\n".encode())
        if binary:
            le = sub.astype("<f4", copy=False)
            for w, row in zip(words, le):
                f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            step = 4096  # rows formatted at a time: memory stays O(step * dim) Python floats
            for s in range(0, len(words), step):
                rows = sub[s:s + step].tolist()
                f.write("".join(w + " " + " ".join("%.9g" % v for v in row) + "\n"
                                for w, row in zip(words[s:s + step], rows)).encode("utf-8"))

    atomic_write(path, write)
    return len(words)


def _looks_like_text_row(line: bytes, d: int) -> bool:
    try:
        parts = line.decode("utf-8").rstrip(" \r").split(" ")
        if len(parts) != d + 1:
            return False
        [float(x) for x in parts[1:]]
        return True
    except (UnicodeDecodeError, ValueError):
        return False


def load_word2vec_format(path, binary: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Read word2vec text or binary vectors (no gensim needed).

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
        If the header or a row is malformed.
    """
    with open(path, "rb") as f:
        header = f.readline().split()
        if len(header) != 2:
            raise ValueError(f"{path}: bad word2vec header {header!r}")
        n, d = int(header[0]), int(header[1])
        rest = f.read()
    if binary is None:
        binary = not _looks_like_text_row(rest.split(b"\n", 1)[0], d)
    words, out = [], np.empty((n, d), dtype=np.float32)
    if binary:
        pos = 0
        for i in range(n):
            sp = rest.index(b" ", pos)
            words.append(rest[pos:sp].decode("utf-8").lstrip("\n"))
            out[i] = np.frombuffer(rest, dtype="<f4", count=d, offset=sp + 1)
            pos = sp + 1 + 4 * d
            if pos < len(rest) and rest[pos:pos + 1] == b"\n":
                pos += 1
    else:
        # split on "\n" only: str.splitlines() would also break rows at characters
        # such as \x0b, \x1c, \x85 or \u2028 inside words (gensim reads them whole)
        lines = rest.decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) < n:
            raise ValueError(f"{path}: {len(lines)} rows for a header of {n}")
        for i in range(n):
            parts = lines[i].rstrip(" \r").split(" ")
            if len(parts) != d + 1:
                raise ValueError(f"{path}: row {i} has {len(parts) - 1} values, expected {d}")
            words.append(parts[0])
            out[i] = np.array(parts[1:], dtype=np.float32)
    return words, out
