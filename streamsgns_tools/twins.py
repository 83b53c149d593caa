"""Planted twins: rename exactly ``k`` occurrences of a word to a new token (tooling for ``benchmarks/learning_rule/rare_words.py``).

A twin ``w_twin{k}`` is a new word that occurs exactly ``k`` times, each time in a context where
``w`` stood, so its true meaning is ``w``'s. How near the twin's learnt vector is to ``w``'s (the
rank of ``w`` among the vocabulary by cosine to the twin) measures how well a system learns a rare
word, and, with the occurrences chosen at the end of the stream ("late"), a word that appears late.
This is the pseudo-word construction used to test rare-word learning with known truth (cf. the
synthetic change of :mod:`streamsgns_tools.planted`, and Lazaridou et al. 2017, *Multimodal word
meaning induction from minimal exposure to natural text*, Cognitive Science, who likewise build
"new" words out of existing ones).

The stream is addressed by global token positions: position ``p`` is the ``p``-th token (0-based)
of the concatenated token lists.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

__all__ = ["PLACEMENTS", "twin_name", "occurrence_positions", "plant_twins", "rename_positions", "original_ranks"]

PLACEMENTS = ("spread", "late")
"""Where the renamed occurrences are chosen: among all occurrences of the word, or only among those in
the last ``late_fraction`` of the stream."""


def twin_name(word: str, k: int) -> str:
    """The token of the twin of ``word`` with budget ``k``: ``f"{word}_twin{k}"``.

    Examples
    --------
    >>> twin_name("king", 10)
    'king_twin10'
    """
    return f"{word}_twin{int(k)}"


def occurrence_positions(sentences: Iterable[Sequence[str]], words: Iterable[str]) -> tuple[dict[str, np.ndarray], int]:
    """Global token positions of every occurrence of ``words`` in a stream of token lists.

    Parameters
    ----------
    sentences : iterable of sequence of str
        The stream, in order (read once).
    words : iterable of str

    Returns
    -------
    positions : dict of str to ndarray, shape (count,), int64
        Increasing positions of each word of ``words`` (an empty array for a word that never occurs).
    n_tokens : int
        Tokens in the stream (positions are in ``[0, n_tokens)``).

    Examples
    --------
    >>> pos, n = occurrence_positions([["a", "b"], ["b", "c", "b"]], ["b", "z"])
    >>> pos["b"].tolist(), pos["z"].tolist(), n
    ([1, 2, 4], [], 5)
    """
    found: dict[str, list[int]] = {w: [] for w in words}
    n = 0
    for s in sentences:
        for i, t in enumerate(s):
            lst = found.get(t)
            if lst is not None:
                lst.append(n + i)
        n += len(s)
    return {w: np.asarray(p, dtype=np.int64) for w, p in found.items()}, n


def plant_twins(positions: dict[str, np.ndarray], n_tokens: int, budgets: Sequence[int], placement: str,
                seed: int = 0, late_fraction: float = 0.1) -> dict[int, str]:
    """Choose which occurrences become twins: for each word and each budget ``k``, ``k`` distinct positions.

    For every word ``w`` of ``positions`` a uniform random subset of ``sum(budgets)`` of its eligible
    occurrences is drawn without replacement and cut into consecutive groups of the budgets' sizes;
    the ``k`` positions of a group are renamed :func:`twin_name` ``(w, k)``. The groups of one word are
    disjoint, so each twin occurs exactly ``k`` times once renamed.

    Parameters
    ----------
    positions : dict of str to ndarray of int
        From :func:`occurrence_positions`.
    n_tokens : int
        Tokens of the stream.
    budgets : sequence of int
        Distinct positive budgets, e.g. ``(5, 10, 20, 50)``.
    placement : {"spread", "late"}
        ``"spread"``: eligible are all occurrences of ``w``; ``"late"``: only those at positions
        ``>= ceil((1 - late_fraction) * n_tokens)``.
    seed : int
        Seed of ``numpy.random.default_rng``; words are drawn in sorted order, so the result depends
        only on the inputs and the seed.
    late_fraction : float
        In (0, 1].

    Returns
    -------
    dict of int to str
        Position → twin token, ``len(budgets) * len(positions)`` groups.

    Raises
    ------
    ValueError
        On an unknown placement, a bad budget or fraction, or a word with fewer than ``sum(budgets)``
        eligible occurrences.

    Examples
    --------
    >>> pos = {"b": np.arange(0, 100, 2)}
    >>> r = plant_twins(pos, 100, [2, 3], "late", seed=0, late_fraction=0.2)
    >>> sorted(r.values()), all(p >= 80 for p in r)
    (['b_twin2', 'b_twin2', 'b_twin3', 'b_twin3', 'b_twin3'], True)
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    budgets = [int(k) for k in budgets]
    if not budgets or min(budgets) < 1 or len(set(budgets)) != len(budgets):
        raise ValueError(f"budgets must be distinct positive integers, got {budgets}")
    if not 0.0 < late_fraction <= 1.0:
        raise ValueError(f"late_fraction must be in (0, 1], got {late_fraction}")
    start = int(np.ceil((1.0 - late_fraction) * n_tokens)) if placement == "late" else 0
    need = sum(budgets)
    rng = np.random.default_rng(seed)
    out: dict[int, str] = {}
    for w in sorted(positions):
        p = np.asarray(positions[w], dtype=np.int64)
        p = p[p >= start]
        if len(p) < need:
            raise ValueError(f"{w!r} has {len(p)} eligible ({placement}) occurrences, fewer than sum(budgets) = {need}")
        chosen = rng.choice(p, size=need, replace=False)
        i = 0
        for k in budgets:
            name = twin_name(w, k)
            for q in chosen[i:i + k]:
                out[int(q)] = name
            i += k
    return out


def rename_positions(sentences: Iterable[list[str]], renames: dict[int, str]) -> Iterator[list[str]]:
    """Yield the stream with the tokens at the positions of ``renames`` replaced.

    A sentence without a renamed position is yielded as is (the same list object); one with a renamed
    position is a new list (the input is never modified).

    Parameters
    ----------
    sentences : iterable of list of str
    renames : dict of int to str
        Global token position → new token (:func:`plant_twins`).

    Yields
    ------
    list of str

    Examples
    --------
    >>> list(rename_positions([["a", "b"], ["b", "c"]], {2: "b_twin1"}))
    [['a', 'b'], ['b_twin1', 'c']]
    """
    todo = np.array(sorted(renames), dtype=np.int64)
    j, n = 0, 0
    for s in sentences:
        end = n + len(s)
        if j < len(todo) and todo[j] < end:
            s = list(s)
            while j < len(todo) and todo[j] < end:
                s[int(todo[j]) - n] = renames[int(todo[j])]
                j += 1
        yield s
        n = end


def original_ranks(words: Sequence[str], vectors: np.ndarray, twins: dict[str, str], exclude: Iterable[str] = (),
                   center: bool = False) -> dict[str, int | None]:
    """Rank of each twin's original among the vocabulary, by cosine to the twin's vector (1 = nearest).

    The candidates are ``words`` minus the twins (every key of ``twins``) and ``exclude``: a twin is
    never its own neighbour, nor is another twin of the same word. The rank is ``1 +`` the number of
    candidates strictly more similar to the twin than the original.

    Parameters
    ----------
    words : sequence of str
        Vocabulary, one word per row of ``vectors``.
    vectors : ndarray, shape (len(words), d), float
    twins : dict of str to str
        Twin token → original word.
    exclude : iterable of str
        Further words that are not candidates.
    center : bool
        Subtract the mean of the candidates' vectors from every vector before the cosines (the first
        step of Mu & Viswanath 2018, *All-but-the-Top*, ICLR). SGNS vectors after one pass share a
        large common direction (the mean of the unit vectors can have a norm near 1), which then
        decides the cosines more than meaning does; centring removes it.

    Returns
    -------
    dict of str to int or None
        Rank per twin; None when the twin or its original has no row in ``words``.

    Raises
    ------
    ValueError
        If an original is itself excluded (a twin or in ``exclude``).

    Examples
    --------
    >>> v = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.95, 0.05]], dtype=np.float32)
    >>> original_ranks(["a", "b", "c", "a_twin5"], v, {"a_twin5": "a", "c_twin5": "c"})
    {'a_twin5': 1, 'c_twin5': None}
    """
    index = {w: i for i, w in enumerate(words)}
    skip = set(twins) | set(exclude)
    cand = np.array([i for i, w in enumerate(words) if w not in skip], dtype=np.int64)
    V = np.asarray(vectors, dtype=np.float32)
    if center:
        V = V - V[cand].mean(axis=0, dtype=np.float64).astype(np.float32)
    U = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    C = U[cand]
    out: dict[str, int | None] = {}
    where = {int(i): j for j, i in enumerate(cand)}                    # row of vectors → column of the candidates
    out: dict[str, int | None] = {t: None for t in twins}
    todo = [(t, o) for t, o in twins.items() if t in index and o in index]
    for t, o in todo:
        if index[o] not in where:
            raise ValueError(f"the original {o!r} of {t!r} is excluded from the candidates")
    for b in range(0, len(todo), 256):
        chunk = todo[b:b + 256]
        sims = U[[index[t] for t, _ in chunk]] @ C.T                  # (chunk, candidates)
        for (t, o), row in zip(chunk, sims):
            out[t] = 1 + int(np.count_nonzero(row > row[where[index[o]]]))
    return out
