"""A plain-Python, float64 implementation of what one ``SGNS(workers=1)`` learns from a list of lines.

Why a second implementation? The numba kernels (:mod:`streamsgns.kernels`) are compiled with
``fastmath``, so their bytes depend on the CPU's vector width and the LLVM version: digests of W and
C can only be compared on the machine that made them. This module computes the same update slowly
and in float64, written from the description in the kernels' docstring rather than from their code,
so that ``tests/test_reference.py`` can compare W and C with a tolerance on every CPU.

It follows the stages of :func:`streamsgns.kernels.process_block` for ``workers=1``, one line at a
time:

1. **scan**: river's token pattern ``(?u)\\b\\w[\\w\\-]+\\b`` on the lowercased line (Python ``re``);
2. **count and admit**: a word not yet admitted is counted (exactly here; the model's count-min sketch
   is exact on a tiny case) and admitted when its count reaches ``min_count``, with that count; its id is
   the next unused one, its C row zero and its W row drawn from RNG stream 0 as ``(u − 0.5) / d``
   (word2vec's initialisation), stored as float32 as the model stores it;
3. **noise table**: Vose's alias table (Vose 1991) over ``count ** ns_exponent`` of the ids in use,
   rebuilt before a line is trained when ``max(min_refresh_tokens, n_ids)`` tokens have passed since
   the last rebuild (:mod:`streamsgns.noise`);
4. **train** (RNG stream 1): subsampling (Mikolov et al. 2013, sec. 2.3, word2vec.c's form: a token of
   count ``f`` is kept with probability ``(sqrt(f/(s·T)) + 1)·s·T/f``), the dynamic window ``b`` uniform
   in ``1..window``, and for each context ``c`` of centre ``t`` the SGNS step (Mikolov et al. 2013,
   eq. 4) on ``W[c]`` against ``C[t]`` (label 1) and ``negative`` noise draws (label 0; a draw equal
   to the centre is skipped): ``g = (y − σ(W[c]·C[o]))``, ``C[o] += g·eta_o·W[c]`` and
   ``W[c] += Σ_o g·eta_c·C[o]`` applied after the outputs. σ is word2vec's 1000-entry table on
   ``[−6, 6]`` (clipped outside), the rule of the model; everything else is float64.

With ``shared_negatives=True`` the ``negative`` draws are made once per centre (when it has a
context) and used by each of its contexts in turn (pWord2Vec, Ji et al. 2016, sec. 3).

The steps: the per-word rule ``eta(n) = max(min_alpha, alpha / (1 + n / word_decay))`` with ``n`` the
row's word count after the line was counted, or, with ``word_decay=None``, the global
``max(min_alpha, alpha / (1 + t / decay_tokens))`` with ``t`` the tokens seen before the line
(:mod:`streamsgns.rates`).

The random numbers are SplitMix64 (Steele, Lea & Flood 2014), re-implemented here on Python integers
from its published definition, seeded as :func:`streamsgns.hashing.seed_states` documents.

Only what a tiny test case needs is covered: no eviction (``max_vocab`` not reached), no forgetting,
no sketch halving, lines shorter than ``max_sentence_length``, ``tied=False``.
"""

from __future__ import annotations

import math
import re

import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
TOKEN_RE = re.compile(r"(?u)\b\w[\w\-]+\b")
MAX_EXP = 6.0
EXP_TABLE_SIZE = 1000


def mix64(z: int) -> int:
    """SplitMix64's finaliser on a Python int (mod 2**64)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class SplitMix64:
    """Streams ``0 .. n-1`` of SplitMix64 seeded from one integer seed (stream ``k`` from ``seed + (k+1)·golden``)."""

    def __init__(self, seed: int, n: int):
        self.state = [mix64((seed + (k + 1) * GOLDEN) & MASK) for k in range(n)]

    def u64(self, k: int) -> int:
        self.state[k] = (self.state[k] + GOLDEN) & MASK
        return mix64(self.state[k])

    def uniform(self, k: int) -> float:
        """A float in [0, 1) from the top 53 bits."""
        return (self.u64(k) >> 11) * (1.0 / 9007199254740992.0)


def sigmoid_table() -> np.ndarray:
    """word2vec's ``EXP_TABLE``: σ at ``EXP_TABLE_SIZE + 1`` points of ``[−6, 6]``, as float32 (word2vec.c)."""
    x = (np.arange(EXP_TABLE_SIZE + 1, dtype=np.float64) / EXP_TABLE_SIZE * 2.0 - 1.0) * MAX_EXP
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32).astype(np.float64)


def alias_table(weights: list[float]) -> tuple[list[float], list[int]]:
    """Vose's alias method (Vose 1991, IEEE TSE 17(9)) for the given non-negative weights."""
    n = len(weights)
    total = 0.0
    for w in weights:
        total += w
    prob = [0.0] * n
    alias = [0] * n
    scale = n / total
    w = [x * scale for x in weights]
    small = [i for i in range(n) if w[i] < 1.0]
    large = [i for i in range(n) if w[i] >= 1.0]
    while small and large:
        s = small.pop()
        g = large[-1]
        prob[s], alias[s] = w[s], g
        w[g] = (w[g] + w[s]) - 1.0
        if w[g] < 1.0:
            large.pop()
            small.append(g)
    for i in large + small:
        prob[i], alias[i] = 1.0, i
    return prob, alias


class ReferenceSGNS:
    """What ``SGNS(workers=1, track_cooc=False, **params)`` computes, in float64 (see the module docstring).

    Attributes
    ----------
    W, C : ndarray, shape (n_ids, d), float64
    index_to_key : list of str
    counts : list of int
    words_seen, pairs, kept : int
        Tokens scanned, pairs trained, tokens kept after subsampling.
    signatures : dict
        id -> [(16,) float64, int]: the sum of the first 16 coordinates of its contexts' W rows
        (each before its pair's update) and the number of those pairs, over the whole run: the
        change detector's context signature with no check ever resetting it (``streamsgns.change``).
    """

    def __init__(self, vector_size=100, window=5, negative=5, ns_exponent=0.75, sample=1e-3, min_count=5,
                 alpha=0.05, min_alpha=1e-4, seed=0, decay_tokens=20_000_000.0, word_decay=2000.0,
                 min_refresh_tokens=1000, shared_negatives=False):
        self.d, self.window, self.negative, self.power = vector_size, window, negative, ns_exponent
        self.sample, self.min_count, self.alpha, self.min_alpha = sample, min_count, alpha, min_alpha
        self.decay_tokens, self.word_decay, self.min_refresh = decay_tokens, word_decay, min_refresh_tokens
        self.shared_negatives = shared_negatives
        self.rng = SplitMix64(seed, 2)
        self.sig = sigmoid_table()
        self.signatures = {}  # id -> [(16,) float64 sum of its contexts' W rows, pairs]
        self.W = np.zeros((0, vector_size))
        self.C = np.zeros((0, vector_size))
        self.index_to_key: list[str] = []
        self.key_to_index: dict[str, int] = {}
        self.counts: list[int] = []
        self.pending: dict[str, int] = {}
        self.total = 0
        self.words_seen = self.pairs = self.kept = 0
        self.table = None  # (prob, alias) or None
        self.last_refresh = 0

    # ---------------------------------------------------------------- stages 1-3
    def _admit(self, word: str, count: int) -> int:
        wid = len(self.index_to_key)
        self.index_to_key.append(word)
        self.key_to_index[word] = wid
        self.counts.append(count)
        self.total += count
        row = np.array([np.float32((self.rng.uniform(0) - 0.5) * (1.0 / self.d)) for _ in range(self.d)],
                       dtype=np.float64)
        self.W = np.vstack([self.W, row])
        self.C = np.vstack([self.C, np.zeros(self.d)])
        return wid

    def _encode(self, line: str) -> list[int]:
        ids = []
        for tok in TOKEN_RE.findall(line.lower()):
            self.words_seen += 1
            wid = self.key_to_index.get(tok, -1)
            if wid >= 0:
                self.counts[wid] += 1
                self.total += 1
            else:
                c = self.pending.get(tok, 0) + 1
                self.pending[tok] = c
                if c >= self.min_count:
                    wid = self._admit(tok, c)
            if wid >= 0:
                ids.append(wid)
        return ids

    def _refresh_noise(self):
        n = len(self.counts)
        if n == 0:
            return
        if self.table is not None and self.words_seen - self.last_refresh < max(n, self.min_refresh):
            return
        self.table = alias_table([float(c) ** self.power if c > 0 else 0.0 for c in self.counts])
        self.last_refresh = self.words_seen

    def _noise_word(self) -> int:
        prob, alias = self.table
        r = self.rng.u64(1)
        i = ((r >> 32) * len(prob)) >> 32
        u = (r & 0xFFFFFFFF) * (1.0 / 4294967296.0)
        return i if u < prob[i] else alias[i]

    # ---------------------------------------------------------------- stage 4
    def eta(self, n: int, t: int) -> float:
        """The step of a row whose word has count ``n``, ``t`` tokens into the stream."""
        if self.word_decay is None:
            return max(self.min_alpha, self.alpha / (1.0 + t / self.decay_tokens))
        return max(self.min_alpha, self.alpha / (1.0 + n / self.word_decay))

    def _sigma(self, x: float) -> float:
        if x >= MAX_EXP:
            return self.sig[EXP_TABLE_SIZE]
        if x <= -MAX_EXP:
            return self.sig[0]
        return self.sig[int((x + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2.0))]

    def _train(self, ids: list[int], t: int):
        threshold = self.sample * self.total
        kept = []
        for w in ids:
            f = float(self.counts[w])
            if self.sample > 0 and f > threshold:
                if (math.sqrt(f / threshold) + 1.0) * threshold / f < self.rng.uniform(1):
                    continue
            kept.append(w)
        self.kept += len(kept)
        W, C = self.W, self.C
        m = len(kept)
        for i, centre in enumerate(kept):
            b = self.window - self.rng.u64(1) % self.window
            lo, hi = max(0, i - b), min(m, i + b + 1)
            shared = []
            if self.shared_negatives and hi - lo > 1 and self.table is not None:
                shared = [o for o in (self._noise_word() for _ in range(self.negative)) if o != centre]
            for j in range(lo, hi):
                if j == i:
                    continue
                ctx = kept[j]
                # the change detector's context signature: the context's W row (its first 16
                # coordinates) before this pair's update, summed per centre (streamsgns.change)
                sig = self.signatures.setdefault(centre, [np.zeros(16), 0])
                sig[0][: min(16, self.d)] += W[ctx][:16]
                sig[1] += 1
                eta_c = self.eta(self.counts[ctx], t)
                grad = np.zeros(self.d)
                if self.shared_negatives:
                    outputs = [(centre, 1.0)] + [(o, 0.0) for o in shared]
                else:
                    outputs = [(centre, 1.0)]
                    if self.table is not None:
                        draws = (self._noise_word() for _ in range(self.negative))
                        outputs += [(o, 0.0) for o in draws if o != centre]
                for out, label in outputs:
                    g = label - self._sigma(float(W[ctx] @ C[out]))
                    grad += g * eta_c * C[out]
                    C[out] += g * self.eta(self.counts[out], t) * W[ctx]
                W[ctx] += grad
                self.pairs += 1

    def learn_lines(self, lines) -> None:
        """Learn from ``lines`` (str), each one sentence, as ``SGNS.learn_many(lines)`` does with ``workers=1``."""
        for line in lines:
            t = self.words_seen
            ids = self._encode(line)
            if ids:
                self._refresh_noise()
                self._train(ids, t)
