"""``train --replicas N`` with a consumer-config file, a secret in the environment and ``--metrics-port``.

The Ray fixtures of ``test_replicas.py`` and the module broker of ``conftest.py`` (module-scoped: a local Ray, a Tansu broker).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is part of the test install (pip install .[ray])")

from test_replicas import _topic, lee, ray_local  # noqa: E402,F401 - fixtures (broker: conftest)

pytestmark = pytest.mark.kafka


def test_cli_replicas_with_secrets_and_metrics(ray_local, broker, lee, tmp_path):
    """``--replicas`` with a consumer-config file and a secret in the environment, and
    ``--metrics-port``: the settings reach the replicas (they read every message), the secret is in
    no output and no log file of the Ray session, and the driver's metrics show the job's view."""
    import subprocess
    import sys
    import time
    import urllib.request

    from streamsgns_tools.tansu import free_port

    secret = "replica-s3cret-7d1e"
    produced = _topic(broker, "cli-secret", lee)
    address = ray_local.get_runtime_context().gcs_address
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=PLAINTEXT\nsasl.username=alice\nclient.id=replica-test\n")
    port = free_port()
    cmd = [sys.executable, "-m", "streamsgns", "train", "--input", f"kafka://{broker.bootstrap}/cli-secret",
           "--group", "g-secret", "--replicas", "2", "--ray-address", address, "--sync-tokens", "15000",
           "--idle-timeout", "3", "--snapshot-dir", str(tmp_path / "run"), "--snapshot-every", "40000w",
           "--kafka-config", str(cfg), "--metrics-port", str(port), "--summary", "--quiet",
           "--vector-size", "32", "--min-count", "2", "--sketch-width", str(1 << 16)]
    log = tmp_path / "train.log"
    p = subprocess.Popen(cmd, stderr=open(log, "wb"), stdin=subprocess.DEVNULL,
                         env={**os.environ, "STREAMSGNS_KAFKA_SASL_PASSWORD": secret})
    seen = {}
    try:
        while p.poll() is None:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                seen = {ln.rpartition(" ")[0]: float(ln.rpartition(" ")[2])
                        for ln in text.splitlines() if ln and not ln.startswith("#")}
            except OSError:
                pass
            time.sleep(0.2)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=60)
    out = log.read_text(errors="replace")
    assert p.returncode == 0, out[-2000:]
    assert f'"words_seen": {produced}' in out
    assert secret not in out
    assert seen.get("streamsgns_words_seen", 0) > 0 and seen.get("streamsgns_vocab_size", 0) > 0, seen
    assert any(k.startswith("streamsgns_consumer_lag{") for k in seen), seen
    session = Path(ray._private.worker._global_node.get_session_dir_path())
    leaked = [f for f in session.rglob("*") if f.is_file() and f.stat().st_size < 50 << 20
              and secret.encode() in f.read_bytes()]
    assert not leaked, leaked
