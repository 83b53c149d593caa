"""New words at full vocabulary: words that first appear late in the stream, with ``max_vocab`` reached early.

The stream is the ``mix`` corpus with one of its sources moved to the end (``--last kjv``: the
lines of the KJV Bible are taken out of the shuffled mix and streamed last, in book order), so the
words of that source that occur nowhere else are genuinely new when they arrive. With
``max_vocab`` small (reached in the first ~1M tokens) every admission of a new word needs an
eviction of the rarest words. For each *late word* (absent from the head of the stream, at least
``min_count`` times in its tail) the script records whether it was admitted, whether it is still
in the vocabulary at the end, and its top-10 neighbours, compared with

* a control run on the same stream, same seed, with an unbounded vocabulary
  (``max_vocab = 10**6``): the overlap of the top-10 neighbour sets, next to the same overlap
  for frequent words of the head (the level two runs agree on at all);
* the tail's own vocabulary: the share of a late word's neighbours that occur in the tail,
  against the share of the vocabulary that does (what random neighbours would give).

    python benchmarks/drift/new_words.py                        # mix, KJV last, max_vocab 30000
    python benchmarks/drift/new_words.py --half-life 2M         # with forgetting (issue 9 part 1)
    python benchmarks/drift/new_words.py --last moby-dick --max-vocab 20000

Prints a table and writes ``benchmarks/results/drift_new_words[-<tag>].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, corpus_file, environment, parse_tokens, read_lines, write_json  # noqa: E402
from benchmarks.drift.common import FIGURES, frequent_kv, make_sgns, neighbours, overlap  # noqa: E402
from streamsgns.tokenize import tokenize  # noqa: E402

BUCKETS = [(5, 9), (10, 19), (20, 49), (50, 199), (200, 10**12)]


def build_stream(corpus: str, last: str, cache):
    """Head: the corpus without the lines of ``last``; tail: the lines of ``last`` in their order."""
    mix = read_lines(corpus_file(corpus, cache))
    tail = read_lines(corpus_file(last, cache))
    tail_set = set(tail)
    head = [ln for ln in mix if ln not in tail_set]
    return head, tail, len(mix) - len(head)


def train(head, tail, *, check_every, late, params, label):
    """Stream head then tail through one learner; follow the late words' membership in the tail."""
    m = make_sgns(**params)
    t0 = time.perf_counter()
    full_at = None
    pos = 0
    for i in range(0, len(head), 2000):
        block = head[i:i + 2000]
        m.learn_many(block)
        pos += sum(map(len, block))
        if full_at is None and m.vocab_size >= params["max_vocab"] * 0.99:
            full_at = pos
    head_tokens = m.words_seen
    first_in = {}
    last_in = {}
    present_prev: set = set()
    trace = []
    block, n = [], 0
    k2i = m.key_to_index

    def check():
        counts = m.counts
        present = {w for w in late if (i := k2i.get(w)) is not None and counts[i] > 0}
        for w in present:
            first_in.setdefault(w, m.words_seen)
            last_in[w] = m.words_seen
        trace.append({"words_seen": m.words_seen, "late_in_vocab": len(present), "vocab_size": m.vocab_size,
                      "evicted_total": m.progress()["evicted"]})
        return present

    for toks in tail:
        block.append(toks)
        n += len(toks)
        if n >= check_every:
            m.learn_many(block)
            present_prev = check()
            block, n = [], 0
    if block:
        m.learn_many(block)
    present_prev = check()
    secs = time.perf_counter() - t0
    print(f"  {label}: {m.words_seen:,} tokens in {secs:.0f} s ({m.words_seen / secs / 1e6:.2f} M tokens/s, "
          f"shared machine), vocab full at {full_at}, evicted {m.progress()['evicted']:,}", flush=True)
    return m, {"seconds": secs, "words_seen": m.words_seen, "head_tokens": head_tokens, "vocab_full_at": full_at,
               "evicted": m.progress()["evicted"], "vocab_size": m.vocab_size, "trace": trace,
               "first_in": first_in, "survived": sorted(present_prev)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="mix")
    ap.add_argument("--last", default="kjv", help="the source streamed last (a corpora name or a file)")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--max-vocab", type=int, default=30000)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--half-life", default=None, help="tokens, e.g. 2M (needs issue 9 part 1); default: none")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-every", type=int, default=50_000, help="tokens between membership checks in the tail")
    ap.add_argument("--show", type=int, default=10, help="late words shown with their neighbours")
    ap.add_argument("--no-control", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--figures", default=str(FIGURES))
    ap.add_argument("--replot", action="store_true", help="only redraw the figure from the JSON of an earlier run")
    args = ap.parse_args(argv)
    half_life = parse_tokens(args.half_life)
    tag = f"-hl{args.half_life}" if half_life else ""
    out = args.out or str(RESULTS / f"drift_new_words{tag}.json")
    fig_path = os.path.join(args.figures, f"new_words{tag}.png")
    if args.replot:
        with open(out) as f:
            plot(json.load(f), fig_path)
        print(f"wrote {fig_path}")
        return 0

    head_lines, tail_lines, moved = build_stream(args.corpus, args.last, args.cache)
    head = [t for t in map(tokenize, head_lines) if t]
    tail = [t for t in map(tokenize, tail_lines) if t]
    head_vocab = set()
    for t in head:
        head_vocab.update(t)
    tail_counts = Counter(w for t in tail for w in t)
    late = {w: c for w, c in tail_counts.items() if w not in head_vocab and c >= args.min_count}
    n_head, n_tail = sum(map(len, head)), sum(map(len, tail))
    print(f"stream: {args.corpus} without {args.last} ({n_head:,} tokens, {moved:,} lines moved) then {args.last} "
          f"({n_tail:,} tokens); {len(late):,} late words (new in the tail, >= {args.min_count} times there)")

    common = dict(min_count=args.min_count, seed=args.seed, workers=1, track_cooc=False)
    m, run = train(head, tail, check_every=args.check_every, late=late, label=f"max_vocab={args.max_vocab}",
                   params=dict(common, max_vocab=args.max_vocab, half_life=half_life))
    survived = set(run["survived"])
    admitted = set(run["first_in"])

    rows = []
    for lo, hi in BUCKETS:
        ws = [w for w, c in late.items() if lo <= c <= hi]
        rows.append({"tail_count": f"{lo}-{hi}" if hi < 10**12 else f">={lo}", "late_words": len(ws),
                     "seen_in_vocab": sum(w in admitted for w in ws), "survived": sum(w in survived for w in ws),
                     "evicted": sum(w in admitted and w not in survived for w in ws)})
    counts = m.counts
    alive = counts[counts > 0]
    bar = int(np.percentile(alive, 10))

    tail_vocab = set(tail_counts)
    kv = frequent_kv(m)  # all alive words (max_vocab of them)
    vocab_words = set(kv.index_to_key)
    base_tail_share = len(vocab_words & tail_vocab) / len(vocab_words)
    late_sorted = sorted((w for w in survived), key=lambda w: -late[w])
    examples, shares = [], []
    for w in late_sorted:
        nb = neighbours(kv, w, 10)
        shares.append(sum(x in tail_vocab for x in nb) / len(nb))
        if len(examples) < args.show:
            examples.append({"word": w, "tail_count": late[w], "neighbours": nb})

    control = None
    if not args.no_control:
        mc, crun = train(head, tail, check_every=10**9, late=late, label="control, max_vocab=10**6",
                         params=dict(common, max_vocab=10**6, half_life=half_life))
        kc = frequent_kv(mc, args.max_vocab, words=late_sorted)
        allowed = vocab_words & set(kc.index_to_key)
        ov_late = [overlap(neighbours(kv, w, 10, allowed), neighbours(kc, w, 10, allowed)) for w in late_sorted
                   if w in kc]
        head_words = [w for w in kv.index_to_key[200:1200] if w in kc][:500]
        ov_head = [overlap(neighbours(kv, w, 10, allowed), neighbours(kc, w, 10, allowed)) for w in head_words]
        control = {"run": {k: v for k, v in crun.items() if k not in ("first_in", "survived", "trace")},
                   "late_survivors_scored": len(ov_late),
                   "late_overlap_mean": float(np.mean(ov_late)) if ov_late else None,
                   "late_overlap_median": float(np.median(ov_late)) if ov_late else None,
                   "head_words_scored": len(head_words), "head_overlap_mean": float(np.mean(ov_head)),
                   "control_late_in_vocab": sum(w in mc.key_to_index and mc.counts[mc.key_to_index[w]] > 0
                                                for w in late)}
        for e in examples:
            e["control_neighbours"] = neighbours(kc, e["word"], 10, allowed)

    print(f"\nlate words by their count in the tail ({args.last}); max_vocab={args.max_vocab:,}, vocab full at "
          f"{run['vocab_full_at']:,} tokens; the rarest 10% of the vocabulary at the end have count <= {bar}")
    print(f"{'tail count':>10} {'late words':>10} {'admitted':>9} {'survived':>9} {'evicted':>8}")
    for r in rows:
        print(f"{r['tail_count']:>10} {r['late_words']:>10,} {r['seen_in_vocab']:>9,} {r['survived']:>9,} "
              f"{r['evicted']:>8,}")
    tot = {k: sum(r[k] for r in rows) for k in ("late_words", "seen_in_vocab", "survived", "evicted")}
    print(f"{'all':>10} {tot['late_words']:>10,} {tot['seen_in_vocab']:>9,} {tot['survived']:>9,} {tot['evicted']:>8,}")
    print(f"\nneighbours of the {len(shares)} surviving late words that occur in the tail: "
          f"{np.mean(shares):.1%} (random words of the vocabulary: {base_tail_share:.1%})")
    if control:
        print(f"top-10 overlap with the unbounded control: late survivors {control['late_overlap_mean']:.3f} "
              f"(n={control['late_survivors_scored']}), frequent head words (ranks 200-1200) "
              f"{control['head_overlap_mean']:.3f}")
    print("\nmost frequent surviving late words (bounded run -> control):")
    for e in examples:
        print(f"  {e['word']} ({e['tail_count']}): {', '.join(e['neighbours'][:8])}")
        if "control_neighbours" in e:
            print(f"  {'':>{len(e['word'])}}  control: {', '.join(e['control_neighbours'][:8])}")

    res = {"args": vars(args), "half_life": half_life, "env": environment(),
           "stream": {"head_tokens": n_head, "tail_tokens": n_tail, "lines_moved": moved, "late_words": len(late)},
           "run": {k: v for k, v in run.items() if k not in ("first_in", "survived")},
           "rarest_decile_count": bar, "buckets": rows, "totals": tot,
           "tail_share_of_neighbours": float(np.mean(shares)) if shares else None,
           "tail_share_of_vocabulary": base_tail_share, "examples": examples, "control": control,
           "survivors": {w: late[w] for w in late_sorted},
           "evicted": {w: late[w] for w in sorted(admitted - survived, key=lambda w: -late[w])}}
    res["figure"] = plot(res, fig_path)
    print(f"\nwrote {write_json(out, res)}")
    return 0


def plot(res, path):
    """Two panels: the late words in the vocabulary along the tail; admitted/survived per tail count."""
    from streamsgns.drift_series import _figure, _token_formatter

    fig = _figure(13, 4.6)
    a1, a2 = fig.subplots(1, 2)
    head = res["stream"]["head_tokens"]
    tr = res["run"]["trace"]
    a1.plot([t["words_seen"] - head for t in tr], [t["late_in_vocab"] for t in tr], "o-", ms=3,
            label="late words in the vocabulary")
    a1.axhline(res["stream"]["late_words"], color="k", ls=":", lw=1,
               label=f"late words in the tail ({res['stream']['late_words']})")
    a1.set_xlabel(f"tokens into the tail ({res['args']['last']})")
    a1.set_ylabel("words")
    a1.xaxis.set_major_formatter(_token_formatter())
    a1.set_title("late words held by the bounded vocabulary", loc="left", fontsize=10)
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8, loc="upper left")
    b = res["buckets"]
    x = np.arange(len(b))
    a2.bar(x - 0.2, [r["late_words"] for r in b], 0.4, label="late words (all were admitted)", color="lightgrey",
           edgecolor="k")
    a2.bar(x + 0.2, [r["survived"] for r in b], 0.4, label="still in the vocabulary at the end", color="tab:green")
    a2.set_xticks(x, [r["tail_count"] for r in b])
    a2.set_xlabel(f"occurrences in the tail (the rarest 10% of the final vocabulary have <= {res['rarest_decile_count']})")
    a2.set_ylabel("late words")
    a2.set_title("survival by count", loc="left", fontsize=10)
    a2.grid(alpha=0.3, axis="y")
    a2.legend(fontsize=8)
    hl = res.get("half_life")
    fig.suptitle(f"new words at full vocabulary: mix without {res['args']['last']}, then {res['args']['last']}; "
                 f"max_vocab={res['args']['max_vocab']:,} (full after {res['run']['vocab_full_at'] / 1e6:.1f}M tokens)"
                 + (f", half_life={hl:,}" if hl else ", no forgetting"))
    fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.13, wspace=0.2)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
