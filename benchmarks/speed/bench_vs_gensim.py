#!/usr/bin/env python
"""streamsgns vs gensim Word2Vec: same corpus, same tokens, same parameters, same run.

Two modes, each system in its own fresh subprocess (so that its peak RSS is its own):

``e2e``
    Raw text file → trained vectors in memory, reading and tokenisation included.
    gensim: a re-iterable corpus that reads the file and tokenises each line with the learner's
    tokenizer (``streamsgns.tokenize.tokenize``: lowercase, ``(?u)\\b\\w[\\w\\-]+\\b``), fed to
    ``build_vocab`` and then ``train`` (two passes over the file, as gensim needs). streamsgns:
    ``SGNS.learn_file`` (one pass; the same tokenizer, applied by the learner itself).
``train``
    Training only, on the corpus pre-tokenised by that tokenizer into one list of token lists
    (tokens interned, about 8 bytes per token), the same list for both. gensim: ``build_vocab`` is
    timed apart (``vocab_s``) and excluded from ``wall_s``, which times ``train`` alone.
    streamsgns: ``learn_many(list_of_token_lists)`` (vocabulary building is part of its single
    online pass, so it is included).

Common parameters: skip-gram, negative sampling (negative=5, hs=0, ns_exponent=0.75), window=5,
vector_size=100, sample=1e-3, min_count=5, one epoch / one pass, workers=2, seed=0. The learning
rule is each system's own default, which differ: gensim decays alpha linearly from 0.025 to
min_alpha 1e-4 over its (known) corpus; streamsgns, which knows no corpus length, moves each row
with ``0.05 / (1 + n / 2000)``, ``n`` its word's count, and exports averaged iterates (the defaults since
2026-12-04, ``docs/learning_rule.md``). ``gensim-3ep`` (3 epochs) and ``streamsgns-2p`` (the file streamed
twice) are extra systems for the moonshot: gensim's 3-epoch scores in gensim's one-epoch
wall time.

Metrics per run: ``wall_s`` (seconds), ``words_per_s`` = corpus tokens / ``wall_s``, where corpus
tokens are the learner's tokens counted once by the parent (the number the learner reports as
``words_seen`` and gensim as ``corpus_total_words``: each run's own count is ``system_tokens`` and
``meta.token_check`` says whether they all agree), ``cpu_s`` (user + system seconds of all threads
of the child during the timed section) and words per CPU second, ``peak_rss_mb`` (the child's own
``VmHWM``, MiB), and the quality of the vectors (``W``/syn0 of both, word2vec text format, read
back with gensim ``KeyedVectors``): WordSim-353 and SimLex-999 Spearman, Google analogies 3CosAdd
accuracy (``restrict_vocab=30000``). Writing the vectors is timed apart (``save_s``).

numba compiles streamsgns's kernels on first use: by default each streamsgns child warms up on a
tiny text before the clock starts (``jit_warmup_s`` is reported); ``--no-warmup`` includes it.

Usage::

    python benchmarks/speed/bench_vs_gensim.py [--corpus mix|NAME|PATH] [--max-tokens N] [--repeat R]
        [--systems gensim,streamsgns] [--modes e2e,train] [--workers 2] [--cache DIR]
        [--json benchmarks/results/bench_vs_gensim.json]

Prints a table of both systems and the ratio streamsgns/gensim per metric, and writes JSON. The
code lives in ``benchmarks/speed/vs_gensim/`` (corpus, child process, the two runs, report).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: benchmarks.*, streamsgns_tools

from benchmarks.common import RESULTS, write_json  # noqa: E402
from benchmarks.speed.vs_gensim.child import child_main, run_child  # noqa: E402
from benchmarks.speed.vs_gensim.corpus import (TOKEN_PATTERN, count_corpus_tokens, resolve_corpus,  # noqa: E402
                                               truncate_corpus)
from benchmarks.speed.vs_gensim.report import (MODES, SYSTEMS, environment_info, evaluate_vectors,  # noqa: E402
                                               format_table, git_info, parse_system, summarize, token_check)

DEFAULT_JSON = RESULTS / "bench_vs_gensim.json"

PARAMS = dict(
    vector_size=100,
    window=5,
    negative=5,
    ns_exponent=0.75,
    sample=1e-3,
    min_count=5,
    seed=0,
    workers=2,
)
#: Each system's own default learning rule: gensim's linear decay from 0.025 to 1e-4 over
#: its epochs; streamsgns' defaults (per-word steps from alpha 0.05, averaged export), passed nothing.
RULES = {"gensim": dict(alpha=0.025, min_alpha=1e-4), "streamsgns": {}}


def _replay_params(system: str, args) -> dict:
    """``replay_buffer`` for the ``streamsgns-replay*`` systems when ``--replay-buffer`` is given."""
    return {"replay_buffer": args.replay_buffer} if args.replay_buffer and system.startswith("streamsgns-replay") else {}


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="mix", help="corpus name for streamsgns_tools.corpora.fetch, or a file")
    ap.add_argument("--cache", default=None, help="cache dir of streamsgns_tools.corpora (default $STREAMSGNS_DATA)")
    ap.add_argument("--max-tokens", type=int, default=None, help="use only the first lines, up to N tokens")
    ap.add_argument("--repeat", type=int, default=1, help="runs per system and mode (medians reported)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma list of gensim,streamsgns; gensim-3ep = 3 epochs, streamsgns-2p = 2 passes, streamsgns-replay1 = one pass with SGNS(replay=1), streamsgns-replay2-end = one pass with SGNS(replay=2, replay_at='end')")
    ap.add_argument("--replay-buffer", type=int, default=None, help="SGNS(replay_buffer=N) for the streamsgns-replay systems "
                    "(tokens; --replay-at end replays a whole input only when N holds its tokens plus one per line)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma list of e2e,train")
    ap.add_argument("--workers", type=int, default=PARAMS["workers"], help="threads of both systems")
    ap.add_argument("--no-warmup", action="store_true", help="include numba compilation in streamsgns timings")
    ap.add_argument("--no-eval", action="store_true", help="skip the quality evaluation")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the JSON results")
    ap.add_argument("--keep-vectors", default=None, help="directory where the vectors are kept")
    args = ap.parse_args(argv)
    args.systems = [s for s in args.systems.split(",") if s]
    args.modes = [m for m in args.modes.split(",") if m]
    for s in args.systems:
        try:
            parse_system(s)
        except ValueError as e:
            ap.error(str(e))
    for m in args.modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}")
    return args


def _one_run(spec: dict, tmp: Path, tag: str, n_tokens: int, evaluate: bool) -> dict:
    print(f"[{tag}] running ...", flush=True)
    load_before = os.getloadavg()[0]
    res = run_child(spec, tmp / f"{tag}.log")
    res.update(system=spec["system"], mode=spec["mode"], repeat=spec["repeat"], loadavg_1min_before=load_before,
               loadavg_1min_after=os.getloadavg()[0])
    if not res.get("ok"):
        print(f"[{tag}] FAILED: {res.get('error')}", flush=True)
        return res
    res["words_per_s"] = n_tokens / res["wall_s"]  # corpus tokens per wall second (multi-pass systems: all passes in wall_s)
    if res.get("cpu_s"):
        res["words_per_cpu_s"] = n_tokens / res["cpu_s"]
    if evaluate:
        try:
            res.update(evaluate_vectors(spec["vectors"]))
        except Exception as e:  # keep the timings even if scoring fails
            res["eval_error"] = f"{type(e).__name__}: {e}"
    print(f"[{tag}] wall {res['wall_s']:.1f}s, {res['words_per_s']:,.0f} words/s, "
          f"peak RSS {res['peak_rss_mb']:,.0f} MiB, vocab {res.get('vocab_size')}, tokens {res.get('system_tokens')}, "
          f"ws353 {res.get('ws353', float('nan')):.3f}, simlex {res.get('simlex', float('nan')):.3f}, "
          f"analogies {res.get('analogies', float('nan')):.3f}", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when every run succeeded, 1 when at least one failed (the failures are in the JSON).
    """
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--_child"]:
        return child_main(argv[1])
    args = _parse(argv)
    params = {**PARAMS, "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="bench_vs_gensim.") as tmpdir:
        tmp = Path(tmpdir)
        corpus = resolve_corpus(args.corpus, args.cache)
        corpus_used = corpus
        if args.max_tokens:
            corpus_used = tmp / f"corpus-{args.max_tokens}.txt"
            truncate_corpus(corpus, corpus_used, args.max_tokens)
        t = time.perf_counter()
        n_tokens, n_lines = count_corpus_tokens(corpus_used)
        print(f"corpus {corpus} ({corpus_used.stat().st_size / 2**20:.1f} MiB used): {n_tokens:,} tokens, "
              f"{n_lines:,} lines (counted in {time.perf_counter() - t:.1f}s)", flush=True)
        vec_dir = Path(args.keep_vectors) if args.keep_vectors else tmp
        vec_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "corpus": args.corpus,
            "corpus_path": str(corpus),
            "max_tokens": args.max_tokens,
            "corpus_tokens": n_tokens,
            "corpus_lines": n_lines,
            "corpus_bytes": corpus_used.stat().st_size,
            "token_pattern": TOKEN_PATTERN,
            "tokenizer": "streamsgns.tokenize.tokenize (lowercase, then the pattern)",
            "params": params,
            "learning_rules": RULES,
            "gensim_fixed": {"sg": 1, "hs": 0, "epochs": "1 (gensim-<N>ep: N)"},
            "repeat": args.repeat,
            "warmup": not args.no_warmup,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "environment": environment_info(),
            "git": git_info(),
        }
        runs = []
        for rep in range(args.repeat):
            for mode in args.modes:
                for system in args.systems:
                    tag = f"{system}-{mode}-{rep}"
                    spec = {"system": system, "mode": mode, "repeat": rep, "corpus": str(corpus_used),
                            "vectors": str(vec_dir / f"{tag}.vec"), "result": str(tmp / f"{tag}.json"),
                            "params": {**params, **RULES[parse_system(system)[0]], **_replay_params(system, args)},
                            "warmup": not args.no_warmup}
                    runs.append(_one_run(spec, tmp, tag, n_tokens, not args.no_eval))

    summary = summarize(runs)
    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    meta["token_check"] = token_check(runs, n_tokens)
    fps = {m: sorted({r["source_fingerprint"] for r in runs if r["mode"] == m and r.get("source_fingerprint")})
           for m in args.modes}  # per mode: e2e also imports streamsgns.connectors.files
    meta["streamsgns_fingerprints"] = fps
    warnings = []
    if any(len(v) > 1 for v in fps.values()) or any(r.get("source_changed_during_run") for r in runs):
        warnings.append("the streamsgns sources changed during the benchmark: runs measured different code")
    if not meta["token_check"]["agree"]:
        warnings.append(f"a system saw a token count other than the corpus's {n_tokens:,}: "
                        f"{meta['token_check']['mismatches']}")
    if warnings:
        meta["warning"] = "; ".join(warnings)
    out = write_json(args.json, {"meta": meta, "summary": summary, "runs": runs}, default=str)
    print()
    print(format_table(summary, meta))
    if meta.get("warning"):
        print(f"\nWARNING: {meta['warning']} (fingerprints {fps})")
    print(f"\nJSON: {out}")
    return 0 if all(r.get("ok") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
