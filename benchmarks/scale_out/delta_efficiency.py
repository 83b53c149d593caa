"""The efficiency model of ``docs/scale-out.md`` re-fitted on the per-round costs the simulator measured.

Reads ``benchmarks/scale_out/results/simulate.jsonl`` (``simulate.py``): for each simulated N, the
medians over the second half of the rounds (the vocabulary has grown: the costs of a long run) of
the bytes a replica sends (``U``), the bytes of the merged update each replica fetches (``D``),
the seconds to merge all N deltas (``m``), to compute (and encode) one delta (``c``) and to take
the merged state (``l``: applying the update in place, ``apply_inplace_s``, where the run measured
it; else loading it with ``SGNS.from_state``, ``apply_s``, the replicas' former path); ``T`` is the one-process run's tokens per second (same corpus and settings, same
shared machine: a dedicated core is faster, which makes the sync share *worse*), ``tau`` the
simulator's tokens per replica per round, ``B`` = 1.25 GB/s (10 Gbit/s).

Two schedules of one round:

* **as built** (``streamsgns.distributed.job``: one merge actor, bulk-synchronous): every delta
  goes to the merge actor's link and every merged update comes out of it,
  ``round = tau/T + c + l + m/N + N·(U + D)/B + m`` (``m/N``: a replica applying the update);
* **overlapped** (``ReplicaJob(overlap=True)``, one merge actor: the merge of round ``r`` and its
  traffic run while the replicas train round ``r + 1``; a replica computes its delta and takes the
  previous update late, ``l`` then the late apply, ``late_apply_s``, where the run measured it):
  ``round = c + l + max(tau/T, N·(U + D)/B + m)``;
* **sharded and overlapped** (rows sharded by hash over the N replicas: reduce-scatter of the
  deltas then all-gather of the merged slices, the exchange running while the next round
  trains): ``round = c + l + m/N + max(tau/T, (2U + D)/B + m/N)``.

Efficiency = ``(tau/T) / round`` (N machines against N independent ones). Also printed: the
``tau`` at which the sharded schedule reaches 80 % (``tau/T >= 4·(c + l + m/N)``, the exchange
hidden). Writes ``benchmarks/scale_out/results/delta_efficiency.json`` (or ``--out``).

Usage::

    python benchmarks/scale_out/delta_efficiency.py [--runs results/simulate.jsonl] [--out results/delta_efficiency.json]
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
B = 10e9 / 8


def fit(run: dict, T: float) -> dict:
    h = run["history"][len(run["history"]) // 2:]
    med = statistics.median
    U = med(med(r["bytes_up"]) for r in h)
    D = med(r["bytes_down"] for r in h)
    m = med(r["merge_s"] for r in h)
    c = med(med(r["delta_s"]) for r in h)
    late = "late_apply_s" in h[0]
    l = med(med(r["late_apply_s"]) for r in h) if late else med(r.get("apply_inplace_s", r["apply_s"]) for r in h)
    ck = med(r["checkpoint_bytes"] for r in h)
    N, tau = run["replicas"], run["sync_tokens"]
    train = tau / T
    local = c + l + m / N
    built = train + local + N * (U + D) / B + m
    sharded = local + max(train, (2 * U + D) / B + m / N)
    overlapped = c + l + max(train, N * (U + D) / B + m)
    return {"N": N, "tau": tau, "rows": run.get("rows"), "fp16": run.get("fp16", False),
            "rare_below": run.get("rare_below", 0), "commit": run.get("commit"), "apply": "late" if late else "in place" if "apply_inplace_s" in h[0] else "from_state",
            "overlap": bool(run.get("overlap")), "U_MB": U / 1e6, "D_MB": D / 1e6,
            "checkpoint_MB": ck / 1e6, "U_over_checkpoint": U / ck, "merge_s": m, "delta_s": c, "load_s": l,
            "train_s": train, "efficiency_as_built": train / built, "efficiency_sharded_overlapped": train / sharded,
            "efficiency_overlapped": train / overlapped,
            "tau_for_80pct_sharded": int(4 * local * T)}


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default=str(HERE / "results" / "simulate.jsonl"), help="simulate.py's JSON lines")
    ap.add_argument("--out", default=str(HERE / "results" / "delta_efficiency.json"))
    args = ap.parse_args(argv)
    runs = [json.loads(x) for x in Path(args.runs).read_text(encoding="utf-8").splitlines() if x]
    singles = [r for r in runs if r["kind"] == "single"]
    T = statistics.median(r["tokens"] / r["train_s"] for r in singles)
    rows = [fit(r, T) for r in runs if r["kind"] == "sim" and len(r["history"]) >= 2]
    print(f"T = {T / 1e3:.0f}k tokens/s (one process, cooc + averages on, shared machine); B = 10 Gbit/s")
    print(f"{'N':>3} {'tau':>6} {'rows':>6} {'wire':>10} {'U MB':>6} {'D MB':>6} {'U/ckpt':>6} {'merge s':>7} "
          f"{'delta s':>7} {'load s':>6} {'train s':>7} {'built':>6} {'overlap':>7} {'sharded':>7} {'tau@80%':>8} {'commit':>8}")
    for f in rows:
        wire = ("fp16" if f["fp16"] else "fp32") + (f"/R{f['rare_below']}" if f["rare_below"] else "") + \
            ("/ovl" if f["overlap"] else "")
        print(f"{f['N']:>3} {f['tau']:>6} {f['rows']:>6} {wire:>10} {f['U_MB']:>6.1f} {f['D_MB']:>6.1f} {f['U_over_checkpoint']:>6.2f} "
              f"{f['merge_s']:>7.2f} {f['delta_s']:>7.3f} {f['load_s']:>6.3f} {f['train_s']:>7.2f} "
              f"{f['efficiency_as_built']:>6.1%} {f['efficiency_overlapped']:>7.1%} {f['efficiency_sharded_overlapped']:>7.1%} {f['tau_for_80pct_sharded']:>8} {f['commit'] or '-':>8}")
    print("\nquality (one line per run of simulate.jsonl):")
    print(f"{'run':>28} {'seed':>4} {'tokens':>9} {'rounds':>6} {'WS353':>6} {'SimLex':>6} {'analog.':>7}")
    for r in runs:
        name = "one process" if r["kind"] == "single" else \
            f"N={r['replicas']} tau={r['sync_tokens'] // 1000}k {r.get('rows')}" + \
            (f" k={r['stiffness']:g}" if r.get("stiffness") else "") + (" fp16" if r.get("fp16") else "") + \
            (f" R{r['rare_below']}" if r.get("rare_below") else "") + (" overlap" if r.get("overlap") else "")
        print(f"{name:>28} {r['seed']:>4} {r['tokens']:>9} {r.get('rounds', '-'):>6} {r['ws353']:>6.3f} "
              f"{r['simlex']:>6.3f} {r['analogies']:>7.3f}")
    out = {"T_tokens_per_s": T, "link_bytes_per_s": B, "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
