"""The gensim comparison benchmark runs end to end, like for like (tiny corpus, a few seconds).

It guards the benchmark against drift of the learner's API and checks the two promises the
benchmark's README makes: one token count for both systems (the learner's ``words_seen``), and a
gensim child that does not carry streamsgns/numba in its peak RSS.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "speed" / "bench_vs_gensim.py"
needs_gensim = pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim not installed")


def _bench_corpus_module():
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.speed.vs_gensim import corpus
    finally:
        sys.path.remove(str(REPO))
    return corpus


def test_benchmark_tokens_are_the_learners(tmp_path):
    from streamsgns import SGNS
    from streamsgns.tokenize import TOKEN_PATTERN, tokenize

    corpus = _bench_corpus_module()
    p = tmp_path / "c.txt"
    p.write_text("The quick-brown fox -- isn't a FOX-\nnaïve café 1990 e-mail\n\nx y zz\n", encoding="utf-8")
    assert corpus.TOKEN_PATTERN == TOKEN_PATTERN
    assert list(corpus.iter_token_lists(p)) == [tokenize(line) for line in p.read_text("utf-8").split("\n")[:-1]]
    n, lines = corpus.count_corpus_tokens(p)
    m = SGNS(vector_size=4, min_count=1, seed=0)
    m.learn_file(p)
    m.flush()
    assert (n, lines) == (m.words_seen, 4) == (10, 4)  # 5 + 4 + 0 + 1 ("zz")


@needs_gensim
@pytest.mark.slow
def test_bench_vs_gensim_runs_like_for_like(tmp_path):
    from streamsgns_tools.corpora import fetch

    lee = fetch("lee", cache_dir=tmp_path / "data")
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--corpus", str(lee), "--max-tokens", "20000",
                           "--json", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    d = json.loads(out.read_text())
    meta, runs = d["meta"], d["runs"]
    assert 20_000 <= meta["corpus_tokens"] < 20_400  # the line that reaches the budget is the last one
    assert meta["token_check"] == {"agree": True, "mismatches": {}}
    assert sorted((r["system"], r["mode"]) for r in runs) == [
        ("gensim", "e2e"), ("gensim", "train"), ("streamsgns", "e2e"), ("streamsgns", "train")]
    for r in runs:
        assert r["ok"] and r["system_tokens"] == meta["corpus_tokens"]
        assert r["words_per_s"] == pytest.approx(meta["corpus_tokens"] / r["wall_s"])
        for key in ("cpu_s", "words_per_cpu_s", "peak_rss_mb", "rss_before_save_mib", "vocab_size", "save_s",
                    "ws353", "simlex", "analogies", "n_vectors"):
            assert key in r, key
        assert r["n_vectors"] == r["vocab_size"] > 500 and -1 <= r["ws353"] <= 1  # scored, not an eval_error
        assert r["loaded"]["streamsgns"] == r["loaded"]["numba"] == (r["system"] == "streamsgns")
    # both systems keep the same words at min_count=5 (same tokens, same exact counts)
    vocab = {(r["system"], r["mode"]): r["vocab_size"] for r in runs}
    assert vocab[("gensim", "e2e")] == vocab[("streamsgns", "e2e")] == vocab[("gensim", "train")]
    assert set(d["summary"]) == {"e2e", "train"} and "ratio" in d["summary"]["e2e"]
    assert "words/s" in proc.stdout and str(out) in proc.stdout


@needs_gensim
def test_bench_vs_gensim_multi_epoch_and_multi_pass_systems(tmp_path):
    """The moonshot's systems: gensim-2ep trains 2 epochs, streamsgns-2p streams the file twice,
    streamsgns-replay1 reads it once with SGNS(replay=1), streamsgns-replay2-end with SGNS(replay=2,
    replay_at="end"): every token read trained twice more at the file's end."""
    from streamsgns_tools.corpora import fetch

    lee = fetch("lee", cache_dir=tmp_path / "data")
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    # 40,000 tokens: replay rounds run every streamsgns.replay.REPLAY_EVERY (16,384) tokens read
    proc = subprocess.run([sys.executable, str(SCRIPT), "--corpus", str(lee), "--max-tokens", "40000", "--modes",
                           "e2e", "--systems", "gensim-2ep,streamsgns-2p,streamsgns-replay1,streamsgns-replay2-end",
                           "--replay-buffer", "100000", "--no-eval", "--json", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    d = json.loads(out.read_text())
    n = d["meta"]["corpus_tokens"]
    got = {r["system"]: r["system_tokens"] for r in d["runs"]}
    assert got == {"gensim-2ep": n, "streamsgns-2p": 2 * n, "streamsgns-replay1": n,
                   "streamsgns-replay2-end": n}  # words_seen: both passes
    replayed = {r["system"]: r["progress"]["replayed"] for r in d["runs"] if r["system"].startswith("streamsgns")}
    assert replayed["streamsgns-replay1"] > 0 and replayed["streamsgns-2p"] == 0  # one read, trained again
    assert replayed["streamsgns-replay2-end"] == 2 * n  # the whole file, twice more, at its end
    assert d["meta"]["token_check"]["agree"]
    assert d["meta"]["learning_rules"]["gensim"] == {"alpha": 0.025, "min_alpha": 1e-4}
    assert "gensim-2ep" in proc.stdout and "streamsgns-2p" in proc.stdout
    bad = subprocess.run([sys.executable, str(SCRIPT), "--systems", "gensim-0ep"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert bad.returncode == 2 and "unknown system" in bad.stderr
