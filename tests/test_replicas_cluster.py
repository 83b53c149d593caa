"""Replicas on a Ray cluster of several (local) nodes: row data moves node to node, never through the driver."""

from __future__ import annotations

import pytest

from streamsgns.tokenize import tokenize
from streamsgns_tools.tansu import create_topic, produce

ray = pytest.importorskip("ray", reason="the ray extra is part of the test install (pip install .[ray])")

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    try:
        yield c
    finally:
        c.shutdown()


def test_driver_carries_no_row_data_on_a_three_node_cluster(cluster, broker, tmp_path):
    from gensim.test.utils import datapath

    from streamsgns.distributed import ReplicaJob

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    create_topic(broker.bootstrap, "nodes", partitions=4)
    produce(broker.bootstrap, "nodes", lines, partition=[0, 1, 2, 3], linger_ms=50, batch_size=1 << 20)
    produced = sum(len(tokenize(ln)) for ln in lines)
    nodes = []

    def on_round(job, info):
        if not nodes:
            nodes.extend(ray.get([a.node_id.remote() for a in job._actors]))

    job = ReplicaJob(f"kafka://{broker.bootstrap}/nodes?group=g-nodes", replicas=2, sync_tokens=10_000,
                     idle_timeout=1.5, snapshot_dir=tmp_path / "run", snapshot_every="30000w", vectors=False,
                     ray_address=cluster.address, on_round=on_round, vector_size=32, min_count=2,
                     sketch_width=1 << 16, cooc_sketch_width=1 << 14, seed=1)
    model = job.run()
    assert model.words_seen == produced
    assert len(set(nodes)) == 2  # one replica per node: their deltas and the merged updates cross nodes
    s = job.sync
    assert s["rounds"] >= 3 and s["bytes_up"] > 0 and s["bytes_down"] > 0
    assert s["driver_bytes"] == 0
    assert s["train_s"] > 0 and s["wait_s"] > 0
    assert model.cooc is not None and model.cooc.total() > 0  # statistics merged
