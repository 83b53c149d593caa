"""``streamsgns train --input kafka://...`` end to end against a real Tansu broker.

No mocks: every test starts a Tansu broker (``kafka_broker`` fixture, or the
``persistent_kafka_broker`` one with ``s3://`` storage on a local moto S3
server), produces real text (gensim's Lee news corpus, one line per message)
or hostile bytes, runs ``python -m streamsgns train`` as a subprocess in its
own process group, and checks what the newest checkpoint says against what
was produced. Every process is stopped by the test that started it
(``try``/``finally``, SIGKILL to the process group).

The accounting invariant checked throughout: the newest checkpoint's
``words_seen`` equals the tokens (``streamsgns.tokenize.tokenize``) of exactly
the messages below the checkpoint's stored offsets, and the offsets the group
committed equal those of the final checkpoint.

Environment knobs of the kill -9 test (defaults keep the file short):

* ``STREAMSGNS_KAFKA_KILLS`` (default 6): number of ``kill -9``;
* ``STREAMSGNS_KAFKA_TOKENS`` (default 150000): tokens produced, the Lee
  corpus repeated (or the file of ``STREAMSGNS_KAFKA_CORPUS``, one message
  per line, cut at that many tokens);
* ``STREAMSGNS_KAFKA_SEED``: seed of the random kill delays.

The issue's manual check (20 kills over ~1M tokens)::

    STREAMSGNS_KAFKA_KILLS=20 STREAMSGNS_KAFKA_TOKENS=1000000 \\
        python -m pytest -s tests/test_kafka_cli.py -k kill
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from streamsgns_tools.tansu import committed_offsets, create_topic, end_offsets, free_port, produce
from streamsgns.io.checkpoint import read_manifest
from streamsgns.io.snapshotter import latest_checkpoint, list_checkpoints
from streamsgns.tokenize import decode, tokenize

pytestmark = pytest.mark.kafka

#: Settings of the trainer in every test: checkpoints every 5000 tokens.
SNAPSHOT_EVERY = "5000w"
#: Producer settings that send 10⁵ small messages in a few seconds.
BULK = {"linger_ms": 50, "batch_size": 1 << 20}


# ---------------------------------------------------------------- helpers
def lee_lines() -> list[str]:
    """The Lee corpus (gensim's test data), one non-empty line per item."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gensim is not installed (its test data holds the Lee corpus)")
    path = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data" / "lee_background.cor"
    if not path.is_file():
        pytest.skip(f"Lee corpus not found at {path}")
    return [ln for ln in path.read_text(encoding="utf-8").split("\n") if ln.strip()]


def n_tokens(values) -> int:
    """Tokens the learner sees in message values (``None``: a tombstone, no token)."""
    total = 0
    for v in values:
        if v is None:
            continue
        text = decode(v)[0] if isinstance(v, bytes) else v
        total += len(tokenize(text))
    return total


def tokens_below(values_by_partition: dict[int, list], position: dict, topic: str) -> int:
    """Tokens of the messages below ``position`` (offset = index in its partition)."""
    return sum(n_tokens(vals[: position.get(f"{topic}:{p}", 0)])
               for p, vals in values_by_partition.items())


def round_robin(values: list, partitions: int) -> dict[int, list]:
    """How ``produce(..., partition=range(partitions))`` spreads ``values``."""
    return {p: values[p::partitions] for p in range(partitions)}


def newest(snapdir) -> tuple[Path, dict]:
    """The newest valid checkpoint of ``snapdir`` and its manifest."""
    ck = latest_checkpoint(snapdir)
    assert ck is not None, f"no valid checkpoint in {snapdir}: {sorted(os.listdir(snapdir))}"
    return ck, read_manifest(ck)


def assert_finite(ck) -> None:
    """Load a checkpoint (checksums verified) and check W and C hold no NaN/inf."""
    from streamsgns import SGNS

    m = SGNS.load(ck)
    assert m.W.shape[0] == m.n_ids and m.n_ids > 0
    assert np.isfinite(m.W).all() and np.isfinite(m.C).all()
    m.close()


class Trainer:
    """One ``python -m streamsgns train`` process, in its own process group.

    Always ``--snapshot-every 5000w --summary --quiet``, with small vectors
    (``--vector-size 32 --min-count 2``) so that frequent checkpoints stay cheap.

    Parameters
    ----------
    url : str
        ``kafka://HOST:PORT/TOPIC[?...]``.
    snapdir : Path
        ``--snapshot-dir``.
    log : Path
        File receiving the process's stderr (appended).
    group : str or None
        ``--group``.
    idle_timeout : float or None
        ``--idle-timeout``; ``None``: run until stopped.
    resume : bool
        ``--resume``.
    extra : list of str
        More options.
    """

    def __init__(self, url, snapdir, log, group="g", idle_timeout=None, resume=False, extra=()):
        self.cmd = [sys.executable, "-m", "streamsgns", "train", "--input", url,
                    "--snapshot-dir", str(snapdir), "--snapshot-every", SNAPSHOT_EVERY,
                    "--summary", "--quiet", "--vector-size", "32", "--min-count", "2"]
        if group:
            self.cmd += ["--group", group]
        if idle_timeout is not None:
            self.cmd += ["--idle-timeout", str(idle_timeout)]
        if resume:
            self.cmd.append("--resume")
        self.cmd += list(extra)
        self.log = Path(log)
        self.proc: subprocess.Popen | None = None
        self._offset = 0

    def start(self) -> "Trainer":
        with open(self.log, "ab") as f:
            self._offset = f.tell()
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self, timeout: float) -> int:
        """Wait for the exit; kill the group and fail after ``timeout`` seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"streamsgns train did not end in {timeout} s:\n{self.output()[-3000:]}")

    def run(self, timeout: float = 90.0) -> int:
        return self.start().wait(timeout)

    def signal(self, sig) -> None:
        """Send ``sig`` to the trainer process itself."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (kill -9); idempotent."""
        if self.proc is None or self.proc.poll() is not None:
            return  # never signal a reaped pid's group: the id may be reused
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def output(self) -> str:
        """What this run wrote on stderr so far."""
        with open(self.log, "rb") as f:
            f.seek(self._offset)
            return f.read().decode("utf-8", "replace")

    def summary(self) -> dict:
        """The ``--summary`` JSON of this run."""
        for line in reversed(self.output().splitlines()):
            if line.startswith("{") and '"words_seen"' in line:
                return json.loads(line)
        raise AssertionError(f"no --summary line in:\n{self.output()[-3000:]}")


def wait_until(cond, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# ---------------------------------------------------------------- tests
def test_train_counts_every_token_and_commits_the_end(kafka_broker, tmp_path):
    """Lee corpus over 3 partitions, group subscription, --idle-timeout: exit 0,
    words_seen == tokens produced, committed offsets == end offsets."""
    bs = kafka_broker.bootstrap
    lee = lee_lines()
    create_topic(bs, "lee", 3)
    produce(bs, "lee", lee, partition=[0, 1, 2])
    snap = tmp_path / "snap"
    tr = Trainer(f"kafka://{bs}/lee", snap, tmp_path / "train.log", group="g", idle_timeout=3)
    try:
        assert tr.run(timeout=60) == 0, tr.output()[-3000:]
    finally:
        tr.kill()
    ck, man = newest(snap)
    ends = end_offsets(bs, "lee")
    assert ends == {"lee:0": 100, "lee:1": 100, "lee:2": 100}
    assert man["words_seen"] == n_tokens(lee) == 58442
    assert man["position"] == {"kafka": ends}
    assert committed_offsets(bs, "g", "lee", range(3)) == ends
    summary = tr.summary()
    assert summary["words_seen"] == man["words_seen"] and summary["lines"] == len(lee)
    assert summary["source"]["records"] == len(lee) and summary["source"]["commits"] >= 1
    assert_finite(ck)


def test_broker_unavailable_at_start_is_retried_with_a_log_line(tansu_binary, tmp_path):
    """The trainer starts before the broker: it logs the retries (even with
    --quiet), connects once the broker is up and trains everything."""
    from streamsgns_tools.tansu import TansuBroker

    port = free_port()
    bs = f"127.0.0.1:{port}"
    lee = lee_lines()[:60]
    broker = TansuBroker(port=port, log_dir=tmp_path / "tansu", binary=tansu_binary)
    tr = Trainer(f"kafka://{bs}/late?assign=manual", tmp_path / "snap", tmp_path / "train.log",
                 idle_timeout=3)
    try:
        tr.start()
        wait_until(lambda: "unavailable" in tr.output(), 20, "a 'broker unavailable' log line")
        broker.start()
        create_topic(bs, "late", 3)
        produce(bs, "late", lee, partition=[0, 1, 2])
        assert tr.wait(timeout=60) == 0, tr.output()[-3000:]
        out = tr.output()
        assert f"kafka: broker {bs} unavailable (NoBrokersAvailable), retrying in" in out
        assert "connected to" in out
        _, man = newest(tmp_path / "snap")
        assert man["words_seen"] == n_tokens(lee)
        assert committed_offsets(bs, "g", "late", range(3)) == man["position"]["kafka"]
    finally:
        tr.kill()
        broker.close()


KILLS = int(os.environ.get("STREAMSGNS_KAFKA_KILLS", "6"))
KILL_TOKENS = int(os.environ.get("STREAMSGNS_KAFKA_TOKENS", "150000"))
KILL_SEED = int(os.environ.get("STREAMSGNS_KAFKA_SEED", "20240917"))


def kill_corpus(target_tokens: int) -> list[str]:
    """Real text of about ``target_tokens`` tokens, one message per line:
    ``$STREAMSGNS_KAFKA_CORPUS`` if set, else the Lee corpus repeated."""
    path = os.environ.get("STREAMSGNS_KAFKA_CORPUS")
    source = ([ln for ln in Path(path).read_text(encoding="utf-8").split("\n") if ln.strip()]
              if path else lee_lines())
    out, total = [], 0
    while total < target_tokens:
        for ln in source:
            out.append(ln)
            total += len(tokenize(ln))
            if total >= target_tokens:
                break
    return out


class Streamer(threading.Thread):
    """Produce ``values`` round-robin over the partitions in small batches spread
    over ``duration`` seconds, so that the trainer is killed mid-stream."""

    def __init__(self, bootstrap, topic, values, partitions, duration):
        super().__init__(daemon=True)
        self.args = (bootstrap, topic, values, partitions, duration)
        self.error: BaseException | None = None
        self.sent = 0

    def run(self):
        from kafka import KafkaProducer

        bs, topic, values, partitions, duration = self.args
        steps = max(1, int(duration / 0.2))
        per = -(-len(values) // steps)
        producer = KafkaProducer(bootstrap_servers=bs, client_id="tests-streamer", acks=1,
                                 linger_ms=5, max_request_size=32 << 20)
        try:
            for start in range(0, len(values), per):
                for i in range(start, min(start + per, len(values))):
                    producer.send(topic, value=values[i].encode("utf-8"), partition=i % partitions)
                producer.flush(timeout=30)
                self.sent = min(start + per, len(values))
                time.sleep(0.2)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            producer.close(timeout=5)


def test_kill_9_at_random_moments_loses_nothing(kafka_broker, tmp_path):
    """kill -9 the trainer KILLS times at random moments while the topic is
    being written, restart it with --resume each time, then let it finish:
    the final words_seen equals the tokens in the topic exactly and the model
    holds no NaN/inf."""
    bs = kafka_broker.bootstrap
    values = kill_corpus(KILL_TOKENS)
    total = n_tokens(values)
    create_topic(bs, "kills", 3)
    snap = tmp_path / "snap"
    log = tmp_path / "train.log"
    # manual assignment (the group still gets the commits): a restarted group
    # member would wait ~12 s for the killed one to leave the group
    url = f"kafka://{bs}/kills?assign=manual&max_chunk_bytes=16384"
    rng = random.Random(KILL_SEED)
    delays = [rng.uniform(0.3, 3.0) for _ in range(KILLS)]
    # the topic is written during the first half of the kills: the trainer has
    # a backlog, so kills land while it learns and writes checkpoints too
    streamer = Streamer(bs, "kills", values, 3, duration=sum(delays) / 2)
    report, positions, stale = [], [], []
    tr = None
    try:
        streamer.start()
        for delay in delays:
            tr = Trainer(url, snap, log, resume=True).start()
            time.sleep(delay)
            assert tr.proc.poll() is None, f"trainer exited early:\n{tr.output()[-3000:]}"
            tr.kill()
            ck = latest_checkpoint(snap)
            report.append((round(delay, 2), read_manifest(ck)["words_seen"] if ck else 0))
            positions.append(read_manifest(ck)["position"] if ck else None)
        streamer.join(timeout=120)
        assert not streamer.is_alive() and streamer.error is None, streamer.error
        # temporary files of snapshots that a kill interrupted mid-write
        stale = [p.name for p in snap.iterdir() if p.name.endswith(".tmp")]
        tr = Trainer(url, snap, log, resume=True, idle_timeout=3)
        assert tr.run(timeout=180) == 0, tr.output()[-3000:]
    finally:
        if tr is not None:
            tr.kill()
        streamer.join(timeout=30)
    ck, man = newest(snap)
    ends = end_offsets(bs, "kills")
    print(f"\nkill -9 x{KILLS} over {len(values)} messages / {total} tokens: "
          f"(delay s, newest checkpoint words_seen) = {report}; "
          f"final words_seen {man['words_seen']}; {len(list_checkpoints(snap))} checkpoints kept; "
          f"{len(stale)} temporary files of interrupted snapshots")
    assert not [p for p in snap.iterdir() if p.name.endswith(".tmp")]  # removed at restart
    why = f"checkpoint positions after each kill: {positions}\n{log.read_text(errors='replace')[-4000:]}"
    assert man["position"] == {"kafka": ends}, why
    assert sum(ends.values()) == len(values)
    assert man["words_seen"] == total, why
    assert committed_offsets(bs, "g", "kills", range(3)) == ends
    assert tr.summary()["words_seen"] == total
    assert_finite(ck)
    from streamsgns import SGNS

    m = SGNS.load(ck)
    assert m.progress()["lines"] == len(values)  # every message learned exactly once
    m.close()


def test_corrupted_newest_checkpoint_falls_back_and_still_counts_exactly(kafka_broker, tmp_path):
    """The newest checkpoint is truncated after its offsets were committed: the
    trainer names the bad file, resumes from the previous valid checkpoint at
    *its* offsets (not the group's), and ends with every token counted once."""
    bs = kafka_broker.bootstrap
    lee = lee_lines()
    create_topic(bs, "corr", 3)
    produce(bs, "corr", lee[:150], partition=[0, 1, 2])
    snap = tmp_path / "snap"
    url = f"kafka://{bs}/corr?assign=manual&max_chunk_bytes=16384"
    tr = Trainer(url, snap, tmp_path / "train.log", idle_timeout=2)
    try:
        assert tr.run(timeout=60) == 0, tr.output()[-3000:]
        cks = list_checkpoints(snap)
        assert len(cks) >= 2
        bad = cks[-1]
        assert committed_offsets(bs, "g", "corr", range(3)) == read_manifest(bad)["position"]["kafka"]
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])  # truncated
        produce(bs, "corr", lee[150:], partition=[0, 1, 2])
        tr = Trainer(url, snap, tmp_path / "train.log", resume=True, idle_timeout=2)
        assert tr.run(timeout=60) == 0, tr.output()[-3000:]
    finally:
        tr.kill()
    out = tr.output()
    assert f"skipping invalid checkpoint: {bad}" in out
    _, man = newest(snap)
    assert man["words_seen"] == n_tokens(lee)
    assert man["position"] == {"kafka": end_offsets(bs, "corr")}


def _restart_mid_stream(broker, tmp_path, topic, recreate):
    """Produce part 1, train, restart the broker while the trainer runs,
    produce part 2; return (trainer, part 1, part 2)."""
    bs = broker.bootstrap
    lee = lee_lines()
    # part 2 has fewer messages per partition than part 1: on an emptied
    # (memory) broker the trainer's offsets are then past the end of the new log
    part1, part2 = lee[:150], lee[150:240]
    create_topic(bs, topic, 3)
    produce(bs, topic, part1, partition=[0, 1, 2])
    snap = tmp_path / "snap"
    tr = Trainer(f"kafka://{bs}/{topic}", snap, tmp_path / "train.log", idle_timeout=8)
    try:
        tr.start()

        def part1_checkpointed():
            ck = latest_checkpoint(snap)
            return ck is not None and read_manifest(ck)["words_seen"] == n_tokens(part1)

        wait_until(part1_checkpointed, 40, "a checkpoint covering part 1")
        broker.restart(down_for=2.0)
        if recreate:
            create_topic(bs, topic, 3)
        produce(bs, topic, part2, partition=[0, 1, 2])
        assert tr.wait(timeout=90) == 0, tr.output()[-3000:]
    finally:
        tr.kill()
    return tr, part1, part2


def test_persistent_broker_restart_mid_stream_loses_nothing(persistent_kafka_broker, tmp_path):
    """Durable storage (s3:// on moto): the broker is stopped while the trainer
    runs and started again; the trainer goes on by itself and ends with every
    token of both parts counted once, offsets committed to the end."""
    broker = persistent_kafka_broker
    tr, part1, part2 = _restart_mid_stream(broker, tmp_path, "dur", recreate=False)
    ck, man = newest(tmp_path / "snap")
    ends = end_offsets(broker.bootstrap, "dur")
    assert ends == {"dur:0": 80, "dur:1": 80, "dur:2": 80}
    assert man["words_seen"] == n_tokens(part1 + part2)
    assert man["position"] == {"kafka": ends}
    assert committed_offsets(broker.bootstrap, "g", "dur", range(3)) == ends
    assert tr.summary()["source"]["resets"] == 0
    assert_finite(ck)


def test_memory_broker_restart_is_survived(kafka_broker, tmp_path):
    """memory:// storage loses topics, records and offsets on restart (a Tansu
    limitation): the trainer must survive it, keep running, notice that its
    offsets are past the end of the recreated log, and train what is produced
    after the restart. Only that is asserted about part 2's offsets; the
    total is exact here because part 2 is shorter than part 1 per partition."""
    tr, part1, part2 = _restart_mid_stream(kafka_broker, tmp_path, "mem", recreate=True)
    ck, man = newest(tmp_path / "snap")
    summary = tr.summary()
    assert summary["source"]["resets"] == 3
    assert "past the end of the log" in tr.output()
    assert man["words_seen"] == n_tokens(part1) + n_tokens(part2)
    assert man["position"] == {"kafka": {"mem:0": 30, "mem:1": 30, "mem:2": 30}}
    assert committed_offsets(kafka_broker.bootstrap, "g", "mem", range(3)) == man["position"]["kafka"]
    assert_finite(ck)


def hostile_values(n: int, seed: int = 7) -> list:
    """``n`` hostile message values: random bytes, empty, NUL-filled, invalid
    UTF-8, control bytes, tombstones (None), and a bit of real text."""
    rng = random.Random(seed)
    lee = lee_lines()
    kinds = ["random", "empty", "newline", "nul", "invalid", "tombstone", "control", "text"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "random":
            out.append(rng.randbytes(rng.randint(1, 200)))
        elif kind == "empty":
            out.append(b"")
        elif kind == "newline":
            out.append(b"\n")
        elif kind == "nul":
            out.append(b"\x00" * rng.randint(1, 100))
        elif kind == "invalid":
            out.append(b"caf\xe9 \xff\xfe na\xc3ve \xed\xa0\x80 w\xf0\x9f\x98 end")
        elif kind == "tombstone":
            out.append(None)
        elif kind == "control":
            out.append(b"a\x01b\x1fc\x7fd \x1b[31mred\x1b[0m \r\n\x0c two words")
        else:
            out.append(lee[rng.randrange(len(lee))][:300].encode("utf-8"))
    return out


def test_hostile_messages_are_survived_and_counted(kafka_broker, tmp_path):
    """10⁵ hostile messages plus three 10 MB ones: exit 0, every skip counted
    in the --summary JSON, every token counted, no NaN/inf."""
    bs = kafka_broker.bootstrap
    create_topic(bs, "hostile", 3)
    values = hostile_values(100_000)
    rng = random.Random(11)
    big = [rng.randbytes(10 << 20),  # random bytes (invalid UTF-8, NULs, newlines, ...)
           b"\x00" * (10 << 20),  # NUL-filled
           b" -- ,.;:!? \t\r " * ((10 << 20) // 16)]  # one 10 MB line without a token
    produce(bs, "hostile", values, partition=[0, 1, 2], **BULK)
    produce(bs, "hostile", big, partition=[0, 1, 2])
    everything = values + big
    tr = Trainer(f"kafka://{bs}/hostile?assign=manual", tmp_path / "snap", tmp_path / "train.log",
                 idle_timeout=3, extra=["--snapshot-every", "1000000w"])
    try:
        assert tr.run(timeout=180) == 0, tr.output()[-3000:]
    finally:
        tr.kill()
    s = tr.summary()
    src = s["source"]
    tombstones = sum(v is None for v in everything)
    empty = sum(v in (b"", b"\n") for v in everything)  # one trailing newline is dropped
    assert src["tombstones"] == tombstones == 100_000 // 8
    assert src["empty"] == empty
    assert src["records"] == len(everything) - tombstones - empty
    assert src["errors"] == 0
    lines = [v[:-1] if v.endswith(b"\n") else v for v in everything if v is not None]
    lines = [ln for ln in lines if ln]
    assert s["invalid_utf8"] == sum(decode(ln)[1] for ln in lines) > 0
    assert s["control_bytes"] > 0 and s["empty_lines"] > 0
    assert s["words_seen"] == n_tokens(lines)
    ck, man = newest(tmp_path / "snap")
    assert man["words_seen"] == s["words_seen"]
    assert man["position"] == {"kafka": end_offsets(bs, "hostile")}
    assert_finite(ck)
    print(f"\nhostile: source {src}; learner invalid_utf8={s['invalid_utf8']} "
          f"empty_lines={s['empty_lines']} control_bytes={s['control_bytes']} "
          f"split_lines={s['split_lines']} words_seen={s['words_seen']}")


@pytest.mark.parametrize("sig,busy", [(signal.SIGTERM, True), (signal.SIGINT, False)],
                         ids=["SIGTERM-while-consuming", "SIGINT-while-idle"])
def test_signal_writes_a_final_checkpoint_and_commits_it(kafka_broker, tmp_path, sig, busy):
    """SIGTERM while messages stream in (or SIGINT while the trainer waits for
    data, no --idle-timeout): exit 0 within seconds, a final checkpoint whose
    offsets are the committed ones and whose words_seen counts exactly the
    messages below them."""
    bs = kafka_broker.bootstrap
    values = kill_corpus(120_000) if busy else lee_lines()[:90]
    create_topic(bs, "sig", 3)
    snap = tmp_path / "snap"
    tr = Trainer(f"kafka://{bs}/sig?assign=manual&max_chunk_bytes=16384", snap, tmp_path / "train.log")
    streamer = Streamer(bs, "sig", values, 3, duration=6.0 if busy else 0.2)
    try:
        tr.start()
        streamer.start()
        if busy:
            wait_until(lambda: latest_checkpoint(snap) is not None and streamer.sent < len(values),
                       30, "a first checkpoint while the topic is being written")
        else:
            streamer.join(30)
            wait_until(lambda: latest_checkpoint(snap) is not None, 30, "a first checkpoint")
            time.sleep(1.5)  # idle: the trainer waits inside a poll
        t0 = time.monotonic()
        tr.signal(sig)
        assert tr.wait(timeout=20) == 0, tr.output()[-3000:]
        elapsed = time.monotonic() - t0
    finally:
        tr.kill()
        streamer.join(timeout=30)
    assert streamer.error is None
    print(f"\n{signal.Signals(sig).name}: exit 0 {elapsed:.2f} s after the signal")
    assert elapsed < 5.0
    ck, man = newest(snap)
    pos = man["position"]["kafka"]
    assert committed_offsets(bs, "g", "sig", range(3)) == {f"sig:{p}": pos.get(f"sig:{p}")
                                                          for p in range(3)}
    assert man["words_seen"] == tokens_below(round_robin(values, 3), pos, "sig")
    assert man["words_seen"] == tr.summary()["words_seen"]
    if not busy:
        assert pos == end_offsets(bs, "sig")
    assert_finite(ck)
