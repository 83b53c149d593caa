"""Shared helpers of the drift experiments (``drift_new_words.py``, ``drift_sotu.py``, ``drift_planted.py``).

Not part of the library: reading corpora, building learners with or without forgetting, neighbour
sets over a model's most frequent words, and the JSON/figure conventions of ``benchmarks/``
(results in ``benchmarks/results/<name>.json``, git-ignored; figures for the docs in ``docs/drift/``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
FIGURES = ROOT / "docs" / "drift"

from streamsgns import SGNS  # noqa: E402
from streamsgns.io.atomic import atomic_write  # noqa: E402
from streamsgns.tokenize import tokenize  # noqa: E402
from streamsgns.vectors import KeyedVectors  # noqa: E402


def corpus_file(name: str, cache: str | None = None) -> Path:
    """A corpus of :mod:`streamsgns_tools.corpora` (cached) or a path to a text file."""
    if os.path.exists(name):
        return Path(name)
    from streamsgns_tools.corpora import fetch

    return Path(fetch(name, cache))


def parse_tokens(s) -> int | None:
    """``"2M"`` → 2_000_000, ``"500k"`` → 500_000, ``"none"``/``""`` → None."""
    if s is None:
        return None
    s = str(s).strip().lower()
    if s in ("", "none", "0"):
        return None
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if s[-1] in "kmg" else s) * mult)


def make_sgns(half_life=None, **kw) -> SGNS:
    """``SGNS(**kw)``, with ``half_life`` passed only when set (older builds have no such parameter)."""
    if half_life is not None:
        try:
            return SGNS(half_life=half_life, **kw)
        except TypeError as e:
            raise SystemExit(f"this streamsgns has no half_life (issue 9 part 1 not merged yet): {e}")
    return SGNS(**kw)


def frequent_kv(model, n: int | None = None, words=None) -> KeyedVectors:
    """The ``n`` most frequent alive words of a learner (all when None) plus ``words``, as KeyedVectors.

    Returns
    -------
    KeyedVectors
        Rows by decreasing count; vectors are the learner's output vectors (``W`` by default).
    """
    counts = np.asarray(model.counts)
    alive = np.flatnonzero(counts > 0)
    order = alive[np.argsort(-counts[alive], kind="stable")]
    keep = order if n is None else order[:n]
    if words:
        k2i = model.key_to_index
        extra = [k2i[w] for w in words if w in k2i and counts[k2i[w]] > 0]
        keep = np.concatenate([keep, np.setdiff1d(np.asarray(extra, dtype=np.int64), keep)])
    V = model.vectors()
    itk = model.index_to_key
    return KeyedVectors([itk[i] for i in keep], np.asarray(V[keep], dtype=np.float32))


def gensim_kv(model, n: int | None = None, words=None) -> KeyedVectors:
    """Same as :func:`frequent_kv` for a gensim Word2Vec (its index is by decreasing count after build_vocab)."""
    wv = model.wv
    counts = np.array([wv.get_vecattr(w, "count") for w in wv.index_to_key], dtype=np.int64)
    order = np.argsort(-counts, kind="stable")
    keep = order if n is None else order[:n]
    if words:
        extra = [wv.key_to_index[w] for w in words if w in wv.key_to_index]
        keep = np.concatenate([keep, np.setdiff1d(np.asarray(extra, dtype=np.int64), keep)])
    return KeyedVectors([wv.index_to_key[i] for i in keep], np.asarray(wv.vectors[keep], dtype=np.float32))


def neighbours(kv: KeyedVectors, word: str, k: int = 10, allowed=None) -> list[str]:
    """Top-``k`` neighbours of ``word`` in ``kv`` (among ``allowed`` words only, if given); [] if absent."""
    if word not in kv:
        return []
    if allowed is None:
        return [w for w, _ in kv.most_similar(word, topn=k)]
    out = []
    for w, _ in kv.most_similar(word, topn=k + 4 * k):
        if w in allowed:
            out.append(w)
            if len(out) == k:
                break
    return out


def overlap(a, b, k: int = 10) -> float:
    """``|a ∩ b| / k`` (the share of the top-``k`` neighbours in common)."""
    return len(set(a[:k]) & set(b[:k])) / k


def environment() -> dict:
    """Machine, versions, commit, load average (benchmarks/README.md conventions)."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except OSError:
        commit = None
    import numba

    return {"python": sys.version.split()[0], "numpy": np.__version__, "numba": numba.__version__,
            "machine": platform.machine(), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
            "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "note": "2 vCPUs shared by 4 agents working at once: throughput numbers are noisy"}


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON atomically; the directory is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(obj, indent=1, default=float).encode()
    atomic_write(path, lambda f: f.write(data))
    return path


def read_lines(path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [ln.rstrip("\n") for ln in f if ln.strip()]


def blocks_by_tokens(token_lists, every: int):
    """Split a list of token lists into consecutive blocks of about ``every`` tokens.

    Yields
    ------
    (list of token lists, int)
        The block and the tokens seen up to its end.
    """
    block, n, total = [], 0, 0
    for t in token_lists:
        block.append(t)
        n += len(t)
        if n >= every:
            total += n
            yield block, total
            block, n = [], 0
    if block:
        yield block, total + n


__all__ = ["corpus_file", "parse_tokens", "make_sgns", "frequent_kv", "gensim_kv", "neighbours", "overlap",
           "environment", "write_json", "read_lines", "blocks_by_tokens", "tokenize", "RESULTS", "FIGURES"]
