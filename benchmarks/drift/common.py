"""Helpers of the drift experiments only (``new_words.py``, ``sotu.py``, ``planted.py``).

Not part of the library: building learners with or without forgetting, neighbour sets over a
model's most frequent words, blocks of a token stream, and where the figures of ``docs/drift.md``
go (``docs/drift/``). Helpers every folder uses (corpus lookup, ``parse_tokens``, ``environment``,
atomic ``write_json``, ``RESULTS``) are in ``benchmarks/common.py``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import ROOT
from streamsgns import SGNS
from streamsgns.vectors import KeyedVectors

FIGURES = ROOT / "docs" / "drift"


def make_sgns(half_life=None, **kw) -> SGNS:
    """``SGNS(**kw)``, with ``half_life`` passed only when set (older builds have no such parameter)."""
    if half_life is not None:
        try:
            return SGNS(half_life=half_life, **kw)
        except TypeError as e:
            raise SystemExit(f"this streamsgns has no half_life: {e}")
    return SGNS(**kw)


def frequent_kv(model, n: int | None = None, words=None) -> KeyedVectors:
    """The ``n`` most frequent alive words of a learner (all when None) plus ``words``, as KeyedVectors.

    Returns
    -------
    KeyedVectors
        Rows by decreasing count; vectors are the learner's output vectors (``W`` by default).
    """
    counts = np.asarray(model.counts)
    alive = np.flatnonzero(counts > 0)
    order = alive[np.argsort(-counts[alive], kind="stable")]
    keep = order if n is None else order[:n]
    if words:
        k2i = model.key_to_index
        extra = [k2i[w] for w in words if w in k2i and counts[k2i[w]] > 0]
        keep = np.concatenate([keep, np.setdiff1d(np.asarray(extra, dtype=np.int64), keep)])
    V = model.vectors()
    itk = model.index_to_key
    return KeyedVectors([itk[i] for i in keep], np.asarray(V[keep], dtype=np.float32))


def gensim_kv(model, n: int | None = None, words=None) -> KeyedVectors:
    """Same as :func:`frequent_kv` for a gensim Word2Vec (its index is by decreasing count after build_vocab)."""
    wv = model.wv
    counts = np.array([wv.get_vecattr(w, "count") for w in wv.index_to_key], dtype=np.int64)
    order = np.argsort(-counts, kind="stable")
    keep = order if n is None else order[:n]
    if words:
        extra = [wv.key_to_index[w] for w in words if w in wv.key_to_index]
        keep = np.concatenate([keep, np.setdiff1d(np.asarray(extra, dtype=np.int64), keep)])
    return KeyedVectors([wv.index_to_key[i] for i in keep], np.asarray(wv.vectors[keep], dtype=np.float32))


def neighbours(kv: KeyedVectors, word: str, k: int = 10, allowed=None) -> list[str]:
    """Top-``k`` neighbours of ``word`` in ``kv`` (among ``allowed`` words only, if given); [] if absent."""
    if word not in kv:
        return []
    if allowed is None:
        return [w for w, _ in kv.most_similar(word, topn=k)]
    out = []
    for w, _ in kv.most_similar(word, topn=k + 4 * k):
        if w in allowed:
            out.append(w)
            if len(out) == k:
                break
    return out


def overlap(a, b, k: int = 10) -> float:
    """``|a ∩ b| / k`` (the share of the top-``k`` neighbours in common)."""
    return len(set(a[:k]) & set(b[:k])) / k


def blocks_by_tokens(token_lists, every: int):
    """Split a list of token lists into consecutive blocks of about ``every`` tokens.

    Yields
    ------
    (list of token lists, int)
        The block and the tokens seen up to its end.
    """
    block, n, total = [], 0, 0
    for t in token_lists:
        block.append(t)
        n += len(t)
        if n >= every:
            total += n
            yield block, total
            block, n = [], 0
    if block:
        yield block, total + n


__all__ = ["make_sgns", "frequent_kv", "gensim_kv", "neighbours", "overlap", "blocks_by_tokens", "FIGURES"]
