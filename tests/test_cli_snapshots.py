"""Every command that reads a SNAPSHOT reads every kind of snapshot ``train`` writes, and reads them alike.

A model is trained by ``streamsgns train --snapshot-dir`` on the Lee corpus; its newest snapshot is
then given to ``similar``, ``evaluate``, ``pmi`` and ``drift`` as a word2vec text file, a word2vec
binary file, a checkpoint and the snapshot directory. The answers must be the same whatever the
form (``pmi`` needs a checkpoint: the two vectors files are refused in one line). A directory whose
newest checkpoint is corrupt falls back to the newest snapshot that opens.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from helpers_core import lee_path
from streamsgns import SGNS
from streamsgns.cli import main
from streamsgns.io.snapshotter import list_checkpoints

FAST = ["--vector-size", "12", "--min-count", "2", "--cooc-top-n", "200", "--quiet"]
KINDS = ["text", "binary", "checkpoint", "directory"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("snapshots")
    with open(lee_path(), "rb") as f:
        lee = f.read()
    r = subprocess.run([sys.executable, "-m", "streamsgns", "train", "--snapshot-dir", str(d / "snap"),
                        "--snapshot-every", "40000w", "--keep", "5", *FAST], input=lee * 2, capture_output=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    ckpts = list_checkpoints(d / "snap")
    assert len(ckpts) >= 2
    newest = ckpts[-1]
    # the binary form of the same snapshot, by the learner's own writer
    SGNS.load(newest).save_word2vec_format(d / "newest.bin", binary=True)
    kinds = {"text": d / "snap" / newest.name.replace("ckpt-", "vectors-").replace(".npz", ".txt"),
             "binary": d / "newest.bin", "checkpoint": newest, "directory": d / "snap"}
    assert kinds["text"].is_file()
    eval_files = {"--wordsim": d / "ws.tsv", "--simlex": d / "sl.txt", "--analogies": d / "an.txt"}
    eval_files["--wordsim"].write_text("government\tminister\t8\ngovernment\tcricket\t1\npolice\tfire\t5\n"
                                       "people\tsaid\t2\n")
    eval_files["--simlex"].write_text("said\tsays\t9\npeople\tsaid\t2\nfire\tpolice\t4\n")
    eval_files["--analogies"].write_text(": x\nsaid says said says\nfire police fire police\n")
    return {"dir": d, "kinds": kinds, "older": ckpts[0], "eval": [str(a) for kv in eval_files.items() for a in kv]}


def cli(args, capsys):
    """``streamsgns ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # usage errors
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _same_for_every_kind(run_dir, capsys, make_args, kinds=KINDS):
    outs = {}
    for kind in kinds:
        code, out, err = cli(make_args(run_dir["kinds"][kind]), capsys)
        assert code == 0, (kind, err)
        assert out.strip(), kind
        outs[kind] = out
    assert len(set(outs.values())) == 1, outs
    return outs[kinds[0]]


def test_similar_reads_every_kind_alike(run_dir, capsys):
    out = _same_for_every_kind(run_dir, capsys, lambda s: ["similar", s, "government", "--topn", "5"])
    assert len(out.splitlines()) == 5


def test_evaluate_reads_every_kind_alike(run_dir, capsys):
    out = _same_for_every_kind(run_dir, capsys, lambda s: ["evaluate", s, *run_dir["eval"], "--json"])
    res = json.loads(out)
    assert res["wordsim353"]["pairs"] == 4 and res["analogies"]["questions"] == 2


def test_drift_reads_every_kind_alike(run_dir, capsys):
    older = run_dir["older"]
    rows = {}
    for kind in KINDS:
        code, out, err = cli(["drift", older, run_dir["kinds"][kind], "--top", "20", "--candidates", "200",
                              "--restrict-vocab", "500", "--json"], capsys)
        assert code == 0, (kind, err)
        rep = json.loads(out)
        if kind != "binary":  # the binary copy's name tells no token count
            assert rep["new"]["words_seen"] == SGNS.load(run_dir["kinds"]["checkpoint"]).words_seen
        rows[kind] = rep["rows"]
        assert len(rows[kind]) == 20
    assert all(rows[k] == rows["checkpoint"] for k in KINDS), {k: r[:2] for k, r in rows.items()}
    # the directory as the old snapshot too: nothing changed between a snapshot and itself
    code, out, err = cli(["drift", run_dir["kinds"]["directory"], run_dir["kinds"]["text"], "--json",
                          "--candidates", "100", "--restrict-vocab", "500"], capsys)
    assert code == 0, err
    assert all(r["change"] == 0.0 for r in json.loads(out)["rows"])


def test_pmi_reads_a_checkpoint_or_a_directory_and_refuses_vectors(run_dir, capsys):
    out = _same_for_every_kind(run_dir, capsys, lambda s: ["pmi", s, "--top", "100"],
                               kinds=["checkpoint", "directory"])
    assert "Spearman" in out
    for kind in ("text", "binary"):
        code, out, err = cli(["pmi", run_dir["kinds"][kind], "--top", "100"], capsys)
        assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, (kind, err)
        assert "not a checkpoint" in err and "co-occurrence statistics" in err, err


def test_a_directory_whose_newest_checkpoint_is_corrupt_falls_back(run_dir, capsys, tmp_path):
    snap = shutil.copytree(run_dir["kinds"]["directory"], tmp_path / "snap")
    ckpts = list_checkpoints(snap)
    data = ckpts[-1].read_bytes()
    ckpts[-1].write_bytes(data[: len(data) // 2])  # a checkpoint cut short
    # similar: the newest vectors file (same tokens as the cut checkpoint) answers as before
    want = cli(["similar", run_dir["kinds"]["checkpoint"], "government", "--topn", "5"], capsys)[1]
    code, out, err = cli(["similar", snap, "government", "--topn", "5"], capsys)
    assert code == 0 and out == want
    # pmi: only checkpoints count, so the one before the cut one answers
    code, out, err = cli(["pmi", snap, "--top", "100", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["checkpoint"] == str(ckpts[-2])
    # with no checkpoint at all, a directory of vectors files still serves similar and drift
    for p in list_checkpoints(snap):
        p.unlink()
    code, out, err = cli(["similar", snap, "government", "--topn", "5"], capsys)
    assert code == 0 and out == want
    code, out, err = cli(["pmi", snap], capsys)
    assert code == 1 and "no valid checkpoint in this directory" in err
