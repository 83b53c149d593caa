"""The ``streamsgns`` command end to end, each run in its own process."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from helpers_core import lee_path
from streamsgns.io.checkpoint import read_manifest
from streamsgns import SGNS
from streamsgns.io.snapshotter import latest_checkpoint, list_checkpoints
from streamsgns.tokenize import tokenize

FAST = ["--vector-size", "12", "--min-count", "2", "--cooc-top-n", "100", "--quiet", "--summary"]


def _cmd(*args):
    return [sys.executable, "-m", "streamsgns", *map(str, args)]


def run(args, cwd, input=None, timeout=240):
    r = subprocess.run(_cmd(*args), input=input, capture_output=True, cwd=cwd, timeout=timeout)
    return r


def _stdin_pos(data: bytes, offset: int) -> dict:
    """The stdin position after ``offset`` bytes of ``data``: the offset and the SHA-256 of those bytes."""
    return {"stdin": {"offset": offset, "sha256": hashlib.sha256(data[:offset]).hexdigest()}}


def summary_of(stderr: bytes) -> dict:
    for line in reversed(stderr.decode("utf-8", "replace").splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            return json.loads(line)
    raise AssertionError(f"no JSON summary in stderr:\n{stderr.decode(errors='replace')[-2000:]}")


def expected_counts(data: bytes) -> dict:
    """words_seen, lines, empty_lines, invalid_utf8 and control_bytes the learner must report for ``data``."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # a final newline ends the last line, it does not start a new one
    toks = [len(tokenize(line)) for line in lines]
    return {
        "words_seen": sum(toks),
        "lines": len(lines),
        "empty_lines": sum(1 for t in toks if t == 0),
        "invalid_utf8": text.count("\ufffd") - data.count("\ufffd".encode()),
        "control_bytes": sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r"),
    }


@pytest.fixture(scope="module")
def lee_bytes():
    with open(lee_path(), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def lee_tokens(lee_bytes):
    return expected_counts(lee_bytes)["words_seen"]


# ---------------------------------------------------------------- train
def test_train_from_stdin_output_loads_in_gensim(tmp_path, lee_bytes, lee_tokens):
    from gensim.models import KeyedVectors

    r = run(["train", "--output", "out.txt", *FAST], tmp_path, input=lee_bytes)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    s = summary_of(r.stderr)
    assert s["words_seen"] == lee_tokens
    assert s["source"]["bytes"] == len(lee_bytes) and s["source"]["records"] == lee_bytes.count(b"\n")
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "out.txt"))
    assert len(kv) == s["vocab_size"] > 1000 and kv.vector_size == 12
    assert kv.index_to_key[0] == "the"
    assert np.isfinite(kv.vectors).all()


def test_train_from_files_binary(tmp_path, lee_bytes, lee_tokens):
    from gensim.models import KeyedVectors

    cut = lee_bytes.index(b"\n", len(lee_bytes) // 3) + 1
    (tmp_path / "a.txt").write_bytes(lee_bytes[:cut])
    (tmp_path / "b.txt").write_bytes(lee_bytes[cut:])
    r = run(["train", "--input", "a.txt", "b.txt", "--output", "out.bin", "--binary", *FAST], tmp_path)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    s = summary_of(r.stderr)
    assert s["words_seen"] == lee_tokens and s["lines"] == expected_counts(lee_bytes)["lines"] == 300
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "out.bin"), binary=True)
    assert len(kv) == s["vocab_size"]


def test_same_input_same_vectors_stdin_or_files(tmp_path, lee_bytes):
    (tmp_path / "in.txt").write_bytes(lee_bytes)
    r1 = run(["train", "--output", "a.txt", *FAST], tmp_path, input=lee_bytes)
    r2 = run(["train", "--input", "in.txt", "--output", "b.txt", *FAST], tmp_path)
    assert r1.returncode == 0 and r2.returncode == 0
    # workers=1: the result does not depend on how the stream was cut into chunks
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_train_with_two_workers(tmp_path, lee_bytes, lee_tokens):
    from gensim.models import KeyedVectors

    r = run(["train", "--workers", "2", "--snapshot-dir", "snap", "--output", "out.txt", *FAST], tmp_path,
            input=lee_bytes * 2)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    s = summary_of(r.stderr)
    assert s["words_seen"] == 2 * lee_tokens
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "out.txt"))
    assert len(kv) == s["vocab_size"] and np.isfinite(kv.vectors).all()
    assert SGNS.load(latest_checkpoint(tmp_path / "snap")).words_seen == 2 * lee_tokens


def test_bad_command_lines(tmp_path):
    r = run(["train", "--resume", *FAST], tmp_path, input=b"")
    assert r.returncode != 0 and b"--snapshot-dir" in r.stderr
    r = run(["train", "--input", "missing.txt", *FAST], tmp_path)
    assert r.returncode != 0 and b"missing.txt" in r.stderr
    (tmp_path / "x.txt").write_text("aa bb\n")
    r = run(["train", "--input", "-", "x.txt", *FAST], tmp_path)
    assert r.returncode != 0
    r = run(["train", "--snapshot-dir", "s", "--snapshot-every", "soon", *FAST], tmp_path, input=b"aa\n")
    assert r.returncode != 0
    r = run(["bogus"], tmp_path)
    assert r.returncode == 2


def test_help_lists_every_command_in_plain_text(tmp_path):
    r = run(["--help"], tmp_path)
    out = r.stdout.decode()
    assert r.returncode == 0
    commands = out[out.index("commands:"):]
    for cmd in ("train", "similar", "evaluate", "pmi", "drift"):
        assert f"\n    {cmd} " in commands, cmd
    assert "``" not in out and ":mod:" not in out and ":func:" not in out


def test_train_help_puts_every_option_in_a_named_group(tmp_path):
    from streamsgns.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    train = sub.choices["train"]
    groups = {g.title: [a.option_strings[0] for a in g._group_actions] for g in train._action_groups}
    assert groups.pop("options") == ["-h"] and not groups.pop("positional arguments", [])
    for title in ("input", "Kafka input", "output and snapshots", "model", "learning rule", "forgetting",
                  "change detection", "replicas (Ray)"):
        assert groups.get(title), title
    flags = [f for fs in groups.values() for f in fs]
    assert len(flags) == len(set(flags))
    assert {"--input", "--half-life", "--word-decay", "--replicas", "--resume"} <= set(flags)
    r = run(["train", "--help"], tmp_path)
    assert r.returncode == 0 and b"\nforgetting:\n" in r.stdout and b"\nlearning rule:\n" in r.stdout


def test_snapshots_every_n_words_keep_last_k(tmp_path, lee_bytes, lee_tokens):
    data = lee_bytes * 3
    r = run(["train", "--snapshot-dir", "snap", "--snapshot-every", "20000w", "--keep", "2", *FAST],
            tmp_path, input=data)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    s = summary_of(r.stderr)
    assert s["words_seen"] == 3 * lee_tokens
    snap = tmp_path / "snap"
    ckpts = list_checkpoints(snap)
    assert len(ckpts) == 2
    seen = [read_manifest(p)["words_seen"] for p in ckpts]
    assert seen[-1] == 3 * lee_tokens and 20000 <= seen[0] < seen[1]
    stems = {p.name[5:-4] for p in ckpts}
    vec = {p.name[8:-4] for p in snap.glob("vectors-0*.txt")}
    assert vec == stems  # vectors removed together with their checkpoints
    assert (snap / "vectors-latest.txt").exists()
    m = SGNS.load(ckpts[-1])
    assert m.words_seen == 3 * lee_tokens and m.vector_size == 12 and m.min_count == 2
    assert read_manifest(ckpts[-1])["position"] == _stdin_pos(data, len(data))
    assert not list(snap.glob("*.tmp"))


def _feeder(proc, data, piece, stop, pause=0.02):
    try:
        i = 0
        while not stop.is_set():
            chunk = data[i: i + piece]
            if not chunk:
                i = 0
                continue
            proc.stdin.write(chunk)
            proc.stdin.flush()
            i += piece
            time.sleep(pause)
    except (BrokenPipeError, ValueError, OSError):
        pass


def _wait_for(pred, limit=120.0):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > limit:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_sigterm_mid_run_writes_final_checkpoint_and_output(tmp_path, lee_bytes):
    from gensim.models import KeyedVectors

    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(_cmd("train", "--snapshot-dir", "snap", "--snapshot-every", "5000w", "--keep", "3",
                                 "--output", "out.txt", *FAST),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path)
    stop = threading.Event()
    # pieces end anywhere: the source re-assembles whole lines
    t = threading.Thread(target=_feeder, args=(proc, lee_bytes, 8000, stop), daemon=True)
    t.start()
    try:
        _wait_for(lambda: len(list_checkpoints(tmp_path / "snap")) >= 1)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        stop.set()
        t.join(timeout=10)
        if proc.poll() is None:
            proc.kill()
        err.close()
    stderr = (tmp_path / "stderr.txt").read_bytes()
    assert rc == 0, stderr.decode()[-3000:]
    s = summary_of(stderr)
    final = latest_checkpoint(tmp_path / "snap")
    assert final is not None
    man = read_manifest(final)
    assert man["words_seen"] == s["words_seen"]  # the final checkpoint covers everything learnt
    offset = man["position"]["stdin"]["offset"]
    assert 0 < offset <= s["source"]["bytes"]
    fed = lee_bytes * (offset // len(lee_bytes) + 1)
    assert fed[offset - 1: offset] == b"\n"  # whole lines only
    assert expected_counts(fed[:offset])["words_seen"] == man["words_seen"]  # position matches what was learnt
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "out.txt"))
    assert len(kv) == s["vocab_size"] == man["vocab_size"]


def test_sigterm_while_stdin_is_idle(tmp_path, lee_bytes):
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(_cmd("train", "--snapshot-dir", "snap", "--snapshot-every", "5000w", *FAST),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path)
    try:
        proc.stdin.write(lee_bytes[:60000])
        proc.stdin.flush()
        _wait_for(lambda: len(list_checkpoints(tmp_path / "snap")) >= 1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)  # a hang, not a speed requirement
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=60)
        err.close()
    assert rc == 0
    # the final checkpoint covers every whole line that arrived, and no more
    from streamsgns.io.checkpoint import read_manifest
    from streamsgns.io.snapshotter import latest_checkpoint

    man = read_manifest(latest_checkpoint(tmp_path / "snap"))
    assert man["position"] == _stdin_pos(lee_bytes, lee_bytes[:60000].rfind(b"\n") + 1)


def test_resume_continues_where_the_checkpoint_left_off(tmp_path, lee_bytes, lee_tokens):
    cut = lee_bytes.index(b"\n", int(len(lee_bytes) * 0.4)) + 1
    first = run(["train", "--snapshot-dir", "snap", *FAST], tmp_path, input=lee_bytes[:cut])
    assert first.returncode == 0, first.stderr.decode()[-3000:]
    ck1 = latest_checkpoint(tmp_path / "snap")
    assert read_manifest(ck1)["position"] == _stdin_pos(lee_bytes, cut)
    # the same whole input is piped again: the bytes the checkpoint covers are skipped
    second = run(["train", "--snapshot-dir", "snap", "--resume", "--output", "resumed.txt", *FAST],
                 tmp_path, input=lee_bytes)
    assert second.returncode == 0, second.stderr.decode()[-3000:]
    s = summary_of(second.stderr)
    assert s["words_seen"] == lee_tokens
    assert s["lines"] == expected_counts(lee_bytes)["lines"]
    ck2 = latest_checkpoint(tmp_path / "snap")
    assert read_manifest(ck2)["position"] == _stdin_pos(lee_bytes, len(lee_bytes))
    # and the result is the uninterrupted run's, bit for bit
    whole = run(["train", "--snapshot-dir", "snap-whole", "--output", "whole.txt", *FAST], tmp_path,
                input=lee_bytes)
    assert whole.returncode == 0
    assert (tmp_path / "resumed.txt").read_bytes() == (tmp_path / "whole.txt").read_bytes()
    a = SGNS.load(ck2)
    b = SGNS.load(latest_checkpoint(tmp_path / "snap-whole"))
    assert np.array_equal(a.W, b.W) and np.array_equal(a.C, b.C) and a.progress() == b.progress()


def test_resume_from_files(tmp_path, lee_bytes, lee_tokens):
    (tmp_path / "in.txt").write_bytes(lee_bytes)
    r = run(["train", "--input", "in.txt", "--snapshot-dir", "snap", *FAST], tmp_path)
    assert r.returncode == 0
    r = run(["train", "--input", "in.txt", "--snapshot-dir", "snap", "--resume", *FAST], tmp_path)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    s = summary_of(r.stderr)
    assert s["words_seen"] == lee_tokens  # nothing left to read: the file position was restored
    assert s["source"].get("bytes", 0) == 0


def test_resume_with_empty_snapshot_dir_starts_afresh(tmp_path):
    r = run(["train", "--snapshot-dir", "snap", "--resume", *FAST], tmp_path, input=b"aa bb\naa bb\n")
    assert r.returncode == 0
    assert summary_of(r.stderr)["words_seen"] == 4


# ---------------------------------------------------------------- similar / evaluate
@pytest.fixture(scope="module")
def snapshot_dir(tmp_path_factory, lee_bytes):
    d = tmp_path_factory.mktemp("cli-snap")
    r = run(["train", "--snapshot-dir", "snap", "--output", "out.txt", *FAST], d, input=lee_bytes * 2)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    return d


def test_similar(snapshot_dir):
    for target in ("snap", "out.txt", str(latest_checkpoint(snapshot_dir / "snap"))):
        r = run(["similar", target, "Government", "--topn", "4"], snapshot_dir)
        assert r.returncode == 0, r.stderr.decode()
        rows = [line.split("\t") for line in r.stdout.decode().splitlines()]
        assert len(rows) == 4
        sims = [float(x) for _, x in rows]
        assert sims == sorted(sims, reverse=True) and all(-1.0 <= x <= 1.0 for x in sims)
        assert "government" not in [w for w, _ in rows]
    r = run(["similar", "snap", "qqqqzzzz"], snapshot_dir)
    assert r.returncode == 1 and b"not in the vocabulary" in r.stderr


def test_evaluate_on_tiny_data(snapshot_dir):
    d = snapshot_dir
    (d / "ws.tsv").write_text("government\tminister\t8\ngovernment\tcricket\t1\npolice\tfire\t5\nzz\tyy\t3\n")
    (d / "sl.txt").write_text("# comment\nsaid\tsays\t9\npeople\tsaid\t2\nfire\tpolice\t4\n")
    (d / "an.txt").write_text(": x\nsaid says said says\nfire police fire police\nzz yy xx ww\n")
    args = ["evaluate", "snap", "--wordsim", "ws.tsv", "--simlex", "sl.txt", "--analogies", "an.txt"]
    r = run(args, d)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode().splitlines()
    assert [line.split()[0] for line in out] == ["vocabulary", "WS-353", "SimLex-999", "Google"]
    assert "(3 pairs, 1 OOV)" in out[1] and "(3 pairs, 0 OOV)" in out[2] and "1 skipped" in out[3]
    r = run([*args, "--json"], d)
    res = json.loads(r.stdout)
    assert res["wordsim353"]["pairs"] == 3 and res["analogies"]["questions"] == 2


# ---------------------------------------------------------------- hostile input
def test_hostile_stdin(tmp_path):
    rng = np.random.default_rng(0)
    parts = [
        b"normal words in a normal line\n",
        rng.integers(0, 256, 1_000_000, dtype=np.uint8).tobytes(),
        b"\n\x00\x00\x00 nul \x00 bytes\x00\n",
        b"invalid \xff\xfe utf-8 \xc3\x28 \xed\xa0\x80 here\n",
        b"\r\n\t\x0b\x0c\x1b\x7f\n",
        b"\n\n\n",
        ("caf\u00e9 \u212aelvin \U0001f600 ünïcode\x01\n").encode(),
        b" ".join([b"ten", b"megabyte", b"line", b"of", b"words"] * 420_000) + b"\n",
        b"no final newline",
    ]
    data = b"".join(parts)
    r = run(["train", "--output", "out.txt", "--max-vocab", "20000", *FAST], tmp_path, input=data)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-3000:]
    s = summary_of(r.stderr)
    want = expected_counts(data)
    for k, v in want.items():
        assert s[k] == v, (k, s[k], v)
    assert s["invalid_utf8"] > 100_000 and s["control_bytes"] > 10_000 and s["empty_lines"] >= 4
    assert s["split_lines"] >= 2_100_000 // 10_000 - 1
    assert s["source"]["bytes"] == len(data)
    from streamsgns.io.word2vec import load_word2vec_format

    words, V = load_word2vec_format(tmp_path / "out.txt")
    assert np.isfinite(V).all() and len(words) == s["vocab_size"] <= 20000
