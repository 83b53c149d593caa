"""Replay: recent sentences trained again from a bounded buffer, the streaming answer to epochs.

Why replay instead of a second pass? A stream cannot be read twice, and a second pass over a file
doubles the reading and the scanning. Yet most of what a second epoch buys comes from training
each sentence again *later*, once the vocabulary, the noise table and the other words' rows have
moved on. Replay keeps the most recent ``size`` tokens of encoded sentences in a ring buffer and
trains ``rate`` extra sentences' worth of them per sentence read, drawn uniformly at random among
the buffered tokens, so that every token is trained ``1 + rate`` times on average (experience
replay, Lin 1992; for streaming word2vec, the rehearsal of Kaji & Kobayashi 2017, sec. 3 is the
same idea applied to the model's own recent input). The stream is still read once: ``words_seen``,
the counts, the noise table, the co-occurrence statistics and the per-word steps' evidence only
ever see each token once; replayed tokens only move W and C.

The buffer holds *word hashes* (:mod:`streamsgns.hashing`), not row ids, separated by 0 (a hash is
never 0): a row id can be given to another word after an eviction, a hash cannot. When a sentence
is replayed its hashes are looked up in the vocabulary's table, so a word evicted since is
skipped, and a word admitted again is trained in its new row. Memory: ``8 · size`` bytes, plus
one separator per sentence.

Replay runs at line ends every :data:`REPLAY_EVERY` tokens (the kernel pauses there,
:data:`streamsgns.kernels.PAUSE`), so with ``workers=1`` the result does not depend on how the
stream is cut into calls; it draws from its own SplitMix64 streams (not the training ones), and its
state (buffer, streams, counters) is part of the checkpoint, so a resumed run gives the same model.
``rate="idle"`` replays only when the source waits for data (:meth:`streamsgns.SGNS.replay_idle`).

**Replay at the end of the input** (``at="end"``, :func:`replay_in_order`). Recent sentences drawn
at random during the stream are not a second epoch: on the mix corpus (11.9M tokens) replay at
``rate=1`` raised WS353 but *lowered* the analogies below one pass (0.145 against 0.167), with any
buffer size, while a second real pass raised them to 0.227 (``docs/replay_memory_coldstart.md``).
What a second pass has is order and maturity: every sentence trained once more, in the order it
was read, after the model has seen the whole input. So with ``at="end"`` nothing is replayed while
the stream is read (it runs at full speed), and when the input ends (the end of a file,
:meth:`streamsgns.SGNS.replay_end`) the sentences buffered since the last end are trained again
in stream order, oldest first, ``rate`` times (a fraction: the last pass stops part way), the
averages folded as they go. With a buffer that holds the whole input this is a second epoch from
one read (the statistics — counts, noise table, step evidence — stay those of the read, as
always); with a smaller one, an epoch over the input's last ``size`` tokens.

References
----------
Lin, L.-J. (1992). Self-improving reactive agents based on reinforcement learning, planning and
teaching. Machine Learning 8, sec. 4.4 (experience replay).
Kaji, N. & Kobayashi, H. (2017). Incremental skip-gram model with negative sampling. EMNLP, sec. 3.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._state import StateError, check_array, new_record, record_from_dict, record_to_dict
from .hashing import next_u64, seed_states
from .hashtable import table_lookup
from .kernels import new_scratch, train_sentence

__all__ = ["ReplayBuffer", "ReplayArrays", "REPLAY_RECORD", "REPLAY_EVERY", "DEFAULT_REPLAY_BUFFER", "REPLAY_AT",
           "replay_store", "replay_train", "replay_in_order"]

#: When replay trains: ``"spread"`` (rounds every :data:`REPLAY_EVERY` tokens read, random sentences of the
#: buffer) or ``"end"`` (at the end of the input, the buffered sentences in stream order).
REPLAY_AT = ("spread", "end")

#: Tokens read between two replay rounds (a round trains ``rate`` times the tokens stored since the last).
REPLAY_EVERY = 16384

#: Default buffer size in tokens (8 bytes each: 16 MiB).
DEFAULT_REPLAY_BUFFER = 2_000_000

#: Seed offset of the replay streams (distinct from the training streams of the same ``seed``).
_SEED_OFFSET = 0x5EED_2E91A7

#: Scalars: ``head`` (next write position), ``filled`` (positions in use, separators included),
#: ``stored`` (tokens stored so far), ``replayed`` (tokens replayed, before subsampling), ``pairs``
#: and ``kept`` of the replayed sentences, ``loss`` (nats, summed), ``scheduled`` (tokens the
#: scheduled rounds replayed, or forgave while the buffer was empty: a round owes
#: ``floor(rate · stored) − scheduled``, integers, so the schedule does not depend on how the stream
#: is cut), ``next_at`` (the ``words_seen`` of the next round), ``written`` (ring positions ever written,
#: separators included), ``ended_at`` (``written`` at the last end of input: what is newer is replayed at
#: the next, ``at="end"``).
REPLAY_RECORD = np.dtype([("head", np.int64), ("filled", np.int64), ("stored", np.int64), ("replayed", np.int64),
                          ("pairs", np.int64), ("kept", np.int64), ("loss", np.float64), ("scheduled", np.int64),
                          ("next_at", np.int64), ("written", np.int64), ("ended_at", np.int64)])

#: What the replay kernels receive: ``ring`` (size,) uint64 word hashes (0 separates sentences),
#: ``rng`` (1 + workers,) uint64 SplitMix64 states, ``meta`` (1,) REPLAY_RECORD.
ReplayArrays = namedtuple("ReplayArrays", "ring rng meta")


@njit(cache=True, nogil=True)
def replay_store(ra, hashes, sent_out, n_sent):
    """Append sentences of hashes to the ring, each followed by a 0 separator (oldest overwritten).

    Parameters
    ----------
    ra : ReplayArrays
    hashes : ndarray, shape (m,), uint64
        Sentence ``i`` is ``hashes[sent_out[i]:sent_out[i + 1]]``; 0 entries (evicted words) are dropped.
    sent_out : ndarray, shape (>= n_sent + 1,), int64
    n_sent : int

    Returns
    -------
    int
        Tokens stored.
    """
    ring = ra.ring
    size = ring.shape[0]
    m = ra.meta[0]
    head = m.head
    filled = m.filled
    stored = 0
    for s in range(n_sent):
        n = 0
        for q in range(sent_out[s], sent_out[s + 1]):
            h = hashes[q]
            if h != 0:
                ring[head] = h
                head += 1
                if head == size:
                    head = 0
                n += 1
        if n > 0:
            ring[head] = np.uint64(0)
            head += 1
            if head == size:
                head = 0
            filled += n + 1
            stored += n
            m.written += n + 1
    if filled > size:
        filled = size
    m.head = head
    m.filled = filled
    m.stored += stored
    return stored


@njit(cache=True, fastmath=True, nogil=True)
def _ring_start(ra, cfg, dim):
    """Where a replay starts: the ring ((size,) uint64), its size, the tokens it holds, the position of
    the oldest, the longest sentence (tokens), a sentence buffer ((maxlen,) int32) and the kernel's
    scratch bundle (:func:`streamsgns.kernels.new_scratch`)."""
    ring = ra.ring
    size = ring.shape[0]
    m = ra.meta[0]
    filled = m.filled
    oldest = m.head - filled
    if oldest < 0:
        oldest += size
    maxlen = cfg.max_sentence_length
    return ring, size, filled, oldest, maxlen, np.empty(maxlen, dtype=np.int32), new_scratch(maxlen, dim,
                                                                                              cfg.negative, 0)


@njit(cache=True, fastmath=True, nogil=True)
def replay_train(ra, budget, k, cfg, alpha, total, pa, counts, na, keys, vals, ca, hashes, da):
    """Train about ``budget`` tokens of buffered sentences, drawn on replay stream ``k``.

    A position of the ring is drawn uniformly (a separator: drawn again) and the whole sentence
    around it is trained (:func:`streamsgns.kernels.train_sentence`, with ``pa.rng`` set to the
    replay streams by the caller), after looking its hashes up in the vocabulary's table
    (words no longer admitted are dropped). Sentences are drawn with probability proportional
    to their length, so each buffered token is equally likely to be replayed. The round ends
    after the sentence that reaches ``budget``.

    Parameters
    ----------
    ra : ReplayArrays
    budget : int
        Tokens to replay (counted before the vocabulary lookup and subsampling).
    k : int
        Stream of ``ra.rng`` that draws the positions; ``pa.rng`` is ``ra.rng`` too.
    cfg, alpha, total, pa, counts, na, ca, hashes, da :
        As in :func:`streamsgns.kernels.train_sentence`; ``cfg.track_cooc`` and ``cfg.observe``
        must be 0 (the co-occurrence statistics and change detection see each read token once;
        the per-word steps still use ``da``'s step evidence).
    keys, vals : ndarray, uint64 / int32
        The vocabulary's hash table (:func:`streamsgns.hashtable.table_lookup`).

    Returns
    -------
    tokens : int
        Tokens replayed.
    loss : float
        Summed SGNS loss of the replayed pairs (nats).
    n_pairs, n_kept : int
    """
    ring, size, filled, oldest, maxlen, sen, sc = _ring_start(ra, cfg, pa.W.shape[1])
    done = 0
    loss = 0.0
    n_pairs = 0
    n_kept = 0
    misses = 0
    while done < budget and filled > 1 and misses < 64:
        off = np.int64(next_u64(ra.rng, k) % np.uint64(filled))
        p = oldest + off
        if p >= size:
            p -= size
        if ring[p] == 0:
            misses += 1
            continue
        misses = 0
        a = off  # sentence start: back to a separator or the oldest position
        while a > 0:
            q = oldest + a - 1
            if q >= size:
                q -= size
            if ring[q] == 0:
                break
            a -= 1
        nsen = 0
        b = a
        while b < filled and nsen < maxlen:
            q = oldest + b
            if q >= size:
                q -= size
            h = ring[q]
            if h == 0:
                break
            b += 1
            wid = table_lookup(keys, vals, h)
            if wid >= 0:
                sen[nsen] = wid
                nsen += 1
        done += b - a
        if nsen > 1:
            l, pairs, kp = train_sentence(cfg, sen, nsen, alpha, total, pa, counts, na, k, ca, hashes, da, sc)
            loss += l
            n_pairs += pairs
            n_kept += kp
    return done, loss, n_pairs, n_kept


@njit(cache=True, fastmath=True, nogil=True)
def replay_in_order(ra, start, stop, k, cfg, alpha, total, pa, counts, na, keys, vals, ca, hashes, da):
    """Train the buffered sentences that start in ``[start, stop)``, in stream order.

    Offsets count ring positions from the oldest buffered one (separators included). A sentence
    starts at offset 0 or after a separator; one that starts before ``start`` is left to the
    caller's previous range, one that starts before ``stop`` is trained whole (so consecutive
    ranges train every sentence exactly once). Words no longer admitted are dropped, as in
    :func:`replay_train`.

    Parameters
    ----------
    ra : ReplayArrays
    start, stop : int
        Offsets from the oldest position, ``0 <= start <= stop <= filled``.
    k : int
        Stream of ``pa.rng`` (the replay streams) used by the training draws.
    cfg, alpha, total, pa, counts, na, keys, vals, ca, hashes, da :
        As in :func:`replay_train`.

    Returns
    -------
    tokens : int
        Buffered tokens of the sentences trained (before the vocabulary lookup and subsampling).
    loss : float
        Summed SGNS loss of the replayed pairs (nats).
    n_pairs, n_kept : int
    """
    ring, size, filled, oldest, maxlen, sen, sc = _ring_start(ra, cfg, pa.W.shape[1])
    done = 0
    loss = 0.0
    n_pairs = 0
    n_kept = 0
    a = start
    if a > 0:  # the sentence that starts before ``start`` belongs to the range before it
        q = oldest + a - 1
        if q >= size:
            q -= size
        while a < filled and ring[q] != 0:
            a += 1
            q += 1
            if q >= size:
                q -= size
    while a < stop:
        nsen = 0
        b = a
        while b < filled:
            q = oldest + b
            if q >= size:
                q -= size
            h = ring[q]
            b += 1
            if h == 0:
                break
            done += 1
            if nsen < maxlen:
                wid = table_lookup(keys, vals, h)
                if wid >= 0:
                    sen[nsen] = wid
                    nsen += 1
        if nsen > 1:
            l, pairs, kp = train_sentence(cfg, sen, nsen, alpha, total, pa, counts, na, k, ca, hashes, da, sc)
            loss += l
            n_pairs += pairs
            n_kept += kp
        a = b
    return done, loss, n_pairs, n_kept


class ReplayBuffer:
    """A bounded ring of recently read sentences (word hashes) and the schedule of their replay.

    Parameters
    ----------
    rate : float
        Extra trainings per token read, on average (``1.0``: each token is trained about twice,
        about two passes' worth of updates). 0 with ``idle=True``: replay only when idle.
    size : int
        Buffer size in tokens (``8 · size`` bytes); separators between sentences take a slot each.
    seed : int
        Seeds the replay streams (distinct from the training streams of the same seed).
    workers : int
        Training threads: streams ``1 .. workers`` train, one per thread.
    idle : bool
        Replay when the source waits for data (:meth:`streamsgns.SGNS.replay_idle`).
    at : {"spread", "end"}
        ``"spread"``: ``rate`` extra tokens per token read, random buffered sentences every
        :data:`REPLAY_EVERY` tokens; ``"end"``: ``rate`` passes, in stream order, over the sentences
        buffered since the last end of input, when the input ends (:func:`replay_in_order`).

    Attributes
    ----------
    ring : ndarray, shape (size,), uint64
    rng : ndarray, shape (1 + workers,), uint64
    meta : ndarray, shape (1,), :data:`REPLAY_RECORD`

    Raises
    ------
    ValueError
        If ``rate < 0`` or not finite, ``size < 2``, or ``at`` is not one of :data:`REPLAY_AT`.

    Examples
    --------
    Two sentences of hashes go in; the ring keeps them with a separator after each:

    >>> import numpy as np
    >>> rb = ReplayBuffer(rate=1.0, size=8, seed=0)
    >>> rb.store(np.array([11, 12, 13, 21, 22], np.uint64), np.array([0, 3, 5], np.int64), 2)
    5
    >>> rb.tokens().tolist()
    [11, 12, 13, 0, 21, 22, 0]
    >>> rb.ring.nbytes                      # 8 bytes a token
    64
    """

    def __init__(self, rate: float = 1.0, size: int = DEFAULT_REPLAY_BUFFER, seed: int = 0, workers: int = 1,
                 idle: bool = False, at: str = "spread"):
        if at not in REPLAY_AT:
            raise ValueError(f"replay_at must be one of {REPLAY_AT}, got {at!r}")
        rate = float(rate)
        if not (np.isfinite(rate) and rate >= 0):
            raise ValueError(f"replay rate must be a finite number >= 0, got {rate!r}")
        if int(size) < 2:
            raise ValueError(f"replay_buffer must be >= 2 tokens, got {size!r}")
        self.rate = rate
        self.idle = bool(idle)
        self.at = at
        self.ring = np.zeros(int(size), dtype=np.uint64)
        self.rng = seed_states(int(seed) + _SEED_OFFSET, 1 + int(workers))
        self.meta = new_record(REPLAY_RECORD)
        self.meta[0]["next_at"] = REPLAY_EVERY

    @property
    def size(self) -> int:
        """Buffer size in tokens."""
        return int(self.ring.shape[0])

    @property
    def spread(self) -> bool:
        """Whether rounds run while the stream is read (``rate > 0`` and ``at == "spread"``)."""
        return self.rate > 0 and self.at == "spread"

    def end_span(self) -> tuple[int, int]:
        """``(start, stop)``: the offsets from the oldest buffered position of what was written since the
        last end of input (:meth:`mark_end`); ``stop`` is ``filled``. What the ring overwrote is gone."""
        m = self.meta[0]
        filled = int(m["filled"])
        return max(0, filled - (int(m["written"]) - int(m["ended_at"]))), filled

    def mark_end(self) -> None:
        """Record that the input ended here: the next :meth:`end_span` starts after what is buffered now."""
        m = self.meta[0]
        m["ended_at"] = m["written"]

    def arrays(self) -> ReplayArrays:
        """The state as one bundle of arrays (no copies)."""
        return ReplayArrays(self.ring, self.rng, self.meta)

    def store(self, hashes: np.ndarray, sent_out: np.ndarray, n_sent: int) -> int:
        """Append ``n_sent`` sentences (see :func:`replay_store`); returns the tokens stored."""
        return int(replay_store(self.arrays(), hashes, sent_out, np.int64(n_sent)))

    @property
    def next_at(self) -> int:
        """``words_seen`` (tokens) at or past which the next replay round is due."""
        return int(self.meta[0]["next_at"])

    def due_budget(self, words_seen: int) -> int:
        """Tokens to replay now, ``floor(rate · stored) − scheduled``, and schedule the next round."""
        m = self.meta[0]
        m["next_at"] = int(words_seen) + REPLAY_EVERY
        return max(0, int(self.rate * int(m["stored"])) - int(m["scheduled"]))

    def account(self, budget: int, tokens: int, loss: float, pairs: int, kept: int, owed: bool = True) -> None:
        """Count a round: ``tokens`` replayed for a ``budget`` (owed rounds carry the difference over)."""
        m = self.meta[0]
        if owed:
            m["scheduled"] += tokens if tokens > 0 else budget  # an empty buffer forgives the debt
        m["replayed"] += tokens
        m["pairs"] += pairs
        m["kept"] += kept
        m["loss"] += loss

    def tokens(self) -> np.ndarray:
        """The buffered hashes, oldest first (separators included): shape (filled,), uint64, a copy."""
        m = self.meta[0]
        filled, head = int(m["filled"]), int(m["head"])
        if head >= filled:
            return self.ring[head - filled: head].copy()
        return np.concatenate([self.ring[self.size - (filled - head):], self.ring[:head]])

    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return int(self.ring.nbytes + self.rng.nbytes)

    def state_dict(self) -> dict:
        """``ring`` (filled,) uint64 oldest first, ``rng`` (1 + workers,) uint64, ``rate``, ``idle``,
        ``size`` and the :data:`REPLAY_RECORD` scalars."""
        return {"ring": self.tokens(), "rng": self.rng.copy(), "rate": self.rate, "idle": self.idle,
                "at": self.at, "size": self.size, **record_to_dict(self.meta)}

    @classmethod
    def from_state(cls, state: dict, rate: float, size: int, seed: int, workers: int, idle: bool,
                   at: str = "spread") -> "ReplayBuffer":
        """Rebuild from :meth:`state_dict` output with the given settings (a resumed run may change them).

        The newest ``size`` stored positions are kept; the replay streams of the stored threads are kept.

        Raises
        ------
        StateError
            If an array is missing or mis-typed, or a counter is negative.
        """
        obj = cls(rate, size, seed, workers, idle, at)
        ring = check_array(state, "ring", np.uint64, 1, "replay")
        rng = check_array(state, "rng", np.uint64, 1, "replay")
        # checkpoints written before replay at the end of the input: nothing of the buffer replayed at an end
        state = {"written": int(ring.shape[0]), "ended_at": 0, **state}
        record_from_dict(obj.meta, state, "replay")
        m = obj.meta[0]
        if any(int(m[f]) < 0 for f in ("stored", "replayed", "pairs", "kept", "next_at", "scheduled", "written",
                                         "ended_at")):
            raise StateError("replay: negative counter")
        keep = ring[max(0, ring.shape[0] - obj.size):]
        n = keep.shape[0]
        # the same layout as when saved (same size): the head where it was, the newest token just before it
        head = int(m["head"]) % obj.size if int(state.get("size", -1)) == obj.size else n % obj.size
        obj.ring[(head - n + np.arange(n)) % obj.size] = keep
        m["filled"] = n
        m["head"] = head
        k = min(rng.shape[0], obj.rng.shape[0])
        obj.rng[:k] = rng[:k]
        return obj
