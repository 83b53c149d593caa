"""``SGNS``: online skip-gram with negative sampling, as a river transformer.

The driver around the numba kernels of :mod:`streamsgns.kernels`. Text comes
in (``learn_one``, ``learn_many`` or the raw-block fast path ``learn_text``),
is normalised to bytes (:mod:`streamsgns.tokenize`), and one kernel call scans,
counts, admits and trains it. Nothing here loops over tokens in Python.

With ``workers=1`` every line is trained as soon as it is encoded, so the
result does not depend on how the stream is cut into calls: a loop of
``learn_one`` and one ``learn_many`` over the same sentences give bit-identical
``W`` and ``C``, and so does a run resumed from a checkpoint. With
``workers > 1`` the calling thread encodes blocks while ``workers`` threads
train the previous ones without locks (Hogwild), as gensim does; that is
faster but not bit-reproducible.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import math
from typing import Iterable

import numpy as np
from river import base

from . import kernels as K
from .cooc import CooccurrenceStats, cooc_batch_args, cooc_kernel_args
from .hashing import seed_states
from .noise import NoiseDistribution
from .sketch import CountMinSketch
from .tokenize import apply_tokenizer, decode, join_token_lists, normalize_text, tokenize
from .vocab import Vocabulary

__all__ = ["SGNS"]

_EMPTY_I32 = np.zeros(0, dtype=np.int32)
_EMPTY_I64 = np.zeros(1, dtype=np.int64)


class SGNS(base.Transformer):
    """Word vectors learnt online by skip-gram with negative sampling (word2vec).

    Every sentence updates the model at once: no vocabulary pass, no epochs.
    Parameter names and defaults are gensim's ``Word2Vec(sg=1, hs=0)`` ones.

    Parameters
    ----------
    vector_size : int
        Dimension ``d`` of the vectors.
    window : int
        Largest distance between a word and a context; each centre word draws
        its window uniformly in ``1..window`` (word2vec's dynamic window).
    negative : int
        Noise words per positive pair, ``k`` (>= 0).
    ns_exponent : float
        Exponent of the noise distribution, count ** ns_exponent (0.75).
    sample : float
        Subsampling threshold of frequent words (word2vec's ``sample``; 0 = off).
    min_count : int
        Occurrences before a word is admitted and trained.
    alpha, min_alpha : float
        Initial and smallest learning rate.
    max_vocab : int
        Most words held at once; the rarest are evicted beyond (rows reused).
    seed : int
        Seeds every random draw (initialisation, windows, subsampling, negatives).
    workers : int
        Training threads. 1 gives bit-reproducible results.
    on : str, optional
        Field of a ``dict`` input holding the text (river's convention).
    decay_tokens : float
        ``alpha_t = max(min_alpha, alpha / (1 + t / decay_tokens))`` with ``t``
        tokens seen (see :mod:`streamsgns.kernels`).
    tokenizer : callable, optional
        ``str -> list[str]``; default: lowercase + river's BagOfWords pattern.
    max_sentence_length : int
        Longer lines are split into sentences of this many tokens (word2vec
        and gensim do the same).
    output : {"W", "C", "W+C"}
        Vectors used by ``transform_one``, similarity queries and exports.
    tied : bool
        Use one matrix for words and contexts (W = C), for comparison only:
        it works poorly (Goldberg & Levy 2014; seed note 002).
    track_cooc : bool
        Keep running #(w,c) statistics of the trained pairs (:mod:`streamsgns.cooc`).
    cooc_top_n : int
        Words whose pair counts are kept exactly.
    sketch_width, sketch_depth : int
        Count-min sketch of not-yet-admitted words (``4·width·depth`` bytes).
    batch_bytes : int
        ``learn_many`` groups sentences into blocks of about this many bytes.

    Attributes
    ----------
    W, C : ndarray, shape (n_ids, vector_size), float32
        syn0 and syn1neg; row ``i`` belongs to ``index_to_key[i]``.
    index_to_key : list of (str or None)
        ``None`` marks an id freed by eviction and not reused yet.
    key_to_index : dict[str, int]
    words_seen : int
        Tokens consumed (admitted or not).
    vocab_size : int
        Words currently admitted.

    Raises
    ------
    ValueError
        On invalid parameters (checked at construction).

    Examples
    --------
    >>> from streamsgns import SGNS
    >>> m = SGNS(vector_size=16, min_count=1, sample=0, seed=1)
    >>> for _ in range(50):
    ...     m.learn_one("the cat sat on the mat")
    ...     m.learn_one("the dog sat on the log")
    >>> m.vocab_size, m.words_seen
    (7, 600)
    >>> m["cat"].shape
    (16,)
    >>> sorted(m.transform_one("the cat"))[:2]
    ['sgns_0', 'sgns_1']
    """

    def __init__(
        self,
        vector_size: int = 100,
        window: int = 5,
        negative: int = 5,
        ns_exponent: float = 0.75,
        sample: float = 1e-3,
        min_count: int = 5,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        max_vocab: int = 1_000_000,
        seed: int = 0,
        workers: int = 1,
        on: str | None = None,
        decay_tokens: float = 20_000_000.0,
        tokenizer=None,
        max_sentence_length: int = 10_000,
        output: str = "W",
        tied: bool = False,
        track_cooc: bool = True,
        cooc_top_n: int = 1000,
        sketch_width: int = 1 << 20,
        sketch_depth: int = 4,
        batch_bytes: int = 1 << 20,
    ):
        self.vector_size = vector_size
        self.window = window
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.min_count = min_count
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.max_vocab = max_vocab
        self.seed = seed
        self.workers = workers
        self.on = on
        self.decay_tokens = decay_tokens
        self.tokenizer = tokenizer
        self.max_sentence_length = max_sentence_length
        self.output = output
        self.tied = tied
        self.track_cooc = track_cooc
        self.cooc_top_n = cooc_top_n
        self.sketch_width = sketch_width
        self.sketch_depth = sketch_depth
        self.batch_bytes = batch_bytes
        self._validate()
        self._init_state()

    # ------------------------------------------------------------------ set-up
    def _validate(self):
        def pos_int(name, lo=1):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")

        for name in ("vector_size", "window", "min_count", "max_vocab", "workers", "max_sentence_length",
                     "sketch_width", "batch_bytes"):
            pos_int(name)
        pos_int("negative", 0)
        pos_int("cooc_top_n", 0)
        pos_int("sketch_depth", 1)
        pos_int("seed", 0)
        for name in ("alpha", "min_alpha", "decay_tokens"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if self.alpha > 0.5:
            # measured: alpha = 1 drives W and C to inf on a small repetitive stream; 0.5 stays finite
            raise ValueError(f"alpha must be <= 0.5 (SGD can diverge beyond), got {self.alpha!r}")
        if self.min_alpha > self.alpha:
            raise ValueError("min_alpha must be <= alpha")
        if not (isinstance(self.sample, (int, float)) and math.isfinite(self.sample) and self.sample >= 0):
            raise ValueError(f"sample must be a finite number >= 0, got {self.sample!r}")
        if not (isinstance(self.ns_exponent, (int, float)) and math.isfinite(self.ns_exponent)):
            raise ValueError(f"ns_exponent must be finite, got {self.ns_exponent!r}")
        if self.output not in ("W", "C", "W+C"):
            raise ValueError(f"output must be 'W', 'C' or 'W+C', got {self.output!r}")
        if self.tokenizer is not None and not callable(self.tokenizer):
            raise ValueError("tokenizer must be callable")

    def _init_state(self):
        cap = min(self.max_vocab, max(1024, 2 * self.max_sentence_length))
        sketch = CountMinSketch(self.sketch_width, self.sketch_depth, seed=self.seed)
        self.vocab = Vocabulary(self.min_count, self.max_vocab, sketch=sketch, capacity=cap, seed=self.seed)
        cap = self.vocab.capacity
        self._W = np.zeros((cap, self.vector_size), dtype=np.float32)
        self._C = self._W if self.tied else np.zeros((cap, self.vector_size), dtype=np.float32)
        self.noise = NoiseDistribution(self.ns_exponent, capacity=cap)
        if self.track_cooc:
            self.cooc = CooccurrenceStats(self.cooc_top_n, capacity=cap, seed=self.seed)
        else:
            self.cooc = None
        self._ip = np.zeros(K.N_IP, dtype=np.int64)
        self._ip[K.P_WINDOW] = self.window
        self._ip[K.P_NEGATIVE] = self.negative
        self._ip[K.P_MIN_COUNT] = self.min_count
        self._ip[K.P_MAX_VOCAB] = self.max_vocab
        self._ip[K.P_MAXLEN] = self.max_sentence_length
        self._ip[K.P_MIN_REFRESH] = self.noise.min_refresh_tokens
        self._ip[K.P_TRACK] = 1 if self.track_cooc else 0
        self._ip[K.P_PRUNE_N] = max(1, int(self.max_vocab * self.vocab.prune_fraction))
        self._ip[K.P_NO_REFRESH] = 1 if self.workers > 1 else 0
        self._fp = np.array([self.alpha, self.min_alpha, self.decay_tokens, self.sample, self.ns_exponent],
                            dtype=np.float64)
        self._st = np.zeros(K.N_ST, dtype=np.int64)
        self._st[K.S_CSLOT_FREE] = self.cooc.cslot_free.shape[0] if self.cooc is not None else 0
        self._fst = np.zeros(K.N_FST, dtype=np.float64)
        self._rng = seed_states(self.seed, 1 + self.workers)
        self._events = np.zeros((4 * self.max_sentence_length, 3), dtype=np.int64)
        self.stats = {"invalid_utf8": 0, "bad_inputs": 0}
        self.source_position = None
        self._pool = None
        self._inflight = collections.deque()
        self._norm_cache = None

    @classmethod
    def _unit_test_params(cls):
        yield {"vector_size": 8, "min_count": 1, "sketch_width": 1 << 10, "cooc_top_n": 16}
        yield {"vector_size": 4, "window": 2, "negative": 2, "sample": 0.0, "min_count": 2,
               "sketch_width": 1 << 10, "track_cooc": False}

    def _more_tags(self):
        return {base.tags.TEXT_INPUT}

    @property
    def _is_stochastic(self):
        return False

    def __getstate__(self):
        self.flush()
        state = self.__dict__.copy()
        state["_pool"] = None
        state["_inflight"] = collections.deque()
        state["_norm_cache"] = None
        return state

    # ------------------------------------------------------------------ public read-outs
    @property
    def words_seen(self) -> int:
        """Tokens consumed so far (admitted or not)."""
        return int(self._st[K.S_WORDS_SEEN])

    @property
    def vocab_size(self) -> int:
        """Words currently admitted (each has a row of W and C)."""
        return int(self._st[K.S_NEXT_ID] - self._st[K.S_N_FREE])

    @property
    def n_ids(self) -> int:
        """Rows in use, free rows included: ``len(index_to_key)``."""
        return int(self._st[K.S_NEXT_ID])

    @property
    def W(self) -> np.ndarray:
        """syn0, (n_ids, vector_size) float32 view (read it after :meth:`flush` with workers > 1)."""
        return self._W[: self.n_ids]

    @property
    def C(self) -> np.ndarray:
        """syn1neg, (n_ids, vector_size) float32 view."""
        return self._C[: self.n_ids]

    @property
    def key_to_index(self) -> dict:
        """gensim's name: word → row of W and C."""
        return self.vocab.key_to_index

    @property
    def index_to_key(self) -> list:
        """gensim's name: row → word (None for a freed row)."""
        return self.vocab.index_to_key

    @property
    def counts(self) -> np.ndarray:
        """Exact counts of the admitted words, (n_ids,) int64 (0 for freed rows)."""
        return self.vocab.counts[: self.n_ids]

    @property
    def current_alpha(self) -> float:
        """Learning rate for the next token."""
        return float(K.current_alpha(self._fp, self.words_seen))

    def progress(self) -> dict:
        """Counters for progress lines and tests (all ints, loss in nats per pair)."""
        st = self._st
        out = {
            "words_seen": self.words_seen,
            "vocab_size": self.vocab_size,
            "alpha": self.current_alpha,
            "pairs": int(st[K.S_PAIRS]),
            "kept_tokens": int(st[K.S_KEPT]),
            "lines": int(st[K.S_LINES]),
            "empty_lines": int(st[K.S_EMPTY]),
            "control_bytes": int(st[K.S_CTRL]),
            "split_lines": int(st[K.S_SPLIT]),
            "evicted": int(st[K.S_N_EVICTED]),
            "noise_refreshes": int(st[K.S_N_REFRESH]),
        }
        out.update(self.stats)
        return out

    def take_loss(self) -> float:
        """Mean SGNS loss per trained pair since the last call (nats), then reset."""
        self.flush()
        n = self._fst[K.FS_LOSS_N]
        loss = self._fst[K.FS_LOSS] / n if n > 0 else float("nan")
        self._fst[:] = 0.0
        return float(loss)

    # ------------------------------------------------------------------ learning
    def _text_of(self, x):
        if isinstance(x, dict):
            if self.on is None:
                raise ValueError("got a dict: set `on` to the field that holds the text")
            x = x.get(self.on)
        return x

    def learn_one(self, x) -> None:
        """Learn from one sentence: ``str``, a list of tokens, or a ``dict`` (with ``on``).

        A ``str`` is lowercased and tokenised (or passed to ``tokenizer``); a
        newline inside it separates sentences. A list is taken as tokens as
        they are. ``None`` or an unsupported type is counted in
        ``stats["bad_inputs"]`` and skipped.

        Raises
        ------
        ValueError
            If ``x`` is a dict and ``on`` is not set.
        """
        x = self._text_of(x)
        if isinstance(x, str):
            self._learn_texts([x])
        elif isinstance(x, (list, tuple)):
            self._learn_token_lists([x])
        elif isinstance(x, (bytes, bytearray)):
            self.learn_text(bytes(x))
        else:
            self.stats["bad_inputs"] += 1

    def learn_many(self, X: Iterable) -> None:
        """Learn from many sentences (str, token lists or dicts), the fast path.

        Sentences are grouped into blocks of about ``batch_bytes`` and each
        block goes through one kernel call. With ``workers=1`` the result is
        bit-identical to calling :meth:`learn_one` on each sentence in order.

        Parameters
        ----------
        X : iterable
            Of ``str``, ``list[str]``, ``bytes`` or ``dict`` (with ``on``).
            A pandas Series or DataFrame column works too.
        """
        pending: list = []  # sentences of one kind, learnt together as one block
        learn_pending = self._learn_texts
        size = 0

        def flush():
            nonlocal pending, size
            if pending:
                learn_pending(pending)
            pending, size = [], 0

        for x in X:
            x = self._text_of(x)
            if isinstance(x, str):
                learn, n = self._learn_texts, len(x) + 1
            elif isinstance(x, (list, tuple)):
                learn, n = self._learn_token_lists, 8 * len(x)
            elif isinstance(x, (bytes, bytearray)):
                flush()
                self.learn_text(bytes(x))
                continue
            else:
                self.stats["bad_inputs"] += 1
                continue
            if learn != learn_pending:
                flush()
                learn_pending = learn
            pending.append(x)
            size += n
            if size >= self.batch_bytes:
                flush()
        flush()

    def learn_text(self, data: bytes | str) -> None:
        """Learn from a raw block of ``\\n``-separated lines (the CLI's path).

        Parameters
        ----------
        data : bytes or str
            Bytes are decoded as UTF-8 with replacement (invalid sequences are
            counted in ``stats["invalid_utf8"]``); NUL and other control
            bytes act as separators.
        """
        if isinstance(data, (bytes, bytearray, memoryview)):
            text, bad = decode(bytes(data))
            self.stats["invalid_utf8"] += bad
        else:
            text = data
        self._learn_str(text)

    def learn_file(self, path, block_bytes: int = 1 << 20) -> None:
        """Learn from a text file, one sentence per line, read in blocks of whole lines."""
        from connectors.files import iter_line_blocks

        with open(path, "rb") as f:
            for block in iter_line_blocks(f, block_bytes):
                self.learn_text(block)

    # A sentence (str or token list) is terminated by "\n", so that an empty
    # sentence counts as an empty line and a loop of learn_one counts the same
    # lines as learn_many, however the sentences are grouped into blocks.
    def _learn_texts(self, texts: list) -> None:
        self._learn_str("\n".join(texts) + "\n")

    def _learn_token_lists(self, toks: list) -> None:
        self._learn_block(join_token_lists(toks) + b"\n", 1)

    def _learn_str(self, text: str) -> None:
        if self.tokenizer is not None:
            self._learn_block(apply_tokenizer(self.tokenizer, text), 1)
        else:
            self._learn_block(normalize_text(text), 0)

    def _kernel_args(self):
        return self.vocab, cooc_kernel_args(self.cooc)

    def _learn_block(self, data: bytes, mode: int) -> None:
        if not data:
            return
        self._norm_cache = None
        self._ip[K.P_MODE] = mode
        buf = np.frombuffer(data, dtype=np.uint8)
        train = self.workers == 1
        pos = 0
        while True:
            v, cc = self._kernel_args()
            if train:
                ids_out, sent_out, sent_words = _EMPTY_I32, _EMPTY_I64, _EMPTY_I64
            else:
                m = buf.shape[0] // 3 + 2 * self.max_sentence_length
                ids_out = np.empty(m, dtype=np.int32)
                ns = min(m, buf.shape[0] // 2 + 2)
                sent_out = np.zeros(ns + 1, dtype=np.int64)
                sent_words = np.zeros(ns, dtype=np.int64)
                self._st[K.S_N_IDS] = 0
                self._st[K.S_N_SENT] = 0
            prunes = self._st[K.S_N_PRUNES]
            status, pos = K.process_block(
                buf, pos, train, self._ip, self._fp, self._st, self._fst, self._rng,
                v.keys, v.vals, v.hashes, v.counts, v.free_ids, v.sketch.table, v.sketch.seeds,
                self._W, self._C, self.noise.prob, self.noise.alias,
                ids_out, sent_out, sent_words, self._events, *cc)
            ne = int(self._st[K.S_N_EVENTS])
            if ne:
                v.apply_admissions(self._events[:ne], buf)
                self._st[K.S_N_EVENTS] = 0
            if self._st[K.S_N_PRUNES] != prunes:
                v.drop_evicted()
            if not train and self._st[K.S_N_SENT] > 0:
                self._dispatch(ids_out, sent_out, sent_words, int(self._st[K.S_N_SENT]))
            if status == K.DONE:
                break
            if status == K.NEED_GROW:
                self.flush()
                self._grow(int(self._st[K.S_NEXT_ID]) + 2 * self.max_sentence_length)
        self.noise.n = int(self._st[K.S_NOISE_N])
        self.noise.last_refresh = int(self._st[K.S_LAST_REFRESH])
        self.vocab.sketch.total = int(self._st[K.S_SKETCH_TOTAL])

    def _grow(self, needed: int) -> None:
        cap = self.vocab.grow(needed)
        old = self._W.shape[0]
        if cap > old:
            W = np.zeros((cap, self.vector_size), dtype=np.float32)
            W[:old] = self._W
            if self.tied:
                C = W
            else:
                C = np.zeros((cap, self.vector_size), dtype=np.float32)
                C[:old] = self._C
            self._W, self._C = W, C
            self.noise.grow(cap)
            if self.cooc is not None:
                self.cooc.grow(cap)

    # ------------------------------------------------------------------ Hogwild threads
    def _dispatch(self, ids, sent_out, sent_words, n_sent):
        st = self._st
        if K.refresh_due(st[K.S_WORDS_SEEN], st[K.S_LAST_REFRESH], st[K.S_NEXT_ID], st[K.S_NOISE_N],
                         self.noise.min_refresh_tokens):
            self.noise.refresh(self.vocab.counts, int(st[K.S_NEXT_ID]), swap=True)
            st[K.S_NOISE_N] = self.noise.n
            st[K.S_LAST_REFRESH] = st[K.S_WORDS_SEEN]
            st[K.S_N_REFRESH] += 1
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sgns")
        # keep at most one batch queued behind the running one (bounded memory)
        while len(self._inflight) > self.workers:
            self._collect(self._inflight.popleft())
        v, cc = self._kernel_args()
        bounds = np.searchsorted(sent_out[: n_sent + 1], np.linspace(0, sent_out[n_sent], self.workers + 1))
        bounds[0], bounds[-1] = 0, n_sent
        total = int(st[K.S_TOTAL])
        for k in range(self.workers):
            s0, s1 = int(bounds[k]), int(bounds[k + 1])
            if s1 <= s0:
                continue
            fut = self._pool.submit(
                K.train_batch, ids, sent_out, sent_words, s0, s1, self._ip, self._fp, total,
                self._W, self._C, v.counts, self.noise.prob, self.noise.alias, int(st[K.S_NOISE_N]),
                self._rng, 1 + k, *cooc_batch_args(self.cooc), v.hashes)
            self._inflight.append(fut)

    def _collect(self, fut):
        loss, pairs, kept = fut.result()
        self._fst[K.FS_LOSS] += loss
        self._fst[K.FS_LOSS_N] += pairs
        self._st[K.S_PAIRS] += pairs
        self._st[K.S_KEPT] += kept

    def flush(self) -> None:
        """Wait for the training threads (``workers > 1``) to finish queued batches."""
        while self._inflight:
            self._collect(self._inflight.popleft())

    def close(self) -> None:
        """Finish queued work and stop the training threads."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ------------------------------------------------------------------ queries
    def vectors(self, kind: str | None = None) -> np.ndarray:
        """Output vectors: ``"W"`` (syn0), ``"C"`` (syn1neg) or ``"W+C"``.

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
        self.flush()
        if kind == "W":
            return self.W
        if kind == "C":
            return self.C
        if kind == "W+C":
            return self.W + self.C
        raise ValueError(f"kind must be 'W', 'C' or 'W+C', got {kind!r}")

    def __getitem__(self, word: str) -> np.ndarray:
        """Vector of ``word`` (a copy), shape (vector_size,), float32.

        Raises
        ------
        KeyError
            If the word is not (or no longer) in the vocabulary.
        """
        return self._rows([self.vocab.key_to_index[word]])[0]

    def _rows(self, ids) -> np.ndarray:
        # output vectors of a few rows, without building the whole W + C matrix
        self.flush()
        if self.output == "W":
            return np.array(self._W[ids])
        if self.output == "C":
            return np.array(self._C[ids])
        return self._W[ids] + self._C[ids]

    def __contains__(self, word) -> bool:
        return word in self.vocab.key_to_index

    def _unit_vectors(self):
        if self._norm_cache is None:
            V = self.vectors().astype(np.float32, copy=True)
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            V /= norms
            self._norm_cache = V
        return self._norm_cache

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors.

        Raises
        ------
        KeyError
            If either word is not in the vocabulary.
        """
        V = self._unit_vectors()
        return float(V[self.vocab.key_to_index[w1]] @ V[self.vocab.key_to_index[w2]])

    def most_similar(self, word, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` words of highest cosine similarity to ``word`` (or to a vector).

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
        """
        V = self._unit_vectors()
        if isinstance(word, str):
            i = self.vocab.key_to_index[word]
            q = V[i]
            exclude = {i}
        else:
            q = np.asarray(word, dtype=np.float32)
            q = q / (np.linalg.norm(q) or 1.0)
            exclude = set()
        sims = V @ q
        alive = self.counts > 0
        sims = np.where(alive, sims, -np.inf)
        k = min(len(sims), topn + len(exclude))
        if k == 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        itk = self.vocab.index_to_key
        return [(itk[j], float(sims[j])) for j in top if j not in exclude and np.isfinite(sims[j])][:topn]

    def transform_one(self, x) -> dict:
        """Mean of the in-vocabulary word vectors of ``x`` as ``{"sgns_i": float}``.

        Parameters
        ----------
        x : str, list of str or dict (with ``on``)

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
        ids = [kti[t] for t in toks if t in kti]
        if ids:
            vec = self._rows(ids).mean(axis=0)
        else:
            vec = np.zeros(self.vector_size, dtype=np.float32)
        return {f"sgns_{i}": float(v) for i, v in enumerate(vec)}

    # ------------------------------------------------------------------ persistence (see streamsgns/io/)
    def save_word2vec_format(self, path, binary: bool = False, kind: str | None = None) -> int:
        """Write the vectors in word2vec format (gensim's ``load_word2vec_format`` reads it).

        Words are written by decreasing count. The file is written atomically.

        Returns
        -------
        int
            Number of words written.

        Raises
        ------
        ValueError
            If the vectors hold NaN or inf (a corrupted model is never written).
        """
        from .io.word2vec import save_word2vec_format

        vecs = self.vectors(kind)
        counts = self.counts
        alive = np.flatnonzero(counts > 0)
        order = alive[np.argsort(-counts[alive], kind="stable")]
        itk = self.index_to_key
        return save_word2vec_format(path, [itk[i] for i in order], vecs[order], binary=binary)

    def save(self, path, position: dict | None = None, extra: dict | None = None) -> str:
        """Write a full checkpoint (see :func:`streamsgns.io.checkpoint.save_checkpoint`).

        ``position`` (the source position, default ``source_position``) and
        ``extra`` (JSON-serialisable metadata, e.g. a run identity) go to the
        manifest, where :func:`streamsgns.io.checkpoint.read_manifest` finds them.
        """
        from .io.checkpoint import save_checkpoint

        return save_checkpoint(self, path, position=position, extra=extra)

    @classmethod
    def load(cls, path) -> "SGNS":
        """Read a checkpoint written by :meth:`save` (see :func:`streamsgns.io.checkpoint.load_checkpoint`)."""
        from .io.checkpoint import load_checkpoint

        return load_checkpoint(path)

    def pmi_report(self, top: int = 1000, **kw) -> dict:
        """Compare W·Cᵀ with PMI − log k over the ``top`` most frequent tracked words.

        See :func:`streamsgns.pmi.pmi_report` for the keys; this method picks
        the words and passes the running statistics of :mod:`streamsgns.cooc`.

        Raises
        ------
        ValueError
            If the model was built with ``track_cooc=False``.
        """
        from .pmi import learner_pmi_report

        return learner_pmi_report(self, top=top, **kw)

