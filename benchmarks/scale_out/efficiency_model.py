"""On paper: throughput and sync traffic of the replica scheme at 4, 16 and 64 machines on 10 Gbit/s.

This is a model, not a benchmark: it measures nothing itself. A cost model of one sync round is
fitted on the costs that ``benchmarks/scale_out/ray_replicas.py`` and
``benchmarks/scale_out/merge_scaling.py`` measured on this machine (run those first: their JSON
files in ``benchmarks/results/`` must exist), then evaluated for machines nobody ran:

* ``T``: tokens per second of one replica (its own machine, one core for the learner): the median
  single-process rate of ``ray_replicas.json`` (the replicas there shared 2 cores, so their own
  rate understates a dedicated machine), and the Kafka read overhead measured there (replica rate
  read + train vs learner alone);
* ``S``: bytes of one replica's state, ``8·V·d`` (W and C, float32) + the sketch (16.8 MB by
  default) + ``~36·V`` (vocabulary and noise arrays), checked against the measured state size;
* ``m``: driver seconds to merge one replica's state, per MB (``merge_scaling.json``, largest K);
* ``l``: seconds for a replica to load the merged state (``ray_replicas.json``).

One bulk-synchronous round with N replicas and ``tau`` tokens per replica:
``t = tau / T  +  2·N·S / B  +  m·N·S  +  l``, with B = 1.25 GB/s (10 Gbit/s) on the driver's
link (every state comes to the driver, the merged state goes back to each replica; Ray's object
store may fetch the broadcast from nodes that already hold it, so ``N·S`` down is the worst case).
Throughput ``N·tau / t``; efficiency against N independent machines ``(N·tau / t) / (N·T)``.

Writes ``benchmarks/results/efficiency_model.json`` and prints the table of ``docs/scale-out.md``.

    python benchmarks/scale_out/efficiency_model.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS as RES  # noqa: E402
B = 10e9 / 8  # bytes per second of a 10 Gbit/s link
SKETCH = 4 * (1 << 20) * 4  # the default count-min sketch of the vocabulary, bytes


def state_bytes(V: int, d: int) -> float:
    return 8.0 * V * d + SKETCH + 36.0 * V


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    rr = json.loads((RES / "ray_replicas.json").read_text(encoding="utf-8"))
    ms = json.loads((RES / "merge_scaling.json").read_text(encoding="utf-8"))
    singles = [r for r in rr["runs"] if r["kind"] == "single" and r["seed"] == rr["settings"]["seed"]]
    T_single = statistics.median(r["tokens_per_s"] for r in singles)
    reps = [r for r in rr["runs"] if r["kind"] == "replicas"]
    kafka_share = statistics.median(statistics.mean(r["throughput_per_replica"]) /
                                    statistics.mean(r["learner_throughput_per_replica"]) for r in reps)
    T = T_single * kafka_share  # read from Kafka + train, one dedicated core
    big = max(ms["runs"], key=lambda r: r["k"])
    m_per_byte = big["merge_s"] / big["bytes_up"]
    loads = [x for r in reps for h in r["history"] for x in h["load_s"] if x > 0]
    l = statistics.median(loads)
    check = state_bytes(ms["vocab_size"], ms["vector_size"]) / ms["state_bytes"]
    out = {"inputs": {"T_single_tokens_per_s": T_single, "kafka_read_share": kafka_share, "T_tokens_per_s": T,
                      "merge_s_per_MB": m_per_byte * 1e6, "load_s": l, "link_bytes_per_s": B,
                      "state_model_vs_measured": check},
           "rows": []}
    print(f"inputs: T = {T / 1e3:.0f}k tokens/s per replica ({T_single / 1e3:.0f}k single-process x "
          f"{kafka_share:.2f} Kafka read share), merge {m_per_byte * 1e9:.2f} s/GB on the driver, "
          f"load {l:.2f} s, state model / measured = {check:.2f}")
    print(f"{'V':>8} {'d':>4} {'tau':>8} {'N':>3} {'S MB':>6} {'GB/sync':>8} {'train s':>8} {'net s':>7} "
          f"{'merge s':>8} {'Mtok/s':>7} {'effic.':>7}")
    for V, d in ((100_000, 100), (1_000_000, 100)):
        S = state_bytes(V, d)
        for tau in (50_000, 1_000_000):
            for N in (4, 16, 64):
                train = tau / T
                net = 2 * N * S / B
                merge = m_per_byte * N * S
                t = train + net + merge + l
                thr = N * tau / t
                row = {"V": V, "d": d, "tau": tau, "N": N, "state_MB": S / 1e6, "GB_per_sync": 2 * N * S / 1e9,
                       "train_s": train, "net_s": net, "merge_s": merge, "round_s": t,
                       "tokens_per_s": thr, "efficiency": thr / (N * T)}
                out["rows"].append(row)
                print(f"{V:>8} {d:>4} {tau:>8} {N:>3} {S / 1e6:>6.0f} {2 * N * S / 1e9:>8.2f} {train:>8.2f} "
                      f"{net:>7.2f} {merge:>8.2f} {thr / 1e6:>7.2f} {thr / (N * T):>7.1%}")
    (RES / "efficiency_model.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {RES / 'efficiency_model.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
