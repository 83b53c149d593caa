"""Stage 1 of the kernels: the numba scanner that finds the tokens of a block of bytes.

It reproduces the default tokenizer of :mod:`streamsgns.tokenize` (river's pattern
``(?u)\\b\\w[\\w\\-]+\\b`` on lowercased text: tokens of two or more word characters with
inner hyphens) on bytes, without building Python strings: ASCII exactly, every non-ASCII byte as a
word byte (non-ASCII lines are pre-tokenised by :func:`streamsgns.tokenize.normalize_text`, so
the two agree; property-tested in ``tests/test_tokenize.py``). Kept apart from
:mod:`streamsgns.tokenize` so that the token definition can be imported without numba.
"""

from __future__ import annotations

from numba import njit

__all__ = ["scan_token", "is_word_byte"]


@njit(cache=True, nogil=True, inline="always")
def is_word_byte(b):
    """``\\w`` on lowercased ASCII, and every non-ASCII byte (see :mod:`streamsgns.tokenize`)."""
    return (b >= 97 and b <= 122) or (b >= 48 and b <= 57) or b == 95 or b >= 128 or (b >= 65 and b <= 90)


@njit(cache=True, nogil=True)
def scan_token(buf, i, n, mode):
    """Find the next token in ``buf[i:n]`` without crossing a newline.

    Parameters
    ----------
    buf : ndarray, shape (n,), uint8
    i, n : int
        Byte offsets.
    mode : int
        0: river's pattern ``(?u)\\b\\w[\\w\\-]+\\b`` on lowercased text;
        1: tokens separated by ``\\x1f``.

    Returns
    -------
    start, end : int
        The token is ``buf[start:end]``; ``start == end`` means none before the
        line end.
    nxt : int
        Where to continue (the ``\\n`` itself when the line ended, or ``n``).
    n_ctrl : int
        Control bytes skipped (NUL and others below 0x20 except tab and CR).
    """
    n_ctrl = 0
    if mode == 0:
        while i < n:
            b = buf[i]
            if b == 10:
                return i, i, i, n_ctrl
            if is_word_byte(b):
                s = i
                j = i + 1
                while j < n:
                    bj = buf[j]
                    if is_word_byte(bj) or bj == 45:
                        j += 1
                    else:
                        break
                e = j
                while buf[e - 1] == 45:
                    e -= 1
                if e - s >= 2:
                    return s, e, j, n_ctrl
                i = j
            else:
                if b < 32 and b != 9 and b != 13:
                    n_ctrl += 1
                i += 1
        return n, n, n, n_ctrl
    else:
        while i < n:
            b = buf[i]
            if b == 10:
                return i, i, i, n_ctrl
            if b == 31:
                i += 1
                continue
            s = i
            while i < n and buf[i] != 31 and buf[i] != 10:
                i += 1
            return s, i, i, n_ctrl
        return n, n, n, n_ctrl
