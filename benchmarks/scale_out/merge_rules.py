"""Merge rules of W and C rows on short runs: the replicas' training loss round by round, and the scores.

The simulator's replicas (:mod:`benchmarks.scale_out.simulate`: one process, the stream split as
Kafka partitions would split it, the delta merge) on the first ``--tokens`` tokens of ``mix``,
without co-occurrence statistics or averaged iterates (faster; the rows' merge is what is
compared), for one rule (``--rows sum|scaled|gain``, ``--stiffness``, ``--step-cap``, ``--max-step``),
N and ``--sync-tokens`` (or ``--round-tokens``: tokens of a merged round, ``/N`` per replica). Printed
per run: the mean SGNS loss (nats per trained pair) the replicas saw while training each round (a
merge that overshoots makes it rise), and WS353 / SimLex-999 / analogies of the last iterate.
Appends to ``benchmarks/scale_out/results/merge_rules.jsonl``.

Usage::

    python benchmarks/scale_out/merge_rules.py --tokens 1000000 --replicas 2 4 --rows sum
    python benchmarks/scale_out/merge_rules.py --tokens 3000000 --replicas 4 --rows scaled --stiffness 9
    python benchmarks/scale_out/merge_rules.py --tokens 3000000 --replicas 16 --round-tokens 200000 --rows gain \
        --max-step 8 --stiffness 3
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout: benchmarks.*, streamsgns_tools

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, track_cooc=False, average_eta=None,
                detect_changes=False)


def run(lines, ntok, n: int, tau: int, rows: str, stiffness, seed: int = 0, step_cap=None, max_step=None) -> dict:
    from benchmarks.scale_out.common import learn_lines, scores
    from benchmarks.scale_out.simulate import chunks, load_replica, shares
    from streamsgns import SGNS
    from streamsgns.distributed.delta import merge_deltas, model_delta

    per = [chunks(s, ntok, tau) for s in shares(len(lines), n)]
    base = SGNS(**SETTINGS, seed=seed).state_dict()
    losses = []
    for r in range(max(len(p) for p in per)):
        deltas, loss = [], []
        for k in range(n):
            if r >= len(per[k]):
                continue
            m = load_replica(base, seed, k, r + 1, n, rows, step_cap, max_step)
            m.take_loss()
            learn_lines(m, [lines[i] for i in per[k][r]])
            loss.append(m.take_loss())
            deltas.append(model_delta(m.state_dict(), base))
            m.close()
            del m
            gc.collect()
        base = merge_deltas(base, deltas, rows=rows, stiffness=stiffness, replicas=n, step_cap=step_cap,
                            max_step=max_step)
        losses.append(float(np.mean(loss)))
    model = SGNS.from_state(base)
    return {"replicas": n, "sync_tokens": tau, "rows": rows, "stiffness": stiffness, "seed": seed, "step_cap": step_cap,
            "max_step": max_step,
            "tokens": model.words_seen, "loss_per_round": losses, **scores(model)}


def main(argv=None) -> int:
    from benchmarks.scale_out.common import learn_lines, scores
    from benchmarks.scale_out.simulate import _commit, corpus

    from streamsgns import SGNS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--replicas", type=int, nargs="+", default=[2, 4], help="0: one process")
    ap.add_argument("--sync-tokens", type=int, default=50_000)
    ap.add_argument("--rows", choices=["sum", "scaled", "gain"], default="sum",
                    help="merge rule of W and C rows (gain: with the replicas' evidence-aware steps)")
    ap.add_argument("--stiffness", type=float, default=0.0, help="of --rows scaled and gain; <= 0: none")
    ap.add_argument("--step-cap", type=float, default=None, help="of --rows gain (default: N)")
    ap.add_argument("--max-step", type=float, default=None, help="of --rows gain: replica steps <= this * alpha")
    ap.add_argument("--round-tokens", type=int, default=None,
                    help="tokens of a merged round: each replica trains round-tokens / N (overrides --sync-tokens)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    lines, ntok = corpus(args.tokens)
    out = HERE / "results" / "merge_rules.jsonl"
    commit = _commit()  # of the code this process runs (taken at start)
    out.parent.mkdir(parents=True, exist_ok=True)
    for n in args.replicas:
        if n == 0:
            m = SGNS(**SETTINGS, seed=args.seed)
            learn_lines(m, lines)
            res = {"replicas": 0, "tokens": m.words_seen, **scores(m)}
        else:
            tau = args.round_tokens // n if args.round_tokens else args.sync_tokens
            res = run(lines, ntok, n, tau, args.rows, args.stiffness if args.stiffness > 0 else None, args.seed,
                      args.step_cap, args.max_step)
        res["corpus_tokens"] = int(ntok.sum())
        res["commit"] = commit
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(res) + "\n")
        trace = res.get("loss_per_round", [])
        step = max(1, len(trace) // 10)
        print(f"N={n} tau={res.get('sync_tokens')} rows={args.rows} stiffness={args.stiffness} "
              f"step_cap={args.step_cap} max_step={args.max_step}: loss per round "
              f"{[round(x, 2) for x in trace[::step]]}, WS353 {res['ws353']:.3f}, SimLex {res['simlex']:.3f}, "
              f"analogies {res['analogies']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
