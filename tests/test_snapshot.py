"""Snapshots: word2vec formats (vs gensim), checkpoints, corruption, Snapshotter, atomic writes."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers_core import assert_same_state, lee_lines, model_state
from streamsgns import SGNS
from streamsgns.io import checkpoint as CK
from streamsgns.io import word2vec as W2V
from streamsgns.io.atomic import atomic_write
from streamsgns import SGNS
from streamsgns.io.checkpoint import CheckpointError, read_manifest
from streamsgns.io.snapshotter import Snapshotter, latest_checkpoint, list_checkpoints, parse_every
from streamsgns.io.word2vec import load_word2vec_format

SMALL = dict(vector_size=8, min_count=2, seed=5, sketch_width=1 << 14, cooc_top_n=100)


@pytest.fixture(scope="module")
def lee_model():
    m = SGNS(**{**SMALL, "max_vocab": 1500})
    m.learn_many(lee_lines())
    assert m.progress()["evicted"] > 0  # free ids (None words) are part of the state
    return m


def _expected_export(m, kind=None):
    vecs = m.vectors(kind)
    alive = [i for i in range(m.n_ids) if m.counts[i] > 0]
    order = sorted(alive, key=lambda i: (-m.counts[i], i))
    return [W2V._safe_word(m.index_to_key[i]) for i in order], np.asarray(vecs)[order]


# ---------------------------------------------------------------- word2vec formats
word_chars = st.characters(blacklist_categories=("Cs",))
words_strategy = st.lists(st.text(alphabet=word_chars, min_size=1, max_size=6), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words_strategy, st.integers(1, 5), st.booleans())
def test_word2vec_round_trip_ours_and_gensim(tmp_path_factory, words, reps, binary):
    from gensim.models import KeyedVectors

    tokens = [w.replace("\n", " ").replace("\x1f", " ") for w in words]
    exported = {W2V._safe_word(t) for t in tokens}
    assume(len(exported) == len(set(tokens)))  # distinct words stay distinct once whitespace is replaced
    m = SGNS(vector_size=5, min_count=1, sample=0.0, seed=1, track_cooc=False)
    for r in range(reps):
        m.learn_one(tokens[: len(tokens) - r] or tokens)
    want_words, want = _expected_export(m)
    path = tmp_path_factory.mktemp("w2v") / ("v.bin" if binary else "v.txt")
    assert m.save_word2vec_format(path, binary=binary) == len(want_words) == m.vocab_size
    words_ours, V = load_word2vec_format(path)
    assert words_ours == want_words
    assert V.dtype == np.float32 and np.array_equal(V, want)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == want_words
    assert np.array_equal(kv.vectors, want)
    count_of = {W2V._safe_word(t): int(m.counts[m.key_to_index[t]]) for t in tokens}
    freq = [count_of[w] for w in words_ours]
    assert freq == sorted(freq, reverse=True)  # by decreasing count


def test_word2vec_words_with_line_separators(tmp_path):
    # Unicode line boundaries (\x0b, \x1c, \x85, \u2028) inside a word are not line ends in word2vec files
    from gensim.models import KeyedVectors

    m = SGNS(vector_size=4, min_count=1, sample=0.0, seed=0, track_cooc=False)
    m.learn_one(["a\x0bb", "c\u2028d", "e\x85f", "g\x1ch", "plain", "nb\xa0sp", "a b", "tab\tx"])
    want_words, want = _expected_export(m)
    assert "a_b" in want_words and "tab_x" in want_words
    for binary in (False, True):
        p = tmp_path / f"v{binary}"
        m.save_word2vec_format(p, binary=binary)
        w, V = load_word2vec_format(p)
        assert w == want_words and np.array_equal(V, want)
        kv = KeyedVectors.load_word2vec_format(str(p), binary=binary)
        assert kv.index_to_key == want_words


def test_word2vec_lee_model_by_decreasing_count(tmp_path, lee_model):
    from gensim.models import KeyedVectors

    m = lee_model
    for kind in ("W", "C", "W+C"):
        for binary in (False, True):
            p = tmp_path / f"{kind}-{binary}"
            n = m.save_word2vec_format(p, binary=binary, kind=kind)
            assert n == m.vocab_size
            want_words, want = _expected_export(m, kind)
            w, V = load_word2vec_format(p, binary=binary)
            assert w == want_words and np.array_equal(V, want)
            kv = KeyedVectors.load_word2vec_format(str(p), binary=binary)
            assert kv.index_to_key == want_words and np.array_equal(kv.vectors, want)
    freq = [m.counts[m.key_to_index[x]] for x in want_words]
    assert freq == sorted(freq, reverse=True)
    assert want_words[0] == "the"


def test_refuses_to_write_nan_or_inf(tmp_path):
    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:30])
    vec = tmp_path / "v.txt"
    ck = tmp_path / "c.npz"
    m.save_word2vec_format(vec)
    m.save(ck)
    before_vec, before_ck = vec.read_bytes(), ck.read_bytes()
    i = m.key_to_index["the"]
    for bad in (np.nan, np.inf):
        m.params.W[i, 0] = bad
        with pytest.raises(ValueError):
            m.save_word2vec_format(vec)
        with pytest.raises(ValueError):
            m.save_word2vec_format(tmp_path / "new.txt", binary=True)
        with pytest.raises(ValueError):
            m.save(ck)
        m.params.W[i, 0] = 0.0
    m.params.C[i, 1] = np.nan
    with pytest.raises(ValueError):
        m.save(ck)
    with pytest.raises(ValueError):
        m.save_word2vec_format(vec, kind="C")
    assert vec.read_bytes() == before_vec and ck.read_bytes() == before_ck
    assert not (tmp_path / "new.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz", "v.txt"]  # no temp files left


def test_load_word2vec_rejects_malformed(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("2 3\na 1 2 3\n")
    with pytest.raises(ValueError):
        load_word2vec_format(p)
    p.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError):
        load_word2vec_format(p)
    p.write_text("garbage\n")
    with pytest.raises(ValueError):
        load_word2vec_format(p)


# ---------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_exact(tmp_path, lee_model):
    m = lee_model
    m.source_position = {"files": {"index": 0, "offset": 12345}}
    p = m.save(tmp_path / "ck.npz")
    m2 = SGNS.load(p)
    assert_same_state(model_state(m), model_state(m2))
    assert m2.source_position == {"files": {"index": 0, "offset": 12345}}
    assert m2._get_params() == m._get_params()
    assert m2.words_seen == m.words_seen and m2.vocab_size == m.vocab_size
    assert None in m2.index_to_key  # freed ids survive as None
    for w in ("government", "australia"):
        assert np.array_equal(m2[w], m[w])
    # explicit position wins over the model's
    p2 = m.save(tmp_path / "ck2.npz", position={"stdin": {"offset": 7}}, extra={"note": "x"})
    man = read_manifest(p2)
    assert man["position"] == {"stdin": {"offset": 7}} and man["extra"] == {"note": "x"}
    assert man["words_seen"] == m.words_seen and man["n_ids"] == m.n_ids
    m.source_position = None


def test_checkpoint_round_trip_small_variants(tmp_path):
    for kw in (dict(tied=True), dict(track_cooc=False), dict(output="W+C", negative=0), dict(workers=2)):
        m = SGNS(**{**SMALL, **kw})
        m.learn_many(lee_lines()[:40])
        m2 = SGNS.load(m.save(tmp_path / "c.npz"))
        assert_same_state(model_state(m), model_state(m2))
        if kw.get("tied"):
            assert m2.params.W is m2.params.C
        m.close()
        m2.close()


def test_checkpoint_of_empty_model(tmp_path):
    m = SGNS(**SMALL)
    m2 = SGNS.load(m.save(tmp_path / "empty.npz"))
    assert m2.vocab_size == 0 and m2.words_seen == 0
    m2.learn_many(lee_lines()[:5])
    m.learn_many(lee_lines()[:5])
    assert_same_state(model_state(m), model_state(m2))


def test_load_with_overrides(tmp_path):
    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:40])
    p = m.save(tmp_path / "c.npz")
    m2 = SGNS.load(p, workers=2, tokenizer=str.split)
    assert m2.workers == 2 and m2.tokenizer is str.split
    assert np.array_equal(m2.W, m.W)
    m2.learn_one("Some New Words")
    m2.learn_one("Some New Words")
    m2.flush()
    assert "New" in m2
    m2.close()


def test_no_pickle_in_checkpoint(tmp_path, lee_model):
    p = lee_model.save(tmp_path / "c.npz")
    with np.load(p, allow_pickle=False) as z:
        names = list(z.keys())
        assert "__manifest__" in names and "parameters.W" in names
        for k in names:
            a = z[k]  # raises if an array needs pickle
            assert a.dtype != object
    with zipfile.ZipFile(p) as zf:
        for info in zf.infolist():
            head = zf.read(info.filename)[:200]
            assert b"pickle" not in head.lower() and b"'O'" not in head and b"|O" not in head


def _corrupt_flip(p, frac):
    data = bytearray(p.read_bytes())
    i = int(len(data) * frac)
    data[i] ^= 0xFF
    p.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip-middle", "flip-0.3", "flip-0.7", "truncate-half", "truncate-end",
                                 "empty", "not-npz"])
def test_corrupted_checkpoint_raises_naming_the_file(tmp_path, how):
    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:60])
    p = tmp_path / "ckpt-000000000000001.npz"
    m.save(p)
    data = p.read_bytes()
    if how.startswith("flip"):
        _corrupt_flip(p, 0.5 if how == "flip-middle" else float(how.split("-")[1]))
    elif how == "truncate-half":
        p.write_bytes(data[: len(data) // 2])
    elif how == "truncate-end":
        p.write_bytes(data[:-10])
    elif how == "empty":
        p.write_bytes(b"")
    else:
        p.write_bytes(b"this is not a checkpoint\n" * 10)
    with pytest.raises(CheckpointError) as ei:
        SGNS.load(p)
    assert str(p) in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_missing_and_foreign_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="nope.npz"):
        SGNS.load(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError, match="nope.npz"):
        read_manifest(tmp_path / "nope.npz")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.zeros(3))
    with pytest.raises(CheckpointError, match="foreign.npz"):
        SGNS.load(foreign)
    import json

    other = tmp_path / "other.npz"
    man = np.frombuffer(json.dumps({"format": "something-else", "checksums": {}}).encode(), dtype=np.uint8)
    np.savez(other, __manifest__=man)
    with pytest.raises(CheckpointError, match="other.npz"):
        SGNS.load(other)
    newer = tmp_path / "newer.npz"
    man = np.frombuffer(json.dumps({"format": CK.FORMAT, "version": 99, "checksums": {}}).encode(), dtype=np.uint8)
    np.savez(newer, __manifest__=man)
    with pytest.raises(CheckpointError, match="newer"):
        SGNS.load(newer)


def test_tampered_array_fails_checksum(tmp_path):
    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:40])
    p = tmp_path / "c.npz"
    m.save(p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.keys()}
    arrays["parameters.W"] = arrays["parameters.W"].copy()
    arrays["parameters.W"][0, 0] += 1.0  # a valid zip with a consistent CRC, but not what was written
    np.savez(p, **arrays)
    with pytest.raises(CheckpointError, match="checksum"):
        SGNS.load(p)


# ---------------------------------------------------------------- snapshot directories
def _snap_series(tmp_path, n, keep, every=500):
    m = SGNS(**SMALL)
    snap = Snapshotter(tmp_path, every_tokens=every, keep=keep)
    snap.start(m)
    written = []
    lines = lee_lines()
    i = 0
    while len(written) < n:
        m.learn_many(lines[i: i + 3])
        i += 3
        if snap.due(m):
            written.append(snap.snapshot(m, position={"n": i}))
    return m, snap, written


def test_snapshotter_keeps_last_k(tmp_path):
    m, snap, written = _snap_series(tmp_path, 6, keep=2)
    assert snap.written == 6
    ckpts = list_checkpoints(tmp_path)
    assert ckpts == written[-2:]
    vec = sorted(p.name for p in tmp_path.glob("vectors-0*.txt"))
    assert vec == [p.name.replace("ckpt-", "vectors-").replace(".npz", ".txt") for p in written[-2:]]
    assert (tmp_path / "vectors-latest.txt").exists()
    w, _ = load_word2vec_format(tmp_path / "vectors-latest.txt")
    assert len(w) == m.vocab_size
    assert latest_checkpoint(tmp_path) == written[-1]
    assert SGNS.load(written[-1]).source_position == {"n": int(read_manifest(written[-1])["position"]["n"])}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_snapshot_names_sort_by_words_seen(tmp_path):
    _, _, written = _snap_series(tmp_path, 3, keep=5)
    seen = [read_manifest(p)["words_seen"] for p in written]
    assert seen == sorted(seen) and len(set(seen)) == 3
    assert [p.name for p in written] == [f"ckpt-{s:015d}.npz" for s in seen]


def test_latest_checkpoint_skips_corrupted_newest(tmp_path):
    _, _, written = _snap_series(tmp_path, 3, keep=5)
    _corrupt_flip(written[-1], 0.5)
    msgs = []
    assert latest_checkpoint(tmp_path, log_fn=msgs.append) == written[-2]
    assert len(msgs) == 1 and written[-1].name in msgs[0]
    written[-2].write_bytes(written[-2].read_bytes()[:100])
    assert latest_checkpoint(tmp_path, log_fn=msgs.append) == written[0]
    _corrupt_flip(written[0], 0.5)
    assert latest_checkpoint(tmp_path, log_fn=msgs.append) is None
    assert latest_checkpoint(tmp_path / "does-not-exist") is None


def test_snapshotter_never_removes_the_only_valid_checkpoint(tmp_path, monkeypatch):
    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:20])
    snap = Snapshotter(tmp_path, every_tokens=1, keep=1)
    good = snap.snapshot(m)

    def broken_save(model, path, position=None, extra=None):  # e.g. a disk that corrupts what it stores
        atomic_write(path, lambda f: f.write(b"PK\x03\x04 corrupted"))
        return str(path)

    monkeypatch.setattr(SGNS, "save", broken_save)
    for k in range(3):
        m.learn_many(lee_lines()[20 + k: 21 + k])
        snap.snapshot(m)
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert good.name in names
    assert latest_checkpoint(tmp_path) == good
    assert len(names) <= 3  # broken older ones were still pruned
    monkeypatch.undo()
    m.learn_many(lee_lines()[30:40])
    new = snap.snapshot(m)
    assert list_checkpoints(tmp_path) == [new]  # a valid newer one: the old one may go now


def test_snapshotter_time_schedule_and_validation(tmp_path):
    with pytest.raises(ValueError):
        Snapshotter(tmp_path, keep=0)
    m = SGNS(**SMALL)
    snap = Snapshotter(tmp_path, every_seconds=3600, every_tokens=None)
    snap.start(m)
    m.learn_many(lee_lines()[:50])
    assert not snap.due(m)
    snap.every_seconds = 1e-9
    assert snap.due(m)


def test_binary_snapshots(tmp_path):
    from gensim.models import KeyedVectors

    m = SGNS(**SMALL)
    m.learn_many(lee_lines()[:50])
    snap = Snapshotter(tmp_path, every_tokens=1, keep=2, binary=True)
    ck = snap.snapshot(m)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "vectors-latest.bin"), binary=True)
    assert len(kv) == m.vocab_size
    assert (tmp_path / ck.name.replace("ckpt-", "vectors-").replace(".npz", ".bin")).exists()


@pytest.mark.parametrize("spec,want", [
    ("30s", (30.0, None)), ("5m", (300.0, None)), ("1h", (3600.0, None)), ("12", (12.0, None)),
    ("20000w", (None, 20000)), ("1Mw", (None, 1_000_000)), ("2.5kw", (None, 2500)), (" 10 s ", (10.0, None)),
])
def test_parse_every(spec, want):
    assert parse_every(spec) == want


@pytest.mark.parametrize("spec", ["", "abc", "10x", "-5s", "w"])
def test_parse_every_rejects(spec):
    with pytest.raises(ValueError):
        parse_every(spec)


# ---------------------------------------------------------------- atomic writes
def test_atomic_write_keeps_old_file_when_writer_raises(tmp_path):
    p = tmp_path / "target.bin"
    p.write_bytes(b"old content")

    def failing(f):
        f.write(b"half of the new cont")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(p, failing)
    assert p.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["target.bin"]
    atomic_write(p, lambda f: f.write(b"new"))
    assert p.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["target.bin"]
    q = tmp_path / "sub" / "dir" / "x"
    atomic_write(q, lambda f: f.write(b"x"))
    assert q.read_bytes() == b"x"


def test_atomic_write_keyboard_interrupt_also_cleans_up(tmp_path):
    p = tmp_path / "t"

    def interrupted(f):
        f.write(b"x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(p, interrupted)
    assert not p.exists() and os.listdir(tmp_path) == []


def test_checkpoint_larger_than_initial_capacity_resumes_identically(tmp_path):
    lines = lee_lines()
    params = dict(vector_size=8, min_count=1, seed=9, max_sentence_length=100, sketch_width=1 << 14, cooc_top_n=50)
    a = SGNS(**params)
    a.learn_many(lines[:150])
    assert a.n_ids > 1024  # beyond the capacity a fresh model starts with
    b = SGNS.load(a.save(tmp_path / "big.npz"))
    assert_same_state(model_state(a), model_state(b))
    a.learn_many(lines[150:])
    b.learn_many(lines[150:])
    assert_same_state(model_state(a), model_state(b))


def test_snapshotter_prunes_vectors_orphaned_by_a_crash(tmp_path):
    from streamsgns import SGNS

    m = SGNS(vector_size=4, min_count=1, seed=0)
    snap = Snapshotter(tmp_path, keep=1)
    m.learn_one("aa bb cc")
    # a crash between the vectors write and the checkpoint write leaves this file alone
    (tmp_path / "vectors-000000000000001.txt").write_text("1 4\naa 0 0 0 0\n")
    m.learn_one("dd ee ff")
    snap.snapshot(m)
    m.learn_one("gg hh")
    snap.snapshot(m)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "vectors-000000000000001.txt" not in names
    assert names.count("vectors-latest.txt") == 1
    assert len([n for n in names if n.startswith("ckpt-")]) == 1
