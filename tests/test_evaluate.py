"""Intrinsic evaluation: hand-computable word pairs and analogies, and agreement with gensim."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from helpers_core import gensim_data, lee_lines
from streamsgns import SGNS
from streamsgns.evaluate import evaluate_all, evaluate_analogies, evaluate_word_pairs
from streamsgns.io.open import open_snapshot

WORDS = ["man", "woman", "king", "queen", "apple"]
VECS = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [0, 0, 1]], dtype=np.float32)


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_word_pairs_by_hand(tmp_path):
    p = tmp_path / "pairs.tsv"
    p.write_text(
        "# a comment\n"
        "Man\tKing\t3.0\n"       # cos 0.707
        "man\twoman\t1.0\n"      # cos 0
        "king\tqueen\t2.0\n"     # cos 0.5
        "king\tapple\t2.5\n"     # cos 0.707 (tie with man-king)
        "man\tzebra\t9.0\n"      # OOV
        "bad line without tabs\n"
        "a\tb\tnot-a-number\n"
        "\n"
    )
    r = evaluate_word_pairs(WORDS, VECS, p)
    sims = [_cos(VECS[0], VECS[2]), _cos(VECS[0], VECS[1]), _cos(VECS[2], VECS[3]), _cos(VECS[2], VECS[4])]
    gold = [3.0, 1.0, 2.0, 2.5]
    assert sims == pytest.approx([0.70710678, 0.0, 0.5, 0.70710678], abs=1e-6)
    assert r["pairs"] == 4 and r["oov"] == 1 and r["oov_ratio"] == pytest.approx(1 / 5)
    # ranks: gold (4, 1, 2, 3), sims (3.5, 1, 2, 3.5) -> Spearman = Pearson of the ranks
    assert r["spearman"] == pytest.approx(stats.pearsonr([4, 1, 2, 3], [3.5, 1, 2, 3.5]).statistic, abs=1e-6)
    assert r["pearson"] == pytest.approx(stats.pearsonr(gold, sims).statistic, abs=1e-6)


def test_word_pairs_perfect_and_reversed(tmp_path):
    p = tmp_path / "p.tsv"
    p.write_text("man\tking\t3\nman\twoman\t1\nking\tqueen\t2\n")
    assert evaluate_word_pairs(WORDS, VECS, p)["spearman"] == pytest.approx(1.0)
    p.write_text("man\tking\t1\nman\twoman\t3\nking\tqueen\t2\n")
    assert evaluate_word_pairs(WORDS, VECS, p)["spearman"] == pytest.approx(-1.0)
    p.write_text("man\tking\t1\nman\tzebra\t3\n")
    with pytest.raises(ValueError):
        evaluate_word_pairs(WORDS, VECS, p)


def _questions(tmp_path):
    p = tmp_path / "q.txt"
    p.write_text(
        ": family\n"
        "man king woman queen\n"   # king - man + woman = queen: right
        "Woman Queen Man King\n"   # right (case-insensitive)
        ": other\n"
        "man king woman apple\n"   # the answer is queen: wrong
        "man king woman zebra\n"   # OOV: skipped
        "not four words\n"
    )
    return p


def test_analogies_by_hand(tmp_path):
    r = evaluate_analogies(WORDS, VECS, _questions(tmp_path))
    assert r["questions"] == 3 and r["correct"] == 2 and r["skipped"] == 1
    assert r["accuracy"] == pytest.approx(2 / 3)
    assert r["sections"] == {"family": 1.0, "other": 0.0}


def test_analogies_restrict_vocab_and_batches(tmp_path):
    q = _questions(tmp_path)
    r = evaluate_analogies(WORDS, VECS, q, restrict_vocab=4)  # apple is outside
    assert r["questions"] == 2 and r["correct"] == 2 and r["skipped"] == 2
    assert evaluate_analogies(WORDS, VECS, q, batch=1) == evaluate_analogies(WORDS, VECS, q)
    r = evaluate_analogies(WORDS, VECS, q, restrict_vocab=2)
    assert r["questions"] == 0 and np.isnan(r["accuracy"])


def test_zero_vectors_do_not_produce_nan(tmp_path):
    V = VECS.copy()
    V[4] = 0
    p = tmp_path / "p.tsv"
    p.write_text("man\tapple\t1\nman\tking\t2\nman\tqueen\t0\n")
    r = evaluate_word_pairs(WORDS, V, p)
    # a zero vector has cosine 0 with everything (not NaN): sims = [0, cos(man, king), 0]
    sims = [0.0, _cos(VECS[0], VECS[2]), 0.0]
    assert r["pairs"] == 3
    assert r["spearman"] == pytest.approx(stats.spearmanr([1, 2, 0], sims).statistic)
    assert r["pearson"] == pytest.approx(stats.pearsonr([1, 2, 0], sims).statistic)


# ---------------------------------------------------------------- agreement with gensim on a Lee model
@pytest.fixture(scope="module")
def lee_vectors(tmp_path_factory):
    m = SGNS(vector_size=24, min_count=2, seed=0, track_cooc=False)
    for _ in range(3):
        m.learn_many(lee_lines())
    path = tmp_path_factory.mktemp("eval") / "lee.txt"
    m.save_word2vec_format(path)
    snap = open_snapshot(path)
    words, V = snap.words, snap.vectors
    return m, path, words, V


def _kv(words, V):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(V.shape[1])
    kv.add_vectors(words, V)
    return kv


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
def test_word_pairs_agree_with_gensim(lee_vectors, name):
    _, _, words, V = lee_vectors
    ours = evaluate_word_pairs(words, V, gensim_data(name))
    pearson, spearman, oov_pct = _kv(words, V).evaluate_word_pairs(gensim_data(name))
    assert ours["pairs"] > 100
    assert ours["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-6)
    assert ours["oov_ratio"] * 100 == pytest.approx(oov_pct, abs=1e-9)


def test_analogies_agree_with_gensim(lee_vectors):
    _, _, words, V = lee_vectors
    ours = evaluate_analogies(words, V, gensim_data("questions-words.txt"), restrict_vocab=30000)
    score, sections = _kv(words, V).evaluate_word_analogies(gensim_data("questions-words.txt"),
                                                            restrict_vocab=30000)
    total = sections[-1]
    assert total["section"] == "Total accuracy"
    assert ours["questions"] == len(total["correct"]) + len(total["incorrect"]) > 500
    assert ours["correct"] == len(total["correct"])
    assert ours["accuracy"] == score
    for sec in sections[:-1]:
        n = len(sec["correct"]) + len(sec["incorrect"])
        if n:
            assert ours["sections"][sec["section"]] == pytest.approx(len(sec["correct"]) / n)


def test_open_snapshot_reads_file_checkpoint_and_directory_alike(tmp_path, lee_vectors):
    m, path, words, V = lee_vectors
    assert words[0] == "the" and len(words) == m.vocab_size
    ck = m.save(tmp_path / "snap" / "ckpt-000000000000123.npz")
    s2 = open_snapshot(ck)
    s3 = open_snapshot(tmp_path / "snap")
    assert s2.words == s3.words == words and s3.path == str(ck) and s3.words_seen == m.words_seen
    assert np.array_equal(s2.vectors, V) and np.array_equal(s3.vectors, V)
    with pytest.raises(FileNotFoundError):
        open_snapshot(tmp_path / "missing.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no valid checkpoint"):
        open_snapshot(tmp_path / "empty")


def test_evaluate_all_default_data(lee_vectors):
    _, _, words, V = lee_vectors
    r = evaluate_all(words, V)
    assert set(r) == {"wordsim353", "simlex999", "analogies"}
    assert r["wordsim353"]["pairs"] > 100 and r["analogies"]["questions"] > 500
    # the defaults are gensim's copies of the three data sets
    assert r["wordsim353"] == evaluate_word_pairs(words, V, gensim_data("wordsim353.tsv"))
    assert r["simlex999"] == evaluate_word_pairs(words, V, gensim_data("simlex999.txt"))
    assert r["analogies"] == evaluate_analogies(words, V, gensim_data("questions-words.txt"))
