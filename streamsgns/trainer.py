"""The driver of the kernels: text blocks in, one :func:`~streamsgns.kernels.process_block` call per block.

:class:`Trainer` sits between the river-style learner (:mod:`streamsgns.learner`) and the numba
kernels (:mod:`streamsgns.kernels`), the way gensim's ``word2vec`` drives ``word2vec_inner``. It
hands each component's bundle to the kernel, and acts on the statuses the kernel returns: grow the
arrays, mirror admissions into the Python word list, hand encoded batches to the training threads,
wait for them before an eviction.

With ``workers=1`` every chunk is trained as soon as it is encoded, so the result does not depend
on how the stream is cut into calls. With ``workers > 1`` the calling thread encodes a batch (a
part of a block, :data:`BATCH_BYTES`) while ``workers`` threads train the previous one without locks
(Hogwild, Recht et al. 2011). The batches are small so that the counts the encoder has reached, which
set the per-word steps and the subsampling, stay close to the sentences being trained; and the
averages fold at the line where they are due, after the threads have trained up to it (the kernel
pauses there for every number of workers). With one fold per call instead, the late words of a
one-pass run had few folds, and ``workers=2`` lost the per-word rule's analogy gain (0.159 against
0.178 on mix; 0.185 with the fold at its line). Three rules keep the threads safe:

- rows are never grown, evicted or re-used while a batch is in flight: growth waits for the
  batches (:meth:`Trainer.flush`), and an eviction returns :data:`~streamsgns.kernels.NEED_DRAIN`
  from the kernel *before* it changes anything, so the trainer waits and calls again;
- a training thread samples negatives from the noise table of its batch: a rebuild goes into new
  arrays (:meth:`~streamsgns.noise.NoiseDistribution.refresh` with ``swap=True``) and each batch
  holds its own copy of the table's record, so no table a thread reads is ever written;
- at most ``workers + 1`` batches are queued (bounded memory).

With a replay buffer (:mod:`streamsgns.replay`) the kernel also hands back the hashes of the
sentences it encodes; they go into the buffer, and every
:data:`~streamsgns.replay.REPLAY_EVERY` tokens a replay round trains the tokens owed (inline at a
line end with ``workers=1``, on the ``workers`` threads at the end of a call otherwise); with replay at
the end of the input, :meth:`Trainer.replay_span` trains a range of the buffer in stream order.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf

import numpy as np

from . import kernels as K
from .change import NO_DETECT
from .cooc import NO_COOC
from .forget import Forgetting
from .parameters import ParamArrays
from .replay import replay_in_order, replay_train

__all__ = ["Trainer"]

_NO_BATCH = K.new_batch(0, 0)
#: Size of an encoded batch (``workers > 1``) as :func:`~streamsgns.kernels.new_batch` takes it: a batch
#: is handed to the threads once it holds ``BATCH_BYTES // 3 + max_sentence_length`` ids (about 32k
#: tokens with the defaults, some tens of milliseconds of training), so the counts that set the
#: per-word steps run at most about two such batches ahead of training, not two whole blocks.
BATCH_BYTES = 1 << 16
NEVER = 1 << 62  # a pause_at no stream reaches


class Trainer:
    """Runs the kernels over blocks of text for one model's components.

    Parameters
    ----------
    cfg : streamsgns.kernels.KernelConfig
    workers : int
        Training threads (1: train inline, bit-reproducible).
    vocab : streamsgns.vocab.Vocabulary
    noise : streamsgns.noise.NoiseDistribution
    cooc : streamsgns.cooc.CooccurrenceStats or None
    params : streamsgns.parameters.SGNSParameters
    forget : streamsgns.forget.Forgetting, optional
        The forgetting schedule (default: never forget; ``cfg.half_life`` decides).
    detect : streamsgns.change.ChangeDetector, optional
        Per-word change detection (its step evidence and loss accumulators); None: off.
    replay : streamsgns.replay.ReplayBuffer, optional
        Recent sentences trained again (default: none).

    Notes
    -----
    The components are used, never copied: what the kernel writes lands in their arrays.
    """

    def __init__(self, cfg, workers, vocab, noise, cooc, params, forget=None, detect=None, replay=None):
        self.cfg = cfg
        self.detect = detect
        self.replay = replay
        # replayed pairs only move W and C: not counted again, not observed by change detection
        self._replay_cfg = cfg._replace(track_cooc=np.int64(0), observe=np.int64(0))
        self.workers = int(workers)
        self.vocab, self.noise, self.cooc, self.params = vocab, noise, cooc, params
        self.forget = forget if forget is not None else Forgetting(None)
        self._pool = None
        self._inflight: collections.deque = collections.deque()
        self.drains = 0  # waits for in-flight batches before an eviction (workers > 1)
        # periodic work at a line boundary: ``on_pause()`` runs when a line ends at or past ``pause_at``
        # tokens (with workers > 1, once the batch up to that line is handed to the threads), and sets
        # the next ``pause_at``
        self.pause_at = NEVER
        self.on_pause = None
        # workers > 1: called after each batch is handed to the threads, for periodic work that needs no
        # line boundary because it does not wait for the threads (change checks, folds of the averages):
        # a pause would cut the batch short, and short batches leave a thread idle while the other finishes
        self.on_batch = None
        self._entry = {}  # compiled process_block per argument-type key (see _process_block)

    def set_evidence(self, scale: float, offsets=None, gains=None, new_gain: float = 1.0,
                     max_step: float = np.inf, split: bool = False) -> None:
        """A replica's per-word steps (:func:`streamsgns.rates.row_alpha`), for training and replay alike.

        ``scale`` (float, 1.0: one process's steps, the arrays ignored), ``offsets`` and ``gains``
        ((n_ids,) float64, or None: zero-length), ``new_gain`` and ``max_step`` (float), ``split`` (bool):
        the kernel configuration's ``evidence_scale``, ``evidence_offset``, ``evidence_gain``,
        ``evidence_new_gain``, ``evidence_max_step`` and ``evidence_split`` (steps above ``max_step``
        taken as sub-updates, :func:`streamsgns.kernels.split_pair`; off at scale 1.0).

        Raises
        ------
        ValueError
            If ``offsets`` and ``gains`` differ in length, or ``split`` without a finite ``max_step > 0``.
        """
        self.flush()
        off = np.zeros(0, np.float64) if offsets is None else np.ascontiguousarray(offsets, dtype=np.float64)
        gain = np.ones(off.shape[0], np.float64) if gains is None else np.ascontiguousarray(gains, dtype=np.float64)
        if gain.shape != off.shape:
            raise ValueError(f"offsets and gains differ in shape: {off.shape} vs {gain.shape}")
        split = bool(split) and float(scale) != 1.0
        if split and not (np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"split steps need a finite max_step > 0, got {max_step!r}")
        ev = dict(evidence_scale=np.float64(scale), evidence_offset=off, evidence_gain=gain,
                  evidence_new_gain=np.float64(new_gain), evidence_max_step=np.float64(max_step),
                  evidence_split=np.int64(1 if split else 0))
        self.cfg = self.cfg._replace(**ev)
        self._replay_cfg = self._replay_cfg._replace(**ev)

    # ------------------------------------------------------------------ one block
    def learn_block(self, data: bytes, mode: int) -> None:
        """Learn from one block of ``\\n``-separated lines (mode 0: text, 1: ``\\x1f``-separated tokens).

        Raises
        ------
        RuntimeError
            If the kernel returns an unknown status (a bug).
        """
        if not data:
            return
        buf = np.frombuffer(data, dtype=np.uint8)
        train = self.workers == 1
        replay = self.replay
        record = replay is not None
        maxlen = self.cfg.max_sentence_length
        recorder = K.new_batch(buf.shape[0], maxlen, record=True) if record and train else _NO_BATCH
        pos = 0
        while True:
            if train:
                batch = recorder
            else:
                batch = K.new_batch(min(buf.shape[0], BATCH_BYTES), maxlen, record=record)
            may_evict = train or not self._inflight
            evicted = int(self.vocab.meta[0]["n_evicted"])
            pause_at = self.pause_at
            if train and replay is not None and replay.spread:
                pause_at = min(pause_at, replay.next_at)
            status, pos = self._process_block(buf, pos, mode, train, may_evict, self.cfg, self.vocab.arrays(),
                                              self.vocab.sketch.arrays(), self.noise.arrays(), self._cooc_arrays(),
                                              self.params.arrays(), self.forget.arrays(), batch, pause_at,
                                              self._detect_arrays())
            if status == K.FORGET:
                K.forget_block(self.cfg, self.forget.arrays(), self.vocab.arrays(), self.vocab.sketch.arrays(),
                               self._cooc_arrays(), self.noise.arrays(), self._detect_arrays(), batch, not train)
            self.vocab.apply_admissions(buf)
            if int(self.vocab.meta[0]["n_evicted"]) != evicted:  # at max_vocab, or faded (forgetting)
                self.vocab.drop_evicted()
            n_sent = int(batch.meta[0]["n_sent"])
            if record and n_sent > 0:
                replay.store(batch.hashes, batch.sent_out, n_sent)
            if not train and n_sent > 0:
                self._dispatch(batch)
                if self.on_batch is not None:
                    self.on_batch()
            elif record and train:
                batch.meta[0]["n_ids"] = 0
                batch.meta[0]["n_sent"] = 0
            if status == K.DONE:
                if not train and record and replay.spread and self._words_seen() >= replay.next_at:
                    self.replay_round()
                return
            if status == K.PAUSE:
                words = self._words_seen()
                if record and replay.spread and words >= replay.next_at:
                    self.replay_round()
                if words >= self.pause_at:
                    self.on_pause()
                continue
            if status == K.FORGET:
                continue
            if status == K.NEED_GROW:
                self.flush()
                self.grow(self.vocab.n_ids + 2 * self.cfg.max_sentence_length)
            elif status == K.NEED_DRAIN:
                self.drains += 1
                self.flush()
            elif status not in (K.EVENTS_FULL, K.OUT_FULL):
                raise RuntimeError(f"kernel returned unknown status {status}")

    def _words_seen(self) -> int:
        return int(self.params.meta[0]["words_seen"])

    # ------------------------------------------------------------------ replay
    def replay_round(self, budget: int | None = None) -> int:
        """Train buffered sentences again (:func:`streamsgns.replay.replay_train`).

        Parameters
        ----------
        budget : int, optional
            Tokens to replay now (idle replay); None: the tokens the schedule owes
            (``rate`` times those stored since the last round), and schedule the next round.

        Returns
        -------
        int
            Tokens replayed (0 without a buffer or with an empty one).
        """
        replay = self.replay
        if replay is None:
            return 0
        words = self._words_seen()
        owed = budget is None
        if owed:
            budget = replay.due_budget(words)
        if budget <= 0 or replay.meta[0]["filled"] < 2:
            if owed:
                replay.account(budget, 0, 0.0, 0, 0)
            return 0
        if self.workers == 1:
            cfg, alpha, ra, va, pa, ca, da, total = self._replay_context()
            results = [replay_train(ra, np.int64(budget), 1, cfg, alpha, total, pa, va.counts, self.noise.arrays(),
                                    va.keys, va.vals, ca, va.hashes, da)]
        else:
            self.flush()
            cfg, alpha, ra, va, pa, ca, da, total = self._replay_context()
            na = self.noise.arrays(snapshot=True)
            share = -(-budget // self.workers)
            futs = [self._threads().submit(replay_train, ra, np.int64(share), 1 + k, cfg, alpha, total, pa, va.counts,
                                           na, va.keys, va.vals, ca, va.hashes, da) for k in range(self.workers)]
            results = [f.result() for f in futs]
        return self._replay_account(results, budget, owed)

    def replay_span(self, start: int, stop: int) -> int:
        """Train the buffered sentences that start in ``[start, stop)`` in stream order
        (:func:`streamsgns.replay.replay_in_order`; offsets from the oldest buffered position).

        With ``workers > 1`` the range is cut into ``workers`` consecutive parts, one per thread.

        Returns
        -------
        int
            Tokens replayed.
        """
        replay = self.replay
        if replay is None or stop <= start:
            return 0
        self.flush()
        cfg, alpha, ra, va, pa, ca, da, total = self._replay_context()
        if self.workers == 1:
            results = [replay_in_order(ra, np.int64(start), np.int64(stop), 1, cfg, alpha, total, pa, va.counts,
                                       self.noise.arrays(), va.keys, va.vals, ca, va.hashes, da)]
        else:
            na = self.noise.arrays(snapshot=True)
            cuts = np.linspace(start, stop, self.workers + 1).astype(np.int64)
            futs = [self._threads().submit(replay_in_order, ra, cuts[k], cuts[k + 1], 1 + k, cfg, alpha, total, pa,
                                           va.counts, na, va.keys, va.vals, ca, va.hashes, da)
                    for k in range(self.workers)]
            results = [f.result() for f in futs]
        return self._replay_account(results, 0, False)

    def _replay_context(self) -> tuple:
        """What a replay call hands the kernels: its config, the step now, and the arrays (W and C
        with the replay's own RNG streams, :class:`~streamsgns.parameters.ParamArrays`)."""
        cfg = self._replay_cfg
        alpha = K.current_alpha(cfg, self.forget.alpha_tokens(self._words_seen()))
        ra = self.replay.arrays()
        pa = ParamArrays(self.params.W, self.params.C, ra.rng, self.params.meta)
        return cfg, alpha, ra, self.vocab.arrays(), pa, self._cooc_arrays(), self._detect_arrays(), self.vocab.total

    def _replay_account(self, results: list, budget: int, owed: bool) -> int:
        """Add the replay kernels' ``(tokens, loss, pairs, kept)`` to the replay's counters; the tokens."""
        tokens = sum(int(r[0]) for r in results)
        self.replay.account(budget, tokens, sum(float(r[1]) for r in results), sum(int(r[2]) for r in results),
                            sum(int(r[3]) for r in results), owed=owed)
        return tokens

    def _threads(self) -> cf.ThreadPoolExecutor:
        """The training threads (``workers``), started on first use."""
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sgns")
        return self._pool

    def _process_block(self, *args):
        """:func:`~streamsgns.kernels.process_block` through its compiled entry point.

        numba's dispatcher types every argument on every call; for the fourteen arguments here
        (bundles of some forty arrays) that costs about as much as training a short sentence, which
        is what ``learn_one`` pays per call. The bundles' types are fixed by the components (their
        dtypes, ranks and layouts never change, growth included); only the block's buffer may be
        read-only or writable. So the first call of each kind goes through the dispatcher (which
        compiles or loads the kernel), and later ones call the compiled function it resolved
        (numba's ``Dispatcher.get_overload``).
        """
        key = (args[0].flags.writeable, args[3])
        entry = self._entry.get(key)
        if entry is not None:
            return entry(*args)
        out = K.process_block(*args)
        sig = tuple(K.process_block.typeof_pyval(a) for a in args)
        self._entry[key] = K.process_block.get_overload(sig)
        return out

    def _cooc_arrays(self):
        return NO_COOC if self.cooc is None else self.cooc.arrays()

    def _detect_arrays(self):
        return NO_DETECT if self.detect is None else self.detect.arrays()

    def grow(self, needed: int) -> None:
        """Give every component room for ``needed`` ids (doubling, capped at ``max_vocab``)."""
        self.flush()
        self.fit(self.vocab.grow(needed))

    def fit(self, capacity: int) -> None:
        """Make the parameters, the noise table, the co-occurrence statistics and change detection
        as large as the vocabulary's ``capacity`` (ids; each component grows, never shrinks)."""
        self.params.grow(capacity)
        self.noise.grow(capacity)
        if self.cooc is not None:
            self.cooc.grow(capacity)
        if self.detect is not None:
            self.detect.grow(capacity)

    # ------------------------------------------------------------------ Hogwild threads
    def _dispatch(self, batch) -> None:
        vocab, noise = self.vocab, self.noise
        words_seen = int(self.params.meta[0]["words_seen"])
        if noise.refresh_due(words_seen, vocab.n_ids):
            noise.refresh(vocab.counts, vocab.n_ids, words_seen, swap=True)
        pool = self._threads()
        while len(self._inflight) > self.workers:
            self._collect(self._inflight.popleft())
        n_sent = int(batch.meta[0]["n_sent"])
        sent_out = batch.sent_out
        bounds = np.searchsorted(sent_out[: n_sent + 1], np.linspace(0, sent_out[n_sent], self.workers + 1))
        bounds[0], bounds[-1] = 0, n_sent
        na = noise.arrays(snapshot=True)
        ca = self._cooc_arrays()
        pa = self.params.arrays()
        da = self._detect_arrays()
        total = vocab.total
        for k in range(self.workers):
            s0, s1 = int(bounds[k]), int(bounds[k + 1])
            if s1 > s0:
                self._inflight.append(pool.submit(K.train_batch, batch, s0, s1, self.cfg, total, pa,
                                                  vocab.counts, na, 1 + k, ca, vocab.hashes, da))

    def _collect(self, fut) -> None:
        loss, pairs, kept = fut.result()
        m = self.params.meta[0]
        m["loss"] += loss
        m["loss_n"] += pairs
        m["pairs"] += pairs
        m["kept"] += kept

    def flush(self) -> None:
        """Wait for the training threads (``workers > 1``) to finish every queued batch."""
        while self._inflight:
            self._collect(self._inflight.popleft())

    def close(self) -> None:
        """Finish queued work and stop the training threads."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
