"""Issue 11, in-process: inputs that changed under a resumed run (11.2), encodings (11.7), one run per
snapshot directory (11.1), permissions of the files written (11.10)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat

import pytest

from streamsgns.connectors.base import InputChanged
from streamsgns.connectors.encoding import utf8_reader
from streamsgns.connectors.files import FileSource
from streamsgns.connectors.stdin import StdinSource
from streamsgns.io.atomic import atomic_write
from streamsgns.io.snapshotter import (SnapshotDirLocked, Snapshotter, list_checkpoints, lock_directory,
                                       run_id_of)


def _read(src) -> bytes:
    return b"".join(c.data for c in src.chunks())


def _last_position(paths):
    chunks = list(FileSource(paths, block_bytes=4).chunks())
    return json.loads(json.dumps(chunks[-1].position))  # as stored in a manifest


# ---------------------------------------------------------------- 11.2 resumed inputs
def test_resume_position_names_the_file_it_points_into(tmp_path):
    p = tmp_path / "day1.txt"
    p.write_bytes(b"aa bb\ncc dd\n")
    pos = _last_position([p])["files"]
    assert pos["offset"] == 12 and pos["sha256"] == hashlib.sha256(b"aa bb\ncc dd\n").hexdigest()
    assert pos["path"] == str(p) and pos["size"] == 12 and pos["mtime"] == os.stat(p).st_mtime
    assert "partial" not in pos


def test_resume_with_another_file_is_refused(tmp_path):
    day1, day2 = tmp_path / "day1.txt", tmp_path / "day2.txt"
    day1.write_bytes(b"the cat sat\non the mat\n")
    day2.write_bytes(b"a dog ran far away\nin the park at noon\n")  # longer: the old code skipped its start
    pos = _last_position([day1])
    src = FileSource([day2])
    with pytest.raises(InputChanged, match="day2.txt"):
        src.seek(pos)
    day2.write_bytes(b"short\n")  # shorter than the offset
    with pytest.raises(InputChanged, match="fewer"):
        FileSource([day2]).seek(pos)
    with pytest.raises(InputChanged, match="2 file"):  # the position's file is not in the list any more
        FileSource([day1, day2]).seek({"files": dict(pos["files"], index=2)})


def test_resume_after_an_edit_is_refused_after_an_append_reads_only_the_new_lines(tmp_path):
    p = tmp_path / "log.txt"
    p.write_bytes(b"aa bb\ncc dd\n")
    pos = _last_position([p])
    with open(p, "ab") as f:
        f.write(b"ee ff\n")
    src = FileSource([p])
    src.seek(pos)
    rest = list(src.chunks())
    assert b"".join(c.data for c in rest) == b"ee ff\n"
    assert rest[-1].position["files"]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    p.write_bytes(b"XX bb\ncc dd\nee ff\n")  # same size, edited
    with pytest.raises(InputChanged, match="edited"):
        FileSource([p]).seek(pos)


def test_unterminated_last_line_is_read_again_whole_after_an_append(tmp_path):
    p = tmp_path / "growing.txt"
    p.write_bytes(b"aa bb\ncc dd")  # a writer is in the middle of the line "cc dddd"
    pos = _last_position([p])
    assert pos["files"]["offset"] == 11 and pos["files"]["partial"] == 5
    src = FileSource([p])  # unchanged: nothing is read again
    src.seek(pos)
    assert _read(src) == b""
    with open(p, "ab") as f:
        f.write(b"dd\nee\n")
    src = FileSource([p])
    src.seek(pos)
    rest = list(src.chunks())
    # the word across the cut comes whole ("dddd"), never as "dd" + "dd"
    assert b"".join(c.data for c in rest) == b"cc dddd\nee\n"
    assert rest[-1].position["files"]["offset"] == p.stat().st_size
    assert rest[-1].position["files"]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    # and a resume from there goes on normally
    src = FileSource([p])
    src.seek(rest[-1].position)
    assert _read(src) == b""


def test_unterminated_line_ended_by_the_append_is_not_read_again(tmp_path):
    p = tmp_path / "growing.txt"
    p.write_bytes(b"aa bb\ncc dd")
    pos = _last_position([p])
    with open(p, "ab") as f:
        f.write(b"\nee\n")
    src = FileSource([p])
    src.seek(pos)
    assert _read(src) == b"\nee\n"


def test_stdin_resume_with_other_bytes_is_refused():
    data = b"the cat sat\non the mat\n"
    pos = list(StdinSource(io.BytesIO(data)).chunks())[-1].position
    src = StdinSource(io.BytesIO(b"a dog ran far away\nin the park\n"))
    src.seek(pos)
    with pytest.raises(InputChanged, match="standard input"):
        _read(src)
    src = StdinSource(io.BytesIO(data + b"more\n"))
    src.seek(pos)
    assert _read(src) == b"more\n"


# ---------------------------------------------------------------- 11.7 encodings
TEXT = "café au lait\nnaïve façade über\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_bom_is_detected_in_files_and_stdin(tmp_path, encoding):
    raw = TEXT.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        raw = ("\ufeff" + TEXT).encode(encoding)
    p = tmp_path / "in.txt"
    p.write_bytes(raw)
    assert _read(FileSource([p], block_bytes=7)).decode("utf-8") == TEXT
    assert _read(StdinSource(io.BytesIO(raw), block_bytes=7)).decode("utf-8") == TEXT


def test_latin1_with_the_encoding_option(tmp_path):
    raw = TEXT.encode("latin-1")
    p = tmp_path / "in.txt"
    p.write_bytes(raw)
    assert _read(FileSource([p], encoding="latin-1")).decode("utf-8") == TEXT
    assert _read(StdinSource(io.BytesIO(raw), encoding="latin-1")).decode("utf-8") == TEXT
    with pytest.raises(LookupError):
        FileSource([p], encoding="no-such-codec")


def test_transcoded_file_resumes_at_its_position(tmp_path):
    p = tmp_path / "in.txt"
    p.write_bytes(("\ufeff" + TEXT).encode("utf-16-le"))
    chunks = list(FileSource([p], block_bytes=8).chunks())
    assert chunks[0].position["files"]["encoding"] == "utf-16-le"
    src = FileSource([p], block_bytes=8)
    src.seek(json.loads(json.dumps(chunks[0].position)))
    assert chunks[0].data + _read(src) == TEXT.encode("utf-8")


def test_utf8_reader_counts_undecodable_bytes():
    s = utf8_reader(io.BytesIO(b"\xff\xfe"[:1] + b"abc"), "ascii")
    assert s.read1(100) == "\ufffdabc".encode() and s.replaced == 1


# ---------------------------------------------------------------- 11.1 one run per directory
def _model(text="aa bb cc aa bb aa"):
    from streamsgns import SGNS

    m = SGNS(vector_size=4, min_count=1, seed=0, sketch_width=1024, cooc_top_n=10)
    if text:
        m.learn_one(text)
    return m


def test_second_snapshotter_on_a_directory_is_refused_until_the_first_closes(tmp_path):
    with Snapshotter(tmp_path, keep=2):
        (tmp_path / ".ckpt-000000000000001.npz.abc.tmp").write_bytes(b"in progress")
        with pytest.raises(SnapshotDirLocked, match="another trainer"):
            Snapshotter(tmp_path)
        assert (tmp_path / ".ckpt-000000000000001.npz.abc.tmp").exists()  # never deleted under a live run
    with Snapshotter(tmp_path):  # released: a new trainer cleans the crash leftovers
        assert not (tmp_path / ".ckpt-000000000000001.npz.abc.tmp").exists()


def test_lock_is_released_when_its_descriptor_closes(tmp_path):
    fd = lock_directory(tmp_path)
    with pytest.raises(SnapshotDirLocked):
        lock_directory(tmp_path)
    os.close(fd)  # what the kernel does when the process dies, however it dies
    os.close(lock_directory(tmp_path))


def test_checkpoints_carry_the_run_id_and_pruning_spares_other_runs(tmp_path):
    m = _model()
    with Snapshotter(tmp_path, keep=1) as a:
        for text in ["dd ee", "ff gg", "hh ii"]:
            m.learn_one(text)
            a.snapshot(m)
        first = list_checkpoints(tmp_path)
        assert len(first) == 1 and run_id_of(first[0]) == a.run_id
    b_model = _model("zz yy")  # a smaller run: its words_seen sort below the other run's checkpoint
    with Snapshotter(tmp_path, keep=1) as b:
        assert b.run_id != a.run_id and b.other_runs() == first
        for text in ["xx", "ww", "vv"]:
            b_model.learn_one(text)
            b.snapshot(b_model)
    ckpts = list_checkpoints(tmp_path)
    assert first[0] in ckpts and len(ckpts) == 2  # one of each run
    assert sorted(run_id_of(p) for p in ckpts) == sorted([a.run_id, b.run_id])


def test_empty_model_never_replaces_vectors_latest(tmp_path):
    with Snapshotter(tmp_path) as s:
        s.snapshot(_model(""))
        assert not (tmp_path / "vectors-latest.txt").exists()
        s.snapshot(_model())
        before = (tmp_path / "vectors-latest.txt").read_bytes()
        assert before.startswith(b"3 4\n")
    with Snapshotter(tmp_path) as s:
        s.snapshot(_model("").__class__(vector_size=4, min_count=5, sketch_width=1024))
        assert (tmp_path / "vectors-latest.txt").read_bytes() == before


def test_vectors_are_written_after_their_checkpoint(tmp_path, monkeypatch):
    m = _model()
    with Snapshotter(tmp_path) as s:
        def fail(*a, **k):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(m, "save", fail)  # the checkpoint cannot be written...
        with pytest.raises(OSError, match=r"cannot write .*ckpt-0+6\.npz: No space left"):
            s.snapshot(m)
        assert s.failed == 1 and not list(tmp_path.glob("vectors-*"))  # ...so no vectors either


# ---------------------------------------------------------------- 11.10 permissions
@pytest.mark.parametrize("umask,want", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, want):
    old = os.umask(umask)
    try:
        p = atomic_write(tmp_path / "v.txt", lambda f: f.write(b"x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == want


def test_replacing_a_file_keeps_its_mode(tmp_path):
    p = tmp_path / "v.txt"
    p.write_bytes(b"old")
    os.chmod(p, 0o644)
    old = os.umask(0o077)
    try:
        atomic_write(p, lambda f: f.write(b"new"))
    finally:
        os.umask(old)
    assert p.read_bytes() == b"new" and stat.S_IMODE(p.stat().st_mode) == 0o644
