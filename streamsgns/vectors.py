"""Nearest-neighbour queries on word vectors: the one cosine search of streamsgns.

:class:`KeyedVectors` (named after gensim's class, with a much smaller scope) holds a vocabulary
(``index_to_key``), its vectors and which rows are alive, normalises the rows once, and answers
:meth:`~KeyedVectors.most_similar` and :meth:`~KeyedVectors.similarity`. ``streamsgns similar``,
:mod:`streamsgns.evaluate` and ``SGNS.most_similar`` all go through it, so they agree on ties,
dead rows and errors.

Cosine similarity: ``cos(u, v) = u·v / (‖u‖·‖v‖)``; a row of norm 0 has cosine 0 with every
vector (gensim's ``unit_normalize_all`` leaves it at 0 as well).
"""

from __future__ import annotations

import numbers
from typing import Iterable, Sequence

import numpy as np

__all__ = ["KeyedVectors", "unit_rows"]


def unit_rows(vectors) -> np.ndarray:
    """Rows of ``vectors`` scaled to unit Euclidean norm (rows of norm 0 stay 0).

    Parameters
    ----------
    vectors : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n, d), float32
        A new array.

    Raises
    ------
    ValueError
        If ``vectors`` is not 2-D.

    Examples
    --------
    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]])
    array([[0.6, 0.8],
           [0. , 0. ]], dtype=float32)
    """
    V = np.array(vectors, dtype=np.float32, copy=True)
    if V.ndim != 2:
        raise ValueError(f"vectors must be 2-D (n, d), got shape {V.shape}")
    n = np.linalg.norm(V, axis=1, keepdims=True)
    n[n == 0] = 1.0
    V /= n
    return V


def _check_topn(topn) -> int:
    if isinstance(topn, bool) or not isinstance(topn, numbers.Integral) or topn < 1:
        raise ValueError(f"topn must be an integer >= 1, got {topn!r}")
    return int(topn)


class KeyedVectors:
    """Words, their vectors and cosine queries over the alive rows.

    Parameters
    ----------
    index_to_key : sequence of (str or None), length n
        Word of each row; ``None`` marks a free row (an id freed by eviction).
    vectors : array_like, shape (n, d), float
        Row ``i`` is the vector of ``index_to_key[i]``. Kept as given (no copy when it is a
        float32 array); the unit rows are computed once, on the first query.
    alive : array_like of bool, shape (n,), optional
        Rows that may be queried and listed (default, and in any case: only rows whose key is
        not None), e.g.
        ``model.counts > 0`` for a learner whose freed rows keep stale vectors.
    key_to_index : dict[str, int], optional
        Word → row, if the caller already keeps one (the learner does); default: built from
        ``index_to_key`` (the first row of a repeated word wins).

    Raises
    ------
    ValueError
        If the shapes disagree, or an alive row holds NaN or inf (cosines would be
        meaningless; the caller is told instead of getting arbitrary neighbours).

    Examples
    --------
    >>> kv = KeyedVectors(["king", "queen", "apple", None],
    ...                   [[1.0, 0.1], [0.9, 0.2], [0.0, 1.0], [5.0, 5.0]])
    >>> [w for w, _ in kv.most_similar("king", topn=5)]   # never itself, never the free row
    ['queen', 'apple']
    >>> round(kv.similarity("king", "queen"), 4)
    0.9929
    >>> kv.most_similar([0.0, 2.0], topn=1)
    [('apple', 1.0)]
    """

    def __init__(self, index_to_key: Sequence, vectors, alive=None, key_to_index: dict | None = None):
        V = np.asarray(vectors)
        if V.ndim != 2:
            raise ValueError(f"vectors must be 2-D (n, d), got shape {V.shape}")
        if V.dtype != np.float32:
            V = V.astype(np.float32)
        if len(index_to_key) != V.shape[0]:
            raise ValueError(f"{len(index_to_key)} keys for vectors of shape {V.shape}")
        keyed = np.fromiter((k is not None for k in index_to_key), dtype=bool, count=len(index_to_key))
        if alive is None:
            alive = keyed
        else:
            alive = np.asarray(alive, dtype=bool)
            if alive.shape != (V.shape[0],):
                raise ValueError(f"alive must have shape ({V.shape[0]},), got {alive.shape}")
            alive = alive & keyed  # a row without a word is never alive
        if not np.isfinite(V[alive]).all():
            raise ValueError("vectors hold NaN or inf: cosine similarities are undefined")
        if key_to_index is None:
            key_to_index = {}
            for i, k in enumerate(index_to_key):
                if k is not None and alive[i]:
                    key_to_index.setdefault(k, i)
        self.index_to_key = index_to_key
        self.key_to_index = key_to_index
        self.vectors = V
        self.alive = alive
        self._unit = None

    # ------------------------------------------------------------------ basics
    @property
    def vector_size(self) -> int:
        """Dimension ``d`` of the vectors."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        """Number of alive words."""
        return int(np.count_nonzero(self.alive))

    def __contains__(self, word) -> bool:
        i = self.key_to_index.get(word)
        return i is not None and bool(self.alive[i])

    def get_index(self, word: str) -> int:
        """Row of ``word``.

        Raises
        ------
        KeyError
            If ``word`` is not an alive word of the vocabulary.
        """
        i = self.key_to_index.get(word)
        if i is None or not self.alive[i]:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self)} words)")
        return int(i)

    def __getitem__(self, word: str) -> np.ndarray:
        """Vector of ``word`` (a copy), shape (d,), float32; ``KeyError`` if unknown."""
        return np.array(self.vectors[self.get_index(word)])

    @property
    def unit(self) -> np.ndarray:
        """Unit-normalised rows, shape (n, d), float32 (computed once; rows of norm 0 stay 0)."""
        if self._unit is None:
            self._unit = unit_rows(self.vectors)
        return self._unit

    # ------------------------------------------------------------------ queries
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors, in [-1, 1] (0 if either vector is 0).

        Raises
        ------
        KeyError
            If either word is not in the vocabulary.
        """
        U = self.unit
        return float(U[self.get_index(w1)] @ U[self.get_index(w2)])

    def _query_vector(self, q) -> np.ndarray:
        v = np.asarray(q)
        if v.dtype.kind not in "biuf":
            raise ValueError(f"the query vector must be numeric, got dtype {v.dtype}")
        if v.shape != (self.vector_size,):
            raise ValueError(f"the query vector has shape {v.shape}, expected ({self.vector_size},) "
                             f"for vectors of shape {self.vectors.shape}")
        v = v.astype(np.float64)
        if not np.isfinite(v).all():
            raise ValueError("the query vector holds NaN or inf")
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            raise ValueError("the query vector is zero: its cosine similarity is undefined")
        return (v / norm).astype(np.float32)

    def most_similar(self, query, topn: int = 10, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The ``topn`` alive words of highest cosine similarity to a word or a vector.

        Parameters
        ----------
        query : str or array_like of shape (d,)
            A word (then itself is never listed) or a query vector (not normalised).
        topn : int
            Number of neighbours, >= 1; fewer are returned when fewer candidates exist.
        exclude : iterable of str
            Words never listed (words not in the vocabulary are ignored).

        Returns
        -------
        list of (str, float)
            By decreasing cosine; ties by row (the more frequent word first for rows sorted by
            count). Free/dead rows are never listed.

        Raises
        ------
        KeyError
            If ``query`` is a word that is not in the vocabulary.
        ValueError
            If ``topn < 1``, or the query vector has the wrong shape, is zero, or holds NaN/inf.
        """
        topn = _check_topn(topn)
        U = self.unit
        skip = [self.key_to_index[w] for w in exclude if w in self]
        if isinstance(query, str):
            i = self.get_index(query)
            q = U[i]
            skip.append(i)
        else:
            q = self._query_vector(query)
        sims = U @ q
        ok = self.alive.copy()
        if skip:
            ok[np.asarray(skip, dtype=np.int64)] = False
        cand = np.flatnonzero(ok)
        if cand.shape[0] == 0:
            return []
        s = sims[cand]
        k = min(topn, cand.shape[0])
        if k < cand.shape[0]:
            part = np.argpartition(-s, k - 1)[:k]
            # all candidates tied with the k-th value, so that ties are broken by row (stable)
            kth = s[part].min()
            part = np.flatnonzero(s >= kth)
        else:
            part = np.arange(cand.shape[0])
        order = part[np.lexsort((cand[part], -s[part]))][:k]
        itk = self.index_to_key
        return [(itk[cand[j]], float(s[j])) for j in order]
