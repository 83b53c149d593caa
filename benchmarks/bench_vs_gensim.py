#!/usr/bin/env python
"""streamsgns vs gensim Word2Vec: same corpus, same parameters, same run.

Two modes, each system in its own fresh subprocess (so that its peak RSS is its own):

``e2e``
    Raw text file → trained vectors in memory, reading and tokenisation included.
    gensim: a re-iterable corpus that reads the file and tokenises each line with
    ``re.compile(r"(?u)\\b\\w[\\w\\-]+\\b").findall(line.lower())``, fed to ``build_vocab`` and
    then ``train`` (two passes over the file, as gensim needs). streamsgns: ``SGNS.learn_file``
    (one pass; the blocks-of-lines fast path).
``train``
    Training only, on the corpus pre-tokenised by the same regex into a list of token lists
    (tokens interned, so the list costs about 8 bytes per token). gensim: ``build_vocab`` is
    timed apart (``vocab_s``) and excluded from ``wall_s``, which times ``train`` alone.
    streamsgns: ``learn_many(list_of_token_lists)`` (vocabulary building is part of its
    single online pass, so it is included).

Common parameters: skip-gram, negative sampling (negative=5, hs=0, ns_exponent=0.75), window=5,
vector_size=100, sample=1e-3, min_count=5, alpha=0.025, min_alpha=1e-4, one epoch / one pass,
workers=2, seed=0.

Metrics per run: ``wall_s`` (seconds, ``time.perf_counter``), ``words_per_s`` = corpus tokens /
``wall_s``, where corpus tokens are the tokens of the regex above counted once by the parent
(the same number for both systems), ``cpu_s`` (user + system seconds of all threads of the child
during the timed section) and words per CPU second, ``peak_rss_mb`` (the child's own peak RSS,
``VmHWM`` of ``/proc/self/status``, MiB; not ``ru_maxrss``, which on Linux includes the parent's
RSS at fork time), and quality of the vectors (``W``/syn0 of both, written in word2vec text format, read back
with gensim ``KeyedVectors``): WordSim-353 and SimLex-999 Spearman correlations
(``evaluate_word_pairs``) and Google analogies 3CosAdd accuracy (``evaluate_word_analogies``,
``restrict_vocab=30000``). Writing the vectors is timed apart (``save_s``), not in ``wall_s``.

numba compiles streamsgns's kernels on first use: by default each streamsgns child warms up on a
tiny text before the clock starts (``jit_warmup_s`` is reported); ``--no-warmup`` includes it.

Usage::

    python benchmarks/bench_vs_gensim.py [--corpus mix|NAME|PATH] [--max-tokens N] [--repeat R]
        [--systems gensim,streamsgns] [--modes e2e,train] [--workers 2] [--cache DIR]
        [--json benchmarks/results/bench_vs_gensim.json]

Prints a table of both systems and the ratio streamsgns/gensim per metric, and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "bench_vs_gensim.json"
TOKEN_PATTERN = r"(?u)\b\w[\w\-]+\b"
SYSTEMS = ("gensim", "streamsgns")
MODES = ("e2e", "train")

PARAMS = dict(
    vector_size=100,
    window=5,
    negative=5,
    ns_exponent=0.75,
    sample=1e-3,
    min_count=5,
    alpha=0.025,
    min_alpha=1e-4,
    seed=0,
    workers=2,
)


# ============================================================================ shared helpers


def iter_token_lists(path: str | os.PathLike):
    """Yield the token list of each line of a UTF-8 text file (the benchmark's tokeniser).

    Parameters
    ----------
    path : str or os.PathLike
        Text file, one sentence or paragraph per line.

    Yields
    ------
    list of str
        ``re.findall(r"(?u)\\b\\w[\\w\\-]+\\b", line.lower())``; may be empty.
    """
    findall = re.compile(TOKEN_PATTERN).findall
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            yield findall(line.lower())


def pretokenize(path: str | os.PathLike) -> list[list[str]]:
    """Read a whole corpus as a list of token lists, with interned tokens.

    Parameters
    ----------
    path : str or os.PathLike
        Text file.

    Returns
    -------
    list of list of str
        One list per non-empty line. Equal tokens are the same ``str`` object, so memory is about
        8 bytes per token plus one string per distinct word.
    """
    pool: dict[str, str] = {}
    out = []
    for toks in iter_token_lists(path):
        if toks:
            out.append([pool.setdefault(t, t) for t in toks])
    return out


def count_corpus_tokens(path: str | os.PathLike) -> tuple[int, int]:
    """Count the benchmark tokeniser's tokens and the lines of a corpus.

    Parameters
    ----------
    path : str or os.PathLike
        Text file.

    Returns
    -------
    tokens : int
        Number of tokens (the numerator of every words/s figure).
    lines : int
        Number of lines.
    """
    n = lines = 0
    for toks in iter_token_lists(path):
        n += len(toks)
        lines += 1
    return n, lines


def truncate_corpus(src: Path, dst: Path, max_tokens: int) -> int:
    """Copy the first lines of ``src`` to ``dst`` until ``max_tokens`` tokens are reached.

    Parameters
    ----------
    src, dst : pathlib.Path
        Source corpus and destination file (overwritten).
    max_tokens : int
        Token budget (benchmark tokeniser); the line that reaches it is the last one copied.

    Returns
    -------
    int
        Tokens copied.
    """
    findall = re.compile(TOKEN_PATTERN).findall
    n = 0
    with open(src, encoding="utf-8", errors="replace") as fi, open(dst, "w", encoding="utf-8") as fo:
        for line in fi:
            if n >= max_tokens:
                break
            fo.write(line)
            n += len(findall(line.lower()))
    return n


def source_hashes() -> dict[str, str]:
    """SHA-256 of every ``*.py`` file of the installed ``streamsgns`` and ``connectors`` packages.

    Returns
    -------
    dict
        Absolute file path → hex digest; empty if neither package is installed. The packages are
        located without being imported.
    """
    import hashlib
    import importlib.util

    out = {}
    for pkg in ("streamsgns", "connectors"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            for f in sorted(Path(loc).rglob("*.py")):
                out[str(f.resolve())] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def loaded_source_fingerprint(before: dict[str, str]) -> tuple[str | None, bool, list[str]]:
    """Fingerprint the streamsgns/connectors modules this process actually imported.

    Parameters
    ----------
    before : dict
        :func:`source_hashes` taken when the process started, before any import.

    Returns
    -------
    fingerprint : str or None
        First 16 hex digits of a SHA-256 over the start-time hashes of the imported modules'
        files (None if none was imported). Runs with different fingerprints ran different code.
    changed : bool
        True if one of those files changed on disk while this process ran (then the code that
        ran may differ from both the start and the end state).
    modules : list of str
        The imported module names.
    """
    import hashlib

    now = source_hashes()
    mods, files = [], []
    for name, mod in sorted(sys.modules.items()):
        if name.split(".")[0] in ("streamsgns", "connectors") and getattr(mod, "__file__", None):
            mods.append(name)
            files.append(str(Path(mod.__file__).resolve()))
    if not files:
        return None, False, mods
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode())
        h.update(before.get(f, "?").encode())
    changed = any(before.get(f) != now.get(f) for f in files)
    return h.hexdigest()[:16], changed, mods


def git_info() -> dict:
    """Commit and dirty state of the repository holding this script.

    Returns
    -------
    dict
        ``commit`` (str or None) and ``dirty_files`` (list of ``git status --porcelain`` lines for
        ``streamsgns/`` and ``connectors/``, or None when git is unavailable).
    """
    repo = HERE.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "streamsgns", "connectors"], cwd=repo,
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty_files": None}
    return {"commit": commit, "dirty_files": dirty}


def _cpu_s_self() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return ru.ru_utime + ru.ru_stime


def _rss_mib_self() -> float:
    """Peak resident set size of this process so far, MiB.

    ``VmHWM`` of ``/proc/self/status``: the high-water mark of this process's own address space,
    which starts afresh at ``exec``. ``getrusage(...).ru_maxrss`` is not used when ``VmHWM`` is
    there, because Linux carries the *parent's* RSS at fork time over into the child's
    ``ru_maxrss`` (``RUSAGE_SELF`` in the child and ``RUSAGE_CHILDREN``/``wait4`` in the parent
    alike), so a child started by a 250 MiB parent reports at least 250 MiB.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB; macOS: bytes


# ============================================================================ children


def _child_gensim(mode: str, corpus: str, vectors: str, p: dict) -> dict:
    import logging

    logging.disable(logging.CRITICAL)
    from gensim.models import Word2Vec

    out: dict = {}

    class LineCorpus:
        def __iter__(self):
            return iter_token_lists(corpus)

    model = Word2Vec(
        sg=1, hs=0, negative=p["negative"], ns_exponent=p["ns_exponent"], window=p["window"],
        vector_size=p["vector_size"], sample=p["sample"], min_count=p["min_count"], alpha=p["alpha"],
        min_alpha=p["min_alpha"], seed=p["seed"], workers=p["workers"], epochs=1,
    )
    out["rss_after_setup_mib"] = _rss_mib_self()
    if mode == "e2e":
        c0 = _cpu_s_self()
        t0 = time.perf_counter()
        it = LineCorpus()
        model.build_vocab(corpus_iterable=it)
        t1 = time.perf_counter()
        model.train(corpus_iterable=it, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                    epochs=1)
        t2 = time.perf_counter()
        out.update(wall_s=t2 - t0, vocab_s=t1 - t0, train_s=t2 - t1, cpu_s=_cpu_s_self() - c0)
    else:
        t0 = time.perf_counter()
        sents = pretokenize(corpus)
        t1 = time.perf_counter()
        model.build_vocab(corpus_iterable=sents)
        c2 = _cpu_s_self()
        t2 = time.perf_counter()
        model.train(corpus_iterable=sents, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                    epochs=1)
        t3 = time.perf_counter()
        out.update(wall_s=t3 - t2, tokenize_s=t1 - t0, vocab_s=t2 - t1, train_s=t3 - t2, cpu_s=_cpu_s_self() - c2)
    out["rss_before_save_mib"] = _rss_mib_self()
    t = time.perf_counter()
    model.wv.save_word2vec_format(vectors)
    out["save_s"] = time.perf_counter() - t
    out.update(
        system_tokens=int(model.corpus_total_words),
        vocab_size=len(model.wv),
    )
    import gensim

    out["version"] = gensim.__version__
    return out


def _write_w2v_fallback(m, path: str) -> int:
    """Write W in word2vec text format by decreasing count (used if snapshot is unavailable)."""
    import numpy as np

    m.flush() if hasattr(m, "flush") else None
    keys = m.index_to_key
    W = np.asarray(m.W)
    counts = np.asarray(m.counts) if hasattr(m, "counts") else np.zeros(len(keys))
    rows = [i for i, k in enumerate(keys) if k is not None]
    rows.sort(key=lambda i: -counts[i])
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(rows)} {W.shape[1]}\n")
        for i in rows:
            f.write(keys[i] + " " + " ".join(f"{x:.6g}" for x in W[i]) + "\n")
    return len(rows)


def _learn_file(m, path: str) -> None:
    if hasattr(m, "learn_file"):
        m.learn_file(path)
        return
    with open(path, "rb") as f:  # blocks of whole lines, about 1 MiB each
        rest = b""
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            if cut:
                m.learn_text(chunk[:cut])
                rest = chunk[cut:]
            else:
                rest = chunk
        if rest:
            m.learn_text(rest)


def _child_streamsgns(mode: str, corpus: str, vectors: str, p: dict, warmup: bool) -> dict:
    import streamsgns
    from streamsgns import SGNS

    out: dict = {}
    kw = dict(p)
    if warmup:  # compile the numba kernels outside the clock, on both entry points
        t = time.perf_counter()
        w = SGNS(**{**kw, "min_count": 1})
        w.learn_text("the quick brown fox jumps over the lazy dog\n" * 50)
        w.learn_many([["the", "quick", "brown", "fox"]] * 50)
        w.learn_many(["the quick brown fox"] * 50)
        if hasattr(w, "close"):
            w.close()
        del w
        out["jit_warmup_s"] = time.perf_counter() - t
    m = SGNS(**kw)
    out["rss_after_setup_mib"] = _rss_mib_self()
    if mode == "e2e":
        c0 = _cpu_s_self()
        t0 = time.perf_counter()
        _learn_file(m, corpus)
        m.flush()
        t1 = time.perf_counter()
        out.update(wall_s=t1 - t0, train_s=t1 - t0, cpu_s=_cpu_s_self() - c0)
    else:
        t0 = time.perf_counter()
        sents = pretokenize(corpus)
        c1 = _cpu_s_self()
        t1 = time.perf_counter()
        m.learn_many(sents)
        m.flush()
        t2 = time.perf_counter()
        out.update(wall_s=t2 - t1, tokenize_s=t1 - t0, train_s=t2 - t1, cpu_s=_cpu_s_self() - c1)
    out["rss_before_save_mib"] = _rss_mib_self()
    t = time.perf_counter()
    try:
        m.save_word2vec_format(vectors)
        out["save_via"] = "SGNS.save_word2vec_format"
    except (ImportError, AttributeError, NotImplementedError) as e:
        _write_w2v_fallback(m, vectors)
        out["save_via"] = f"benchmark fallback writer ({type(e).__name__}: {e})"
    out["save_s"] = time.perf_counter() - t
    out.update(system_tokens=int(m.words_seen), vocab_size=int(m.vocab_size),
               version=getattr(streamsgns, "__version__", "?"))
    try:
        out["progress"] = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in m.progress().items()}
    except Exception:  # progress() is a nicety, never a reason to lose a run
        pass
    if hasattr(m, "close"):
        m.close()
    return out


def child_main(spec_json: str) -> int:
    """Entry point of a benchmark child process (``--_child SPEC``); writes its result JSON.

    Parameters
    ----------
    spec_json : str
        JSON object with ``system``, ``mode``, ``corpus``, ``vectors``, ``result``, ``params``,
        ``warmup``.

    Returns
    -------
    int
        0 on success (the result file holds the timings), 1 on failure (it holds the error).
    """
    spec = json.loads(spec_json)
    hashes_start = source_hashes() if spec["system"] == "streamsgns" else None
    try:
        if spec["system"] == "gensim":
            res = _child_gensim(spec["mode"], spec["corpus"], spec["vectors"], spec["params"])
        else:
            res = _child_streamsgns(spec["mode"], spec["corpus"], spec["vectors"], spec["params"], spec["warmup"])
        res["ok"] = True
        code = 0
    except Exception as e:  # reported to the parent, which records the failure
        import traceback

        res = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        code = 1
    res["child_peak_rss_mib"] = _rss_mib_self()
    if hashes_start is not None:
        fp, changed, mods = loaded_source_fingerprint(hashes_start)
        res.update(source_fingerprint=fp, source_changed_during_run=changed, source_modules=mods)
    Path(spec["result"]).write_text(json.dumps(res, indent=1))
    return code


# ============================================================================ parent


def run_child(spec: dict, log: Path) -> dict:
    """Run one system in a fresh Python process and measure its peak RSS.

    Parameters
    ----------
    spec : dict
        See :func:`child_main`.
    log : pathlib.Path
        File receiving the child's stdout and stderr.

    Returns
    -------
    dict
        The child's result plus ``peak_rss_mb`` (the child's own peak RSS, ``VmHWM``, MiB),
        ``wait4_maxrss_mib`` (the kernel's ``ru_maxrss`` for the child from ``os.wait4``, which
        on Linux includes this parent's RSS at fork time, kept for reference), ``exit_code`` and
        ``process_wall_s`` (interpreter start to exit).
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", json.dumps(spec)]
    t = time.perf_counter()
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    dt = time.perf_counter() - t
    try:
        res = json.loads(Path(spec["result"]).read_text())
    except (OSError, ValueError):
        res = {"ok": False, "error": f"child wrote no result (exit {proc.returncode}); see {log}"}
    # the child's own VmHWM; wait4's ru_maxrss also counts this (parent) process's RSS at fork time
    res.update(peak_rss_mb=res.get("child_peak_rss_mib", float("nan")), wait4_maxrss_mib=ru.ru_maxrss / 1024.0,
               exit_code=proc.returncode, process_wall_s=dt)
    if not res.get("ok"):
        res["log_tail"] = log.read_text(errors="replace")[-3000:]
    return res


def evaluate_vectors(path: str) -> dict:
    """Score word2vec-format vectors on WS-353, SimLex-999 and the Google analogies.

    Parameters
    ----------
    path : str
        Vectors in word2vec text format, most frequent words first (``restrict_vocab`` relies on
        that order).

    Returns
    -------
    dict
        ``ws353``, ``simlex`` (Spearman rho), ``analogies`` (3CosAdd accuracy over the questions
        whose four words are among the 30,000 first), their OOV ratios (percent) and
        ``n_vectors``.
    """
    import logging

    logging.disable(logging.CRITICAL)
    import warnings

    from gensim.models import KeyedVectors

    from streamsgns.datasets import eval_data_path

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
        else ``None``; ``numpy.show_config`` dicts when available).
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
        cfg = np.show_config(mode="dicts")
        info["numpy_blas"] = cfg.get("Build Dependencies", {}).get("blas")
    except Exception:
        info["numpy_blas"] = None
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu_model"] = names[0] if names else None
    except OSError:
        info["cpu_model"] = None
    return info


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


def summarize(runs: list[dict]) -> dict:
    """Median of every metric over the repeats, per mode and system.

    Parameters
    ----------
    runs : list of dict
        Run records (``system``, ``mode``, ``ok`` and the metrics).

    Returns
    -------
    dict
        ``{mode: {system: {metric: median}, "ratio": {metric: streamsgns / gensim}}}``.
    """
    out: dict = {}
    for mode in MODES:
        per = {}
        for system in SYSTEMS:
            rs = [r for r in runs if r["mode"] == mode and r["system"] == system and r.get("ok")]
            if not rs:
                continue
            agg = {}
            for key, *_ in METRICS + [("vocab_s", 0, 0, 0), ("save_s", 0, 0, 0), ("tokenize_s", 0, 0, 0)]:
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
        Run metadata (corpus, tokens).

    Returns
    -------
    str
        The table, ready to print.
    """
    lines = [f"corpus {meta['corpus']}: {meta['corpus_tokens']:,} tokens, {meta['corpus_lines']:,} lines; "
             f"workers={meta['params']['workers']}, repeats={meta['repeat']} (medians)"]
    for mode, per in summary.items():
        title = {"e2e": "end to end (file -> vectors, reading + tokenising included)",
                 "train": "training only (pre-tokenised lists; gensim build_vocab excluded)"}[mode]
        lines.append("")
        lines.append(title)
        head = f"{'metric':<28}{'gensim':>14}{'streamsgns':>14}{'ratio s/g':>11}"
        lines.append(head)
        lines.append("-" * len(head))
        for key, label, fmt, _ in METRICS:
            g = per.get("gensim", {}).get(key)
            s = per.get("streamsgns", {}).get(key)
            r = per.get("ratio", {}).get(key)
            if g is None and s is None:
                continue

            def f(v):
                return "-" if v is None else fmt.format(int(v) if fmt == "{:,}" else v)

            lines.append(f"{label:<28}{f(g):>14}{f(s):>14}{'-' if r is None else f'{r:.2f}':>11}")
        extra = []
        for system in SYSTEMS:
            d = per.get(system, {})
            bits = [f"{k}={d[k]:.1f}s" for k in ("tokenize_s", "vocab_s", "save_s") if k in d]
            if bits:
                extra.append(f"{system}: " + ", ".join(bits))
        if extra:
            lines.append("  (" + "; ".join(extra) + ")")
    return "\n".join(lines)


def resolve_corpus(arg: str, cache: str | None) -> Path:
    """Return the corpus file: an existing path, or a name for :func:`streamsgns.datasets.fetch`.

    Parameters
    ----------
    arg : str
        A file path or a corpus name (``"mix"``, ``"brown"``, ...).
    cache : str, optional
        Cache directory of :func:`streamsgns.datasets.fetch`.

    Returns
    -------
    pathlib.Path
        Existing text file.

    Raises
    ------
    ValueError
        If ``arg`` is neither a file nor a known corpus name.
    """
    p = Path(arg).expanduser()
    if p.is_file():
        return p
    from streamsgns.datasets import fetch

    return fetch(arg, cache_dir=cache)


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="mix", help="corpus name for streamsgns.datasets.fetch, or a file")
    ap.add_argument("--cache", default=None, help="cache dir of streamsgns.datasets (default $STREAMSGNS_DATA)")
    ap.add_argument("--max-tokens", type=int, default=None, help="use only the first lines, up to N tokens")
    ap.add_argument("--repeat", type=int, default=1, help="runs per system and mode (medians reported)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma list of gensim,streamsgns")
    ap.add_argument("--modes", default=",".join(MODES), help="comma list of e2e,train")
    ap.add_argument("--workers", type=int, default=PARAMS["workers"], help="threads of both systems")
    ap.add_argument("--no-warmup", action="store_true", help="include numba compilation in streamsgns timings")
    ap.add_argument("--no-eval", action="store_true", help="skip the quality evaluation")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the JSON results")
    ap.add_argument("--keep-vectors", default=None, help="directory where the vectors are kept")
    args = ap.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for s in systems:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s!r}")
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}")
    params = {**PARAMS, "workers": args.workers}

    with tempfile.TemporaryDirectory(prefix="bench_vs_gensim.") as tmpdir:
        tmp = Path(tmpdir)
        corpus = resolve_corpus(args.corpus, args.cache)
        if args.max_tokens:
            cut = tmp / f"corpus-{args.max_tokens}.txt"
            truncate_corpus(corpus, cut, args.max_tokens)
            corpus_used = cut
        else:
            corpus_used = corpus
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
            "params": params,
            "gensim_fixed": {"sg": 1, "hs": 0, "epochs": 1},
            "repeat": args.repeat,
            "warmup": not args.no_warmup,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "environment": environment_info(),
            "git": git_info(),
        }
        runs = []
        for rep in range(args.repeat):
            for mode in modes:
                for system in systems:
                    tag = f"{system}-{mode}-{rep}"
                    spec = {
                        "system": system, "mode": mode, "corpus": str(corpus_used),
                        "vectors": str(vec_dir / f"{tag}.vec"), "result": str(tmp / f"{tag}.json"),
                        "params": params, "warmup": not args.no_warmup,
                    }
                    print(f"[{tag}] running ...", flush=True)
                    load_before = os.getloadavg()[0]
                    res = run_child(spec, tmp / f"{tag}.log")
                    res.update(system=system, mode=mode, repeat=rep, loadavg_1min_before=load_before,
                               loadavg_1min_after=os.getloadavg()[0])
                    if res.get("ok"):
                        res["words_per_s"] = n_tokens / res["wall_s"]
                        if res.get("cpu_s"):
                            res["words_per_cpu_s"] = n_tokens / res["cpu_s"]
                        if not args.no_eval:
                            try:
                                res.update(evaluate_vectors(spec["vectors"]))
                            except Exception as e:  # keep the timings even if scoring fails
                                res["eval_error"] = f"{type(e).__name__}: {e}"
                        print(f"[{tag}] wall {res['wall_s']:.1f}s, {res['words_per_s']:,.0f} words/s, "
                              f"peak RSS {res['peak_rss_mb']:,.0f} MiB, vocab {res.get('vocab_size')}, "
                              f"ws353 {res.get('ws353', float('nan')):.3f}, simlex {res.get('simlex', float('nan')):.3f}, "
                              f"analogies {res.get('analogies', float('nan')):.3f}", flush=True)
                    else:
                        print(f"[{tag}] FAILED: {res.get('error')}", flush=True)
                    runs.append(res)

    summary = summarize(runs)
    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    fps = {m: sorted({r["source_fingerprint"] for r in runs if r["mode"] == m and r.get("source_fingerprint")})
           for m in modes}  # per mode: e2e also imports connectors.files
    changed = any(r.get("source_changed_during_run") for r in runs)
    meta["streamsgns_fingerprints"] = fps
    if any(len(v) > 1 for v in fps.values()) or changed:
        meta["warning"] = "the streamsgns sources changed during the benchmark: runs measured different code"
    result = {"meta": meta, "summary": summary, "runs": runs}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_json = out.with_suffix(out.suffix + ".tmp")
    tmp_json.write_text(json.dumps(result, indent=1, default=str))
    os.replace(tmp_json, out)
    print()
    print(format_table(summary, meta))
    if meta.get("warning"):
        print(f"\nWARNING: {meta['warning']} (fingerprints {fps})")
    print(f"\nJSON: {out}")
    return 0 if all(r.get("ok") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
