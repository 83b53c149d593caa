"""Exponential forgetting (``SGNS(half_life=H)``, issue 9): the decay law, faded words, memory on a
turnover stream, the noise distribution following the stream, checkpoints and resume, the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers_core import assert_vocab_consistent, lee_lines
from streamsgns import SGNS
from streamsgns.forget import DECAY_STEPS, Forgetting, fade_count, forget_every, stochastic_round
from streamsgns.io.checkpoint import read_checkpoint
from streamsgns.sketch import CountMinSketch

SMALL = dict(vector_size=8, sketch_width=1 << 10, cooc_top_n=32, cooc_sketch_width=1 << 10, seed=3)


def _filler(n_lines: int, tag: str = "f", words_per_line: int = 8, vocab: int = 40) -> list[str]:
    """Lines of ``words_per_line`` tokens cycling over ``vocab`` words ``{tag}0 .. {tag}{vocab-1}``."""
    out, k = [], 0
    for _ in range(n_lines):
        out.append(" ".join(f"{tag}{(k + j) % vocab}" for j in range(words_per_line)))
        k += words_per_line + 1
    return out


def test_half_life_none_keeps_an_inactive_schedule():
    m = SGNS(min_count=1, word_decay=None, alpha=0.025, **SMALL)
    m.learn_many(_filler(200))
    st_ = m.state_dict()["forget"]
    assert st_ == {"half_life": None, "since": 0, "n_decays": 0, "decayed_tokens": 0.0, "n_faded": 0,
                   "sketch_since": 0}
    assert m.progress()["decay_steps"] == 0
    assert m.current_alpha == pytest.approx(0.025 / (1 + m.words_seen / 2e7))


def test_count_halves_after_one_half_life_of_other_text():
    H = 4000
    m = SGNS(min_count=1, sample=0.0, half_life=H, **SMALL)
    m.learn_many(["target " + line for line in _filler(50, words_per_line=7)])  # 400 tokens, 50 "target"
    seen = m.words_seen
    m.learn_many(_filler(H // 8 + 1, tag="g"))  # H tokens without "target"
    elapsed = m.words_seen - seen
    c0 = 50 * 2 ** (-(seen / 2) / H)  # the 50 occurrences were spread over the first 400 tokens
    want = c0 * 2 ** (-elapsed / H)
    got = m.vocab.count("target")
    # exact at each decay step; between steps at most 2**(1/16) heavier; stochastic rounding: ± a few
    assert want * 0.85 - 2 <= got <= want * 2 ** (1 / DECAY_STEPS) * 1.15 + 2, (got, want)
    assert m.progress()["decay_steps"] >= DECAY_STEPS - 1
    # total (T of subsampling) is the sum of the decayed counts: the decayed token count
    assert m.vocab.total == int(m.counts.sum())
    assert m.vocab.total == pytest.approx(H / math.log(2) * (1 - 2 ** (-m.words_seen / H)), rel=0.06)
    # the co-occurrence statistics decayed too: |D| well below the pairs trained
    assert 0 < m.cooc.total() < 0.8 * m.progress()["pairs"]


def test_decayed_token_count_and_alpha_saturate():
    H = 2000
    m = SGNS(min_count=1, half_life=H, decay_tokens=1000.0, word_decay=None, alpha=0.025, **SMALL)
    m.learn_many(_filler(20 * H // 8))  # 20 half-lives
    t = m.forget.alpha_tokens(m.words_seen)
    assert t == pytest.approx(H / math.log(2), rel=0.02)
    assert m.current_alpha == pytest.approx(0.025 / (1 + H / math.log(2) / 1000.0), rel=0.02)
    # without forgetting the same stream anneals much further
    m0 = SGNS(min_count=1, decay_tokens=1000.0, word_decay=None, alpha=0.025, **SMALL)
    m0.learn_many(_filler(20 * H // 8))
    assert m0.current_alpha < 0.2 * m.current_alpha


def test_per_word_steps_saturate_with_forgetting():
    """Per-word rule: each count tends to its decayed level, so the mean step settles too; without forgetting
    the counts keep growing and the step keeps shrinking."""
    H = 2000
    m = SGNS(min_count=1, half_life=H, word_decay=10.0, **SMALL)
    m0 = SGNS(min_count=1, word_decay=10.0, **SMALL)
    steps, steps0 = [], []
    for _ in range(4):
        m.learn_many(_filler(10 * H // 8))
        m0.learn_many(_filler(10 * H // 8))
        steps.append(m.current_alpha)
        steps0.append(m0.current_alpha)
    assert steps[-1] == pytest.approx(steps[-2], rel=0.1)  # settled
    assert steps0[-1] < 0.8 * steps0[-2] and steps0[-1] < 0.5 * steps[-1]  # still annealing


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 50.0), st.integers(0, 2**63))
def test_stochastic_round_is_floor_or_ceil(x, key):
    r = int(stochastic_round(x, np.uint64(key)))
    assert math.floor(x) <= r <= math.floor(x) + 1
    if x == math.floor(x):
        assert r == x


def test_stochastic_round_is_unbiased():
    xs = [stochastic_round(2.3, np.uint64(k * 7919 + 1)) for k in range(20000)]
    assert np.mean(xs) == pytest.approx(2.3, abs=0.02)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("add"), st.integers(0, 30), st.integers(1, 5)),
                          st.tuples(st.just("halve"), st.just(0), st.just(0))), max_size=60))
def test_sketch_never_undercounts_the_floor_halved_counts(ops):
    """The law the forgetting step keeps for the sketch of words not yet admitted: halved (floor) each
    half-life, a count-min sketch still never undercounts the true counts halved (and floored) at the
    same moments. (The pair sketch's fixed-point scaling: test_pair_sketch_scaling_is_a_monotone_floor.)"""
    sk = CountMinSketch(16, 2, seed=1)  # narrow: many collisions
    true = {}
    for op, a, b in ops:
        if op == "add":
            sk.add(f"w{a}", b)
            true[a] = true.get(a, 0) + b
        else:
            sk.halve()
            true = {k: v // 2 for k, v in true.items()}
        for k, v in true.items():
            assert sk.estimate(f"w{k}") >= v


def test_a_decay_step_keeps_live_words_live_and_the_vocabulary_consistent():
    """After decay steps that evict faded words, each admitted word keeps a count >= fade_count, the
    word maps, counts and hash table agree, and ``total`` is the sum of the counts."""
    H = 400
    kw = dict(min_count=3, sample=0.0, **SMALL)
    m, m0 = SGNS(half_life=H, **kw), SGNS(**kw)
    for model in (m, m0):
        model.learn_many(["aa aa aa aa aa bb bb bb cc cc cc"] * 4)
    assert {"aa", "bb", "cc"} <= set(m.key_to_index)
    for k in range(12):
        lines = _filler(H // 32, tag=f"t{k}x", vocab=25)  # a quarter half-life of new words
        m.learn_many(lines)
        m0.learn_many(lines)
        assert_vocab_consistent(m)
        live = m.counts[m.counts > 0]
        assert live.size == m.vocab_size and live.min() >= fade_count(3)
        assert m.vocab.total == int(m.counts.sum())
    p = m.progress()
    assert p["decay_steps"] >= 2 * DECAY_STEPS and p["faded"] > 0  # words were evicted on the way
    assert m0.progress()["faded"] == 0


def test_the_sketch_of_words_not_yet_admitted_halves_once_per_half_life():
    """With min_count=1 only first sightings go through the sketch; once the 40 words of a stream are
    admitted (and none fades: each is seen every few tokens) nothing more is added, so the sketch's
    total is halved (floor) once per half-life of decay steps, and by nothing else."""
    H = 400
    m = SGNS(min_count=1, sample=0.0, sketch_halving_tokens=0, half_life=H, **SMALL)

    def halvings():
        fs = m.state_dict()["forget"]
        return (m.words_seen - fs["since"] - fs["sketch_since"]) // H  # half-lives of steps so far

    m.learn_many([" ".join(f"f{i}" for i in range(40))] * 5)  # the 40 words of _filler, 5 times each
    first, h0, faded = m.vocab.sketch.total, halvings(), m.progress()["faded"]
    assert m.vocab_size == 40 and first >= 40
    m.learn_many(_filler(10 * H // 8))  # 10 half-lives of the same words
    assert m.progress()["faded"] == faded and m.vocab_size == 40
    assert halvings() - h0 >= 9
    assert m.vocab.sketch.total == first >> (halvings() - h0)


def test_faded_words_are_evicted_before_max_vocab():
    H = 1000
    m = SGNS(min_count=2, half_life=H, max_vocab=10_000, **SMALL)
    m.learn_many(["early rare rare rare words here"] + _filler(20))
    assert "rare" in m.key_to_index
    m.learn_many(_filler(15 * H // 8, tag="g"))  # 15 half-lives without "rare"
    assert "rare" not in m.key_to_index and "early" not in m.key_to_index
    p = m.progress()
    assert p["faded"] >= 2 and p["evicted"] == p["faded"] and m.vocab.n_prunes == 0
    assert m.vocab_size < 200  # max_vocab never reached
    # the freed ids are reused by later words; index_to_key and the hash table agree
    for w, i in m.key_to_index.items():
        assert m.vocab.lookup_hash(w) == i and m.counts[i] >= fade_count(2)
    # without forgetting the word stays
    m0 = SGNS(min_count=2, max_vocab=10_000, **SMALL)
    m0.learn_many(["early rare rare rare words here"] + _filler(20) + _filler(15 * H // 8, tag="g"))
    assert "rare" in m0.key_to_index


def _turnover(rounds: int, lines_per_round: int = 120) -> list[str]:
    """Each round a fresh vocabulary of 60 words (plus a few words shared by all rounds)."""
    out = []
    for r in range(rounds):
        for line in _filler(lines_per_round, tag=f"r{r}x", vocab=60, words_per_line=6):
            out.append("the of and " + line)
    return out


def test_turnover_stream_memory_stays_bounded_with_half_life():
    lines = _turnover(30)
    m = SGNS(min_count=2, half_life=2000, **SMALL)
    m0 = SGNS(min_count=2, **SMALL)
    n_ids, n_ids0 = [], []
    for k in range(0, len(lines), 360):
        m.learn_many(lines[k:k + 360])
        m0.learn_many(lines[k:k + 360])
        n_ids.append(m.n_ids)
        n_ids0.append(m0.n_ids)
    assert n_ids0[-1] == 3 + 30 * 60  # every word ever seen keeps its row
    # with a half-life of 2000 tokens (~2 rounds of 1080 tokens) a word seen 12 times a round fades
    # about (log2(12) + 1.5)·H ~ 10k tokens after its round: the rows stay ~10 rounds' worth, flat
    late = n_ids[len(n_ids) // 2:]
    assert max(late) <= 3 + 11 * 60 and max(late) - min(late) <= 60
    assert m.progress()["faded"] > 20 * 60


def test_noise_distribution_follows_the_stream_after_a_shift():
    def shifted(half_life):
        m = SGNS(min_count=2, half_life=half_life, **SMALL)
        m.learn_many(_filler(1500, tag="a", vocab=30))  # 12k tokens of words a*
        m.learn_many(_filler(400, tag="b", vocab=30))  # then 3.2k tokens of words b*
        m.flush()
        draws = m.noise.sample(20000, seed=1)
        words = [m.index_to_key[i] for i in draws]
        return np.mean([w.startswith("b") for w in words])

    new_share_forget, new_share = shifted(1000), shifted(None)
    # without forgetting the b* words hold 3.2k of 15.2k counts (noise share ~ 0.25 after ^0.75);
    # with a half-life of 1000 tokens the a* counts have faded by 2**-3.2
    assert new_share < 0.35
    assert new_share_forget > 0.8


def test_learn_one_loop_equals_learn_many_with_half_life():
    lines = list(lee_lines())[:60]
    a = SGNS(min_count=2, half_life=1500, **SMALL)
    b = SGNS(min_count=2, half_life=1500, **SMALL)
    for line in lines:
        a.learn_one(line)
    b.learn_many(lines)
    assert a.progress()["decay_steps"] > 5
    assert np.array_equal(a.W, b.W) and np.array_equal(a.C, b.C)
    assert np.array_equal(a.counts, b.counts)


def test_checkpoint_round_trip_and_bit_identical_resume(tmp_path):
    lines = list(lee_lines())[:120]
    params = dict(min_count=2, half_life=1500, max_vocab=400, **SMALL)
    full = SGNS(**params)
    full.learn_many(lines)
    part = SGNS(**params)
    part.learn_many(lines[:47])
    path = tmp_path / "ck.npz"
    part.save(path)
    _, state = read_checkpoint(path)
    assert state["forget"]["half_life"] == 1500.0 and state["params"]["half_life"] == 1500
    resumed = SGNS.load(path)
    assert resumed.forget.state_dict() == part.forget.state_dict()
    resumed.learn_many(lines[47:])
    assert full.progress()["decay_steps"] > 10 and full.progress()["faded"] > 0
    assert np.array_equal(full.W, resumed.W) and np.array_equal(full.C, resumed.C)
    assert np.array_equal(full.counts, resumed.counts)
    assert np.array_equal(full.vocab.sketch.table, resumed.vocab.sketch.table)
    assert np.array_equal(full.cooc.clo, resumed.cooc.clo) and full.cooc.total() == resumed.cooc.total()
    assert full.forget.state_dict() == resumed.forget.state_dict()


def test_load_refuses_another_half_life_unless_overridden(tmp_path):
    m = SGNS(min_count=1, **SMALL)
    m.learn_many(_filler(100))
    path = tmp_path / "ck.npz"
    m.save(path)
    state = m.state_dict()
    state["forget"] = {**state["forget"], "half_life": 500.0}
    from streamsgns._state import StateError

    with pytest.raises(StateError, match="half_life"):
        SGNS.from_state(state)
    # turning forgetting on for an existing run: the learning rate's t continues from the tokens seen
    on = SGNS.load(path, half_life=10_000)
    assert on.half_life == 10_000 and on.forget.alpha_tokens(on.words_seen) == pytest.approx(m.words_seen)
    on.learn_many(_filler(300))
    assert on.progress()["decay_steps"] > 0
    with pytest.raises(StateError):
        Forgetting.from_state({"half_life": -1.0, "since": 0, "n_decays": 0, "decayed_tokens": 0.0, "n_faded": 0,
                               "sketch_since": 0})


def test_workers_2_decays_and_stays_finite():
    m = SGNS(min_count=2, half_life=1000, workers=2, **SMALL)
    m.learn_many(_turnover(6))
    m.flush()
    assert m.progress()["decay_steps"] > 10 and m.progress()["faded"] > 0
    assert np.isfinite(m.W).all() and np.isfinite(m.C).all()
    for w, i in m.key_to_index.items():
        assert m.counts[i] > 0 and m.vocab.lookup_hash(w) == i
    m.close()


def test_pmi_report_uses_the_decayed_statistics():
    m = SGNS(min_count=2, half_life=2000, **SMALL)
    m.learn_many(list(lee_lines())[:100])
    rep = m.pmi_report(top=20)
    assert rep["total"] == m.cooc.total() < m.progress()["pairs"]


def test_interval_and_fade_threshold():
    assert forget_every(50_000_000) == 50_000_000 // DECAY_STEPS and forget_every(3) == 1
    assert [fade_count(c) for c in (1, 5, 8, 9, 16, 17)] == [1, 1, 1, 2, 2, 3]
    with pytest.raises(ValueError, match="half_life"):
        SGNS(half_life=0)
    with pytest.raises(ValueError, match="half_life"):
        SGNS(half_life=float("inf"))


@pytest.mark.parametrize("flag,want", [("50M", 50_000_000), ("50000000", 50_000_000), ("2kw", 2000), ("5e7", 50_000_000)])
def test_cli_half_life_end_to_end(tmp_path, flag, want):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(_turnover(4)) + "\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "streamsgns", "train", "--input", str(src), "--snapshot-dir",
                        str(tmp_path / "snap"), "--half-life", flag, "--vector-size", "8", "--min-count", "2",
                        "--cooc-top-n", "16", "--sketch-width", "1024", "--quiet", "--summary"],
                       capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr.decode()
    ck = sorted((tmp_path / "snap").glob("ckpt-*.npz"))[-1]
    _, state = read_checkpoint(ck)
    assert state["params"]["half_life"] == want and state["forget"]["half_life"] == want
    assert (state["forget"]["n_decays"] > 0) == (want == 2000)


@pytest.mark.parametrize("bad", ["soon", "0", "-5", "-5M", "inf"])
def test_cli_refuses_a_bad_half_life(tmp_path, bad):
    r = subprocess.run([sys.executable, "-m", "streamsgns", "train", "--input", "-", f"--half-life={bad}"],
                       input=b"", capture_output=True, timeout=120)
    assert r.returncode == 2 and b"half-life" in r.stderr


def test_new_words_displace_stale_ones_at_max_vocab():
    """At a full vocabulary the eviction ranking uses the decayed counts: late words survive."""
    old = _filler(600, tag="a", vocab=90)  # 4800 tokens: 90 words, ~53 occurrences each
    new = _filler(300, tag="b", vocab=90)  # 2400 tokens: 90 new words, ~27 occurrences each

    def survivors(half_life):
        m = SGNS(min_count=3, max_vocab=100, half_life=half_life, **SMALL)
        m.learn_many(old + new)
        return sum(f"b{i}" in m.key_to_index for i in range(90))

    kept_forget, kept = survivors(800), survivors(None)
    # (a few of the newest words are always just admitted with count min_count, the rarest, at a prune)
    assert kept_forget >= 75
    assert kept <= 30  # without forgetting the stale words (more occurrences) hold their rows


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20), st.floats(0.01, 1.0))
def test_pair_sketch_scaling_is_a_monotone_floor(cells, factor):
    """The pair sketch's integer scaling: floor(v·f) or one less, monotone in v (so the sketch law holds)."""
    from streamsgns.forget import _scale_down

    t = np.array([sorted(cells)], dtype=np.uint32)
    _scale_down(t, factor)
    for v, got in zip(sorted(cells), t[0].tolist()):
        assert math.floor(v * factor) - 1 <= got <= math.floor(v * factor)
    assert (np.diff(t[0].astype(np.int64)) >= 0).all()
