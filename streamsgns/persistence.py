"""The learner's state and persistence: ``state_dict`` / ``from_state``, checkpoints, word2vec export.

:class:`ModelState` is a mixin of :class:`streamsgns.SGNS` (kept apart so that the learner
stays readable): it gathers the dicts of the components' own ``state_dict()`` into one nested dict,
rebuilds a model from one (validating each component and their agreement), and hands the
dict to :mod:`streamsgns.io.checkpoint`, which knows nothing of the learner.
"""

from __future__ import annotations

import numpy as np

from ._state import StateError
from .averaging import IterateAverage
from .change import ChangeDetector, ChangeLog
from .cooc import CooccurrenceStats
from .forget import Forgetting
from .io.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .io.word2vec import save_word2vec_format
from .noise import NoiseDistribution
from .parameters import SGNSParameters
from .replay import ReplayBuffer
from .vocab import Vocabulary

__all__ = ["ModelState"]


def _forget_from_state(state, half_life, overridden: bool, words_seen: int) -> Forgetting:
    """The forgetting schedule of a state; ``half_life`` the model's parameter.

    A state without one (written before forgetting existed) starts the schedule now. A stored
    half-life other than the parameter's is refused, unless ``half_life`` was overridden at load:
    the schedule then restarts now, its learning-rate ``t`` continuing from the old one's.
    """
    if state is None:
        old = Forgetting(None)
    else:
        old = Forgetting.from_state(state)
        if old.half_life == (None if half_life is None else float(half_life)):
            return old
        if not overridden:
            raise StateError(f"forget: stored half_life {old.half_life} differs from the parameters' {half_life}")
    new = Forgetting(half_life)
    if half_life is not None:
        new.meta[0]["decayed_tokens"] = old.alpha_tokens(words_seen)
    new.meta[0]["n_decays"] = old.meta[0]["n_decays"]
    new.meta[0]["n_faded"] = old.meta[0]["n_faded"]
    return new


class ModelState:
    """State dict, checkpoints and word2vec export of :class:`streamsgns.SGNS` (a mixin)."""

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
        self.flush()
        n = self.n_ids
        params = self._get_params()
        if params.get("tokenizer") is not None:
            params["tokenizer"] = None  # a callable cannot be stored; pass it to load()
        return {"params": params, "vocab": self.vocab.state_dict(), "noise": self.noise.state_dict(),
                "cooc": None if self.cooc is None else self.cooc.state_dict(n),
                "parameters": self.params.state_dict(n), "forget": self.forget.state_dict(),
                "stats": dict(self.stats), "average": None if self.average is None else self.average.state_dict(n),
                "change": None if self.detect is None else self.detect.state_dict(n),
                "change_log": self.change_log.state_dict(),
                # only with replay on: replicas (streamsgns.distributed) have no rule to merge a buffer
                **({} if self.replay_state is None else {"replay": self.replay_state.state_dict()})}

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
            # a state written before per-word steps existed was trained with the global rule, and
            # one written before shared negatives with a fresh draw per pair
            params = {"word_decay": None, "shared_negatives": False, **state["params"], **overrides}
            m = cls(**params)
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f"params: {e}") from e
        vocab = Vocabulary.from_state(state["vocab"], max_events=4 * m.max_sentence_length)
        n = vocab.n_ids
        cap0 = m._initial_capacity()
        cap = cap0 if n <= cap0 else min(m.max_vocab, max(2 * cap0, n))
        if vocab.min_count != m.min_count or vocab.max_vocab != m.max_vocab:
            raise StateError("vocab: min_count/max_vocab differ from the parameters")
        if vocab.sketch.table.shape != (m.sketch_depth, m.sketch_width):
            raise StateError(f"sketch: stored shape {vocab.sketch.table.shape} differs from the parameters")
        # the sketch's aging interval: a state from before aging existed, or an explicit override, takes the
        # parameter's; otherwise the stored schedule must be the parameter's
        sk = vocab.sketch.meta[0]
        want = m._sketch_halving()
        if "halve_every" not in state["vocab"]["sketch"] or "sketch_halving_tokens" in overrides:
            sk["halve_every"] = want
            sk["since_halving"] = sk["since_halving"] % want if want else 0
        elif int(sk["halve_every"]) != want:
            raise StateError(f"sketch: stored aging interval {int(sk['halve_every'])} differs from the parameters' {want}")
        vocab.grow(cap)
        noise = NoiseDistribution.from_state(state["noise"], capacity=vocab.capacity)
        if noise.n > n:
            raise StateError(f"noise: {noise.n} columns for {n} ids")
        cooc = None
        if m.track_cooc:
            if state.get("cooc") is None:
                raise StateError("cooc: statistics missing for a model that tracks them")
            cooc = CooccurrenceStats.from_state(state["cooc"], capacity=vocab.capacity)
            shape = (cooc.top_n, cooc.csk.shape[0], cooc.sketch_rate)
            want = (m.cooc_top_n, m.cooc_sketch_depth if m.cooc_sketch_width else 0, m.cooc_sketch_rate)
            if shape != want or (want[1] and cooc.csk.shape[1] != m.cooc_sketch_width):
                raise StateError(f"cooc: stored tables (top_n, depth, rate) {shape} differ from the parameters {want}")
            if cooc.cmeta.shape[0] < n or (cooc.cmeta[n:, 0] != -1).any():
                raise StateError("cooc: per-id statistics do not cover the vocabulary")
        parameters = SGNSParameters.from_state(state["parameters"], vocab.capacity, m.vector_size, m.workers, m.seed)
        if parameters.tied != bool(m.tied) or int(np.count_nonzero(parameters.W[n:])) != 0:
            raise StateError("parameters: W/C rows do not match the vocabulary or the tied setting")
        forget = _forget_from_state(state.get("forget"), m.half_life, "half_life" in overrides,
                                    int(parameters.meta[0]["words_seen"]))
        average = None
        if m.average_eta is not None and state.get("average") is not None:
            average = IterateAverage.from_state(state["average"], vocab.capacity, m.vector_size)
            if average.steps[n:].any():
                raise StateError("average: rows beyond the vocabulary")
            # the settings are the parameters' (a resumed run may change them); the averages are kept
            average.eta, average.every, average.horizon = float(m.average_eta), m.average_every, m._average_horizon()
        detect = None
        if m.detect_changes and state.get("change") is not None:
            # the settings are the parameters' (a resumed run may change them); the rows are kept
            detect = ChangeDetector.from_state(state["change"], vocab.capacity, check_every=m.change_every,
                                               threshold=m.change_threshold)
            if detect.obs[n:].any() or detect.base[n:].any():
                raise StateError("change detector: rows beyond the vocabulary")
        # a state written before change detection existed starts detection now, from every word's
        # current count as its step evidence (what the model was trained with)
        log = ChangeLog.from_state(state["change_log"]) if state.get("change_log") is not None else None
        replay = None
        if m.replay_state is not None and state.get("replay") is not None:
            r = m.replay_state
            replay = ReplayBuffer.from_state(state["replay"], r.rate, r.size, m.seed, m.workers, r.idle)
        m._set_components(vocab, noise, cooc, parameters, forget, average, detect, log, replay)
        if m.detect is not None and state.get("change") is None:
            m.detect.meta[0]["next_check"] = int(parameters.meta[0]["words_seen"]) + m.change_every
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
        vecs = self.vectors(kind)
        counts = self.counts
        alive = np.flatnonzero(counts > 0)
        order = alive[np.argsort(-counts[alive], kind="stable")]
        itk = self.index_to_key
        return save_word2vec_format(path, [itk[i] for i in order], vecs, binary=binary, rows=order)

    def save(self, path, position: dict | None = None, extra: dict | None = None) -> str:
        """Write a full checkpoint (:func:`streamsgns.io.checkpoint.save_checkpoint`), atomically.

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
        state = self.state_dict()
        if not self.params.finite(self.n_ids):
            raise ValueError("refusing to checkpoint a model whose W or C holds NaN or inf")
        meta = {"words_seen": self.words_seen, "vocab_size": self.vocab_size, "n_ids": self.n_ids,
                "position": self.source_position if position is None else position, "extra": extra or {}}
        return save_checkpoint(path, state, meta)

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
        manifest, state = read_checkpoint(path)
        try:
            m = cls.from_state(state, **overrides)
        except StateError as e:
            raise CheckpointError(f"{path}: invalid state ({e})") from e
        m.source_position = manifest.get("position")
        return m
