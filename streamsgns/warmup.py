"""Compiling the numba kernels before the first token: ``streamsgns warmup`` and the trainer's compile child.

Why does a first run wait? numba compiles a kernel at its first call and keeps the machine code in
its on-disk cache (``__pycache__`` beside the sources, or ``NUMBA_CACHE_DIR``); every later process
loads it in a fraction of a second. The first call of :func:`streamsgns.kernels.process_block`
compiles it with everything it calls (scanning, counting, eviction, the training step, the
co-occurrence statistics, forgetting): about 30 s of one CPU, and, while LLVM works, about 250 MB
of memory that the process keeps afterwards. A newcomer's first run, and each new container, pays
it. Two remedies live here:

- :func:`warm_up` (``streamsgns warmup``) runs tiny models through every path of the kernels (one
  worker and threads, replay, eviction, forgetting, the averages), so that the cache holds them all:
  run it once after installing, or in a container image's build.
- :func:`start_compile_child`: ``streamsgns train`` finds the cache cold (:func:`kernels_cached`) and
  compiles in a child process while it opens the source and the snapshot directory; the compiler's
  memory stays in the child, so the trainer's peak RSS is a warm run's, and the compilation
  overlaps the source's connection (a Kafka group join takes seconds).

Examples
--------
>>> from streamsgns.warmup import kernels_cached
>>> isinstance(kernels_cached(), bool)
True
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

__all__ = ["warm_up", "kernels_cached", "start_compile_child", "wait_compile_child"]

log = logging.getLogger("streamsgns")

_WORDS = [f"w{i}" for i in range(40)]


def _lines(n: int) -> str:
    """``n`` lines over 40 distinct words (enough to admit, evict and train with the settings below)."""
    out = []
    for i in range(n):
        out.append(" ".join(_WORDS[(i * 7 + j * 3) % 40] for j in range(12)))
    return "\n".join(out) + "\n"


def warm_up() -> float:
    """Compile (or load from the cache) every kernel of the main paths; returns the seconds it took.

    Runs tiny models (8 dimensions, 30 admitted words at most so that eviction runs) with one
    worker and with two, with replay (spread and at the end of the input) and with forgetting, as raw text
    and as token lists, runs a
    change check, and reads their averaged vectors. Nothing is written but numba's cache.

    Returns
    -------
    float
        Wall seconds.
    """
    from .learner import SGNS

    t0 = time.perf_counter()
    text = _lines(300)
    small = dict(vector_size=8, min_count=2, max_vocab=30, sketch_width=1 << 10, cooc_top_n=16,
                 cooc_sketch_width=1 << 10, average_every=500, replay=1.0, replay_buffer=1000)
    for workers, half_life in ((1, None), (2, None), (1, 2000.0)):
        m = SGNS(workers=workers, half_life=half_life, **small)
        m.learn_text(text)
        m.learn_many([line.split() for line in text.splitlines()[:50]])
        m.replay_idle(100)
        m.check_changes()  # the change check, and the neighbours of change records
        m._export.neighbours(_WORDS[:2], m.output)
        m.vectors("W+C")
        m.close()
    for workers in (1, 2):  # replay at the end of the input, in stream order
        m = SGNS(workers=workers, **{**small, "replay_at": "end"})
        m.learn_text(text)
        m.replay_end()
        m.close()
    return time.perf_counter() - t0


def kernels_cached() -> bool:
    """Whether numba's cache holds :func:`streamsgns.kernels.process_block` for the current sources.

    Reads numba's cache index (an internal of numba: if it cannot be read, the answer is True, so
    that nothing is started for nothing).
    """
    from . import kernels as K

    try:
        return len(K.process_block._cache._cache_file._load_index()) > 0
    except Exception:  # another numba: assume warm
        return True


def start_compile_child() -> subprocess.Popen | None:
    """Start ``python -m streamsgns warmup --quiet`` if the kernels are not cached, else None.

    Returns
    -------
    subprocess.Popen or None
        The child (stdout/stderr discarded), or None when the cache is warm or the child cannot start.
    """
    if kernels_cached():
        return None
    try:
        return subprocess.Popen([sys.executable, "-m", "streamsgns", "warmup", "--quiet"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as e:
        log.warning(f"could not start the kernel compilation in a child process ({e}); compiling here")
        return None


def wait_compile_child(child: subprocess.Popen | None) -> None:
    """Wait for the compile child (if any); on failure the kernels compile in this process instead."""
    if child is None:
        return
    log.info("compiling the numba kernels (first run with this cache; `streamsgns warmup` does it ahead)")
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.kill()
        raise
    if code != 0:
        log.warning(f"kernel compilation child exited with status {code}; compiling in this process")
