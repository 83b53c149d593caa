"""Helpers of the scale-out benchmarks: feeding lines to a model as the CLI does, and its scores.

Shared by ``ray_replicas.py`` (one process against Ray replicas), ``simulate.py`` (replicas in one
process), ``merge_rules.py`` and ``delta_bytes.py``, so that every one of them trains and scores
a single process the same way.
"""

from __future__ import annotations

#: Bytes of lines handed to ``SGNS.learn_text`` at once (the CLI's block size).
BLOCK_BYTES = 1 << 20


def learn_lines(m, lines) -> None:
    """Learn ``lines`` (str, no newline) in blocks of about :data:`BLOCK_BYTES` bytes, then flush.

    The raw-block path of the CLI (``SGNS.learn_text``).
    """
    buf, size = [], 0
    for ln in lines:
        buf.append(ln)
        size += len(ln) + 1
        if size >= BLOCK_BYTES:
            m.learn_text(("\n".join(buf) + "\n").encode("utf-8"))
            buf, size = [], 0
    if buf:
        m.learn_text(("\n".join(buf) + "\n").encode("utf-8"))
    m.flush()


def scores(model) -> dict:
    """WS-353 and SimLex-999 (Spearman) and Google analogies (3CosAdd accuracy) of the exported vectors.

    Over the alive rows (:func:`streamsgns.evaluate.evaluate_all`, its 30k-word analogy vocabulary).

    Returns
    -------
    dict
        ``ws353``, ``simlex``, ``analogies``: floats.
    """
    from streamsgns.evaluate import evaluate_all

    words = model.index_to_key
    alive = [i for i, w in enumerate(words) if w is not None]
    r = evaluate_all([words[i] for i in alive], model.vectors()[alive])
    return {"ws353": r["wordsim353"]["spearman"], "simlex": r["simlex999"]["spearman"],
            "analogies": r["analogies"]["accuracy"]}


def git_commit() -> str | None:
    """The short commit of the checkout these benchmarks run from (None outside a git checkout)."""
    import subprocess
    from pathlib import Path

    try:
        return subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
