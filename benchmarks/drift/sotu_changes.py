"""Change events on real text: the State of the Union addresses (1790–2021), in time order, one pass.

Each run streams every address once through ``SGNS`` with its defaults (change detection on)
and keeps its change events (``SGNS.changes()``), each dated by the address being read when it
fired. The **control** streams the same addresses in a random order (a time-shuffled stream,
Dubossarsky, Weinshall & Grossman 2017, "Outta Control: Laws of Semantic Change and Inherent
Biases in Word Representation Models", EMNLP, sec. 4): a detector that reports the same events
there reports noise, not history. Seeds 0–2 of each order in one run; an event *reproduces* when
the same word fires in every seed of the time-ordered stream; the table lists those that do and
do not fire in any control seed, with their dates and neighbours before/after.

    python benchmarks/drift/sotu_changes.py                 # seeds 0,1,2, both orders
    python benchmarks/drift/sotu_changes.py --seeds 0
    python benchmarks/drift/sotu_changes.py --burst-min-tests 40   # burst rates counted after 40 tests

Prints a table, writes ``benchmarks/results/drift_sotu_changes.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, environment, write_json  # noqa: E402
from streamsgns import SGNS  # noqa: E402
from streamsgns.tokenize import tokenize  # noqa: E402


def run(addresses, order, seed, follow, burst_min_tests=None):
    m = SGNS(seed=seed)
    if burst_min_tests is not None:  # the change detector's option (streamsgns.change.ChangeDetector)
        m.detect.burst_min_tests = burst_min_tests
    m.change_log.follow_tokens = follow
    dated = []
    for i in order:
        year, _, lines = addresses[i]
        before = m.words_seen
        m.learn_many([tokenize(x) for x in lines])
        for c in m.changes():
            if before < c["tokens"] <= m.words_seen:
                dated.append({**c, "year": year})
    after = {e["rec"]: e["neighbours_after"] for e in m.changes()}  # known by the end for most
    for d in dated:
        d["neighbours_after"] = after.get(d["rec"])
    return {"tokens": m.words_seen, "vocab_size": m.vocab_size, "events": dated,
            "per_1000_words_per_10M": 1000 * len(dated) / m.vocab_size / (m.words_seen / 1e7)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--follow", type=int, default=200_000, help="tokens between a change and its 'after' neighbours")
    ap.add_argument("--burst-min-tests", type=int, default=None,
                    help="tests before a word's burst rate counts (ChangeDetector.burst_min_tests; default: its default)")
    ap.add_argument("--out", default=str(RESULTS / "drift_sotu_changes.json"))
    args = ap.parse_args(argv)
    from streamsgns_tools.corpora import iter_sotu_addresses

    addresses = list(iter_sotu_addresses(args.cache))
    seeds = [int(s) for s in args.seeds.split(",")]
    res = {"env": environment(), "args": vars(args), "addresses": len(addresses), "time": {}, "control": {}}
    for seed in seeds:
        for kind in ("time", "control"):
            order = list(range(len(addresses))) if kind == "time" else \
                list(np.random.default_rng([seed, 99]).permutation(len(addresses)))
            t0 = time.perf_counter()
            r = res[kind][str(seed)] = run(addresses, order, seed, args.follow, args.burst_min_tests)
            print(f"seed {seed} {kind:7s}: {len(r['events'])} events in {r['tokens']:,} tokens "
                  f"({r['per_1000_words_per_10M']:.2f} per 1,000 words per 10M tokens), {time.perf_counter() - t0:.0f} s",
                  flush=True)
    words = lambda kind, s: {e["word"] for e in res[kind][str(s)]["events"]}  # noqa: E731
    in_all = set.intersection(*(words("time", s) for s in seeds))
    in_control = set.union(*(words("control", s) for s in seeds))
    ctl_all = set.intersection(*(words("control", s) for s in seeds))
    res["reproduced_in_time_order"] = sorted(in_all)
    res["reproduced_not_in_control"] = sorted(in_all - in_control)
    res["reproduced_in_control"] = sorted(ctl_all)
    print(f"\nwords firing in every time-ordered seed: {len(in_all)}; of those in no control seed: "
          f"{len(in_all - in_control)}; words firing in every control seed: {len(ctl_all)}")
    first = {e["word"]: e for e in reversed(res["time"][str(seeds[0])]["events"])}
    print("| word | year (seed 0) | neighbours before | neighbours after |")
    print("|---|---|---|---|")
    for w in sorted(in_all - in_control, key=lambda w: first[w]["year"]):
        e = first[w]
        after = ", ".join((e.get("neighbours_after") or [])[:5]) or "–"
        print(f"| {w} | {e['year']} | {', '.join(e['neighbours_before'][:5])} | {after} |")
    write_json(args.out, res)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
