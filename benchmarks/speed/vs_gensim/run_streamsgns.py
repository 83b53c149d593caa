"""The streamsgns run: one online pass of ``SGNS`` over the benchmark corpus, in a child process.

``e2e``: ``SGNS.learn_file(path)`` (blocks of lines through the learner's own tokenizer and
kernels). ``train``: ``learn_many`` on the same pre-tokenised list of token lists gensim gets
(building the vocabulary is part of the online pass, so it is inside ``wall_s``). numba compiles
the kernels on first use: with ``warmup`` the child first learns a tiny text through both entry
points, outside the clock (``jit_warmup_s``). The vectors are written by the library's one
word2vec writer (``SGNS.save_word2vec_format`` → :mod:`streamsgns.io.word2vec`).
"""

from __future__ import annotations

import time

import streamsgns  # before .corpus, which then reuses streamsgns.tokenize
from streamsgns import SGNS

from .child import cpu_s_self, rss_mib_self, timed_save
from .corpus import pretokenize

__all__ = ["run_streamsgns"]


def _timed_passes(m, learn, passes: int) -> dict:
    """``passes`` calls of ``learn()``, then the wait for the training threads: ``wall_s`` =
    ``train_s`` (seconds) and ``cpu_s`` (CPU seconds of the process) of that alone."""
    c0 = cpu_s_self()
    t0 = time.perf_counter()
    for _ in range(passes):
        learn()
    m.flush()
    dt = time.perf_counter() - t0
    return {"wall_s": dt, "train_s": dt, "cpu_s": cpu_s_self() - c0}


def run_streamsgns(mode: str, corpus: str, vectors: str, p: dict, warmup: bool, passes: int = 1) -> dict:
    """Learn the corpus in one pass with ``SGNS`` and write its vectors.

    Parameters
    ----------
    mode : str
        ``"e2e"`` or ``"train"`` (see the module docstring).
    corpus : str
        Text file, one sentence per line.
    vectors : str
        Output path: ``W`` in word2vec text format, most frequent word first.
    p : dict
        Keyword arguments of ``SGNS`` (``vector_size``, ``window``, ``negative``, ...).
    warmup : bool
        Compile the numba kernels on a tiny text before the clock starts.
    passes : int
        Times the corpus is streamed (1 is the benchmark's setting; more, in gensim's one-epoch
        wall time, is the moonshot). The same order each pass, as gensim's epochs.

    Returns
    -------
    dict
        ``wall_s``, ``train_s``, ``cpu_s`` (seconds), ``tokenize_s`` (``train`` mode), ``save_s``,
        ``jit_warmup_s`` (with ``warmup``), ``rss_after_setup_mib``, ``rss_before_save_mib``
        (MiB), ``system_tokens`` (the learner's ``words_seen``), ``vocab_size``, ``version`` and
        ``progress`` (the learner's counters).
    """
    out: dict = {}
    if warmup:  # compile the numba kernels outside the clock, on both entry points
        t = time.perf_counter()
        w = SGNS(**{**p, "min_count": 1})
        w.learn_text("the quick brown fox jumps over the lazy dog\n" * 50)
        w.learn_many([["the", "quick", "brown", "fox"]] * 50)
        w.learn_many(["the quick brown fox"] * 50)
        w.close()
        del w
        out["jit_warmup_s"] = time.perf_counter() - t
    m = SGNS(**p)
    out["rss_after_setup_mib"] = rss_mib_self()
    if mode == "e2e":
        out.update(_timed_passes(m, lambda: m.learn_file(corpus), passes))
    else:
        t0 = time.perf_counter()
        sents = pretokenize(corpus)
        out["tokenize_s"] = time.perf_counter() - t0
        out.update(_timed_passes(m, lambda: m.learn_many(sents), passes))
    timed_save(out, lambda: m.save_word2vec_format(vectors))
    out["save_via"] = "SGNS.save_word2vec_format"
    out.update(system_tokens=int(m.words_seen), vocab_size=int(m.vocab_size),
               version=getattr(streamsgns, "__version__", "?"))
    try:  # the learner's counters are a nicety of the JSON, never a reason to lose a run
        out["progress"] = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in m.progress().items()}
    except Exception as e:
        out["progress"] = f"unavailable ({type(e).__name__}: {e})"
    m.close()
    return out
