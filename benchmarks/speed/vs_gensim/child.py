"""One system in a fresh child process: its peak RSS, CPU time, and the code it ran.

The parent starts ``python benchmarks/speed/bench_vs_gensim.py --_child SPEC`` (:func:`run_child`); the child
(:func:`child_main`) runs one system in one mode and writes a result JSON that the parent reads
back. A fresh interpreter per run makes each peak RSS the system's own.

Peak RSS is the child's ``VmHWM`` (``/proc/self/status``): the high-water mark of its own address
space, which starts afresh at ``exec``. Not ``ru_maxrss``: Linux carries the *parent's* RSS at fork
time over into the child's ``ru_maxrss`` (``RUSAGE_SELF`` in the child and ``RUSAGE_CHILDREN`` /
``wait4`` in the parent alike), so a child started by a 250 MiB parent reports at least 250 MiB.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path

__all__ = ["cpu_s_self", "rss_mib_self", "timed_save", "source_hashes", "loaded_source_fingerprint", "child_main", "run_child"]

ENTRY_SCRIPT = Path(__file__).resolve().parent.parent / "bench_vs_gensim.py"
"""The script a child runs (``--_child SPEC``)."""


def cpu_s_self() -> float:
    """User + system CPU seconds of all threads of this process so far (``getrusage``)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_mib_self() -> float:
    """Peak resident set size of this process so far, MiB (``VmHWM``; ``ru_maxrss`` without /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB; macOS: bytes


def timed_save(out: dict, save) -> None:
    """Write a run's vectors with ``save()``, as both runs do after training.

    Sets ``out["rss_before_save_mib"]`` (:func:`rss_mib_self` just before, MiB) and
    ``out["save_s"]`` (wall seconds of ``save()`` alone).
    """
    out["rss_before_save_mib"] = rss_mib_self()
    t = time.perf_counter()
    save()
    out["save_s"] = time.perf_counter() - t


def source_hashes() -> dict[str, str]:
    """SHA-256 of every ``*.py`` file of the installed ``streamsgns`` and ``connectors`` packages.

    Returns
    -------
    dict
        Absolute file path → hex digest; empty if neither package is installed. The packages are
        located without being imported.
    """
    out = {}
    for pkg in ("streamsgns", "connectors"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            for f in sorted(Path(loc).rglob("*.py")):
                out[str(f.resolve())] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def loaded_source_fingerprint(before: dict[str, str]) -> tuple[str | None, bool, list[str]]:
    """Fingerprint the streamsgns/connectors modules this process actually imported.

    Parameters
    ----------
    before : dict
        :func:`source_hashes` taken when the process started, before any import.

    Returns
    -------
    fingerprint : str or None
        First 16 hex digits of a SHA-256 over the start-time hashes of the imported modules'
        files (None if none was imported). Runs with different fingerprints ran different code.
    changed : bool
        True if one of those files changed on disk while this process ran.
    modules : list of str
        The imported module names.
    """
    now = source_hashes()
    mods, files = [], []
    for name, mod in sorted(sys.modules.items()):
        if name.split(".")[0] in ("streamsgns", "connectors") and getattr(mod, "__file__", None):
            mods.append(name)
            files.append(str(Path(mod.__file__).resolve()))
    if not files:
        return None, False, mods
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode())
        h.update(before.get(f, "?").encode())
    changed = any(before.get(f) != now.get(f) for f in files)
    return h.hexdigest()[:16], changed, mods


def child_main(spec_json: str) -> int:
    """Entry point of a benchmark child process (``--_child SPEC``); writes its result JSON.

    Parameters
    ----------
    spec_json : str
        JSON object with ``system`` (``"gensim"``, ``"streamsgns"``, either with its epochs or
        passes, or ``"streamsgns-replay<R>"`` / ``"streamsgns-replay<R>-end"``: :func:`.report.parse_system`), ``mode`` (``"e2e"`` or
        ``"train"``), ``corpus``, ``vectors`` (output path), ``result`` (result JSON path),
        ``params`` and ``warmup``.

    Returns
    -------
    int
        0 on success (the result file holds the timings), 1 on failure (it holds the error and
        the traceback). The result also holds ``child_peak_rss_mib`` and ``loaded`` (which of
        ``streamsgns``, ``numba``, ``river``, ``gensim`` the child had imported).
    """
    spec = json.loads(spec_json)
    hashes_start = source_hashes()  # before the system imports anything of streamsgns
    try:
        from .report import parse_system, replay_at_of, replay_of

        base, n = parse_system(spec["system"])
        if base == "gensim":
            from .run_gensim import run_gensim

            res = run_gensim(spec["mode"], spec["corpus"], spec["vectors"], spec["params"], epochs=n)
        else:
            from .run_streamsgns import run_streamsgns

            replay = replay_of(spec["system"])  # streamsgns-replay<R>[-end]: one pass, SGNS(replay=R[, replay_at="end"])
            params = spec["params"] if replay is None else {**spec["params"], "replay": replay}
            if replay is not None and replay_at_of(spec["system"]) == "end":
                params["replay_at"] = "end"
            res = run_streamsgns(spec["mode"], spec["corpus"], spec["vectors"], params, spec["warmup"], passes=n)
        res["ok"] = True
        code = 0
    except Exception as e:  # reported to the parent, which records the failure
        res = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        code = 1
    res["child_peak_rss_mib"] = rss_mib_self()
    # what else sits in this child's RSS: the gensim child must not have loaded streamsgns or numba
    res["loaded"] = {m: m in sys.modules for m in ("streamsgns", "numba", "river", "gensim")}
    if spec["system"].startswith("streamsgns"):
        fp, changed, mods = loaded_source_fingerprint(hashes_start)
        res.update(source_fingerprint=fp, source_changed_during_run=changed, source_modules=mods)
    Path(spec["result"]).write_text(json.dumps(res, indent=1))
    return code


def run_child(spec: dict, log: Path, script: Path = ENTRY_SCRIPT) -> dict:
    """Run one system in a fresh Python process and measure its peak RSS.

    Parameters
    ----------
    spec : dict
        See :func:`child_main`.
    log : pathlib.Path
        File receiving the child's stdout and stderr.
    script : pathlib.Path
        Script that dispatches ``--_child`` to :func:`child_main`.

    Returns
    -------
    dict
        The child's result plus ``peak_rss_mb`` (the child's own peak RSS, ``VmHWM``, MiB),
        ``wait4_maxrss_mib`` (the kernel's ``ru_maxrss`` for the child from ``os.wait4``, which
        on Linux includes this parent's RSS at fork time, kept for reference), ``exit_code`` and
        ``process_wall_s`` (interpreter start to exit, seconds). A child that wrote no result
        gives ``ok=False``, an ``error`` and the ``log_tail``.
    """
    cmd = [sys.executable, str(script), "--_child", json.dumps(spec)]
    t = time.perf_counter()
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    dt = time.perf_counter() - t
    try:
        res = json.loads(Path(spec["result"]).read_text())
    except (OSError, ValueError):
        res = {"ok": False, "error": f"child wrote no result (exit {proc.returncode}); see {log}"}
    res.update(peak_rss_mb=res.get("child_peak_rss_mib", float("nan")), wait4_maxrss_mib=ru.ru_maxrss / 1024.0,
               exit_code=proc.returncode, process_wall_s=dt)
    if not res.get("ok"):
        res["log_tail"] = log.read_text(errors="replace")[-3000:]
    return res
