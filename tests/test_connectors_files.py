"""File and stdin line sources: whole lines, exact concatenation, UTF-8-safe cuts, exact resume."""

from __future__ import annotations

import io
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsgns.connectors.base import Chunk, Source
from streamsgns.connectors.files import MAX_LINE_BYTES, FileSource, iter_line_blocks
from streamsgns.connectors.stdin import StdinSource


class Trickle(io.RawIOBase):
    """A raw stream returning at most ``step`` bytes per read (like a pipe)."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.step, len(self.data) - self.pos)
        b[:n] = self.data[self.pos: self.pos + n]
        self.pos += n
        return n


def _blocks(data, block, max_line, step=None):
    stats = {}
    f = io.BytesIO(data) if step is None else io.BufferedReader(Trickle(data, step), buffer_size=max(1, step))
    return list(iter_line_blocks(f, block, max_line, stats=stats)), stats


byte_lines = st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=12).map(
    lambda ls: b"\n".join(ls))
raw_bytes = st.one_of(st.binary(max_size=300), byte_lines,
                      st.lists(st.sampled_from([b"a", b" ", b"\n", b"\xe2\x82\xac", b"\xff", b"\t", b"xyz"]),
                               max_size=200).map(b"".join))


@settings(max_examples=400, deadline=None)
@given(raw_bytes, st.integers(1, 40), st.integers(4, 40), st.one_of(st.none(), st.integers(1, 17)))
def test_blocks_are_whole_lines_and_concatenate_to_input(data, block, max_line, step):
    blocks, stats = _blocks(data, block, max_line, step)
    assert all(blocks)  # never an empty block
    for b in blocks[:-1]:
        assert b.endswith(b"\n")  # whole lines only
    cuts = stats.get("long_lines_cut", 0)
    joined = b"".join(blocks)
    # a cut adds exactly one b"\n"; nothing else is added, dropped or reordered
    assert len(joined) == len(data) + cuts
    assert joined.replace(b"\n", b"") == data.replace(b"\n", b"")
    assert joined.count(b"\n") == data.count(b"\n") + cuts
    assert stats.get("bytes", 0) == len(data)
    longest = max((len(x) for x in data.split(b"\n")), default=0)
    if longest <= max_line:  # "a line longer than max_line_bytes is cut"
        assert cuts == 0 and joined == data
    for line in joined.split(b"\n"):
        # memory bound: a line is at most one read beyond max_line_bytes
        assert len(line) < max_line + block


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab é€😀\t\n漢"), max_size=200), st.integers(1, 40), st.integers(4, 30),
       st.one_of(st.none(), st.integers(1, 17)))
def test_cuts_never_split_a_utf8_character(text, block, max_line, step):
    data = text.encode("utf-8")
    blocks, stats = _blocks(data, block, max_line, step)
    for b in blocks:
        b.decode("utf-8")  # strict: a split character would raise
    joined = b"".join(blocks)
    assert joined.replace(b"\n", b"") == data.replace(b"\n", b"")
    if stats.get("long_lines_cut", 0):
        assert max(len(x) for x in text.encode().split(b"\n")) >= max_line


def test_long_line_cut_at_whitespace_then_at_char_boundary():
    line = ("word " * 10).encode() + "€".encode() * 20 + b"\n"
    blocks, stats = _blocks(line, 8, 16)
    joined = b"".join(blocks)
    pieces = joined.split(b"\n")[:-1]
    assert stats["long_lines_cut"] >= 3
    assert all(len(p) <= 16 for p in pieces[:-1])
    assert pieces[0] == b"word word word "  # cut after the last space before the limit
    for p in pieces:
        p.decode("utf-8")
    assert b"".join(pieces) == line[:-1]


@pytest.mark.parametrize("step", [None, 1, 3])
def test_line_of_exactly_max_line_bytes_is_not_cut(step):
    for data in (b"abcd", b"abcd\nef", b"a\xe2\x82\xac\nabcd\n"):  # 4-byte lines, max_line_bytes=4
        blocks, stats = _blocks(data, 1, 4, step)
        assert b"".join(blocks) == data and stats.get("long_lines_cut", 0) == 0
    blocks, stats = _blocks(b"abcde\n", 1, 4, step)
    assert b"".join(blocks) == b"abcd\ne\n" and stats["long_lines_cut"] == 1


def test_default_max_line_bounds_every_block_and_line():
    """With the default settings a 40 MB line without whitespace comes out in pieces: no line longer than
    MAX_LINE_BYTES and no block longer than a block plus one such line, whatever the input."""
    line = b"x" * (MAX_LINE_BYTES * 5 // 2) + b"\nshort\n"
    stats = {}
    blocks = list(iter_line_blocks(io.BytesIO(line), stats=stats))
    assert b"".join(blocks).replace(b"\n", b"") == line.replace(b"\n", b"")
    assert stats["long_lines_cut"] == 2
    assert max(len(b) for b in blocks) <= (1 << 20) + MAX_LINE_BYTES
    assert max(len(piece) for b in blocks for piece in b.split(b"\n")) <= MAX_LINE_BYTES


def test_ten_megabyte_line_passes_whole_below_the_limit():
    line = b"abc " * (10 << 18) + b"\n"
    blocks, stats = _blocks(line, 1 << 20, MAX_LINE_BYTES)
    assert b"".join(blocks) == line and stats.get("long_lines_cut", 0) == 0


# ---------------------------------------------------------------- FileSource
def _write_files(tmp_path, contents):
    paths = []
    for i, c in enumerate(contents):
        p = tmp_path / f"f{i}.txt"
        p.write_bytes(c)
        paths.append(p)
    return paths


@settings(max_examples=60, deadline=None)
@given(st.lists(byte_lines, min_size=1, max_size=3), st.integers(1, 50))
def test_file_source_positions_resume_exactly(tmp_path_factory, contents, block):
    tmp = tmp_path_factory.mktemp("fs")
    paths = _write_files(tmp, contents)
    src = FileSource(paths, block_bytes=block)
    chunks = list(src.chunks())
    assert b"".join(c.data for c in chunks) == b"".join(contents)
    assert src.stats.get("records", 0) == sum(c.count(b"\n") for c in contents)
    for k, ch in enumerate(chunks):
        assert isinstance(ch, Chunk) and ch.n_records == ch.data.count(b"\n")
        pos = json.loads(json.dumps(ch.position))  # survives a JSON manifest
        again = FileSource(paths, block_bytes=block)
        again.seek(pos)
        rest = b"".join(c.data for c in again.chunks())
        assert rest == b"".join(c.data for c in chunks[k + 1:])


def test_file_source_positions(tmp_path):
    paths = _write_files(tmp_path, [b"aa bb\ncc\n", b"", b"dd\nee"])
    chunks = list(FileSource(paths, block_bytes=4).chunks())
    last = chunks[-1].position["files"]
    assert (last["index"], last["offset"], last["partial"]) == (2, 5, 2)  # "ee" has no newline
    assert last["sha256"] == hashlib.sha256(b"dd\nee").hexdigest() and last["size"] == 5
    src = FileSource(paths)
    src.seek({"files": {"index": 0, "offset": 6}})
    assert b"".join(c.data for c in src.chunks()) == b"cc\ndd\nee"
    src = FileSource(paths)
    src.seek({"files": {"index": 3, "offset": 0}})  # past the end: nothing left
    assert list(src.chunks()) == []


def test_file_source_bad_positions_and_missing_files(tmp_path):
    paths = _write_files(tmp_path, [b"aa\n"])
    src = FileSource(paths)
    for bad in ({"stdin": {"offset": 3}}, {"files": {"index": 0}}, {"files": {"index": 5, "offset": 0}}, None, 3):
        with pytest.raises(ValueError):
            src.seek(bad)
    with pytest.raises(FileNotFoundError):
        list(FileSource([tmp_path / "missing.txt"]).chunks())


def test_file_source_is_a_source(tmp_path):
    paths = _write_files(tmp_path, [b"aa\n"])
    with FileSource(paths) as src:
        assert isinstance(src, Source)
        list(src.chunks())
        src.commit({"files": {"index": 1, "offset": 0}})  # a no-op for files
    src.close()


# ---------------------------------------------------------------- StdinSource
@settings(max_examples=60, deadline=None)
@given(byte_lines, st.integers(1, 30), st.integers(1, 13))
def test_stdin_source_skips_what_a_checkpoint_covers(data, block, step):
    def stream():
        return io.BufferedReader(Trickle(data, step), buffer_size=step)

    src = StdinSource(stream(), block_bytes=block)
    chunks = list(src.chunks())
    assert b"".join(c.data for c in chunks) == data
    for k, ch in enumerate(chunks):
        again = StdinSource(stream(), block_bytes=block)
        again.seek(ch.position)
        assert b"".join(c.data for c in again.chunks()) == b"".join(c.data for c in chunks[k + 1:])
        assert ch.position["stdin"]["offset"] == sum(len(c.data) for c in chunks[: k + 1])


def test_stdin_source_bad_position():
    with pytest.raises(ValueError):
        StdinSource(io.BytesIO(b"")).seek({"files": {"index": 0, "offset": 0}})
    src = StdinSource(io.BytesIO(b"abc\n"))
    src.seek({"stdin": {"offset": 100}})  # more than the input holds: nothing left
    assert list(src.chunks()) == []


# ---------------------------------------------------------------- positions across long-line cuts
long_line_data = st.lists(st.sampled_from([b"a", b"bc ", b"\n", b"\xe2\x82\xac", b"xxxxxxxxxxxx"]), max_size=120).map(
    b"".join)


@settings(max_examples=150, deadline=None)
@given(long_line_data, st.integers(1, 20), st.integers(4, 12))
def test_file_positions_exact_across_cut_lines(tmp_path_factory, data, block, max_line):
    p = tmp_path_factory.mktemp("cut") / "f.txt"
    p.write_bytes(data)
    src = FileSource([p], block_bytes=block, max_line_bytes=max_line)
    chunks = list(src.chunks())
    cuts = src.stats.get("long_lines_cut", 0)
    assert len(b"".join(c.data for c in chunks)) == len(data) + cuts
    if chunks:
        last = chunks[-1].position["files"]
        assert (last["index"], last["offset"]) == (0, len(data))
        assert last["sha256"] == hashlib.sha256(data).hexdigest()
    for k, ch in enumerate(chunks):
        off = ch.position["files"]["offset"]
        # the position is a byte offset of the file: what follows it is exactly what is left to read
        again = FileSource([p], block_bytes=block, max_line_bytes=max_line)
        again.seek(ch.position)
        rest = b"".join(c.data for c in again.chunks())
        assert rest.replace(b"\n", b"") == data[off:].replace(b"\n", b"")
        assert len(rest) == len(data) - off + again.stats.get("long_lines_cut", 0)


@settings(max_examples=150, deadline=None)
@given(long_line_data, st.integers(1, 20), st.integers(4, 12))
def test_stdin_positions_exact_across_cut_lines(data, block, max_line):
    src = StdinSource(io.BytesIO(data), block_bytes=block, max_line_bytes=max_line)
    chunks = list(src.chunks())
    if chunks:
        assert chunks[-1].position == {"stdin": {"offset": len(data), "sha256": hashlib.sha256(data).hexdigest()}}
    for ch in chunks:
        off = ch.position["stdin"]["offset"]
        again = StdinSource(io.BytesIO(data), block_bytes=block, max_line_bytes=max_line)
        again.seek(ch.position)
        rest = b"".join(c.data for c in again.chunks())
        assert rest.replace(b"\n", b"") == data[off:].replace(b"\n", b"")


def test_file_position_after_a_17_megabyte_line(tmp_path):
    p = tmp_path / "long.txt"
    data = b"x" * (17 << 20) + b"\nafter one\nafter two\n"
    p.write_bytes(data)
    src = FileSource([p])
    chunks = list(src.chunks())
    assert src.stats["long_lines_cut"] == 1
    assert chunks[-1].position["files"]["offset"] == len(data)
    again = FileSource([p])
    again.seek(chunks[0].position)
    assert b"".join(c.data for c in again.chunks()) == data[chunks[0].position["files"]["offset"]:]


def test_stdin_stopped_between_reads_leaves_the_cut_line_unread():
    """A stop (SIGTERM) while a block is being trained: the next read ends the input, but the
    partial line it holds is a line still being written, not the input's last line: it is not
    yielded and the position stays at its first byte, so a resume reads it whole."""
    import io

    from streamsgns.connectors.stdin import StdinSource

    class Pieces(io.RawIOBase):
        def __init__(self, pieces):
            self.pieces = list(pieces)

        def readable(self):
            return True

        def read1(self, n=-1):
            return self.pieces.pop(0) if self.pieces else b""

        read = read1

    src = StdinSource(stream=Pieces([b"a b\nc d", b" e\n"]), block_bytes=64)
    it = src.chunks()
    first = next(it)
    assert first.data == b"a b\n" and first.position["stdin"]["offset"] == 4
    src.stop()  # not blocked in a read: it only marks the source stopped
    assert list(it) == []
    # without a stop, the same input yields the line whole
    src = StdinSource(stream=Pieces([b"a b\nc d", b" e\n"]), block_bytes=64)
    assert b"".join(c.data for c in src.chunks()) == b"a b\nc d e\n"
    # and a last line without b"\n" at a real end of input is still learned
    src = StdinSource(stream=Pieces([b"a b\nc d"]), block_bytes=64)
    assert b"".join(c.data for c in src.chunks()) == b"a b\nc d"
