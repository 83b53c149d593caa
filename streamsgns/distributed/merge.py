"""Merge the state dicts of K replicas that started from one common *base* state into one model.

Every replica of a job starts a sync round from the same merged state (the *base*), trains on its
own share of the stream, and hands back its :meth:`streamsgns.SGNS.state_dict`. :func:`merge_states`
turns the base and the K replica states into the next base, going only through the components'
state dicts (no private attributes), key by key:

* **stream counters** (``words_seen``, ``lines``, ``pairs``, the loss sums, ``stats``...): the base
  plus each replica's increment, ``b + Σ_r (x_r − b)``; so ``words_seen`` counts every token once.
* **vocabulary** (keyed by the 64-bit token hash, so ids may differ between replicas): the count of
  a word is its base count plus each replica's increment; a word a replica admitted during the round
  starts from the base sketch's estimate (the part of its admission count that every replica shared)
  and adds what each replica saw of it, exactly (admitted there) or from its sketch (not admitted
  there). Base words keep their ids; new words take the base's free ids, then new ids, by decreasing
  merged count; if the union exceeds ``max_vocab`` the rarest are dropped (their ids freed). Every
  replica then loads the merged state, so a word has one id on every replica. Admission of a word no
  replica admitted yet is decided on the merged sketch: its next occurrence on any replica sees the
  summed estimate.
* **count-min sketch**: tables of identical hashing (same seeds) merge by adding cells (Cormode &
  Muthukrishnan 2005, §4): ``base + Σ_r (table_r − base)``; a replica that halved during the round
  (aging) is compared with the base halved as often, and the merged sketch is halved as often as the
  summed ``since_halving`` makes due.
* **W and C rows**: model averaging (Spark MLlib's Word2Vec; Ji et al. 2016, HogBatch), each row
  weighted by the replica's occurrences of the word during the round (``rows="weighted"``: a row
  that only one replica trained keeps that replica's update instead of being diluted by ``1/K``), or
  the plain mean (``rows="mean"``). Averaging K replicas that each saw 1/K of the round moves a
  row about 1/K as far as one process that saw all of it; ``rows="sum"`` instead adds every
  replica's update to the base row (the merge then equals sequential SGD to first order, as
  asynchronous / Hogwild SGD does); a new word's C row (zero at admission on every replica) is the
  sum of the replicas' rows, its W row (a random start of each replica's own) is averaged as above.
* **noise distribution**: rebuilt from the merged counts (its own ``refresh``).
* **RNG streams**: replica 0's (a replica re-derives its own streams when it loads the state).

Unknown keys are refused (:class:`MergeError`): a component that grows a new state key (a decay
scale, say) needs a rule in :data:`RULES` before replicas can merge it. Co-occurrence statistics are
not merged (replicas run with ``track_cooc=False``), nor are the averaged iterates of
:mod:`streamsgns.averaging` (``average_eta=None``): a state holding either is refused. The forgetting
schedule (:mod:`streamsgns.forget`) merges its counters by increments, and only without a half-life:
each replica would decay the shared base counts in its own token clock, so base + Σ increments would
decay the base once per replica; a state with ``half_life`` set is refused.
"""

from __future__ import annotations

import numpy as np

from ..noise import NoiseDistribution
from ..sketch import cms_estimate_batch

__all__ = ["MergeError", "merge_states", "RULES", "state_nbytes"]


class MergeError(ValueError):
    """Replica states that cannot be merged: unknown keys, different settings, or inconsistent arrays."""


#: How each key of each section merges. ``same``: equal everywhere (settings); ``delta``: base plus
#: the replicas' increments; ``derived``: recomputed by the merge; ``first``: replica 0's value.
RULES: dict[str, dict[str, str]] = {
    "vocab": {
        "hashes": "derived", "counts": "derived", "free_ids": "derived", "words_blob": "derived",
        "words_offsets": "derived", "words_has": "derived", "next_id": "derived", "n_free": "derived",
        "total": "derived", "n_events": "derived", "sketch": "derived",
        "min_count": "same", "max_vocab": "same", "prune_fraction": "same",
        "n_admitted": "delta", "n_evicted": "delta", "n_prunes": "delta",
    },
    "sketch": {
        "table": "derived", "total": "derived", "since_halving": "derived", "n_halvings": "derived",
        "seeds": "same", "seed": "same", "halve_every": "same",
    },
    "noise": {
        "prob": "derived", "alias": "derived", "n": "derived", "last_refresh": "derived",
        "n_refresh": "derived", "ns_exponent": "same", "min_refresh_tokens": "same",
    },
    "parameters": {
        "W": "derived", "C": "derived", "rng": "first", "tied": "same",
        "words_seen": "delta", "lines": "delta", "empty_lines": "delta", "control_bytes": "delta",
        "split_lines": "delta", "pairs": "delta", "kept": "delta", "loss": "delta", "loss_n": "delta",
    },
    "stats": {"invalid_utf8": "delta", "bad_inputs": "delta"},
    # the forgetting schedule (streamsgns.forget): only half_life=None merges (see merge_states)
    "forget": {"half_life": "same", "since": "delta", "n_decays": "delta", "decayed_tokens": "delta",
               "n_faded": "delta", "sketch_since": "delta"},
    "top": {"params": "same", "vocab": "derived", "noise": "derived", "cooc": "derived",
            "parameters": "derived", "stats": "derived", "forget": "derived", "average": "derived",
            "change": "derived", "change_log": "derived"},
}


def _check_keys(section: str, states: list[dict]) -> None:
    rules = RULES[section]
    for i, s in enumerate(states):
        unknown = sorted(set(s) - set(rules))
        if unknown:
            raise MergeError(f"{section}: no merge rule for key(s) {unknown} (state {i}); "
                             f"add one to streamsgns.distributed.merge.RULES")
    for key, rule in rules.items():
        if rule == "same":
            vals = [s.get(key) for s in states]
            ref = vals[0]
            for v in vals[1:]:
                same = np.array_equal(v, ref) if isinstance(ref, np.ndarray) else v == ref
                if not same:
                    raise MergeError(f"{section}.{key} differs between replicas ({ref!r} vs {v!r})")


def _delta(base: dict, reps: list[dict], section: str) -> dict:
    out = {}
    for key, rule in RULES[section].items():
        if rule == "delta" and key in base:
            b = base[key]
            out[key] = b + sum(r[key] - b for r in reps)
        elif rule == "same" and key in base:
            out[key] = base[key]
    return out


def _word(vs: dict, i: int) -> str:
    off = vs["words_offsets"]
    return vs["words_blob"][off[i]:off[i + 1]].tobytes().decode("utf-8")


def _merge_sketch(base: dict, reps: list[dict]) -> dict:
    """Add the replicas' sketch increments to the base, keeping the halving schedule."""
    _check_keys("sketch", [base] + reps)
    H = int(base["halve_every"])
    ks = [int(r["n_halvings"]) - int(base["n_halvings"]) for r in reps]
    if min(ks, default=0) < 0:
        raise MergeError("sketch: a replica has fewer halvings than the base it started from")
    K = max(ks, default=0)
    since_sum = int(base["since_halving"]) + sum(int(r["since_halving"]) - int(base["since_halving"]) for r in reps)
    if K == 0:  # no replica halved: conservative cells only grow, add the increments in uint32
        table32 = base["table"].copy()
        for r in reps:
            table32 += r["table"] - base["table"]
        total = int(base["total"]) + sum(int(r["total"]) - int(base["total"]) for r in reps)
        due = since_sum // H if H > 0 else 0
        if due:  # the merged stream passed the halving point: halve as often as due
            if due >= 32:
                table32[...] = 0
            else:
                table32 >>= np.uint32(due)
            total >>= min(due, 63)
        return {"table": table32, "seeds": base["seeds"], "seed": base["seed"], "total": int(total),
                "halve_every": H, "since_halving": since_sum - due * H if H > 0 else 0,
                "n_halvings": int(base["n_halvings"]) + due}
    b_table = base["table"].astype(np.int64)
    table = b_table >> K
    total = int(base["total"]) >> K
    since = int(base["since_halving"])
    for r, k in zip(reps, ks):
        d = np.maximum(r["table"].astype(np.int64) - (b_table >> k), 0)
        table += d >> (K - k)
        total += max(0, int(r["total"]) - (int(base["total"]) >> k)) >> (K - k)
        since += int(r["since_halving"]) + k * H - int(base["since_halving"])
    due = since // H if H > 0 else 0
    extra = max(0, due - K)
    if extra:
        table >>= min(extra, 40)
        total >>= min(extra, 63)
    return {"table": np.minimum(table, 0xFFFFFFFF).astype(np.uint32), "seeds": base["seeds"],
            "seed": base["seed"], "total": int(total), "halve_every": H,
            "since_halving": int(since - due * H) if H > 0 else 0,
            "n_halvings": int(base["n_halvings"]) + max(K, due)}


def merge_states(base: dict, replicas: list[dict], rows: str = "weighted") -> dict:
    """Merge K replica states that started from ``base`` into one state.

    Parameters
    ----------
    base : dict
        The :meth:`streamsgns.SGNS.state_dict` every replica loaded at the start of the round.
    replicas : list of dict
        The replicas' state dicts at the end of the round (K >= 1); ids may differ between them
        for words admitted during the round.
    rows : {"weighted", "mean", "sum"}
        How W and C rows combine: averaged weighted by each replica's occurrences of the word
        during the round, the plain mean over the replicas that hold the word, or (``"sum"``) the
        base row plus the sum of every replica's update (rows of words new in the round: weighted).

    Returns
    -------
    dict
        A state dict that :meth:`streamsgns.SGNS.from_state` accepts (new arrays; the inputs
        are not modified): one id per word, ``words_seen`` = base + every replica's tokens.

    Raises
    ------
    MergeError
        On a key without a rule in :data:`RULES`, settings that differ, co-occurrence statistics
        (not merged), or an unknown ``rows``.

    Examples
    --------
    >>> from streamsgns import SGNS
    >>> kw = dict(vector_size=8, min_count=1, track_cooc=False, average_eta=None, sketch_width=1024, seed=0,
    ...           detect_changes=False)
    >>> base = SGNS(**kw).state_dict()
    >>> a, b = SGNS.from_state(base), SGNS.from_state(base)
    >>> a.learn_one("the cat sat"); b.learn_one("the dog ran far")
    >>> m = SGNS.from_state(merge_states(base, [a.state_dict(), b.state_dict()]))
    >>> m.words_seen, sorted(m.key_to_index), m.vocab.count("the")
    (7, ['cat', 'dog', 'far', 'ran', 'sat', 'the'], 2)
    """
    if rows not in ("weighted", "mean", "sum"):
        raise MergeError(f"rows must be 'weighted', 'mean' or 'sum', not {rows!r}")
    if not replicas:
        raise MergeError("no replica state to merge")
    states = [base] + list(replicas)
    _check_keys("top", states)
    if any(s.get("cooc") is not None for s in states):
        raise MergeError("cooc: co-occurrence statistics are not merged; train replicas with track_cooc=False")
    if any(s.get("average") is not None for s in states):
        raise MergeError("average: averaged iterates are not merged; train replicas with average_eta=None")
    if any(s.get("change") is not None for s in states):
        raise MergeError("change: change detection is not merged; train replicas with detect_changes=False")
    forget = [s.get("forget") for s in states]
    if any(f is not None and f.get("half_life") is not None for f in forget):
        # each replica decays the shared base counts in its own token clock, so base + Σ increments would
        # decay the base once per replica: not merged until the merge rescales by the stream's clock
        raise MergeError("forget: replicas with a half_life are not merged; train them with half_life=None")
    if any(f is not None for f in forget):
        _check_keys("forget", [f for f in forget if f is not None])
    vb, vr = base["vocab"], [r["vocab"] for r in replicas]
    _check_keys("vocab", [vb] + vr)
    pb, pr = base["parameters"], [r["parameters"] for r in replicas]
    _check_keys("parameters", [pb] + pr)
    _check_keys("noise", [base["noise"]] + [r["noise"] for r in replicas])
    _check_keys("stats", [base.get("stats", {})] + [r.get("stats", {}) for r in replicas])

    def estimate(sk: dict, hashes: np.ndarray) -> np.ndarray:  # the sketch's own estimator, on its state arrays
        return cms_estimate_batch(sk["table"], sk["seeds"], np.ascontiguousarray(hashes, dtype=np.uint64))

    # every live word of base and replicas, by hash
    b_live = np.flatnonzero(vb["counts"] > 0)
    b_hash = vb["hashes"][b_live]
    r_live = [np.flatnonzero(v["counts"] > 0) for v in vr]
    all_h = np.unique(np.concatenate([b_hash] + [v["hashes"][lv] for v, lv in zip(vr, r_live)]))
    n_all = all_h.size
    # the word of each hash: the base's, else the first replica's that holds it
    src = np.full(n_all, -1, dtype=np.int64)  # -1: base; k: replica k
    src_id = np.full(n_all, -1, dtype=np.int64)
    pos_b = np.searchsorted(all_h, b_hash)
    in_base = np.zeros(n_all, dtype=bool)
    in_base[pos_b] = True
    b_of = np.full(n_all, -1, dtype=np.int64)  # base id of each hash
    b_of[pos_b] = b_live
    src_id[pos_b] = b_live
    start = np.zeros(n_all, dtype=np.int64)  # each word's count at the start of the round
    start[pos_b] = vb["counts"][b_live]
    if (~in_base).any():
        start[~in_base] = estimate(vb["sketch"], all_h[~in_base])
    inc = np.zeros((len(replicas), n_all), dtype=np.int64)  # each replica's occurrences in the round
    live_in = np.zeros((len(replicas), n_all), dtype=bool)
    rid = np.full((len(replicas), n_all), -1, dtype=np.int64)
    for k, (v, lv) in enumerate(zip(vr, r_live)):
        pos = np.searchsorted(all_h, v["hashes"][lv])
        rid[k, pos] = lv
        live = rid[k] >= 0
        live_in[k] = live
        take = live & (src_id < 0)
        src[take], src_id[take] = k, rid[k, take]
        inc[k, live] = v["counts"][rid[k, live]] - start[live]
        m = ~live & ~in_base
        if m.any():  # seen by this replica's sketch but admitted elsewhere
            inc[k, m] = estimate(v["sketch"], all_h[m]) - start[m]
    inc = np.maximum(inc, 0)
    merged_counts = np.maximum(start + inc.sum(axis=0), 1)

    # ids: base words keep theirs; new words take free ids then fresh ones, most frequent first
    max_vocab = int(vb["max_vocab"])
    new_idx = np.flatnonzero(~in_base)
    new_idx = new_idx[np.lexsort((all_h[new_idx], -merged_counts[new_idx]))]
    ids = np.where(in_base, b_of, -1)
    free = sorted(set(range(int(vb["next_id"]))) - set(b_live.tolist()))
    next_id = int(vb["next_id"])
    room = max_vocab - int(in_base.sum())
    for j in new_idx[:max(room, 0)].tolist():
        if free:
            ids[j] = free.pop(0)
        else:
            ids[j], next_id = next_id, next_id + 1
    if room < 0:  # cannot happen (replicas are bounded by max_vocab), kept for forged input
        raise MergeError("vocab: base holds more than max_vocab words")
    keep = ids >= 0
    n = next_id
    counts = np.zeros(n, dtype=np.int64)
    hashes = np.zeros(n, dtype=np.uint64)
    counts[ids[keep]] = merged_counts[keep]
    hashes[ids[keep]] = all_h[keep]
    # a free id keeps the hash of its last word (as the kernel leaves it)
    nb = min(n, vb["hashes"].shape[0])
    stale = counts[:nb] == 0
    hashes[:nb][stale] = vb["hashes"][:nb][stale]
    itk = [None] * n
    for j in np.flatnonzero(keep).tolist():
        itk[ids[j]] = _word(vb if src[j] < 0 else vr[src[j]], src_id[j])
    blobs = [(w or "").encode("utf-8") for w in itk]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs]) if blobs else []
    free_ids = np.flatnonzero(counts == 0).astype(np.int32)[::-1].copy()
    vocab = {
        "hashes": hashes, "counts": counts, "free_ids": free_ids,
        "words_blob": np.frombuffer(b"".join(blobs), dtype=np.uint8).copy(), "words_offsets": offsets,
        "words_has": counts > 0, "next_id": n, "n_free": int(free_ids.size), "total": int(counts.sum()),
        "n_events": 0, "sketch": _merge_sketch(vb["sketch"], [v["sketch"] for v in vr]),
        **_delta(vb, vr, "vocab"),
    }

    # W and C rows
    d = pb["W"].shape[1]
    weights = inc.astype(np.float64) if rows == "weighted" else live_in.astype(np.float64)
    weights = np.where(live_in, weights, 0.0)
    zero = weights.sum(axis=0) == 0
    weights[:, zero] = live_in[:, zero]  # untouched by every replica: plain mean of those that hold it
    wsum = weights.sum(axis=0)
    params = {**_delta(pb, pr, "parameters"), "rng": np.array(pr[0]["rng"], dtype=np.uint64)}
    for name in ("W", "C") if not pb["tied"] else ("W",):
        out = np.zeros((n, d), dtype=np.float64)
        for k, p in enumerate(pr):
            sel = keep & live_in[k]
            w = weights[k, sel] / np.where(wsum[sel] > 0, wsum[sel], 1.0)
            out[ids[sel]] += w[:, None] * p[name][rid[k, sel]]
        orphan = keep & (wsum == 0)  # held by no replica (evicted by all): the base row
        out[ids[orphan]] = pb[name][b_of[orphan]]
        if rows == "sum" and name == "C":  # C rows of new words start at zero on every replica: sum them
            sn = np.flatnonzero(keep & ~in_base)
            acc = np.zeros((sn.size, d), dtype=np.float64)
            for k, p in enumerate(pr):
                sel = live_in[k, sn]
                acc[sel] += p[name][rid[k, sn[sel]]]
            out[ids[sn]] = acc
        if rows == "sum":  # rows of the base: base + the sum of every replica's update
            sb = np.flatnonzero(keep & in_base)
            b_rows = pb[name][b_of[sb]].astype(np.float64)
            acc = b_rows.copy()
            for k, p in enumerate(pr):
                sel = live_in[k, sb]
                acc[sel] += p[name][rid[k, sb[sel]]] - b_rows[sel]
            out[ids[sb]] = acc
        params[name] = out.astype(np.float32)
        params[name][counts == 0] = 0.0

    nb_ = base["noise"]
    noise = NoiseDistribution(float(nb_["ns_exponent"]), capacity=max(n, 1),
                              min_refresh_tokens=int(nb_["min_refresh_tokens"]))
    noise.refresh(counts, n, words_seen=int(params["words_seen"]))
    noise_state = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in noise.state_dict().items()}
    noise_state["n_refresh"] = int(nb_["n_refresh"]) + 1
    stats = _delta(base.get("stats", {}), [r.get("stats", {}) for r in replicas], "stats")
    out = {"params": dict(base["params"]), "vocab": vocab, "noise": noise_state, "cooc": None,
           "parameters": params, "stats": stats}
    if base.get("forget") is not None:
        out["forget"] = _delta(base["forget"], [r["forget"] for r in replicas], "forget")
    return out


def state_nbytes(state) -> int:
    """Bytes of the arrays of a (nested) state dict: what one replica's state moves at a sync.

    Examples
    --------
    >>> state_nbytes({"a": np.zeros(4, np.float32), "b": {"c": np.zeros(2, np.int64)}, "d": 3})
    32
    """
    if isinstance(state, np.ndarray):
        return int(state.nbytes)
    if isinstance(state, dict):
        return sum(state_nbytes(v) for v in state.values())
    return 0
