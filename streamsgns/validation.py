"""Validation of :class:`streamsgns.SGNS`'s constructor parameters (one clear ``ValueError`` each)."""

from __future__ import annotations

import math
import numbers

from .export import OUTPUT_KINDS

__all__ = ["validate_params", "MAX_ALPHA"]

#: Largest initial learning rate accepted. Plain SGD on SGNS diverges for large steps. Measured on
#: real text (``benchmarks/learning_rule/alpha_bound.py``: gensim's Lee corpus, 3 passes, alpha held constant,
#: vector_size 50/100/300 × negative 5/15 × window 5/10): the largest ``|W|`` entry stays below 2.7 up
#: to alpha 0.2, reaches 80 at 0.25, 2.6e5 at 0.3 and 2e19 at 0.4, and every run at 0.5 ends in
#: NaN. So 0.2 is the largest setting that stays bounded; word2vec's default is 0.025.
MAX_ALPHA = 0.2

_POSITIVE_INTS = ("vector_size", "window", "min_count", "max_vocab", "workers", "max_sentence_length",
                  "sketch_width", "batch_bytes", "cooc_sketch_rate")


def _int(model, name: str, lo: int, hi: int | None = None) -> None:
    v = getattr(model, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rng}, got {v!r}")


def _real(model, name: str, lo: float | None = None, lo_open: bool = False) -> float:
    v = getattr(model, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {v!r}")
    return float(v)


def validate_params(model) -> None:
    """Check every constructor parameter of ``model`` (an :class:`streamsgns.SGNS`).

    Raises
    ------
    ValueError
        Naming the first parameter out of range: sizes and counts must be positive integers,
        ``seed`` an integer in ``[0, 2**64)``, ``alpha`` in ``(0, MAX_ALPHA]`` (larger steps
        diverge, see :data:`MAX_ALPHA`), ``min_alpha`` in ``(0, alpha]``, ``sample >= 0``,
        ``output`` one of ``W``, ``C``, ``W+C``, ``tokenizer`` callable or None,
        ``sketch_halving_tokens`` None or an integer >= 0, ``half_life`` None or a finite number > 0,
        ``average_eta`` None or >= 0, ``average_every`` None or an integer >= 1, ``word_decay`` None or > 0,
        ``average_horizon`` None or > 0, ``detect_changes`` a bool, ``change_threshold`` > 0,
        ``change_every`` an integer >= 1, ``shared_negatives`` a bool, ``replay`` a finite number >= 0
        or ``"idle"``, ``replay_buffer`` an integer >= 2 (tokens), ``replay_at`` ``"spread"`` or ``"end"``.
    """
    for name in _POSITIVE_INTS:
        _int(model, name, 1)
    _int(model, "negative", 0)
    _int(model, "cooc_top_n", 0)
    _int(model, "cooc_sketch_width", 0)
    _int(model, "cooc_sketch_depth", 0)
    _int(model, "sketch_depth", 1)
    _int(model, "seed", 0, (1 << 64) - 1)
    if model.sketch_halving_tokens is not None:
        _int(model, "sketch_halving_tokens", 0)
    if model.sketch_width >= 1 << 32:
        raise ValueError(f"sketch_width must be < 2**32, got {model.sketch_width!r}")
    alpha = _real(model, "alpha", 0.0, lo_open=True)
    if alpha > MAX_ALPHA:
        raise ValueError(f"alpha must be <= {MAX_ALPHA} (SGD on SGNS diverges beyond), got {alpha!r}")
    if _real(model, "min_alpha", 0.0, lo_open=True) > alpha:
        raise ValueError(f"min_alpha must be <= alpha, got {model.min_alpha!r} > {alpha!r}")
    _real(model, "decay_tokens", 0.0, lo_open=True)
    if getattr(model, "word_decay", None) is not None:
        _real(model, "word_decay", 0.0, lo_open=True)
    if getattr(model, "half_life", None) is not None:
        _real(model, "half_life", 0.0, lo_open=True)
    if getattr(model, "average_eta", None) is not None:
        _real(model, "average_eta", 0.0)
    if getattr(model, "average_every", None) is not None:
        _int(model, "average_every", 1)
    if getattr(model, "average_horizon", None) is not None:
        _real(model, "average_horizon", 0.0, lo_open=True)
    if not isinstance(getattr(model, "detect_changes", False), bool):
        raise ValueError(f"detect_changes must be True or False, got {model.detect_changes!r}")
    if hasattr(model, "change_threshold"):
        _real(model, "change_threshold", 0.0, lo_open=True)
        _int(model, "change_every", 1)
    _real(model, "sample", 0.0)
    _real(model, "ns_exponent")
    if getattr(model, "replay", 0) != "idle":
        if isinstance(getattr(model, "replay", 0), str):
            raise ValueError(f"replay must be a number >= 0 or 'idle', got {model.replay!r}")
        _real(model, "replay", 0.0)
    if hasattr(model, "replay_buffer"):
        _int(model, "replay_buffer", 2)
    if getattr(model, "replay_at", "spread") not in ("spread", "end"):
        raise ValueError(f"replay_at must be 'spread' or 'end', got {model.replay_at!r}")
    if model.output not in OUTPUT_KINDS:
        raise ValueError(f"output must be 'W', 'C' or 'W+C', got {model.output!r}")
    if model.tokenizer is not None and not callable(model.tokenizer):
        raise ValueError("tokenizer must be callable")
    if not isinstance(getattr(model, "shared_negatives", False), bool):
        raise ValueError(f"shared_negatives must be True or False, got {model.shared_negatives!r}")
    if model.on is not None and not isinstance(model.on, str):
        raise ValueError(f"on must be a str or None, got {model.on!r}")
