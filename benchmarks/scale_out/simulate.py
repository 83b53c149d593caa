"""N logical replicas in one process, on the whole ``mix`` corpus, against one process with the same settings.

No Ray, no Kafka: the replicas of a sync round run one after the other in this process, each loading
the merged base (:meth:`streamsgns.SGNS.from_state`, its RNG streams re-derived per replica and
round as :class:`streamsgns.distributed.replica.Replica` does), training its share of the round,
and sending :func:`streamsgns.distributed.delta.model_delta`; :func:`~streamsgns.distributed.delta.merge_deltas`
makes the next base. This is the code the Ray replicas run, minus the transport. Replica 0 keeps
its model across rounds and takes the merged update in place
(:func:`streamsgns.distributed.apply.apply_update`, as a Ray replica does; bit for bit the same as
loading the merged state), which times the in-place apply (``apply_inplace_s``).

The stream is split as Kafka partitions would split it: the producer writes lines round-robin over
64 partitions and the partitions are shared out round-robin over the N replicas
(:func:`streamsgns.distributed.job.assign_partitions`), so replica ``k`` reads the lines ``i`` with
``(i mod 64) mod N = k``, in order. A round gives each replica ``--sync-tokens`` tokens (whole lines).

Measured per round: the replicas' delta bytes (what each sends), the merged update's bytes (what
each fetches: the delta of the merged state against the base), the checkpoint's bytes (the whole
merged state), seconds to compute a delta (per replica), to merge (all deltas, one process) and to
load the merged state (one replica). Quality: WS353 / SimLex-999 (Spearman) and Google analogies
(3CosAdd, 30k words) of the exported vectors (averaged iterates), with co-occurrence statistics and
averages on, as in one process.

Merge rules (``--rows``): ``sum``, ``scaled`` (``--stiffness``), or ``gain``: the replicas take
evidence-aware steps (:meth:`streamsgns.SGNS.extrapolate_steps` with ``--step-cap`` and ``--max-step``,
as the Ray replicas do with ``ReplicaJob(rows="gain")``) and the merge weighs each row by its gain
(``--stiffness``: by the relaxation model of the steps taken); ``docs/scale-out.md``. ``--split-steps``
(with ``--max-step``): the replicas take a step above the limit as several sub-updates of the pair
instead of cutting it (:func:`streamsgns.kernels.split_pair`; ``docs/scale-out.md``, "Split steps"). ``--round-tokens R``
gives each replica ``R/N`` tokens a round, so that a merged round stays ``R`` tokens at every N.

``--overlap`` runs the overlapped schedule of ``ReplicaJob(overlap=True)``: every replica keeps its
model across rounds, trains round ``r``, then takes the merged update of round ``r − 1`` late
(:func:`streamsgns.distributed.overlap.late_apply`) and sends its delta against the merged state of
round ``r − 1`` (one round more staleness than the plain schedule).

Usage::

    python benchmarks/scale_out/simulate.py --replicas 0 1 4 16 --seeds 0      # 0 = one process
    python benchmarks/scale_out/simulate.py --replicas 0 4 --rows gain --round-tokens 200000 --max-step 4
    python benchmarks/scale_out/simulate.py --replicas 64 --seeds 0 --max-tokens 2000000
    python benchmarks/scale_out/simulate.py --replicas 0 4 --half-life 5e6 --detect-changes --max-tokens 2000000

Appends one JSON object per run to ``benchmarks/scale_out/results/simulate.jsonl`` (the machine is
shared: the seconds are noisy, the scores are deterministic).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.scale_out.common import git_commit, learn_lines, scores  # noqa: E402

#: As one process; change detection off in both unless ``--detect-changes``, no forgetting unless ``--half-life``.
SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, detect_changes=False)
PARTITIONS = 64
ROWS = "scaled"  # the merge rule of W and C rows (streamsgns.distributed.delta.merge_deltas)
STIFFNESS = 9.0  # of rows="scaled" (streamsgns.rates.merged_step_scale)
FP16, RARE_BELOW = False, 0  # row encoding of the replicas' deltas (streamsgns.distributed.delta.encode_delta)
STEP_CAP = None  # of rows="gain": the replicas' largest step / alpha (None: N; streamsgns.rates.replica_step_gain)
MAX_STEP = None  # of rows="gain": a limit on every replica step / alpha (None: none; SGNS.extrapolate_steps)
SPLIT = False  # of rows="gain" with MAX_STEP: steps above the limit as sub-updates (SGNS.extrapolate_steps(split_steps))


def corpus(max_tokens: int | None) -> tuple[list[str], np.ndarray]:
    """The mix corpus's non-empty lines and their token counts (cached next to the corpus)."""
    from streamsgns.tokenize import tokenize
    from streamsgns_tools.corpora import fetch

    path = Path(fetch("mix"))
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    cache = path.with_suffix(".ntok.npy")
    if cache.exists() and np.load(cache).shape[0] == len(lines):
        ntok = np.load(cache)
    else:
        ntok = np.array([len(tokenize(ln)) for ln in lines], dtype=np.int64)
        np.save(cache, ntok)
    if max_tokens:
        cut = int(np.searchsorted(np.cumsum(ntok), max_tokens)) + 1
        lines, ntok = lines[:cut], ntok[:cut]
    return lines, ntok


def one_process(lines, seed: int) -> dict:
    from streamsgns import SGNS

    m = SGNS(**SETTINGS, seed=seed)
    t0 = time.perf_counter()
    learn_lines(m, lines)
    return {"kind": "single", "replicas": 0, "seed": seed, "tokens": m.words_seen, "vocab_size": m.vocab_size,
            "train_s": time.perf_counter() - t0, **round_counts(m), **scores(m)}


def round_counts(m) -> dict:
    """What the round-boundary steps did: forgetting's decay steps, change checks and alarms."""
    p = m.progress()
    return {"decay_steps": p["decay_steps"], "faded": p["faded"], "changes": p["changes"],
            "change_checks": 0 if m.detect is None else int(m.detect.meta[0]["checks"])}


def shares(n_lines: int, n: int) -> list[np.ndarray]:
    """Line indexes of each replica: lines round-robin over the partitions, partitions round-robin over replicas."""
    part = np.arange(n_lines) % PARTITIONS
    return [np.flatnonzero(part % n == k) for k in range(n)]


def chunks(idx: np.ndarray, ntok: np.ndarray, tau: int) -> list[np.ndarray]:
    """Cut a replica's lines into rounds of at least ``tau`` tokens (whole lines)."""
    c = np.cumsum(ntok[idx])
    cuts = np.searchsorted(c, np.arange(tau, c[-1] + tau, tau) if c.size else [], side="left") + 1
    out, s = [], 0
    for e in cuts.tolist():
        e = min(e, idx.size)
        if e > s:
            out.append(idx[s:e])
        s = e
    return out


def load_replica(base: dict, seed: int, k: int, round_no: int, n: int, rows: str, step_cap=None, max_step=None,
                 split_steps=None):
    """Replica ``k``'s model for round ``round_no`` as :class:`streamsgns.distributed.replica.Replica` loads it:
    the merged base, its RNG streams re-derived, and (``rows="gain"``) evidence-aware steps of ``n`` replicas
    (``split_steps``: None takes the module's ``SPLIT``)."""
    from streamsgns import SGNS
    from streamsgns.distributed.replica import replica_seed
    from streamsgns.hashing import seed_states

    p = base["parameters"]
    st = {**base, "parameters": {**p, "rng": seed_states(replica_seed(seed, k, round_no), p["rng"].shape[0])}}
    m = SGNS.from_state(st)
    m.defer_round_steps()  # decay steps and change checks at round boundaries (streamsgns.distributed.rounds)
    if rows in ("gain", "diverse"):
        m.extrapolate_steps(n, step_cap, max_step, SPLIT if split_steps is None else split_steps)
    return m


def simulate(lines, ntok, n: int, seed: int, tau: int) -> dict:
    from streamsgns import SGNS
    from streamsgns.distributed.apply import apply_update, writable_state
    from streamsgns.distributed.delta import delta_nbytes, encode_delta, merge_deltas, model_delta
    from streamsgns.distributed.replica import replica_seed
    from streamsgns.distributed.rounds import take_steps
    from streamsgns.hashing import seed_states
    from streamsgns.distributed.merge import state_nbytes

    per = [chunks(s, ntok, tau) for s in shares(len(lines), n)]
    rounds = max(len(p) for p in per)
    base = SGNS(**SETTINGS, seed=seed).state_dict()
    hist = []
    train_s = 0.0
    residual = [{} for _ in range(n)]  # per replica: what its encoded deltas have not sent yet
    keep = None  # replica 0 as a Ray replica runs it: [model, its own base, its delta], the update applied in place
    t_all = time.perf_counter()
    for r in range(rounds):
        deltas, up, up_change, delta_s, load_s, tr = [], [], [], [], [], []
        for k in range(n):
            if r >= len(per[k]):
                continue
            t0 = time.perf_counter()
            m = keep[0] if k == 0 and keep is not None else load_replica(base, seed, k, r + 1, n, ROWS, STEP_CAP,
                                                                          MAX_STEP)
            t1 = time.perf_counter()
            learn_lines(m, [lines[i] for i in per[k][r]])
            t2 = time.perf_counter()
            d = model_delta(m.state_dict(), base)
            own = d
            if FP16 or RARE_BELOW:
                d, residual[k] = encode_delta(d, base, residual[k], r + 1, fp16=FP16, rare_below=RARE_BELOW)
            t3 = time.perf_counter()
            if k == 0:
                keep = [m, keep[1] if keep is not None else writable_state(base), own]
            else:
                m.close()
                del m
                gc.collect()  # a model holds ~100 MB and a reference cycle (trainer <-> learner): free it now
            deltas.append(d)
            up.append(delta_nbytes(d))
            up_change.append(delta_nbytes(d.get("change")))  # the change detector's part (0 without detection)
            load_s.append(t1 - t0)
            tr.append(t2 - t1)
            delta_s.append(t3 - t2)
        t0 = time.perf_counter()
        merged = merge_deltas(base, deltas, rows=ROWS, stiffness=STIFFNESS, replicas=n, step_cap=STEP_CAP,
                              max_step=MAX_STEP, split_steps=SPLIT)
        t1 = time.perf_counter()
        model = SGNS.from_state(merged)  # a replica applying the merged state
        t2 = time.perf_counter()
        update = model_delta(merged, base)  # before the round's steps, which every replica takes itself
        down = delta_nbytes(update)
        merged = take_steps(model, merged)  # the merge actor's change check and decay step, when due
        t3 = time.perf_counter()
        if keep is not None:  # replica 0 takes the update in place and the round's steps, then its RNG streams
            keep[1] = apply_update(keep[0], keep[1], update, keep[2])
            keep[2] = None
            keep[1] = take_steps(keep[0], keep[1])
            rng = keep[0].params.rng
            rng[:] = seed_states(replica_seed(seed, 0, r + 2), rng.shape[0])
            if ROWS in ("gain", "diverse"):  # the merged evidence is the rows' new n0, as at a load
                keep[0].extrapolate_steps(n, STEP_CAP, MAX_STEP, SPLIT)
        t4 = time.perf_counter()
        train_s += sum(tr)
        hist.append({"round": r + 1, "replicas": len(deltas), "tokens": int(model.words_seen),
                     "vocab_size": model.vocab_size, "bytes_up": up, "bytes_up_change": up_change, "bytes_down": down,
                     "checkpoint_bytes": state_nbytes(merged), "delta_s": delta_s, "merge_s": t1 - t0,
                     "apply_s": t2 - t1, "apply_inplace_s": t4 - t3, "load_s": load_s, "train_s": tr})
        print(f"  N={n} round {r + 1}/{rounds}: {model.words_seen} tokens, vocab {model.vocab_size}, "
              f"up {statistics.median(up) / 1e6:.2f} MB/replica, down {down / 1e6:.2f} MB, "
              f"ckpt {state_nbytes(merged) / 1e6:.1f} MB, merge {t1 - t0:.2f} s, load {t2 - t1:.2f} s, "
              f"apply in place {t4 - t3:.3f} s", flush=True)
        base = merged
        if r + 1 < rounds:
            model.close()
    return {"kind": "sim", "replicas": n, "seed": seed, "sync_tokens": tau, "rows": ROWS, "stiffness": STIFFNESS,
            "step_cap": STEP_CAP, "max_step": MAX_STEP, "split_steps": SPLIT, "rounds": rounds, "fp16": FP16, "rare_below": RARE_BELOW,
            "tokens": int(model.words_seen), "vocab_size": model.vocab_size, "train_s": train_s, **round_counts(model),
            "wall_s": time.perf_counter() - t_all, **scores(model), "history": hist}


def simulate_overlap(lines, ntok, n: int, seed: int, tau: int) -> dict:
    """The overlapped schedule (``ReplicaJob(overlap=True)``): replica ``k`` trains round ``r`` from its own
    model, then takes the merged update of round ``r − 1`` late, as a Ray replica does
    (:meth:`streamsgns.distributed.replica.Replica._apply_late`: its own base takes the update in place,
    :func:`~streamsgns.distributed.overlap.late_apply`, :func:`~streamsgns.distributed.overlap.load_into`,
    its RNG streams re-derived), and sends its delta against the merged state of round ``r − 1``."""
    from streamsgns.distributed.apply import apply_to_base, writable_state
    from streamsgns.distributed.delta import delta_nbytes, encode_delta, merge_deltas, model_delta
    from streamsgns.distributed.merge import state_nbytes
    from streamsgns.distributed.overlap import late_apply, load_into
    from streamsgns.distributed.replica import replica_seed
    from streamsgns.hashing import seed_states

    per = [chunks(s, ntok, tau) for s in shares(len(lines), n)]
    rounds = max(len(p) for p in per)
    from streamsgns import SGNS

    s0 = SGNS(**SETTINGS, seed=seed).state_dict()
    merged = s0  # the merge of the previous round (the base the replicas' deltas of this round are against)
    update = None  # the merged update of the previous round, against the round before's state
    models = [load_replica(s0, seed, k, 1, n, ROWS, STEP_CAP, MAX_STEP) for k in range(n)]
    bases = [writable_state(s0) for _ in range(n)]  # each replica's own base, updated in place
    sent = [None] * n
    hist = []
    train_s = 0.0
    residual = [{} for _ in range(n)]
    t_all = time.perf_counter()
    model = None
    for r in range(rounds):
        deltas, up, late_s, tr, delta_s = [], [], [], [], []
        for k in range(n):
            if r >= len(per[k]):
                continue
            m = models[k]
            t1 = time.perf_counter()
            learn_lines(m, [lines[i] for i in per[k][r]])
            t2 = time.perf_counter()
            if update is not None and sent[k] is not None:  # the merged update of round r - 1, taken late
                bases[k] = apply_to_base(bases[k], update)
                load_into(m, late_apply(m.state_dict(), sent[k], bases[k]))
                rng = m.params.rng
                rng[:] = seed_states(replica_seed(seed, k, r + 2), rng.shape[0])
                if ROWS in ("gain", "diverse"):
                    m.extrapolate_steps(n, STEP_CAP, MAX_STEP, SPLIT)
            t3 = time.perf_counter()
            state = m.state_dict()
            d = model_delta(state, bases[k])
            sent[k] = writable_state({key: v for key, v in state.items() if key not in ("average", "noise")})
            if FP16 or RARE_BELOW:
                d, residual[k] = encode_delta(d, bases[k], residual[k], r + 1, fp16=FP16, rare_below=RARE_BELOW)
            t4 = time.perf_counter()
            deltas.append(d)
            up.append(delta_nbytes(d))
            tr.append(t2 - t1)
            late_s.append(t3 - t2)
            delta_s.append(t4 - t3)
        t0 = time.perf_counter()
        new = merge_deltas(merged, deltas, rows=ROWS, stiffness=STIFFNESS, replicas=n, step_cap=STEP_CAP,
                           max_step=MAX_STEP, split_steps=SPLIT)
        t1 = time.perf_counter()
        if model is not None:
            model.close()
        model = SGNS.from_state(new)
        update = model_delta(new, merged)  # what the merge actor returns
        down = delta_nbytes(update)
        merged = new
        train_s += sum(tr)
        hist.append({"round": r + 1, "replicas": len(deltas), "tokens": int(model.words_seen),
                     "vocab_size": model.vocab_size, "bytes_up": up, "bytes_down": down,
                     "checkpoint_bytes": state_nbytes(new), "delta_s": delta_s, "merge_s": t1 - t0,
                     "late_apply_s": late_s, "train_s": tr})
        print(f"  N={n} overlapped round {r + 1}/{rounds}: {model.words_seen} tokens, vocab {model.vocab_size}, "
              f"merge {t1 - t0:.2f} s, late apply {statistics.median(late_s):.3f} s", flush=True)
    for m in models:
        m.close()
    return {"kind": "sim", "replicas": n, "seed": seed, "sync_tokens": tau, "rows": ROWS, "stiffness": STIFFNESS,
            "step_cap": STEP_CAP, "max_step": MAX_STEP, "split_steps": SPLIT, "rounds": rounds, "fp16": FP16, "rare_below": RARE_BELOW,
            "overlap": True, "tokens": int(model.words_seen), "vocab_size": model.vocab_size, "train_s": train_s,
            "wall_s": time.perf_counter() - t_all, **scores(model), "history": hist}


def main(argv=None) -> int:
    global ROWS, STIFFNESS, FP16, RARE_BELOW, STEP_CAP, MAX_STEP, SPLIT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicas", type=int, nargs="+", default=[0, 1, 4, 16], help="0: one process")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--sync-tokens", type=int, default=50_000, help="tokens per replica per round")
    ap.add_argument("--round-tokens", type=int, default=None,
                    help="tokens of a merged round: each replica trains round-tokens / N (overrides --sync-tokens)")
    ap.add_argument("--max-tokens", type=int, default=None, help="first tokens of the corpus only")
    ap.add_argument("--rows", choices=["sum", "scaled", "gain", "diverse"], default=ROWS,
                    help="merge rule of W and C rows (gain, diverse: with the replicas' evidence-aware steps)")
    ap.add_argument("--stiffness", type=float, default=STIFFNESS, help="of --rows scaled and gain; <= 0: none")
    ap.add_argument("--step-cap", type=float, default=None, help="of --rows gain (default: N)")
    ap.add_argument("--max-step", type=float, default=None, help="of --rows gain: replica steps <= this * alpha")
    ap.add_argument("--split-steps", action="store_true",
                    help="of --rows gain with --max-step: a step above the limit is taken as ceil(step / limit) "
                         "sub-updates of the pair, not cut (SGNS.extrapolate_steps(split_steps=True))")
    ap.add_argument("--fp16", action="store_true", help="replicas send float16 row differences (error feedback)")
    ap.add_argument("--rare-below", type=int, default=0, help="C rows of rarer words on alternate rounds")
    ap.add_argument("--overlap", action="store_true",
                    help="the overlapped schedule: merged updates taken one round late (ReplicaJob(overlap=True))")
    ap.add_argument("--half-life", type=float, default=None,
                    help="forgetting (tokens; one process and replicas: decay by the merged token count)")
    ap.add_argument("--detect-changes", action="store_true",
                    help="per-word change detection (one process and replicas: checks on the merged state)")
    ap.add_argument("--out", default=str(HERE / "results" / "simulate.jsonl"))
    args = ap.parse_args(argv)
    if args.overlap and (args.half_life is not None or args.detect_changes):
        ap.error("--overlap takes no round steps: not with --half-life or --detect-changes")
    SETTINGS.update(half_life=args.half_life, detect_changes=args.detect_changes)
    ROWS = args.rows
    STIFFNESS = args.stiffness if args.stiffness > 0 else None
    FP16, RARE_BELOW = args.fp16, args.rare_below
    STEP_CAP = args.step_cap
    MAX_STEP = args.max_step
    SPLIT = args.split_steps
    if SPLIT and MAX_STEP is None:
        ap.error("--split-steps needs --max-step (the largest step of one sub-update)")
    lines, ntok = corpus(args.max_tokens)
    print(f"mix: {len(lines)} lines, {int(ntok.sum())} tokens", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    commit = git_commit()  # of the code this process runs (taken at start: the checkout may move on meanwhile)
    for seed in args.seeds:
        for n in args.replicas:
            res = one_process(lines, seed) if n == 0 else (simulate_overlap if args.overlap else simulate)(
                lines, ntok, n, seed, args.round_tokens // n if args.round_tokens else args.sync_tokens)
            res["corpus_tokens"] = int(ntok.sum())
            res["settings"] = {**SETTINGS, "track_cooc": True, "average_eta": 10.0}  # half_life, detect_changes too
            res["commit"] = commit
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps(res) + "\n")
            print(f"N={n} seed={seed}: tokens {res['tokens']}, WS353 {res['ws353']:.3f}, SimLex {res['simlex']:.3f}, "
                  f"analogies {res['analogies']:.3f}, train {res['train_s']:.0f} s, decay steps {res['decay_steps']}, "
                  f"change checks {res['change_checks']}, alarms {res['changes']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
