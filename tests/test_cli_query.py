"""``streamsgns similar / evaluate / pmi`` on bad snapshots: one line on stderr and exit 1, never a traceback.

Each case runs through the real command (``python -m streamsgns`` in a subprocess) and in-process
(``streamsgns.cli.main``), so that neither the exit path nor the library path can hide a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from streamsgns.cli import main
from streamsgns.io.word2vec import save_word2vec_format

WORDS = ["government", "minister", "police", "fire", "said", "says"]


def _run(args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-m", "streamsgns", *map(str, args)], capture_output=True, cwd=cwd,
                       timeout=120, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def _run_inprocess(args, capsys):
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(params=["subprocess", "inprocess"])
def run(request, tmp_path, capsys):
    if request.param == "subprocess":
        return lambda args: _run(args, tmp_path)
    return lambda args: _run_inprocess(args, capsys)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.txt"
    save_word2vec_format(good, WORDS, rng.normal(size=(len(WORDS), 4)).astype(np.float32))
    data = good.read_bytes()
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "emptydir").mkdir()
    bad = tmp_path / "baddir"
    bad.mkdir()
    (bad / "ckpt-000000000000100.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "junk.bin").write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    (tmp_path / "prose.txt").write_text("this is a plain text file\nnot vectors\n")
    cut = data.index(b"\n", data.index(b"\n") + 1) + 12  # inside the second row
    (tmp_path / "cut.txt").write_bytes(data[:cut])
    (tmp_path / "cut1.txt").write_bytes(data[: data.index(b"\n") + 1] + b"government 0.25 -")
    (tmp_path / "fake.npz").write_bytes(b"1 2\nab 0.1 0.2\n")
    return tmp_path


BAD = {
    "missing.txt": "no such file",
    "empty.txt": "empty",
    "emptydir": "no valid checkpoint",
    "baddir": "no valid checkpoint",
    "junk.bin": "word2vec",
    "prose.txt": "not a word2vec file",
    "cut.txt": "truncated",
    "cut1.txt": "truncated",
    "fake.npz": "not a streamsgns checkpoint",  # word2vec text under a checkpoint's name
}


def _one_line_error(code, out, err, needle):
    assert code == 1, (code, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("streamsgns")
    assert needle in lines[0], lines[0]
    assert out == ""


@pytest.mark.parametrize("name", sorted(BAD))
def test_similar_and_evaluate_fail_in_one_line(files, run, name):
    path = files / name
    _one_line_error(*run(["similar", path, "government"]), BAD[name])
    _one_line_error(*run(["evaluate", path]), BAD[name])


@pytest.mark.parametrize("name", ["missing.txt", "empty.txt", "emptydir", "baddir", "junk.bin", "fake.npz"])
def test_pmi_fails_in_one_line(files, run, name):
    needle = {"missing.txt": "no such file", "empty.txt": "not a checkpoint", "junk.bin": "not a checkpoint",
              "emptydir": "no valid checkpoint", "baddir": "no valid checkpoint",
              "fake.npz": "not a streamsgns checkpoint"}[name]
    _one_line_error(*run(["pmi", files / name]), needle)


def test_similar_never_lists_the_query_word(files, run):
    code, out, err = run(["similar", files / "good.txt", "Government", "--topn", "50"])
    assert code == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert [w for w, _ in rows] != [] and "government" not in [w for w, _ in rows]
    assert len(rows) == len(WORDS) - 1
    sims = [float(s) for _, s in rows]
    assert all(np.isfinite(sims)) and sims == sorted(sims, reverse=True)


def test_similar_topn_below_one_is_a_usage_error(files, run):
    code, out, err = run(["similar", files / "good.txt", "police", "--topn", "0"])
    assert code == 2 and "--topn" in err and "Traceback" not in err and out == ""


def test_evaluate_with_a_missing_or_useless_data_file(files, run):
    good = files / "good.txt"
    (files / "ws.tsv").write_text("government\tminister\t8\nzz\tyy\t3\n")  # one pair in the vocabulary
    (files / "sl.tsv").write_text("said\tsays\t9\npolice\tfire\t4\n")
    (files / "an.txt").write_text(": x\nsaid says police fire\n")
    _one_line_error(*run(["evaluate", good, "--wordsim", files / "nope.tsv", "--simlex", files / "sl.tsv",
                          "--analogies", files / "an.txt"]), "nope.tsv")
    _one_line_error(*run(["evaluate", good, "--wordsim", files / "ws.tsv", "--simlex", files / "sl.tsv",
                          "--analogies", files / "an.txt"]), "fewer than two pairs")
