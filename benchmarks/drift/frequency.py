"""A planted frequency change: does the model's picture of a word's frequency follow the stream?

After a past of ``--passes`` passes over the ``mix`` corpus (lines shuffled each pass), the stream
goes on with a random half of the corpus in which

* **rises**: every sentence holding one of :data:`RISE` is repeated ten times (its word's rate rises
  about 10×; the words beside it rise too, less);
* **vanishes**: every token of :data:`VANISH` is dropped.

Every ``--every`` tokens after the change the script reads, for each word, the share of the
model's noise distribution (``count^0.75`` normalised, what negatives are drawn from), its
subsampling keep-probability (``(sqrt(f/(s·T)) + 1)·s·T/f``, word2vec.c's rule, Mikolov et al.
2013 sec. 2.3) and whether it is still in the vocabulary, against the same numbers computed from the
stream's *current* counts (the rate of the change segment). Reported: the tokens until the model's
noise share has moved half of the way (log scale) to the new one, for each ``--half-lives`` setting
(``none`` = no forgetting, the default model) in the same run.

    python benchmarks/drift/frequency.py --half-lives none,2M,5M
    python benchmarks/drift/frequency.py --passes 1 --after 6M

Prints a table, writes ``benchmarks/results/drift_frequency.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, environment, parse_tokens, write_json  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns_tools.corpora import read_token_lists  # noqa: E402

RISE = ["music", "doctor", "river"]
VANISH = ["king", "money", "church"]


def change_segment(tl, seed):
    order = np.random.default_rng([seed, 10_000]).permutation(len(tl))[: len(tl) // 2]
    rise, gone = set(RISE), set(VANISH)
    out = []
    for i in order:
        s = [w for w in tl[i] if w not in gone]
        out.extend([s] * (10 if rise.intersection(s) else 1))
    return out


def model_view(m: SGNS, words, sample: float) -> dict:
    counts = m.counts.astype(np.float64)
    total = counts.sum()
    p = counts ** 0.75
    p /= p.sum()
    out = {}
    for w in words:
        i = m.key_to_index.get(w)
        if i is None or counts[i] <= 0:
            out[w] = {"noise": 0.0, "keep": None, "present": False}
            continue
        f = counts[i]
        thr = sample * total
        keep = 1.0 if f <= thr else (math.sqrt(f / thr) + 1) * thr / f
        out[w] = {"noise": float(p[i]), "keep": keep, "present": True}
    return out


def stream_view(counter: Counter, words, sample: float, min_count: int) -> dict:
    total = sum(counter.values())
    p_all = sum(c ** 0.75 for c in counter.values() if c >= min_count)
    out = {}
    for w in words:
        f = counter.get(w, 0)
        thr = sample * total
        out[w] = {"noise": (f ** 0.75 / p_all) if f >= min_count else 0.0,
                  "keep": None if f == 0 else (1.0 if f <= thr else (math.sqrt(f / thr) + 1) * thr / f)}
    return out


def halfway(points, w, before, target) -> int | None:
    """Tokens after the change at which the model's noise share of ``w`` is half-way (log scale) to ``target``."""
    if before <= 0:
        return None
    for p in points:
        now = p["model"][w]["noise"]
        if target <= 0:
            if now <= before / 2:  # a vanished word: its share has halved (or the word has left)
                return p["tokens"]
        elif abs(math.log(max(now, 1e-12) / target)) <= abs(math.log(before / target)) / 2:
            return p["tokens"]
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--max-tokens", default=None, help="use only the first lines of the corpus, e.g. 4M")
    ap.add_argument("--half-lives", default="none,2M,5M")
    ap.add_argument("--after", default="6M", help="tokens after the change")
    ap.add_argument("--every", default="250k", help="tokens between two readings")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS / "drift_frequency.json"))
    args = ap.parse_args(argv)
    tl = read_token_lists(corpus_file(args.corpus, args.cache), parse_tokens(args.max_tokens) if args.max_tokens else None)
    change = change_segment(tl, args.seed)
    after, every = parse_tokens(args.after), parse_tokens(args.every)
    words = RISE + VANISH
    res = {"env": environment(), "args": vars(args), "rise": RISE, "vanish": VANISH, "runs": {}}
    truth = stream_view(Counter(t for s in change for t in s), words, 1e-3, 5)
    for hl in args.half_lives.split(","):
        H = None if hl == "none" else parse_tokens(hl)
        t0 = time.perf_counter()
        m = SGNS(seed=args.seed, half_life=H)
        for p in range(args.passes):
            order = np.random.default_rng([args.seed, p]).permutation(len(tl))
            m.learn_many(tl[i] for i in order)
        w0 = m.words_seen
        before = model_view(m, words, m.sample)
        points, block, n = [], [], 0
        for s in change:
            block.append(s)
            n += len(s)
            if n >= every:
                m.learn_many(block)
                block, n = [], 0
                points.append({"tokens": m.words_seen - w0, "model": model_view(m, words, m.sample)})
                if m.words_seen - w0 >= after:
                    break
        half = {w: halfway(points, w, before[w]["noise"], truth[w]["noise"]) for w in words}
        res["runs"][hl] = {"before": before, "points": points, "halfway_tokens": half,
                           "seconds": time.perf_counter() - t0}
        print(f"half_life {hl}: " + ", ".join(f"{w} {'-' if h is None else f'{h / 1e6:.2f}M'}" for w, h in half.items()),
              flush=True)
    res["truth"] = truth
    print("| half_life | " + " | ".join(f"{w} ({'×10' if w in RISE else 'gone'})" for w in words) + " |")
    print("|---|" + "---|" * len(words))
    for hl, r in res["runs"].items():
        cells = ["not within " + args.after if r["halfway_tokens"][w] is None else f"{r['halfway_tokens'][w] / 1e6:.2f}M"
                 for w in words]
        print(f"| {hl} | " + " | ".join(cells) + " |")
    write_json(args.out, res)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
