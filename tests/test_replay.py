"""Replay (streamsgns.replay): more training from one read, bounded buffer, eviction, determinism, resume, idle."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from helpers_core import assert_same_state, lee_lines, lee_path, model_state
from streamsgns import SGNS
from streamsgns._state import StateError
from streamsgns.connectors.stdin import StdinSource
from streamsgns.hashing import hash_token
from streamsgns.io.snapshotter import latest_checkpoint
from streamsgns.replay import REPLAY_EVERY, ReplayBuffer

SMALL = dict(vector_size=16, min_count=2, seed=3, sketch_width=1 << 16, cooc_top_n=200)


def _text(lines) -> str:
    return "\n".join(lines) + "\n"


def test_replay_trains_more_from_one_read():
    """words_seen, the counts and the co-occurrence statistics see each token once; W and C see
    the replayed tokens too, about ``replay`` times those stored."""
    lines = lee_lines()
    a = SGNS(**SMALL, replay=1.0)
    a.learn_text(_text(lines))
    b = SGNS(**SMALL)
    b.learn_text(_text(lines))
    assert a.words_seen == b.words_seen
    np.testing.assert_array_equal(a.counts, b.counts)
    sa, sb = model_state(a), model_state(b)
    cooc = [k for k in sa if k.startswith(("cooc.", "noise.", "vocab."))]
    assert len(cooc) > 10
    assert_same_state({k: sa[k] for k in cooc}, {k: sb[k] for k in cooc})
    stored, replayed = int(a.replay_state.meta[0]["stored"]), a.progress()["replayed"]
    # rounds run every REPLAY_EVERY tokens: what the last round owes is not replayed yet
    assert stored - REPLAY_EVERY - a.max_sentence_length <= replayed <= stored + a.max_sentence_length
    assert a.progress()["pairs"] == b.progress()["pairs"]  # the stream's own pairs
    assert int(a.replay_state.meta[0]["pairs"]) > 0.5 * a.progress()["pairs"]
    assert not np.array_equal(a.W, b.W)
    assert np.isfinite(a.W).all() and np.isfinite(a.C).all()


def test_replay_does_not_depend_on_how_the_stream_is_cut():
    lines = lee_lines()[:250]
    a = SGNS(**SMALL, replay=0.7, replay_buffer=3000)
    for x in lines:
        a.learn_one(x)
    b = SGNS(**SMALL, replay=0.7, replay_buffer=3000)
    b.learn_text(_text(lines))
    assert a.progress()["replayed"] > 0
    assert_same_state(model_state(a), model_state(b))


def test_replay_with_evictions_is_deterministic_and_resumes_exactly(tmp_path):
    """Rows reused after an eviction (max_vocab): a checkpoint resumed mid-stream gives the uninterrupted model."""
    lines = lee_lines()
    kw = dict(SMALL, replay=1.0, replay_buffer=4000, max_vocab=400)
    whole = SGNS(**kw)
    whole.learn_text(_text(lines))
    assert whole.progress()["evicted"] > 0 and whole.progress()["replayed"] > 0
    first = SGNS(**kw)
    first.learn_text(_text(lines[:170]))
    first.save(tmp_path / "ck.npz")
    resumed = SGNS.load(tmp_path / "ck.npz")
    resumed.learn_text(_text(lines[170:]))
    assert_same_state(model_state(resumed), model_state(whole))


def test_evicted_words_are_never_replayed_into_reused_rows():
    """The buffer holds word hashes: sentences of words evicted since (their rows now other words')
    train nothing; sentences of admitted words train their rows."""
    m = SGNS(**SMALL, replay="idle", max_vocab=60)
    m.learn_text(_text([" ".join(f"old{i % 50}" for i in range(j, j + 20)) for j in range(200)]))
    m.learn_text(_text([" ".join(f"new{i % 50}" for i in range(j, j + 20)) for j in range(400)]))
    gone = [f"old{i}" for i in range(50) if f"old{i}" not in m.key_to_index]
    assert len(gone) >= 20 and m.n_ids <= 60  # their rows were given to new words
    buf = ReplayBuffer(rate=0.0, size=5000, idle=True)
    old = np.array([hash_token(w) for w in gone[:20]], np.uint64)
    buf.store(old, np.array([0, 10, 20], np.int64), 2)
    m._trainer.replay = buf
    W, C = m.W.copy(), m.C.copy()
    assert m.replay_idle(2000) >= 2000
    assert int(buf.meta[0]["pairs"]) == 0
    np.testing.assert_array_equal(m.W, W)
    np.testing.assert_array_equal(m.C, C)
    new = np.array([hash_token(f"new{i}") for i in range(50)], np.uint64)
    buf.store(new, np.array([0, 25, 50], np.int64), 2)
    m.replay_idle(2000)
    assert int(buf.meta[0]["pairs"]) > 0 and not np.array_equal(m.W, W)


def test_the_buffer_is_bounded_and_keeps_the_newest_sentences():
    buf = ReplayBuffer(rate=1.0, size=10)
    for s in range(20):
        buf.store(np.array([100 + s, 200 + s], np.uint64), np.array([0, 2], np.int64), 1)
    assert buf.ring.nbytes == 80 and int(buf.meta[0]["filled"]) == 10
    assert buf.tokens().tolist() == [0, 117, 217, 0, 118, 218, 0, 119, 219, 0]  # oldest first
    state = buf.state_dict()
    smaller = ReplayBuffer.from_state(state, rate=1.0, size=4, seed=0, workers=1, idle=False)
    assert smaller.tokens().tolist() == buf.tokens()[-4:].tolist()


def test_replay_state_is_validated():
    buf = ReplayBuffer(rate=1.0, size=8)
    state = buf.state_dict()
    with pytest.raises(StateError):
        ReplayBuffer.from_state({**state, "replayed": -1}, 1.0, 8, 0, 1, False)
    with pytest.raises(StateError):
        ReplayBuffer.from_state({**state, "ring": state["ring"].astype(np.int64)}, 1.0, 8, 0, 1, False)
    with pytest.raises(ValueError):
        SGNS(replay=-1.0)
    with pytest.raises(ValueError):
        SGNS(replay="sometimes")
    with pytest.raises(ValueError):
        SGNS(replay=1.0, replay_buffer=1)


def test_replay_with_two_workers_stays_finite():
    m = SGNS(**SMALL, workers=2, replay=1.0)
    m.learn_many(lee_lines())
    assert m.progress()["replayed"] > 0
    assert np.isfinite(m.W).all() and np.isfinite(m.C).all()


def test_idle_replay_runs_while_stdin_waits():
    """A source with nothing to read calls on_idle: the learner replays while the writer is quiet,
    and reads every token once when data comes again."""
    lines = lee_lines()
    r, w = os.pipe()
    src = StdinSource(stream=io.FileIO(r, "rb"), block_bytes=1 << 12)
    m = SGNS(**SMALL, replay="idle")
    idle = threading.Event()

    def on_idle() -> bool:
        n = m.replay_idle(500)
        if n > 0:
            idle.set()
        return n > 0

    src.on_idle = on_idle

    def writer():
        with os.fdopen(w, "wb") as f:
            f.write(_text(lines[:150]).encode())
            f.flush()
            idle.wait(120)  # no more data until the learner has replayed
            f.write(_text(lines[150:]).encode())

    t = threading.Thread(target=writer)
    t.start()
    for chunk in src.chunks():
        m.learn_text(chunk.data)
    t.join()
    src.close()
    b = SGNS(**SMALL)
    b.learn_text(_text(lines))
    assert idle.is_set() and m.progress()["replayed"] > 0
    assert m.words_seen == b.words_seen
    np.testing.assert_array_equal(m.counts, b.counts)


def test_cli_replay_resume_gives_the_uninterrupted_model(tmp_path):
    data = open(lee_path(), "rb").read()
    cut = data.index(b"\n", len(data) // 2) + 1
    fast = ["--vector-size", "12", "--min-count", "2", "--cooc-top-n", "100", "--quiet", "--summary",
            "--replay", "1", "--replay-buffer", "5000"]

    def run(args, data):
        r = subprocess.run([sys.executable, "-m", "streamsgns", "train", *args, *fast], input=data,
                           capture_output=True, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr.decode()[-3000:]
        return r

    run(["--snapshot-dir", "snap"], data[:cut])
    r = run(["--snapshot-dir", "snap", "--resume", "--output", "resumed.txt"], data)
    assert b'"replayed": ' in r.stderr
    run(["--snapshot-dir", "whole", "--output", "whole.txt"], data)
    assert (tmp_path / "resumed.txt").read_bytes() == (tmp_path / "whole.txt").read_bytes()
    a, b = SGNS.load(latest_checkpoint(tmp_path / "snap")), SGNS.load(latest_checkpoint(tmp_path / "whole"))
    assert a.progress()["replayed"] == b.progress()["replayed"] > 0
    assert_same_state(model_state(a), model_state(b))


# ---------------------------------------------------------------- replay at the end of the input, in stream order
def test_replay_at_end_trains_every_buffered_sentence_once_after_the_read(tmp_path):
    """replay_at="end": nothing is replayed while the file is read; at its end every stored token is
    trained exactly ``replay`` more times (here 1 and 2), the stream's statistics untouched."""
    path = tmp_path / "lee.txt"
    path.write_text(_text(lee_lines()))
    b = SGNS(**SMALL)
    b.learn_file(path)
    for rate in (1.0, 2.0):
        a = SGNS(**SMALL, replay=rate, replay_at="end", replay_buffer=200_000)
        a.learn_text(_text(lee_lines()))
        assert a.progress()["replayed"] == 0  # not while reading
        np.testing.assert_array_equal(a.W, b.W)  # the read alone trains what one pass trains
        assert a.replay_end() == rate * int(a.replay_state.meta[0]["stored"])
        assert a.replay_end() == 0  # nothing new since the last end
        assert a.words_seen == b.words_seen
        np.testing.assert_array_equal(a.counts, b.counts)
        assert not np.array_equal(a.W, b.W) and np.isfinite(a.W).all() and np.isfinite(a.C).all()
    c = SGNS(**SMALL, replay=1.0, replay_at="end", replay_buffer=200_000)
    c.learn_file(path)  # a file's end is an end of input
    assert c.progress()["replayed"] == int(c.replay_state.meta[0]["stored"])


def test_replay_in_order_ranges_train_each_sentence_once():
    """Consecutive ranges of the buffer train the same sentences, in the same order, as the whole
    range: the model replayed in pieces (workers=1) equals the model replayed at once."""
    lines = lee_lines()[:200]
    models = []
    for cuts in ([0, None], [0, 777, 778, 5000, None]):
        m = SGNS(**SMALL, replay=1.0, replay_at="end", replay_buffer=100_000)
        m.learn_text(_text(lines))
        filled = int(m.replay_state.meta[0]["filled"])
        bounds = [filled if c is None else c for c in cuts]
        n = sum(m._trainer.replay_span(a, b) for a, b in zip(bounds, bounds[1:]))
        assert n == int(m.replay_state.meta[0]["stored"])
        models.append(m)
    assert_same_state(model_state(models[0]), model_state(models[1]))


def test_replay_at_end_covers_only_what_the_buffer_still_holds():
    """A buffer smaller than the input replays the input's last sentences once each, in order."""
    lines = lee_lines()
    m = SGNS(**SMALL, replay=1.0, replay_at="end", replay_buffer=3000)
    m.learn_text(_text(lines))
    meta = m.replay_state.meta[0]
    held = int(np.count_nonzero(m.replay_state.tokens()))
    assert int(meta["stored"]) > 3000 and held < 3000
    assert held <= m.replay_end() <= held + m.max_sentence_length  # a sentence cut by the ring is kept whole


def test_replay_at_end_resumes_exactly_and_old_checkpoints_load(tmp_path):
    lines = lee_lines()
    kw = dict(SMALL, replay=1.5, replay_at="end", replay_buffer=100_000)
    whole = SGNS(**kw)
    whole.learn_text(_text(lines))
    whole.replay_end()
    first = SGNS(**kw)
    first.learn_text(_text(lines[:170]))
    first.save(tmp_path / "ck.npz")
    resumed = SGNS.load(tmp_path / "ck.npz")
    assert resumed.replay_at == "end"
    resumed.learn_text(_text(lines[170:]))
    resumed.replay_end()
    assert_same_state(model_state(resumed), model_state(whole))
    # a replay state written before the end-of-input counters: loads, nothing replayed at an end yet
    state = first.replay_state.state_dict()
    old = {k: v for k, v in state.items() if k not in ("written", "ended_at", "at")}
    buf = ReplayBuffer.from_state(old, 1.0, 100_000, 0, 1, False, "end")
    assert buf.end_span() == (0, int(state["filled"]))
    with pytest.raises(ValueError):
        SGNS(replay=1.0, replay_at="later")


def test_cli_replay_at_end_replays_the_input_once_more(tmp_path):
    data = _text(lee_lines()).encode()
    fast = ["--vector-size", "12", "--min-count", "2", "--cooc-top-n", "100", "--quiet", "--summary",
            "--replay-buffer", "100000", "--snapshot-dir", "snap"]
    r = subprocess.run([sys.executable, "-m", "streamsgns", "train", *fast, "--replay", "1", "--replay-at", "end"],
                       input=data, capture_output=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    m = SGNS.load(latest_checkpoint(tmp_path / "snap"))
    assert m.replay_at == "end"
    assert m.progress()["replayed"] == int(m.replay_state.meta[0]["stored"]) > 0


def test_the_buffer_holds_every_token_read_admitted_then_or_not():
    """A sentence is buffered with the words not admitted yet when it was read (their hashes), so a
    replay at the end trains them in every sentence they occur in; training while reading is as without replay."""
    lines = [f"w{i} w{i + 1} zeta w{i + 2}" for i in range(0, 30, 3)]  # zeta: admitted at its 3rd occurrence
    a = SGNS(vector_size=8, min_count=3, seed=1, replay=1.0, replay_at="end", replay_buffer=1000)
    a.learn_text(_text(lines))
    b = SGNS(vector_size=8, min_count=3, seed=1)
    b.learn_text(_text(lines))
    np.testing.assert_array_equal(a.W, b.W)
    held = a.replay_state.tokens()
    assert int(np.count_nonzero(held == np.uint64(hash_token("zeta")))) == len(lines)
    assert int(a.replay_state.meta[0]["stored"]) == a.words_seen == 4 * len(lines)
