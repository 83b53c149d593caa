"""Measure the largest learning rate that SGD on SGNS survives on real text (the bound of ``SGNS(alpha=...)``).

For each alpha (held constant: ``min_alpha = alpha``, the worst case), vector size, ``negative`` and
``window``, train three passes over gensim's Lee corpus and record whether W and C stay finite and
their largest absolute entry. Prints a table and writes JSON (default ``benchmarks/results/alpha_bound.json``).

    python benchmarks/learning_rule/alpha_bound.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools, tests.helpers_core

from benchmarks.common import RESULTS  # noqa: E402
from tests.helpers_core import lee_lines  # noqa: E402
from streamsgns import SGNS, validation  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alphas", default="0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "alpha_bound.json"))
    args = ap.parse_args(argv)
    validation.MAX_ALPHA = 10.0  # measure beyond the bound
    lines = list(lee_lines())
    rows = []
    t0 = time.time()
    for alpha, d, neg, win in itertools.product([float(a) for a in args.alphas.split(",")], [50, 100, 300], [5, 15],
                                                [5, 10]):
        m = SGNS(vector_size=d, negative=neg, window=win, alpha=alpha, min_alpha=alpha, min_count=2, seed=0,
                 track_cooc=False)
        finite = True
        for _ in range(args.passes):
            m.learn_many(lines)
            if not (np.isfinite(m.W).all() and np.isfinite(m.C).all()):
                finite = False
                break
        rows.append({"alpha": alpha, "vector_size": d, "negative": neg, "window": win, "finite": finite,
                     "max_abs_W": float(np.abs(m.W).max()) if finite else None})
    print(f"{'alpha':>6} {'finite':>8} {'largest |W|':>14}")
    for alpha in sorted({r["alpha"] for r in rows}):
        rs = [r for r in rows if r["alpha"] == alpha]
        big = max((r["max_abs_W"] for r in rs if r["finite"]), default=float("nan"))
        print(f"{alpha:>6} {sum(r['finite'] for r in rs):>4}/{len(rs):<3} {big:>14.4g}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"corpus": "lee_background.cor", "passes": args.passes, "seconds": time.time() - t0, "rows": rows},
                  f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
