"""Per-word change detection: which words' usage changed, found live, and learnt again.

Why: a stream's words change meaning (a product name, a slang word, a renamed team), and an online
model with per-word steps settles: the more a word has been seen, the smaller its step
(:mod:`streamsgns.rates`), and the averaged export (:mod:`streamsgns.averaging`) lags further the
older the stream. A word whose contexts change must learn again like a new word while the words
that did not change keep their settled steps. This module decides *which* words, from a signal the
training kernel already computes, and keeps the state that makes such a word new again.

**Signal.** For every trained centre word ``t`` the kernel adds the positive-pair losses
``−log σ(W[c]·C[t])`` of its window's pairs to ``loss[t]`` and their number to ``pairs[t]``: how
well the word's learnt context vector predicts the contexts it is seen in now. When a word's
contexts change (a new sense, a renaming), this loss rises at once, before the rows have moved.

**Test (every ``check_every`` tokens, O(V)).** For each row with at least ``min_pairs`` pairs
since its last observation, the observation is the mean loss ``x`` over them, and its deviation
from the row's own slow running mean, ``x − μ``. A change of source or genre raises every word's
loss at once: the median deviation of the rows observed at this check (the vocabulary's shift,
nats) is subtracted, so only words that change *relative to the others* accumulate evidence; the
rest is standardised by the row's running variance ``v``: ``z = (x − μ − shift) / sqrt(v)``. Each
row runs a one-sided CUSUM (Page 1954): ``S ← max(0, S + min(z, z_cap) − delta)``, and raises an
alarm when ``S > threshold``. This is the Page–Hinkley test (Page 1954; Hinkley 1971) on the
standardised per-word series — river's ``drift.PageHinkley`` is the offline reference — run for
every word at once with constant state per row, as Kulkarni et al. (2015) look for change points
in per-word embedding series, but on the training loss, live. The baseline ``μ`` takes the
vocabulary's shift at once and the row's own deviation with weight ``max(1/obs, rate)``,
winsorised at 3 standard deviations, so that a change is not absorbed before it is detected (its
first ``warmup`` observations are a plain mean and variance, Welford 1962).

**What an alarm does** (:meth:`ChangeDetector.restart`): the word's *step evidence* restarts —
the per-word step of :func:`streamsgns.rates.word_alpha` uses ``n = count − base``, and ``base``
is set to the current count, so the word takes the step of a newly admitted word while its
frequency count (noise distribution, subsampling, eviction) is untouched; its averaged export
restarts from its current row; its baseline and CUSUM restart. A row reused for another word
(eviction) restarts the same way at admission.

State (arrays, one row per vocabulary id, in checkpoints): ``base`` (int64, tokens), ``loss``
(float64, nats) and ``pairs`` (int64) accumulated since the row's last observation, ``mu``,
``var`` (float64, nats, nats²), ``obs`` (int64, observations since the last restart), ``cusum``
(float64); scalars in :data:`DETECT_RECORD`.

References
----------
Page, E. S. (1954). Continuous inspection schemes. Biometrika 41(1/2), 100–115.
Hinkley, D. V. (1971). Inference about the change-point from cumulative sum tests. Biometrika 58(3).
Welford, B. P. (1962). Note on a method for calculating corrected sums of squares and products.
Technometrics 4(3), 419–420.
Kulkarni, V., Al-Rfou, R., Perozzi, B., Skiena, S. (2015). Statistically significant detection of
linguistic change. WWW 2015, sec. 3 (change points on per-word time series).
Mikolov, T. et al. (2013). Distributed representations of words and phrases and their
compositionality. NIPS 2013, eq. 4 (the SGNS loss whose positive term is the signal).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_array, new_record, record_from_dict, record_to_dict

__all__ = ["ChangeDetector", "ChangeLog", "DetectorArrays", "DETECT_RECORD", "NO_DETECT", "detect_check",
           "detector_reset_row", "detector_decay", "step_evidence"]

#: Scalars: ``next_check`` (tokens, ``words_seen`` at or past which the next check runs),
#: ``checks`` done, ``alarms`` raised, ``last_shift`` (the vocabulary's median z at the last check).
DETECT_RECORD = np.dtype([("next_check", np.int64), ("checks", np.int64), ("alarms", np.int64),
                          ("last_shift", np.float64)])

#: What the kernels receive: ``base``, ``loss``, ``pairs``, ``mu``, ``var``, ``obs``, ``cusum``
#: (cap,) arrays as in :class:`ChangeDetector`, ``meta`` (1,) :data:`DETECT_RECORD`.
DetectorArrays = namedtuple("DetectorArrays", "base loss pairs mu var obs cusum meta")


def _empty_arrays(cap: int) -> DetectorArrays:
    return DetectorArrays(np.zeros(cap, np.int64), np.zeros(cap, np.float64), np.zeros(cap, np.int64),
                          np.zeros(cap, np.float64), np.zeros(cap, np.float64), np.zeros(cap, np.int64),
                          np.zeros(cap, np.float64), new_record(DETECT_RECORD))


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
def detector_reset_row(da, r, base):
    """Restart row ``r``: step evidence from ``base`` (tokens), no pending loss, no baseline, CUSUM 0."""
    if da.base.shape[0] == 0:
        return
    da.base[r] = base
    da.loss[r] = 0.0
    da.pairs[r] = 0
    da.mu[r] = 0.0
    da.var[r] = 0.0
    da.obs[r] = 0
    da.cusum[r] = 0.0


@njit(cache=True, nogil=True)
def detector_decay(da, factor, n):
    """Scale the step-evidence bases of rows ``0 .. n-1`` by ``factor`` (floor): under forgetting
    (:func:`streamsgns.forget.forget_step`) the counts they are subtracted from decay by it."""
    base = da.base
    for r in range(min(base.shape[0], n)):
        base[r] = np.int64(np.floor(base[r] * factor))


@njit(cache=True, nogil=True)
def detect_check(da, counts, n, min_pairs, rate, var_floor, delta, threshold, z_cap, warmup, z, alarms):
    """One check over rows ``0 .. n-1``: observe, standardise, remove the shift, CUSUM, alarm.

    Parameters
    ----------
    da : DetectorArrays
    counts : ndarray, shape (cap,), int64
        The vocabulary's counts (0: a free row, skipped).
    n : int
        Ids in use.
    min_pairs : int
        Pairs a row needs since its last observation to be observed now (else it waits).
    rate : float
        Smallest weight of an observation in the running mean and variance (EW over ~1/rate).
    var_floor : float
        Smallest variance used to standardise, nats².
    delta, threshold, z_cap : float
        CUSUM allowance, alarm level and the cap of one observation's contribution.
    warmup : int
        Observations of a row's baseline before its CUSUM runs.
    z : ndarray, shape (cap,), float64
        Scratch (the standardised observations).
    alarms : ndarray, shape (cap,), int64
        Out: the rows that raised an alarm, in id order.

    Returns
    -------
    n_alarms : int
    shift : float
        The vocabulary's shift, nats: the median deviation ``x − μ`` of the rows observed in their
        CUSUM phase (0 if fewer than 8).
    """
    m = 0
    for r in range(n):
        z[r] = np.nan
        if counts[r] <= 0 or da.pairs[r] < min_pairs:
            continue
        x = da.loss[r] / da.pairs[r]
        da.loss[r] = 0.0
        da.pairs[r] = 0
        k = da.obs[r]
        da.obs[r] = k + 1
        if k < warmup:
            # the baseline's first observations: plain running mean and variance (Welford 1962)
            d0 = x - da.mu[r]
            da.mu[r] += d0 / (k + 1.0)
            da.var[r] = (k * da.var[r] + d0 * (x - da.mu[r])) / (k + 1.0)
            continue
        z[r] = x - da.mu[r]  # the deviation, nats (standardised below)
        m += 1
    # the vocabulary's shift: the median deviation of the rows observed now, in nats
    shift = 0.0
    if m >= 8:
        vals = np.empty(m, np.float64)
        q = 0
        for r in range(n):
            if not np.isnan(z[r]):
                vals[q] = z[r]
                q += 1
        shift = np.median(vals)
    n_alarms = 0
    for r in range(n):
        if np.isnan(z[r]):
            continue
        v = da.var[r] if da.var[r] > var_floor else var_floor
        sd = np.sqrt(v)
        dev = z[r] - shift
        zr = dev / sd
        if zr > z_cap:
            zr = z_cap
        s = da.cusum[r] + zr - delta
        da.cusum[r] = s if s > 0.0 else 0.0
        if da.cusum[r] > threshold:
            alarms[n_alarms] = r
            n_alarms += 1
        # the baseline follows the vocabulary's shift at once and the row's own level slowly, a jump
        # entering it winsorised (at 3 sd) so that a change is not absorbed before it is detected
        g = 1.0 / (da.obs[r] + 0.0)
        if g < rate:
            g = rate
        lim = 3.0 * sd
        if dev > lim:
            dev = lim
        elif dev < -lim:
            dev = -lim
        da.mu[r] += shift + g * dev
        da.var[r] += g * (dev * dev - da.var[r])
    return n_alarms, shift


class ChangeDetector:
    """Per-word change detection on the training loss, and the step evidence it restarts.

    Parameters
    ----------
    capacity : int
        Rows allocated (grows with the vocabulary).
    check_every : int
        Tokens between two checks (a check is O(V)).
    threshold : float
        CUSUM alarm level, in standard deviations of a row's observations (Page 1954's ``h``).
    delta : float
        CUSUM allowance per observation, in standard deviations (Page 1954's ``k``).
    min_pairs : int
        Positive pairs a row needs before one observation (rare words are observed less often).
    rate : float
        Smallest weight of an observation in a row's running mean and variance.
    warmup : int
        Observations of a row's baseline before its CUSUM runs.
    z_cap : float
        Largest contribution of one observation to the CUSUM.
    var_floor : float
        Smallest variance of an observation, nats².

    Raises
    ------
    ValueError
        If a parameter is out of range (``check_every < 1``, ``threshold <= 0``, ``delta < 0``,
        ``min_pairs < 1``, ``rate`` not in (0, 1], ``warmup < 1``, ``z_cap <= 0``, ``var_floor <= 0``).

    Examples
    --------
    A row whose loss jumps while the others' stays alarms; the shared shift does not:

    >>> import numpy as np
    >>> det = ChangeDetector(capacity=40, check_every=1)
    >>> counts = np.full(40, 100, np.int64)
    >>> rng = np.random.default_rng(0)
    >>> for step in range(40):
    ...     level = 2.0 + (0.5 if step >= 20 else 0.0)          # every word's loss rises at step 20 ...
    ...     det.loss[:40] = 100 * (level + 0.05 * rng.standard_normal(40))
    ...     det.loss[7] += 100 * (1.5 if step >= 30 else 0.0)   # ... word 7's again at step 30
    ...     det.pairs[:40] = 100
    ...     fired = det.check(counts, 40)
    ...     if len(fired):
    ...         print(step, fired.tolist())
    ...         det.restart(fired, counts)                      # it learns like a new word
    30 [7]
    """

    def __init__(self, capacity: int, check_every: int = 65536, threshold: float = 12.0, delta: float = 1.0,
                 min_pairs: int = 40, rate: float = 0.05, warmup: int = 6, z_cap: float = 50.0,
                 var_floor: float = 1e-4):
        if int(check_every) < 1:
            raise ValueError(f"check_every must be >= 1 token, got {check_every!r}")
        for name, v in (("threshold", threshold), ("z_cap", z_cap), ("var_floor", var_floor)):
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be > 0, got {v!r}")
        if not (np.isfinite(delta) and delta >= 0):
            raise ValueError(f"delta must be >= 0, got {delta!r}")
        if int(min_pairs) < 1 or int(warmup) < 1:
            raise ValueError(f"min_pairs and warmup must be >= 1, got {min_pairs!r}, {warmup!r}")
        if not (0 < rate <= 1):
            raise ValueError(f"rate must be in (0, 1], got {rate!r}")
        self.check_every = int(check_every)
        self.threshold, self.delta, self.z_cap, self.var_floor = float(threshold), float(delta), float(z_cap), float(var_floor)
        self.min_pairs, self.rate, self.warmup = int(min_pairs), float(rate), int(warmup)
        a = _empty_arrays(max(1, int(capacity)))
        self.base, self.loss, self.pairs, self.mu, self.var, self.obs, self.cusum, self.meta = a
        self.meta[0]["next_check"] = self.check_every
        self._z = np.zeros(0, np.float64)
        self._alarms = np.zeros(0, np.int64)

    _ROWS = ("base", "loss", "pairs", "mu", "var", "obs", "cusum")
    _DTYPES = {"base": np.int64, "loss": np.float64, "pairs": np.int64, "mu": np.float64, "var": np.float64,
               "obs": np.int64, "cusum": np.float64}

    def arrays(self) -> DetectorArrays:
        """The state as one bundle of arrays (no copies)."""
        return DetectorArrays(self.base, self.loss, self.pairs, self.mu, self.var, self.obs, self.cusum, self.meta)

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
            new = np.zeros(capacity, dtype=old.dtype)
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
        k, shift = detect_check(self.arrays(), counts, int(n), self.min_pairs, self.rate, self.var_floor,
                                self.delta, self.threshold, self.z_cap, self.warmup, self._z, self._alarms)
        m = self.meta[0]
        m["checks"] += 1
        m["alarms"] += k
        m["last_shift"] = shift
        if words_seen is not None:
            m["next_check"] = int(words_seen) + self.check_every
        return self._alarms[:k].copy()

    def restart(self, rows, counts: np.ndarray) -> None:
        """Make ``rows`` learn like new words: step evidence from their current ``counts``, no baseline."""
        for r in np.asarray(rows, dtype=np.int64):
            detector_reset_row(self.arrays(), int(r), int(counts[r]))

    def score(self, r: int) -> float:
        """The CUSUM of row ``r`` (standard deviations; 0 right after a restart)."""
        return float(self.cusum[r])

    def state_dict(self, n_ids: int) -> dict:
        """The per-row arrays (first ``n_ids`` rows, views), the settings and the :data:`DETECT_RECORD` scalars."""
        self.grow(n_ids)
        out = {name: getattr(self, name)[:n_ids] for name in self._ROWS}
        out.update(check_every=self.check_every, threshold=self.threshold, delta=self.delta,
                   min_pairs=self.min_pairs, rate=self.rate, warmup=self.warmup, z_cap=self.z_cap,
                   var_floor=self.var_floor, **record_to_dict(self.meta))
        return out

    @classmethod
    def from_state(cls, state: dict, capacity: int, **overrides) -> "ChangeDetector":
        """Rebuild from :meth:`state_dict` output into ``capacity`` rows (settings in ``overrides`` win).

        Raises
        ------
        StateError
            If an array is missing, mis-shaped, of the wrong dtype, or holds NaN/inf, or a setting is invalid.
        """
        keys = ("check_every", "threshold", "delta", "min_pairs", "rate", "warmup", "z_cap", "var_floor")
        settings = {k: state[k] for k in keys if k in state}
        settings.update({k: v for k, v in overrides.items() if v is not None})
        try:
            obj = cls(capacity, **settings)
        except (TypeError, ValueError) as e:
            raise StateError(f"change detector: {e}") from e
        base = check_array(state, "base", np.int64, 1, "change detector")
        n = base.shape[0]
        if n > obj.capacity:
            obj.grow(n)
        for name in cls._ROWS:
            arr = check_array(state, name, cls._DTYPES[name], 1, "change detector", shape=(n,))
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise StateError(f"change detector: {name} holds NaN or inf")
            getattr(obj, name)[:n] = arr
        if (obj.pairs[:n] < 0).any() or (obj.obs[:n] < 0).any():
            raise StateError("change detector: negative pair or observation count")
        record_from_dict(obj.meta, state, "change detector")
        if "check_every" in overrides and overrides["check_every"] is not None:
            obj.meta[0]["next_check"] = min(obj.next_check, int(state["next_check"]) - int(state.get(
                "check_every", obj.check_every)) + obj.check_every)
        return obj

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
    stream's ``words_seen`` then —, ``score`` — the CUSUM in standard deviations —, and
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
        return [r for r in self.records if r["rec"] > rec]

    def events(self) -> list[dict]:
        """The changes held, each with its ``neighbours_after`` (None while pending)."""
        after = {r["change"]: r["neighbours_after"] for r in self.records if r["kind"] == "after"}
        return [{"word": r["word"], "tokens": r["tokens"], "score": r["score"],
                 "neighbours_before": r["neighbours_before"], "neighbours_after": after.get(r["rec"]),
                 "rec": r["rec"]} for r in self.records if r["kind"] == "change"]

    def state_dict(self) -> dict:
        """``records`` and ``pending`` (UTF-8 JSON as uint8 arrays), ``next_rec``, ``follow_tokens``, ``max_records``."""
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
