"""``--snapshot-dir s3://BUCKET/PREFIX`` on moto's S3 server: the guarantees of a directory in a bucket.

No mocks: a real moto server process on 127.0.0.1 (``streamsgns_tools.tansu.MotoS3Server``), reached
by s3fs over HTTP exactly as AWS would be; the Kafka test adds a real Tansu broker and ``kill -9``.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time

import pytest

from streamsgns_tools.tansu import MotoS3Server, committed_offsets, create_topic, end_offsets, moto_server_command


@pytest.fixture
def s3(tmp_path, monkeypatch):
    """A moto S3 server with bucket ``snaps``; the AWS settings of this process (and its children) point at it."""
    if moto_server_command() is None:
        pytest.skip("moto's S3 server is not installed: pip install 'moto[server]'")
    pytest.importorskip("s3fs")
    with MotoS3Server(bucket="snaps", log_dir=tmp_path / "moto") as server:
        for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                     "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint}.items():
            monkeypatch.setenv(k, v)
        yield server


def small_model(sentences: int = 50):
    from streamsgns import SGNS

    m = SGNS(vector_size=8, min_count=1, seed=1)
    m.learn_many(["the quick brown fox jumps over the lazy dog"] * sentences)
    m.flush()
    return m


def names(url: str) -> list[str]:
    from streamsgns.io.objectstore import open_store

    fs, root = open_store(url)
    fs.invalidate_cache(root)
    return sorted(p.rsplit("/", 1)[-1] for p in fs.ls(root, detail=False))


def test_one_trainer_per_prefix_keep_last_k_and_resume_from_the_newest(s3):
    from streamsgns.io.snapshotter import (RemoteSnapshotter, SnapshotDirLocked, Snapshotter, latest_checkpoint,
                                           list_checkpoints, run_id_of)

    url = "s3://snaps/runs/a"
    m = small_model()
    snap = Snapshotter(url, keep=2)
    assert isinstance(snap, RemoteSnapshotter)
    try:
        with pytest.raises(SnapshotDirLocked, match="in use by another trainer"):
            Snapshotter(url)
        for i in range(4):
            m.learn_many(["the quick brown fox jumps over the lazy dog"] * 20)
            assert snap.snapshot(m, position={"kafka": {"t:0": i}}).startswith(url)
        ckpts = [p.name for p in list_checkpoints(url)]
        assert len(ckpts) == 2 and ckpts[-1] == f"ckpt-{m.words_seen:015d}.npz"
        assert ".lock" in names(url) and "vectors-latest.txt" in names(url)
        assert not [n for n in names(url) if n.endswith(".tmp")]
    finally:
        snap.close()
    assert ".lock" not in names(url)  # released
    from streamsgns import SGNS

    ck = latest_checkpoint(url, check=SGNS.load)
    assert ck.name == ckpts[-1] and run_id_of(ck) == snap.run_id
    resumed = SGNS.load(ck)
    assert resumed.words_seen == m.words_seen and resumed.source_position == {"kafka": {"t:0": 3}}


def test_a_newest_checkpoint_that_does_not_load_falls_back_to_the_one_before(s3):
    from streamsgns import SGNS
    from streamsgns.io.objectstore import open_store
    from streamsgns.io.snapshotter import Snapshotter, latest_checkpoint

    url = "s3://snaps/runs/b"
    m = small_model()
    with Snapshotter(url, keep=3) as snap:
        good = snap.snapshot(m)
    fs, root = open_store(url)
    fs.pipe_file(f"{root}/ckpt-{m.words_seen + 1000:015d}.npz", b"PK\x03\x04 not a checkpoint")
    skipped = []
    ck = latest_checkpoint(url, log_fn=skipped.append, check=SGNS.load)
    assert ck is not None and good.endswith(ck.name)
    assert len(skipped) == 1 and "skipping invalid checkpoint" in skipped[0]


def test_a_lease_left_by_a_dead_process_of_this_host_is_taken_over_and_a_live_one_is_not(s3):
    from streamsgns.io.objectstore import open_store
    from streamsgns.io.snapshotter import SnapshotDirLocked, Snapshotter

    url = "s3://snaps/runs/c"
    fs, root = open_store(url)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lease = {"owner": "x", "host": socket.gethostname(), "pid": dead.pid, "expires": time.time() + 3600}
    fs.pipe_file(f"{root}/.lock", json.dumps(lease).encode())
    with Snapshotter(url) as snap:  # the holder is gone: taken over at once
        assert json.loads(fs.cat_file(f"{root}/.lock"))["owner"] == snap.files.lease.owner
    lease.update(host="another-host", pid=1)  # alive elsewhere, lease not expired
    fs.pipe_file(f"{root}/.lock", json.dumps(lease).encode())
    with pytest.raises(SnapshotDirLocked, match="another-host"):
        Snapshotter(url)
    lease["expires"] = time.time() - 1  # expired: taken over
    fs.pipe_file(f"{root}/.lock", json.dumps(lease).encode())
    Snapshotter(url).close()


def test_a_holder_whose_lease_was_taken_writes_no_more_checkpoints(s3):
    from streamsgns.io.objectstore import open_store
    from streamsgns.io.snapshotter import SnapshotError, Snapshotter

    url = "s3://snaps/runs/d"
    fs, root = open_store(url)
    m = small_model()
    with Snapshotter(url) as snap:
        snap.snapshot(m)
        fs.pipe_file(f"{root}/.lock", b'{"owner": "someone else"}')  # another trainer's takeover
        assert snap.files.lease.renew() is False and snap.files.lease.lost
        with pytest.raises(SnapshotError, match="taken by another trainer"):
            snap.snapshot(m)
    assert json.loads(fs.cat_file(f"{root}/.lock")) == {"owner": "someone else"}  # not deleted at close


@pytest.mark.kafka
def test_kill_9_at_random_moments_with_snapshots_in_s3_loses_nothing(s3, kafka_broker, tmp_path):
    """The Kafka kill -9 test with ``--snapshot-dir s3://...``: the trainer is killed KILLS times at
    random moments while the topic is written, restarted with --resume each time (taking over the
    lease of its dead predecessor), then left to finish: the final words_seen equals the tokens in
    the topic, and the committed offsets are the final checkpoint's."""
    import test_kafka_cli as K
    from streamsgns.io.checkpoint import read_manifest
    from streamsgns.io.snapshotter import latest_checkpoint, list_checkpoints

    bs = kafka_broker.bootstrap
    values = K.kill_corpus(K.KILL_TOKENS)
    total = K.n_tokens(values)
    create_topic(bs, "kills", 3)
    snap = "s3://snaps/kill9"
    log = tmp_path / "train.log"
    url = f"kafka://{bs}/kills?assign=manual&max_chunk_bytes=16384"
    rng = random.Random(K.KILL_SEED)
    # later than the local test's kills: the trainer also imports s3fs and takes the lease
    # before it reads, and kills should land while it learns and uploads checkpoints
    delays = [rng.uniform(2.5, 7.0) for _ in range(K.KILLS)]
    streamer = K.Streamer(bs, "kills", values, 3, duration=sum(delays) / 2)
    report, tr = [], None
    try:
        streamer.start()
        for delay in delays:
            tr = K.Trainer(url, snap, log, resume=True).start()
            time.sleep(delay)
            assert tr.proc.poll() is None, f"trainer exited early:\n{tr.output()[-3000:]}"
            tr.kill()
            ck = latest_checkpoint(snap)
            report.append((round(delay, 2), read_manifest(ck)["words_seen"] if ck else 0))
        streamer.join(timeout=120)
        assert not streamer.is_alive() and streamer.error is None, streamer.error
        tr = K.Trainer(url, snap, log, resume=True, idle_timeout=3)
        assert tr.run(timeout=240) == 0, tr.output()[-3000:]
    finally:
        if tr is not None:
            tr.kill()
        streamer.join(timeout=30)
    ck = latest_checkpoint(snap)
    man = read_manifest(ck)
    ends = end_offsets(bs, "kills")
    print(f"\nkill -9 x{K.KILLS} with s3 snapshots over {len(values)} messages / {total} tokens: "
          f"(delay s, newest checkpoint words_seen) = {report}; final words_seen {man['words_seen']}; "
          f"{len(list_checkpoints(snap))} checkpoints kept")
    why = log.read_text(errors="replace")[-4000:]
    assert man["position"] == {"kafka": ends}, why
    assert man["words_seen"] == total, why
    assert committed_offsets(bs, "g", "kills", range(3)) == ends
    assert tr.summary()["words_seen"] == total
    assert len(list_checkpoints(snap)) <= 3  # keep-last-K (the default 3)
    assert ".lock" not in names(snap)  # the last trainer released its lease
