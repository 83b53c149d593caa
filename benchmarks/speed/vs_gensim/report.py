"""Scores, environment, medians and the printed table of the benchmark (the JSON: ``benchmarks.common.write_json``)."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

__all__ = ["SYSTEMS", "MODES", "parse_system", "replay_of", "replay_at_of", "METRICS", "evaluate_vectors", "environment_info", "git_info", "summarize",
           "format_table", "token_check"]

SYSTEMS = ("gensim", "streamsgns")  # the default pair; "gensim-3ep", "streamsgns-2p" etc. on request


def parse_system(name: str) -> tuple[str, int]:
    """``"gensim"`` → ``("gensim", 1)``, ``"gensim-3ep"`` → 3 epochs, ``"streamsgns-2p"`` → 2 passes.

    Raises
    ------
    ValueError
        On any other name.

    Examples
    --------
    >>> parse_system("gensim-3ep"), parse_system("streamsgns")
    (('gensim', 3), ('streamsgns', 1))
    """
    m = re.fullmatch(r"(gensim)(?:-([1-9][0-9]*)ep)?|(streamsgns)(?:-([1-9][0-9]*)p|-replay[0-9.]+(?:-end)?)?", name)
    if not m or (name.startswith("streamsgns-replay") and replay_of(name) is None):
        raise ValueError(f"unknown system {name!r} (gensim, gensim-<N>ep, streamsgns, streamsgns-<N>p, "
                         "streamsgns-replay<R>, streamsgns-replay<R>-end)")
    return (m.group(1), int(m.group(2) or 1)) if m.group(1) else (m.group(3), int(m.group(4) or 1))


def replay_of(name: str) -> float | None:
    """``"streamsgns-replay1"`` → 1.0 (one pass with ``SGNS(replay=1.0)``, :mod:`streamsgns.replay`), else None;
    ``"streamsgns-replay2-end"`` → 2.0 (with ``replay_at="end"``, :func:`replay_at_of`).

    >>> replay_of("streamsgns-replay0.5"), replay_of("streamsgns-2p"), replay_of("streamsgns-replay2-end")
    (0.5, None, 2.0)
    """
    m = re.fullmatch(r"streamsgns-replay([0-9]+(?:\.[0-9]+)?)(?:-end)?", name)
    return float(m.group(1)) if m else None


def replay_at_of(name: str) -> str:
    """``"end"`` for ``streamsgns-replay<R>-end`` (the buffer replayed in stream order at the end of the
    input, ``SGNS(replay_at="end")``), else ``"spread"``.

    >>> replay_at_of("streamsgns-replay2-end"), replay_at_of("streamsgns-replay1")
    ('end', 'spread')
    """
    return "end" if replay_of(name) is not None and name.endswith("-end") else "spread"
MODES = ("e2e", "train")
REPO = Path(__file__).resolve().parents[3]

METRICS = [  # key, label, format, higher is better
    ("wall_s", "wall seconds", "{:.1f}", False),
    ("words_per_s", "words/s", "{:,.0f}", True),
    ("cpu_s", "CPU seconds (all threads)", "{:.1f}", False),
    ("words_per_cpu_s", "words per CPU second", "{:,.0f}", True),
    ("peak_rss_mb", "peak RSS MiB", "{:,.0f}", False),
    ("rss_before_save_mib", "  before saving vectors", "{:,.0f}", False),
    ("vocab_size", "vocabulary", "{:,}", None),
    ("ws353", "WS353 Spearman", "{:.3f}", True),
    ("simlex", "SimLex-999 Spearman", "{:.3f}", True),
    ("analogies", "analogies 3CosAdd (30k)", "{:.3f}", True),
]
"""Metrics of the table: JSON key, label, format, whether higher is better (None: neither)."""


def evaluate_vectors(path: str) -> dict:
    """Score word2vec-format vectors on WS-353, SimLex-999 and the Google analogies, with gensim.

    Parameters
    ----------
    path : str
        Vectors in word2vec text format, most frequent words first (``restrict_vocab`` relies on
        that order).

    Returns
    -------
    dict
        ``ws353``, ``simlex`` (Spearman rho), ``analogies`` (3CosAdd accuracy over the questions
        whose four words are among the 30,000 first, ``analogies_n`` of them), the OOV ratios
        ``ws353_oov_pct`` and ``simlex_oov_pct`` (percent) and ``n_vectors``.

    Raises
    ------
    ImportError
        If gensim is not installed.
    FileNotFoundError
        If gensim's evaluation files are missing (:func:`streamsgns.evaluate.eval_data_path`).
    """
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    from gensim.models import KeyedVectors

    from streamsgns.evaluate import eval_data_path

    kv = KeyedVectors.load_word2vec_format(path, binary=False)
    out = {"n_vectors": len(kv)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, sp, oov = kv.evaluate_word_pairs(str(eval_data_path("wordsim353")))
        out.update(ws353=float(sp[0]), ws353_oov_pct=float(oov))
        _, sp, oov = kv.evaluate_word_pairs(str(eval_data_path("simlex999")))
        out.update(simlex=float(sp[0]), simlex_oov_pct=float(oov))
        acc, sections = kv.evaluate_word_analogies(str(eval_data_path("questions-words")), restrict_vocab=30000)
        total = sections[-1] if sections and sections[-1].get("section") == "Total accuracy" else None
        n = len(total["correct"]) + len(total["incorrect"]) if total else None
        out.update(analogies=float(acc), analogies_n=n)
    return out


def environment_info() -> dict:
    """Machine, library versions, thread settings and BLAS info of the parent process.

    Returns
    -------
    dict
        JSON-serialisable description (``threadpoolctl`` info when that package is installed,
        else ``None``; numpy's BLAS from ``numpy.show_config`` when available).
    """
    import numpy as np

    info: dict = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "env": {k: os.environ.get(k) for k in (
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "NUMBA_CACHE_DIR")},
    }
    for mod in ("gensim", "numba", "scipy", "streamsgns"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception as e:  # a missing system is reported, not fatal
            info[mod] = f"unavailable ({type(e).__name__}: {e})"
    try:
        from threadpoolctl import threadpool_info

        info["threadpoolctl"] = threadpool_info()
    except ImportError:
        info["threadpoolctl"] = None
    try:
        info["numpy_blas"] = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas")
    except Exception:
        info["numpy_blas"] = None
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu_model"] = names[0] if names else None
    except OSError:
        info["cpu_model"] = None
    return info


def git_info() -> dict:
    """Commit and dirty state of the repository holding the benchmark.

    Returns
    -------
    dict
        ``commit`` (str or None) and ``dirty_files`` (list of ``git status --porcelain`` lines for
        ``streamsgns/`` and ``connectors/``, or None when git is unavailable).
    """
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "streamsgns", "connectors"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty_files": None}
    return {"commit": commit, "dirty_files": dirty}


def token_check(runs: list[dict], corpus_tokens: int) -> dict:
    """Check that every successful run saw the parent's token count.

    Parameters
    ----------
    runs : list of dict
        Run records with ``system``, ``mode``, ``repeat``, ``ok`` and ``system_tokens``.
    corpus_tokens : int
        The parent's count (:func:`.corpus.count_corpus_tokens`).

    Returns
    -------
    dict
        ``agree`` (bool: every run's ``system_tokens`` equals ``corpus_tokens`` times its passes,
        for streamsgns, whose ``words_seen`` counts every pass) and
        ``mismatches`` (``{"system-mode-repeat": system_tokens}`` of those that differ).
    """
    bad = {f"{r['system']}-{r['mode']}-{r['repeat']}": r.get("system_tokens")
           for r in runs if r.get("ok") and r.get("system_tokens") != corpus_tokens * _passes(r["system"])}
    return {"agree": not bad, "mismatches": bad}


def _passes(system: str) -> int:
    base, n = parse_system(system)
    return n if base == "streamsgns" else 1  # gensim's corpus_total_words is one epoch's


def _systems(runs: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["system"] for r in runs))


def summarize(runs: list[dict]) -> dict:
    """Median of every metric over the repeats, per mode and system.

    Parameters
    ----------
    runs : list of dict
        Run records (``system``, ``mode``, ``ok`` and the metrics).

    Returns
    -------
    dict
        ``{mode: {system: {metric: median, "n_runs": int}, "ratio": {metric: streamsgns / gensim}}}``.
    """
    out: dict = {}
    keys = [k for k, *_ in METRICS] + ["vocab_s", "save_s", "tokenize_s"]
    for mode in MODES:
        per = {}
        for system in _systems(runs):
            rs = [r for r in runs if r["mode"] == mode and r["system"] == system and r.get("ok")]
            if not rs:
                continue
            agg = {}
            for key in keys:
                vals = [r[key] for r in rs if isinstance(r.get(key), (int, float))]
                if vals:
                    agg[key] = statistics.median(vals)
            agg["n_runs"] = len(rs)
            per[system] = agg
        if not per:
            continue
        if "gensim" in per and "streamsgns" in per:
            g, s = per["gensim"], per["streamsgns"]
            per["ratio"] = {k: s[k] / g[k] for k, *_ in METRICS if k in g and k in s and g[k]}
        out[mode] = per
    return out


def format_table(summary: dict, meta: dict) -> str:
    """Render the summary as a plain-text table (both systems and streamsgns/gensim ratios).

    Parameters
    ----------
    summary : dict
        Output of :func:`summarize`.
    meta : dict
        Run metadata (``corpus``, ``corpus_tokens``, ``corpus_lines``, ``params``, ``repeat``).

    Returns
    -------
    str
        The table, ready to print.
    """
    lines = [f"corpus {meta['corpus']}: {meta['corpus_tokens']:,} tokens, {meta['corpus_lines']:,} lines; "
             f"workers={meta['params']['workers']}, repeats={meta['repeat']} (medians)"]
    titles = {"e2e": "end to end (file -> vectors, reading + tokenising included)",
              "train": "training only (pre-tokenised lists; gensim build_vocab excluded)"}
    for mode, per in summary.items():
        lines += ["", titles[mode]]
        others = [k for k in per if k not in ("gensim", "streamsgns", "ratio")]
        head = f"{'metric':<28}{'gensim':>14}{'streamsgns':>14}{'ratio s/g':>11}" + "".join(f"{o:>15}" for o in others)
        lines += [head, "-" * len(head)]
        for key, label, fmt, _ in METRICS:
            g = per.get("gensim", {}).get(key)
            s = per.get("streamsgns", {}).get(key)
            r = per.get("ratio", {}).get(key)
            if g is None and s is None and all(per[o].get(key) is None for o in others):
                continue

            def f(v):
                return "-" if v is None else fmt.format(int(v) if fmt == "{:,}" else v)

            lines.append(f"{label:<28}{f(g):>14}{f(s):>14}{'-' if r is None else f'{r:.2f}':>11}"
                         + "".join(f"{f(per[o].get(key)):>15}" for o in others))
        extra = []
        for system in [k for k in per if k != "ratio"]:
            d = per.get(system, {})
            bits = [f"{k}={d[k]:.1f}s" for k in ("tokenize_s", "vocab_s", "save_s") if k in d]
            if bits:
                extra.append(f"{system}: " + ", ".join(bits))
        if extra:
            lines.append("  (" + "; ".join(extra) + ")")
    return "\n".join(lines)
