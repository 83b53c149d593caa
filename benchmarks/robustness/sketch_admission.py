"""How much ``min_count`` still means on real text: admitted words whose true count is below it.

Issue 11.5: with a 65,536-wide sketch that never ages, 52 % of the words admitted from the real
"mix" corpus occur fewer than 5 times in it (the sketch's overestimates admit them). This script
learns a corpus once with ``SGNS(min_count=5, ...)`` (training kept cheap: ``vector_size=8``,
``negative=1``, no co-occurrence statistics; admission does not depend on it) for each setting,
each in a fresh child process whose ``PYTHONPATH`` names the code to use, and counts the admitted
words whose exact count in the corpus (river's pattern on lowercased lines, as the kernel
tokenises) is below ``min_count``.

Usage::

    python benchmarks/robustness/sketch_admission.py                   # corpus "mix", before and after
    python benchmarks/robustness/sketch_admission.py --corpus brown --before 36eb178

Writes ``benchmarks/results/sketch_admission.json`` and prints a table; results in ``benchmarks/robustness/sketch_aging.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the checkout (benchmarks.*, streamsgns_tools) goes LAST on sys.path: a child imports streamsgns from
# its PYTHONPATH (the checkout under test, e.g. an older commit), which must win over this tree.
sys.path.append(str(ROOT))

from benchmarks.common import RESULTS  # noqa: E402
from benchmarks.robustness.junk_flood import BEFORE_REV, _extract  # noqa: E402

PATTERN = re.compile(r"(?u)\b\w[\w\-]+\b")


def child(path: str, kwargs: dict) -> dict:
    from streamsgns import SGNS

    m = SGNS(vector_size=8, negative=1, track_cooc=False, seed=0, **kwargs)
    t0 = time.perf_counter()
    m.learn_file(path)
    sk = m.vocab.sketch
    return {"words": [w for w in m.index_to_key if w is not None], "wall_s": time.perf_counter() - t0,
            "words_seen": m.words_seen, "sketch_total": sk.total, "halvings": int(getattr(sk, "n_halvings", 0))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="mix", help="a streamsgns.datasets name or a text file")
    p.add_argument("--before", default=BEFORE_REV)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--out", default=str(RESULTS / "sketch_admission.json"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--kwargs", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, json.loads(args.kwargs))))
        return 0
    path = args.corpus if os.path.isfile(args.corpus) else None
    if path is None:
        try:  # the corpus downloader moved from streamsgns.datasets to streamsgns_tools.corpora
            from streamsgns_tools.corpora import fetch
        except ImportError:
            from streamsgns.datasets import fetch

        path = str(fetch(args.corpus))
    counts = Counter()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            counts.update(PATTERN.findall(line.lower()))
    before = _extract(args.before, Path(tempfile.gettempdir()) / f"streamsgns-junk-flood-{args.before}")
    mc = args.min_count
    runs = []
    for width in (1 << 16, 1 << 20):
        runs.append((f"before ({args.before})", before, {"min_count": mc, "sketch_width": width}))
        runs.append(("after (default aging)", ROOT, {"min_count": mc, "sketch_width": width}))
        runs.append(("after, H = width·(min_count−1)/(2e)", ROOT,
                     {"min_count": mc, "sketch_width": width, "sketch_halving_tokens": int(width * (mc - 1) / 5.43656)}))
    results = []
    for name, code, kwargs in runs:
        env = {**os.environ, "PYTHONPATH": str(code)}
        r = subprocess.run([sys.executable, __file__, "--child", path, "--kwargs", json.dumps(kwargs)], env=env,
                           cwd=tempfile.gettempdir(), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        words = set(out.pop("words"))
        rare = sum(1 for w in words if counts[w] < mc)
        true_vocab = sum(1 for c in counts.values() if c >= mc)
        results.append({"version": name, **kwargs, "admitted": len(words), "below_min_count": rare,
                        "share_below": rare / max(1, len(words)), "words_with_true_count_ge_min": true_vocab,
                        "missed": sum(1 for w, c in counts.items() if c >= mc) - (len(words) - rare),
                        "missed_tokens": sum(c for w, c in counts.items() if c >= mc and w not in words), **out})
        print(f"{name} width {kwargs['sketch_width']}: {len(words):,} admitted, {rare:,} below", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"corpus": path, "tokens": sum(counts.values()), "results": results}, indent=1))
    n_tok = sum(counts.values())
    print("| version | sketch width | H (tokens) | admitted | true count < min_count | share | words with "
          "true count >= min_count not admitted | their share of the tokens | halvings |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        h = r.get("sketch_halving_tokens", "default" if r["version"].startswith("after") else "never")
        print(f"| {r['version']} | {r['sketch_width']:,} | {h} | {r['admitted']:,} | {r['below_min_count']:,} | "
              f"{100 * r['share_below']:.1f} % | {r['missed']:,} of {r['words_with_true_count_ge_min']:,} | "
              f"{100 * r['missed_tokens'] / n_tok:.2f} % | {r['halvings']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
