"""The gensim run: ``Word2Vec(sg=1, hs=0, epochs=1)`` on the benchmark corpus, in a child process.

``e2e``: a re-iterable corpus reads the file and tokenises each line with the learner's tokenizer
(:mod:`.corpus`), fed to ``build_vocab`` and then ``train`` (two passes over the file, as gensim
needs); both are timed. ``train``: the corpus pre-tokenised into a list of token lists (the list
streamsgns gets in the same mode); ``build_vocab`` is timed apart (``vocab_s``) and ``wall_s``
times ``train`` alone.
"""

from __future__ import annotations

import time

from .child import cpu_s_self, rss_mib_self, timed_save
from .corpus import iter_token_lists, pretokenize

__all__ = ["run_gensim"]


def run_gensim(mode: str, corpus: str, vectors: str, p: dict, epochs: int = 1) -> dict:
    """Train gensim Word2Vec for one epoch and write its vectors.

    Parameters
    ----------
    mode : str
        ``"e2e"`` or ``"train"`` (see the module docstring).
    corpus : str
        Text file, one sentence per line.
    vectors : str
        Output path: ``wv`` (syn0) in word2vec text format, most frequent word first (gensim's
        own ``save_word2vec_format``).
    p : dict
        ``vector_size``, ``window``, ``negative``, ``ns_exponent``, ``sample``, ``min_count``,
        ``alpha``, ``min_alpha``, ``seed``, ``workers``.
    epochs : int
        Epochs of ``train`` (1 is the benchmark's setting; 3 for the moonshot).

    Returns
    -------
    dict
        ``wall_s``, ``train_s``, ``vocab_s``, ``cpu_s`` (seconds), ``tokenize_s`` (``train``
        mode), ``save_s``, ``rss_after_setup_mib``, ``rss_before_save_mib`` (MiB),
        ``system_tokens`` (gensim's ``corpus_total_words``), ``vocab_size``, ``version``.

    Raises
    ------
    ImportError
        If gensim is not installed.
    """
    import logging

    logging.disable(logging.CRITICAL)
    import gensim
    from gensim.models import Word2Vec

    out: dict = {}

    class LineCorpus:
        def __iter__(self):
            return iter_token_lists(corpus)

    model = Word2Vec(
        sg=1, hs=0, negative=p["negative"], ns_exponent=p["ns_exponent"], window=p["window"],
        vector_size=p["vector_size"], sample=p["sample"], min_count=p["min_count"], alpha=p["alpha"],
        min_alpha=p["min_alpha"], seed=p["seed"], workers=p["workers"], epochs=epochs,
    )
    out["rss_after_setup_mib"] = rss_mib_self()
    if mode == "e2e":
        c0 = cpu_s_self()
        t0 = time.perf_counter()
        it = LineCorpus()
        model.build_vocab(corpus_iterable=it)
        t1 = time.perf_counter()
        model.train(corpus_iterable=it, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                    epochs=epochs)
        t2 = time.perf_counter()
        out.update(wall_s=t2 - t0, vocab_s=t1 - t0, train_s=t2 - t1, cpu_s=cpu_s_self() - c0)
    else:
        t0 = time.perf_counter()
        sents = pretokenize(corpus)
        t1 = time.perf_counter()
        model.build_vocab(corpus_iterable=sents)
        c2 = cpu_s_self()
        t2 = time.perf_counter()
        model.train(corpus_iterable=sents, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                    epochs=epochs)
        t3 = time.perf_counter()
        out.update(wall_s=t3 - t2, tokenize_s=t1 - t0, vocab_s=t2 - t1, train_s=t3 - t2, cpu_s=cpu_s_self() - c2)
    timed_save(out, lambda: model.wv.save_word2vec_format(vectors))
    out.update(system_tokens=int(model.corpus_total_words), vocab_size=len(model.wv), version=gensim.__version__)
    return out
