"""Seconds of the round steps a replica takes at a round boundary (``streamsgns.distributed.rounds``).

A model trained on the first 1M tokens of mix (``vector_size=100, min_count=5``, co-occurrence
statistics, averages and change detection on, ``half_life=5e6``), deferring its steps as a replica
does; then (a) a change check and a decay step forced due, timed through :func:`take_steps` (the
decay step's O(V + cooc cells) and the copies into the replica's base), and (b) four rounds of 50k
more tokens, each followed by a check alone (:meth:`ChangeDetector.check` timed on its own, then
:func:`take_steps`: the check again, its records and the copies). Seconds on a shared machine: noisy.

Usage::

    python benchmarks/scale_out/round_steps_cost.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.scale_out.common import learn_lines  # noqa: E402
from benchmarks.scale_out.simulate import corpus  # noqa: E402


def main() -> int:
    from streamsgns import SGNS
    from streamsgns.distributed.rounds import take_steps

    lines, _ = corpus(1_000_000)
    m = SGNS(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, half_life=5e6, seed=0)
    learn_lines(m, lines)
    m.defer_round_steps()
    print(f"V = {m.vocab_size}")
    st = m.state_dict()
    for _ in range(3):
        m.detect.meta[0]["next_check"] = m.words_seen
        m.forget.meta[0]["since"] = m.forget.every
        t0 = time.perf_counter()
        out = take_steps(m, st)
        print(f"take_steps with a check and a decay step: {time.perf_counter() - t0:.4f} s, changed "
              f"{sorted(k for k in out if out[k] is not st[k])}")
    more, _ = corpus(1_400_000)
    more = more[len(lines):]
    i = 0
    for _ in range(4):
        chunk, n = [], 0
        while n < 50_000:
            chunk.append(more[i])
            n += len(more[i].split())
            i += 1
        learn_lines(m, chunk)
        st = m.state_dict()
        m.detect.meta[0]["next_check"] = m.words_seen
        t0 = time.perf_counter()
        m.detect.check(m.vocab.counts, m.n_ids, m.words_seen)
        t1 = time.perf_counter()
        m.detect.meta[0]["next_check"] = m.words_seen
        out = take_steps(m, st)
        t2 = time.perf_counter()
        print(f"after 50k tokens: the check alone {t1 - t0:.4f} s; take_steps with a check {t2 - t1:.4f} s, "
              f"changed {sorted(k for k in out if out[k] is not st[k])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
