"""Checkpoints edited with recomputed checksums, or built to exhaust memory, are refused, never loaded.

The SHA-256s sit in the file they protect, so they catch accidents, not edits. Each case here
rewrites a valid checkpoint's state with valid checksums (through ``save_checkpoint`` itself) and
loads it **in a subprocess**, so that a crash of the kernel (SIGSEGV) fails the test instead of
killing the test run: loading must end in a :class:`CheckpointError` (exit 3 below) and nothing else.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from helpers_core import lee_lines
from streamsgns import SGNS
from streamsgns.io.checkpoint import read_checkpoint, save_checkpoint

_LOADER = textwrap.dedent("""
    import sys
    from streamsgns import SGNS
    from streamsgns.io.checkpoint import CheckpointError
    try:
        m = SGNS.load(sys.argv[1])
        m.learn_many(["the government said on monday that the talks would go on"] * 50)
    except CheckpointError as e:
        print("CheckpointError:", e)
        sys.exit(3)
    print("LOADED", m.vocab_size)
""")


def _load_in_child(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _LOADER, str(path)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    m = SGNS(vector_size=8, min_count=1, max_vocab=300, seed=1, sketch_width=1 << 12, cooc_top_n=40)
    m.learn_many(list(lee_lines())[:120])
    assert m.progress()["evicted"] > 0
    path = tmp_path_factory.mktemp("ck") / "valid.npz"
    m.save(path)
    return path


def _forge(valid, tmp_path, edit):
    manifest, state = read_checkpoint(valid)
    state = _copy(state)
    edit(state)
    out = tmp_path / "forged.npz"
    save_checkpoint(out, state, {k: manifest[k] for k in ("words_seen", "vocab_size", "n_ids", "position")})
    return out


def _copy(node):
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    return node.copy() if isinstance(node, np.ndarray) else node


def _set(path, value):
    def edit(state):
        node = state
        for k in path[:-1]:
            node = node[k]
        if callable(value):
            node[path[-1]] = value(node[path[-1]])
        else:
            node[path[-1]] = value
    return edit


def _delete(path):
    def edit(state):
        node = state
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return edit


def _first(a, v):
    a = a.copy()
    a[0] = v
    return a


CASES = {
    "free id out of range": _set(("vocab", "free_ids"), lambda a: _first(a, 10**6)),
    "next_id beyond max_vocab": _set(("vocab", "next_id"), 10**7),
    "huge n_free": _set(("vocab", "n_free"), 982035 + 10**6),
    "NaN in W": _set(("parameters", "W"), lambda a: _first(a, np.nan)),
    "inf in C": _set(("parameters", "C"), lambda a: _first(a, np.inf)),
    "negative count": _set(("vocab", "counts"), lambda a: _first(a, -5)),
    "missing array": _delete(("vocab", "hashes")),
    "another vector_size": _set(("params", "vector_size"), 16),
    "unknown parameter": _set(("params", "bogus"), 1),
    "bad word blob": _set(("vocab", "words_blob"), lambda a: np.full_like(a, 0xFF)),
    "reversed word offsets": _set(("vocab", "words_offsets"), lambda a: a[::-1].copy()),
    "noise alias outside the table": _set(("noise", "alias"), lambda a: _first(a, 10**6)),
    "cooc slot outside the table": _set(("cooc", "cmeta"), lambda a: _first(a, 10**6)),
    "negative words_seen": _set(("parameters", "words_seen"), -1),
    "sketch of another shape": _set(("vocab", "sketch", "table"), lambda a: a[:, :100].copy()),
    "duplicated word": _set(("vocab", "words_blob"), lambda a: a),  # replaced below
}


def _dup_words(state):
    v = state["vocab"]
    has, off, blob = v["words_has"], v["words_offsets"], v["words_blob"]
    live = np.flatnonzero(has)
    a, b = live[0], live[1]
    words = [bytes(blob[off[i]:off[i + 1]]) for i in range(len(has))]
    words[b] = words[a]
    v["words_blob"] = np.frombuffer(b"".join(words), dtype=np.uint8).copy()
    v["words_offsets"] = np.concatenate([[0], np.cumsum([len(w) for w in words])]).astype(np.int64)


CASES["duplicated word"] = _dup_words


def test_the_unforged_checkpoint_loads_in_the_child(valid):
    r = _load_in_child(valid)
    assert r.returncode == 0 and "LOADED" in r.stdout, r.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_forged_checkpoint_is_refused_with_a_checkpoint_error(valid, tmp_path, case):
    forged = _forge(valid, tmp_path, CASES[case])
    r = _load_in_child(forged)
    assert r.returncode == 3, f"{case}: exit {r.returncode}\n{r.stdout}\n{r.stderr[-2000:]}"
    assert str(forged) in r.stdout


def _npy_header(shape, dtype="<f4") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_member_declaring_billions_of_floats_is_refused_before_reading(valid, tmp_path):
    """A small file whose array header declares 3·10⁹ floats: refused at once, without allocating them."""
    forged = tmp_path / "huge.npz"
    with zipfile.ZipFile(valid) as src, zipfile.ZipFile(forged, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "parameters.W.npy":
                data = _npy_header((3_000_000_000,)) + b"\0" * 1024
            dst.writestr(info.filename, data)
    r = _load_in_child(forged)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "parameters.W" in r.stdout


def test_compressed_member_is_refused(valid, tmp_path):
    """A deflated member could inflate to any size: only stored (uncompressed) members are read."""
    forged = tmp_path / "deflated.npz"
    with zipfile.ZipFile(valid) as src, zipfile.ZipFile(forged, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    r = _load_in_child(forged)
    assert r.returncode == 3 and "compressed" in r.stdout, r.stdout + r.stderr[-1000:]


def test_resume_falls_back_from_a_forged_newest_checkpoint_to_the_previous_valid_one(valid, tmp_path):
    """``train --resume``: the newest checkpoint passes its checksums but breaks an invariant; the run resumes
    from the older valid one instead of crashing or exiting."""
    import os
    import shutil

    from streamsgns.io.checkpoint import read_manifest

    snap = tmp_path / "snap"
    snap.mkdir()
    older = snap / "ckpt-000000000010000.npz"
    shutil.copy(valid, older)
    newer_src = _forge(valid, tmp_path, CASES["free id out of range"])
    newer = snap / "ckpt-000000000020000.npz"
    shutil.copy(newer_src, newer)
    run_id = read_manifest(older).get("extra", {}).get("run_id")
    assert run_id is None or run_id == read_manifest(newer).get("extra", {}).get("run_id")
    text = tmp_path / "more.txt"
    text.write_text("the government said the talks would go on\n" * 20)
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "streamsgns", "train", "--input", str(text), "--snapshot-dir", str(snap),
                        "--resume", "--input-changed", "restart", "--summary", "--quiet"],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "skipping invalid checkpoint" in r.stderr and newer.name in r.stderr
    from streamsgns.io.snapshotter import list_checkpoints

    final = read_manifest(list_checkpoints(snap)[-1])
    assert final["words_seen"] == read_manifest(older)["words_seen"] + 20 * 8  # continued from the older one
