"""A secured Kafka, refusals and metrics of ``streamsgns train``, against a real Tansu broker.

What Tansu 0.6.0 (the broker of the tests) can and cannot do, found by reading its source and
trying (``docs/production.md``): ``--authentication`` requires SASL, but no login can succeed —
PLAIN is not among its mechanisms (SCRAM-SHA-256/512 and OAUTHBEARER are), SCRAM refuses every user
(the ``memory://`` and ``s3://`` storage engines keep no SCRAM credentials: ``tansu user create``
succeeds and stores nothing), and OAUTHBEARER is refused by its validation callback. TLS cannot be
switched on (``--cert`` and ``--key`` exclude each other, and the TLS acceptor is never used). So:
a SCRAM login the broker refuses is the wrong-credentials case; TLS against the broker's plaintext
listener is the failed-handshake case; secrets are configured on a plaintext run to check that
they never show. No mocks: real broker, real
subprocesses, real HTTP scrapes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from streamsgns_tools.tansu import TansuBroker, create_topic, free_port

pytestmark = pytest.mark.kafka

PASSWORD = "Tr0ub4dor-s3cret-9f2c"  # must never appear in any output, log, summary or checkpoint


def train(args, env=None, timeout=120.0) -> subprocess.CompletedProcess:
    """Run ``python -m streamsgns train ARGS`` to its end (killed and failed after ``timeout`` s)."""
    cmd = [sys.executable, "-m", "streamsgns", "train", *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        pytest.fail(f"streamsgns train did not end in {timeout} s:\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def sasl_client_config(mechanism="PLAIN", user="alice", password=PASSWORD) -> dict:
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
            "sasl_plain_username": user, "sasl_plain_password": password}


@pytest.fixture
def sasl_broker(tansu_binary, tmp_path):
    """A Tansu broker that requires SASL (``--authentication``)."""
    broker = TansuBroker(log_dir=tmp_path / "tansu", binary=tansu_binary, extra_args=["--authentication"])
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


# ---------------------------------------------------------------- refusals (usage errors, exit 2)
def test_unknown_url_parameter_is_a_usage_error_listing_the_known_ones(tmp_path):
    r = train(["--input", "kafka://127.0.0.1:9/news?gorup=g", "--quiet"], timeout=60)
    assert r.returncode == 2, r.stderr
    assert "unknown kafka:// URL parameter 'gorup'" in r.stderr
    assert "known: assign, group, group_id, idle_timeout, max_chunk_bytes, poll_timeout_ms" in r.stderr


def test_credentials_in_the_url_are_refused_without_echoing_them(tmp_path):
    r = train(["--input", f"kafka://alice:{PASSWORD}@127.0.0.1:9/news", "--quiet"], timeout=60)
    assert r.returncode == 2, r.stderr
    assert "credentials never go in the URL" in r.stderr
    assert PASSWORD not in r.stderr + r.stdout


def test_unknown_config_key_is_a_usage_error_listing_the_known_ones(tmp_path):
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechansim=PLAIN\n")
    r = train(["--input", "kafka://127.0.0.1:9/news", "--kafka-config", str(cfg), "--quiet"], timeout=60)
    assert r.returncode == 2, r.stderr
    assert "unknown Kafka setting 'sasl.mechansim'" in r.stderr
    assert "sasl.mechanism" in r.stderr and "security.protocol" in r.stderr  # the known ones are listed


# ---------------------------------------------------------------- the consumer-config file
def test_config_file_maps_kafka_names_onto_kafka_python_settings(tmp_path):
    from streamsgns.connectors.kafka.settings import Secret, SettingsError, read_kafka_config, reveal

    ca = tmp_path / "ca.pem"
    ca.write_text("(certificate)")
    cfg = tmp_path / "c.properties"
    cfg.write_text(f"""# Kafka tools' consumer.config
security.protocol = SASL_SSL
ssl.truststore.type=PEM
ssl.truststore.location={ca}
ssl.endpoint.identification.algorithm=
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
    username="bob" password="${{PW}}";
fetch.max.bytes=1048576
request_timeout_ms=20000
""")
    got = read_kafka_config(cfg, environ={"PW": PASSWORD})
    assert got["security_protocol"] == "SASL_SSL" and got["ssl_cafile"] == str(ca)
    assert got["ssl_check_hostname"] is False and got["sasl_mechanism"] == "SCRAM-SHA-256"
    assert got["sasl_plain_username"] == "bob" and isinstance(got["sasl_plain_password"], Secret)
    assert got["fetch_max_bytes"] == 1048576 and got["request_timeout_ms"] == 20000
    assert PASSWORD not in repr(got) and reveal(got)["sasl_plain_password"] == PASSWORD
    # the environment sets a secret without any file, and wins over the file
    env_only = read_kafka_config(None, environ={"STREAMSGNS_KAFKA_SASL_PASSWORD": "x"})
    assert reveal(env_only) == {"sasl_plain_password": "x"}
    for text, why in [("group.id=g", "--group"), ("enable.auto.commit=true", "commits offsets itself"),
                      ("ssl.truststore.location=/etc/ks.jks", "Java key store"),
                      ("sasl.password=${NOT_SET_ANYWHERE}", "NOT_SET_ANYWHERE is not set"),
                      ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN", "needs sasl.username")]:
        cfg.write_text(text + "\n")
        with pytest.raises(SettingsError, match=re.escape(why)):
            read_kafka_config(cfg, environ={})


# ---------------------------------------------------------------- failures that say what they are
def test_tls_against_a_plaintext_listener_ends_with_its_cause_and_exit_4(kafka_broker, tmp_path):
    create_topic(kafka_broker.bootstrap, "news", 1)
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    cfg = tmp_path / "c.properties"
    cfg.write_text("security.protocol=SSL\n")
    t0 = time.monotonic()
    r = train(["--input", f"kafka://{kafka_broker.bootstrap}/news", "--kafka-config", str(cfg), "--quiet"])
    print(f"\nSSL against a plaintext listener: exit {r.returncode} after {time.monotonic() - t0:.1f} s "
          f"(interpreter start included)")
    assert r.returncode == 4, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("streamsgns: kafka:")]
    assert len(lines) == 1 and "not a TLS listener" in lines[0], r.stderr


def test_refused_scram_credentials_end_with_a_clear_error_and_never_show_the_password(sasl_broker, tmp_path):
    """Tansu 0.6.0 knows no SCRAM user (its storage keeps no credentials), so every SCRAM login is
    refused: the case of wrong credentials. The password comes from the environment."""
    cfg = tmp_path / "c.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=alice\n")
    t0 = time.monotonic()
    r = train(["--input", f"kafka://{sasl_broker.bootstrap}/news", "--kafka-config", str(cfg), "--summary"],
              env={"STREAMSGNS_KAFKA_SASL_PASSWORD": PASSWORD})
    print(f"\nrefused SCRAM login: exit {r.returncode} after {time.monotonic() - t0:.1f} s "
          f"(interpreter start included)")
    assert r.returncode == 4, r.stderr
    assert "kafka: authentication failed" in r.stderr and "'alice'" in r.stderr
    assert PASSWORD not in r.stderr + r.stdout


def test_secrets_given_by_file_and_environment_never_show_in_a_whole_run(kafka_broker, tmp_path):
    """A run with secrets configured (a SASL password from the environment, a key password through
    ``${VAR}`` in the file; the listener is plaintext, since no SASL login can succeed against
    Tansu 0.6.0): the run reads every message, and neither secret appears in the progress line,
    the log, the summary, a checkpoint or a vectors file."""
    from streamsgns.tokenize import tokenize
    from streamsgns_tools.tansu import produce

    bs = kafka_broker.bootstrap
    create_topic(bs, "secure", 1)
    lines = [f"line {i} of the news about markets" for i in range(300)]
    produce(bs, "secure", lines)
    cfg = tmp_path / "c.properties"
    cfg.write_text("security.protocol=PLAINTEXT\nsasl.username=alice\nssl.key.password=${KEY_PW}\n"
                   "client.id=trainer-1\n")
    snap = tmp_path / "snap"
    key_pw = PASSWORD[::-1]
    r = train(["--input", f"kafka://{bs}/secure?group=g", "--kafka-config", str(cfg), "--idle-timeout", "3",
               "--snapshot-dir", str(snap), "--snapshot-every", "500w", "--summary", "--min-count", "1",
               "--vector-size", "16", "--progress-every", "0.1"],
              env={"STREAMSGNS_KAFKA_SASL_PASSWORD": PASSWORD, "KEY_PW": key_pw})
    assert r.returncode == 0, r.stderr
    summary = [ln for ln in r.stderr.splitlines() if ln.startswith("{")][-1]
    assert f'"words_seen": {sum(len(tokenize(ln)) for ln in lines)}' in summary
    assert "train:" in r.stderr  # the progress line was drawn
    for secret in (PASSWORD, key_pw):
        assert secret not in r.stderr + r.stdout
        for f in snap.iterdir():
            assert secret.encode() not in f.read_bytes(), f.name


def test_a_secret_logged_by_anyone_is_redacted_on_the_way_out(tmp_path):
    """The redacting filter sits on the handler: a record of any logger (kafka-python's included),
    with the secret in its arguments or its exception, comes out with ``***``."""
    code = f"""
import logging, sys
from streamsgns.connectors.kafka.settings import RedactingFilter
logging.basicConfig(stream=sys.stderr, format="%(name)s: %(message)s")
for h in logging.getLogger().handlers:
    h.addFilter(RedactingFilter([{PASSWORD!r}]))
logging.getLogger("kafka.net.connection").error("login %s failed", {PASSWORD!r})
try:
    raise ValueError("bad password " + {PASSWORD!r})
except ValueError:
    logging.getLogger("streamsgns").exception("oops")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "login *** failed" in r.stderr and "bad password ***" in r.stderr, r.stderr
    assert PASSWORD not in r.stderr


# ---------------------------------------------------------------- metrics
def scrape(url: str) -> dict:
    """One scrape of a Prometheus text endpoint: ``{"name{labels}": value}``."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    out = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            name, _, value = ln.rpartition(" ")
            out[name] = float(value)
    return out


def test_metrics_show_lag_rising_while_a_producer_writes_and_falling_to_zero(kafka_broker, tmp_path):
    """Scrape ``--metrics-port`` with a real HTTP client during a Kafka run: while a backlog is
    being written the consumer lag is above 0; once the trainer has caught up it is 0, and
    words_seen, snapshots and the time since the last durable checkpoint are there. (The last
    chunks before the producer stops arrive within ``--progress-every`` of the previous refresh;
    they are published when the source waits for data — before that fix the scraped lag stayed
    above 0 on a trainer that had caught up, in about half of the runs.)"""
    from kafka import KafkaProducer

    from streamsgns.tokenize import tokenize

    bs = kafka_broker.bootstrap
    create_topic(bs, "busy", 2)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamsgns", "train", "--input",
                             f"kafka://{bs}/busy?group=g&max_chunk_bytes=2048", "--metrics-port", str(port),
                             "--snapshot-dir", str(tmp_path / "snap"), "--snapshot-every", "300w",
                             "--vector-size", "16", "--min-count", "1", "--quiet", "--progress-every", "0.2"],
                            stdin=subprocess.DEVNULL, stderr=open(tmp_path / "train.log", "wb"),
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/metrics"
    lines = [f"message {i} about markets rates and the central bank" for i in range(6000)]
    total = sum(len(tokenize(ln)) for ln in lines)
    try:
        deadline = time.monotonic() + 60
        while True:  # the server is up once the trainer has started
            try:
                scrape(url)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "train.log").read_text()
                time.sleep(0.2)
        producer = KafkaProducer(bootstrap_servers=bs, linger_ms=20)
        for i, ln in enumerate(lines):
            producer.send("busy", ln.encode(), partition=i % 2)
        producer.flush()
        producer.close()
        max_lag, seen = 0.0, {}
        deadline = time.monotonic() + 300  # a loaded machine snapshots slowly; the loop ends as soon as it has caught up
        while time.monotonic() < deadline:
            seen = scrape(url)
            lags = {k: v for k, v in seen.items() if k.startswith("streamsgns_consumer_lag{")}
            max_lag = max([max_lag, *lags.values()])
            if seen.get("streamsgns_words_seen") == total and len(lags) == 2 and not any(lags.values()):
                break
            time.sleep(0.05)
        log = (tmp_path / "train.log").read_text()
        assert max_lag > 0, f"the lag never rose above 0: {seen}\n{log[-2000:]}"
        assert seen.get("streamsgns_words_seen") == total, f"{seen}\n{log[-2000:]}"
        assert {k for k in seen if k.startswith("streamsgns_consumer_lag{")} == {
            'streamsgns_consumer_lag{partition="0",topic="busy"}', 'streamsgns_consumer_lag{partition="1",topic="busy"}'}
        assert all(v == 0 for k, v in seen.items() if k.startswith("streamsgns_consumer_lag{"))
        assert seen["streamsgns_snapshots_written_total"] >= 1
        assert seen["streamsgns_seconds_since_durable_checkpoint"] >= 0
        assert seen["streamsgns_vocab_size"] > 0 and seen["streamsgns_learning_rate"] > 0
        assert seen["streamsgns_change_events_total"] >= 0  # the learner's change alarms
        print(f"\nlargest lag scraped {max_lag:.0f} messages; final {seen}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    assert proc.returncode == 0, (tmp_path / "train.log").read_text()[-3000:]


def test_metrics_bind_loopback_unless_told_otherwise():
    from streamsgns.cli import build_parser

    args = build_parser().parse_args(["train", "--metrics-port", "9100"])
    assert args.metrics_host == "127.0.0.1" and args.metrics_port == 9100


# ---------------------------------------------------------------- TLS, through a TLS terminator
@pytest.fixture
def tls_broker(tansu_binary, tmp_path):
    """Tansu behind a TLS terminator (Tansu 0.6.0 cannot serve TLS itself): the terminator's
    certificate is signed by a test CA for 127.0.0.1; the broker advertises the terminator."""
    pytest.importorskip("cryptography")
    from streamsgns_tools.tls import TlsTerminator, make_certificates

    certs = make_certificates(tmp_path / "certs")
    wrong_name = make_certificates(tmp_path / "certs-other-name", names=("broker.example.com",))
    broker_port = free_port()
    with TlsTerminator(f"127.0.0.1:{broker_port}", certs["cert"], certs["key"]) as tls:
        broker = TansuBroker(port=broker_port, advertised_port=tls.port, log_dir=tmp_path / "tansu",
                             binary=tansu_binary)
        broker.start()
        try:
            yield broker, tls, certs, wrong_name
        finally:
            broker.close()


def tls_config(path, cafile) -> Path:
    path.write_text(f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={cafile}\n")
    return path


def test_tls_through_a_terminator_reads_every_message(tls_broker, tmp_path):
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    from streamsgns.tokenize import tokenize

    broker, tls, certs, _ = tls_broker
    admin = KafkaAdminClient(bootstrap_servers=tls.bootstrap, security_protocol="SSL", ssl_cafile=str(certs["ca"]))
    admin.create_topics([NewTopic("tls", 1, 1)])
    admin.close()
    lines = [f"encrypted line {i} about markets" for i in range(200)]
    producer = KafkaProducer(bootstrap_servers=tls.bootstrap, security_protocol="SSL", ssl_cafile=str(certs["ca"]))
    for ln in lines:
        producer.send("tls", ln.encode())
    producer.flush()
    producer.close()
    cfg = tls_config(tmp_path / "c.properties", certs["ca"])
    r = train(["--input", f"kafka://{tls.bootstrap}/tls", "--kafka-config", str(cfg), "--idle-timeout", "3",
               "--summary", "--quiet", "--min-count", "1", "--vector-size", "16"])
    assert r.returncode == 0, r.stderr
    summary = [ln for ln in r.stderr.splitlines() if ln.startswith("{")][-1]
    assert f'"words_seen": {sum(len(tokenize(ln)) for ln in lines)}' in summary


def test_tls_with_an_unknown_ca_ends_with_its_cause_and_exit_4(tls_broker, tmp_path):
    broker, tls, certs, _ = tls_broker
    cfg = tls_config(tmp_path / "c.properties", certs["other_ca"])
    r = train(["--input", f"kafka://{tls.bootstrap}/tls", "--kafka-config", str(cfg), "--quiet"])
    assert r.returncode == 4, r.stderr
    assert "streamsgns: kafka: unknown CA:" in r.stderr, r.stderr


def test_tls_with_a_certificate_for_another_host_ends_with_its_cause_and_exit_4(tls_broker, tmp_path):
    from streamsgns_tools.tls import TlsTerminator

    broker, _, _, wrong_name = tls_broker
    with TlsTerminator(broker.bootstrap, wrong_name["cert"], wrong_name["key"]) as other:
        cfg = tls_config(tmp_path / "c.properties", wrong_name["ca"])
        r = train(["--input", f"kafka://{other.bootstrap}/tls", "--kafka-config", str(cfg), "--quiet"])
    assert r.returncode == 4, r.stderr
    assert "streamsgns: kafka: host name mismatch:" in r.stderr, r.stderr
