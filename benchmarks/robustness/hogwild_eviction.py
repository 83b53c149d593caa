"""Training threads under constant eviction on real text: ``workers=2`` with a small ``max_vocab``.

Streams a corpus (default: the whole "mix" corpus) through ``SGNS(workers=W, max_vocab=N)``
for W = 2 and W = 1, and reports words/s, evictions, the driver's waits for in-flight batches
(``drains``), whether W and C are finite, and the nearest neighbours of frequent words, plus the
Spearman fit of W·Cᵀ to PMI − log k over the 200 most frequent tracked words. Writes JSON.

    python benchmarks/robustness/hogwild_eviction.py --corpus data/mix.txt --max-vocab 5000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*

from benchmarks.common import RESULTS  # noqa: E402
from streamsgns import SGNS  # noqa: E402

PROBES = ("water", "president", "music", "doctor", "king", "war", "money", "city")


def run(corpus: str, workers: int, max_vocab: int, limit: int | None) -> dict:
    m = SGNS(workers=workers, max_vocab=max_vocab, seed=0)
    t0 = time.perf_counter()
    with open(corpus, "rb") as f:
        done = 0
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            cut = block.rfind(b"\n") + 1 or len(block)
            f.seek(cut - len(block), 1)
            m.learn_text(block[:cut])
            done += cut
            if limit and done >= limit:
                break
    m.flush()
    seconds = time.perf_counter() - t0
    finite = bool(np.isfinite(m.W).all() and np.isfinite(m.C).all())
    p = m.progress()
    out = {"workers": workers, "max_vocab": max_vocab, "words": m.words_seen, "seconds": seconds,
           "words_per_s": m.words_seen / seconds, "vocab_size": m.vocab_size, "evicted": p["evicted"],
           "drains": m._trainer.drains, "finite": finite,
           "pmi_spearman_top200": float(m.pmi_report(top=200)["spearman"]) if finite else None,
           "neighbours": {w: [x for x, _ in m.most_similar(w, topn=8)] for w in PROBES if w in m and finite}}
    m.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--max-vocab", type=int, default=5000)
    ap.add_argument("--limit-mbytes", type=float, default=None)
    ap.add_argument("--out", default=str(RESULTS / "hogwild_eviction.json"))
    args = ap.parse_args(argv)
    limit = int(args.limit_mbytes * (1 << 20)) if args.limit_mbytes else None
    results = [run(args.corpus, w, args.max_vocab, limit) for w in (2, 1)]
    for r in results:
        print(f"workers={r['workers']}: {r['words']:,} words in {r['seconds']:.1f} s ({r['words_per_s']:,.0f}/s), "
              f"evicted {r['evicted']:,}, drains {r['drains']:,}, finite {r['finite']}, "
              f"PMI Spearman {r['pmi_spearman_top200']}")
        for w, nn in r["neighbours"].items():
            print(f"    {w:>10}: {', '.join(nn)}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"corpus": args.corpus, "results": results, "load": os.getloadavg()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
