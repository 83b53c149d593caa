"""Stable 64-bit hashing and a counter-based random number generator.

Everything that must give the same answer on every machine and in every run
(vocabulary look-ups, count-min sketch rows, random draws of the SGNS kernel)
goes through these functions, never through Python's salted ``hash``.

* ``hash_bytes``: FNV-1a over the token's UTF-8 bytes (Fowler, Noll & Vo),
  finished with the SplitMix64 finaliser (Steele, Lea & Flood 2014) so that
  every output bit depends on every input bit.
* ``next_u64``: SplitMix64, a 64-bit generator whose whole state is one
  ``uint64``; the state array is stored in checkpoints, which is what makes a
  resumed run bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["mix64", "hash_bytes", "hash_token", "next_u64", "next_float", "unit_float", "seed_states", "GOLDEN"]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
#: SplitMix64's increment, ``2**64 / φ`` (Steele, Lea & Flood 2014, *Fast splittable pseudorandom
#: number generators*, OOPSLA): also the odd multiplier that spreads keys before :func:`mix64`.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, nogil=True, inline="always")
def mix64(z):
    """SplitMix64 finaliser: a bijective avalanche mix of one ``uint64``.

    Parameters
    ----------
    z : numpy.uint64

    Returns
    -------
    numpy.uint64
    """
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def hash_bytes(buf, start, end):
    """Hash ``buf[start:end]`` to a non-zero ``uint64`` (FNV-1a + SplitMix64).

    Parameters
    ----------
    buf : ndarray, shape (n,), uint8
    start, end : int
        Byte offsets, ``0 <= start <= end <= n``.

    Returns
    -------
    numpy.uint64
        Never 0 (0 marks an empty slot in the vocabulary's hash table).
    """
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    h = mix64(h)
    if h == np.uint64(0):
        h = np.uint64(1)
    return h


def hash_token(token: str | bytes) -> int:
    """Hash one token exactly as the numba tokenizer does.

    Parameters
    ----------
    token : str or bytes
        A ``str`` is encoded as UTF-8 first.

    Returns
    -------
    int
        The 64-bit hash, in ``[1, 2**64)``.
    """
    b = token.encode("utf-8", "replace") if isinstance(token, str) else bytes(token)
    arr = np.frombuffer(b, dtype=np.uint8)
    return int(hash_bytes(arr, 0, arr.shape[0]))


@njit(cache=True, nogil=True, inline="always")
def next_u64(state, k):
    """Advance SplitMix64 stream ``k`` and return 64 random bits.

    Parameters
    ----------
    state : ndarray, shape (m,), uint64
        Generator states, one per stream; ``state[k]`` is updated in place.
    k : int
        Stream index.

    Returns
    -------
    numpy.uint64
    """
    s = state[k] + GOLDEN
    state[k] = s
    return mix64(s)


@njit(cache=True, nogil=True, inline="always")
def unit_float(bits):
    """A ``float64`` in ``[0, 1)`` from the top 53 bits of a ``uint64`` (uniform for uniform bits)."""
    return np.float64(bits >> _S11) * _INV53


@njit(cache=True, nogil=True, inline="always")
def next_float(state, k):
    """A uniform ``float64`` in ``[0, 1)`` from stream ``k`` (53 random bits)."""
    return unit_float(next_u64(state, k))


def seed_states(seed: int, n: int) -> np.ndarray:
    """Independent SplitMix64 states for ``n`` streams derived from one seed.

    Parameters
    ----------
    seed : int
        Any non-negative integer (taken modulo 2**64).
    n : int
        Number of streams.

    Returns
    -------
    ndarray, shape (n,), uint64
    """
    out = np.empty(n, dtype=np.uint64)
    base = np.uint64(int(seed) % (1 << 64))
    with np.errstate(over="ignore"):
        for k in range(n):
            out[k] = mix64(base + np.uint64(k + 1) * GOLDEN)
    return out
