"""The numba kernels: text bytes → token ids → SGNS updates of W and C.

This is the whole hot path, kept apart from the Python driver
(:mod:`streamsgns.learner`) the way gensim keeps ``word2vec_inner`` apart from
``word2vec``. Everything here takes plain arrays and releases the GIL.

One call of :func:`process_block` walks a block of ``\\n``-separated lines:

1. **scan** (:func:`scan_token`): find the tokens of river's pattern
   ``(?u)\\b\\w[\\w\\-]+\\b`` in lowercased bytes (or ``\\x1f``-separated
   pre-tokenised text), hash them (:mod:`streamsgns.hashing`);
2. **count and admit** (:func:`encode_token`): exact count for admitted words,
   count-min sketch for the others, admission at ``min_count``, eviction of the
   rarest when ``max_vocab`` is reached (:mod:`streamsgns.vocab`);
3. **refresh the noise table** when due (:mod:`streamsgns.noise`);
4. **train** each line (:func:`train_sentence`) — or, with ``workers > 1``,
   write ids for :func:`train_batch`, which Python threads run in parallel
   (Hogwild, Recht et al. 2011), as gensim does.

SGNS update (Mikolov et al. 2013, eq. 4; Goldberg & Levy 2014, eq. 4). After
subsampling, for centre position ``i`` a window ``b`` is drawn uniformly in
``1..window`` (word2vec's dynamic window) and for each context position ``j``
with ``0 < |i − j| <= b`` the pair is trained as in word2vec.c / gensim's
``fast_sentence_sg_neg``: the *context* word's row of ``W`` (syn0) is the
input, the *centre* word's row of ``C`` (syn1neg) the positive output, plus
``negative`` words drawn from the noise table (a draw equal to the centre is
skipped). With ``x = W[c]·C[t]`` and label ``y``: ``g = (y − σ(x))·alpha``,
``C[t] += g·W[c]``, and the gradient of ``W[c]`` is accumulated over the
``1 + negative`` outputs and applied once per pair. σ comes from a 1000-entry
table on ``[−6, 6]`` (word2vec's ``EXP_TABLE``), clipped outside.

Subsampling (Mikolov et al. 2013, section 2.3, in the form of word2vec.c):
a token of a word with count ``f`` is kept with probability
``(sqrt(f / (s·T)) + 1) · s·T / f`` where ``s = sample`` and ``T`` the total
count of admitted words, *before* windows are formed (so it widens the
effective window, Levy, Goldberg & Dagan 2015).

Learning rate, for a stream of unknown length: with ``t`` the tokens seen,
``alpha_t = max(min_alpha, alpha / (1 + t / decay_tokens))`` — the classic
``1/t`` Robbins–Monro schedule with a plateau of about ``decay_tokens``
tokens; no corpus length is needed. The default ``decay_tokens = 2e7`` was
chosen by measurement on the 12.6M-token real "mix" corpus (one pass,
gensim's other defaults): 2e6 / 2e7 / 5e7 / 2e8 gave WS353 0.35 / 0.48 /
0.50 / 0.51, SimLex 0.22 / 0.29 / 0.29 / 0.30 and Google analogies
0.09 / 0.14 / 0.13 / 0.12 (gensim's linear decay over one epoch: 0.42,
0.25, 0.11). A single pass profits from a learning rate that stays high;
2e7 keeps the best analogy score while still annealing long streams
(alpha is 0.0025 after 2e8 tokens).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .cooc import cooc_admit, cooc_release, cooc_sentence, window_bounds
from .hashing import hash_bytes, next_float, next_u64
from .noise import build_alias, refresh_due, sample_alias
from .sketch import cms_add
from .vocab import table_delete, table_insert, table_lookup

# ---------------------------------------------------------------- layout of the parameter and state arrays
# int64 parameters (ip)
P_WINDOW, P_NEGATIVE, P_MIN_COUNT, P_MAX_VOCAB, P_MAXLEN, P_MIN_REFRESH, P_TRACK, P_MODE, P_PRUNE_N, P_NO_REFRESH = range(10)
N_IP = 10
# float64 parameters (fp)
F_ALPHA, F_MIN_ALPHA, F_DECAY, F_SAMPLE, F_NS_EXP = range(5)
N_FP = 5
# int64 state (st)
(
    S_WORDS_SEEN,  # raw tokens scanned (admitted or not)
    S_NEXT_ID,  # ids 0..NEXT_ID-1 have been used
    S_N_FREE,  # free ids on the stack
    S_TOTAL,  # sum of counts of admitted words (T of the subsampling formula)
    S_N_PRUNES,
    S_NOISE_N,  # columns of the noise table (0 = empty)
    S_LAST_REFRESH,  # words_seen at the last noise rebuild
    S_LINES,
    S_EMPTY,  # lines without any token
    S_CTRL,  # control bytes seen (treated as separators)
    S_SPLIT,  # lines longer than maxlen tokens, split into several sentences
    S_PAIRS,  # (w, c) pairs trained
    S_KEPT,  # tokens left after subsampling and min-count removal
    S_N_EVENTS,  # admissions recorded in `events` by this call
    S_N_IDS,  # ids written to ids_out (encode mode)
    S_N_SENT,  # sentences written to sent_out (encode mode)
    S_CSLOT_FREE,  # free exact-co-occurrence slots
    S_N_REFRESH,  # noise rebuilds
    S_N_ADMITTED,  # admissions ever
    S_N_EVICTED,  # evictions ever
    S_SKETCH_TOTAL,  # increments added to the unigram count-min sketch (N of its error bound)
) = range(21)
N_ST = 21
# float64 state (fst)
FS_LOSS, FS_LOSS_N = range(2)
N_FST = 2

# status codes of process_block
DONE, NEED_GROW, EVENTS_FULL, OUT_FULL = range(4)

MAX_EXP = 6.0
EXP_TABLE_SIZE = 1000


def _tables():
    x = (np.arange(EXP_TABLE_SIZE + 1, dtype=np.float64) / EXP_TABLE_SIZE * 2.0 - 1.0) * MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32), np.log1p(-np.minimum(sig, 1 - 1e-7)).astype(np.float32)


SIGMOID_TABLE, LOG_SIG_TABLE, LOG_1M_SIG_TABLE = _tables()
_TSCALE = EXP_TABLE_SIZE / MAX_EXP / 2.0


@njit(cache=True, nogil=True, inline="always")
def is_word_byte(b):
    """``\\w`` on lowercased ASCII, and every non-ASCII byte (see :mod:`streamsgns.tokenize`)."""
    return (b >= 97 and b <= 122) or (b >= 48 and b <= 57) or b == 95 or b >= 128 or (b >= 65 and b <= 90)


@njit(cache=True, nogil=True)
def scan_token(buf, i, n, mode):
    """Find the next token in ``buf[i:n]`` without crossing a newline.

    Parameters
    ----------
    buf : ndarray, shape (n,), uint8
    i, n : int
        Byte offsets.
    mode : int
        0: river's pattern ``(?u)\\b\\w[\\w\\-]+\\b`` on lowercased text;
        1: tokens separated by ``\\x1f``.

    Returns
    -------
    start, end : int
        The token is ``buf[start:end]``; ``start == end`` means none before the
        line end.
    nxt : int
        Where to continue (the ``\\n`` itself when the line ended, or ``n``).
    n_ctrl : int
        Control bytes skipped (NUL and others below 0x20 except tab and CR).
    """
    n_ctrl = 0
    if mode == 0:
        while i < n:
            b = buf[i]
            if b == 10:
                return i, i, i, n_ctrl
            if is_word_byte(b):
                s = i
                j = i + 1
                while j < n:
                    bj = buf[j]
                    if is_word_byte(bj) or bj == 45:
                        j += 1
                    else:
                        break
                e = j
                while buf[e - 1] == 45:
                    e -= 1
                if e - s >= 2:
                    return s, e, j, n_ctrl
                i = j
            else:
                if b < 32 and b != 9 and b != 13:
                    n_ctrl += 1
                i += 1
        return n, n, n, n_ctrl
    else:
        while i < n:
            b = buf[i]
            if b == 10:
                return i, i, i, n_ctrl
            if b == 31:
                i += 1
                continue
            s = i
            while i < n and buf[i] != 31 and buf[i] != 10:
                i += 1
            return s, i, i, n_ctrl
        return n, n, n, n_ctrl


@njit(cache=True, nogil=True, inline="always")
def current_alpha(fp, words_seen):
    """``max(min_alpha, alpha / (1 + t / decay_tokens))`` for ``t = words_seen``."""
    a = fp[F_ALPHA] / (1.0 + words_seen / fp[F_DECAY])
    if a < fp[F_MIN_ALPHA]:
        a = fp[F_MIN_ALPHA]
    return a


@njit(cache=True, nogil=True)
def init_rows(wid, W, C, rng):
    """word2vec's initialisation of a (re)admitted word: W row ~ U(−0.5/d, 0.5/d), C row = 0.

    C is cleared before W is drawn so that with tied weights (``C is W``) the
    row keeps its random values: a zero row would never move under SGNS.
    """
    dim = W.shape[1]
    inv = 1.0 / dim
    for d in range(dim):
        C[wid, d] = np.float32(0.0)
        W[wid, d] = np.float32((next_float(rng, 0) - 0.5) * inv)


@njit(cache=True, nogil=True)
def prune_vocab(n_evict, st, keys, vals, hashes, counts, free_ids, cmeta, cslot_free, clo, chi):
    """Evict the ``n_evict`` rarest admitted words (ties: lower id first).

    Frees their ids (pushed on ``free_ids``), removes them from the hash
    table and the totals, releases their co-occurrence slots.

    Returns
    -------
    int
        Number evicted.
    """
    n = st[S_NEXT_ID]
    order = np.argsort(counts[:n], kind="mergesort")
    k = 0
    for idx in order:
        if counts[idx] == 0:
            continue
        table_delete(keys, vals, hashes[idx])
        st[S_TOTAL] -= counts[idx]
        counts[idx] = 0
        free_ids[st[S_N_FREE]] = idx
        st[S_N_FREE] += 1
        if cmeta.shape[0] > 0:
            cooc_release(idx, cmeta, cslot_free, clo, chi, st, S_CSLOT_FREE)
        k += 1
        if k == n_evict:
            break
    st[S_N_PRUNES] += 1
    st[S_N_EVICTED] += k
    return k


@njit(cache=True, fastmath=True, nogil=True)
def train_sentence(sen, nsen, alpha, ip, fp, total, W, C, counts, noise_prob, noise_alias, noise_n, rng, k,
                   kept, wins, neu1e, cmeta, clo, chi, csk, csk_seeds, cstate, hashes):
    """Subsample one sentence of ids and run the SGNS updates on it.

    Parameters
    ----------
    sen : ndarray, shape (>= nsen,), int32
        Vocabulary ids of the sentence; negative ids are skipped (removed).
    nsen : int
    alpha : float
        Learning rate for the whole sentence.
    ip, fp : ndarray
        int64 / float64 parameters (``P_*`` / ``F_*`` indices).
    total : int
        Sum of admitted counts (``T`` of the subsampling formula).
    W, C : ndarray, shape (capacity, dim), float32
        syn0 and syn1neg, updated in place.
    counts : ndarray, shape (capacity,), int64
    noise_prob, noise_alias : ndarray
        Alias table (:mod:`streamsgns.noise`) with ``noise_n`` columns.
    rng : ndarray, uint64
        RNG states; stream ``k`` is used.
    kept : ndarray, shape (>= nsen,), int32
        Scratch for the subsampled sentence.
    wins : ndarray, shape (>= 3 * nsen + 1,), int32
        Scratch for the windows drawn and :func:`streamsgns.cooc.cooc_sentence`
        (unused, may be empty, when ``ip[P_TRACK]`` is 0).
    neu1e : ndarray, shape (dim,), float32
        Scratch for the accumulated input gradient.
    cmeta, clo, chi, csk, csk_seeds, cstate, hashes
        Co-occurrence statistics (:mod:`streamsgns.cooc`), used when
        ``ip[P_TRACK]`` is non-zero: the windows drawn are kept and
        :func:`streamsgns.cooc.cooc_sentence` counts the sentence's pairs
        after its updates (it draws nothing from ``rng``).

    Returns
    -------
    loss : float
        Sum of the SGNS losses ``−log σ(x⁺) − Σ log σ(−x⁻)`` of the pairs (nats).
    n_pairs : int
        (w, c) pairs trained.
    n_kept : int
        Tokens left after subsampling.
    """
    window = ip[P_WINDOW]
    negative = ip[P_NEGATIVE]
    track = ip[P_TRACK]
    sample = fp[F_SAMPLE]
    dim = W.shape[1]
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
    for i in range(m):
        word = kept[i]
        b = window - np.int64(next_u64(rng, k) % np.uint64(window))
        if track != 0:
            wins[i] = b
        lo, hi = window_bounds(i, b, m)
        for j in range(lo, hi):
            if j == i:
                continue
            ctx = kept[j]
            wrow = W[ctx]
            for d in range(dim):
                neu1e[d] = np.float32(0.0)
            for s in range(negative + 1):
                if s == 0:
                    target = word
                    label = np.float32(1.0)
                else:
                    if noise_n == 0:
                        break
                    target = sample_alias(noise_prob, noise_alias, noise_n, rng, k)
                    if target == word:
                        continue
                    label = np.float32(0.0)
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
                g = (label - SIGMOID_TABLE[idx]) * a32
                if s == 0:
                    loss -= LOG_SIG_TABLE[idx]
                else:
                    loss -= LOG_1M_SIG_TABLE[idx]
                for d in range(dim):
                    neu1e[d] += g * crow[d]
                for d in range(dim):
                    crow[d] += g * wrow[d]
            for d in range(dim):
                wrow[d] += neu1e[d]
            n_pairs += 1
    if track != 0:
        cooc_sentence(kept, wins, m, cmeta, clo, chi, csk, csk_seeds, cstate, hashes)
    return loss, n_pairs, m


@njit(cache=True, fastmath=True, nogil=True)
def process_block(buf, pos, train, ip, fp, st, fst, rng,
                  keys, vals, hashes, counts, free_ids, sk_table, sk_seeds,
                  W, C, noise_prob, noise_alias,
                  ids_out, sent_out, sent_words, events,
                  cmeta, cslot_free, clo, chi, csk, csk_seeds, cstate):
    """Scan, count, admit and (if ``train``) train a block of lines, from byte ``pos``.

    Parameters
    ----------
    buf : ndarray, shape (n,), uint8
        ``\\n``-separated lines: lowercased UTF-8 (mode 0) or ``\\x1f``-separated
        tokens (mode 1); see :mod:`streamsgns.tokenize`.
    pos : int
        Byte offset to start at (0, or the offset a previous call returned).
    train : bool
        True: train each line as soon as it is encoded (one worker; the result
        does not depend on how the stream is cut into blocks). False: write the
        ids to ``ids_out``/``sent_out`` for :func:`train_batch`.
    ip, fp, st, fst : ndarray
        Parameters and state, laid out by the ``P_*``, ``F_*``, ``S_*``,
        ``FS_*`` indices of this module.
    rng : ndarray, shape (1 + workers,), uint64
        Stream 0 initialises rows; stream 1 trains (in ``train`` mode).
    keys, vals, hashes, counts, free_ids : ndarray
        The vocabulary (:mod:`streamsgns.vocab`).
    sk_table, sk_seeds : ndarray
        The unigram count-min sketch (:mod:`streamsgns.sketch`).
    W, C : ndarray, shape (capacity, dim), float32
    noise_prob, noise_alias : ndarray, shape (capacity,)
        Rebuilt in place when due, unless ``ip[P_NO_REFRESH]``.
    ids_out : ndarray, shape (m,), int32; sent_out : ndarray, shape (s + 1,), int64
    sent_words : ndarray, shape (s,), int64
        Encode mode: ids, sentence boundaries, and ``words_seen`` at each
        sentence start (for its learning rate).
    events : ndarray, shape (E, 3), int64
        Admissions ``(id, start, end)`` for the Python-side word list.
    cmeta, cslot_free, clo, chi, csk, csk_seeds, cstate : ndarray
        Co-occurrence statistics (:mod:`streamsgns.cooc`, ``cooc_kernel_args``).

    Returns
    -------
    status : int
        ``DONE``; or ``NEED_GROW`` (fewer than ``maxlen`` free rows below
        ``max_vocab``), ``EVENTS_FULL`` or ``OUT_FULL``: the caller makes room
        and calls again from ``pos``.
    pos : int
        Byte offset reached (a line start, or a token boundary in a long line).
    """
    n = buf.shape[0]
    mode = ip[P_MODE]
    maxlen = ip[P_MAXLEN]
    min_count = ip[P_MIN_COUNT]
    max_vocab = ip[P_MAX_VOCAB]
    cap = counts.shape[0]
    dim = W.shape[1]
    sen = np.empty(maxlen, dtype=np.int32)
    kept = np.empty(maxlen, dtype=np.int32)
    wins = np.empty(3 * maxlen + 1 if ip[P_TRACK] != 0 else 0, dtype=np.int32)
    neu1e = np.empty(dim, dtype=np.float32)
    n_events_cap = events.shape[0]
    line_tokens = 0
    at_line_start = True
    while pos < n:
        # ---- room for a whole sentence chunk: rows, events, output
        rows_free = st[S_N_FREE] + cap - st[S_NEXT_ID]
        if rows_free < maxlen and cap < max_vocab:
            return NEED_GROW, pos
        if st[S_N_EVENTS] + maxlen > n_events_cap:
            return EVENTS_FULL, pos
        if not train:
            if st[S_N_IDS] + maxlen > ids_out.shape[0] or st[S_N_SENT] + 1 >= sent_words.shape[0]:
                return OUT_FULL, pos
        if at_line_start:
            line_tokens = 0
        chunk_words = st[S_WORDS_SEEN]
        nsen = 0
        ntok = 0
        # ---- scan, count, admit
        while ntok < maxlen:
            s, e, nxt, nctrl = scan_token(buf, pos, n, mode)
            st[S_CTRL] += nctrl
            pos = nxt
            if s == e:
                break
            ntok += 1
            h = hash_bytes(buf, s, e)
            wid = table_lookup(keys, vals, h)
            if wid >= 0:
                counts[wid] += 1
                st[S_TOTAL] += 1
            else:
                est = cms_add(sk_table, sk_seeds, h, 1)
                st[S_SKETCH_TOTAL] += 1
                if est >= min_count:
                    if st[S_N_FREE] == 0 and st[S_NEXT_ID] >= cap:
                        # full at max_vocab: evict the rarest, forget their ids in this sentence
                        prune_vocab(ip[P_PRUNE_N], st, keys, vals, hashes, counts, free_ids,
                                    cmeta, cslot_free, clo, chi)
                        for q in range(nsen):
                            if sen[q] >= 0 and counts[sen[q]] == 0:
                                sen[q] = -1
                        if not train:
                            for q in range(st[S_N_IDS]):
                                if ids_out[q] >= 0 and counts[ids_out[q]] == 0:
                                    ids_out[q] = -1
                        st[S_LAST_REFRESH] = -(1 << 62)  # rebuild the noise table soon
                    if st[S_N_FREE] > 0:
                        st[S_N_FREE] -= 1
                        wid = np.int64(free_ids[st[S_N_FREE]])
                    else:
                        wid = st[S_NEXT_ID]
                        st[S_NEXT_ID] += 1
                    table_insert(keys, vals, h, wid)
                    hashes[wid] = h
                    counts[wid] = est
                    st[S_TOTAL] += est
                    st[S_N_ADMITTED] += 1
                    init_rows(wid, W, C, rng)
                    if cmeta.shape[0] > 0:
                        cooc_admit(wid, cmeta, cslot_free, st, S_CSLOT_FREE)
                    ev = st[S_N_EVENTS]
                    events[ev, 0] = wid
                    events[ev, 1] = s
                    events[ev, 2] = e
                    st[S_N_EVENTS] = ev + 1
            if wid >= 0:
                sen[nsen] = wid
                nsen += 1
        st[S_WORDS_SEEN] += ntok
        line_tokens += ntok
        if ntok == maxlen and pos < n and buf[pos] != 10:
            # a full chunk: if only separators are left on the line, it ends here (not a split)
            s2, e2, nxt2, nctrl2 = scan_token(buf, pos, n, mode)
            if s2 == e2:
                st[S_CTRL] += nctrl2
                pos = nxt2
        # ---- where are we: end of line, end of buffer, or a line split at maxlen
        if pos < n and buf[pos] == 10:
            pos += 1
            at_line_start = True
        elif pos >= n:
            at_line_start = True
        else:
            at_line_start = False
            st[S_SPLIT] += 1
        if at_line_start:
            st[S_LINES] += 1
            if line_tokens == 0:
                st[S_EMPTY] += 1
        if nsen == 0:
            continue
        # ---- train now, or hand the ids to the threads
        if train:
            if ip[P_NO_REFRESH] == 0 and refresh_due(st[S_WORDS_SEEN], st[S_LAST_REFRESH], st[S_NEXT_ID],
                                                     st[S_NOISE_N], ip[P_MIN_REFRESH]):
                st[S_NOISE_N] = build_alias(counts, st[S_NEXT_ID], fp[F_NS_EXP], noise_prob, noise_alias)
                st[S_LAST_REFRESH] = st[S_WORDS_SEEN]
                st[S_N_REFRESH] += 1
            alpha = current_alpha(fp, chunk_words)
            loss, npairs, nkept = train_sentence(sen, nsen, alpha, ip, fp, st[S_TOTAL], W, C, counts,
                                                 noise_prob, noise_alias, st[S_NOISE_N], rng, 1,
                                                 kept, wins, neu1e, cmeta, clo, chi, csk, csk_seeds, cstate, hashes)
            fst[FS_LOSS] += loss
            fst[FS_LOSS_N] += npairs
            st[S_PAIRS] += npairs
            st[S_KEPT] += nkept
        else:
            o = st[S_N_IDS]
            for q in range(nsen):
                ids_out[o + q] = sen[q]
            ns = st[S_N_SENT]
            sent_words[ns] = chunk_words
            sent_out[ns + 1] = o + nsen
            st[S_N_SENT] = ns + 1
            st[S_N_IDS] = o + nsen
    return DONE, pos


@njit(cache=True, fastmath=True, nogil=True)
def train_batch(ids, sent_out, sent_words, s0, s1, ip, fp, total, W, C, counts, noise_prob, noise_alias, noise_n,
                rng, k, cmeta, clo, chi, csk, csk_seeds, cstate, hashes):
    """Train sentences ``s0 .. s1-1`` written by :func:`process_block` in encode mode.

    Runs without the GIL so that several Python threads train disjoint
    sentence ranges of the same batch at once, sharing ``W`` and ``C``
    without locks (Hogwild; Recht et al. 2011).

    Parameters
    ----------
    ids : ndarray, shape (m,), int32
    sent_out : ndarray, shape (s + 1,), int64
        Sentence ``i`` is ``ids[sent_out[i]:sent_out[i + 1]]``.
    sent_words : ndarray, shape (s,), int64
        ``words_seen`` at each sentence start (learning-rate schedule).
    s0, s1 : int
    total : int
        Sum of admitted counts when the batch was encoded.
    rng : ndarray, uint64
        Stream ``k`` is used (one per thread).
    Others
        As in :func:`train_sentence`.

    Returns
    -------
    loss : float
        Summed SGNS loss (nats).
    n_pairs, n_kept : int
    """
    dim = W.shape[1]
    maxlen = ip[P_MAXLEN]
    kept = np.empty(maxlen, dtype=np.int32)
    wins = np.empty(3 * maxlen + 1 if ip[P_TRACK] != 0 else 0, dtype=np.int32)
    neu1e = np.empty(dim, dtype=np.float32)
    loss = 0.0
    n_pairs = 0
    n_kept = 0
    for si in range(s0, s1):
        a = sent_out[si]
        b = sent_out[si + 1]
        alpha = current_alpha(fp, sent_words[si])
        l, p, m = train_sentence(ids[a:b], b - a, alpha, ip, fp, total, W, C, counts, noise_prob, noise_alias,
                                 noise_n, rng, k, kept, wins, neu1e, cmeta, clo, chi, csk, csk_seeds, cstate, hashes)
        loss += l
        n_pairs += p
        n_kept += m
    return loss, n_pairs, n_kept
