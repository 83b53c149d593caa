"""The numba kernels: text bytes → token ids → SGNS updates of W and C.

This is the whole hot path, kept apart from the Python driver
(:mod:`streamsgns.trainer`) the way gensim keeps ``word2vec_inner`` apart from
``word2vec``. Everything here takes plain arrays and releases the GIL.

Like gensim's ``word2vec_inner``, the kernels take one read-only configuration
(:data:`KernelConfig`, filled once by the driver, :mod:`streamsgns.trainer`) and one
*bundle* per component, each owned by that component and updated in place:
:data:`~streamsgns.vocab.VocabArrays`, :data:`~streamsgns.sketch.SketchArrays`,
:data:`~streamsgns.noise.NoiseArrays`, :data:`~streamsgns.cooc.CoocArrays`,
:data:`~streamsgns.parameters.ParamArrays`. Scalars live in named record fields
(``va.meta[0].next_id``), not behind index constants.

One call of :func:`process_block` walks a block of ``\\n``-separated lines,
one sentence chunk (at most ``max_sentence_length`` tokens) at a time, through
four stages a reader can follow one by one:

1. **scan** (:func:`streamsgns.scan.scan_token`): the tokens of river's pattern
   ``(?u)\\b\\w[\\w\\-]+\\b`` in lowercased bytes (or ``\\x1f``-separated
   pre-tokenised text), hashed (:mod:`streamsgns.hashing`);
2. **count, admit, evict** (:func:`encode_chunk`, :func:`admit`, :func:`evict`):
   exact counts for admitted words, the count-min sketch for the others
   (halved every ``halve_every`` tokens it receives, so that one-off tokens never
   reach ``min_count``: :func:`streamsgns.sketch.sketch_count`), admission at
   ``min_count``, eviction of the rarest at ``max_vocab``
   (:mod:`streamsgns.vocab`, :mod:`streamsgns.sketch`, :mod:`streamsgns.cooc`);
3. **refresh the noise table** when due (:func:`streamsgns.noise.noise_refresh_if_due`);
4. **train** the chunk (:func:`train_sentence`) — or, with ``workers > 1``,
   write its ids to an :data:`EncodedBatch` that :func:`train_batch` trains on
   Python threads in parallel (Hogwild, Recht et al. 2011), as gensim does.

With threads, rows are never evicted (nor their ids reused) while a batch that
may touch them is in flight: the driver passes ``may_evict=False`` while
batches run, and an admission that needs an eviction then ends the call with
:data:`NEED_DRAIN` *before* touching anything; the driver waits for the batches
and calls again.

SGNS update (Mikolov et al. 2013, eq. 4; Goldberg & Levy 2014, eq. 4). After
subsampling, for centre position ``i`` a window ``b`` is drawn uniformly in
``1..window`` (word2vec's dynamic window) and for each context position ``j``
with ``0 < |i − j| <= b`` the pair is trained as in word2vec.c / gensim's
``fast_sentence_sg_neg``: the *context* word's row of ``W`` (syn0) is the
input, the *centre* word's row of ``C`` (syn1neg) the positive output, plus
``negative`` words drawn from the noise table (a draw equal to the centre is
skipped). With ``x = W[c]·C[t]`` and label ``y``: ``g = (y − σ(x))·eta`` (the step, below),
``C[t] += g·W[c]``, and the gradient of ``W[c]`` is accumulated over the
``1 + negative`` outputs and applied once per pair. σ comes from a 1000-entry
table on ``[−6, 6]`` (word2vec's ``EXP_TABLE``), clipped outside.

Shared negatives (the default, ``cfg.shared_negatives``; Ji et al. 2016, "Parallelizing Word2Vec in
Shared and Distributed Memory", sec. 3, IntelLabs' pWord2Vec): the ``negative`` noise words are drawn
once per centre word (when its window holds a context) and used by each of its context words in
turn, instead of a fresh draw per pair. A window then loads each noise row once (it stays in L1
across the contexts) and draws ``negative`` random numbers instead of ``negative`` per pair; the
updates stay sequential, pair after pair, as in word2vec, so a step is as stable as there (pWord2Vec
applies a window's updates at once, as matrix products from the values before the window, which
at the largest accepted ``alpha`` diverges on a tiny vocabulary). Measured on one pass over the mix
corpus, ``workers=1``, seeds 0 and 1 (``docs/kernel_speed.md``): the same SimLex, better WS353 and
analogies, at 1.35–1.8× the tokens per second (the two kernels alternating in one process).

Subsampling (Mikolov et al. 2013, section 2.3, in the form of word2vec.c):
a token of a word with count ``f`` is kept with probability
``(sqrt(f / (s·T)) + 1) · s·T / f`` where ``s = sample`` and ``T`` the total
count of admitted words, *before* windows are formed (so it widens the
effective window, Levy, Goldberg & Dagan 2015).

Learning rate (:mod:`streamsgns.rates`, which documents the rules; the ablation that chose them is
``docs/learning_rule.md``). By default each row moves with a step from its own word's evidence: in
the pair (context ``c``, target ``t``) the ``W[c]`` row takes ``eta(n_c)`` and each ``C[t]`` row
``eta(n_t)``, with

    eta(n) = max(min_alpha, alpha / (1 + n / word_decay))      (alpha = 0.05, word_decay = 2000)

``n`` the word's count (decayed with a half-life): a Robbins–Monro step (Robbins & Monro 1951:
``Σ a_n = ∞, Σ a_n² < ∞``, met by ``a_n ∝ 1/n``) per block of coordinates, ``n`` the evidence of
that block, as per-parameter steps do (AdaGrad's diagonal update, Duchi, Hazan & Singer 2011,
sec. 1; applied to SGNS rows by Kaji & Kobayashi 2017). With ``word_decay=None`` every row moves
with the global ``alpha_t = max(min_alpha, alpha / (1 + t / decay_tokens))``, ``t`` the tokens
seen (the default of streamsgns 0.1). Exported vectors are averages of the iterates (:mod:`streamsgns.averaging`,
Shamir & Zhang 2013, sec. 4).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._state import new_record
from .change import SIG_DIM, detector_observe, detector_prefetch, detector_reset_row, step_evidence
from .cooc import cooc_admit, cooc_release, cooc_sentence, window_bounds
from .forget import alpha_tokens, fade_count, forget_every, forget_step
from .hashing import hash_bytes, next_float, next_u64
from .noise import noise_force_refresh, noise_refresh_if_due, sample_alias
from .rates import current_alpha, row_alpha
from .sketch import cms_estimate, sketch_count
from .scan import scan_token
from .vocab import vocab_admit, vocab_count, vocab_is_full, vocab_prune

__all__ = ["KernelConfig", "EncodedBatch", "BATCH_RECORD", "make_config", "new_batch", "process_block",
           "train_batch", "train_sentence", "Scratch", "new_scratch", "encode_chunk", "admit", "evict", "init_rows",
           "current_alpha",
           "forget_block", "DONE", "NEED_GROW", "EVENTS_FULL", "OUT_FULL", "NEED_DRAIN", "PAUSE", "FORGET"]

#: The read-only settings of the kernels, filled once (gensim's ``Word2VecConfig``). Integers:
#: ``window``, ``negative``, ``min_count``, ``max_vocab``, ``max_sentence_length`` (tokens),
#: ``min_refresh_tokens``, ``track_cooc`` (0/1), ``prune_size`` (words evicted per round);
#: floats: ``alpha``, ``min_alpha``, ``decay_tokens``, ``sample``, ``ns_exponent``; forgetting
#: (:mod:`streamsgns.forget`): ``half_life`` (float, tokens; 0 = never), ``forget_every`` (int,
#: tokens between decay steps), ``fade_count`` (int, decayed counts below it evict a word);
#: ``word_decay`` (float, 0 = the global rule); ``shared_negatives`` (0/1: one draw of negatives
#: per centre word, shared by its context words, as in pWord2Vec; see :func:`train_sentence`);
#: ``observe`` (int 0/1): the trained pairs feed change detection (0 for replayed pairs,
#: :mod:`streamsgns.replay`, which only move W and C); ``evidence_scale`` (float), ``evidence_offset``
#: ((n,) float64), ``evidence_gain`` ((n,) float64), ``evidence_new_gain``, ``evidence_max_step``
#: (float): a replica's per-word steps at the merged stream's evidence (:func:`streamsgns.rates.row_alpha`;
#: scale 1.0: one process).
KernelConfig = namedtuple("KernelConfig", "window negative min_count max_vocab max_sentence_length "
                                          "min_refresh_tokens track_cooc prune_size "
                                          "alpha min_alpha decay_tokens sample ns_exponent "
                                          "half_life forget_every fade_count word_decay shared_negatives "
                                          "observe evidence_scale evidence_offset evidence_gain evidence_new_gain "
                                          "evidence_max_step")

#: Sentences encoded for the training threads (``workers > 1``): ``ids`` (m,) int32, sentence ``i``
#: is ``ids[sent_out[i]:sent_out[i + 1]]`` (``sent_out`` (s + 1,) int64), ``sent_words`` (s,) int64 the
#: learning rate's ``t`` at its start (tokens seen; decayed tokens with a half-life), ``meta`` (1,) BATCH_RECORD;
#: ``hashes`` (m,) uint64 the word hash of each token, or (0,) when not recorded. With ``hashes``, every token read
#: is in ``ids`` (a word not admitted as -1, which training skips) and :func:`process_block` records the sentences it
#: trains too (replay, :mod:`streamsgns.replay`).
EncodedBatch = namedtuple("EncodedBatch", "ids sent_out sent_words meta hashes")
BATCH_RECORD = np.dtype([("n_ids", np.int64), ("n_sent", np.int64)])

#: The scratch buffers of :func:`train_sentence`, allocated once per kernel call (gensim's
#: ``word2vec_inner`` keeps them in its config struct, so signatures stay short): ``kept`` (>= n,)
#: int32 the subsampled sentence; ``steps`` (>= n,) float32 the step of each kept token's rows;
#: ``wins`` (3n + 1,) int32 the windows drawn (co-occurrence statistics; (1,) without); ``neu1e``
#: (d,) float32 the accumulated input gradient; ``outs`` (negative + 1,) int64 the negatives a
#: centre shares and ``osteps`` (negative + 1,) float32 their steps; ``sig`` (SIG_DIM,) float32 a
#: centre's context signature (:mod:`streamsgns.change`). ``n`` is the longest sentence trained.
Scratch = namedtuple("Scratch", "kept steps wins neu1e outs osteps sig")

#: Statuses of :func:`process_block`: done; or the caller must act and call again from the returned
#: position: grow the arrays, read the admission events, hand the encoded batch over, or wait for
#: the batches in flight before an eviction; or (``PAUSE``) a line ended at or past ``pause_at`` tokens:
#: the driver's periodic work (the averages' fold) runs there, at the same line however the stream is cut;
#: or (``FORGET``) a decay step of forgetting is due: the driver runs :func:`forget_block` (compiled
#: only by runs that forget) and calls again.
DONE, NEED_GROW, EVENTS_FULL, OUT_FULL, NEED_DRAIN, PAUSE, FORGET = range(7)

MAX_EXP = 6.0
EXP_TABLE_SIZE = 1000
#: The default: negatives drawn once per centre word and shared by its context words (SGNS(shared_negatives=True)).
SHARED_NEGATIVES = True

def _tables():
    x = (np.arange(EXP_TABLE_SIZE + 1, dtype=np.float64) / EXP_TABLE_SIZE * 2.0 - 1.0) * MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32), np.log1p(-np.minimum(sig, 1 - 1e-7)).astype(np.float32)


SIGMOID_TABLE, LOG_SIG_TABLE, LOG_1M_SIG_TABLE = _tables()
_TSCALE = EXP_TABLE_SIZE / MAX_EXP / 2.0


def make_config(*, window, negative, min_count, max_vocab, max_sentence_length, min_refresh_tokens, track_cooc,
                prune_size, alpha, min_alpha, decay_tokens, sample, ns_exponent, half_life=None,
                word_decay=None, shared_negatives=SHARED_NEGATIVES, observe=True) -> KernelConfig:
    """Fill a :data:`KernelConfig` with the right scalar types (int64 / float64) for numba (one
    process's steps: a replica's are set by :meth:`streamsgns.trainer.Trainer.set_evidence`)."""
    i, f = np.int64, np.float64
    return KernelConfig(i(window), i(negative), i(min_count), i(max_vocab), i(max_sentence_length),
                        i(min_refresh_tokens), i(1 if track_cooc else 0), i(prune_size),
                        f(alpha), f(min_alpha), f(decay_tokens), f(sample), f(ns_exponent),
                        f(half_life or 0.0), i(forget_every(half_life)), i(fade_count(min_count)),
                        f(word_decay or 0.0), i(1 if shared_negatives else 0), i(1 if observe else 0),
                        f(1.0), _NO_ROWS, _NO_ROWS, f(1.0), f(np.inf))


_NO_ROWS = np.zeros(0, dtype=np.float64)


@njit(cache=True, nogil=True)
def new_scratch(room, dim, negative, track_cooc):
    """A :data:`Scratch` for sentences of up to ``room`` tokens, ``dim`` (d) vector coordinates,
    ``negative`` negatives, windows kept when ``track_cooc`` (0/1)."""
    return Scratch(np.empty(room, dtype=np.int32), np.empty(room, dtype=np.float32),
                   np.empty(3 * room + 1 if track_cooc != 0 else 1, dtype=np.int32), np.empty(dim, dtype=np.float32),
                   np.empty(negative + 1, dtype=np.int64), np.empty(negative + 1, dtype=np.float32),
                   np.empty(SIG_DIM, dtype=np.float32))


def new_batch(n_bytes: int, max_sentence_length: int, record: bool = False) -> EncodedBatch:
    """An :data:`EncodedBatch` large enough for a block of ``n_bytes`` bytes (ids: at most one per 3 bytes);
    ``record``: with the words' hashes (replay)."""
    m = n_bytes // 3 + 2 * max_sentence_length
    ns = min(m, n_bytes // 2 + 2)
    return EncodedBatch(np.empty(m, dtype=np.int32), np.zeros(ns + 1, dtype=np.int64), np.zeros(ns, dtype=np.int64),
                        new_record(BATCH_RECORD), np.empty(m if record else 0, dtype=np.uint64))


@njit(cache=True, nogil=True)
def init_rows(wid, pa):
    """word2vec's initialisation of a (re)admitted word: W row ~ U(−0.5/d, 0.5/d), C row = 0.

    Draws from RNG stream 0. C is cleared before W is drawn so that with tied weights
    (``C is W``) the row keeps its random values: a zero row would never move under SGNS.
    """
    W = pa.W
    C = pa.C
    dim = W.shape[1]
    inv = 1.0 / dim
    for d in range(dim):
        C[wid, d] = np.float32(0.0)
        W[wid, d] = np.float32((next_float(pa.rng, 0) - 0.5) * inv)


# ---------------------------------------------------------------- stage 2: count, admit, evict
@njit(cache=True, nogil=True)
def admit(va, ca, pa, h, count, start, end, da):
    """Admit hash ``h`` (its word is ``buf[start:end]``) with initial ``count``: id, fresh rows, exact
    slot, and a fresh change-detection row (:mod:`streamsgns.change`: step evidence from 0)."""
    wid = vocab_admit(va, h, count, start, end)
    init_rows(wid, pa)
    detector_reset_row(da, wid, 0)
    if ca.cmeta.shape[0] > 0:
        cooc_admit(wid, ca)
    return wid


@njit(cache=True, nogil=True)
def evict(cfg, va, ca, na, sen, nsen, batch, encode):
    """Evict the ``prune_size`` rarest words; forget their ids in the pending sentence and batch.

    Their exact co-occurrence slots are released and the noise table is rebuilt before it
    is next used. The caller guarantees that no training thread holds a batch with these ids.
    """
    before = va.meta[0].n_free
    vocab_prune(va, cfg.prune_size)
    if ca.cmeta.shape[0] > 0:
        for q in range(before, va.meta[0].n_free):
            cooc_release(va.free_ids[q], ca)
    counts = va.counts
    for q in range(nsen):
        if sen[q] >= 0 and counts[sen[q]] == 0:
            sen[q] = -1
    if encode:
        ids = batch.ids
        for q in range(batch.meta[0].n_ids):
            if ids[q] >= 0 and counts[ids[q]] == 0:
                ids[q] = -1
    noise_force_refresh(na)


@njit(cache=True, nogil=True)
def encode_chunk(buf, pos, mode, may_evict, cfg, va, sk, ca, na, pa, sen, batch, encode, da, senh):
    """Scan up to ``max_sentence_length`` tokens of one line from ``pos``: count, admit, evict.

    Admitted words' ids go to ``sen``. When an admission needs an eviction and
    ``may_evict`` is False, the chunk ends *before* that token (nothing of it is counted).
    With ``senh`` not empty (replay records the sentences, :mod:`streamsgns.replay`) every token
    goes to ``sen``, a word not admitted as id -1 (training skips it), and its hash to ``senh``
    (uint64, as long as ``sen``): a replayed sentence then holds the words admitted since.

    Returns
    -------
    pos : int
        Where the scan stopped.
    nsen : int
        Ids written to ``sen``.
    ntok : int
        Tokens consumed.
    drain : bool
        Stopped for an eviction the caller must allow.
    """
    n = buf.shape[0]
    nsen = 0
    ntok = 0
    meta = pa.meta[0]
    rec = senh.shape[0] > 0
    while ntok < cfg.max_sentence_length:
        s, e, nxt, nctrl = scan_token(buf, pos, n, mode)
        meta.control_bytes += nctrl
        if s == e:
            pos = nxt
            break
        h = hash_bytes(buf, s, e)
        wid = vocab_count(va, h)
        if wid < 0:
            if not may_evict and vocab_is_full(va):
                # would this token be admitted (the sketch estimate after adding it)? then stop before it
                if np.int64(cms_estimate(sk.table, sk.seeds, h)) + 1 >= cfg.min_count:
                    return s, nsen, ntok, True
            est = sketch_count(sk, h)
            if est >= cfg.min_count:
                if vocab_is_full(va):
                    evict(cfg, va, ca, na, sen, nsen, batch, encode)
                wid = admit(va, ca, pa, h, est, s, e, da)
        pos = nxt
        ntok += 1
        if wid >= 0:
            sen[nsen] = wid
            if rec:
                senh[nsen] = h
            nsen += 1
        elif rec:
            sen[nsen] = -1
            senh[nsen] = h
            nsen += 1
    return pos, nsen, ntok, False


# ---------------------------------------------------------------- stage 4: train
@njit(cache=True, fastmath=True, nogil=True)
def train_sentence(cfg, sen, nsen, alpha, total, pa, counts, na, k, ca, hashes, da, sc):
    """Subsample one sentence of ids and run the SGNS updates on it.

    Parameters
    ----------
    cfg : KernelConfig
    sen : ndarray, shape (>= nsen,), int32
        Vocabulary ids of the sentence; negative ids are skipped (removed).
    nsen : int
    alpha : float
        Global step for the whole sentence, used when ``cfg.word_decay`` is 0 (the global rule);
        otherwise each row's step is :func:`streamsgns.rates.row_alpha` of its word's step evidence
        (its count; a replica's extrapolated to the merged stream, ``cfg.evidence_scale``).
    total : int
        Sum of admitted counts (``T`` of the subsampling formula), in tokens.
    pa : ParamArrays
        ``W``, ``C`` (capacity, d) float32 updated in place; RNG stream ``k`` is used.
    counts : ndarray, shape (capacity,), int64
        The vocabulary's counts (subsampling, and the per-word steps).
    na : NoiseArrays
        The alias table (``na.meta[0].n`` columns).
    ca : CoocArrays
        Statistics of the trained pairs, counted after the updates when ``cfg.track_cooc``
        (it draws nothing from the training streams).
    hashes : ndarray, shape (capacity,), uint64
    da : DetectorArrays
        Change detection (:mod:`streamsgns.change`): the per-word steps use the step evidence
        ``counts − da.base``, and each positive pair adds its context's W row (16 coordinates) to the
        centre word's context signature (:func:`streamsgns.change.detector_observe`). Zero-length arrays: off.
    sc : Scratch
        The scratch buffers (:func:`new_scratch`), for sentences of at least ``nsen`` tokens.

    Each row's step is computed once per token (``sc.steps``) and once per shared negative
    (``sc.osteps``), not once per pair: the counts do not change while a sentence trains.

    Returns
    -------
    loss : float
        Sum of the SGNS losses ``−log σ(x⁺) − Σ log σ(−x⁻)`` of the pairs (nats).
    n_pairs : int
        (w, c) pairs trained.
    n_kept : int
        Tokens left after subsampling.
    """
    window = cfg.window
    negative = cfg.negative
    shared = cfg.shared_negatives
    track = cfg.track_cooc
    sample = cfg.sample
    W = pa.W
    C = pa.C
    rng = pa.rng
    noise_prob = na.prob
    noise_alias = na.alias
    noise_n = na.meta[0].n
    dim = W.shape[1]
    kept, steps, wins, neu1e, outs, osteps, sigacc = sc.kept, sc.steps, sc.wins, sc.neu1e, sc.outs, sc.osteps, sc.sig
    m = 0
    threshold = sample * total
    for i in range(nsen):
        w = sen[i]
        if w < 0:
            continue
        if sample > 0.0:
            f = np.float64(counts[w])
            if f > threshold:
                p = (math.sqrt(f / threshold) + 1.0) * threshold / f
                if p < next_float(rng, k):
                    continue
        kept[m] = w
        m += 1
    loss = 0.0
    n_pairs = 0
    a32 = np.float32(alpha)
    wdecay = cfg.word_decay
    base = da.base
    detect = base.shape[0] > 0
    observe = detect and cfg.observe != 0  # replayed sentences do not feed the signatures
    nsig = min(SIG_DIM, dim)
    per_word = wdecay > 0.0
    for i in range(m):
        steps[i] = row_alpha(cfg, step_evidence(counts, base, kept[i]), kept[i]) if per_word else a32
    if observe and m > 0:
        detector_prefetch(da, kept[0])
    for i in range(m):
        word = kept[i]
        a_t = steps[i]
        npos = 0
        if observe:
            if i + 1 < m:  # the next centre's signature rows load while this centre trains
                detector_prefetch(da, kept[i + 1])
            for q in range(SIG_DIM):  # all of it: detector_observe adds SIG_DIM entries (d may be smaller)
                sigacc[q] = np.float32(0.0)
        b = window - np.int64(next_u64(rng, k) % np.uint64(window))
        if track != 0:
            wins[i] = b
        lo, hi = window_bounds(i, b, m)
        n_neg = 0
        if shared != 0 and hi - lo > 1 and noise_n > 0:
            # pWord2Vec's shared negatives: drawn once for the centre, used by each of its contexts
            for s in range(negative):
                target = sample_alias(noise_prob, noise_alias, noise_n, rng, k)
                if target != word:
                    outs[n_neg] = target
                    osteps[n_neg] = row_alpha(cfg, step_evidence(counts, base, target), target) if per_word else a32
                    n_neg += 1
        for j in range(lo, hi):
            if j == i:
                continue
            ctx = kept[j]
            wrow = W[ctx]
            a_w = steps[j]
            if observe:  # the positive pair (j, i) always trains: its context's row, before this pair's update
                for q in range(nsig):
                    sigacc[q] += wrow[q]
                npos += 1
            for d in range(dim):
                neu1e[d] = np.float32(0.0)
            for s in range(negative + 1):
                if s == 0:
                    target = word
                    label = np.float32(1.0)
                    a_c = a_t
                elif shared != 0:
                    if s > n_neg:
                        break
                    target = outs[s - 1]
                    label = np.float32(0.0)
                    a_c = osteps[s - 1]
                else:
                    if noise_n == 0:
                        break
                    target = sample_alias(noise_prob, noise_alias, noise_n, rng, k)
                    if target == word:
                        continue
                    label = np.float32(0.0)
                    a_c = row_alpha(cfg, step_evidence(counts, base, target), target) if per_word else a32
                crow = C[target]
                f = np.float32(0.0)
                for d in range(dim):
                    f += wrow[d] * crow[d]
                if f >= MAX_EXP:
                    idx = EXP_TABLE_SIZE
                elif f <= -MAX_EXP:
                    idx = 0
                else:
                    idx = np.int64((f + MAX_EXP) * _TSCALE)
                err = label - SIGMOID_TABLE[idx]
                gw = err * a_w  # the context's W row (via neu1e) and the target's C row, each at its own step
                g = err * a_c
                if s == 0:
                    loss -= LOG_SIG_TABLE[idx]
                else:
                    loss -= LOG_1M_SIG_TABLE[idx]
                for d in range(dim):
                    neu1e[d] += gw * crow[d]
                for d in range(dim):
                    crow[d] += g * wrow[d]
            for d in range(dim):
                wrow[d] += neu1e[d]
            n_pairs += 1
        if observe and npos > 0:
            detector_observe(da, word, sigacc, npos)
    if track != 0:
        cooc_sentence(kept, wins, m, ca, hashes)
    return loss, n_pairs, m


@njit(cache=True, nogil=True)
def _emit(batch, sen, nsen, words_at_start, senh):
    """Append one sentence of ids (and, when the batch records them, their hashes ``senh``) to the encoded batch."""
    bm = batch.meta[0]
    o = bm.n_ids
    for q in range(nsen):
        batch.ids[o + q] = sen[q]
    if batch.hashes.shape[0] > 0:
        for q in range(nsen):
            batch.hashes[o + q] = senh[q]
    ns = bm.n_sent
    batch.sent_words[ns] = words_at_start
    batch.sent_out[ns + 1] = o + nsen
    bm.n_sent = ns + 1
    bm.n_ids = o + nsen


# ---------------------------------------------------------------- the block: stages 1-4 in order
@njit(cache=True, fastmath=True, nogil=True)
def process_block(buf, pos, mode, train, may_evict, cfg, va, sk, na, ca, pa, fa, batch, pause_at, da):
    """Scan, count, admit and (if ``train``) train a block of lines, from byte ``pos``.

    Parameters
    ----------
    buf : ndarray, shape (n,), uint8
        ``\\n``-separated lines: lowercased UTF-8 (mode 0) or ``\\x1f``-separated
        tokens (mode 1); see :mod:`streamsgns.tokenize`.
    pos : int
        Byte offset to start at (0, or the offset a previous call returned).
    mode : int
        0 or 1, as above.
    train : bool
        True: train each chunk as soon as it is encoded (one worker; the result
        does not depend on how the stream is cut into blocks). False: write the
        ids to ``batch`` for :func:`train_batch`.
    may_evict : bool
        False while training threads may hold batches: an admission that needs an
        eviction then returns :data:`NEED_DRAIN` first.
    cfg : KernelConfig
    va, sk, na, ca, pa, fa : bundles
        Vocabulary, unigram sketch, noise table, co-occurrence statistics, SGNS
        parameters, forgetting schedule (:mod:`streamsgns.vocab`, :mod:`~streamsgns.sketch`,
        :mod:`~streamsgns.noise`, :mod:`~streamsgns.cooc`, :mod:`~streamsgns.parameters`,
        :mod:`~streamsgns.forget`). With ``cfg.half_life > 0`` the call returns :data:`FORGET`
        at the first chunk start once ``cfg.forget_every`` tokens have been seen since the last
        decay step (:data:`NEED_DRAIN` first when batches may be in flight); the driver runs
        :func:`forget_block` and calls again.
    batch : EncodedBatch
        Encode mode's output; when ``train``, the trained sentences are written to it too if it
        records hashes (``batch.hashes`` not empty: replay), else it is ignored.
    pause_at : int
        Tokens (``words_seen``): the first line that ends at or past it returns :data:`PAUSE`.
    da : DetectorArrays
        Change detection's rows (:mod:`streamsgns.change`; zero-length arrays: off).

    Returns
    -------
    status : int
        :data:`DONE`; or :data:`NEED_GROW` (fewer than ``max_sentence_length`` free
        rows below ``max_vocab``), :data:`EVENTS_FULL`, :data:`OUT_FULL`,
        :data:`NEED_DRAIN`, :data:`PAUSE` or :data:`FORGET`: the caller acts and calls again from ``pos``.
    pos : int
        Byte offset reached (a line start, or a token boundary in a long line).
    """
    n = buf.shape[0]
    maxlen = cfg.max_sentence_length
    cap = va.counts.shape[0]
    dim = pa.W.shape[1]
    # a chunk holds at most max_sentence_length tokens, and a block of n bytes at most n // 2 + 1 (a token
    # takes a byte and a separator at least): a short block (learn_one's line) allocates little
    room = min(maxlen, n // 2 + 1)
    sen = np.empty(room, dtype=np.int32)
    sc = new_scratch(room, dim, cfg.negative, cfg.track_cooc)
    vm = va.meta[0]
    meta = pa.meta[0]
    bm = batch.meta[0]
    record = batch.hashes.shape[0] > 0
    senh = np.empty(room if record else 0, dtype=np.uint64)  # every token's hash, when replay records
    line_tokens = 0
    at_line_start = True
    fm = fa.meta[0]
    while pos < n:
        # ---- forgetting (half_life): a decay step when due (forget_block), never while batches may hold ids
        if cfg.forget_every > 0 and fm.since >= cfg.forget_every:
            return (FORGET if may_evict else NEED_DRAIN), pos
        # ---- room for a whole sentence chunk: rows, events, output
        if vm.n_free + cap - vm.next_id < maxlen and cap < cfg.max_vocab:
            return NEED_GROW, pos
        if vm.n_events + maxlen > va.events.shape[0]:
            return EVENTS_FULL, pos
        if (not train or record) and (bm.n_ids + maxlen > batch.ids.shape[0]
                                      or bm.n_sent + 1 >= batch.sent_words.shape[0]):
            return OUT_FULL, pos
        if at_line_start:
            line_tokens = 0
        chunk_words = meta.words_seen
        chunk_t = alpha_tokens(cfg, fa, chunk_words)  # the learning rate's t (decayed with a half-life)
        # ---- stages 1 and 2: scan, count, admit, evict
        pos, nsen, ntok, drain = encode_chunk(buf, pos, mode, may_evict, cfg, va, sk, ca, na, pa, sen, batch,
                                              not train, da, senh)
        meta.words_seen += ntok
        if cfg.forget_every > 0:
            fm.since += ntok
        line_tokens += ntok
        if drain:
            if nsen > 0:
                _emit(batch, sen, nsen, np.int64(chunk_t), senh)
            return NEED_DRAIN, pos
        if ntok == maxlen and pos < n and buf[pos] != 10:
            # a full chunk: if only separators are left on the line, it ends here (not a split)
            s2, e2, nxt2, nctrl2 = scan_token(buf, pos, n, mode)
            if s2 == e2:
                meta.control_bytes += nctrl2
                pos = nxt2
        # ---- where are we: end of line, end of buffer, or a line split at maxlen
        if pos < n and buf[pos] == 10:
            pos += 1
            at_line_start = True
        elif pos >= n:
            at_line_start = True
        else:
            at_line_start = False
            meta.split_lines += 1
        if at_line_start:
            meta.lines += 1
            if line_tokens == 0:
                meta.empty_lines += 1
        trains = nsen > 0 and train
        if trains and record:  # a recorded chunk also holds words not admitted (id -1): train as without them
            trains = False
            for q in range(nsen):
                if sen[q] >= 0:
                    trains = True
                    break
        if trains:
            # ---- stage 3: refresh the noise table when due; stage 4: train
            noise_refresh_if_due(na, va.counts, vm.next_id, meta.words_seen, cfg.ns_exponent, cfg.min_refresh_tokens)
            alpha = current_alpha(cfg, chunk_t)
            loss, npairs, nkept = train_sentence(cfg, sen, nsen, alpha, vm.total, pa, va.counts, na, 1,
                                                 ca, va.hashes, da, sc)
            meta.loss += loss
            meta.loss_n += npairs
            meta.pairs += npairs
            meta.kept += nkept
        if nsen > 0 and (not train or record):
            _emit(batch, sen, nsen, np.int64(chunk_t), senh)
        if at_line_start and meta.words_seen >= pause_at:
            return PAUSE, pos
    return DONE, pos


@njit(cache=True, nogil=True)
def forget_block(cfg, fa, va, sk, ca, na, da, batch, encode):
    """One decay step of forgetting (:func:`streamsgns.forget.forget_step`) when :func:`process_block`
    returned :data:`FORGET`; with ``encode``, ids of words it evicted (faded) leave the pending ``batch``.

    A separate kernel so that runs without forgetting never compile it.
    """
    forget_step(cfg, fa, va, sk, ca, na, da)
    if encode:
        bm = batch.meta[0]
        for q in range(bm.n_ids):
            if batch.ids[q] >= 0 and va.counts[batch.ids[q]] == 0:
                batch.ids[q] = -1


@njit(cache=True, fastmath=True, nogil=True)
def train_batch(batch, s0, s1, cfg, total, pa, counts, na, k, ca, hashes, da):
    """Train sentences ``s0 .. s1-1`` of an :data:`EncodedBatch` on RNG stream ``k``.

    Runs without the GIL so that several Python threads train disjoint sentence ranges
    of the same batch at once, sharing ``W`` and ``C`` without locks (Hogwild; Recht et
    al. 2011). ``total`` is the sum of admitted counts when the batch was encoded; ``na``
    is the noise table of that moment (its record a snapshot, see
    :meth:`streamsgns.noise.NoiseDistribution.arrays`). Other parameters as in
    :func:`train_sentence`.

    Returns
    -------
    loss : float
        Summed SGNS loss (nats).
    n_pairs, n_kept : int
    """
    dim = pa.W.shape[1]
    maxlen = cfg.max_sentence_length
    sc = new_scratch(maxlen, dim, cfg.negative, cfg.track_cooc)
    loss = 0.0
    n_pairs = 0
    n_kept = 0
    for si in range(s0, s1):
        a = batch.sent_out[si]
        b = batch.sent_out[si + 1]
        alpha = current_alpha(cfg, batch.sent_words[si])
        sen = batch.ids[a:b]
        l, p, m = train_sentence(cfg, sen, b - a, alpha, total, pa, counts, na, k, ca, hashes, da, sc)
        loss += l
        n_pairs += p
        n_kept += m
    return loss, n_pairs, n_kept
