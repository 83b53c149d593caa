"""``streamsgns warmup`` fills numba's cache; ``train`` with a cold cache compiles in a child and trains."""

from __future__ import annotations

import subprocess
import sys

_CACHED = "from streamsgns.warmup import kernels_cached; print(kernels_cached())"


def _py(args, env, cwd, input=None):
    return subprocess.run([sys.executable, *args], capture_output=True, env=env, cwd=cwd, input=input, timeout=900)


def test_warmup_fills_the_cache_and_a_cold_train_uses_a_compile_child(tmp_path):
    import os

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    r = _py(["-c", _CACHED], env, tmp_path)
    assert r.stdout.decode().strip() == "False", r.stderr.decode()[-2000:]
    # a cold cache: train starts the compile child, waits for it, then trains with the cached kernels
    r = _py(["-m", "streamsgns", "train", "--output", "v.txt", "--min-count", "1", "--vector-size", "8"], env,
            tmp_path, input=b"a cold start compiles the kernels\n" * 50)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    assert b"compiling the numba kernels" in r.stderr
    assert (tmp_path / "v.txt").read_text().split()[:2] == ["5", "8"]
    assert _py(["-c", _CACHED], env, tmp_path).stdout.decode().strip() == "True"
    # another empty cache, filled by the warmup command
    env2 = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache2"))
    r = _py(["-m", "streamsgns", "warmup"], env2, tmp_path)
    assert r.returncode == 0 and b"kernels compiled and cached" in r.stdout, r.stderr.decode()[-3000:]
    assert _py(["-c", _CACHED], env2, tmp_path).stdout.decode().strip() == "True"
    r = _py(["-m", "streamsgns", "train", "--output", "w.txt", "--min-count", "1"], env2, tmp_path, input=b"ab cd\n" * 9)
    assert r.returncode == 0 and b"compiling the numba kernels" not in r.stderr
