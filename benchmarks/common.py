"""Helpers shared by the benchmark folders (``speed/``, ``quality/``, ``learning_rule/``, ``drift/``, ...).

Not part of the library: the repository paths, corpus lookup, token counts written as ``"2M"``,
the environment recorded with every result, and atomic JSON. Every script writes its results to
``benchmarks/results/<name>.json`` (git-ignored; the numbers quoted in ``docs/`` carry their date
and command). Scripts put the repository root on ``sys.path`` and import this module as
``benchmarks.common``; ``streamsgns_tools`` (corpora, tansu, planted, twins) runs from the
checkout the same way.
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def corpus_file(name: str, cache: str | None = None) -> Path:
    """A corpus of :mod:`streamsgns_tools.corpora` (fetched once, cached) or a path to a text file.

    ``cache`` is the cache directory (default ``$STREAMSGNS_DATA`` or ``~/.cache/streamsgns``).
    Raises what :func:`streamsgns_tools.corpora.fetch` raises for an unknown name.
    """
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


def environment() -> dict:
    """Machine, versions, commit, load average (the conventions of ``benchmarks/README.md``)."""
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


def write_json(path, obj, default=float) -> Path:
    """Write ``obj`` as JSON atomically (:func:`streamsgns.io.atomic.atomic_write`); the directory is created.

    ``default`` converts values that are not JSON types (``float``: numpy scalars; ``str``: anything).
    Returns the path written.
    """
    from streamsgns.io.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(obj, indent=1, default=default).encode("utf-8")
    atomic_write(path, lambda f: f.write(data))
    return path


def read_lines(path) -> list[str]:
    """The non-blank lines of a UTF-8 text file (undecodable bytes replaced), without their newline."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [ln.rstrip("\n") for ln in f if ln.strip()]


def run_child(script, spec: str, env: dict | None = None) -> dict:
    """Run ``python SCRIPT --_child SPEC`` in a fresh interpreter; the JSON object it printed last.

    A fresh process per run makes its peak RSS, its numba cache (``NUMBA_CACHE_DIR`` in ``env``)
    and its compile times its own. ``spec`` is the child's argument (usually JSON).

    Raises
    ------
    RuntimeError
        If the child exits with an error; the message is the end of its stderr (3000 characters).
    """
    r = subprocess.run([sys.executable, str(script), "--_child", spec], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def new_figure(figsize: tuple[float, float]):
    """A matplotlib ``Figure`` of ``figsize`` inches on an Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path) -> None:
    """Lay out a matplotlib ``Figure`` and write it to ``path`` (PNG at 100 dpi); print the path."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


__all__ = ["ROOT", "RESULTS", "corpus_file", "parse_tokens", "environment", "write_json", "read_lines",
           "run_child", "new_figure", "save_figure"]
