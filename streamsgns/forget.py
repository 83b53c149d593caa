"""Exponential forgetting: every count decays as ``2 ** (-tokens / half_life)``.

With ``SGNS(half_life=H)`` an occurrence seen ``a`` tokens ago weighs ``2 ** (-a / H)`` in every
count the model keeps: the admitted words' counts (hence the noise distribution ∝ count^0.75,
rebuilt from them, the subsampling frequencies ``count / total`` and the eviction ranking at
``max_vocab``), the count-min sketch of words not yet admitted, and the co-occurrence statistics
``#(w,c)``, ``#(w)``, ``#(c)``, ``|D|`` (so the live PMI report compares a model that follows the
stream with counts that follow it too). ``half_life=None`` changes nothing: this stage never runs.

**Schedule (lazy, in bulk).** Counts are left alone between *decay steps*: a step runs at the
first sentence chunk that starts once ``every = max(1, H // DECAY_STEPS)`` tokens (``DECAY_STEPS
= 16``) have been seen since the last one, and multiplies every count by ``2 ** (-s / H)``, ``s``
the tokens since the last step (``s`` is ``every`` plus at most one chunk). So weights are exact
at each step and, in between, an occurrence is over-weighted by at most a factor
``2 ** (s / H) ≈ 2 ** (1/16) = 1.044`` (4.4 %) relative to the exact law. A step costs
O(V + cooc cells) (about 3M cells with the defaults: ``1000²`` exact pairs, ``2 × 2**20`` pair
sketch) once every ``H / 16`` tokens, plus a halving of the ``4 × 2**20`` unigram sketch once
every ``H`` tokens: with ``H = 5e7`` about 1.1 cell updates per token, amortised O(1)
(measured: ``benchmarks/drift/forget_cost.py``).
A step is at a sentence-chunk boundary and depends only on the token count, so a loop of
``learn_one``, one ``learn_many`` and a resumed run decay at the same moments (bit-identical
with ``workers=1``). With ``workers > 1`` the kernel first waits for the batches in flight
(:data:`~streamsgns.kernels.NEED_DRAIN`), since a step may evict rows.

**Rounding.** Counts are integers. Exact counts (vocabulary counts, ``#(w)``, ``#(c)``, exact
``#(w,c)`` cells) are rounded *stochastically*: ``c' = floor(c·f) + [u < c·f − floor(c·f)]``,
unbiased (``E[c'] = c·f``), with ``u`` a hash of the word's (or cell's) key and the step number
(:func:`stochastic_round`): deterministic, and independent of the training RNG streams. Floor
rounding would be biased: a count of 5 would drop by 1 at every step and reach 0 after H/3
tokens instead of about 2.3·H. The two count-min sketches (words not yet admitted, untracked
pairs) round *down*: floor is monotone, so a cell that was >= the decayed counts of its keys
stays >= their floor-decayed counts — the sketch never undercounts the stream decayed with the
same floors (the guarantee of :mod:`streamsgns.sketch`). The pair sketch is scaled at every step,
in integer fixed point (``floor(v · floor(f·2**32) / 2**32)``: a floor at most 1 lower, still
monotone; its weights are multiples of ``sketch_rate``, so a floor loses under 1/64 of a cell). The
sketch of words not yet admitted holds counts below ``min_count``, where a floor every ``H/16``
tokens would erase a count of 1 at once (a word would have to be seen ``min_count`` times
between two steps to be admitted), so it is *halved* (an exact shift, floor) each time ``H``
tokens have passed (``sketch_since``): its estimates lie between the exactly decayed counts and
twice them, less at most 1 per halving. It also keeps its own aging (halving every
``sketch_halving_tokens`` tokens of unadmitted words): both apply. ``|D|`` is rounded to nearest.

**Faded words.** At a step, an admitted word whose decayed count rounds below ``fade_count =
max(1, ceil(min_count / 8))`` is evicted at once, before ``max_vocab`` is reached (its id is
freed, its row re-initialised when reused, as at ``max_vocab``): memory follows the live
vocabulary. For ``min_count <= 8`` that is a count rounding to 0: a word with count 1 survives a
step with probability ``2 ** (-s / H)`` (≈ 0.958), so a word last seen with count ``c`` fades
about ``(log2 c + 1.5) · H`` tokens later.

**Learning rate** (:mod:`streamsgns.rates`). By default each row moves with a step from its own
word's count ``n``, ``max(min_alpha, alpha / (1 + n / word_decay))`` (``alpha = 0.05,
word_decay = 2000``). With forgetting, ``n`` is the word's *decayed* count: a word seen at a steady
rate of ``r`` occurrences per token holds about ``r · H / ln 2``, so its step settles at
``alpha / (1 + r · H / (ln 2 · word_decay))`` instead of decaying to ``min_alpha``, and a word
whose use stops and starts again gets large steps back as its old count fades. With the global
rule (``word_decay=None``, ``alpha_t = max(min_alpha, alpha / (1 + t / decay_tokens))``), ``t`` is
the decayed token count ``t = Σ_tokens 2 ** (-age / H)``, which the schedule keeps exactly
(:func:`alpha_tokens`): ``t`` tends to ``H / ln 2``, so ``alpha_t`` settles at
``alpha / (1 + H / (ln 2 · decay_tokens))`` (0.0054 for ``H = 5e7``, ``alpha = 0.025``,
``decay_tokens = 2e7``). Either way a stream that keeps changing keeps being learnt at a steady
step (a Robbins–Monro ``1/n`` schedule whose evidence is forgotten at the same rate as the counts).

State: :class:`Forgetting` owns one record, :data:`FORGET_RECORD`; its ``state_dict()`` is
``{"half_life": H or None, "since", "n_decays", "decayed_tokens", "n_faded", "sketch_since"}`` (the record's
fields, see there). **Replicas** (:mod:`streamsgns.distributed`) decay by the merged token count:
inside a round a replica takes no decay step and only counts its tokens in ``since``
(:meth:`streamsgns.SGNS.defer_round_steps`); the merge adds the replicas' ``since`` increments, and
when the merged ``since`` reaches ``every`` the step runs at the round boundary on the merged
state — on the merge actor and on every replica, bit for bit the same step (its rounding is keyed
by word hashes, merged ids and the step number, not by any replica's RNG), so it is never shipped
(:func:`streamsgns.distributed.rounds.round_steps`). The step's factor is ``2 ** (-s / H)`` with
``s`` the merged tokens since the last step, as one process's step at its next chunk would be.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_delta_keys, new_record, record_from_dict, record_to_dict
from .change import detector_decay
from .cooc import M_C, M_W, cooc_release
from .hashing import GOLDEN, mix64, unit_float
from .noise import noise_force_refresh
from .sketch import halve_table
from .vocab import vocab_free

__all__ = ["Forgetting", "ForgetArrays", "FORGET_RECORD", "DECAY_STEPS", "forget_every", "fade_count",
           "stochastic_round", "forget_step", "alpha_tokens", "decayed_tokens"]

#: Decay steps per half-life: counts are exact at each step and off by at most 2**(1/16) between.
DECAY_STEPS = 16

#: Scalars of the forgetting schedule: ``since`` tokens seen since the last decay step (int64);
#: ``n_decays`` steps so far (int64); ``decayed_tokens`` the decayed token count ``Σ 2**(-age/H)``
#: at the last step (float64, the learning rate's ``t``); ``n_faded`` words evicted because their
#: decayed count faded below ``fade_count`` (int64); ``sketch_since`` tokens (at decay steps) since the
#: unigram sketch was last halved (int64).
FORGET_RECORD = np.dtype([("since", np.int64), ("n_decays", np.int64), ("decayed_tokens", np.float64),
                          ("n_faded", np.int64), ("sketch_since", np.int64)])

#: What the kernels receive: ``meta`` (1,) :data:`FORGET_RECORD`.
ForgetArrays = namedtuple("ForgetArrays", "meta")

_LN2 = math.log(2.0)


def forget_every(half_life) -> int:
    """Tokens between two decay steps: ``max(1, half_life // DECAY_STEPS)``; 0 without a half-life.

    Examples
    --------
    >>> forget_every(50_000_000), forget_every(None)
    (3125000, 0)
    """
    return 0 if half_life is None else max(1, int(float(half_life) // DECAY_STEPS))


def fade_count(min_count: int) -> int:
    """Counts below this (after a decay step) evict a word: ``max(1, ceil(min_count / 8))``.

    Examples
    --------
    >>> fade_count(5), fade_count(20)
    (1, 3)
    """
    return max(1, -(-int(min_count) // 8))


@njit(cache=True, nogil=True, inline="always")
def stochastic_round(x, key):
    """``floor(x)`` plus 1 with probability ``x - floor(x)``, the draw a hash of ``key`` (uint64): unbiased."""
    fl = math.floor(x)
    u = unit_float(mix64(key))
    return np.int64(fl) + (np.int64(1) if u < x - fl else np.int64(0))


@njit(cache=True, nogil=True, inline="always")
def decayed_tokens(half_life, d0, s):
    """Decayed token count ``s`` tokens after a step where it was ``d0``: ``d0·g + (H/ln 2)(1 − g)``, ``g = 2**(-s/H)``.

    The integral of ``2**(-age/H)`` over the ``s`` new tokens plus the old count decayed by ``g``.
    """
    g = 2.0 ** (-np.float64(s) / half_life)
    return d0 * g + half_life / _LN2 * (1.0 - g)


@njit(cache=True, nogil=True, inline="always")
def alpha_tokens(cfg, fa, words_seen):
    """The learning rate's ``t`` (float64): ``words_seen`` without a half-life, else the decayed token count."""
    if cfg.half_life <= 0.0:
        return np.float64(words_seen)
    m = fa.meta[0]
    return decayed_tokens(cfg.half_life, m.decayed_tokens, m.since)


@njit(cache=True, nogil=True)
def _vocab_forget(va, factor, salt, fade):
    """Decay the admitted words' counts (stochastic rounding); evict those below ``fade``. Returns the number evicted."""
    m = va.meta[0]
    counts = va.counts
    total = np.int64(0)
    n_faded = np.int64(0)
    for i in range(m.next_id):
        c = counts[i]
        if c <= 0:
            continue
        c = stochastic_round(np.float64(c) * factor, va.hashes[i] ^ salt)
        if c < fade:
            vocab_free(va, i)
            n_faded += 1
        else:
            counts[i] = c
            total += c
    m.total = total  # the decayed counts' sum (vocab_free's subtraction of the old count is superseded)
    return n_faded


@njit(cache=True, nogil=True)
def _scale_down(table, factor):
    """``table[...] = floor(table · m / 2**32)``, ``m = floor(factor · 2**32)``: a floor of ``table · factor``
    (at most 1 lower), in integer arithmetic the compiler vectorises. (depth, width) uint32, in place."""
    mul = np.uint64(math.floor(factor * 4294967296.0))
    s32 = np.uint64(32)
    depth, width = table.shape
    for r in range(depth):
        for j in range(width):
            table[r, j] = np.uint32((np.uint64(table[r, j]) * mul) >> s32)


@njit(cache=True, nogil=True)
def _cooc_forget(ca, factor, salt, n_ids):
    """Decay the co-occurrence statistics: marginals and exact cells stochastically, the pair sketch down."""
    cmeta = ca.cmeta
    for i in range(min(n_ids, cmeta.shape[0])):
        for col in (M_W, M_C):
            v = cmeta[i, col]
            if v > 0:
                cmeta[i, col] = stochastic_round(np.float64(v) * factor,
                                                 salt ^ (np.uint64(2 * i + col) * GOLDEN))
    clo, chi = ca.clo, ca.chi
    t = clo.shape[0]
    for a in range(t):
        for b in range(t):
            v = (np.int64(chi[a, b]) << 16) | np.int64(clo[a, b])
            if v > 0:
                v = stochastic_round(np.float64(v) * factor, salt ^ (np.uint64(a * t + b + 1) * GOLDEN + GOLDEN))
                clo[a, b] = np.uint16(v & 0xFFFF)
                chi[a, b] = np.uint16(v >> 16)
    _scale_down(ca.csk, factor)
    cm = ca.meta[0]
    cm.total = np.int64(math.floor(np.float64(cm.total) * factor + 0.5))


@njit(cache=True, nogil=True)
def forget_step(cfg, fa, va, sk, ca, na, da):
    """One decay step now: multiply every count by ``2 ** (-since / half_life)``, evict the faded words.

    The vocabulary (stochastic rounding, faded words evicted and their co-occurrence slots
    released), the co-occurrence statistics, the unigram sketch and its ``total`` (halved, floor,
    for each ``half_life`` tokens passed since its last halving);
    the noise table is rebuilt before its next use; ``since`` restarts at 0. The caller
    guarantees that no training thread holds a batch (ids may be freed). The step-evidence bases of
    change detection (``da.base``, :mod:`streamsgns.change`) are scaled by the same factor (floor), so
    that the evidence ``count − base`` decays like the counts it is taken from.

    Returns
    -------
    int
        Words evicted because their count faded.
    """
    fm = fa.meta[0]
    s = fm.since
    factor = 2.0 ** (-np.float64(s) / cfg.half_life)
    salt = mix64(np.uint64(fm.n_decays + 1) * GOLDEN)
    fm.decayed_tokens = decayed_tokens(cfg.half_life, fm.decayed_tokens, s)
    before = va.meta[0].n_free
    n_faded = _vocab_forget(va, factor, salt, cfg.fade_count)
    detector_decay(da, factor, va.meta[0].next_id)
    if ca.cmeta.shape[0] > 0:
        for q in range(before, va.meta[0].n_free):
            cooc_release(va.free_ids[q], ca)
        _cooc_forget(ca, factor, salt, va.meta[0].next_id)
    fm.sketch_since += s
    skm = sk.meta[0]
    while np.float64(fm.sketch_since) >= cfg.half_life:
        halve_table(sk.table)
        skm.total >>= 1
        fm.sketch_since -= np.int64(math.ceil(cfg.half_life))
    noise_force_refresh(na)
    fm.since = 0
    fm.n_decays += 1
    fm.n_faded += n_faded
    return n_faded


class Forgetting:
    """The forgetting schedule's state (one record); the counts it decays belong to their components.

    Parameters
    ----------
    half_life : float or None
        Tokens after which a count has halved; None: never forget (the kernel skips this stage).

    Attributes
    ----------
    meta : ndarray, shape (1,), :data:`FORGET_RECORD`
        ``since``, ``n_decays``, ``decayed_tokens``, ``n_faded``, ``sketch_since``.

    Examples
    --------
    >>> f = Forgetting(1000.0)
    >>> f.every, f.alpha_tokens(0)
    (62, 0.0)
    >>> round(Forgetting(1000.0).alpha_tokens(10**9))  # no step yet: since = 0, decayed_tokens = 0
    0
    >>> sorted(f.state_dict())
    ['decayed_tokens', 'half_life', 'n_decays', 'n_faded', 'since', 'sketch_since']
    """

    def __init__(self, half_life=None):
        self.half_life = None if half_life is None else float(half_life)
        self.meta = new_record(FORGET_RECORD)

    @property
    def every(self) -> int:
        """Tokens between two decay steps (0 without a half-life)."""
        return forget_every(self.half_life)

    def arrays(self) -> ForgetArrays:
        """The bundle the kernels update in place."""
        return ForgetArrays(self.meta)

    def alpha_tokens(self, words_seen: int) -> float:
        """The learning rate's ``t`` for the next token (see the module docstring)."""
        if self.half_life is None:
            return float(words_seen)
        m = self.meta[0]
        return float(decayed_tokens(self.half_life, float(m["decayed_tokens"]), int(m["since"])))

    def state_dict(self) -> dict:
        """``half_life`` (float or None) and the :data:`FORGET_RECORD` scalars (JSON-serialisable)."""
        return {"half_life": self.half_life, **record_to_dict(self.meta)}

    @classmethod
    def from_state(cls, state: dict) -> "Forgetting":
        """Rebuild from :meth:`state_dict` output.

        Raises
        ------
        StateError
            If a scalar is missing, not finite, or negative, or ``half_life`` is not None or > 0.
        """
        hl = state.get("half_life")
        if hl is not None and (isinstance(hl, bool) or not isinstance(hl, (int, float)) or not hl > 0
                               or not math.isfinite(hl)):
            raise StateError(f"forget: half_life must be None or a finite number > 0, got {hl!r}")
        obj = cls(hl)
        record_from_dict(obj.meta, state, "forget")
        if min(record_to_dict(obj.meta).values()) < 0:
            raise StateError("forget: negative counter")
        return obj

    def assign(self, state: dict) -> None:
        """Take the counters of ``state`` (a :meth:`state_dict` of the same ``half_life``) in place.

        Raises
        ------
        StateError
            If ``half_life`` differs or a counter is missing.
        """
        if state.get("half_life") != self.half_life:
            raise StateError("forget: half_life differs")
        record_from_dict(self.meta, state, "forget")

    # ---------------------------------------------------------------- replica deltas
    @staticmethod
    def state_delta(state: dict, base: dict) -> dict:
        """A replica's increments of the schedule's counters since ``base`` (both :meth:`state_dict` outputs).

        With a ``half_life`` a replica of a multi-replica job takes no decay step inside a round
        (:meth:`streamsgns.SGNS.defer_round_steps`): it only counts its tokens in ``since``, so
        that the merged ``since`` (the base's plus every replica's increment) is the merged token
        count since the last step, and the step runs at the round boundary on the merged state,
        identically on every replica (:func:`streamsgns.distributed.rounds.round_steps`; never shipped).

        Raises
        ------
        StateError
            On a key without a rule, a ``half_life`` that differs from the base's, or a replica that
            took a decay step in its round (``n_decays``, ``decayed_tokens``, ``n_faded`` or
            ``sketch_since`` moved): each replica would have decayed the shared base counts in its
            own token clock, so base + Σ increments would decay them once per replica.
        """
        check_delta_keys(state, {"half_life", *FORGET_RECORD.names}, "forget")
        if state.get("half_life") != base.get("half_life"):
            raise StateError("forget: a replica's half_life differs from the base's")
        moved = [k for k in ("n_decays", "decayed_tokens", "n_faded", "sketch_since") if state[k] != base[k]]
        if moved:
            raise StateError(f"forget: a replica took a decay step in its round ({moved} moved); replicas "
                             "leave decay steps to the round boundaries (SGNS.defer_round_steps)")
        return {k: state[k] - base[k] for k in FORGET_RECORD.names}

    @staticmethod
    def merge_deltas(base: dict, deltas: list) -> dict:
        """The merged schedule: the base's counters plus every replica's increment (:meth:`state_delta`).

        ``since`` becomes the merged token count since the last decay step; the other counters move
        only at a decay step (none inside a round), which :func:`streamsgns.distributed.rounds.round_steps`
        takes on the merged state when ``since >= every``.
        """
        return {"half_life": base.get("half_life"), **{k: base[k] + sum(d[k] for d in deltas)
                                                      for k in FORGET_RECORD.names}}
