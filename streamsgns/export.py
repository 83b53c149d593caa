"""The exported vectors of a learner: what ``vectors``, ``most_similar``, ``model[word]`` and snapshots read.

Why an export apart from W and C? The training parameters move with every sentence; what a reader
wants is a stable estimate of them. With ``average_eta`` set the exported rows are the averaged
iterates of :mod:`streamsgns.averaging` (a row not folded yet since its word was admitted is its
current value), otherwise ``W``, ``C`` or ``W + C`` themselves. :class:`VectorExport` is the one
place that makes that choice, and the one holder of the :class:`~streamsgns.vectors.KeyedVectors`
built from it (the normalised copy every cosine query searches).

When to use it: through :class:`streamsgns.SGNS`, which holds one and whose ``vectors``,
``keyed_vectors``, ``most_similar``, ``similarity``, ``model[word]`` and ``transform_one`` call
it. Code that changes W, C or the averages outside learning (a restart of rows, a fold) calls
:meth:`VectorExport.invalidate`, so that the next query builds its search again.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

from .averaging import IterateAverage, export_cosines, exported_rows
from .parameters import SGNSParameters
from .vectors import KeyedVectors
from .vocab import Vocabulary, select_by_count

__all__ = ["VectorExport", "OUTPUT_KINDS", "NEIGHBOUR_POOL", "top_by_similarity"]

#: The exported kinds: syn0, syn1neg, or their sum (Levy, Goldberg & Dagan 2015, sec. 3.3).
OUTPUT_KINDS = ("W", "C", "W+C")

#: Candidates of :meth:`VectorExport.neighbours` (the neighbours written in change records): the
#: most frequent alive words.
NEIGHBOUR_POOL = 30_000


@njit(cache=True, nogil=True)
def top_by_similarity(S, cand, qids, topn, out):
    """The ``topn`` candidates most similar to each query: by decreasing similarity, ties by lower id.

    Parameters
    ----------
    S : ndarray, shape (m, k), float64
        ``S[i, j]``: similarity of candidate ``i`` to query ``j``; ``-inf`` (a zero row) is never chosen.
    cand : ndarray, shape (m,), int64
        The candidates' ids.
    qids : ndarray, shape (k,), int64
        The queries' ids: a query's own row is never its neighbour.
    topn : int
        Neighbours per query (0 or less: nothing is written).
    out : ndarray, shape (k, topn), int64
        Out: positions in ``cand``, best first; ``-1`` after the last one (fewer than ``topn`` eligible).

    One pass over ``S`` with a sorted list of ``topn`` per query: O(m·k·topn) at worst, about
    O(m·k) in practice; it replaced an ``argpartition`` and a ``lexsort`` per query (about 0.1 ms a
    query at m = 10,000). The order is a total one, so the result does not depend on the order of
    the candidates.
    """
    m, k = S.shape
    if topn <= 0:
        return
    best = np.empty(topn, np.float64)
    for j in range(k):
        n = 0
        q = qids[j]
        for i in range(m):
            s = S[i, j]
            c = cand[i]
            if c == q or s == -np.inf or s != s:
                continue
            if n == topn and (s < best[n - 1] or (s == best[n - 1] and c > cand[out[j, n - 1]])):
                continue
            p = n if n < topn else topn - 1  # insertion: shift the worse ones down
            while p > 0 and (best[p - 1] < s or (best[p - 1] == s and cand[out[j, p - 1]] > c)):
                best[p] = best[p - 1]
                out[j, p] = out[j, p - 1]
                p -= 1
            best[p] = s
            out[j, p] = i
            if n < topn:
                n += 1
        for p in range(n, topn):
            out[j, p] = -1


class VectorExport:
    """The exported vectors of one model's W and C, and the cosine search built on them.

    Parameters
    ----------
    params : streamsgns.parameters.SGNSParameters
        W and C, read at each call (they may be reallocated as the vocabulary grows).
    vocab : streamsgns.vocab.Vocabulary
        Words, ids and counts (a row is alive while its count is > 0).
    average : streamsgns.averaging.IterateAverage or None
        The averaged iterates; None exports W and C themselves.
    flush : callable
        ``() -> None``: waits for the training threads, called before any read of W or C.

    Notes
    -----
    The kind (``"W"``, ``"C"`` or ``"W+C"``) is an argument of every read rather than a setting
    of the object: it is the model's ``output`` parameter, which river's ``mutate`` may change.
    The search of :meth:`keyed_vectors` is kept for one kind until :meth:`invalidate`.

    Examples
    --------
    The export a model holds reads what the model learnt; its search is rebuilt after learning:

    >>> from streamsgns import SGNS
    >>> m = SGNS(vector_size=8, min_count=1, sample=0, seed=3, average_eta=None)
    >>> m.learn_many(["the cat sat on the mat", "the dog sat on the log"] * 20)
    >>> export = VectorExport(m.params, m.vocab, m.average, m.flush)
    >>> bool((export.vectors("W") == m.W).all())
    True
    >>> kv = export.keyed_vectors("W")
    >>> export.keyed_vectors("W") is kv
    True
    >>> export.invalidate()
    >>> export.keyed_vectors("W") is kv
    False
    """

    def __init__(self, params: SGNSParameters, vocab: Vocabulary, average: IterateAverage | None,
                 flush: Callable[[], None]):
        self.params = params
        self.vocab = vocab
        self.average = average
        self.flush = flush
        self._kv: KeyedVectors | None = None
        self._kv_kind: str | None = None

    def invalidate(self) -> None:
        """Drop the cached search: W, C or the averages changed (learning, a fold, a restart)."""
        self._kv = None
        self._kv_kind = None

    @property
    def n_ids(self) -> int:
        """Rows in use (ids), freed ones included: the rows :meth:`vectors` returns."""
        return self.vocab.n_ids

    def vectors(self, kind: str) -> np.ndarray:
        """The exported rows of ``kind``: ``"W"`` (syn0), ``"C"`` (syn1neg) or ``"W+C"``.

        Returns
        -------
        ndarray, shape (n_ids, vector_size), float32
            Views of W or C without averaging (a sum is a new array); copies with averaging.
            Rows of freed ids are meaningless (see ``vocab.index_to_key``).

        Raises
        ------
        ValueError
            On an unknown kind.
        """
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"kind must be 'W', 'C' or 'W+C', got {kind!r}")
        self.flush()
        n = self.n_ids
        avg = self.average
        if avg is None:
            W, C = self.params.W[:n], self.params.C[:n]
            return W if kind == "W" else C if kind == "C" else W + C
        # only what is asked for (reading C starts its average, streamsgns.averaging); rows are copies
        W = avg.rows(self.params.W, "W", n) if kind != "C" else None
        C = avg.rows(self.params.C, "C", n) if kind != "W" else None
        if kind == "W+C":
            W += C
            return W
        return W if kind == "W" else C

    def rows(self, idx, kind: str) -> np.ndarray:
        """The exported rows ``idx`` ((k,) int ids) of ``kind``, (k, vector_size) float32 (new arrays),
        the same values as ``vectors(kind)[idx]``, without waiting for the training threads (the
        caller does, or reads rows being trained, as the change checks of ``workers > 1`` do)."""
        idx = np.asarray(idx, dtype=np.int64)
        p, avg = self.params, self.average
        if avg is None:
            W, C = p.W[idx], p.C[idx]
        else:
            W = avg.rows_at(p.W, "W", idx) if kind != "C" else None
            C = avg.rows_at(p.C, "C", idx) if kind != "W" else None
        return W if kind == "W" else C if kind == "C" else W + C

    def row(self, i: int, kind: str) -> np.ndarray:
        """The exported row ``i`` of ``kind`` (a new array), shape (vector_size,), float32.

        Reads one row, not the whole matrix (:meth:`vectors`); the same values as ``vectors(kind)[i]``.
        """
        self.flush()
        return self.rows([i], kind)[0]

    def neighbours(self, words, kind: str, topn: int = 10, pool: int = NEIGHBOUR_POOL) -> dict:
        """``{word: its topn nearest words by cosine of the exported vectors of kind}`` for ``words``
        (those in the vocabulary), among the ``pool`` most frequent alive words (gensim's
        ``most_similar(restrict_vocab=...)``), without waiting for the training threads.

        The pool's rows are read once for all the words and not copied when the export is an
        average of W or C (:func:`~streamsgns.averaging.export_cosines`); W+C, or an export without
        averages, is read as a copy of the pool's rows (:meth:`rows`). Ties in cosine are broken by
        id. The same as ``neighbours_search(words, kind, topn, pool)()``.
        """
        return self.neighbours_search(words, kind, topn, pool)()

    def neighbours_search(self, words, kind: str, topn: int = 10, pool: int = NEIGHBOUR_POOL) -> Callable[[], dict]:
        """:meth:`neighbours` in two steps: the query is read now, the search runs when the returned
        function is called — now, or on another thread while this one goes on learning.

        Read now: the query words' exported rows (so a row restarted after this call is searched
        for as it was) and the arrays the search reads with their extent (the vocabulary's counts
        and ids in use, W or C and its averages). The vocabulary may grow meanwhile (its arrays are
        then new ones; the search reads the ones it was given, each at least as large as the ids
        it was given), and the training threads may move the pool's rows (as they do during
        :meth:`neighbours` with ``workers > 1``).

        Returns
        -------
        callable
            ``() -> dict``: ``{word: [topn words]}`` as :meth:`neighbours`; it holds no lock and
            releases the GIL in its numba parts.
        """
        vocab = self.vocab
        k2i, itk = vocab.key_to_index, vocab.index_to_key
        ids = np.array(sorted({k2i[w] for w in words if w in k2i}), dtype=np.int64)
        if not len(ids):
            return lambda: {}
        counts, n = vocab.counts, vocab.n_ids
        Q = self.rows(ids, kind).astype(np.float64)
        Q /= np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-30)
        # (matrix, its averages, their fold counts) per part of the export, taken here: reading the
        # averages may grow them or start C's, which must not happen on the search's thread
        sources = []
        for part in ("W", "C") if kind == "W+C" else (kind,):
            M = self.params.W if part == "W" else self.params.C
            sources.append((M, *(self.average.averages(M, part) if self.average is not None else (None, None))))
        names = [itk[int(r)] for r in ids]

        def search() -> dict:
            # the most frequent (ties at the pool's edge: lower ids), selected on a copy of the counts: the
            # selection reads them twice, and learning may change them meanwhile
            cand = select_by_count(counts[:n].copy(), n, pool, -1)
            S = np.empty((len(cand), len(ids)), np.float64)
            if len(sources) == 1 and sources[0][1] is not None:
                export_cosines(*sources[0], cand, Q.astype(np.float32), S)
            else:
                E = exported_rows(*sources[0], cand)
                if len(sources) == 2:
                    E += exported_rows(*sources[1], cand)
                en = np.sqrt(np.einsum("ij,ij->i", E, E, dtype=np.float64))
                S[:] = (E @ Q.T) / np.maximum(en[:, None], 1e-30)
                S[en == 0] = -np.inf
            top = np.empty((len(ids), topn), np.int64)
            top_by_similarity(S, cand, ids, topn, top)  # by decreasing cosine, ties by id
            # (a word evicted since the query was read has no name: left out)
            return {names[j]: [w for w in (itk[int(cand[t])] for t in top[j] if t >= 0) if w is not None]
                    for j in range(len(ids))}

        return search

    def keyed_vectors(self, kind: str) -> KeyedVectors:
        """The exported vectors of ``kind`` as :class:`~streamsgns.vectors.KeyedVectors` (alive rows only).

        Built once, then returned again until :meth:`invalidate` (or a read of another kind).

        Raises
        ------
        ValueError
            On an unknown kind.
        """
        if self._kv is None or self._kv_kind != kind:
            vocab = self.vocab
            self._kv = KeyedVectors(vocab.index_to_key, self.vectors(kind), alive=vocab.counts[: self.n_ids] > 0,
                                    key_to_index=vocab.key_to_index)
            self._kv_kind = kind
        return self._kv

    def mean(self, tokens, kind: str) -> np.ndarray:
        """Mean of the exported rows of the tokens in the vocabulary (others are skipped).

        Parameters
        ----------
        tokens : iterable of str
            Anything not a str in the vocabulary is skipped.
        kind : str

        Returns
        -------
        ndarray, shape (vector_size,), float32
            Averaged in float64; all zeros when no token is known.
        """
        kti = self.vocab.key_to_index
        known = [kti[t] for t in tokens if isinstance(t, str) and t in kti]
        if known:  # row by row (the exported row), not the whole exported matrix
            return np.mean([self.row(i, kind) for i in known], axis=0, dtype=np.float64).astype(np.float32)
        return np.zeros(self.params.W.shape[1], dtype=np.float32)
