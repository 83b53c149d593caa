"""Shared helpers of the core test suite (tokenizer scan, corpora, model checks).

Kept out of ``conftest.py`` on purpose: import it explicitly
(``from helpers_core import ...``; ``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from streamsgns.scan import scan_token  # noqa: E402


def scan_lines(data: bytes, mode: int = 0) -> list[list[str]]:
    """Tokens that the numba scanner finds in ``data``, one list per ``\\n``-separated line.

    Gives ``data.count(b"\\n") + 1`` lists, like ``str.split("\\n")``.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    n = buf.shape[0]
    lines: list[list[str]] = [[]]
    pos = 0
    while True:
        s, e, nxt, _ = scan_token(buf, pos, n, mode)
        if s < e:
            lines[-1].append(data[s:e].decode("utf-8"))
            assert nxt > pos, "scanner did not advance"
            pos = nxt
            continue
        if nxt < n:
            assert data[nxt] == 10, "scanner stopped before a non-newline byte"
            lines.append([])
            pos = nxt + 1
        else:
            break
    return lines


def control_bytes(data: bytes) -> int:
    """Bytes the mode-0 scanner counts as control bytes (below 0x20, not TAB/LF/CR)."""
    return sum(1 for b in data if b < 32 and b not in (9, 10, 13))


@functools.lru_cache(maxsize=None)
def lee_path() -> str:
    """Path of gensim's Lee background corpus (300 news documents, ~58k tokens)."""
    from gensim.test.utils import datapath

    return datapath("lee_background.cor")


@functools.lru_cache(maxsize=None)
def lee_lines() -> tuple[str, ...]:
    with open(lee_path(), encoding="utf-8") as f:
        return tuple(f.read().splitlines())


@functools.lru_cache(maxsize=None)
def lee_token_lists() -> tuple[list[str], ...]:
    """The Lee corpus tokenised line by line (default tokenizer), empty lines dropped."""
    from streamsgns.tokenize import tokenize

    return tuple(t for t in (tokenize(line) for line in lee_lines()) if t)


def gensim_data(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def assert_finite(model) -> None:
    """W and C (all allocated rows) hold no NaN or inf."""
    model.flush()
    assert np.isfinite(model.params.W).all(), "NaN/inf in W"
    assert np.isfinite(model.params.C).all(), "NaN/inf in C"


def assert_vocab_consistent(model) -> None:
    """key_to_index, index_to_key, counts and the numba hash table agree."""
    from streamsgns.hashing import hash_token

    v = model.vocab
    kti, itk = v.key_to_index, v.index_to_key
    n = model.n_ids
    counts = v.counts[:n]
    assert len(itk) <= n or all(w is None for w in itk[n:])
    assert len(kti) == model.vocab_size == int((counts > 0).sum())
    for w, i in kti.items():
        assert itk[i] == w
        assert counts[i] > 0
        assert v.lookup_hash(w) == i
        assert int(v.hashes[i]) == hash_token(w)
    for i in range(n):
        if counts[i] > 0:
            assert itk[i] is not None and kti[itk[i]] == i
        else:
            assert i >= len(itk) or itk[i] is None


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def model_state(m) -> dict:
    """Every piece of learner state that two runs said to be identical must share: the components'
    state dicts (through the one door, ``SGNS.state_dict``), flattened, arrays copied, plus the
    Python-side maps."""
    out = {}

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                out[prefix + k] = v.copy() if isinstance(v, np.ndarray) else v

    walk({k: v for k, v in m.state_dict().items() if k != "params" and (k != "cooc" or v is not None)}, "")
    out.update(itk=list(m.index_to_key), kti=dict(m.key_to_index))
    return out


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            assert np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k
