"""Intrinsic evaluation: word similarity (Spearman) and analogies (3CosAdd).

* Word similarity: Spearman's ρ between human scores and cosine similarity
  on WS-353 (Finkelstein et al. 2002) and SimLex-999 (Hill et al. 2015);
  pairs with an out-of-vocabulary word are skipped and counted, as gensim's
  ``KeyedVectors.evaluate_word_pairs`` does.
* Analogies: Google's ``questions-words.txt`` (Mikolov et al. 2013a), "a is
  to b as c is to ?" answered by 3CosAdd, ``argmax_d cos(d, b − a + c)`` over
  unit vectors, excluding a, b, c, restricted to the ``restrict_vocab`` most
  frequent words (gensim's default 30,000); questions with a word outside
  that vocabulary are skipped.

The data files ship in gensim's wheel (``gensim/test/test_data``). :func:`eval_data_path` finds
them in a directory given to it (``streamsgns evaluate --data-dir``, or ``$STREAMSGNS_EVAL_DATA``),
else in the installed gensim, without importing it; gensim itself is not needed to compute the
scores. (The repository's ``python -m streamsgns_tools.corpora eval-sets --cache DIR`` fetches the
three files from gensim's wheel by package name, without installing gensim.)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from .vectors import KeyedVectors, unit_rows

__all__ = [
    "evaluate_word_pairs",
    "evaluate_analogies",
    "evaluate_all",
    "EVAL_SETS",
    "eval_data_path",
    "gensim_test_data_dir",
    "EVAL_DATA_ENV",
]

EVAL_SETS: dict[str, str] = {
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
    "questions-words": "questions-words.txt",
}
"""Evaluation sets of gensim's ``test/test_data`` directory: name → file name."""

#: Environment variable naming a directory that holds the files of :data:`EVAL_SETS`.
EVAL_DATA_ENV = "STREAMSGNS_EVAL_DATA"


def gensim_test_data_dir() -> Path:
    """Return the ``test/test_data`` directory of the installed gensim, without importing gensim.

    Returns
    -------
    pathlib.Path
        Existing directory (it holds the evaluation sets of :data:`EVAL_SETS` and small corpora).

    Raises
    ------
    FileNotFoundError
        If gensim is not installed, or its wheel has no ``test/test_data``; the message says
        ``pip install gensim``.
    """
    spec = importlib.util.find_spec("gensim")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / "test" / "test_data"
            if p.is_dir():
                return p
    raise FileNotFoundError(
        "gensim's test_data directory was not found: the evaluation sets (and the Lee and "
        "enwiki-sample corpora) ship inside the gensim wheel; run `pip install gensim`"
    )


def eval_data_path(name: str, data_dir=None) -> Path:
    """Return the path of an evaluation set: in ``data_dir``, else ``$STREAMSGNS_EVAL_DATA``, else gensim's.

    Parameters
    ----------
    name : str
        ``"wordsim353"`` (``wordsim353.tsv``, WordSim-353 pairs and human scores),
        ``"simlex999"`` (``simlex999.txt``, tab-separated, ``#`` comments) or
        ``"questions-words"`` (``questions-words.txt``, Google analogies with ``: section``
        headers).
    data_dir : str or os.PathLike, optional
        A directory holding the file under that name (e.g. what
        ``python -m streamsgns_tools.corpora eval-sets`` writes). Default: the directory named by
        ``$STREAMSGNS_EVAL_DATA`` if set, else the installed gensim's ``test/test_data``.

    Returns
    -------
    pathlib.Path
        Existing file, readable by :func:`evaluate_word_pairs` / :func:`evaluate_analogies`
        (and gensim's ``KeyedVectors.evaluate_word_pairs`` / ``evaluate_word_analogies``).

    Raises
    ------
    ValueError
        If ``name`` is not one of the three names above.
    FileNotFoundError
        If the directory given lacks the file, or, with none given, gensim is not installed
        (message: ``pip install gensim``, or give a directory) or its file is missing.

    Examples
    --------
    >>> eval_data_path("no-such-set")
    Traceback (most recent call last):
    ...
    ValueError: unknown evaluation set 'no-such-set'; known: wordsim353, simlex999, questions-words
    """
    if name not in EVAL_SETS:
        raise ValueError(f"unknown evaluation set {name!r}; known: {', '.join(EVAL_SETS)}")
    if data_dir is None:
        data_dir = os.environ.get(EVAL_DATA_ENV) or None
    if data_dir is not None:
        p = Path(data_dir) / EVAL_SETS[name]
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such evaluation file (an evaluation data directory holds "
                                    f"{', '.join(EVAL_SETS.values())})")
        return p
    try:
        d = gensim_test_data_dir()
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{e}; or give a directory holding {', '.join(EVAL_SETS.values())} "
                                f"(streamsgns evaluate --data-dir DIR, or ${EVAL_DATA_ENV})") from None
    p = d / EVAL_SETS[name]
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing from the installed gensim; reinstall it: `pip install gensim`")
    return p


def evaluate_word_pairs(words, vectors, path, delimiter="\t") -> dict:
    """Spearman/Pearson correlation of cosine similarities with human scores.

    Parameters
    ----------
    words : list of str
    vectors : ndarray, shape (n, d)
    path : str or os.PathLike
        Lines ``word1<TAB>word2<TAB>score``; ``#`` comments; words lowercased.

    Returns
    -------
    dict
        ``spearman``, ``pearson``, ``pairs`` (evaluated), ``oov`` (skipped),
        ``oov_ratio``.

    Raises
    ------
    ValueError
        If fewer than two pairs can be evaluated, or the vectors hold NaN or inf.
    OSError
        If ``path`` cannot be read.
    """
    from scipy import stats

    kv = KeyedVectors(list(words), vectors)
    sims, gold, oov = [], [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split(delimiter)
            if len(parts) < 3:
                continue
            a, b = parts[0].lower(), parts[1].lower()
            try:
                score = float(parts[2])
            except ValueError:
                continue
            if a in kv and b in kv:
                sims.append(kv.similarity(a, b))
                gold.append(score)
            else:
                oov += 1
    if len(sims) < 2:
        raise ValueError(f"{path}: fewer than two pairs in the vocabulary")
    total = len(sims) + oov
    return {
        "spearman": float(stats.spearmanr(gold, sims).statistic),
        "pearson": float(stats.pearsonr(gold, sims).statistic),
        "pairs": len(sims),
        "oov": oov,
        "oov_ratio": oov / total,
    }


def evaluate_analogies(words, vectors, path, restrict_vocab: int = 30000, batch: int = 1024) -> dict:
    """Accuracy on analogy questions with 3CosAdd (Mikolov et al. 2013).

    Parameters
    ----------
    words : list of str
        By decreasing frequency (as written by ``save_word2vec_format``).
    vectors : ndarray, shape (n, d)
    path : str or os.PathLike
        ``questions-words.txt`` format (``: section`` headers).
    restrict_vocab : int
        Only the first ``restrict_vocab`` words are candidates and questions.
    batch : int
        Questions scored per matrix product (memory ``batch * restrict_vocab * 4`` bytes).

    Returns
    -------
    dict
        ``accuracy`` (over answered questions), ``correct``, ``questions``
        (answered), ``skipped`` (out of vocabulary), ``sections``
        ({name: accuracy}).
    """
    words = list(words)[:restrict_vocab]
    index = {w: i for i, w in enumerate(words)}
    V = unit_rows(np.asarray(vectors)[: len(words)])
    quads, section_of, sections, skipped = [], [], [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(":"):
                sections.append(line[1:].strip())
                continue
            parts = line.lower().split()
            if len(parts) != 4:
                continue
            if all(p in index for p in parts):
                quads.append([index[p] for p in parts])
                section_of.append(len(sections) - 1)
            else:
                skipped += 1
    if not quads:
        return {"accuracy": float("nan"), "correct": 0, "questions": 0, "skipped": skipped, "sections": {}}
    Q = np.array(quads, dtype=np.int64)
    sec = np.array(section_of)
    hit = np.zeros(len(Q), dtype=bool)
    for s in range(0, len(Q), batch):
        q = Q[s:s + batch]
        target = V[q[:, 1]] - V[q[:, 0]] + V[q[:, 2]]
        sims = target @ V.T
        rows = np.arange(len(q))
        for col in range(3):
            sims[rows, q[:, col]] = -np.inf
        hit[s:s + batch] = sims.argmax(axis=1) == q[:, 3]
    by_section = {sections[i]: float(hit[sec == i].mean()) for i in np.unique(sec)}
    return {
        "accuracy": float(hit.mean()),
        "correct": int(hit.sum()),
        "questions": int(len(Q)),
        "skipped": skipped,
        "sections": by_section,
    }


def evaluate_all(words, vectors, wordsim=None, simlex=None, analogies=None, restrict_vocab=30000,
                 data_dir=None) -> dict:
    """WS-353, SimLex-999 and Google analogies; a file not given comes from :func:`eval_data_path`.

    Parameters
    ----------
    words : list of str
    vectors : ndarray, shape (n, d)
    wordsim, simlex, analogies : str or os.PathLike, optional
        The data files; default ``eval_data_path(name, data_dir)``.
    restrict_vocab : int
        Analogy answers among this many most frequent words.
    data_dir : str or os.PathLike, optional
        Directory of the evaluation sets (see :func:`eval_data_path`).

    Returns
    -------
    dict
        ``{"wordsim353": {...}, "simlex999": {...}, "analogies": {...}}``.

    Raises
    ------
    FileNotFoundError
        If a data file is not given and is found neither in ``data_dir`` /
        ``$STREAMSGNS_EVAL_DATA`` nor in an installed gensim.
    """
    wordsim = wordsim or eval_data_path("wordsim353", data_dir)
    simlex = simlex or eval_data_path("simlex999", data_dir)
    analogies = analogies or eval_data_path("questions-words", data_dir)
    return {
        "wordsim353": evaluate_word_pairs(words, vectors, wordsim),
        "simlex999": evaluate_word_pairs(words, vectors, simlex),
        "analogies": evaluate_analogies(words, vectors, analogies, restrict_vocab=restrict_vocab),
    }
