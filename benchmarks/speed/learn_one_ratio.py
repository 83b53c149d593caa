#!/usr/bin/env python
"""``learn_one`` (river's path, one sentence per call) against ``learn_many`` on the same model, in one process.

A model first learns a prefix of the corpus (``--warm`` lines, so that the vocabulary and the noise
table are those of a running stream); then rounds alternate: the next ``--chunk`` lines through a
loop of ``learn_one``, the following ``--chunk`` lines through one ``learn_many``. Each round's
tokens per CPU second (``time.process_time``: the process's own CPU time, so that other processes on a
shared machine weigh less than on the wall clock) and their ratio are printed; the median ratio is the
result. ``workers=1``: the two paths compute the same updates (``tests/test_learner.py`` checks that
they give bit-identical W and C), so the ratio is the per-call overhead of ``learn_one``.

    python benchmarks/speed/learn_one_ratio.py [--corpus mix.txt] [--rounds 10] [--out results/learn_one_ratio.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time

from streamsgns import SGNS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.path.join(os.environ.get("STREAMSGNS_DATA", os.path.expanduser(
        "~/.cache/streamsgns")), "mix.txt"), help="text file, one sentence per line")
    ap.add_argument("--warm", type=int, default=100_000, help="lines learnt before the rounds")
    ap.add_argument("--chunk", type=int, default=4000, help="lines per path and round")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--params", default="{}", help="SGNS parameters as JSON (workers=1 is forced)")
    ap.add_argument("--out", default=None, help="JSON file for the rounds and the median")
    args = ap.parse_args(argv)
    n = args.warm + 2 * args.rounds * args.chunk
    with open(args.corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in itertools.islice(f, n)]
    m = SGNS(**{"seed": 0, **json.loads(args.params), "workers": 1})
    m.learn_many(lines[: args.warm])
    rest = lines[args.warm:]
    rounds = []
    for r in range(args.rounds):
        out = {}
        for kind in ("learn_one", "learn_many"):
            part, rest = rest[: args.chunk], rest[args.chunk:]
            w0, t0 = m.words_seen, time.process_time()
            if kind == "learn_one":
                for line in part:
                    m.learn_one(line)
            else:
                m.learn_many(part)
            out[kind] = (m.words_seen - w0) / max(time.process_time() - t0, 1e-9)
        out["ratio"] = out["learn_one"] / out["learn_many"]
        rounds.append(out)
        print(f"round {r}: learn_one {out['learn_one']:>10,.0f} tokens/CPU s   learn_many {out['learn_many']:>10,.0f}"
              f"   ratio {out['ratio']:.2f}", flush=True)
    med = statistics.median(o["ratio"] for o in rounds)
    print(f"median ratio learn_one / learn_many: {med:.3f} "
          f"({m.words_seen / len(lines):.1f} tokens per line on average)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"corpus": args.corpus, "params": args.params, "rounds": rounds, "median_ratio": med,
                       "time": time.time()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
