"""Vector queries of the learner: ``vectors``, ``most_similar``, ``similarity``, ``model[word]``, ``transform_one``.

:class:`VectorQueries` is a mixin of :class:`streamsgns.SGNS`. Every search goes through
:class:`streamsgns.vectors.KeyedVectors`, the one cosine search of the package (shared with
``streamsgns similar`` and :mod:`streamsgns.evaluate`), built once per state of the model.
"""

from __future__ import annotations

import numpy as np

from .tokenize import decode, tokenize
from .vectors import KeyedVectors

__all__ = ["VectorQueries"]


class VectorQueries:
    """Read-outs of the output vectors (``W``, ``C`` or ``W + C``) of :class:`streamsgns.SGNS` (a mixin)."""

    def vectors(self, kind: str | None = None) -> np.ndarray:
        """Output vectors: ``"W"`` (syn0), ``"C"`` (syn1neg) or ``"W+C"``.

        With ``average_eta`` set these are the averaged iterates (:mod:`streamsgns.averaging`;
        a row not yet folded since its word was admitted is its current value); ``W``/``C``
        are always the training parameters themselves.

        Returns
        -------
        ndarray, shape (n_ids, vector_size), float32
            Rows of freed ids are meaningless (see ``index_to_key``).

        Raises
        ------
        ValueError
            On an unknown kind.
        """
        kind = self.output if kind is None else kind
        if kind not in ("W", "C", "W+C"):
            raise ValueError(f"kind must be 'W', 'C' or 'W+C', got {kind!r}")
        avg = getattr(self, "average", None)
        if avg is None:
            W, C = self.W, self.C
            return W if kind == "W" else C if kind == "C" else W + C
        # only what is asked for (reading C starts its average, streamsgns.averaging); rows are copies
        self.flush()
        W = avg.rows(self.params.W, "W", self.n_ids) if kind != "C" else None
        C = avg.rows(self.params.C, "C", self.n_ids) if kind != "W" else None
        if kind == "W+C":
            W += C
            return W
        return W if kind == "W" else C

    def fold_average(self) -> None:
        """Fold the current W and C into the exported averages now (:mod:`streamsgns.averaging`).

        The learner calls it every ``average_every`` tokens, at the end of the first line that
        reaches the fold's token count (with ``workers > 1`` after the threads have trained up to
        that line); a no-op without averaging.
        """
        if self.average is not None:
            self.flush()
            va, n = self.vocab.arrays(), self.n_ids
            self.average.fold(self.params.W, self.params.C, va.hashes, va.counts, n, self.params.counter("words_seen"))
            self._trainer.pause_at = self._next_periodic()
            self._kv = None

    def keyed_vectors(self) -> KeyedVectors:
        """The output vectors as :class:`streamsgns.vectors.KeyedVectors` (cached until the model learns)."""
        if self._kv is None:
            self._kv = KeyedVectors(self.index_to_key, self.vectors(), alive=self.counts > 0,
                                    key_to_index=self.key_to_index)
        return self._kv

    def __getitem__(self, word: str) -> np.ndarray:
        """Vector of ``word`` (a copy), shape (vector_size,), float32.

        Raises
        ------
        KeyError
            If the word is not (or no longer) in the vocabulary.
        """
        i = self.vocab.key_to_index[word]
        self.flush()
        w, c = self.params.W[i], self.params.C[i]
        avg = getattr(self, "average", None)
        if avg is not None:  # the exported (averaged) rows, as in vectors()
            if self.output != "C":
                w = avg.row(i, "W") if avg.row(i, "W") is not None else w
            if self.output != "W":
                avg.start_c()
                c = avg.row(i, "C") if avg.row(i, "C") is not None else c
        return np.array(w) if self.output == "W" else np.array(c) if self.output == "C" else w + c

    def __contains__(self, word) -> bool:
        return word in self.vocab.key_to_index

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors, in [-1, 1].

        Raises
        ------
        KeyError
            If either word is not in the vocabulary.
        """
        return self.keyed_vectors().similarity(w1, w2)

    def most_similar(self, word, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` words of highest cosine similarity to ``word`` (never itself) or to a vector.

        Parameters
        ----------
        word : str or ndarray of shape (vector_size,)
        topn : int

        Returns
        -------
        list of (str, float)

        Raises
        ------
        KeyError
            If ``word`` is a str not in the vocabulary.
        ValueError
            If the vector has the wrong shape, is zero or not finite, or ``topn < 1``.
        """
        return self.keyed_vectors().most_similar(word, topn=topn)

    def transform_one(self, x) -> dict:
        """Mean of the in-vocabulary word vectors of ``x`` as ``{"sgns_i": float}``.

        Parameters
        ----------
        x : str, bytes, list of str or dict (with ``on``)

        Returns
        -------
        dict
            ``vector_size`` entries; all zeros when no word is known.
        """
        x = self._text_of(x)
        if isinstance(x, (bytes, bytearray)):
            x = decode(bytes(x))[0]
        if isinstance(x, str):
            toks = self.tokenizer(x) if self.tokenizer is not None else tokenize(x)
        elif isinstance(x, (list, tuple)):
            toks = x
        else:
            toks = []
        kti = self.vocab.key_to_index
        known = [t for t in toks if isinstance(t, str) and t in kti]
        if known:  # row by row (model[t]: the exported row), not the whole exported matrix
            vec = np.mean([self[t] for t in known], axis=0, dtype=np.float64).astype(np.float32)
        else:
            vec = np.zeros(self.vector_size, dtype=np.float32)
        return {f"sgns_{i}": float(v) for i, v in enumerate(vec)}
