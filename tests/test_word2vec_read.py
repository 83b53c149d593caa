"""load_word2vec_format: text vs binary detection, truncation reported as such, junk refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from streamsgns.io.word2vec import load_word2vec_format, save_word2vec_format

WORD = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(words=st.lists(WORD, min_size=1, max_size=6, unique=True), d=st.integers(1, 5), binary=st.booleans(),
       data=st.data())
def test_round_trip_detects_the_format(tmp_path, words, d, binary, data):
    V = data.draw(hnp.arrays(np.float32, (len(words), d),
                             elements=st.floats(-1e6, 1e6, allow_nan=False, width=32)))
    p = tmp_path / "v.bin"
    save_word2vec_format(p, words, V, binary=binary)
    w2, V2 = load_word2vec_format(p)  # format detected from the content
    assert w2 == words
    np.testing.assert_array_equal(V2, V)


def _cuts(data: bytes, binary: bool):
    """Every cut after the header that removes more than the final newline; in text, not the cuts
    inside the very last number (``... 0.31`` cut to ``... 0.3`` is a complete row to any reader:
    word2vec files may end without a newline)."""
    header_end = data.index(b"\n") + 1
    return range(header_end, len(data) - 1 if binary else data.rindex(b" ") + 2)


@pytest.mark.parametrize("binary", [False, True])
def test_every_truncation_is_reported_as_truncated(tmp_path, binary):
    rng = np.random.default_rng(0)
    words = ["the", "über", "x", "naïve-word"]
    V = rng.normal(size=(4, 3)).astype(np.float32)
    V[0, 0] = -1.5e-7  # "-", "e" and "." prefixes occur at cut points
    full = tmp_path / "full"
    save_word2vec_format(full, words, V, binary=binary)
    data = full.read_bytes()
    p = tmp_path / "cut"
    for cut in _cuts(data, binary):
        p.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="truncated"):
            load_word2vec_format(p)
    p.write_bytes(data[:-1])  # only the final newline missing: still complete
    assert load_word2vec_format(p)[0] == words


def test_truncated_text_is_not_read_as_binary(tmp_path):
    p = tmp_path / "t.txt"
    for body in (b"ab 0.25 -", b"ab 0.25 1e", b"ab 0.2", "caf\u00e9".encode()[:-1], b"ab 0.5 0.5\ncd 0.1"):
        p.write_bytes(b"2 2\n" + body)
        with pytest.raises(ValueError, match="truncated word2vec file"):
            load_word2vec_format(p)  # the text reader's message, not a binary misreading


def test_junk_and_empty_files(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_word2vec_format(p)
    for junk in (b"hello world\nfoo bar\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"3\n", b"2 3 4\n", b"-1 3\n"):
        p.write_bytes(junk)
        with pytest.raises(ValueError, match="word2vec"):
            load_word2vec_format(p)
    p.write_bytes(b"1000000000 300\nab 1\n")  # refused before allocating 3e11 floats
    with pytest.raises(ValueError, match="truncated"):
        load_word2vec_format(p)
    p.write_bytes(b"1 2\nab 1 x\n")
    with pytest.raises(ValueError, match="row 0"):
        load_word2vec_format(p)
    with pytest.raises(FileNotFoundError):
        load_word2vec_format(tmp_path / "missing")
