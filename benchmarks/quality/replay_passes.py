#!/usr/bin/env python
"""Replay against real passes: one read with ``SGNS(replay=R)`` versus 1 and 2 passes, same corpus.

Each configuration runs in its own subprocess with ``workers=1`` (deterministic): ``learn_file``
``passes`` times with ``SGNS(replay=R, **params)``, the exported vectors written in word2vec format
and scored with gensim's evaluation (``benchmarks/speed/vs_gensim/report.py::evaluate_vectors``:
WS353 and SimLex-999 Spearman, Google analogies 3CosAdd over the 30,000 most frequent words). One
JSON line per configuration; no timings (the quality numbers do not depend on the machine).

Usage::

    python benchmarks/quality/replay_passes.py [--corpus mix] [--configs "1:0,1:1,2:0"]
        [--param replay_buffer=8000000] [--json benchmarks/results/replay_passes.json]

``--configs`` is a comma list of ``PASSES:REPLAY``. ``--param replay_at='"end"'`` replays in stream order at
the end of each pass (:mod:`streamsgns.replay`); ``--param workers=2`` trains with two threads (not reproducible).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import corpus_file, run_child, write_json  # noqa: E402


def child(corpus: str, passes: int, replay: float, params: dict) -> dict:
    """One configuration in this process; returns its scores and counters."""
    from benchmarks.speed.vs_gensim.report import evaluate_vectors
    from streamsgns import SGNS

    m = SGNS(**{"workers": 1, "replay": replay, **params})  # --param workers=2 overrides (not deterministic)
    for _ in range(passes):
        m.learn_file(corpus)
    m.flush()
    with tempfile.TemporaryDirectory() as d:
        out = str(Path(d) / "vectors.txt")
        m.save_word2vec_format(out)
        scores = evaluate_vectors(out)
    p = m.progress()
    return {"passes": passes, "replay": replay, "params": params, "words_seen": p["words_seen"],
            "replayed": p["replayed"], "vocab_size": p["vocab_size"], **scores}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="mix", help="corpus name (streamsgns_tools.corpora) or a path")
    ap.add_argument("--cache", default=None, help="corpus cache directory")
    ap.add_argument("--configs", default="1:0,1:1,2:0", help="comma list of PASSES:REPLAY")
    ap.add_argument("--param", action="append", default=[], help="SGNS parameter, NAME=JSON (all configurations)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        spec = json.loads(args._child)
        print(json.dumps(child(spec["corpus"], spec["passes"], spec["replay"], spec["params"])))
        return 0
    corpus = str(corpus_file(args.corpus, args.cache))
    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}
    results = []
    for cfg in args.configs.split(","):
        passes, replay = cfg.split(":")
        spec = json.dumps({"corpus": corpus, "passes": int(passes), "replay": float(replay), "params": params})
        try:
            results.append(run_child(__file__, spec))
        except RuntimeError as e:
            print(e, file=sys.stderr)
            return 1
        print(json.dumps(results[-1]), flush=True)
    if args.json:
        write_json(args.json, {"corpus": corpus, "runs": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
