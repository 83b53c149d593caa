"""Numba kernels: the SGNS update, subsampling, dynamic window, and hostile input end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers_core import assert_finite, assert_vocab_consistent, control_bytes
from streamsgns import SGNS
from streamsgns import kernels as K
from streamsgns._state import new_record
from streamsgns.change import NO_DETECT
from streamsgns.cooc import NO_COOC
from streamsgns.hashing import seed_states
from streamsgns.noise import NOISE_RECORD, NoiseArrays
from streamsgns.parameters import STREAM_RECORD, ParamArrays
from streamsgns.tokenize import tokenize


def _params(window=1, negative=0, sample=0.0, alpha=0.025, maxlen=1000):
    cfg = K.make_config(window=window, negative=negative, min_count=1, max_vocab=1000, max_sentence_length=maxlen,
                        min_refresh_tokens=1000, track_cooc=False, prune_size=1, alpha=alpha, min_alpha=1e-4,
                        decay_tokens=1e6, sample=sample, ns_exponent=0.75)
    return cfg, None


def _train(sen, W, C, counts, total, cfg, _unused, alpha, noise=None, seed=0):
    sen = np.asarray(sen, dtype=np.int32)
    if noise is None:
        na = NoiseArrays(np.zeros(1), np.zeros(1, np.int32), new_record(NOISE_RECORD))
    else:
        na = noise.arrays()
    pa = ParamArrays(W, C, seed_states(seed, 2), new_record(STREAM_RECORD))
    return K.train_sentence(cfg, sen, len(sen), alpha, total, pa, counts, na, 1, NO_COOC, np.zeros(0, np.uint64),
                            NO_DETECT, K.new_scratch(len(sen), W.shape[1], cfg.negative, cfg.track_cooc))


def _sig_table(x):
    if x >= K.MAX_EXP:
        i = K.EXP_TABLE_SIZE
    elif x <= -K.MAX_EXP:
        i = 0
    else:
        i = int((x + K.MAX_EXP) * (K.EXP_TABLE_SIZE / K.MAX_EXP / 2))
    return float(K.SIGMOID_TABLE[i]), i


def test_sgns_update_matches_reference():
    rng = np.random.default_rng(0)
    d = 6
    W = rng.normal(0, 0.3, size=(3, d)).astype(np.float32)
    C = rng.normal(0, 0.3, size=(3, d)).astype(np.float32)
    Wr, Cr = W.astype(np.float64), C.astype(np.float64)
    alpha = 0.1
    ip, fp = _params(window=1, negative=0)
    counts = np.array([5, 5, 5], dtype=np.int64)
    loss, pairs, kept = _train([0, 1], W, C, counts, 15, ip, fp, alpha)
    assert (pairs, kept) == (2, 2)
    ref_loss = 0.0
    # centre 0 with context 1, then centre 1 with context 0 (word2vec.c's order)
    for word, ctx in ((0, 1), (1, 0)):
        f = Wr[ctx] @ Cr[word]
        s, i = _sig_table(f)
        g = (1.0 - s) * alpha
        ref_loss -= float(K.LOG_SIG_TABLE[i])
        neu1e = g * Cr[word]
        Cr[word] += g * Wr[ctx]
        Wr[ctx] += neu1e
    np.testing.assert_allclose(W, Wr, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(C, Cr, rtol=1e-5, atol=1e-6)
    assert loss == pytest.approx(ref_loss, rel=1e-5)


def test_negative_updates_push_noise_words_away():
    from streamsgns.noise import NoiseDistribution

    d = 8
    rng = np.random.default_rng(1)
    W = rng.normal(0, 0.1, size=(4, d)).astype(np.float32)
    C = np.zeros((4, d), dtype=np.float32)
    counts = np.array([10, 10, 0, 10], dtype=np.int64)
    nd = NoiseDistribution(0.75, capacity=4)
    nd.refresh(counts, 4)
    ip, fp = _params(window=1, negative=5)
    for _ in range(200):
        _train([0, 1], W, C, counts, 30, ip, fp, 0.05, noise=nd, seed=_)
    assert np.all(C[2] == 0)  # id with count 0 is never a negative
    # positives attract, negatives (word 3 as noise) repel
    assert W[1] @ C[0] > 1.0 and W[0] @ C[1] > 1.0
    assert W[0] @ C[3] < 0 and W[1] @ C[3] < 0


def test_subsampling_keeps_word2vec_fraction():
    d = 4
    n, f, total, sample = 20000, 500, 100_000, 1e-3
    W = np.zeros((1, d), np.float32)
    C = np.zeros((1, d), np.float32)
    counts = np.array([f], dtype=np.int64)
    ip, fp = _params(window=1, sample=sample, maxlen=n)
    _, _, kept = _train(np.zeros(n), W, C, counts, total, ip, fp, 0.0)
    t = sample * total
    p = (math.sqrt(f / t) + 1) * t / f
    assert 0 < p < 1
    sd = math.sqrt(n * p * (1 - p))
    assert abs(kept - n * p) < 5 * sd, (kept, n * p)
    # a word rarer than the threshold is always kept
    counts[0] = 50
    _, _, kept = _train(np.zeros(n), W, C, counts, total, ip, fp, 0.0)
    assert kept == n
    # negative ids (removed words) are never kept
    _, pairs, kept = _train(np.full(50, -1), W, C, counts, total, ip, fp, 0.0)
    assert kept == 0 and pairs == 0


@pytest.mark.parametrize("window", [1, 3, 5])
def test_dynamic_window_mean_pairs(window):
    d = 2
    L = 20000
    W = np.zeros((1, d), np.float32)
    C = np.zeros((1, d), np.float32)
    counts = np.array([L], dtype=np.int64)
    ip, fp = _params(window=window, maxlen=L)
    _, pairs, _ = _train(np.zeros(L), W, C, counts, L, ip, fp, 0.0)
    # b uniform in 1..window: 2 E[b] = window + 1 contexts per centre (edges aside)
    per_centre = pairs / L
    assert abs(per_centre - (window + 1)) < 0.05 * (window + 1), per_centre
    if window > 1:  # a fixed window would give 2 * window
        assert per_centre < 2 * window - 0.5


def test_learning_rate_schedule():
    # the global rule: t = tokens seen
    m = SGNS(vector_size=4, alpha=0.05, min_alpha=0.001, decay_tokens=1000, word_decay=None, min_count=1, seed=0)
    assert m.current_alpha == pytest.approx(0.05)
    m.learn_one(" ".join(["ab"] * 1000))
    assert m.current_alpha == pytest.approx(0.05 / 2)
    m.learn_one(" ".join(["ab"] * 100_000))
    assert m.current_alpha == pytest.approx(0.001)  # floor
    # the per-word rule (default): the step of the one word, from its own count
    m = SGNS(vector_size=4, alpha=0.05, min_alpha=0.001, word_decay=1000, min_count=1, seed=0)
    m.learn_one(" ".join(["ab"] * 1000))
    assert m.current_alpha == pytest.approx(0.05 / 2)
    m.learn_one(" ".join(["ab"] * 100_000))
    assert m.current_alpha == pytest.approx(0.001)  # floor


# ---------------------------------------------------------------- hostile input end to end
def _hostile_model(**kw):
    base = dict(vector_size=8, min_count=1, seed=0, sketch_width=1 << 16, cooc_top_n=64)
    base.update(kw)
    return SGNS(**base)


def test_invalid_utf8_counted_and_harmless():
    m = _hostile_model()
    data = b"good words here\n\xff\xfe bad \xc3\x28 bytes \xe2\x82\nmore good words\n"
    m.learn_text(data)
    assert m.progress()["invalid_utf8"] == 4
    assert m.words_seen == len(tokenize(data.decode("utf-8", "replace").replace("\n", " ")))
    assert "bad" in m and "bytes" in m
    assert_finite(m)


def test_empty_lines_counted():
    m = _hostile_model()
    m.learn_text(b"aa bb\n\n\n  \n!!\ncc dd\n")
    p = m.progress()
    assert p["lines"] == 6 and p["empty_lines"] == 4
    assert m.words_seen == 4
    m.learn_text(b"\n")
    assert m.progress()["empty_lines"] == 5
    assert_finite(m)


def test_control_characters_and_nul_are_separators():
    m = _hostile_model()
    data = b"ab\x00cd\x01ef\x1fgh\x7fij\tkl\rmn\x0bop"
    m.learn_text(data)
    assert m.words_seen == 8 == len(tokenize(data.decode()))  # \x7f, tab and CR separate too (not \w)
    assert "ab" in m and "op" in m
    assert m.progress()["control_bytes"] == control_bytes(data) == 4
    assert_finite(m)


def test_control_bytes_counted_on_non_ascii_lines_too():
    m = _hostile_model()
    m.learn_text("caf\u00e9\x00bar\x01baz".encode())
    assert m.words_seen == 3
    assert m.progress()["control_bytes"] == 2
    m.learn_text(b"\xff\x00\x00 aa\n")  # invalid UTF-8 makes the line non-ASCII
    assert m.progress()["control_bytes"] == 4


def test_huge_single_token():
    m = _hostile_model()
    tok = "x" * 5_000_000
    m.learn_one(f"aa {tok} bb")
    assert m.words_seen == 3 and tok in m
    m.learn_one(["yy", "z" * 3_000_000])
    assert m.words_seen == 5
    assert_finite(m)
    assert_vocab_consistent(m)


def test_ten_megabyte_line_of_words_is_split():
    maxlen = 10_000
    m = _hostile_model(max_sentence_length=maxlen, sample=1e-3)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    n_tok = 1_700_003
    line = " ".join(words[i % 5] for i in range(n_tok))
    assert len(line) > 10_000_000
    m.learn_one(line)
    p = m.progress()
    assert m.words_seen == n_tok
    assert p["lines"] == 1 and p["split_lines"] == math.ceil(n_tok / maxlen) - 1
    assert p["pairs"] > 0
    assert_finite(m)


@pytest.mark.parametrize("n_tok,trail", [(20, ""), (20, " "), (20, " !! "), (21, " "), (19, ""), (5, " ")])
def test_split_count_exact(n_tok, trail):
    m = _hostile_model(max_sentence_length=5)
    m.learn_one(" ".join(["aa"] * n_tok) + trail)
    m.learn_one("bb cc" + trail)
    p = m.progress()
    assert p["split_lines"] == math.ceil(n_tok / 5) - 1
    assert p["lines"] == 2 and p["empty_lines"] == 0
    assert m.words_seen == n_tok + 2


def test_ten_megabyte_line_of_random_bytes():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 10_000_000, dtype=np.uint8).tobytes().replace(b"\n", b" ")
    m = _hostile_model(max_vocab=50_000, max_sentence_length=2000)
    m.learn_text(data)
    text = data.decode("utf-8", "replace")
    p = m.progress()
    assert m.words_seen == len(tokenize(text))
    assert p["invalid_utf8"] == text.count("\ufffd") - data.count("\ufffd".encode())
    assert p["invalid_utf8"] > 1_000_000
    assert p["control_bytes"] == control_bytes(text.encode("utf-8"))
    assert p["lines"] == 1 and p["split_lines"] > 0
    assert p["evicted"] > 0 and m.vocab_size <= 50_000
    assert_finite(m)
    assert_vocab_consistent(m)


def test_random_binary_blocks_many_lines():
    rng = np.random.default_rng(3)
    m = _hostile_model(max_vocab=500)
    total = 0
    for k in range(30):
        data = rng.integers(0, 256, 30_000, dtype=np.uint8).tobytes()
        m.learn_text(data)
        total += len(tokenize(data.decode("utf-8", "replace").replace("\n", " ")))
    assert m.words_seen == total
    assert_finite(m)
    assert_vocab_consistent(m)


def test_unicode_and_emoji_words_train():
    m = _hostile_model()
    for _ in range(20):
        m.learn_one("Ünïcödé wörds 東京 タワー naïve café 😀 \u212aelvin KELVIN")
    for w in ("ünïcödé", "wörds", "東京", "タワー", "naïve", "café", "kelvin"):
        assert w in m, w
    assert m.counts[m.key_to_index["kelvin"]] == 40
    assert "😀" not in m  # emoji are not \w
    assert_finite(m)


def test_largest_accepted_learning_rate_stays_finite():
    from streamsgns.validation import MAX_ALPHA

    m = SGNS(vector_size=8, min_count=1, alpha=MAX_ALPHA, min_alpha=MAX_ALPHA, sample=0.0, negative=15, window=10,
             seed=0, track_cooc=False)
    for _ in range(500):
        m.learn_one("aa bb aa bb cc aa bb aa aa aa bb")
    assert_finite(m)


def test_learning_rate_that_diverges_is_refused():
    # alpha = 0.5 drives real text to inf/NaN (benchmarks/learning_rule/alpha_bound.py): the constructor refuses it
    for alpha in (1.0, 0.5, 0.25, 0.21):
        with pytest.raises(ValueError, match="alpha"):
            SGNS(alpha=alpha, min_alpha=1e-4)


def test_the_alpha_bound_is_real_on_real_text(monkeypatch):
    """At the bound W stays small on real text; past it (allowed here by hand) the same run diverges."""
    from streamsgns import validation
    from helpers_core import lee_lines

    lines = list(lee_lines())
    monkeypatch.setattr(validation, "MAX_ALPHA", 10.0)
    sizes = {}
    for alpha in (0.2, 0.5):
        m = SGNS(vector_size=50, negative=5, window=5, alpha=alpha, min_alpha=alpha, min_count=2, seed=0,
                 track_cooc=False)
        m.learn_many(lines)
        m.learn_many(lines)
        W = m.W
        sizes[alpha] = float(np.abs(W).max()) if np.isfinite(W).all() else float("inf")
    assert sizes[0.2] < 10.0 and sizes[0.5] > 1e6, sizes




def test_shared_negatives_survive_a_checkpoint_and_old_states_keep_per_pair_draws(tmp_path):
    """A model resumes with the negatives it was trained with: the parameter is in the checkpoint, and a
    state written before shared negatives existed (no such key) loads with a fresh draw per pair."""
    lines = ["the cat sat on the mat", "the dog sat on the log"] * 30
    for shared in (False, True):
        m = SGNS(vector_size=8, min_count=1, seed=2, shared_negatives=shared)
        m.learn_many(lines)
        m.save(tmp_path / f"m{shared}.npz")
        back = SGNS.load(tmp_path / f"m{shared}.npz")
        assert back.shared_negatives is shared and back._trainer.cfg.shared_negatives == int(shared)
    state = SGNS(vector_size=8, min_count=1).state_dict()
    del state["params"]["shared_negatives"]
    assert SGNS.from_state(state).shared_negatives is False
    with pytest.raises(ValueError, match="shared_negatives"):
        SGNS(shared_negatives="yes")
