"""One model trained by 2 replicas (Ray actors on a local Ray) from a real Tansu broker.

``STREAMSGNS_RAY_KILLS`` (default 2) sets the number of ``kill -9`` of the recovery test.
A module-scoped local Ray (``ray.init(num_cpus=2)``) and a module-scoped broker; each test uses
its own topic of 4 partitions holding gensim's Lee corpus (one message a line). The accounting
invariant checked throughout: the merged model's ``words_seen`` equals the tokens of the messages
produced, the checkpoint stores every partition's end offset, and the group committed exactly those.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from streamsgns.io.checkpoint import read_manifest
from streamsgns.io.snapshotter import latest_checkpoint
from streamsgns.tokenize import tokenize
from streamsgns_tools.tansu import committed_offsets, create_topic, end_offsets, produce

ray = pytest.importorskip("ray", reason="the ray extra is part of the test install (pip install .[ray])")

pytestmark = pytest.mark.kafka

MODEL = dict(vector_size=32, min_count=2, sketch_width=1 << 16, seed=1)
BULK = {"linger_ms": 50, "batch_size": 1 << 20}


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def lee():
    from gensim.test.utils import datapath

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip()]


def _topic(broker, name, lines):
    create_topic(broker.bootstrap, name, partitions=4)
    produce(broker.bootstrap, name, lines, partition=[0, 1, 2, 3], **BULK)
    return sum(len(tokenize(ln)) for ln in lines)


def _job(broker, topic, tmp_path, **kw):
    from streamsgns.distributed import ReplicaJob

    args = dict(replicas=2, sync_tokens=15_000, idle_timeout=1.5, snapshot_dir=tmp_path / "run",
                snapshot_every="40000w", vectors=False, **MODEL)
    args.update(kw)
    return ReplicaJob(f"kafka://{broker.bootstrap}/{topic}?group=g-{topic}", **args)


def _check_accounting(broker, topic, tmp_path, model, produced):
    assert model.words_seen == produced
    assert np.isfinite(model.W).all() and np.isfinite(model.C).all()
    ends = end_offsets(broker.bootstrap, topic)
    ck = latest_checkpoint(tmp_path / "run")
    man = read_manifest(ck)
    assert man["words_seen"] == produced
    assert man["position"] == {"kafka": ends}
    got = committed_offsets(broker.bootstrap, f"g-{topic}", topic, range(4))
    assert got == ends


def test_two_replicas_count_every_token_once(ray_local, broker, lee, tmp_path):
    produced = _topic(broker, "two", lee * 2)
    job = _job(broker, "two", tmp_path)
    model = job.run()
    _check_accounting(broker, "two", tmp_path, model, produced)
    assert len(job.history) >= 4  # several syncs, each merging both replicas
    busy = [h for h in job.history if h["tokens"]]
    assert all(min(h["tokens_per_replica"]) > 0 for h in busy[:2])
    assert model.vocab_size > 3000  # (the merge's quality is tested without Ray: test_replicas_merge.py)


def test_gain_rule_on_ray_with_forgetting_and_change_detection(ray_local, broker, lee, tmp_path):
    """``rows="gain"`` on Ray: every replica takes evidence-aware steps (scale K = 2) after its load and
    after each in-place apply; with a half-life and change detection, the decay steps and checks the
    merge actor takes at a round boundary are taken by every replica too: each replica's base equals the
    merge actor's merged state of the round before, bit for bit (a digest of every array but the change
    records' neighbour lists); the accounting stays exact."""
    produced = _topic(broker, "gain", lee)
    seen = []

    def digest(state):  # runs inside the actors (a closure: shipped by value)
        import hashlib

        h = hashlib.sha256()

        def walk(x, path):
            if isinstance(x, dict):
                for k in sorted(x):
                    if path + "." + k != ".change_log":
                        walk(x[k], path + "." + k)
            elif isinstance(x, np.ndarray):
                h.update(path.encode() + np.ascontiguousarray(x).tobytes())
            else:
                h.update(f"{path}={x!r}".encode())

        walk(state, "")
        return h.hexdigest()

    def on_round(job, info):
        merged = ray.get(job._merger.__ray_call__.remote(
            lambda m: (digest(m.base), m.model.progress()["decay_steps"], int(m.model.detect.meta[0]["checks"]))))
        reps = ray.get([a.__ray_call__.remote(
            lambda r: (digest(r.base), float(r.model._trainer.cfg.evidence_scale), r.model._round_steps_deferred))
            for a in job._actors])
        seen.append((merged, reps))

    job = _job(broker, "gain", tmp_path, rows="gain", sync_tokens=6_000, on_round=on_round, half_life=60_000,
               detect_changes=True, change_every=8_000)
    model = job.run()
    _check_accounting(broker, "gain", tmp_path, model, produced)
    assert job.rows == "gain" and len(seen) >= 3
    for (prev, _), (_, reps) in zip(seen, seen[1:]):
        for d, scale, deferred in reps:
            assert d == prev[0] and scale == 2.0 and deferred  # the last merged state, steps included
    assert seen[-1][0][1] >= 2 and seen[-1][0][2] >= 2  # decay steps and checks were taken on the way
    assert model.progress()["decay_steps"] == seen[-1][0][1]


@pytest.mark.parametrize("wire", [{}, {"delta_fp16": True, "rare_below": 50}, {"overlap": True}],
                         ids=["fp32", "fp16_tiers", "overlap"])
def test_killed_replica_is_replaced_and_nothing_is_lost_or_counted_twice(ray_local, broker, lee, tmp_path, wire):
    """Also with encoded deltas (a rollback drops the replicas' residuals, never a count) and with the
    exchange overlapped (a replica killed while it trains on, its previous delta being merged)."""
    kills_wanted = int(os.environ.get("STREAMSGNS_RAY_KILLS", "2"))  # more: STREAMSGNS_RAY_KILLS=6
    topic = "kill" + ("-" + "-".join(sorted(wire)) if wire else "")
    produced = _topic(broker, topic, lee * (1 + kills_wanted))
    kills = []

    def on_round(job, info):
        # kill -9 a replica's worker while the next round runs (every third round, alternating replicas)
        if info["round"] % 3 == 2 and len(kills) < kills_wanted:
            pid = job.pids()[len(kills) % 2]
            kills.append(pid)
            threading.Timer(0.05, os.kill, (pid, signal.SIGKILL)).start()

    job = _job(broker, topic, tmp_path, sync_tokens=10_000, on_round=on_round, **wire)
    model = job.run()
    assert len(kills) == kills_wanted
    assert job.restarts == kills_wanted
    _check_accounting(broker, topic, tmp_path, model, produced)
    if wire.get("overlap"):  # the replicas took every merged update late, none waited before training
        assert job.sync["rounds"] >= 2 and job.sync["fetch_s"] <= job.sync["wait_s"]
        assert sum(h["load_s"][0] > 0 for h in job.history) >= 1


@pytest.mark.parametrize("overlap", [False, True], ids=["plain", "overlap"])
def test_resume_the_whole_job_from_its_checkpoint(ray_local, broker, lee, tmp_path, overlap):
    topic = "resume" + ("-overlap" if overlap else "")
    first = lee[:150]
    produced = _topic(broker, topic, first)
    m1 = _job(broker, topic, tmp_path, overlap=overlap).run()
    assert m1.words_seen == produced
    rest = lee[150:] * 2
    produced += sum(len(tokenize(ln)) for ln in rest)
    produce(broker.bootstrap, topic, rest, partition=[0, 1, 2, 3], **BULK)
    job = _job(broker, topic, tmp_path, resume=True, overlap=overlap)
    model = job.run()
    assert job.history[0]["words_seen"] > m1.words_seen  # continued, not restarted
    _check_accounting(broker, topic, tmp_path, model, produced)


def test_cli_train_replicas_on_the_running_ray(ray_local, broker, lee, tmp_path):
    import json
    import subprocess
    import sys

    produced = _topic(broker, "cli", lee)
    address = ray_local.get_runtime_context().gcs_address
    out = tmp_path / "vectors.txt"
    cmd = [sys.executable, "-m", "streamsgns", "train", "--input", f"kafka://{broker.bootstrap}/cli",
           "--group", "g-cli", "--replicas", "2", "--ray-address", address, "--sync-tokens", "15000",
           "--idle-timeout", "1.5", "--snapshot-dir", str(tmp_path / "run"), "--snapshot-every", "40000w",
           "--output", str(out), "--summary", "--quiet", "--vector-size", "32", "--min-count", "2",
           "--sketch-width", str(1 << 16), "--delta-fp16", "--rare-below", "20"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    summary = json.loads(p.stderr.strip().splitlines()[-1])
    assert summary["words_seen"] == produced and summary["replicas"] == 2
    sync = summary["sync"]
    assert sync["rounds"] >= 2 and sync["bytes_up"] > 0 and sync["driver_bytes"] == 0
    assert out.read_text(encoding="utf-8").split()[1] == "32"
    ck = latest_checkpoint(tmp_path / "run")
    assert read_manifest(ck)["position"] == {"kafka": end_offsets(broker.bootstrap, "cli")}
    assert committed_offsets(broker.bootstrap, "g-cli", "cli", range(4)) == end_offsets(broker.bootstrap, "cli")


def test_cli_train_replicas_overlapped_reports_the_wait(ray_local, broker, lee, tmp_path):
    import json
    import subprocess
    import sys

    produced = _topic(broker, "cli-overlap", lee * 2)
    address = ray_local.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "streamsgns", "train", "--input", f"kafka://{broker.bootstrap}/cli-overlap",
           "--group", "g-cli-overlap", "--replicas", "2", "--ray-address", address, "--sync-tokens", "10000",
           "--idle-timeout", "1.5", "--snapshot-dir", str(tmp_path / "run"), "--snapshot-every", "30000w",
           "--summary", "--quiet", "--vector-size", "32", "--min-count", "2", "--sketch-width", str(1 << 16),
           "--overlap"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    summary = json.loads(p.stderr.strip().splitlines()[-1])
    assert summary["words_seen"] == produced and summary["restarts"] == 0
    sync = summary["sync"]
    assert sync["rounds"] >= 4 and sync["driver_bytes"] == 0 and sync["train_s"] > 0
    assert 0 <= sync["fetch_s"] <= sync["wait_s"]  # the wait for merges is reported, as a part of wait_s
    ck = latest_checkpoint(tmp_path / "run")
    assert read_manifest(ck)["position"] == {"kafka": end_offsets(broker.bootstrap, "cli-overlap")}
    assert committed_offsets(broker.bootstrap, "g-cli-overlap", "cli-overlap", range(4)) == \
        end_offsets(broker.bootstrap, "cli-overlap")


def test_cli_refuses_replicas_without_kafka(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "in.txt"
    f.write_text("a b c\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "streamsgns", "train", "--input", str(f), "--replicas", "2"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--replicas needs --input kafka://" in p.stderr


def test_the_single_process_path_never_imports_ray():
    import subprocess
    import sys

    code = ("import sys, streamsgns, streamsgns.cli.train, streamsgns.distributed; from streamsgns import SGNS; "
            "m = SGNS(min_count=1); m.learn_one('a b c'); assert 'ray' not in sys.modules, 'ray imported'")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_cli_refuses_another_runs_directory_before_touching_ray_or_kafka(tmp_path):
    import subprocess
    import sys

    from streamsgns import SGNS
    from streamsgns.io.snapshotter import Snapshotter

    m = SGNS(min_count=1, track_cooc=False, sketch_width=1 << 12)
    m.learn_one("a b c")
    with Snapshotter(tmp_path / "run") as snap:
        snap.snapshot(m)
    cmd = [sys.executable, "-m", "streamsgns", "train", "--input", "kafka://127.0.0.1:1/t", "--replicas", "2",
           "--snapshot-dir", str(tmp_path / "run"), "--quiet"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "checkpoint(s) of another run" in p.stderr, p.stderr[-1000:]
