"""Per-word change detection: which words' usage changed, found live, and learnt again.

Why: a stream's words change meaning (a product name, a slang word, a renamed team), and an online
model with per-word steps settles: the more a word has been seen, the smaller its step
(:mod:`streamsgns.rates`), and the averaged export (:mod:`streamsgns.averaging`) lags further the
older the stream. A word whose contexts change must learn again like a new word while the words
that did not change keep their settled steps. This module decides *which* words, and keeps the
state that makes such a word new again.

**Signal: a context signature per word.** For every positive pair (context ``c``, centre ``t``) the
training kernel adds the first :data:`SIG_DIM` (16) coordinates of ``W[c]`` — the row it has just
loaded for the pair's update, so no extra memory is read — to a scratch sum, and adds the window's
sum to ``sig[t]`` and its pairs to ``pairs[t]`` once per centre (:func:`detector_observe`; the next
centre's two rows are prefetched while this one trains, :func:`detector_prefetch`: without it
their cache misses cost about 2 % of the kernel's time, ``docs/drift.md``). The mean ``u = sig / pairs`` over an interval is the
centroid of the word's contexts in the model's own embedding, seen through 16 coordinates (the
coordinates of a randomly initialised SGNS row are exchangeable, so these 16 are a random
coordinate projection). It moves as soon as the word's contexts move, even for a frequent word
whose own rows can hardly move. Two signals were measured first and dropped (``docs/drift.md``):
the training loss ``−log σ(W[c]·C[t])`` (one direction of that centroid: 3 of 40 renamed words
found) and 16 random signs of the context's hash (a projection of the context *distribution* that
ignores which contexts are alike: too weak).

**Test (every ``check_every`` tokens, O(V)).** A row with at least ``min_pairs`` pairs since its
last observation is observed: its distance to its own baseline centre ``ū`` (the running mean of
its past ``u``), ``D = pairs · ‖u − ū‖² / 16`` — about 1 for independent contexts drawn from an
unchanged distribution (a χ²₁₆/16), larger for bursty words, much larger when the distribution
moved. ``D`` is divided by the row's own running mean of ``D`` (its burstiness), and by the median
of that ratio over the rows observed at this check: a change of source or genre moves every word's
contexts at once, and only words that change *relative to the others* should accumulate evidence.
Each row runs a one-sided CUSUM (Page 1954) on that ratio ``z``: ``S ← max(0, S + min(z, z_cap)·f −
(1 + delta))``, an alarm when ``S > threshold`` (``f`` below): the Page–Hinkley test (Page 1954; Hinkley 1971) on
a per-word series — river's ``drift.PageHinkley`` is the offline reference — for every word at once
with constant state per row, as Kulkarni et al. (2015) look for change points in per-word series,
live. The baselines (``ū``, the mean ``D``) follow a row with weight ``max(1/obs, rate)``, an
observation with ``z > 3`` entering them scaled down by ``3/z`` so that a change is not absorbed
before it is detected; the first ``warmup`` observations only build ``ū``, the next ``warmup`` the
mean ``D``, and a word is tested only once it has ``min_evidence`` step evidence.

**Recurring bursts are not changes.** A stream that keeps coming back to the same sections (an
ordered corpus read in epochs, a daily cycle of sources) moves a section word's contexts away
and back again and again; the mean ``D`` is a trimmed mean (a jump enters it scaled down), so such
a word's ratios leave 3 far more often than a steady word's. Each row keeps ``burst``, the
running rate of its tested ratios above :data:`BURST_Z` (3; weight ``max(1/(n + 5), rate)`` over
its ``n`` tested observations, a prior of five at ``burst_rate``), and when that rate exceeds
``burst_rate`` (0.06; a steady word of a time-shuffled stream leaves 3 in 0.5–3 % of its
checks) the capped ratio counts for ``f = burst_rate / burst`` of itself. A word that changes
once has a rate near 0 before its change and is tested at full weight; a section word is tested
for what exceeds its own habit. Measured (``docs/drift.md``): on Brown in corpus order (20 passes)
the alarms fell from 291 to 57 and the full-rank fidelity rose from 0.848 to 0.932, with the
same recall and re-learning on the planted change.

**A rate read from few tests is not yet a habit.** A slow change seen at a few dozen checks (*we*
in the State of the Union: tested 10–35 times, ratios 3.8–5.6 at a handful of them) raises its own
burst rate: each excursion of the change itself adds about ``1/(n + 5)`` to it, and the rate then
scales the change away. For a word tested at (nearly) every check since its first test (at least
``conf_steady`` = 95 % of them: a word as frequent as that is not a section word, whose pairs
reach ``min_pairs`` only while its section is read) and with at most ``conf_max_tests`` (40)
tests, the CUSUM is scaled by the rate's lower confidence bound ``b − burst_conf · sqrt(b (1 − b)
/ (n + 4))`` (``burst_conf`` 1.5) instead of ``b``; its baselines' trim keeps ``b`` (so a word's
scale follows as before). Measured (``docs/drift.md``): *we* fires again in every time-ordered
seed of the State of the Union and in no control; Brown in corpus order 0.931, one pass over mix
in corpus order 126 alarms, the planted change unchanged. ``burst_min_tests`` (off by default)
lets a rate count only after that many tests (40 also reports *we*, at the price of 347 alarms
on mix in corpus order). Tried and not kept: prototypes of a word's excursions (*we*'s excursions
return to the same place, like a section word's: no word reproduced, Brown 0.862).

**What an alarm does** (:meth:`ChangeDetector.restart`): the word's *step evidence* restarts —
the per-word step of :func:`streamsgns.rates.word_alpha` uses ``n = count − base``, and ``base``
is set to the current count, so the word takes the step of a newly admitted word while its
frequency count (noise distribution, subsampling, eviction) is untouched; its averaged export
restarts from its current row; its centre and CUSUM restart (its scale — the mean ``D`` — and its
burst rate are the word's habits and are kept). A row reused for another word (eviction) restarts
everything at admission.

**A word that keeps changing.** Each alarm doubles the word's own alarm level (``repeat_factor``),
and the extra level halves back over ``repeat_half_life`` tokens (20M). A word whose meaning
changes once is restarted at once; a word whose contexts move with every section of a stream
that keeps coming back to the same sections (an ordered corpus read in epochs; a daily cycle of
sources) is restarted once or twice, then its averaged export keeps what all the sections share.

State (arrays, one row per vocabulary id, in checkpoints): ``base`` (int64, tokens), ``sig``
((cap, 16) float32, the context rows summed since the row's last observation), ``pairs`` (int64), ``center``
((cap, 16) float32, ``ū``), ``dmean`` (float64, the running mean of ``D``), ``obs`` (int64,
observations since the last restart), ``cusum`` (float64), ``level`` (float64, recent alarms),
``burst`` (float64, the rate of ratios above 3), ``tested`` (int64, tested observations since
admission), ``first`` (int64, the check of its first test); scalars in :data:`DETECT_RECORD`.
Memory: 200 bytes a row.

References
----------
Page, E. S. (1954). Continuous inspection schemes. Biometrika 41(1/2), 100–115.
Hinkley, D. V. (1971). Inference about the change-point from cumulative sum tests. Biometrika 58(3).
Kulkarni, V., Al-Rfou, R., Perozzi, B., Skiena, S. (2015). Statistically significant detection of
linguistic change. WWW 2015, sec. 3 (change points on per-word time series).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .prefetch import prefetch_row
from ._state import StateError, check_array, check_delta_keys, new_record, record_from_dict, record_to_dict

__all__ = ["ChangeDetector", "ChangeLog", "DetectorArrays", "DETECT_RECORD", "NO_DETECT", "SIG_DIM", "BURST_Z", "DMEAN_FLOOR",
           "detect_check", "detector_observe", "detector_prefetch", "detector_reset_row", "detector_decay", "step_evidence"]

#: A ratio above this is a burst (:func:`detect_check`).
BURST_Z = 3.0

#: Signs per context signature (bits of a context's hash).
SIG_DIM = 16

#: Smallest scale (running mean of ``D``) a row keeps: its first value and every update are floored
#: here, so that a row whose ``D`` stays 0 gives ratios of 0, never 0/0 (:func:`detect_check`).
DMEAN_FLOOR = 1e-6

#: Scalars: ``next_check`` (tokens, ``words_seen`` at or past which the next check runs),
#: ``checks`` done, ``alarms`` raised, ``last_shift`` (the vocabulary's median ratio at the last check).
DETECT_RECORD = np.dtype([("next_check", np.int64), ("checks", np.int64), ("alarms", np.int64),
                          ("last_shift", np.float64)])

#: What the kernels receive: ``base``, ``sig``, ``pairs``, ``center``, ``dmean``, ``obs``, ``cusum``, ``level``,
#: ``burst``, ``tested``, ``first`` as in :class:`ChangeDetector`, ``meta`` (1,) :data:`DETECT_RECORD`.
DetectorArrays = namedtuple("DetectorArrays", "base sig pairs center dmean obs cusum level burst tested first meta")


def _empty_arrays(cap: int) -> DetectorArrays:
    return DetectorArrays(np.zeros(cap, np.int64), np.zeros((cap, SIG_DIM), np.float32), np.zeros(cap, np.int64),
                          np.zeros((cap, SIG_DIM), np.float32), np.zeros(cap, np.float64), np.zeros(cap, np.int64),
                          np.zeros(cap, np.float64), np.zeros(cap, np.float64), np.zeros(cap, np.float64),
                          np.zeros(cap, np.int64), np.zeros(cap, np.int64), new_record(DETECT_RECORD))


#: The bundle of a model without change detection: zero-length arrays (the kernels test ``base.shape[0]``).
NO_DETECT = _empty_arrays(0)


@njit("int64(int64[:], int64[:], int64)", cache=True, nogil=True, inline="always")
def step_evidence(counts, base, w):
    """The count a per-word step uses, tokens: ``counts[w] − base[w]`` (0 at least), or
    ``counts[w]`` without change detection (``base`` of length 0)."""
    if base.shape[0] == 0:
        return counts[w]
    n = counts[w] - base[w]
    return n if n > 0 else 0


@njit(cache=True, nogil=True)
def detector_observe(da, t, acc, npairs):
    """Add a centre's window to its context signature: ``acc`` ((SIG_DIM,) float32) the sum of the
    first :data:`SIG_DIM` coordinates of its ``npairs`` contexts' W rows, ``t`` the centre's id."""
    row = da.sig[t]
    for j in range(min(SIG_DIM, acc.shape[0])):
        row[j] += acc[j]
    da.pairs[t] += npairs


@njit(cache=True, nogil=True, inline="always")
def detector_prefetch(da, t):
    """Start loading the rows :func:`detector_observe` will update for centre ``t`` (``sig[t]``,
    ``pairs[t]``) into cache: a hint (:func:`streamsgns.prefetch.prefetch_row`), no value changes."""
    prefetch_row(da.sig, t)
    prefetch_row(da.pairs, t)


@njit(cache=True, nogil=True)
def detector_reset_row(da, r, base):
    """Restart row ``r``: step evidence from ``base`` (tokens), nothing pending, no baseline, CUSUM 0,
    no past alarm (the caller of an alarm's restart, :meth:`ChangeDetector.restart`, raises ``level`` again)."""
    if da.base.shape[0] == 0:
        return
    da.base[r] = base
    for j in range(SIG_DIM):
        da.sig[r, j] = np.float32(0.0)
        da.center[r, j] = np.float32(0.0)
    da.pairs[r] = 0
    da.dmean[r] = 0.0
    da.obs[r] = 0
    da.cusum[r] = 0.0
    da.level[r] = 0.0
    da.burst[r] = 0.0
    da.tested[r] = 0
    da.first[r] = 0


@njit(cache=True, nogil=True)
def detector_decay(da, factor, n):
    """Scale the step-evidence bases of rows ``0 .. n-1`` by ``factor`` (floor): under forgetting
    (:func:`streamsgns.forget.forget_step`) the counts they are subtracted from decay by it."""
    base = da.base
    for r in range(min(base.shape[0], n)):
        base[r] = np.int64(np.floor(base[r] * factor))


@njit(cache=True, nogil=True)
def detect_check(da, counts, n, min_pairs, min_evidence, rate, delta, threshold, z_cap, warmup, repeat_factor,
                 repeat_decay, burst_rate, burst_min_tests, burst_conf, conf_steady, conf_max_tests, z, alarms):
    """One check over rows ``0 .. n-1``: observe, normalise, remove the shift, CUSUM, alarm.

    Parameters
    ----------
    da : DetectorArrays
    counts : ndarray, shape (cap,), int64
        The vocabulary's counts (0: a free row, skipped).
    n : int
        Ids in use.
    min_pairs : int
        Pairs a row needs since its last observation to be observed now (else it waits).
    min_evidence : int
        Step evidence (tokens since admission or the last alarm) a row needs to be tested: a word
        with less still learns with a large step, and its observations only build its baselines.
    rate : float
        Smallest weight of an observation in the running baselines (EW over ~1/rate observations).
    delta, threshold, z_cap : float
        CUSUM allowance (above a ratio of 1), alarm level, and the cap of one observation's contribution.
    warmup : int
        Observations that only build a row's centre before its test runs.
    repeat_factor, repeat_decay : float
        A row's alarm level is ``threshold · repeat_factor ** level[r]``; ``level`` (recent alarms of
        the word) is multiplied by ``repeat_decay`` at each check.
    burst_rate : float
        A row whose rate of ratios above :data:`BURST_Z` (``burst``) exceeds this has its capped
        ratio scaled by ``burst_rate / burst`` (recurring bursts; see the module docstring).
    burst_min_tests : int
        Tested observations a row needs before its burst rate may scale its ratios down.
    burst_conf, conf_steady, conf_max_tests : float, float, int
        A row tested at a fraction of at least ``conf_steady`` of the checks since its first test,
        with at most ``conf_max_tests`` tests, has its CUSUM contribution scaled by the lower
        confidence bound ``b − burst_conf · sqrt(b (1 − b) / (tested + 4))`` of its burst rate
        instead of the rate itself (``burst_conf`` 0: off); its baselines keep the rate's scaling.
    z : ndarray, shape (cap,), float64
        Scratch (the distance ratios of the rows tested, in id order).
    alarms : ndarray, shape (cap,), int64
        Out: the rows that raised an alarm, in id order (scratch first: the rows tested, so that only
        they are visited again).

    Returns
    -------
    n_alarms : int
    shift : float
        The vocabulary's shift: the median ratio ``D / mean D`` of the rows tested (1 if fewer than 8).
    """
    m = 0
    for r in range(n):
        if da.level[r] > 0.0:
            da.level[r] *= repeat_decay
        p = da.pairs[r]
        if counts[r] <= 0 or p < min_pairs:
            continue
        k = da.obs[r]
        da.obs[r] = k + 1
        inv = 1.0 / p
        young = counts[r] - da.base[r] < min_evidence
        if k < warmup or young:  # only the centre: a running mean (the first observations, a young word)
            w = 1.0 / (k + 1.0)
            if w < rate:
                w = rate
            if young and k >= warmup:
                da.obs[r] = warmup  # the test's scale is set again once the word is old enough
            for j in range(SIG_DIM):
                da.center[r, j] += np.float32(w * (da.sig[r, j] * inv - da.center[r, j]))
                da.sig[r, j] = np.float32(0.0)
            da.pairs[r] = 0
            continue
        d2 = 0.0
        for j in range(SIG_DIM):
            e = da.sig[r, j] * inv - da.center[r, j]
            d2 += e * e
        D = p * d2 / SIG_DIM
        if k == warmup and da.dmean[r] > 0.0:  # restarted after an alarm: the word's scale is kept, test at once
            k = 2 * warmup
            da.obs[r] = k + 1
        if k < 2 * warmup:  # the next observations set the row's scale (a running mean of D); tested after
            w = 1.0 / (k - warmup + 1.0)
            da.dmean[r] += w * ((D if D > DMEAN_FLOOR else DMEAN_FLOOR) - da.dmean[r])
            for j in range(SIG_DIM):
                da.center[r, j] += np.float32(rate * (da.sig[r, j] * inv - da.center[r, j]))
                da.sig[r, j] = np.float32(0.0)
            da.pairs[r] = 0
            continue
        z[m] = D / da.dmean[r]
        alarms[m] = r  # the rows tested (the alarms overwrite them from the front, behind the reads)
        m += 1
    shift = 1.0
    if m >= 8:
        shift = np.median(z[:m])
        if shift < 1e-3:
            shift = 1e-3
    n_alarms = 0
    for q in range(m):  # the rows tested, in id order: every other row was left as it is or reset above
        r = alarms[q]
        p = da.pairs[r]
        inv = 1.0 / p
        zr = z[q] / shift
        b = da.burst[r] if da.burst[r] > 0.0 else burst_rate
        gb = 1.0 / (da.tested[r] + 5.0)  # the prior: 5 observations at burst_rate
        da.tested[r] += 1
        if gb < rate:
            gb = rate
        da.burst[r] = b + gb * ((1.0 if zr > BURST_Z else 0.0) - b)
        c = zr if zr < z_cap else z_cap
        if da.tested[r] == 1:
            da.first[r] = da.meta[0]["checks"]
        bc = b  # the rate the CUSUM is scaled by
        if burst_conf > 0.0 and da.tested[r] <= conf_max_tests and \
                da.tested[r] >= conf_steady * (da.meta[0]["checks"] - da.first[r] + 1.0):
            # a word seen at (nearly) every check, from few tests: a habit only as far as the rate's lower
            # confidence bound shows one (the prior's 5 observations and its tests before this one)
            bc = b - burst_conf * np.sqrt(b * (1.0 - b) / (da.tested[r] + 4.0))
        if b > burst_rate and da.tested[r] > burst_min_tests:  # leaves 3 more often than a steady word: a habit
            zr *= burst_rate / b  # (the baselines' trim)
        if bc > burst_rate and da.tested[r] > burst_min_tests:
            c *= burst_rate / bc
        s = da.cusum[r] + c - (1.0 + delta)
        da.cusum[r] = s if s > 0.0 else 0.0
        if da.cusum[r] > threshold * repeat_factor ** da.level[r]:
            alarms[n_alarms] = r
            n_alarms += 1
        g = 1.0 / da.obs[r]
        if g < rate:
            g = rate
        if zr > 3.0:
            g *= 3.0 / zr  # a jump enters the baselines scaled down
        for j in range(SIG_DIM):
            da.center[r, j] += np.float32(g * (da.sig[r, j] * inv - da.center[r, j]))
        target = z[q] * da.dmean[r]  # this D
        lim = 3.0 * da.dmean[r] * shift
        da.dmean[r] = da.dmean[r] * shift + g * ((target if target < lim else lim) - da.dmean[r] * shift)
        if da.dmean[r] < DMEAN_FLOOR:  # the shift may scale it below the floor (a check whose ratios are all 0)
            da.dmean[r] = DMEAN_FLOOR
        for j in range(SIG_DIM):
            da.sig[r, j] = np.float32(0.0)
        da.pairs[r] = 0
    return n_alarms, shift


class ChangeDetector:
    """Per-word change detection on context signatures, and the step evidence it restarts.

    Parameters
    ----------
    capacity : int
        Rows allocated (grows with the vocabulary).
    check_every : int
        Tokens between two checks (a check is O(V)).
    threshold : float
        CUSUM alarm level (Page 1954's ``h``), in units of the distance ratio.
    delta : float
        CUSUM allowance above a ratio of 1 (Page 1954's ``k``).
    min_pairs : int
        Positive pairs a row needs before one observation (rare words are observed less often).
    min_evidence : int
        Step evidence (tokens since admission or the last alarm) before a word is tested: a
        younger word still learns with a large step.
    rate : float
        Smallest weight of an observation in a row's baselines (0.01: about the last 100
        observations; a faster baseline absorbs a subtle change before its CUSUM reaches the
        threshold: 0.05 found 30 of the 40 renamed words of ``benchmarks/drift/relearn.py``, 0.01 finds 36).
    warmup : int
        Observations that only build a row's centre, then as many that only build its mean distance.
    z_cap : float
        Largest contribution of one observation to the CUSUM.
    repeat_factor : float
        Each alarm of a word multiplies its own alarm level by this (``>= 1``; 1: off): a word whose
        contexts keep moving — a genre word on a stream that returns to the same sections, as an
        ordered corpus read in epochs does — is restarted once or twice, not at every section.
    repeat_half_life : float
        Tokens over which that extra level halves back (``level`` decays at each check).
    burst_rate : float
        The rate of ratios above :data:`BURST_Z` a steady word is allowed (in (0, 1]; 1: off); a
        word above it (recurring bursts) has its capped ratios scaled by ``burst_rate / burst``.
    burst_min_tests : int
        Tested observations a word needs before its burst rate counts (``>= 0``; 0: from the first).
        40 reports a slow drift seen at a few dozen checks (*we* in the State of the Union), which
        a rate read from fewer tests takes for a habit, but on a stream of concatenated sources
        (mix in corpus order) it raised the alarms of one pass from 120 to 347 and cost 0.015
        WS353 (``docs/drift.md``).
    burst_conf : float
        ``z`` of the lower confidence bound of the burst rate that scales the CUSUM of a word read
        from few tests (``>= 0``; 0: the rate itself, the rule before).
    conf_steady : float
        The fraction of the checks since its first test at which a word must have been tested for
        the bound to apply (in [0, 1]).
    conf_max_tests : int
        Tests up to which the bound applies (``>= 0``); after them, the rate itself.

    Raises
    ------
    ValueError
        If a parameter is out of range (``check_every < 1``, ``threshold <= 0``, ``delta < 0``,
        ``min_pairs < 1``, ``min_evidence < 0``, ``rate`` not in (0, 1], ``warmup < 1``, ``z_cap <= 0``,
        ``repeat_factor < 1``, ``repeat_half_life <= 0``, ``burst_rate`` not in (0, 1],
        ``burst_min_tests < 0``, ``burst_conf < 0``, ``conf_steady`` not in [0, 1], ``conf_max_tests < 0``).

    Examples
    --------
    Forty words with steady context distributions; every word's contexts get noisier at check 20
    (a change of source: not reported), word 7's distribution moves at check 30 and is reported
    at its second observation (one adds at most ``z_cap − 1 − delta`` = 7 to the CUSUM, and an alarm
    needs more than the threshold 7: a single outlier never alarms):

    >>> import numpy as np
    >>> det = ChangeDetector(capacity=40, check_every=1, min_evidence=0)
    >>> counts = np.full(40, 100, np.int64)
    >>> rng = np.random.default_rng(0)
    >>> centers = rng.uniform(-0.3, 0.3, (40, SIG_DIM))
    >>> for check in range(40):
    ...     noise = 1.0 if check < 20 else 1.5
    ...     u = centers + noise * rng.standard_normal((40, SIG_DIM)) / np.sqrt(200)
    ...     if check >= 30:
    ...         u[7] = -centers[7] + rng.standard_normal(SIG_DIM) / np.sqrt(200)
    ...     det.sig[:40], det.pairs[:40] = 200 * u, 200
    ...     fired = det.check(counts, 40)
    ...     if len(fired):
    ...         print(check, fired.tolist())
    ...         det.restart(fired, counts)                  # it learns like a new word
    31 [7]
    """

    def __init__(self, capacity: int, check_every: int = 32768, threshold: float = 7.0, delta: float = 1.0,
                 min_pairs: int = 100, min_evidence: int = 1000, rate: float = 0.01, warmup: int = 3,
                 z_cap: float = 9.0, repeat_factor: float = 2.0, repeat_half_life: float = 20_000_000.0,
                 burst_rate: float = 0.06, burst_min_tests: int = 0, burst_conf: float = 1.5,
                 conf_steady: float = 0.95, conf_max_tests: int = 40):
        if int(check_every) < 1:
            raise ValueError(f"check_every must be >= 1 token, got {check_every!r}")
        for name, v in (("threshold", threshold), ("z_cap", z_cap)):
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be > 0, got {v!r}")
        if not (np.isfinite(delta) and delta >= 0):
            raise ValueError(f"delta must be >= 0, got {delta!r}")
        if int(min_pairs) < 1 or int(warmup) < 1 or int(min_evidence) < 0:
            raise ValueError(f"min_pairs and warmup must be >= 1 and min_evidence >= 0, got {min_pairs!r}, "
                             f"{warmup!r}, {min_evidence!r}")
        if not (0 < rate <= 1):
            raise ValueError(f"rate must be in (0, 1], got {rate!r}")
        if not (0 < burst_rate <= 1):
            raise ValueError(f"burst_rate must be in (0, 1], got {burst_rate!r}")
        self.burst_rate = float(burst_rate)
        if int(burst_min_tests) < 0:
            raise ValueError(f"burst_min_tests must be >= 0, got {burst_min_tests!r}")
        self.burst_min_tests = int(burst_min_tests)
        if not (np.isfinite(burst_conf) and burst_conf >= 0 and 0 <= conf_steady <= 1) or int(conf_max_tests) < 0:
            raise ValueError(f"burst_conf must be >= 0, conf_steady in [0, 1] and conf_max_tests >= 0, got "
                             f"{burst_conf!r}, {conf_steady!r}, {conf_max_tests!r}")
        self.burst_conf, self.conf_steady, self.conf_max_tests = float(burst_conf), float(conf_steady), int(conf_max_tests)
        if not (np.isfinite(repeat_factor) and repeat_factor >= 1 and np.isfinite(repeat_half_life)
                and repeat_half_life > 0):
            raise ValueError(f"repeat_factor must be >= 1 and repeat_half_life > 0 tokens, got {repeat_factor!r}, "
                             f"{repeat_half_life!r}")
        self.repeat_factor, self.repeat_half_life = float(repeat_factor), float(repeat_half_life)
        self.check_every = int(check_every)
        self.threshold, self.delta, self.z_cap = float(threshold), float(delta), float(z_cap)
        self.min_pairs, self.rate, self.warmup = int(min_pairs), float(rate), int(warmup)
        self.min_evidence = int(min_evidence)
        a = _empty_arrays(max(1, int(capacity)))
        (self.base, self.sig, self.pairs, self.center, self.dmean, self.obs, self.cusum, self.level, self.burst,
         self.tested, self.first, self.meta) = a
        self.meta[0]["next_check"] = self.check_every
        self._z = np.zeros(0, np.float64)
        self._alarms = np.zeros(0, np.int64)

    _ROWS = ("base", "sig", "pairs", "center", "dmean", "obs", "cusum", "level", "burst", "tested", "first")
    _DTYPES = {"base": np.int64, "sig": np.float32, "pairs": np.int64, "center": np.float32, "dmean": np.float64,
               "obs": np.int64, "cusum": np.float64, "level": np.float64, "burst": np.float64,
               "tested": np.int64, "first": np.int64}

    def arrays(self) -> DetectorArrays:
        """The state as one bundle of arrays (no copies)."""
        return DetectorArrays(self.base, self.sig, self.pairs, self.center, self.dmean, self.obs, self.cusum,
                              self.level, self.burst, self.tested, self.first, self.meta)

    @property
    def capacity(self) -> int:
        return self.base.shape[0]

    @property
    def next_check(self) -> int:
        """Tokens (``words_seen``) at or past which the next check is due."""
        return int(self.meta[0]["next_check"])

    def grow(self, capacity: int) -> None:
        """Reallocate to ``capacity`` rows (never shrinks), keeping the existing ones (new rows zero)."""
        if capacity <= self.capacity:
            return
        for name in self._ROWS:
            old = getattr(self, name)
            new = np.zeros((capacity,) + old.shape[1:], dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)

    def check(self, counts: np.ndarray, n: int, words_seen: int | None = None) -> np.ndarray:
        """Run one check over rows ``0 .. n-1`` (:func:`detect_check`); return the alarmed rows.

        The caller restarts them (:meth:`restart`). ``words_seen`` (tokens) schedules the next
        check ``check_every`` tokens later; ``counts`` is the vocabulary's (cap,) int64.

        Returns
        -------
        ndarray, shape (n_alarms,), int64
        """
        self.grow(counts.shape[0])
        if self._z.shape[0] < n:
            self._z = np.zeros(max(n, 2 * self._z.shape[0]), np.float64)
            self._alarms = np.zeros_like(self._z, dtype=np.int64)
        decay = 0.5 ** (self.check_every / self.repeat_half_life)
        k, shift = detect_check(self.arrays(), counts, int(n), self.min_pairs, self.min_evidence, self.rate, self.delta,
                                self.threshold, self.z_cap, self.warmup, self.repeat_factor, decay, self.burst_rate,
                                self.burst_min_tests, self.burst_conf, self.conf_steady, self.conf_max_tests,
                                self._z, self._alarms)
        m = self.meta[0]
        m["checks"] += 1
        m["alarms"] += k
        m["last_shift"] = shift
        if words_seen is not None:
            m["next_check"] = int(words_seen) + self.check_every
        return self._alarms[:k].copy()

    def restart(self, rows, counts: np.ndarray) -> None:
        """Make ``rows`` learn like new words: step evidence from their current ``counts``, no baseline;
        each row's alarm level rises by one step (``repeat_factor``)."""
        da = self.arrays()
        for r in np.asarray(rows, dtype=np.int64):
            level, dmean, burst, tested, first = da.level[r], da.dmean[r], da.burst[r], da.tested[r], da.first[r]
            detector_reset_row(da, int(r), int(counts[r]))
            da.level[r] = level + 1.0
            # the word's own scale and bursts: kept
            da.dmean[r], da.burst[r], da.tested[r], da.first[r] = dmean, burst, tested, first

    def score(self, r: int) -> float:
        """The CUSUM of row ``r`` (0 right after a restart)."""
        return float(self.cusum[r])

    def state_dict(self, n_ids: int) -> dict:
        """The per-row arrays (first ``n_ids`` rows, views), the settings and the :data:`DETECT_RECORD` scalars."""
        self.grow(n_ids)
        out = {name: getattr(self, name)[:n_ids] for name in self._ROWS}
        out.update(check_every=self.check_every, threshold=self.threshold, delta=self.delta,
                   min_pairs=self.min_pairs, min_evidence=self.min_evidence, rate=self.rate, warmup=self.warmup,
                   z_cap=self.z_cap, repeat_factor=self.repeat_factor, repeat_half_life=self.repeat_half_life,
                   burst_rate=self.burst_rate, burst_min_tests=self.burst_min_tests, burst_conf=self.burst_conf,
                   conf_steady=self.conf_steady, conf_max_tests=self.conf_max_tests, **record_to_dict(self.meta))
        return out

    @classmethod
    def from_state(cls, state: dict, capacity: int, **overrides) -> "ChangeDetector":
        """Rebuild from :meth:`state_dict` output into ``capacity`` rows (settings in ``overrides`` win).

        Raises
        ------
        StateError
            If an array is missing, mis-shaped, of the wrong dtype, or holds NaN/inf, or a setting is invalid.
        """
        settings = {k: state[k] for k in cls._SETTINGS if k in state}
        settings.update({k: v for k, v in overrides.items() if v is not None})
        try:
            obj = cls(capacity, **settings)
        except (TypeError, ValueError) as e:
            raise StateError(f"change detector: {e}") from e
        base = check_array(state, "base", np.int64, 1, "change detector")
        n = base.shape[0]
        obj.grow(n)
        for name in cls._ROWS:
            if name in ("level", "burst", "tested", "first") and name not in state:  # written before these
                continue
            shape = (n, SIG_DIM) if name in ("sig", "center") else (n,)
            arr = check_array(state, name, cls._DTYPES[name], len(shape), "change detector", shape=shape)
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise StateError(f"change detector: {name} holds NaN or inf")
            getattr(obj, name)[:n] = arr
        if (obj.pairs[:n] < 0).any() or (obj.obs[:n] < 0).any() or (obj.dmean[:n] < 0).any() or (
                obj.level[:n] < 0).any() or (obj.tested[:n] < 0).any() or (obj.first[:n] < 0).any():
            raise StateError("change detector: negative pair count, observation count or mean distance")
        if ((obj.burst[:n] < 0) | (obj.burst[:n] > 1)).any():
            raise StateError("change detector: burst rate outside [0, 1]")
        record_from_dict(obj.meta, state, "change detector")
        return obj

    # ---------------------------------------------------------------- replica deltas
    #: Settings of :meth:`state_dict` (must be the base's in a replica delta).
    _SETTINGS = ("check_every", "threshold", "delta", "min_pairs", "min_evidence", "rate", "warmup", "z_cap",
                 "repeat_factor", "repeat_half_life", "burst_rate", "burst_min_tests", "burst_conf", "conf_steady",
                 "conf_max_tests")
    #: Keys of :meth:`state_dict` that :meth:`state_delta` / :meth:`merge_deltas` handle (a new key must get a rule).
    DELTA_KEYS = frozenset({*_ROWS, *_SETTINGS, *DETECT_RECORD.names})

    @staticmethod
    def state_delta(state: dict, base: dict, same: np.ndarray, new_rid: np.ndarray) -> dict:
        """What a replica's detector changed in a round: its signature sums and pair counts (additive).

        A replica of a multi-replica job runs no check inside a round (:meth:`streamsgns.SGNS.defer_round_steps`;
        the checks run at round boundaries on the merged state, :mod:`streamsgns.distributed.rounds`), so
        the only per-row state it changes is what the kernel adds (:func:`detector_observe`): ``sig`` and
        ``pairs``, plus the fresh rows of the words it admitted (:func:`detector_reset_row` at admission).

        Parameters
        ----------
        state, base : dict
            :meth:`state_dict` outputs of the replica (end of round) and of the merged base.
        same : ndarray, shape (n,), bool
            Replica ids that still hold the base's word (:meth:`streamsgns.vocab.Vocabulary.row_map`).
        new_rid : ndarray, shape (m,), int64
            Replica ids of the other live words, in the vocabulary delta's order.

        Returns
        -------
        dict
            ``ids`` (t,) int32 base ids whose pair count grew, ``sig`` (t, SIG_DIM) float32 their
            signature sums (the values, not differences: the merge adds ``x − base`` in float64, as
            :meth:`streamsgns.parameters.SGNSParameters.merge_deltas` does for rows), ``pairs`` (t,)
            int64 their pair increments; ``new_sig`` (m, SIG_DIM) float32 and ``new_pairs`` (m,) int64
            of the new entries (counted from their admission, where the row started at zero).

        Raises
        ------
        StateError
            On a state key without a rule, settings that differ from the base's, or scalars that
            moved (a replica that ran a check in its round).
        """
        check_delta_keys(state, ChangeDetector.DELTA_KEYS, "change")
        for key in (*ChangeDetector._SETTINGS, *DETECT_RECORD.names):
            if state[key] != base[key]:
                raise StateError(f"change: {key} differs from the base's ({state[key]!r} vs {base[key]!r}): "
                                 "a replica runs no change check inside a round")
        m = min(same.size, base["pairs"].shape[0], state["pairs"].shape[0])
        ids = np.flatnonzero(same[:m] & (state["pairs"][:m] != base["pairs"][:m]))
        return {"ids": ids.astype(np.int32), "sig": state["sig"][ids],
                "pairs": state["pairs"][ids] - base["pairs"][ids],
                "new_sig": state["sig"][new_rid], "new_pairs": state["pairs"][new_rid].copy()}

    @staticmethod
    def merge_deltas(base: dict, deltas: list, plan: dict) -> dict:
        """The merged detector: every replica's signature sums and pair counts added to the base's rows.

        A base row gets ``sig = base + Σ_k (x_k − base)`` (float64, rounded once to float32) and
        ``pairs = base + Σ_k Δ_k``; a base word a replica evicted and admitted again elsewhere adds
        what it gathered since (its row restarted at zero there); a word new in the round gets a
        fresh row (:func:`detector_reset_row` with step evidence from 0, as at admission) plus the
        sums of the replicas that admitted it. Every other per-row array (step-evidence ``base``,
        centres, CUSUMs, ...) and the scalars are the base's: they change only at a check or a
        decay step, which every replica runs on the merged state at a round boundary
        (:func:`streamsgns.distributed.rounds.round_steps`). Rows of ids free in the merged
        vocabulary keep the base's values (as a single process leaves an evicted word's row until
        the id is reused). One replica's update gives its own rows back bit for bit whenever
        ``x − base`` is exact in float64.

        Parameters
        ----------
        base : dict
            :meth:`state_dict` of the base (``plan["n_base"]`` rows).
        deltas : list of dict
            :meth:`state_delta` outputs, one per replica.
        plan : dict
            The vocabulary merge's plan (:meth:`streamsgns.vocab.Vocabulary.merge_deltas`).

        Returns
        -------
        dict
            A :meth:`state_dict` with ``plan["n"]`` rows (new arrays; the inputs are not modified).
        """
        n = int(plan["n"])
        nb = min(int(plan["n_base"]), base["base"].shape[0], n)
        out = {k: base[k] for k in (*ChangeDetector._SETTINGS, *DETECT_RECORD.names)}
        for name in ChangeDetector._ROWS:
            b = base[name]
            arr = np.zeros((n,) + b.shape[1:], dtype=ChangeDetector._DTYPES[name])
            arr[:nb] = b[:nb]
            out[name] = arr
        new_ids = np.asarray(plan["new_ids"], dtype=np.int64)
        for name in ChangeDetector._ROWS:  # a fresh row at admission
            out[name][new_ids] = 0
        bsig = out["sig"]
        sig = bsig.astype(np.float64)
        pairs = out["pairs"]
        for k, d in enumerate(deltas):
            ids = d["ids"].astype(np.int64)
            sig[ids] += d["sig"] - bsig[ids].astype(np.float64)
            pairs[ids] += d["pairs"]
            dst = np.asarray(plan["dst"][k], dtype=np.int64)
            keep = dst >= 0
            sig[dst[keep]] += d["new_sig"][keep]
            pairs[dst[keep]] += d["new_pairs"][keep]
        out["sig"] = sig.astype(np.float32)
        return out

    def assign(self, state: dict) -> None:
        """Take ``state`` (a :meth:`state_dict` of the same settings) in place: its rows (growing to
        them), zero rows beyond them (as :meth:`from_state` leaves them), and its scalars.

        Raises
        ------
        StateError
            If a setting or a row array's dtype differs.
        """
        for key in self._SETTINGS:
            if key in state and state[key] != getattr(self, key):
                raise StateError(f"change: {key} differs ({state[key]!r} vs {getattr(self, key)!r})")
        n = state["base"].shape[0]
        self.grow(n)
        for name in self._ROWS:
            arr, src = getattr(self, name), state[name]
            if src.dtype != arr.dtype:
                raise StateError(f"change: {name} has dtype {src.dtype}, not {arr.dtype}")
            arr[:n] = src
            arr[n:] = 0
        record_from_dict(self.meta, state, "change")

    def nbytes(self) -> int:
        """Bytes held by the per-row arrays."""
        return int(sum(getattr(self, name).nbytes for name in self._ROWS))


def _json_bytes(obj) -> np.ndarray:
    import json

    return np.frombuffer(json.dumps(obj, separators=(",", ":")).encode("utf-8"), dtype=np.uint8).copy()


def _from_json_bytes(state: dict, key: str):
    import json

    arr = check_array(state, key, np.uint8, 1, "change log")
    try:
        return json.loads(arr.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise StateError(f"change log: {key} is not JSON ({e})") from e


class ChangeLog:
    """The change events of a stream, as records numbered in the order they happen.

    Two kinds of record: ``"change"`` when a word's alarm is raised (``word``, ``tokens`` — the
    stream's ``words_seen`` then —, ``score`` — the CUSUM at the alarm —, and
    ``neighbours_before``, its nearest words in the exported vectors just before it restarts),
    and ``"after"``, ``follow_tokens`` tokens later (``neighbours_after``: what the word has
    become). Each record has a number ``rec`` (1, 2, …) so that a file of records can be cut back
    to a checkpoint and continued without a duplicate or a gap (``streamsgns train --changes``).

    Parameters
    ----------
    follow_tokens : int
        Tokens between a change and its ``"after"`` record.
    max_records : int
        Records kept in memory and in checkpoints (the oldest are dropped; a ``--changes`` file
        keeps them all).

    Raises
    ------
    ValueError
        If ``follow_tokens < 0`` or ``max_records < 1``.

    Examples
    --------
    >>> log = ChangeLog(follow_tokens=100)
    >>> log.change("bank", tokens=1000, score=31.5, neighbours=["river", "shore"])["rec"]
    1
    >>> log.due(1050), [r["word"] for r in log.due(1100)]
    ([], ['bank'])
    >>> log.after("bank", 1, tokens=1100, neighbours=["money", "loan"])["kind"]
    'after'
    >>> [(e["word"], e["neighbours_after"]) for e in log.events()]
    [('bank', ['money', 'loan'])]
    """

    def __init__(self, follow_tokens: int = 1_000_000, max_records: int = 10_000):
        if int(follow_tokens) < 0 or int(max_records) < 1:
            raise ValueError(f"follow_tokens must be >= 0 and max_records >= 1, got {follow_tokens!r}, {max_records!r}")
        self.follow_tokens, self.max_records = int(follow_tokens), int(max_records)
        self.records: list[dict] = []
        self.pending: list[dict] = []  # changes whose "after" record is not written yet
        self.next_rec = 1
        self._filling: list = []  # futures of the searches filling in the newest records' neighbours

    def fill_later(self, future) -> None:
        """Hold ``future`` (a :class:`concurrent.futures.Future`), whose job fills in the neighbours of
        records just added: every reader of the records (:meth:`since`, :meth:`events`,
        :meth:`state_dict`, :meth:`settle`) waits for it first."""
        self._filling.append(future)

    def settle(self) -> None:
        """Wait until the neighbours of every record are filled in (:meth:`fill_later`); re-raises
        an error of the search that filled them."""
        while self._filling:
            self._filling.pop(0).result()

    def _add(self, rec: dict) -> dict:
        rec["rec"] = self.next_rec
        self.next_rec += 1
        self.records.append(rec)
        if len(self.records) > self.max_records:
            del self.records[: len(self.records) - self.max_records]
        return rec

    def change(self, word: str, tokens: int, score: float, neighbours: list) -> dict:
        """Record a change of ``word`` at ``tokens`` (``words_seen``); returns the record."""
        rec = self._add({"kind": "change", "word": word, "tokens": int(tokens), "score": round(float(score), 3),
                         "neighbours_before": list(neighbours)})
        self.pending.append({"word": word, "change": rec["rec"], "due": int(tokens) + self.follow_tokens})
        return rec

    def due(self, tokens: int) -> list[dict]:
        """Pending changes whose ``"after"`` record is due at ``tokens`` (each ``word``, ``change``, ``due``)."""
        return [p for p in self.pending if p["due"] <= tokens]

    def after(self, word: str, change: int, tokens: int, neighbours: list | None) -> dict:
        """Record what ``word`` became after change record ``change`` (``neighbours`` None: the word
        left the vocabulary); it is no longer pending."""
        self.pending = [p for p in self.pending if p["change"] != change]
        return self._add({"kind": "after", "word": word, "change": int(change), "tokens": int(tokens),
                          "neighbours_after": None if neighbours is None else list(neighbours)})

    def since(self, rec: int) -> list[dict]:
        """Records numbered above ``rec``, oldest first (those still held)."""
        self.settle()
        return [r for r in self.records if r["rec"] > rec]

    def events(self) -> list[dict]:
        """The changes held, each with its ``neighbours_after`` (None while pending)."""
        self.settle()
        after = {r["change"]: r["neighbours_after"] for r in self.records if r["kind"] == "after"}
        return [{"word": r["word"], "tokens": r["tokens"], "score": r["score"],
                 "neighbours_before": r["neighbours_before"], "neighbours_after": after.get(r["rec"]),
                 "rec": r["rec"]} for r in self.records if r["kind"] == "change"]

    def state_dict(self) -> dict:
        """``records`` and ``pending`` (UTF-8 JSON as uint8 arrays), ``next_rec``, ``follow_tokens``, ``max_records``."""
        self.settle()
        return {"records": _json_bytes(self.records), "pending": _json_bytes(self.pending),
                "next_rec": self.next_rec, "follow_tokens": self.follow_tokens, "max_records": self.max_records}

    @classmethod
    def from_state(cls, state: dict) -> "ChangeLog":
        """Rebuild from :meth:`state_dict` output.

        Raises
        ------
        StateError
            If a field is missing or malformed, or the record numbers are not increasing below ``next_rec``.
        """
        try:
            obj = cls(int(state["follow_tokens"]), int(state["max_records"]))
            obj.next_rec = int(state["next_rec"])
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f"change log: {e}") from e
        obj.records, obj.pending = _from_json_bytes(state, "records"), _from_json_bytes(state, "pending")
        recs = [r.get("rec") for r in obj.records] if isinstance(obj.records, list) else None
        if recs is None or not isinstance(obj.pending, list) or any(
                not isinstance(r, int) for r in recs) or recs != sorted(set(recs)) or (recs and recs[-1] >= obj.next_rec):
            raise StateError("change log: records are not numbered in order below next_rec")
        return obj
