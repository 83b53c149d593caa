"""Snapshots: word2vec-format vectors, full checkpoints, and the periodic ``Snapshotter``.

* **Vectors** in word2vec's text or binary format (Mikolov et al.'s
  ``word2vec.c``), which gensim's ``KeyedVectors.load_word2vec_format`` and
  most tools read. Words are written by decreasing count, so a reader's
  ``limit=`` / ``restrict_vocab=`` keeps the most frequent ones.
* **Checkpoints**: one ``.npz`` file (``numpy.savez``, read back with
  ``allow_pickle=False``: loading never executes code) holding every array of
  the learner — W, C, vocabulary hashes, counts and words, the count-min
  sketch, the noise table, the co-occurrence statistics, the RNG states and
  the counters — plus an embedded JSON manifest (array ``__manifest__``) with
  the parameters, the source position and a SHA-256 checksum of every array.
  A truncated or corrupted file fails the checksum (or the zip directory) and
  raises :class:`CheckpointError` naming the file.
* **Atomic writes**: every file is written to a temporary name in the same
  directory, flushed, ``fsync``-ed, renamed over the target, and the directory
  is ``fsync``-ed: after a crash either the old or the new file exists, whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import kernels as K

__all__ = [
    "CheckpointError",
    "atomic_write",
    "save_word2vec_format",
    "load_word2vec_format",
    "save_checkpoint",
    "load_checkpoint",
    "read_manifest",
    "list_checkpoints",
    "latest_checkpoint",
    "Snapshotter",
    "parse_every",
]

log = logging.getLogger("streamsgns")
FORMAT = "streamsgns-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or of another format."""


# ---------------------------------------------------------------------- atomic files
def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write) -> Path:
    """Write a file atomically: temp file in the same directory, fsync, rename, fsync dir.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    write : callable
        ``write(f)`` writes the content to the binary file object ``f``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OSError
        If the directory is not writable or the disk is full; the target is
        then left untouched and the temporary file removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


# ---------------------------------------------------------------------- word2vec format
def _export_rows(model, kind):
    vecs = model.vectors(kind)
    counts = model.counts
    alive = np.flatnonzero(counts > 0)
    order = alive[np.argsort(-counts[alive], kind="stable")]
    return vecs, order


def _safe_word(w: str) -> str:
    return re.sub(r"\s", "_", w) if (" " in w or "\t" in w or "\n" in w or "\r" in w) else w


def save_word2vec_format(model, path, binary: bool = False, kind: str | None = None) -> int:
    """Write the model's vectors in word2vec format, atomically.

    Parameters
    ----------
    model : streamsgns.SGNS
    path : str or os.PathLike
    binary : bool
        word2vec's binary format (little-endian float32) instead of text.
    kind : {"W", "C", "W+C"}, optional
        Default: the model's ``output``.

    Returns
    -------
    int
        Words written (admitted words, by decreasing count).

    Raises
    ------
    ValueError
        If the vectors hold NaN or inf: a corrupted model is never written.
    """
    vecs, order = _export_rows(model, kind)
    sub = np.ascontiguousarray(vecs[order], dtype=np.float32)
    if not np.isfinite(sub).all():
        raise ValueError("refusing to write vectors that hold NaN or inf")
    words = [_safe_word(model.index_to_key[i]) for i in order]
    dim = sub.shape[1]

    def write(f):
        f.write(f"{len(words)} {dim}\n".encode())
        if binary:
            le = sub.astype("<f4", copy=False)
            for w, row in zip(words, le):
                f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            step = 4096  # rows formatted at a time: memory stays O(step * dim) Python floats
            for s in range(0, len(words), step):
                rows = sub[s:s + step].tolist()
                f.write("".join(w + " " + " ".join("%.9g" % v for v in row) + "\n"
                                for w, row in zip(words[s:s + step], rows)).encode("utf-8"))

    atomic_write(path, write)
    return len(words)


def _looks_like_text_row(line: bytes, d: int) -> bool:
    try:
        parts = line.decode("utf-8").rstrip(" \r").split(" ")
        if len(parts) != d + 1:
            return False
        [float(x) for x in parts[1:]]
        return True
    except (UnicodeDecodeError, ValueError):
        return False


def load_word2vec_format(path, binary: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Read word2vec text or binary vectors (no gensim needed).

    Parameters
    ----------
    path : str or os.PathLike
    binary : bool, optional
        Detected from the content when None.

    Returns
    -------
    words : list of str
    vectors : ndarray, shape (n, d), float32

    Raises
    ------
    ValueError
        If the header or a row is malformed.
    """
    with open(path, "rb") as f:
        header = f.readline().split()
        if len(header) != 2:
            raise ValueError(f"{path}: bad word2vec header {header!r}")
        n, d = int(header[0]), int(header[1])
        rest = f.read()
    if binary is None:
        binary = not _looks_like_text_row(rest.split(b"\n", 1)[0], d)
    words, out = [], np.empty((n, d), dtype=np.float32)
    if binary:
        pos = 0
        for i in range(n):
            sp = rest.index(b" ", pos)
            words.append(rest[pos:sp].decode("utf-8").lstrip("\n"))
            out[i] = np.frombuffer(rest, dtype="<f4", count=d, offset=sp + 1)
            pos = sp + 1 + 4 * d
            if pos < len(rest) and rest[pos:pos + 1] == b"\n":
                pos += 1
    else:
        # split on "\n" only: str.splitlines() would also break rows at characters
        # such as \x0b, \x1c, \x85 or \u2028 inside words (gensim reads them whole)
        lines = rest.decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) < n:
            raise ValueError(f"{path}: {len(lines)} rows for a header of {n}")
        for i in range(n):
            parts = lines[i].rstrip(" \r").split(" ")
            if len(parts) != d + 1:
                raise ValueError(f"{path}: row {i} has {len(parts) - 1} values, expected {d}")
            words.append(parts[0])
            out[i] = np.array(parts[1:], dtype=np.float32)
    return words, out


# ---------------------------------------------------------------------- checkpoints
def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data).hexdigest()


def _encode_words(words: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    has = np.array([w is not None for w in words], dtype=np.bool_)
    blobs = [(w or "").encode("utf-8") for w in words]
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    if blobs:
        offsets[1:] = np.cumsum([len(b) for b in blobs])
    blob = np.frombuffer(b"".join(blobs), dtype=np.uint8).copy()
    return blob, offsets, has


def _decode_words(blob, offsets, has) -> list:
    raw = blob.tobytes()
    return [raw[offsets[i]:offsets[i + 1]].decode("utf-8") if has[i] else None for i in range(len(has))]


def _params_for_json(model) -> dict:
    params = model._get_params()
    if params.get("tokenizer") is not None:
        params["tokenizer"] = None  # a callable cannot be stored; pass it to load()
    return params


def save_checkpoint(model, path, position: dict | None = None, extra: dict | None = None) -> str:
    """Write a full checkpoint of ``model`` to ``path`` (one ``.npz`` file), atomically.

    Parameters
    ----------
    model : streamsgns.SGNS
    path : str or os.PathLike
    position : dict, optional
        JSON-serialisable source position covered by this checkpoint (e.g.
        Kafka offsets); default ``model.source_position``.
    extra : dict, optional
        More JSON-serialisable metadata for the manifest.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ValueError
        If W or C hold NaN or inf (a corrupted model is never checkpointed).
    OSError
        On write failure (the previous file at ``path`` is left intact).
    """
    model.flush()
    n = model.n_ids
    v = model.vocab
    st = model._st
    arrays = {
        "W": model._W[:n],
        "hashes": v.hashes[:n],
        "counts": v.counts[:n],
        "free_ids": v.free_ids[: int(st[K.S_N_FREE])],
        "sketch_table": v.sketch.table,
        "sketch_seeds": v.sketch.seeds,
        "noise_prob": model.noise.prob[:n],
        "noise_alias": model.noise.alias[:n],
        "st": st,
        "fst": model._fst,
        "rng": model._rng,
    }
    if not model.tied:
        arrays["C"] = model._C[:n]
    if not (np.isfinite(arrays["W"]).all() and np.isfinite(model._C[:n]).all()):
        raise ValueError("refusing to checkpoint a model whose W or C holds NaN or inf")
    arrays["words_blob"], arrays["words_offsets"], arrays["words_has"] = _encode_words(v.index_to_key[:n])
    c = model.cooc
    if c is not None:
        arrays.update(c.state_arrays(n))
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": time.time(),
        "params": _params_for_json(model),
        "n_ids": n,
        "words_seen": model.words_seen,
        "vocab_size": model.vocab_size,
        "position": model.source_position if position is None else position,
        "stats": {k: int(x) for k, x in model.stats.items()},
        "sketch_total": int(v.sketch.total),
        "checksums": {k: _sha256(a) for k, a in arrays.items()},
        "extra": extra or {},
    }
    blob = np.frombuffer(json.dumps(manifest, sort_keys=True).encode("utf-8"), dtype=np.uint8)

    def write(f):
        np.savez(f, __manifest__=blob, **arrays)

    atomic_write(path, write)
    return str(path)


def read_manifest(path) -> dict:
    """Read and return a checkpoint's manifest without verifying its arrays.

    Raises
    ------
    CheckpointError
        If the file is missing, not an npz, or has no manifest.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(z["__manifest__"].tobytes().decode("utf-8"))
    except FileNotFoundError as e:
        raise CheckpointError(f"{path}: no such checkpoint") from e
    except Exception as e:  # zipfile.BadZipFile, KeyError, ValueError, JSON errors
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e


def _read_verified(path) -> tuple[dict, dict]:
    try:
        with np.load(path, allow_pickle=False) as z:
            manifest = json.loads(z["__manifest__"].tobytes().decode("utf-8"))
            if manifest.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not a streamsgns checkpoint")
            if manifest.get("version", 0) > FORMAT_VERSION:
                raise CheckpointError(f"{path}: written by a newer streamsgns (format {manifest['version']})")
            arrays = {k: z[k] for k in manifest["checksums"]}
    except CheckpointError:
        raise
    except FileNotFoundError as e:
        raise CheckpointError(f"{path}: no such checkpoint") from e
    except Exception as e:
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e
    for k, a in arrays.items():
        if _sha256(a) != manifest["checksums"][k]:
            raise CheckpointError(f"{path}: checksum mismatch in array {k!r} (corrupted file)")
    return manifest, arrays


def load_checkpoint(path, **overrides):
    """Rebuild an ``SGNS`` learner from a checkpoint, verifying every checksum.

    Parameters
    ----------
    path : str or os.PathLike
    **overrides
        Constructor parameters to replace (e.g. ``workers=2`` or a
        ``tokenizer`` callable, which checkpoints cannot store).

    Returns
    -------
    streamsgns.SGNS
        ``source_position`` holds the stored position.

    Raises
    ------
    CheckpointError
        If the file is missing, truncated, corrupted or of another format.
    """
    from .learner import SGNS
    from .vocab import table_rebuild

    manifest, a = _read_verified(path)
    params = dict(manifest["params"])
    params.update(overrides)
    m = SGNS(**params)
    n = int(manifest["n_ids"])
    if n > m.vocab.capacity:
        m._grow(n)
    v = m.vocab
    m._W[:n] = a["W"]
    if not m.tied:
        m._C[:n] = a["C"]
    v.hashes[:n] = a["hashes"]
    v.counts[:n] = a["counts"]
    nf = a["free_ids"].shape[0]
    v.free_ids[:nf] = a["free_ids"]
    if v.sketch.table.shape != a["sketch_table"].shape:
        raise CheckpointError(f"{path}: sketch shape {a['sketch_table'].shape} does not match the parameters")
    v.sketch.table[...] = a["sketch_table"]
    v.sketch.seeds[...] = a["sketch_seeds"]
    v.sketch.total = int(manifest.get("sketch_total", 0))
    m.noise.prob[:n] = a["noise_prob"]
    m.noise.alias[:n] = a["noise_alias"]
    m._st[...] = a["st"]
    m._fst[...] = a["fst"]
    if a["rng"].shape == m._rng.shape:
        m._rng[...] = a["rng"]
    else:  # another number of workers: keep the streams we have, seed the rest
        k = min(a["rng"].shape[0], m._rng.shape[0])
        m._rng[:k] = a["rng"][:k]
    m.noise.n = int(m._st[K.S_NOISE_N])
    m.noise.last_refresh = int(m._st[K.S_LAST_REFRESH])
    words = _decode_words(a["words_blob"], a["words_offsets"], a["words_has"])
    v.index_to_key[:] = words
    v.key_to_index.clear()
    v.key_to_index.update({w: i for i, w in enumerate(words) if w is not None})
    table_rebuild(v.keys, v.vals, v.hashes, v.counts, n)
    c = m.cooc
    if c is not None and any(k.startswith("cooc_") for k in a):
        try:
            c.load_state(a, n)
        except ValueError as e:
            raise CheckpointError(f"{path}: {e}") from e
    m.stats.update(manifest.get("stats", {}))
    m.source_position = manifest.get("position")
    return m


# ---------------------------------------------------------------------- periodic snapshots
_CKPT_RE = re.compile(r"^ckpt-(\d{15})\.npz$")


def list_checkpoints(directory) -> list[Path]:
    """Checkpoint files of a snapshot directory, oldest first (by words seen)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _CKPT_RE.match(p.name))


def latest_checkpoint(directory, log_fn=None) -> Path | None:
    """The newest checkpoint whose checksums verify; corrupted ones are reported and skipped.

    Parameters
    ----------
    directory : str or os.PathLike
    log_fn : callable, optional
        Receives a message naming each corrupted file (default: ``logging``).

    Returns
    -------
    pathlib.Path or None
    """
    for p in reversed(list_checkpoints(directory)):
        try:
            _read_verified(p)
            return p
        except CheckpointError as e:
            (log_fn or log.warning)(f"skipping invalid checkpoint: {e}")
    return None


def parse_every(spec: str) -> tuple[float | None, int | None]:
    """Parse ``--snapshot-every``: ``"30s"``, ``"5m"``, ``"1h"`` or ``"1000000w"`` / ``"1Mw"``.

    Returns
    -------
    seconds : float or None
    tokens : int or None

    Raises
    ------
    ValueError
        On an unknown form.
    """
    s = spec.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)w", s)
    if m:
        mult = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2)]
        return None, int(float(m.group(1)) * mult)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)?", s)
    if m:
        mult = {None: 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        return float(m.group(1)) * mult, None
    raise ValueError(f"bad --snapshot-every {spec!r}: use e.g. 30s, 5m, 1000000w or 1Mw")


class Snapshotter:
    """Write vectors and a checkpoint every N tokens or T seconds, keeping the last K.

    Files in ``directory``: ``ckpt-<words_seen>.npz`` (full checkpoint) and
    ``vectors-<words_seen>.txt`` (or ``.bin``, word2vec format), plus
    ``vectors-latest.txt`` (a copy of the newest vectors). Older files beyond
    ``keep`` are removed, but never the newest *valid* checkpoint.

    Parameters
    ----------
    directory : str or os.PathLike
    every_tokens : int, optional
        Tokens between snapshots.
    every_seconds : float, optional
        Seconds between snapshots.
    keep : int
        Checkpoints (and vector files) kept, >= 1.
    binary : bool
        Vectors in word2vec binary format.
    vectors : bool
        Also write vectors at each snapshot.

    Raises
    ------
    ValueError
        If ``keep < 1``.
    """

    def __init__(self, directory, every_tokens=None, every_seconds=None, keep=3, binary=False, vectors=True):
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.every_tokens = every_tokens
        self.every_seconds = every_seconds
        self.keep = int(keep)
        self.binary = binary
        self.vectors = vectors
        self._last_tokens = None
        self._last_time = time.monotonic()
        self.written = 0
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Delete the temporary files of snapshots interrupted by a crash (kill -9,
        power loss): :func:`atomic_write` never got to rename them, and nothing
        else would ever remove them. Assumes one trainer per directory."""
        removed = 0
        for p in self.directory.glob(".*.tmp"):
            if re.match(r"^\.(ckpt|vectors)-.*\.tmp$", p.name):
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
        if removed:
            log.info(f"removed {removed} temporary file(s) left by an interrupted snapshot in {self.directory}")

    def start(self, model) -> None:
        """Start the schedule from the model's current state (after a resume)."""
        self._last_tokens = model.words_seen
        self._last_time = time.monotonic()

    def due(self, model) -> bool:
        """True when a snapshot is due."""
        if self._last_tokens is None:
            self.start(model)
        if self.every_tokens and model.words_seen - self._last_tokens >= self.every_tokens:
            return True
        if self.every_seconds and time.monotonic() - self._last_time >= self.every_seconds:
            return True
        return False

    def snapshot(self, model, position: dict | None = None) -> Path:
        """Write a checkpoint (and vectors) now; return the checkpoint path.

        The checkpoint is durable (fsync + rename) when this returns, so the
        caller may then commit ``position`` to the source.
        """
        ws = model.words_seen
        ckpt = self.directory / f"ckpt-{ws:015d}.npz"
        if self.vectors:
            ext = "bin" if self.binary else "txt"
            vec = self.directory / f"vectors-{ws:015d}.{ext}"
            save_word2vec_format(model, vec, binary=self.binary)
            with open(vec, "rb") as src:  # a byte copy: formatting the vectors twice costs seconds
                atomic_write(self.directory / f"vectors-latest.{ext}", lambda f: shutil.copyfileobj(src, f, 1 << 20))
        save_checkpoint(model, ckpt, position=position)
        self.written += 1
        self._last_tokens = ws
        self._last_time = time.monotonic()
        self._prune()
        return ckpt

    def _prune(self) -> None:
        ckpts = list_checkpoints(self.directory)
        if ckpts:
            # vectors left without their checkpoint by a crash between the two writes
            oldest = ckpts[max(0, len(ckpts) - self.keep)].name[len("ckpt-"):-len(".npz")]
            for p in self.directory.glob("vectors-*.*"):
                stem = p.name[len("vectors-"):].split(".")[0]
                if stem.isdigit() and stem < oldest and (self.directory / f"ckpt-{stem}.npz") not in ckpts:
                    p.unlink(missing_ok=True)
        if len(ckpts) <= self.keep:
            return
        newest_valid = latest_checkpoint(self.directory)
        for p in ckpts[: len(ckpts) - self.keep]:
            if newest_valid is not None and p == newest_valid:
                continue
            if newest_valid is None:
                break  # keep everything rather than delete what might be the only recoverable state
            p.unlink(missing_ok=True)
            stem = p.name[len("ckpt-"):-len(".npz")]
            for ext in ("txt", "bin"):
                (self.directory / f"vectors-{stem}.{ext}").unlink(missing_ok=True)
