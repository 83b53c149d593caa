"""Full checkpoints: one ``.npz`` file with every array of the learner and a JSON manifest.

Written with ``numpy.savez`` and read back with ``allow_pickle=False``:
loading never executes code. The embedded manifest (array ``__manifest__``)
holds the parameters, the source position and a SHA-256 checksum of every
array; a truncated or corrupted file fails the checksum (or the zip
directory) and raises :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from .. import kernels as K
from .atomic import atomic_write

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "read_manifest", "verify_checkpoint"]

FORMAT = "streamsgns-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or of another format."""


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
    from ..learner import SGNS
    from ..vocab import table_rebuild

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


def verify_checkpoint(path) -> dict:
    """Read a checkpoint and verify every checksum; return its manifest.

    Raises
    ------
    CheckpointError
        If the file is missing, truncated, corrupted or of another format.
    """
    return _read_verified(path)[0]
