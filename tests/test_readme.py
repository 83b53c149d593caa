"""Every example of the README runs, in the order a reader meets them.

The README's fenced ``python`` and ``bash`` blocks are collected from the file itself, so an
example that stops working fails the test command. They run one after the other in one temporary
directory (later examples read what earlier ones wrote, as a reader's would), where ``corpus.txt``
is gensim's Lee corpus (60k tokens): each ``python`` block with ``python -c``, each line of a
``bash`` block with ``bash``, with this interpreter's ``streamsgns`` first on ``PATH``.

A comment just before a block changes how it runs:

* ``<!-- readme-test: skip (reason) -->``: not run; the reason is the skip message;
* ``<!-- readme-test: kafka (...) -->``: run against a real Tansu broker on 127.0.0.1 that the
  test starts, with ``corpus.txt`` written to the topic named in the block; the block's
  ``broker1:9092`` is replaced by the broker's address and ``--idle-timeout 3`` added, so that the
  trainer stops once it has read the topic.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

FENCE = re.compile(r"(?:<!--\s*readme-test:\s*(?P<mode>\w+)(?P<note>.*?)-->\s*\n)?"
                   r"^```(?P<lang>python|bash)\n(?P<body>.*?)^```\s*$", re.S | re.M)


def readme_blocks() -> list[dict]:
    """The README's ``python`` and ``bash`` blocks, in order, each with its mode and line number."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        blocks.append({
            "lang": m["lang"],
            "body": m["body"],
            "mode": m["mode"] or "run",
            "note": " ".join((m["note"] or "").split()).strip(" ()"),
            "line": text.count("\n", 0, m.start("lang")) + 1,
        })
    return blocks


def bash_commands(body: str) -> list[str]:
    """A bash block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [ln for ln in (line.strip() for line in joined.splitlines()) if ln and not ln.startswith("#")]


def test_the_readme_has_the_examples_it_promises():
    blocks = readme_blocks()
    modes = [b["mode"] for b in blocks]
    assert sum(b["lang"] == "python" for b in blocks) >= 3
    assert "kafka" in modes
    assert all(m in {"run", "skip", "kafka"} for m in modes), modes
    assert all(b["note"] for b in blocks if b["mode"] == "skip"), "a skipped block must say why"
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory holding ``corpus.txt`` (gensim's Lee corpus), where every example runs."""
    from helpers_core import lee_path

    d = tmp_path_factory.mktemp("readme")
    (d / "corpus.txt").write_bytes(Path(lee_path()).read_bytes())
    return d


def run(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{what} failed (exit {p.returncode}):\n{p.stderr[-3000:]}"
    return p


def test_every_readme_example_runs(workdir):
    """The blocks run in order, as a reader would run them (the Kafka ones: the next test)."""
    skipped = []
    for block in readme_blocks():
        where = f"README.md line {block['line']}"
        if block["mode"] != "run":
            skipped.append(f"{where}: {block['note']}")
            continue
        if block["lang"] == "python":
            run([sys.executable, "-c", block["body"]], workdir, f"the python block at {where}")
        else:
            for cmd in bash_commands(block["body"]):
                run(["bash", "-c", cmd], workdir, f"`{cmd}` ({where})")
    # what the examples promise to leave behind
    assert (workdir / "vectors.txt").read_text(encoding="utf-8").split()[1] == "100"
    assert (workdir / "runs" / "lee" / "vectors-latest.txt").is_file()
    assert (workdir / "model.npz").is_file()
    print("not run:", *skipped, sep="\n  ")


@pytest.mark.kafka
def test_the_readme_kafka_examples_run_against_a_real_broker(workdir, tansu_binary):
    """Each Kafka block trains from a Tansu broker holding ``corpus.txt`` in the block's topic,
    and its checkpoint counts every token of the topic once."""
    blocks = [b for b in readme_blocks() if b["mode"] == "kafka"]
    assert blocks
    for block in blocks:
        run_kafka_block(block, workdir, tansu_binary, f"README.md line {block['line']}")


def run_kafka_block(block, workdir, tansu_binary, where):
    """Run a Kafka block's commands against a broker started for it (127.0.0.1 only)."""
    from streamsgns.io.snapshotter import latest_checkpoint
    from streamsgns.tokenize import tokenize
    from streamsgns_tools.tansu import TansuBroker, create_topic, produce

    commands = bash_commands(block["body"])
    lines = [ln for ln in (workdir / "corpus.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    with TansuBroker(log_dir=workdir / "tansu", binary=tansu_binary) as broker:
        for cmd in commands:
            topic = re.search(r"kafka://broker1:9092/(\w+)", cmd)[1]
            create_topic(broker.bootstrap, topic, partitions=2)
            produce(broker.bootstrap, topic, lines, linger_ms=50, batch_size=1 << 20)
            cmd = cmd.replace("broker1:9092", broker.bootstrap) + " --idle-timeout 3 --quiet"
            run(["bash", "-c", cmd], workdir, f"`{cmd}` ({where})")
            snapdir = re.search(r"--snapshot-dir (\S+)", cmd)[1]
            from streamsgns import SGNS

            model = SGNS.load(latest_checkpoint(workdir / snapdir))
            assert model.words_seen == sum(len(tokenize(ln)) for ln in lines)
