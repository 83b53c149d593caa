"""Issue 11 through the real command (``python -m streamsgns train`` in a subprocess): two trainers on one
snapshot directory (11.1), resumed inputs (11.2), a full disk (11.4), inputs (11.7), usage errors
(11.9), permissions (11.10); and issue 7's CLI defaults taken from ``SGNS``'s signature."""

from __future__ import annotations

import inspect
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest

from helpers_core import lee_path
from streamsgns.io.checkpoint import read_manifest
from streamsgns.io.snapshotter import latest_checkpoint, list_checkpoints, run_id_of
from streamsgns.io.word2vec import load_word2vec_format
from streamsgns.tokenize import tokenize

FAST = ["--vector-size", "8", "--min-count", "2", "--cooc-top-n", "50", "--quiet",
        "--summary"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    return env


def _cmd(*args):
    return [sys.executable, "-m", "streamsgns", *map(str, args)]


def run(args, cwd, input=None, timeout=240, **kw):
    return subprocess.run(_cmd(*args), input=input, capture_output=True, cwd=cwd, timeout=timeout, env=_env(), **kw)


def _summary(stderr: bytes) -> dict:
    import json

    for line in reversed(stderr.decode("utf-8", "replace").splitlines()):
        if line.startswith("{") and line.endswith("}"):
            return json.loads(line)
    raise AssertionError(stderr.decode("utf-8", "replace")[-2000:])


def _one_line_error(r, *needles):
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode not in (0, None), err
    assert "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


@pytest.fixture(scope="module")
def lee():
    with open(lee_path(), "rb") as f:
        return f.read()


# ---------------------------------------------------------------- 11.1 one --snapshot-dir, one trainer
def test_second_trainer_is_refused_and_the_first_finishes(tmp_path, lee):
    a = subprocess.Popen(_cmd("train", "--snapshot-dir", "snap", "--snapshot-every", "2000w", "--output", "a.txt",
                              *FAST), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         cwd=tmp_path, env=_env())
    try:
        a.stdin.write(lee[:30000])
        a.stdin.flush()
        t0 = time.monotonic()
        while not list_checkpoints(tmp_path / "snap"):
            assert time.monotonic() - t0 < 120 and a.poll() is None
            time.sleep(0.1)
        (tmp_path / "snap" / ".ckpt-000000000099999.npz.x.tmp").write_bytes(b"a live trainer's temp file")
        b = run(["train", "--snapshot-dir", "snap", "--resume", *FAST], tmp_path, input=lee)
        _one_line_error(b, "in use by another trainer", f"pid {a.pid}")
        assert (tmp_path / "snap" / ".ckpt-000000000099999.npz.x.tmp").exists()
        a.stdin.write(lee[30000:])
        a.stdin.close()
        assert a.wait(timeout=120) == 0, a.stderr.read().decode()[-2000:]
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert load_word2vec_format(tmp_path / "a.txt")[0]


def test_lock_of_a_killed_trainer_is_released(tmp_path, lee):
    a = subprocess.Popen(_cmd("train", "--snapshot-dir", "snap", "--snapshot-every", "2000w", *FAST),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                         env=_env())
    a.stdin.write(lee[:30000])
    a.stdin.flush()
    t0 = time.monotonic()
    while not list_checkpoints(tmp_path / "snap") and time.monotonic() - t0 < 120:
        time.sleep(0.1)
    a.send_signal(signal.SIGKILL)
    a.wait()
    a.stdin.close()
    ck = latest_checkpoint(tmp_path / "snap")
    r = run(["train", "--snapshot-dir", "snap", "--resume", *FAST], tmp_path, input=lee)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert run_id_of(latest_checkpoint(tmp_path / "snap")) == run_id_of(ck)  # the same run goes on


def test_new_run_in_a_directory_of_another_run(tmp_path, lee):
    first = run(["train", "--snapshot-dir", "snap", "--snapshot-every", "5000w", *FAST], tmp_path, input=lee)
    assert first.returncode == 0
    old = list_checkpoints(tmp_path / "snap")
    old_run = run_id_of(old[-1])
    assert old_run and all(run_id_of(p) == old_run for p in old)
    latest = (tmp_path / "snap" / "vectors-latest.txt").read_bytes()
    # a new run without --resume: refused, nothing touched
    r = run(["train", "--snapshot-dir", "snap", *FAST], tmp_path, input=lee[:2000])
    _one_line_error(r, "another run", "--resume", "--overwrite")
    assert list_checkpoints(tmp_path / "snap") == old
    # an empty --resume run keeps the run and never empties vectors-latest
    r = run(["train", "--snapshot-dir", "snap", "--resume", *FAST], tmp_path, input=b"")
    assert r.returncode == 0 and (tmp_path / "snap" / "vectors-latest.txt").read_bytes() == latest
    # --overwrite: the old run's files go, the new run's stay (even though its words_seen are smaller)
    r = run(["train", "--snapshot-dir", "snap", "--overwrite", "--snapshot-every", "1000w", *FAST], tmp_path,
            input=lee[:20000])
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    new = list_checkpoints(tmp_path / "snap")
    assert new and not set(new) & set(old)
    assert {run_id_of(p) for p in new} == {_summary(r.stderr)["snapshots"]["run_id"]} != {old_run}
    # a later --resume continues the new run
    r = run(["train", "--snapshot-dir", "snap", "--resume", *FAST], tmp_path, input=lee[:20000] + lee[20000:30000])
    assert r.returncode == 0
    assert run_id_of(latest_checkpoint(tmp_path / "snap")) == run_id_of(new[-1])


# ---------------------------------------------------------------- 11.2 --resume with another input
def test_resume_with_another_file_is_refused_or_restarted(tmp_path, lee):
    day1 = lee[: lee.index(b"\n", 20000) + 1]
    day2 = lee[len(day1):]
    (tmp_path / "day1.txt").write_bytes(day1)
    (tmp_path / "day2.txt").write_bytes(day2)
    r1 = run(["train", "--snapshot-dir", "snap", "--input", "day1.txt", *FAST], tmp_path)
    assert r1.returncode == 0
    w1 = _summary(r1.stderr)["words_seen"]
    r = run(["train", "--snapshot-dir", "snap", "--resume", "--input", "day2.txt", *FAST], tmp_path)
    _one_line_error(r, "day2.txt", "--input-changed restart")
    r = run(["train", "--snapshot-dir", "snap", "--resume", "--input", "day2.txt", "--input-changed", "restart",
             *FAST], tmp_path)
    assert r.returncode == 0
    assert "INPUT CHANGED" in r.stderr.decode()
    w2 = run(["train", "--input", "day2.txt", *FAST], tmp_path)
    assert _summary(r.stderr)["words_seen"] == w1 + _summary(w2.stderr)["words_seen"]


def test_resume_after_an_append_learns_exactly_the_new_lines(tmp_path, lee):
    lee = lee.rstrip(b"\n") + b"\n"
    cut = lee.index(b"\n", 20000) + 1
    part = lee[:cut] + lee[cut:cut + 500]  # ends inside a line, in the middle of a word, as a writer would leave it
    (tmp_path / "log.txt").write_bytes(part)
    r = run(["train", "--snapshot-dir", "snap", "--input", "log.txt", *FAST], tmp_path)
    assert r.returncode == 0
    (tmp_path / "log.txt").write_bytes(lee)  # the writer goes on
    r = run(["train", "--snapshot-dir", "snap", "--resume", "--input", "log.txt", "--output", "v.txt", *FAST],
            tmp_path)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    pos = read_manifest(latest_checkpoint(tmp_path / "snap"))["position"]["files"]
    assert pos["offset"] == len(lee) and "partial" not in pos
    # the unterminated line was learnt at the end of the first run, and is read again whole on resume:
    # every token of the file once, plus the tokens of that cut line once more; no fragment of the
    # cut word is read as a word of its own on resume
    tail = lee[cut:cut + 500].decode()
    assert _summary(r.stderr)["words_seen"] == len(tokenize(lee.decode())) + len(tokenize(tail))


# ---------------------------------------------------------------- 11.4 full disk under --snapshot-dir
def _limit_file_size(limit):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@pytest.fixture(params=["tmpfs", "rlimit"])
def small_disk(request, tmp_path):
    """A snapshot directory where checkpoints (≈1.5 MB) cannot be written, and a subprocess option."""
    d = tmp_path / "snap"
    d.mkdir()
    if request.param == "tmpfs":
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", f"tmpfs-{uuid.uuid4().hex[:8]}", str(d)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        try:
            yield d, {}, "No space left on device"
        finally:
            subprocess.run(["umount", str(d)], check=False)
    else:
        yield d, {"preexec_fn": _limit_file_size(1 << 20)}, "File too large"


def test_full_disk_snapshot_errors_training_goes_on_output_written(tmp_path, lee, small_disk):
    d, kw, cause = small_disk
    r = run(["train", "--snapshot-dir", d, "--snapshot-every", "5000w", "--output", "final.txt", *FAST],
            tmp_path, input=lee, **kw)
    err = r.stderr.decode()
    assert r.returncode == 3, err[-3000:]
    assert "Traceback" not in err
    fails = [line for line in err.splitlines() if "snapshot failed: cannot write" in line]
    # one line per attempt (at chunk ends past every 5000 tokens, and the final one), naming the file and the cause
    assert len(fails) >= 2 and all(str(d) in f and cause in f for f in fails)
    assert _summary(r.stderr)["snapshots"]["failed"] == len(fails)
    words_out, V = load_word2vec_format(tmp_path / "final.txt")
    assert len(words_out) == _summary(r.stderr)["vocab_size"] and np.isfinite(V).all()
    for p in d.glob("vectors-*"):  # no vectors without their checkpoint
        stem = p.name[len("vectors-"):].split(".")[0]
        assert (d / f"ckpt-{stem}.npz").exists()
    assert not list(d.glob(".*.tmp"))


# ---------------------------------------------------------------- 11.7 inputs
def test_named_pipe_and_dev_fd_inputs(tmp_path, lee):
    data = lee[:20000]
    ref = run(["train", *FAST], tmp_path, input=data)
    want = _summary(ref.stderr)["words_seen"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed():
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except BrokenPipeError:  # the trainer refused the pipe (see below)
            pass

    t = threading.Thread(target=feed)
    t.start()
    r = run(["train", "--input", "fifo", *FAST], tmp_path)
    if t.is_alive():  # the trainer never opened the pipe: unblock the writer, then fail below
        open(fifo, "rb").close()
    t.join()
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert _summary(r.stderr)["words_seen"] == want
    rfd, wfd = os.pipe()  # what --input <(cmd) passes: /dev/fd/N

    def feed_fd():
        try:
            with os.fdopen(wfd, "wb") as f:
                f.write(data)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=feed_fd)
    t.start()
    try:
        r = run(["train", "--input", f"/dev/fd/{rfd}", *FAST], tmp_path, pass_fds=(rfd,))
    finally:
        os.close(rfd)  # the writer gets EPIPE if the trainer did not read everything
        t.join()
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert _summary(r.stderr)["words_seen"] == want


def test_closed_stdin_is_a_clear_error(tmp_path):
    r = subprocess.run(_cmd("train", *FAST), stdin=None, capture_output=True, cwd=tmp_path, env=_env(),
                       preexec_fn=lambda: os.close(0), timeout=120)
    _one_line_error(r, "standard input is closed")


def test_utf16_input_with_bom_is_read(tmp_path, lee):
    data = lee[:20000]
    want = _summary(run(["train", *FAST], tmp_path, input=data).stderr)["words_seen"]
    assert want > 2000
    (tmp_path / "in16.txt").write_bytes(data.decode().encode("utf-16"))  # BOM + UTF-16 LE
    r = run(["train", "--input", "in16.txt", *FAST], tmp_path)
    assert r.returncode == 0 and _summary(r.stderr)["words_seen"] == want
    r = run(["train", *FAST], tmp_path, input=data.decode().encode("utf-16-be").join([b"\xfe\xff", b""]))
    assert _summary(r.stderr)["words_seen"] == want


def test_latin1_input_warns_and_reads_with_the_option(tmp_path):
    text = ("le café de la gare où il a mangé une crème brûlée très sucrée\n" * 200).encode("latin-1")
    (tmp_path / "fr.txt").write_bytes(text)
    r = run(["train", "--input", "fr.txt", "--output", "a.txt", *FAST], tmp_path)
    assert r.returncode == 0 and "--encoding latin-1" in r.stderr.decode()
    r = run(["train", "--input", "fr.txt", "--encoding", "latin-1", "--output", "b.txt", *FAST], tmp_path)
    assert r.returncode == 0 and "--encoding" not in r.stderr.decode()
    words, _ = load_word2vec_format(tmp_path / "b.txt")
    assert {"café", "brûlée", "où"} <= set(words)
    r = run(["train", "--encoding", "klingon", *FAST], tmp_path, input=b"")
    assert r.returncode == 2


# ---------------------------------------------------------------- 11.9 usage errors
@pytest.mark.parametrize("bad", [["--keep", "0"], ["--workers", "0"], ["--snapshot-every", "junk"],
                                 ["--snapshot-every", "0s"], ["--vector-size", "-3"], ["--alpha", "nan"],
                                 ["--window", "two"], ["--min-alpha", "0.5", "--alpha", "0.1"]])
def test_bad_option_values_are_usage_errors(tmp_path, bad):
    r = run(["train", "--snapshot-dir", "snap", *bad, *FAST], tmp_path, input=b"aa bb\n", timeout=120)
    assert r.returncode == 2, r.stderr.decode()
    assert b"usage:" in r.stderr and b"Traceback" not in r.stderr


def test_train_input_errors_are_one_line(tmp_path):
    _one_line_error(run(["train", "--input", "missing.txt", *FAST], tmp_path), "missing.txt")
    (tmp_path / "adir").mkdir()
    _one_line_error(run(["train", "--input", "adir", *FAST], tmp_path), "directory")
    (tmp_path / "empty.txt").write_bytes(b"")
    r = run(["train", "--input", "empty.txt", "--output", "v.txt", *FAST], tmp_path)
    assert r.returncode == 0 and load_word2vec_format(tmp_path / "v.txt")[0] == []


# ---------------------------------------------------------------- 11.10 permissions
def test_outputs_follow_the_umask_and_keep_the_mode_they_replace(tmp_path, lee):
    def umask(m):
        return lambda: os.umask(m)

    r = run(["train", "--snapshot-dir", "snap", "--output", "v.txt", *FAST], tmp_path, input=lee[:5000],
            preexec_fn=umask(0o022))
    assert r.returncode == 0
    for p in [tmp_path / "v.txt", *(tmp_path / "snap").glob("*.npz"), *(tmp_path / "snap").glob("vectors-*")]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
    r = run(["train", "--output", "v.txt", *FAST], tmp_path, input=lee[:5000], preexec_fn=umask(0o077))
    assert stat.S_IMODE((tmp_path / "v.txt").stat().st_mode) == 0o644  # readers of the old file keep reading


# ---------------------------------------------------------------- issue 7: defaults from SGNS's signature
def test_cli_model_defaults_are_sgns_defaults():
    from streamsgns import SGNS
    from streamsgns.cli import build_parser
    from streamsgns.cli.train import MODEL_OPTIONS

    args = build_parser().parse_args(["train"])
    sig = inspect.signature(SGNS.__init__).parameters
    assert MODEL_OPTIONS and all(getattr(args, dest) == sig[dest].default for _, dest, _, _ in MODEL_OPTIONS)


@pytest.mark.parametrize("argv", [["evaluate", "v.txt", "--restrict-vocab", "0"], ["pmi", "snap", "--top", "0"],
                                  ["pmi", "snap", "--svd-dim", "-1"], ["similar", "v.txt", "w", "--topn", "junk"]])
def test_query_bad_values_are_usage_errors(argv, capsys):
    from streamsgns.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "usage:" in capsys.readouterr().err
