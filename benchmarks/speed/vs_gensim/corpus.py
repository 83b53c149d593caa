"""The benchmark corpus: where it comes from and its token lists, with the learner's tokenizer.

Both systems see the tokens of :func:`streamsgns.tokenize.tokenize` (lowercase, river's
``(?u)\\b\\w[\\w\\-]+\\b``), the tokenizer ``SGNS.learn_file`` applies itself, so the corpus
token count of the parent, gensim's ``corpus_total_words`` and streamsgns's ``words_seen`` are the
same number (each run records its own as ``system_tokens``; the parent checks them).

``streamsgns/tokenize.py`` is loaded by file, not through ``import streamsgns.tokenize``: the
package's ``__init__`` imports the learner (numba, LLVM, river: about 60 MiB), which would count in
the gensim child's peak RSS. The file is the learner's own, so the tokens are the learner's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Iterator


def _learner_tokenize_module():
    """``streamsgns.tokenize`` itself if imported, else the same file loaded without the package."""
    if "streamsgns.tokenize" in sys.modules:
        return sys.modules["streamsgns.tokenize"]
    pkg = importlib.util.find_spec("streamsgns")  # locates the package without importing it
    if pkg is None or not pkg.submodule_search_locations:
        raise ImportError("streamsgns is not installed: the benchmark tokenises with its tokenizer")
    path = Path(next(iter(pkg.submodule_search_locations))) / "tokenize.py"
    spec = importlib.util.spec_from_file_location("_bench_streamsgns_tokenize", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_tok = _learner_tokenize_module()
TOKEN_PATTERN: str = _tok.TOKEN_PATTERN
tokenize = _tok.tokenize

__all__ = ["TOKEN_PATTERN", "iter_token_lists", "pretokenize", "count_corpus_tokens", "truncate_corpus",
           "resolve_corpus"]


def iter_token_lists(path: str | os.PathLike) -> Iterator[list[str]]:
    """Yield the token list of each line of a UTF-8 text file (:func:`streamsgns.tokenize.tokenize`).

    Parameters
    ----------
    path : str or os.PathLike
        Text file, one sentence or paragraph per line (undecodable bytes are replaced).

    Yields
    ------
    list of str
        The tokens of one line; may be empty.
    """
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            yield tokenize(line)


def pretokenize(path: str | os.PathLike) -> list[list[str]]:
    """Read a whole corpus as a list of token lists, with interned tokens.

    Parameters
    ----------
    path : str or os.PathLike
        Text file.

    Returns
    -------
    list of list of str
        One list per line that has tokens. Equal tokens are the same ``str`` object, so memory is
        about 8 bytes per token plus one string per distinct word.
    """
    pool: dict[str, str] = {}
    return [[pool.setdefault(t, t) for t in toks] for toks in iter_token_lists(path) if toks]


def count_corpus_tokens(path: str | os.PathLike) -> tuple[int, int]:
    """Count the tokens and lines of a corpus.

    Parameters
    ----------
    path : str or os.PathLike
        Text file.

    Returns
    -------
    tokens : int
        Number of tokens (the numerator of every words/s figure; equals the learner's
        ``words_seen`` after ``learn_file(path)``).
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
        Token budget; the line that reaches it is the last one copied.

    Returns
    -------
    int
        Tokens copied.
    """
    n = 0
    with open(src, encoding="utf-8", errors="replace") as fi, open(dst, "w", encoding="utf-8") as fo:
        for line in fi:
            if n >= max_tokens:
                break
            fo.write(line)
            n += len(tokenize(line))
    return n


def resolve_corpus(arg: str, cache: str | None) -> Path:
    """Return the corpus file: an existing path, or a name for :func:`streamsgns_tools.corpora.fetch`.

    Parameters
    ----------
    arg : str
        A file path or a corpus name (``"mix"``, ``"brown"``, ``"lee"``, ...).
    cache : str, optional
        Cache directory of :func:`streamsgns_tools.corpora.fetch`.

    Returns
    -------
    pathlib.Path
        Existing text file.

    Raises
    ------
    ValueError
        If ``arg`` is neither a file nor a known corpus name.
    streamsgns_tools.corpora.DownloadError
        If the corpus must be downloaded and its registry fails.
    """
    p = Path(arg).expanduser()
    if p.is_file():
        return p
    from streamsgns_tools.corpora import fetch

    return fetch(arg, cache_dir=cache)
