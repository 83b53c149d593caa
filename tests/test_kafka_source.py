"""KafkaSource against a real Tansu broker (no mocks)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from streamsgns.connectors.base import Chunk
from streamsgns.connectors.kafka import KafkaSource, parse_position
from streamsgns.connectors.kafka.batching import LineBuffer
from streamsgns_tools.tansu import TansuBroker, create_topic, free_port, produce

pytestmark = pytest.mark.kafka

FAST = dict(poll_timeout_ms=200, retry_backoff=(0.2, 1.0))


def read_all(source, until=None, deadline=30.0):
    """Iterate ``source.chunks()``; return (lines, chunks).

    Stops when the iteration ends, when ``until(lines)`` is true, or after
    ``deadline`` seconds (then fails).
    """
    lines, chunks = [], []
    t0 = time.monotonic()
    for chunk in source.chunks():
        assert isinstance(chunk, Chunk)
        chunks.append(chunk)
        got = chunk.data.split(b"\n")
        assert got[-1] == b""  # every message is a terminated line
        assert len(got) - 1 >= chunk.n_records  # n_records counts messages
        lines.extend(got[:-1])
        if until is not None and until(lines):
            break
        assert time.monotonic() - t0 < deadline, "reading took too long"
    return lines, chunks


def test_parse_position_and_url():
    assert parse_position({"kafka": {"a.b-c:2": 5}}) == {("a.b-c", 2): 5}
    for bad in ({}, {"files": {}}, {"kafka": {"t": 1}}, {"kafka": {"t:x": 1}}, {"kafka": {"t:0": -1}}):
        with pytest.raises(ValueError):
            parse_position(bad)
    src = KafkaSource.from_url("kafka://127.0.0.1:1,127.0.0.1:2/a,b?group=g&idle_timeout=2")
    assert src.bootstrap_servers == ["127.0.0.1:1", "127.0.0.1:2"]
    assert src.topics == ["a", "b"] and src.group_id == "g" and src.assign == "group"
    assert src.idle_timeout == 2.0
    src.close()
    src.close()  # idempotent
    src = KafkaSource.from_url("kafka://h:9/t", assign="manual")
    assert src.group_id is None and src.assign == "manual"
    with pytest.raises(ValueError):
        KafkaSource.from_url("http://h:9/t")
    with pytest.raises(ValueError):
        KafkaSource("h:9", "t", assign="group")


def test_line_buffer_chunk_size_rule():
    """The batching step's buffer: a line joins only if the chunk stays within
    max_bytes (a single larger line still fills an empty buffer), and a chunk
    is taken when lines are held or only the position moved."""
    pos0, pos1 = {"kafka": {"t:0": 0}}, {"kafka": {"t:0": 3}}
    buf = LineBuffer(max_bytes=8, position=pos0)
    assert buf.take(pos0) is None  # nothing held, nothing moved
    assert buf.fits(b"x" * 20)  # an empty buffer takes anything
    buf.add(b"abc", now=1.0)  # 4 bytes with its newline
    assert buf.fits(b"abc") and not buf.fits(b"abcd")
    buf.add(b"abc", now=2.0)
    assert buf.full and buf.started == 1.0 and buf.records == 2
    chunk = buf.take(pos1)
    assert (chunk.data, chunk.position, chunk.n_records) == (b"abc\nabc\n", pos1, 2)
    assert not buf and buf.nbytes == 0
    assert buf.take(pos1) is None
    skipped = buf.take({"kafka": {"t:0": 5}})  # only skipped messages: the position moves
    assert (skipped.data, skipped.n_records) == (b"", 0)


def test_read_all_positions_seek_remainder(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "text", 3)
    values = [f"line {i} of the stream" for i in range(300)]
    produce(bs, "text", values, partition=[0, 1, 2])

    with KafkaSource(bs, "text", idle_timeout=1.5, max_chunk_bytes=2000, **FAST) as src:
        lines, chunks = read_all(src)
    assert sorted(lines) == sorted(v.encode() for v in values)  # each exactly once
    assert len(chunks) > 1 and all(len(c.data) <= 2000 for c in chunks)
    assert chunks[-1].position == {"kafka": {"text:0": 100, "text:1": 100, "text:2": 100}}
    assert src.stats["records"] == 300 and src.stats["tombstones"] == 0
    assert src.stats["bytes"] == sum(len(v) for v in values)
    # positions only grow and are JSON round-trippable
    prev = {}
    for c in chunks:
        pos = json.loads(json.dumps(c.position))["kafka"]
        assert all(pos.get(k, 0) >= v for k, v in prev.items())
        prev = pos

    # A fresh source seeked to a mid chunk reads exactly the remainder.
    mid = chunks[len(chunks) // 2]
    seen = set()
    for c in chunks[: len(chunks) // 2 + 1]:
        seen.update(c.data.split(b"\n")[:-1])
    with KafkaSource(bs, "text", idle_timeout=1.5, **FAST) as src2:
        src2.seek(json.loads(json.dumps(mid.position)))
        rest, chunks2 = read_all(src2)
    assert sorted(rest) == sorted(set(v.encode() for v in values) - seen)
    assert chunks2[-1].position == chunks[-1].position


def test_commit_then_group_resumes(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "g", 3)
    values = [f"m{i}" for i in range(60)]
    produce(bs, "g", values, partition=[0, 1, 2])

    # manual assignment with a group: read 30 messages, commit what they cover
    with KafkaSource(bs, "g", group_id="trainer", assign="manual", idle_timeout=1.5,
                     max_chunk_bytes=64, **FAST) as src:
        lines, chunks = [], []
        for c in src.chunks():
            chunks.append(c)
            lines += c.data.split(b"\n")[:-1]
            if len(lines) >= 30:
                break
        src.commit(chunks[-1].position)
        assert src.stats["commits"] == 1 and src.stats["commit_failures"] == 0
        committed = parse_position(chunks[-1].position)

    # a new consumer in the same group, group subscription, no seek
    with KafkaSource(bs, "g", group_id="trainer", idle_timeout=1.5, **FAST) as src2:
        rest, chunks2 = read_all(src2)
    assert sorted(lines + rest) == sorted(v.encode() for v in values)  # nothing lost, no dup
    assert len(rest) == 60 - len(lines)
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bs, group_id="trainer", enable_auto_commit=False)
    try:
        for (t, p), off in committed.items():
            assert c.committed(TopicPartition(t, p)) == off
    finally:
        c.close()
    # commit without a group is a no-op
    with KafkaSource(bs, "g", **FAST) as src3:
        src3.commit(chunks2[-1].position)
        assert src3.stats["commits"] == 0


def test_bad_input_is_counted_or_passed_through(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "bad", 1)
    big = b"w " * (5 << 20)  # 10 MB, one message
    values = [b"ok one", None, b"", b"\n", b"caf\xe9 \xff\xfe bytes", b"nul\x00inside",
              big, b"two\nlines\n", None, b"last"]
    produce(bs, "bad", values, partition=0)

    with KafkaSource(bs, "bad", idle_timeout=1.5, max_chunk_bytes=1 << 16, **FAST) as src:
        lines, chunks = read_all(src)
    assert src.stats["tombstones"] == 2
    assert src.stats["empty"] == 2
    assert src.stats["records"] == 6
    joined = b"\n".join(lines)
    assert b"caf\xe9 \xff\xfe bytes" in lines and b"nul\x00inside" in lines
    assert big in lines
    assert [c for c in chunks if big in c.data][0].data == big + b"\n"  # its own chunk
    assert b"two\nlines" in joined and lines[-1] == b"last"
    assert chunks[-1].position == {"kafka": {"bad:0": len(values)}}


def test_skipped_tail_still_moves_position(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "tomb", 1)
    produce(bs, "tomb", [b"a", b"b"], partition=0)
    produce(bs, "tomb", [None, b""], partition=0)
    with KafkaSource(bs, "tomb", idle_timeout=1.5, **FAST) as src:
        lines, chunks = read_all(src)
    assert lines == [b"a", b"b"]
    assert chunks[-1].position == {"kafka": {"tomb:0": 4}}


def test_broker_down_at_start_is_retried(tansu_binary, tmp_path):
    port = free_port()
    broker = TansuBroker(port=port, log_dir=tmp_path, binary=tansu_binary)
    logs = []

    def late_start():
        time.sleep(2.0)
        broker.start()
        create_topic(broker.bootstrap, "late", 3)
        produce(broker.bootstrap, "late", [f"x{i}" for i in range(30)], partition=[0, 1, 2])

    t = threading.Thread(target=late_start, daemon=True)
    try:
        t.start()
        with KafkaSource(f"127.0.0.1:{port}", "late", idle_timeout=2.0, log=logs.append,
                         **FAST) as src:
            lines, _ = read_all(src, until=lambda ls: len(ls) >= 30)
        t.join(10)
        assert sorted(lines) == sorted(f"x{i}".encode() for i in range(30))
        retries = [m for m in logs if "retrying in" in m]
        assert retries, logs
        assert any(f"broker 127.0.0.1:{port} unavailable (NoBrokersAvailable)" in m for m in retries)
    finally:
        t.join(10)
        broker.close()


def test_broker_restart_mid_stream(kafka_broker):
    """Memory storage loses topics, records and offsets on restart (a
    limitation of this broker build, see streamsgns_tools/tansu.py): the source
    must reconnect and read what is produced after the restart."""
    bs = kafka_broker.bootstrap
    create_topic(bs, "r", 3)
    produce(bs, "r", [f"before {i}" for i in range(60)], partition=[0, 1, 2])
    after = [f"after {i}" for i in range(9)]  # 3 per partition: offsets 0..2 < 20
    logs = []

    def restart():
        kafka_broker.restart(down_for=1.5)
        create_topic(bs, "r", 3)
        produce(bs, "r", after, partition=[0, 1, 2])

    t = threading.Thread(target=restart, daemon=True)
    try:
        with KafkaSource(bs, "r", idle_timeout=15, log=logs.append, **FAST) as src:
            lines = []
            for c in src.chunks():
                lines += c.data.split(b"\n")[:-1]
                if len(lines) == 60 and not t.is_alive() and not t.ident:
                    t.start()
                if sum(ln.startswith(b"after") for ln in lines) >= len(after):
                    break
        assert sorted(ln for ln in lines if ln.startswith(b"before")) == sorted(
            f"before {i}".encode() for i in range(60))
        assert sorted(ln for ln in lines if ln.startswith(b"after")) == sorted(
            a.encode() for a in after)
        # Tansu answers fetches past the (new, shorter) log with no error: the
        # source notices and resets the three partitions to the earliest offset
        assert src.stats["resets"] == 3
        assert any("past the end of the log" in m for m in logs)
    finally:
        t.join(15) if t.ident else None


def test_group_seek_overrides_committed_offsets(kafka_broker):
    """The checkpoint, not the broker, is the source of truth."""
    bs = kafka_broker.bootstrap
    create_topic(bs, "s", 2)
    values = [f"s{i}" for i in range(40)]
    produce(bs, "s", values, partition=[0, 1])
    with KafkaSource(bs, "s", group_id="g2", assign="manual", idle_timeout=1.0, **FAST) as src:
        lines, chunks = read_all(src)
        src.commit(chunks[-1].position)  # everything committed
    assert len(lines) == 40
    # group subscription + seek to the start of partition 1 only: partition 0
    # resumes at its committed offset (nothing left), partition 1 is re-read
    with KafkaSource(bs, "s", group_id="g2", idle_timeout=1.5, **FAST) as src2:
        src2.seek({"kafka": {"s:1": 0}})
        rest, chunks2 = read_all(src2)
    assert sorted(rest) == sorted(v.encode() for v in values[1::2])
    assert chunks2[-1].position == {"kafka": {"s:1": 20}}


def test_seek_while_suspended_mid_poll(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "mid", 2)
    p0 = [f"a{i:03d}" for i in range(50)]
    p1 = [f"b{i:03d}" for i in range(50)]
    produce(bs, "mid", p0, partition=0)
    produce(bs, "mid", p1, partition=1)
    with KafkaSource(bs, "mid", idle_timeout=1.5, max_chunk_bytes=32, **FAST) as src:
        it = src.chunks()
        first = next(it)
        src.seek({"kafka": {"mid:0": 10}})
        rest = []
        for c in it:
            rest += c.data.split(b"\n")[:-1]
    first_lines = first.data.split(b"\n")[:-1]
    expected = [v.encode() for v in p0[10:]] + [v.encode() for v in p1 if v.encode() not in first_lines]
    assert sorted(rest) == sorted(expected)


def test_broken_consumer_is_recreated_without_loss(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "rec", 2)
    values = [f"v{i}" for i in range(200)]
    produce(bs, "rec", values, partition=[0, 1])
    logs = []
    with KafkaSource(bs, "rec", idle_timeout=1.5, max_chunk_bytes=100, log=logs.append,
                     **FAST) as src:
        it = src.chunks()
        lines = next(it).data.split(b"\n")[:-1]
        src._connection.consumer.close()  # every poll now fails: the source must recreate it
        for c in it:
            lines += c.data.split(b"\n")[:-1]
    assert sorted(lines) == sorted(v.encode() for v in values)  # nothing lost, no dup
    assert src.stats["reconnects"] == 1 and src.stats["errors"] == 3
    assert any("recreating the consumer" in m for m in logs)


def test_failed_commit_is_retried_on_next_commit(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "c", 1)
    produce(bs, "c", [f"c{i}" for i in range(10)], partition=0)
    logs = []
    src = KafkaSource(bs, "c", group_id="g3", assign="manual", idle_timeout=1.0,
                      commit_timeout_ms=1000, log=logs.append, **FAST)
    try:
        _, chunks = read_all(src)
        kafka_broker.stop()
        src.commit({"kafka": {"c:0": 5}})  # must not raise
        assert src.stats["commit_failures"] == 1 and src.stats["commits"] == 0
        assert any("commit of 1 offsets failed" in m for m in logs)
        kafka_broker.start()  # memory storage: an empty broker
        create_topic(bs, "c", 1)
        create_topic(bs, "c2", 1)
        src.commit({"kafka": {"c2:0": 3}})  # commits the pending c:0 too
        assert src.stats["commits"] == 1
    finally:
        src.close()
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bs, group_id="g3", enable_auto_commit=False)
    try:
        assert c.committed(TopicPartition("c", 0)) == 5
        assert c.committed(TopicPartition("c2", 0)) == 3
    finally:
        c.close()


@pytest.mark.parametrize("group_id", [None, "pg"])
def test_persistent_broker_restart_loses_nothing(persistent_kafka_broker, group_id):
    """With durable storage (s3:// on a local moto server) a restart keeps the
    logs: the source reconnects and goes on at its position, exactly once."""
    broker = persistent_kafka_broker
    bs = broker.bootstrap
    create_topic(bs, "dur", 3)
    before = [f"before {i}" for i in range(60)]
    after = [f"after {i}" for i in range(30)]
    produce(bs, "dur", before, partition=[0, 1, 2])
    logs = []

    def restart():
        broker.restart(down_for=1.5)
        produce(bs, "dur", after, partition=[0, 1, 2])

    t = threading.Thread(target=restart, daemon=True)
    try:
        with KafkaSource(bs, "dur", group_id=group_id, idle_timeout=20, log=logs.append,
                         **FAST) as src:
            lines, chunks = [], []
            for c in src.chunks():
                chunks.append(c)
                lines += c.data.split(b"\n")[:-1]
                if len(lines) >= len(before) and not t.ident:
                    src.commit(c.position)
                    t.start()
                if len(lines) >= len(before) + len(after):
                    break
        assert sorted(lines) == sorted(v.encode() for v in before + after)
        assert src.stats["resets"] == 0
        assert chunks[-1].position == {"kafka": {"dur:0": 30, "dur:1": 30, "dur:2": 30}}
        if group_id:
            from kafka import KafkaConsumer, TopicPartition

            c = KafkaConsumer(bootstrap_servers=bs, group_id=group_id, enable_auto_commit=False)
            try:  # the commit made before the restart survived it
                assert c.committed(TopicPartition("dur", 0)) == 20
            finally:
                c.close()
    finally:
        if t.ident:
            t.join(15)


def test_stop_and_close_from_another_thread(kafka_broker):
    bs = kafka_broker.bootstrap
    create_topic(bs, "idle", 1)
    produce(bs, "idle", [b"only"], partition=0)
    src = KafkaSource(bs, "idle", **FAST)  # no idle timeout: would run forever
    threading.Timer(1.0, src.stop).start()
    t0 = time.monotonic()
    lines, chunks = read_all(src)
    assert lines == [b"only"] and time.monotonic() - t0 < 3.0
    src.close()
    src.close()

    src = KafkaSource(bs, "idle", **FAST)
    threading.Timer(1.0, src.close).start()
    t0 = time.monotonic()
    lines, _ = read_all(src)
    assert lines == [b"only"] and time.monotonic() - t0 < 3.0
    assert src._connection.consumer is None


def test_stop_while_waiting_for_a_broker():
    logs = []
    src = KafkaSource(f"127.0.0.1:{free_port()}", "none", log=logs.append, **FAST)
    threading.Timer(0.8, src.stop).start()
    t0 = time.monotonic()
    assert list(src.chunks()) == []
    assert time.monotonic() - t0 < 3.0 and logs
    src.close()


def test_stop_keeps_the_consumer_for_a_final_commit(kafka_broker):
    """stop() (what a SIGTERM handler calls) ends chunks() but leaves the
    consumer open: the trainer's final checkpoint is then committed."""
    bs = kafka_broker.bootstrap
    create_topic(bs, "fin", 2)
    produce(bs, "fin", [f"f{i}" for i in range(20)], partition=[0, 1])
    src = KafkaSource(bs, "fin", group_id="gf", assign="manual", **FAST)  # no idle timeout
    try:
        threading.Timer(1.0, src.stop).start()
        lines, chunks = read_all(src)
        assert len(lines) == 20
        assert src._connection.consumer is not None  # not closed by stop()
        src.commit(chunks[-1].position)
        assert src.stats["commits"] == 1 and src.stats["commit_failures"] == 0
        assert list(src.chunks()) == []  # a stopped source does not restart
    finally:
        src.close()
    assert src._connection.consumer is None
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bs, group_id="gf", enable_auto_commit=False)
    try:
        assert c.committed(TopicPartition("fin", 0)) == 10
        assert c.committed(TopicPartition("fin", 1)) == 10
    finally:
        c.close()


@pytest.mark.parametrize("assign", ["manual", "group"])
def test_seek_others_earliest_ignores_commits_of_unnamed_partitions(kafka_broker, assign):
    """Resuming from a checkpoint that names only some partitions: with
    ``others="earliest"`` the others start at their first message even if the
    group committed further (e.g. a newer checkpoint that was lost)."""
    bs = kafka_broker.bootstrap
    topic = f"o{assign}"
    create_topic(bs, topic, 2)
    produce(bs, topic, [f"p{i % 2}-{i // 2}" for i in range(20)], partition=[0, 1])
    with KafkaSource(bs, topic, group_id="go", assign="manual", idle_timeout=0.5, **FAST) as src:
        read_all(src)
        src.commit({"kafka": {f"{topic}:0": 8, f"{topic}:1": 7}})
        assert src.stats["commits"] == 1
    for others, expect1 in (("committed", 3), ("earliest", 10)):
        with KafkaSource(bs, topic, group_id="go", assign=assign, idle_timeout=1.0, **FAST) as src:
            src.seek({"kafka": {f"{topic}:0": 4}}, others=others)
            lines, _ = read_all(src)
        got0 = sorted(ln for ln in lines if ln.startswith(b"p0"))
        got1 = [ln for ln in lines if ln.startswith(b"p1")]
        assert got0 == sorted(f"p0-{i}".encode() for i in range(4, 10))
        assert len(got1) == expect1, (others, got1)
    with pytest.raises(ValueError):
        KafkaSource(bs, topic).seek({}, others="latest")


def test_idle_timeout_does_not_count_the_callers_time(kafka_broker):
    """A slow caller (learning, writing checkpoints between chunks) is not
    idleness: before the fix, the first empty poll after a long-processed
    batch ended chunks() with two partitions never read."""
    bs = kafka_broker.bootstrap
    create_topic(bs, "slow", 3)
    values = [f"slow message {i} " + "x" * 200 for i in range(150)]
    produce(bs, "slow", values, partition=[0, 1, 2])
    # partitions 1 and 2 wait for an offset reset while partition 0 is
    # fetched, so the first poll brings partition 0 only
    with KafkaSource(bs, "slow", group_id="gs", assign="manual", idle_timeout=1.0,
                     max_chunk_bytes=1024, **FAST) as src:
        src.seek({"kafka": {"slow:0": 5}}, others="earliest")
        n = 0
        for c in src.chunks():
            n += c.n_records
            time.sleep(0.2)  # ~10 chunks of partition 0: twice the idle_timeout
    assert src.position() == {"kafka": {"slow:0": 50, "slow:1": 50, "slow:2": 50}}
    assert n == 145


def test_manual_share_of_partitions_reads_only_those(kafka_broker):
    """partitions=[...] (a replica's share, streamsgns.distributed): only those partitions are read."""
    create_topic(kafka_broker.bootstrap, "share", partitions=3)
    produce(kafka_broker.bootstrap, "share", [f"p{i % 3} line {i}" for i in range(30)], partition=[0, 1, 2])
    src = KafkaSource(kafka_broker.bootstrap, "share", assign="manual", partitions=["share:1", "share:2"],
                      idle_timeout=1.0, **FAST)
    try:
        lines, _ = read_all(src)
    finally:
        src.close()
    assert sorted(lines) == sorted(f"p{i % 3} line {i}".encode() for i in range(30) if i % 3 != 0)
    assert src.position() == {"kafka": {"share:1": 10, "share:2": 10}}
    with pytest.raises(ValueError):
        KafkaSource(kafka_broker.bootstrap, "share", group_id="g", partitions=["share:1"])
