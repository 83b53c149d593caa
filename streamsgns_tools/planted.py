"""Planted semantic change: rename words in pairs (tooling for ``benchmarks/drift/planted.py``).

Every occurrence of ``a`` is written as ``b`` and every occurrence of ``b`` as ``a``, so from
the point where the renaming starts each of the two words takes over the other's contexts: a
change of meaning whose truth is known (a synthetic change, as in the synthetic evaluation of
Kulkarni et al. 2015, *Statistically significant detection of linguistic change*, WWW).
"""

from __future__ import annotations

from typing import Iterable, Iterator

__all__ = ["swap_mapping", "rename_tokens"]


def swap_mapping(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The token → token mapping that exchanges the two words of every pair.

    Parameters
    ----------
    pairs : iterable of (str, str)
        Distinct words; a word may appear in one pair only.

    Returns
    -------
    dict
        ``{a: b, b: a}`` for every pair.

    Raises
    ------
    ValueError
        If a pair repeats a word, or a word is in two pairs.

    Examples
    --------
    >>> swap_mapping([("king", "water")])
    {'king': 'water', 'water': 'king'}
    """
    m: dict[str, str] = {}
    for a, b in pairs:
        if a == b:
            raise ValueError(f"a pair of one word: {a!r}")
        for w in (a, b):
            if w in m:
                raise ValueError(f"{w!r} is in two pairs")
        m[a], m[b] = b, a
    return m


def rename_tokens(sentences: Iterable[list[str]], mapping: dict[str, str]) -> Iterator[list[str]]:
    """Yield each token list with the words of ``mapping`` replaced (new lists; the input is kept).

    Parameters
    ----------
    sentences : iterable of list of str
    mapping : dict
        From :func:`swap_mapping`.

    Yields
    ------
    list of str

    Examples
    --------
    >>> list(rename_tokens([["the", "king", "drank", "water"]], swap_mapping([("king", "water")])))
    [['the', 'water', 'drank', 'king']]
    """
    get = mapping.get
    for s in sentences:
        yield [get(t, t) for t in s]
