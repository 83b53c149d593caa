"""The learner's state on disk and in memory: one nested dict of the components' own state dicts.

Why a module of its own? A model is a handful of components (vocabulary and sketch, noise
distribution, co-occurrence statistics, W and C, forgetting, averages, change detector, replay
buffer), each owning its arrays and its ``state_dict()`` / ``from_state()``. Saving a model is
gathering those dicts; loading one is rebuilding each component *and* checking that they agree
with each other and with the model's parameters (a sketch of another shape, rows beyond the
vocabulary, a schedule of another half-life). That checking is the bulk of the work, and it is
here, apart from the learning.

When to use it: through :class:`streamsgns.SGNS` (``state_dict``, ``from_state``, ``save``,
``load``, ``save_word2vec_format`` call the functions of this module). The functions read only
the model's public attributes and river's ``_get_params``; the file format is :mod:`streamsgns.io.checkpoint`'s, which knows
nothing of the learner, and the word2vec format :mod:`streamsgns.io.word2vec`'s.
"""

from __future__ import annotations

from typing import NamedTuple

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

__all__ = ["model_state_dict", "stored_params", "components_from_state", "Components", "save_model", "load_model",
           "save_model_vectors"]


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


def model_state_dict(model) -> dict:
    """The whole state of ``model`` (a :class:`streamsgns.SGNS`): each component's ``state_dict()`` and the settings.

    Returns
    -------
    dict
        The keys listed by :meth:`streamsgns.SGNS.state_dict`. Arrays are views of the live
        state: copy them before the model learns on.
    """
    model.flush()
    n = model.n_ids
    params = model._get_params()  # river's: the constructor's arguments
    if params.get("tokenizer") is not None:
        params["tokenizer"] = None  # a callable cannot be stored; pass it to load()
    return {"params": params, "vocab": model.vocab.state_dict(), "noise": model.noise.state_dict(),
            "cooc": None if model.cooc is None else model.cooc.state_dict(n),
            "parameters": model.params.state_dict(n), "forget": model.forget.state_dict(),
            "stats": dict(model.stats), "average": None if model.average is None else model.average.state_dict(n),
            "change": None if model.detect is None else model.detect.state_dict(n),
            "change_log": model.change_log.state_dict(),
            # only with replay on: replicas (streamsgns.distributed) have no rule to merge a buffer
            **({} if model.replay_state is None else {"replay": model.replay_state.state_dict()})}


def stored_params(state: dict, overrides: dict) -> dict:
    """The constructor's arguments of a stored state, ``overrides`` applied.

    A state written before per-word steps existed was trained with the global rule
    (``word_decay=None``), and one written before shared negatives with a fresh draw per pair.

    Raises
    ------
    KeyError
        If the state has no ``params``.
    """
    return {"word_decay": None, "shared_negatives": False, **state["params"], **overrides}


class Components(NamedTuple):
    """The components of a model, in the order :class:`streamsgns.SGNS` installs them.

    ``average``, ``detect`` and ``replay`` are None when the state has none (the model then
    starts new ones); ``change_log`` is None for a state written before change records existed.
    """

    vocab: Vocabulary
    noise: NoiseDistribution
    cooc: CooccurrenceStats | None
    parameters: SGNSParameters
    forget: Forgetting
    average: IterateAverage | None
    detect: ChangeDetector | None
    change_log: ChangeLog | None
    replay: ReplayBuffer | None


def components_from_state(state: dict, model, overridden, capacity: int, sketch_halving: int,
                          average_horizon: float | None) -> Components:
    """Rebuild every component of a stored state, checked against ``model``'s parameters and each other.

    Parameters
    ----------
    state : dict
        :func:`model_state_dict` output.
    model : streamsgns.SGNS
        A model built with the state's parameters (:func:`stored_params`); only its public
        parameters and its new replay buffer's settings are read.
    overridden : collection of str
        Parameters the caller replaced: a replaced ``half_life`` restarts the forgetting schedule,
        a replaced ``sketch_halving_tokens`` the sketch's aging interval.
    capacity : int
        Rows of a new model's arrays (ids); the arrays grow to hold the stored vocabulary.
    sketch_halving : int
        The sketch's aging interval in tokens (0: never) the parameters give.
    average_horizon : float or None
        Tokens of the averages' fold-weight floor the parameters give (:mod:`streamsgns.averaging`).

    Returns
    -------
    Components

    Raises
    ------
    streamsgns._state.StateError
        If a component's state is malformed, breaks an invariant, or disagrees with another's or
        with the parameters.
    """
    m = model
    vocab = Vocabulary.from_state(state["vocab"], max_events=4 * m.max_sentence_length)
    n = vocab.n_ids
    cap0 = capacity
    cap = cap0 if n <= cap0 else min(m.max_vocab, max(2 * cap0, n))
    if vocab.min_count != m.min_count or vocab.max_vocab != m.max_vocab:
        raise StateError("vocab: min_count/max_vocab differ from the parameters")
    if vocab.sketch.table.shape != (m.sketch_depth, m.sketch_width):
        raise StateError(f"sketch: stored shape {vocab.sketch.table.shape} differs from the parameters")
    # the sketch's aging interval: a state from before aging existed, or an explicit override, takes the
    # parameter's; otherwise the stored schedule must be the parameter's
    sk = vocab.sketch.meta[0]
    want = sketch_halving
    if "halve_every" not in state["vocab"]["sketch"] or "sketch_halving_tokens" in overridden:
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
    forget = _forget_from_state(state.get("forget"), m.half_life, "half_life" in overridden,
                                int(parameters.meta[0]["words_seen"]))
    average = None
    if m.average_eta is not None and state.get("average") is not None:
        average = IterateAverage.from_state(state["average"], vocab.capacity, m.vector_size)
        if average.steps[n:].any():
            raise StateError("average: rows beyond the vocabulary")
        # the settings are the parameters' (a resumed run may change them); the averages are kept
        average.eta, average.every, average.horizon = float(m.average_eta), m.average_every, average_horizon
    detect = None
    if m.detect_changes and state.get("change") is not None:
        # the settings are the parameters' (a resumed run may change them); the rows are kept
        detect = ChangeDetector.from_state(state["change"], vocab.capacity, check_every=m.change_every,
                                           threshold=m.change_threshold)
        if detect.obs[n:].any() or detect.base[n:].any():
            raise StateError("change detector: rows beyond the vocabulary")
    log = ChangeLog.from_state(state["change_log"]) if state.get("change_log") is not None else None
    replay = None
    if m.replay_state is not None and state.get("replay") is not None:
        r = m.replay_state
        replay = ReplayBuffer.from_state(state["replay"], r.rate, r.size, m.seed, m.workers, r.idle, r.at)
    return Components(vocab, noise, cooc, parameters, forget, average, detect, log, replay)


def save_model_vectors(model, path, binary: bool = False, kind: str | None = None) -> int:
    """:meth:`streamsgns.SGNS.save_word2vec_format`: the exported vectors of ``kind`` (default the
    model's ``output``), words by decreasing count, through :func:`streamsgns.io.word2vec.save_word2vec_format`.

    Returns the number of words written; raises ``ValueError`` if the vectors hold NaN or inf.
    """
    vecs = model.vectors(kind)
    counts = model.counts
    alive = np.flatnonzero(counts > 0)
    order = alive[np.argsort(-counts[alive], kind="stable")]
    itk = model.index_to_key
    return save_word2vec_format(path, [itk[i] for i in order], vecs, binary=binary, rows=order)


def save_model(model, path, position: dict | None = None, extra: dict | None = None) -> str:
    """:meth:`streamsgns.SGNS.save`: :func:`model_state_dict` and a manifest (``words_seen``,
    ``vocab_size``, ``n_ids``, ``position``, ``extra``), written by :func:`~streamsgns.io.checkpoint.save_checkpoint`.

    Returns the path written. Raises ``ValueError`` if W or C hold NaN or inf (nothing is written),
    ``OSError`` on write failure (an older file at ``path`` is left intact).
    """
    state = model_state_dict(model)
    if not model.params.finite(model.n_ids):
        raise ValueError("refusing to checkpoint a model whose W or C holds NaN or inf")
    meta = {"words_seen": model.words_seen, "vocab_size": model.vocab_size, "n_ids": model.n_ids,
            "position": model.source_position if position is None else position, "extra": extra or {}}
    return save_checkpoint(path, state, meta)


def load_model(cls, path, **overrides):
    """:meth:`streamsgns.SGNS.load`: a new ``cls`` (``cls.from_state(state, **overrides)``) from the
    checkpoint at ``path``, its ``source_position`` the stored one.

    Raises :class:`~streamsgns.io.checkpoint.CheckpointError` if the file is missing, truncated,
    corrupted, of another format, or holds a state that fails validation.
    """
    manifest, state = read_checkpoint(path)
    try:
        m = cls.from_state(state, **overrides)
    except StateError as e:
        raise CheckpointError(f"{path}: invalid state ({e})") from e
    m.source_position = manifest.get("position")
    return m
