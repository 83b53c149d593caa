"""Cost of one merge on the driver as replicas are added: seconds and bytes for K = 2, 4, 8, 16, 32, 64.

Two replicas are trained in this process from one base (the first 1M tokens of ``mix``; each
replica then trains ``--round`` more tokens of its own), and their state dicts are merged K/2
times each (``merge_states(base, [a, b] * (K // 2))``), as the driver of a K-replica job would at
every sync. Reported: seconds of ``merge_states`` plus ``SGNS.from_state`` (the driver validates
every merged state), and the bytes that move (K states up, K copies of the merged state down).
Used for the scaling estimate of ``docs/scale-out.md``. The machine has 2 cores shared by 4 agents
(noisy). Writes ``benchmarks/results/merge_scaling.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS  # noqa: E402


def main() -> int:
    import argparse

    from benchmarks.scale_out.ray_replicas import SETTINGS, corpus_lines

    from streamsgns import SGNS
    from streamsgns.distributed.merge import merge_states, state_nbytes

    ap = argparse.ArgumentParser()
    ap.add_argument("--round", type=int, default=200_000, help="tokens per replica in the round")
    ap.add_argument("--ks", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    args = ap.parse_args()
    lines, corpus = corpus_lines(1_000_000 + 2 * args.round)
    cut = int(len(lines) * 1_000_000 / (1_000_000 + 2 * args.round))
    half = (len(lines) - cut) // 2
    base_m = SGNS(**SETTINGS)
    base_m.learn_many(lines[:cut])
    base = base_m.state_dict()
    reps = []
    for part in (lines[cut:cut + half], lines[cut + half:]):
        r = SGNS.from_state(base)
        r.learn_many(part)
        reps.append(r.state_dict())
    out = {"corpus": corpus, "base_tokens": base_m.words_seen, "round_tokens_per_replica": args.round,
           "vocab_size": base_m.vocab_size, "vector_size": SETTINGS["vector_size"],
           "state_bytes": state_nbytes(reps[0]), "sketch_bytes": int(reps[0]["vocab"]["sketch"]["table"].nbytes),
           "machine": "2 cores shared by 4 agents (noisy)", "runs": []}
    print(f"base {base_m.words_seen} tokens, vocabulary {base_m.vocab_size}, one state {out['state_bytes'] / 1e6:.1f} MB")
    print(f"{'K':>4} {'merge s':>8} {'load s':>7} {'s/replica':>9} {'MB up':>7} {'MB down':>8}")
    for k in args.ks:
        states = reps * (k // 2)
        times, loads = [], []
        for _ in range(3 if k <= 16 else 1):
            t0 = time.perf_counter()
            merged = merge_states(base, states, rows="sum")
            t1 = time.perf_counter()
            SGNS.from_state(merged)
            t2 = time.perf_counter()
            times.append(t1 - t0)
            loads.append(t2 - t1)
        row = {"k": k, "merge_s": statistics.median(times), "load_s": statistics.median(loads),
               "bytes_up": sum(state_nbytes(s) for s in states), "bytes_down": state_nbytes(merged) * k}
        out["runs"].append(row)
        print(f"{k:>4} {row['merge_s']:>8.3f} {row['load_s']:>7.3f} {row['merge_s'] / k:>9.4f} "
              f"{row['bytes_up'] / 1e6:>7.0f} {row['bytes_down'] / 1e6:>8.0f}", flush=True)
    path = RESULTS / "merge_scaling.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
