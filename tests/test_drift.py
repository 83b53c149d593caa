"""``streamsgns.drift`` and ``streamsgns drift`` on real text (gensim's Lee corpus).

One run: an SGNS model learns the Lee corpus, then keeps learning on a copy where two pairs of
frequent nouns are exchanged (every "government" written "palestinian" and back, likewise
"police" and "australia"), with a snapshot every two passes. The drift report between the last
snapshot before the swap and the last one after must flag exactly those four words.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers_core import lee_lines
from streamsgns import SGNS
from streamsgns.cli import main
from streamsgns.drift import compare_snapshots, neighbour_drift, procrustes
from streamsgns.io.open import open_snapshot
from streamsgns.drift_series import drift_series, list_snapshots, plot_drift
from streamsgns.io.snapshotter import Snapshotter
from streamsgns.io.word2vec import save_word2vec_format

SWAPS = (("government", "palestinian"), ("police", "australia"))
SWAPPED = {w for pair in SWAPS for w in pair}
PASSES = 6  # over the Lee corpus (58k tokens) before the swap, and again after it
PNG = b"\x89PNG\r\n\x1a\n"


def _swap(line: str) -> str:
    for a, b in SWAPS:
        line = re.sub(rf"\b({a}|{b})\b", lambda m, a=a, b=b: b if m.group(1) == a else a, line)
    return line


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Snapshots of one run: 3 before the swap, 3 after (vectors + checkpoints)."""
    d = tmp_path_factory.mktemp("drift_run")
    lines = [ln.lower() for ln in lee_lines() if ln.strip()]
    swapped = [_swap(ln) for ln in lines]
    m = SGNS(vector_size=50, min_count=5, seed=1, track_cooc=False, sketch_width=1 << 14)
    snap = Snapshotter(d, keep=100)
    for i in range(2 * PASSES):
        m.learn_many(lines if i < PASSES else swapped)
        if i % 2 == 1:
            snap.snapshot(m)
    return d


def _pair(run_dir):
    snaps = list_snapshots(run_dir)
    assert len(snaps) == 2 * PASSES // 2 and all(p.suffix == ".txt" for p in snaps)
    return snaps[PASSES // 2 - 1], snaps[-1]  # last before the swap, last after it


def test_swapped_words_rank_at_the_top_and_untouched_frequent_words_stay_low(run_dir):
    before, after = _pair(run_dir)
    rep = compare_snapshots(before, after, top=300, candidates=300, restrict_vocab=1000)
    assert rep.examined == 300 and len(rep.rows) == 300
    ranked = [r.word for r in rep.rows]
    assert set(ranked[:4]) == SWAPPED, ranked[:8]
    by_word = {r.word: r for r in rep.rows}
    for w in SWAPPED:  # the old neighbourhood is gone entirely: none of the 10 neighbours is kept
        assert by_word[w].change >= 0.9, (w, by_word[w])
        assert by_word[w].self_similarity < rep.median_self_similarity - 0.2, (w, by_word[w])
    # the 50 most frequent untouched words: their vectors stay where they were
    frequent = [r for r in sorted(rep.rows, key=lambda r: r.frequency_rank) if r.word not in SWAPPED][:50]
    assert np.median([r.self_similarity for r in frequent]) > max(by_word[w].self_similarity for w in SWAPPED) + 0.1
    assert np.mean([r.change for r in frequent]) < min(by_word[w].change for w in SWAPPED)
    assert np.median([ranked.index(r.word) for r in frequent]) > 50  # of 300 (4 if they ranked first)
    # a swapped word's new neighbours are its partner's old ones: the report shows the exchange
    for a, b in SWAPS:
        old_b = set(by_word[b].old_neighbours) - SWAPPED
        assert len(set(by_word[a].new_neighbours) & old_b) >= 1, (a, by_word[a].new_neighbours, old_b)


def test_identical_snapshot_has_self_similarity_one_and_change_zero(run_dir):
    snaps = list_snapshots(run_dir)
    ckpt = run_dir / snaps[-1].name.replace("vectors-", "ckpt-").replace(".txt", ".npz")
    for a, b in ((snaps[-1], snaps[-1]), (ckpt, snaps[-1])):  # a checkpoint and its own vectors file
        rep = compare_snapshots(a, b, top=100, candidates=100, restrict_vocab=1000)
        assert len(rep.rows) == 100
        assert all(r.change == 0.0 and r.old_neighbours == r.new_neighbours for r in rep.rows)
        np.testing.assert_allclose([r.self_similarity for r in rep.rows], 1.0, atol=1e-5)
    assert open_snapshot(ckpt).counts is not None and open_snapshot(ckpt).words_seen == open_snapshot(b).words_seen


def test_procrustes_recovers_a_known_rotation_and_alignment_is_needed(run_dir):
    s = open_snapshot(list_snapshots(run_dir)[-1])
    words, V = s.words[:1000], s.vectors[:1000]
    Q = np.linalg.qr(np.random.default_rng(3).normal(size=(V.shape[1], V.shape[1])))[0]
    rotated = (V.astype(np.float64) @ Q).astype(np.float32)
    np.testing.assert_allclose(procrustes(V, rotated), Q, atol=1e-4)
    aligned = neighbour_drift((words, V), (words, rotated), top=200, candidates=200, align=True)
    np.testing.assert_allclose([r.self_similarity for r in aligned.rows], 1.0, atol=1e-4)
    assert all(r.change == 0.0 for r in aligned.rows)  # a rotation keeps every cosine: same neighbours
    raw = neighbour_drift((words, V), (words, rotated), top=200, candidates=200, align=False)
    assert abs(raw.median_self_similarity) < 0.3, raw.median_self_similarity


def test_series_follows_words_across_the_run_and_plots(run_dir, tmp_path):
    s = drift_series(run_dir, ["government", "people", "notaword"], k=5, restrict_vocab=1000)
    n = len(s["snapshots"])
    assert n == PASSES and [p["words_seen"] for p in s["snapshots"]] == sorted(p["words_seen"] for p in s["snapshots"])
    gov, ppl, nw = (s["words"][w] for w in ("government", "people", "notaword"))
    assert not any(p["present"] for p in nw)
    assert gov[-1]["self_similarity_last"] == pytest.approx(1.0) and gov[0]["self_similarity_previous"] is None
    swap = PASSES // 2  # first snapshot after the swap
    assert gov[swap]["self_similarity_previous"] < ppl[swap]["self_similarity_previous"] - 0.2
    assert all(len(p["neighbours"]) == 5 for p in gov)
    out = plot_drift(s, tmp_path / "series.png")
    assert (tmp_path / "series.png").read_bytes()[:8] == PNG and out == tmp_path / "series.png"


def _cli(args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-m", "streamsgns", "drift", *map(str, args)], capture_output=True,
                       cwd=cwd, timeout=120, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_cli_prints_the_table_and_writes_plots(run_dir, tmp_path):
    before, after = _pair(run_dir)
    code, out, err = _cli([before, after, "--top", "10", "--candidates", "300", "--restrict-vocab", "1000",
                           "--plot", tmp_path / "pair.png"], tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("word"))
    assert "change" in lines[head] and "self-sim" in lines[head]
    rows = lines[head + 1: head + 11]
    assert {ln.split()[0] for ln in rows[:4]} == SWAPPED and all(" -> " in ln for ln in rows)
    assert (tmp_path / "pair.png").read_bytes()[:8] == PNG
    code, out, err = _cli(["--run-dir", run_dir, "--words", "government,police", "--json",
                           "--plot", tmp_path / "series.png"], tmp_path)
    assert code == 0, err
    s = json.loads(out)
    assert set(s["words"]) == {"government", "police"} and len(s["snapshots"]) == PASSES
    assert (tmp_path / "series.png").read_bytes()[:8] == PNG


def _inprocess(args, capsys):
    try:
        code = main(["drift", *map(str, args)])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def bad(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.txt"
    save_word2vec_format(good, ["a", "b", "c"], rng.normal(size=(3, 4)))
    save_word2vec_format(tmp_path / "d8.txt", ["a", "b", "c"], rng.normal(size=(3, 8)))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "nowords.txt").write_text("0 4\n")
    (tmp_path / "prose.txt").write_text("this is a plain text file\nnot vectors\n")
    (tmp_path / "cut.txt").write_bytes(good.read_bytes()[:-20])
    (tmp_path / "fake.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "emptydir").mkdir()
    return tmp_path


@pytest.mark.parametrize("args,needle", [
    (["missing.txt", "good.txt"], "no such file"),
    (["good.txt", "empty.txt"], "empty file"),
    (["good.txt", "nowords.txt"], "holds no words"),
    (["prose.txt", "good.txt"], "not a word2vec file"),
    (["good.txt", "cut.txt"], "truncated"),
    (["fake.npz", "good.txt"], "fake.npz"),
    (["good.txt", "d8.txt"], "different dimensions"),
    (["emptydir", "good.txt"], "no valid checkpoint or vectors file"),
    (["good.txt", "good.txt", "--words", "zzz,yyy"], "none of the words"),
    (["good.txt", "good.txt", "--plot", "nodir/x.png"], "cannot write the plot"),
    (["--run-dir", "emptydir", "--words", "a"], "no snapshot"),
    (["--run-dir", "nodir", "--words", "a"], "no such directory"),
])
def test_bad_snapshots_fail_in_one_line(bad, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(bad)
    code, out, err = _inprocess(args, capsys)
    assert code == 1, (code, err)
    assert out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("streamsgns drift: ") and needle in err, err


@pytest.mark.parametrize("args", [
    ["good.txt"], ["good.txt", "good.txt", "good.txt"], ["good.txt", "good.txt", "--top", "0"],
    ["good.txt", "good.txt", "--k", "x"], ["--run-dir", "emptydir"], ["good.txt", "good.txt", "--run-dir", "emptydir",
                                                                        "--words", "a"],
    ["good.txt", "good.txt", "--sort", "random"],
])
def test_bad_options_are_usage_errors(bad, capsys, monkeypatch, args):
    monkeypatch.chdir(bad)
    code, out, err = _inprocess(args, capsys)
    assert code == 2 and out == "" and "usage:" in err and "Traceback" not in err, (code, err)


def test_cli_errors_in_a_subprocess(bad):
    code, out, err = _cli(["missing.txt", "good.txt"], bad)
    assert code == 1 and out == "" and err.strip().count("\n") == 0 and "no such file" in err, err
    code, out, err = _cli(["good.txt"], bad)
    assert code == 2 and "usage:" in err and "Traceback" not in err, err


def test_two_runs_need_alignment(run_dir):
    """Another seed gives other axes: only the Procrustes-aligned self-similarity is high."""
    lines = [ln.lower() for ln in lee_lines() if ln.strip()]
    other = SGNS(vector_size=50, min_count=5, seed=2, track_cooc=False, sketch_width=1 << 14)
    for _ in range(PASSES):
        other.learn_many(lines)
    new = other  # a live model is compared like its checkpoint
    before, _ = _pair(run_dir)
    raw = neighbour_drift(open_snapshot(before), new, candidates=300, restrict_vocab=1000)
    aligned = neighbour_drift(open_snapshot(before), new, candidates=300, restrict_vocab=1000, align=True)
    assert raw.median_self_similarity < 0.4 < 0.8 < aligned.median_self_similarity, (raw.median_self_similarity,
                                                                                       aligned.median_self_similarity)
    assert aligned.median_change == raw.median_change  # neighbour sets do not depend on the alignment
