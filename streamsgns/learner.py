"""``SGNS``: online skip-gram with negative sampling, as a river transformer.

The learner a user meets. Text comes in (``learn_one``, ``learn_many`` or the raw-block fast path
``learn_text``), is normalised to bytes (:mod:`streamsgns.tokenize`) and handed to the driver
(:mod:`streamsgns.trainer`), which runs the numba kernels (:mod:`streamsgns.kernels`) on the
model's components: the vocabulary and its count-min sketch (:mod:`streamsgns.vocab`,
:mod:`streamsgns.sketch`), the noise distribution (:mod:`streamsgns.noise`), the co-occurrence
statistics (:mod:`streamsgns.cooc`) and the SGNS parameters W, C (:mod:`streamsgns.parameters`).
Nothing here loops over tokens in Python. The model holds what it exports as an object
(:class:`streamsgns.export.VectorExport`: the averaged or raw vectors and the cached cosine search
of :mod:`streamsgns.vectors` behind ``most_similar``), and its state goes through
:mod:`streamsgns.persistence` (gathering and checking the components' state dicts) to
:mod:`streamsgns.io.checkpoint`.

With ``workers=1`` every line is trained as soon as it is encoded, so the result does not depend
on how the stream is cut into calls: a loop of ``learn_one`` and one ``learn_many`` over the same
sentences give bit-identical ``W`` and ``C``, and so does a run resumed from a checkpoint. With
``workers > 1`` training runs on threads (Hogwild), faster but not bit-reproducible.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
from river import base

from . import kernels as K
from ._state import StateError, record_to_dict
from .averaging import IterateAverage
from .change import ChangeDetector, ChangeLog
from .cooc import CooccurrenceStats
from .export import VectorExport
from .forget import Forgetting
from .noise import NoiseDistribution
from .parameters import SGNSParameters
from .persistence import (components_from_state, load_model, model_state_dict, save_model, save_model_vectors,
                          stored_params)
from .rates import evidence_offsets, mean_word_alpha, replica_step_gain
from .replay import DEFAULT_REPLAY_BUFFER, ReplayBuffer
from .pmi.live import learner_pmi_report
from .sketch import CountMinSketch, default_halving_tokens
from .tokenize import apply_tokenizer, check_token_list, decode, join_token_lists, normalize_text, tokenize
from .trainer import NEVER, Trainer
from .validation import validate_params
from .vectors import KeyedVectors
from .vocab import Vocabulary

__all__ = ["SGNS"]


#: The change records' neighbours are searched among this many most frequent words (on mix with
#: ``workers=2``, when the search ran on the parsing thread, 30,000 words took 7.5 ms a search, 1.0 s
#: of an 11.6-s pass; ``docs/drift.md``). With ``workers > 1`` the search runs on a thread of its own.
CHANGE_NEIGHBOUR_POOL = 10_000


def _fill_neighbours(search, records: list) -> None:
    """Run ``search`` (:meth:`streamsgns.export.VectorExport.neighbours_search`) and fill in the
    neighbours of the change log's ``records`` just added (``"change"``: ``neighbours_before``;
    ``"after"``: ``neighbours_after``, None for a word that left the vocabulary)."""
    nbs = search()
    for rec in records:
        if rec["kind"] == "change":
            rec["neighbours_before"] = list(nbs.get(rec["word"], []))
        else:
            found = nbs.get(rec["word"])
            rec["neighbours_after"] = None if found is None else list(found)


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
    negative, ns_exponent : int, float
        Noise words per positive pair, ``k`` (>= 0); the noise distribution is count ** ns_exponent.
    shared_negatives : bool
        Draw the ``negative`` noise words once per centre word and share them among its context
        words (pWord2Vec, Ji et al. 2016, sec. 3), so that a window loads each noise row once and
        draws ``negative`` numbers instead of ``negative`` per pair (1.35–1.8× the tokens/s, same
        quality: ``docs/kernel_speed.md``). False: word2vec's fresh draw for
        every (context, centre) pair.
    sample : float
        Subsampling threshold of frequent words (word2vec's ``sample``; 0 = off).
    min_count : int
        Occurrences before a word is admitted and trained.
    alpha, min_alpha : float
        Largest and smallest learning rate (0.05: gensim's 0.025 is reached at ``word_decay`` occurrences).
    max_vocab : int
        Most words held at once; the rarest are evicted beyond (rows reused).
    seed : int
        Seeds every random draw (initialisation, windows, subsampling, negatives).
    workers : int
        Training threads. 1 gives bit-reproducible results.
    on : str, optional
        Field of a ``dict`` input holding the text (river's convention).
    decay_tokens, word_decay : float, float or None
        A row's step is ``max(min_alpha, alpha / (1 + n / word_decay))``, ``n`` its word's count; with
        ``word_decay=None`` every row's is ``max(min_alpha, alpha / (1 + t / decay_tokens))``, ``t`` tokens seen.
    tokenizer : callable, optional
        ``str -> list[str]``; default: lowercase + river's BagOfWords pattern.
    max_sentence_length : int
        Longer lines are split into sentences of this many tokens (as word2vec and gensim do).
    average_eta, average_every : float or None, int or None
        Exported vectors (``vectors``, snapshots, queries, PMI report) are averages of the
        iterates, η = ``average_eta``, folded every ``average_every`` tokens (None: adaptive);
        ``average_eta=None`` exports W itself (:mod:`streamsgns.averaging`).
    output : {"W", "C", "W+C"}
        Vectors used by ``transform_one``, similarity queries and exports.
    tied : bool
        Use one matrix for words and contexts (W = C), for comparison only: it works poorly (Goldberg & Levy 2014).
    track_cooc : bool
        Keep running #(w,c) statistics of the trained pairs (:mod:`streamsgns.cooc`).
    cooc_top_n : int
        Words whose pair counts are kept exactly (memory ``4·cooc_top_n²`` bytes).
    cooc_sketch_width, cooc_sketch_depth : int
        Count-min sketch of the other pairs (``4·width·depth`` bytes; depth 0 disables it).
    cooc_sketch_rate : int
        Each untracked pair enters the pair sketch with probability ``1/rate`` and weight
        ``rate`` (unbiased; :mod:`streamsgns.cooc`).
    sketch_width, sketch_depth : int
        Count-min sketch of not-yet-admitted words (``4·width·depth`` bytes).
    sketch_halving_tokens : int, optional
        The sketch halves every cell each time this many tokens of not-yet-admitted words
        have been added, so that ``min_count`` keeps its meaning on an endless stream (a
        flood of one-off IDs is not admitted). None (default):
        ``max(2**17, sketch_width·(min_count − 1)/(2e))`` (771,499 for the defaults), which
        bounds the sketch's error by ``min_count − 1`` with probability ``1 − e^−sketch_depth``
        (:func:`streamsgns.sketch.default_halving_tokens`); 0: never age.
    batch_bytes : int
        ``learn_many`` groups sentences into blocks of about this many bytes.
    half_life : float, optional
        Tokens after which every count has halved (exponential forgetting: vocabulary, sketch,
        noise distribution, subsampling, eviction ranking, co-occurrence statistics; words
        whose count fades are evicted; the learning rate settles instead of decaying; see
        :mod:`streamsgns.forget`). None (default): never forget.
    average_horizon : float or None
        Tokens: a fold of the averages never weighs less than ``average_every · ln 2 /
        average_horizon``, so the exported vectors follow a row that moves within about this many
        tokens however old the stream (:mod:`streamsgns.averaging`); with ``half_life`` the smaller
        of the two. None: no floor (the average's lag grows with the stream's age).
    detect_changes : bool
        Per-word change detection on each word's context signature (:mod:`streamsgns.change`): a
        word whose contexts change is reported (:meth:`changes`) and learns again like a new word
        (its step evidence and its averaged export restart).
    change_threshold : float
        Alarm level of the per-word CUSUM (higher: fewer, later alarms; :mod:`streamsgns.change`).
    change_every : int
        Tokens between two checks of every word (each check is O(vocabulary)).
    replay : float or "idle"
        Extra trainings per token read, on average, of recent sentences drawn from a bounded
        buffer (:mod:`streamsgns.replay`): 1.0 gives about two passes' worth of updates while the
        stream is read once. ``"idle"``: replay only while the source waits for data
        (:meth:`replay_idle`). 0 (default): off, and no buffer is allocated.
    replay_buffer : int
        Tokens the replay buffer holds (``8 · replay_buffer`` bytes; default 2,000,000: 16 MiB).
    replay_at : {"spread", "end"}
        When replay trains. ``"spread"`` (default): every 16,384 tokens read, sentences drawn at
        random from the buffer. ``"end"``: nothing while the stream is read; when the input ends
        (the end of :meth:`learn_file`, of ``streamsgns train``'s input, or :meth:`replay_end`) the
        sentences buffered since the last end are trained again in stream order, ``replay`` times:
        a second epoch from one read when the buffer holds the input (on the mix corpus it beats
        two real passes on all three benchmarks; ``docs/replay_memory_coldstart.md``).

    Attributes
    ----------
    vocab : streamsgns.vocab.Vocabulary
        Words, counts and (``vocab.sketch``) the count-min sketch of the others.
    noise : streamsgns.noise.NoiseDistribution
    cooc : streamsgns.cooc.CooccurrenceStats or None
    params : streamsgns.parameters.SGNSParameters
        W, C, the RNG streams and the stream counters.
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

    Notes
    -----
    Each component owns its state and exposes it with ``state_dict()`` / ``from_state()``;
    :meth:`state_dict` gathers them (a nested dict of arrays and scalars), and checkpoints,
    replica merges and forgetting go through it.

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
        alpha: float = 0.05,
        min_alpha: float = 1e-4,
        max_vocab: int = 1_000_000,
        seed: int = 0,
        workers: int = 1,
        on: str | None = None,
        decay_tokens: float = 20_000_000.0,
        word_decay: float | None = 2000.0,
        tokenizer=None,
        max_sentence_length: int = 10_000,
        output: str = "W",
        tied: bool = False,
        track_cooc: bool = True,
        cooc_top_n: int = 1000,
        cooc_sketch_width: int = 1 << 20,
        cooc_sketch_depth: int = 2,
        cooc_sketch_rate: int = 64,
        sketch_width: int = 1 << 20,
        sketch_depth: int = 4,
        batch_bytes: int = 1 << 20,
        sketch_halving_tokens: int | None = None,
        half_life: float | None = None,
        average_eta: float | None = 10.0,
        average_every: int | None = None,
        shared_negatives: bool = True,
        average_horizon: float | None = 2_000_000.0,
        detect_changes: bool = True,
        change_threshold: float = 7.0,
        change_every: int = 32768,
        replay: float | str = 0.0,
        replay_buffer: int = DEFAULT_REPLAY_BUFFER,
        replay_at: str = "spread",
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
        self.word_decay = word_decay
        self.tokenizer = tokenizer
        self.max_sentence_length = max_sentence_length
        self.output = output
        self.tied = tied
        self.track_cooc = track_cooc
        self.cooc_top_n = cooc_top_n
        self.cooc_sketch_width = cooc_sketch_width
        self.cooc_sketch_depth = cooc_sketch_depth
        self.cooc_sketch_rate = cooc_sketch_rate
        self.sketch_width = sketch_width
        self.sketch_depth = sketch_depth
        self.batch_bytes = batch_bytes
        self.sketch_halving_tokens = sketch_halving_tokens
        self.half_life = half_life
        self.average_eta = average_eta
        self.average_every = average_every
        self.shared_negatives = shared_negatives
        self.average_horizon = average_horizon
        self.detect_changes = detect_changes
        self.change_threshold = change_threshold
        self.change_every = change_every
        self.replay = replay
        self.replay_buffer = replay_buffer
        self.replay_at = replay_at
        validate_params(self)
        cap = self._initial_capacity()
        self._set_components(
            Vocabulary(min_count, max_vocab, sketch=CountMinSketch(sketch_width, sketch_depth, seed=seed,
                                                                   halve_every=self._sketch_halving()),
                       capacity=cap, max_events=4 * max_sentence_length),
            None, None, None, None)

    # ------------------------------------------------------------------ set-up
    def _sketch_halving(self) -> int:
        """The sketch's aging interval in tokens (0 = never): ``sketch_halving_tokens`` or its default."""
        if self.sketch_halving_tokens is None:
            return default_halving_tokens(self.sketch_width, self.min_count)
        return int(self.sketch_halving_tokens)

    def _initial_capacity(self) -> int:
        return min(self.max_vocab, max(1024, 2 * self.max_sentence_length))

    def _new_replay(self):
        """A new replay buffer for the parameters (None when replay is off)."""
        if self.replay == "idle":
            return ReplayBuffer(0.0, self.replay_buffer, self.seed, self.workers, idle=True)
        if float(self.replay) > 0:
            return ReplayBuffer(float(self.replay), self.replay_buffer, self.seed, self.workers, at=self.replay_at)
        return None

    def _average_horizon(self) -> float | None:
        """Tokens of the averages' fold-weight floor: the smaller of ``average_horizon`` and ``half_life``."""
        h = [x for x in (self.average_horizon, self.half_life) if x is not None]
        return float(min(h)) if h else None

    def _set_components(self, vocab, noise, cooc, params, forget=None, average=None, detect=None,
                        change_log=None, replay=None) -> None:
        """Install the components (new ones where None) and the driver that runs the kernels on them."""
        cap = vocab.capacity
        self.vocab = vocab
        self.noise = noise if noise is not None else NoiseDistribution(self.ns_exponent, capacity=cap)
        if cooc is None and self.track_cooc:
            cooc = CooccurrenceStats(self.cooc_top_n, capacity=cap, sketch_width=self.cooc_sketch_width,
                                     sketch_depth=self.cooc_sketch_depth, sketch_rate=self.cooc_sketch_rate,
                                     seed=self.seed)
        self.cooc = cooc if self.track_cooc else None
        self.params = params if params is not None else SGNSParameters(cap, self.vector_size, self.workers,
                                                                       self.seed, self.tied)
        cfg = K.make_config(window=self.window, negative=self.negative, min_count=self.min_count,
                            max_vocab=self.max_vocab, max_sentence_length=self.max_sentence_length,
                            min_refresh_tokens=self.noise.min_refresh_tokens, track_cooc=self.track_cooc,
                            prune_size=vocab.prune_size, alpha=self.alpha, min_alpha=self.min_alpha,
                            decay_tokens=self.decay_tokens, sample=self.sample, ns_exponent=self.ns_exponent,
                            half_life=self.half_life, word_decay=self.word_decay,
                            shared_negatives=self.shared_negatives)
        self.forget = forget if forget is not None else Forgetting(self.half_life)
        if detect is None and self.detect_changes:
            detect = ChangeDetector(cap, check_every=self.change_every, threshold=self.change_threshold)
        self.detect = detect if self.detect_changes else None
        self.change_log = change_log if change_log is not None else ChangeLog()
        self.replay_state = replay if replay is not None else self._new_replay()
        self._trainer = Trainer(cfg, self.workers, self.vocab, self.noise, self.cooc, self.params, self.forget,
                                self.detect, self.replay_state)
        self._trainer.fit(cap)  # every component as large as the vocabulary
        if average is None and self.average_eta is not None:
            average = IterateAverage(cap, self.vector_size, self.average_eta, self.average_every,
                                     self._average_horizon(), with_c=self.output != "W" or self.track_cooc)  # C from the start when W·Cᵀ is compared with PMI, else once read
        self.average = average if self.average_eta is not None else None
        self._trainer.on_pause = self._periodic
        self._trainer.on_batch = self._after_batch if self.workers > 1 else None
        self._trainer.pause_at = self._next_periodic()
        self.stats = {"invalid_utf8": 0, "bad_inputs": 0}
        self.source_position = None
        # the exported vectors and the cosine search built on them (invalidated whenever W, C or the averages change)
        self._export = VectorExport(self.params, self.vocab, self.average, self.flush)

    @classmethod
    def _unit_test_params(cls):
        yield {"vector_size": 8, "min_count": 1, "sketch_width": 1 << 10, "cooc_top_n": 16,
               "cooc_sketch_width": 1 << 10}
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
        state["_trainer"] = None
        state["_export"] = None  # rebuilt by __setstate__
        state.pop("_searcher", None)  # a thread: made again when needed
        state.pop("_round_steps_deferred", None)  # as the trainer's configuration: not kept (defer_round_steps)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        stats, pos = self.stats, self.source_position
        self._set_components(self.vocab, self.noise, self.cooc, self.params, self.forget, self.average,
                             self.detect, self.change_log, self.replay_state)
        self.stats, self.source_position = stats, pos

    # ------------------------------------------------------------------ public read-outs
    @property
    def words_seen(self) -> int:
        """Tokens consumed so far (admitted or not)."""
        return int(self.params.meta[0]["words_seen"])

    @property
    def vocab_size(self) -> int:
        """Words currently admitted (each has a row of W and C)."""
        return self.vocab.n_ids - self.vocab.n_free

    @property
    def n_ids(self) -> int:
        """Rows in use, free rows included: ``len(index_to_key)``."""
        return self.vocab.n_ids

    @property
    def W(self) -> np.ndarray:
        """syn0, (n_ids, vector_size) float32 view."""
        self.flush()
        return self.params.W[: self.n_ids]

    @property
    def C(self) -> np.ndarray:
        """syn1neg, (n_ids, vector_size) float32 view."""
        self.flush()
        return self.params.C[: self.n_ids]

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
        """Step of the next token (per-word rule: the tokens' mean step, :func:`~streamsgns.rates.mean_word_alpha`)."""
        if self.word_decay is not None:
            return mean_word_alpha(self.alpha, self.min_alpha, self.word_decay, self.counts)
        return float(K.current_alpha(self._trainer.cfg, self.forget.alpha_tokens(self.words_seen)))

    def progress(self) -> dict:
        """Counters for progress lines and tests (all ints, except ``alpha``)."""
        p = record_to_dict(self.params.meta)
        v = self.vocab.meta[0]
        f = self.forget.meta[0]
        out = {"words_seen": p["words_seen"], "vocab_size": self.vocab_size, "alpha": self.current_alpha,
               "pairs": p["pairs"], "kept_tokens": p["kept"], "lines": p["lines"], "empty_lines": p["empty_lines"],
               "control_bytes": p["control_bytes"], "split_lines": p["split_lines"], "evicted": int(v["n_evicted"]),
               "noise_refreshes": int(self.noise.meta[0]["n_refresh"]),
               "sketch_halvings": int(self.vocab.sketch.meta[0]["n_halvings"]),
               "decay_steps": int(f["n_decays"]), "faded": int(f["n_faded"]),
               "average_folds": 0 if self.average is None else int(self.average.meta[0]["folds"]),
               "changes": self.changes_count,
               "replayed": 0 if self.replay_state is None else int(self.replay_state.meta[0]["replayed"])}
        out.update(self.stats)
        return out

    def extrapolate_steps(self, replicas: int, step_cap: float | None = None, max_step: float | None = None) -> None:
        """Take a replica's per-word steps: at the evidence of ``replicas`` replicas, with the merge's gain.

        For a replica of a multi-replica job (:mod:`streamsgns.distributed`), called when it loads
        a merged state (its evidence then is the merged one): from now on a row whose step evidence
        was ``n0`` here and is ``n`` later takes ``m`` times the step of ``n0 + K·(n − n0)`` (the
        count one process reading the merged stream would be at), ``m`` the row's gain
        (:func:`streamsgns.rates.replica_step_gain` of ``n0``, ``K = replicas``), and the merge
        (:func:`streamsgns.distributed.delta.merge_deltas` with ``rows="gain"`` and the same
        ``replicas``, ``step_cap`` and ``max_step``) weighs the replicas' summed updates of the row by
        ``1/m`` (or, with a stiffness, by the relaxation model of the steps taken).
        Derivation and measurements: ``docs/scale-out.md`` ("Evidence-aware steps").
        ``replicas=1``: one process's steps. Not saved in checkpoints; global rule
        (``word_decay=None``): no effect.

        Parameters
        ----------
        replicas : int
            ``K`` (>= 1).
        step_cap : float, optional
            Largest replica step in units of ``alpha`` (>= 1) that sets the gains; None: ``K`` (every
            row's gain ``K``).
        max_step : float, optional
            Largest step in units of ``alpha``, whatever the gain (> 0; None: no limit).

        Raises
        ------
        ValueError
            If ``replicas < 1``, ``step_cap < 1`` or ``max_step <= 0``.
        """
        k = int(replicas)
        cap = float(k if step_cap is None else step_cap)
        if k == 1:
            replica_step_gain(np.zeros(0), k, 1.0, cap)  # validates
            self._trainer.set_evidence(1.0)
            return
        n = self.n_ids
        evidence = self.vocab.counts[:n]
        if self.detect is not None:
            evidence = np.maximum(evidence - self.detect.base[:n], 0)
        wd = self.word_decay if self.word_decay is not None else 1.0
        gains = replica_step_gain(evidence, k, wd, cap)
        new_gain = float(replica_step_gain(np.zeros(1), k, wd, cap)[0])
        top = np.inf if max_step is None else float(max_step) * self.alpha
        if not top > 0:
            raise ValueError(f"max_step must be > 0, got {max_step!r}")
        self._trainer.set_evidence(float(k), evidence_offsets(evidence, k), gains, new_gain, top)

    def take_loss(self) -> float:
        """Mean SGNS loss per trained pair since the last call (nats), then reset."""
        self.flush()
        return self.params.take_loss()

    # ------------------------------------------------------------------ exported vectors and queries
    # (streamsgns.export: the averaged-or-raw rows and the one cached cosine search)
    def vectors(self, kind: str | None = None) -> np.ndarray:
        """Output vectors: ``"W"`` (syn0), ``"C"`` (syn1neg) or ``"W+C"``.

        With ``average_eta`` set these are the averaged iterates (:mod:`streamsgns.averaging`;
        a row not yet folded since its word was admitted is its current value); ``W``/``C``
        are always the training parameters themselves. See :mod:`streamsgns.export`.

        Returns
        -------
        ndarray, shape (n_ids, vector_size), float32
            Rows of freed ids are meaningless (see ``index_to_key``).

        Raises
        ------
        ValueError
            On an unknown kind.
        """
        return self._export.vectors(self.output if kind is None else kind)

    def fold_average(self, wait: bool = True) -> None:
        """Fold the current W and C into the exported averages now (:mod:`streamsgns.averaging`).

        The learner calls it every ``average_every`` tokens: with ``workers=1`` at the end of the
        first line that reaches the fold's token count; with ``workers > 1`` once the batch that
        reaches it is handed to the training threads, without waiting for them (``wait=False``: the
        fold reads rows the threads are updating, Hogwild, as the threads read each other's; the
        average is of iterates up to about two batches behind). ``wait=True`` (a call from outside)
        first waits for the threads. A no-op without averaging.
        """
        if self.average is not None:
            if wait:
                self.flush()
            va, n = self.vocab.arrays(), self.n_ids
            self.average.fold(self.params.W, self.params.C, va.hashes, va.counts, n, self.params.counter("words_seen"))
            self._trainer.pause_at = self._next_periodic()
            self._export.invalidate()

    def keyed_vectors(self) -> KeyedVectors:
        """The output vectors as :class:`streamsgns.vectors.KeyedVectors` (cached until the model learns)."""
        return self._export.keyed_vectors(self.output)

    def __getitem__(self, word: str) -> np.ndarray:
        """Vector of ``word`` (a copy), shape (vector_size,), float32.

        Raises
        ------
        KeyError
            If the word is not (or no longer) in the vocabulary.
        """
        return self._export.row(self.vocab.key_to_index[word], self.output)

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
        vec = self._export.mean(toks, self.output)
        return {f"sgns_{i}": float(v) for i, v in enumerate(vec)}

    # ------------------------------------------------------------------ state and persistence
    # (streamsgns.persistence: gathering and validating the components' state dicts)
    def state_dict(self) -> dict:
        """The model's whole state: each component's ``state_dict()`` and the settings.

        Returns
        -------
        dict
            ``params`` (constructor settings, JSON-serialisable; a custom ``tokenizer`` is
            stored as None), ``vocab`` (with its ``sketch``), ``noise``, ``cooc`` (None without
            statistics), ``parameters`` (W, C, RNG streams, counters), ``forget`` (the
            forgetting schedule, :meth:`streamsgns.forget.Forgetting.state_dict`: ``half_life``,
            ``since``, ``n_decays``, ``decayed_tokens``, ``n_faded``), ``stats`` and ``average`` (the
            exported averages of W and C, None without averaging), ``change`` (the change
            detector's rows, None without detection, :meth:`streamsgns.change.ChangeDetector.state_dict`),
            ``change_log`` (the change records, :meth:`streamsgns.change.ChangeLog.state_dict`) and
            ``replay`` (the replay buffer, :meth:`streamsgns.replay.ReplayBuffer.state_dict`; absent
            without replay). Arrays are views of the live state: copy them before the model learns on.
        """
        return model_state_dict(self)

    @classmethod
    def from_state(cls, state: dict, **overrides) -> "SGNS":
        """Rebuild a model from :meth:`state_dict` output, validating every component.

        Parameters
        ----------
        state : dict
        **overrides
            Constructor parameters to replace (e.g. ``workers=2``, or the ``tokenizer``
            callable a state cannot hold).

        Raises
        ------
        streamsgns._state.StateError
            If a component's state is malformed, breaks an invariant, or disagrees with another's.
        """
        try:
            m = cls(**stored_params(state, overrides))
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f"params: {e}") from e
        parts = components_from_state(state, m, overridden=set(overrides), capacity=m._initial_capacity(),
                                      sketch_halving=m._sketch_halving(), average_horizon=m._average_horizon())
        m._set_components(*parts)
        if m.detect is not None and state.get("change") is None:
            # a state written before change detection existed starts detection now, from every word's
            # current count as its step evidence (what the model was trained with)
            m.detect.meta[0]["next_check"] = m.words_seen + m.change_every
            if m.workers == 1:
                m._trainer.pause_at = m._next_periodic()
        m.stats.update({k: int(v) for k, v in state.get("stats", {}).items()})
        return m

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
        return save_model_vectors(self, path, binary=binary, kind=kind)

    def save(self, path, position: dict | None = None, extra: dict | None = None) -> str:
        """Write a full checkpoint (:func:`streamsgns.io.checkpoint.save_checkpoint`), atomically; returns its path.

        Parameters
        ----------
        path : str or os.PathLike
        position : dict, optional
            The source position this checkpoint covers (default ``source_position``).
        extra : dict, optional
            JSON-serialisable metadata (e.g. a run identity), found again by
            :func:`streamsgns.io.checkpoint.read_manifest`.

        Raises
        ------
        ValueError
            If W or C hold NaN or inf (a corrupted model is never checkpointed).
        OSError
            On write failure (an older file at ``path`` is left intact).
        """
        return save_model(self, path, position=position, extra=extra)

    @classmethod
    def load(cls, path, **overrides) -> "SGNS":
        """Read a checkpoint written by :meth:`save` (or by streamsgns 0.1, format 1).

        ``source_position`` is set to the stored source position.

        Raises
        ------
        streamsgns.io.checkpoint.CheckpointError
            If the file is missing, truncated, corrupted, of another format, or holds a state
            that fails validation (nothing of it is used then).
        """
        return load_model(cls, path, **overrides)

    # ------------------------------------------------------------------ learning
    def _text_of(self, x):
        if isinstance(x, dict):
            if self.on is None:
                raise ValueError("got a dict: set `on` to the field that holds the text")
            x = x.get(self.on)
        return x

    def learn_one(self, x) -> None:
        """Learn from one sentence: ``str``, a list of tokens, ``bytes``, or a ``dict`` (with ``on``).

        A ``str`` is lowercased and tokenised (or passed to ``tokenizer``); a
        newline inside it separates sentences. A list is taken as tokens as
        they are. ``None`` or an unsupported type is counted in
        ``stats["bad_inputs"]`` and skipped.

        Raises
        ------
        ValueError
            If ``x`` is a dict and ``on`` is not set.
        TypeError
            If ``x`` is a list or tuple holding anything but ``str`` tokens.
        """
        x = self._text_of(x)
        if isinstance(x, str):
            self._learn_texts([x])
        elif isinstance(x, (list, tuple)):
            self._learn_token_lists([check_token_list(x)])
        elif isinstance(x, (bytes, bytearray)):
            self.learn_text(bytes(x))
        else:
            self.stats["bad_inputs"] += 1

    def learn_many(self, X: Iterable) -> None:
        """Learn from many sentences (str, token lists, bytes or dicts), the fast path.

        Sentences are grouped into blocks of about ``batch_bytes`` and each
        block goes through one kernel call. With ``workers=1`` the result is
        bit-identical to calling :meth:`learn_one` on each sentence in order.

        Parameters
        ----------
        X : iterable
            Of ``str``, ``list[str]``, ``bytes`` or ``dict`` (with ``on``).
            A pandas Series or DataFrame column works too.

        Raises
        ------
        TypeError
            If a token list holds anything but ``str`` (the sentences before it are learnt).
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
                try:
                    x = check_token_list(x)
                except TypeError:
                    flush()
                    raise
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

        Raises
        ------
        TypeError
            If ``data`` is neither bytes nor str.
        """
        if isinstance(data, (bytes, bytearray, memoryview)):
            text, bad = decode(bytes(data))
            self.stats["invalid_utf8"] += bad
        elif isinstance(data, str):
            text = data
        else:
            raise TypeError(f"learn_text takes bytes or str, got {type(data).__name__}")
        self._learn_str(text)

    def learn_file(self, path, block_bytes: int = 1 << 20) -> None:
        """Learn from a UTF-8 text file, one sentence per line, read in blocks of whole lines.

        A line longer than ``4 * block_bytes`` bytes is cut between two words (memory stays bounded).

        The file's end is an end of input: with ``replay_at="end"`` the buffered sentences are
        replayed then (:meth:`replay_end`).

        Raises
        ------
        OSError
            If the file cannot be read.
        """
        with open(path, "rb") as f:
            rest = b""
            while True:
                data = f.read(block_bytes)
                if not data:
                    break
                data = rest + data
                cut = data.rfind(b"\n")
                if cut < 0 and len(data) > 4 * block_bytes:
                    cut = max(data.rfind(b" "), data.rfind(b"\t"), 4 * block_bytes - 1)  # a huge line: cut between words
                if cut < 0:
                    rest = data
                    continue
                self.learn_text(data[: cut + 1])
                rest = data[cut + 1:]
            if rest:
                self.learn_text(rest)
        if self.replay_state is not None and self.replay_state.at == "end":
            self.replay_end()

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

    def _learn_block(self, data: bytes, mode: int) -> None:
        self._export.invalidate()
        self._trainer.learn_block(data, mode)  # it calls _periodic when due (PAUSE), at a line end

    # ------------------------------------------------------------------ periodic work: folds and checks
    #: Set by :meth:`defer_round_steps` (a replica of a multi-replica job): no change check while learning.
    _round_steps_deferred = False

    def defer_round_steps(self) -> None:
        """Leave forgetting's decay steps and the change checks to the round boundaries of a multi-replica job.

        For a replica (:mod:`streamsgns.distributed`): while it learns, ``since`` still counts its
        tokens and the kernel still adds to the change signatures, but no decay step and no check
        runs; both run on the merged state at the round boundary, by the merged token count,
        identically on every replica (:func:`streamsgns.distributed.rounds.round_steps`). Not kept in
        checkpoints or pickles; a model loaded from a state takes its steps again.
        """
        self.flush()
        self._round_steps_deferred = True
        if self.half_life is not None:  # the kernel's test ``since >= forget_every`` never holds; since counts on
            never = np.int64(np.iinfo(np.int64).max)
            self._trainer.cfg = self._trainer.cfg._replace(forget_every=never)
            self._trainer._replay_cfg = self._trainer._replay_cfg._replace(forget_every=never)
        self._trainer.pause_at = self._next_periodic()

    def _next_periodic(self) -> int:
        """Tokens at which the next pause is due (``NEVER`` if none), ``workers=1`` only: a fold of the
        averages or a change check (a replica defers checks to its round boundaries,
        :meth:`defer_round_steps`). With ``workers > 1`` neither pauses the parser: both run after a
        batch is handed to the threads (:meth:`_after_batch`), so that no batch is cut short and no
        thread waits."""
        if self.workers > 1:
            return NEVER
        due = [] if self.average is None else [self.average.next_fold]
        if self.detect is not None and not self._round_steps_deferred:
            due.append(self.detect.next_check)
        return min(due) if due else NEVER

    def _after_batch(self) -> None:
        """``workers > 1``: after a batch is handed to the training threads, the change check and then
        the fold of the averages when due, while the threads train (neither waits for them).

        The next check (fold) is scheduled an interval after this one was due, not after the
        batch's end, which would stretch every interval by part of a batch; a batch longer than
        the interval gets one."""
        def next_after(due: int, every: int, seen: int) -> int:
            return due + every * max(1, (seen - due) // every + 1)

        seen = self.params.counter("words_seen")
        if self.detect is not None and not self._round_steps_deferred and seen >= self.detect.next_check:
            due = self.detect.next_check
            self.check_changes(background=True)
            self.detect.meta[0]["next_check"] = next_after(due, self.change_every, seen)
        if self.average is not None and seen >= self.average.next_fold:
            due = self.average.next_fold
            self.fold_average(wait=False)
            self.average.meta[0]["next_fold"] = next_after(due, self.average.interval(self.n_ids), seen)

    def _periodic(self) -> None:
        """Run what is due at this line end: a change check (:mod:`streamsgns.change`), then a fold of
        the averages (:mod:`streamsgns.averaging`), so that a restarted word's average restarts first."""
        seen = self.params.counter("words_seen")
        if self.detect is not None and not self._round_steps_deferred and seen >= self.detect.next_check:
            self.check_changes()
        if self.average is not None and seen >= self.average.next_fold:
            self.fold_average()
        self._trainer.pause_at = self._next_periodic()

    def check_changes(self, background: bool = False) -> list[dict]:
        """Run one change check now; restart the words that changed and record them.

        Called every ``change_every`` tokens while learning. For each alarm the word's neighbours
        in the exported vectors (before it restarts) go into a ``"change"`` record of
        ``change_log`` (a :class:`~streamsgns.change.ChangeLog`); ``follow_tokens`` later an ``"after"`` record gives its new
        neighbours. Returns the records added (empty without change detection).

        ``background=True`` (what learning with ``workers > 1`` uses): the search of the records'
        neighbours runs on a thread of its own while learning goes on (its query, the words' rows
        before they restart, is read now; :meth:`streamsgns.export.VectorExport.neighbours_search`),
        and the records returned have their neighbours filled in when it ends: every reader of
        the change log (``changes()``, a ``--changes`` file, a checkpoint, :meth:`flush`) waits
        for it. On mix with ``workers=2`` the search took 0.32 s of a 13-s pass on the parsing
        thread, which the training threads wait for; its CPU seconds remain (``docs/drift.md``).

        With ``workers > 1`` the check runs once the parsed batch that reached ``change_every``
        tokens is handed to the training threads, while they go on (Hogwild, as their own updates: a
        signature sum a thread adds during the check may land in this interval or the next); it
        neither waits for them nor cuts the batch short, so its cost is the O(V) check alone, not
        idle threads. With ``workers=1`` it runs at a line end and the run stays bit-deterministic.
        """
        if self.detect is None:
            return []
        seen = self.params.counter("words_seen")
        va = self.vocab.arrays()
        rows = self.detect.check(va.counts, self.n_ids, seen)
        added = []
        itk = self.index_to_key
        due = self.change_log.due(seen)
        nbs = {}
        if len(rows) or due:  # one search for the records' neighbours, its query read before the restarts
            words = [itk[int(r)] for r in rows if itk[int(r)] is not None] + [p["word"] for p in due]
            search = self._export.neighbours_search(words, self.output, pool=CHANGE_NEIGHBOUR_POOL)
            if not background:
                nbs = search()
        if len(rows):
            for r in rows:
                word = itk[int(r)]
                if word is not None:
                    added.append(self.change_log.change(word, seen, self.detect.score(int(r)), nbs.get(word, [])))
            self.detect.restart(rows, va.counts)
            if self.average is not None:
                self.average.restart(rows, self.params.W, self.params.C)
            self._export.invalidate()
        for p in due:
            added.append(self.change_log.after(p["word"], p["change"], seen, nbs.get(p["word"])))
        if background and added:
            self.change_log.fill_later(self._record_searcher().submit(_fill_neighbours, search, added))
        return added

    def changes(self) -> list[dict]:
        """The words whose usage changed, oldest first: ``word``, ``tokens`` (``words_seen`` at the
        alarm), ``score`` (the CUSUM, standard deviations), ``neighbours_before`` (top 10 just before
        the word restarted), ``neighbours_after`` (top 10 ``follow_tokens`` later; None until then),
        ``rec`` (the record number). See :mod:`streamsgns.change`.
        """
        return self.change_log.events()

    @property
    def changes_count(self) -> int:
        """Change alarms raised so far (0 without change detection)."""
        return 0 if self.detect is None else int(self.detect.meta[0]["alarms"])

    def replay_idle(self, max_tokens: int = 20_000) -> int:
        """Replay up to about ``max_tokens`` buffered tokens now (a source waiting for data calls it).

        With ``replay="idle"`` (or any ``replay > 0``) this spends idle time on the replay buffer
        (:mod:`streamsgns.replay`): a slow stream gets better vectors, a fast one full speed.
        Idle replay depends on timing, so it is not reproducible; it never changes ``words_seen``
        nor the counts.

        Returns
        -------
        int
            Tokens replayed (0 when replay is off or nothing is buffered yet).
        """
        self._export.invalidate()
        return self._trainer.replay_round(int(max_tokens))

    def replay_end(self) -> int:
        """The input ended: train the sentences buffered since the last end again, in stream order.

        With ``replay_at="end"`` (:mod:`streamsgns.replay`) the sentences the buffer holds that were
        read since the last call are trained ``replay`` more times, oldest first (a fractional
        ``replay``: the last pass stops part way), and the averages are folded every
        ``average_every`` replayed tokens and at the end, so that the exported vectors follow.
        :meth:`learn_file` calls it at the file's end and ``streamsgns train`` at the end of its
        input; call it after ``learn_many`` / ``learn_text`` when an input ends. With ``workers=1``
        the result is deterministic. It never changes ``words_seen``, the counts, the noise table,
        the co-occurrence statistics or change detection (replayed pairs only move W and C).

        Returns
        -------
        int
            Tokens replayed (0 without a buffer, with ``replay_at="spread"``, or with nothing new).
        """
        r = self.replay_state
        if r is None or r.at != "end" or r.rate <= 0:
            return 0
        self.flush()
        start, stop = r.end_span()
        chunk = self.average.interval(self.n_ids) if self.average is not None else stop - start
        done = 0
        passes = r.rate
        while passes > 0 and stop > start:
            end = stop if passes >= 1 else start + int(passes * (stop - start))
            a = start
            while a < end:
                b = min(end, a + max(1, chunk))
                done += self._trainer.replay_span(a, b)
                self._export.invalidate()
                if self.average is not None:
                    self.fold_average()
                a = b
            passes -= 1
        r.mark_end()
        return done

    def reserve(self, n_ids: int) -> None:
        """Allocate rows for at least ``n_ids`` words now (capped at ``max_vocab``), instead of growing on the way.

        Growth doubles the arrays and copies them; reserving up front avoids the copies and
        changes no result.
        """
        self._trainer.grow(int(n_ids))

    def flush(self) -> None:
        """Wait for the training threads (``workers > 1``) to finish queued batches, and for the
        change records' neighbour searches."""
        if self._trainer is not None:
            self._trainer.flush()
        self.change_log.settle()

    def close(self) -> None:
        """Finish queued work and stop the training threads (and the thread of the records' searches)."""
        self._trainer.close()
        self.change_log.settle()
        searcher = self.__dict__.pop("_searcher", None)
        if searcher is not None:
            searcher.shutdown()

    def _record_searcher(self):
        """The one thread that runs the change records' neighbour searches of ``workers > 1``
        (:meth:`check_changes` with ``background=True``), made at the first."""
        searcher = self.__dict__.get("_searcher")
        if searcher is None:
            from concurrent.futures import ThreadPoolExecutor

            searcher = self._searcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="streamsgns-records")
        return searcher

    def pmi_report(self, top: int = 1000, **kw) -> dict:
        """Compare W·Cᵀ with PMI − log k over the ``top`` most frequent tracked words.

        See :func:`streamsgns.pmi.pmi_report` for the keys; this method picks the words and
        passes the running statistics of :mod:`streamsgns.cooc`.

        Raises
        ------
        ValueError
            If the model was built with ``track_cooc=False``.
        """
        return learner_pmi_report(self, top=top, **kw)
