"""Full checkpoints: one ``.npz`` file holding a model's state dict and a JSON manifest.

A *state* is the nested dict that the components give (``state_dict()``): arrays and JSON
scalars. This module stores any such dict and knows nothing of the learner: each array becomes
one member of an uncompressed ``.npz`` named by its dotted path (``vocab.sketch.table``), the
rest goes to the manifest (array ``__manifest__``, UTF-8 JSON) with, for every array, its dtype,
shape and SHA-256. Writing is atomic (:func:`streamsgns.io.atomic.atomic_write`); reading never
executes code (no pickle, object dtypes refused) and checks each member's declared dtype and size
against the manifest and the file *before* reading it, so a forged file can neither inflate
memory nor reach the kernels unchecked: every failure is a :class:`CheckpointError` naming the
file. The components validate their own invariants in ``from_state``.

Format 1 (streamsgns 0.1, flat arrays addressed by the kernel's index constants) is still read:
:mod:`streamsgns.io.checkpoint_v1` turns it into a state dict.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import zipfile

import numpy as np

from .atomic import atomic_write
from .checkpoint_v1 import upgrade_v1

__all__ = ["CheckpointError", "save_checkpoint", "read_checkpoint", "read_manifest", "verify_checkpoint",
           "FORMAT", "FORMAT_VERSION"]

FORMAT = "streamsgns-checkpoint"
FORMAT_VERSION = 2
_MAX_MANIFEST_BYTES = 64 << 20


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted, forged or of another format."""


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data).hexdigest()


def _flatten(state: dict, prefix: str, arrays: dict) -> dict:
    """Replace the arrays of a nested state by references ``{"__array__": name}``; collect them."""
    out = {}
    for key, v in state.items():
        if not isinstance(key, str) or "." in key or key.startswith("__"):
            raise ValueError(f"state keys must be plain strings without dots, got {key!r}")
        name = f"{prefix}{key}"
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise ValueError(f"{name}: object arrays cannot be stored")
            arrays[name] = v
            out[key] = {"__array__": name}
        elif isinstance(v, dict):
            out[key] = _flatten(v, name + ".", arrays)
        elif isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{name}: non-finite scalar {v!r}")
        else:
            out[key] = v
    return out


def _unflatten(node, arrays: dict, path):
    if isinstance(node, dict):
        if set(node) == {"__array__"}:
            name = node["__array__"]
            if name not in arrays:
                raise CheckpointError(f"{path}: the manifest names array {name!r}, which is not stored")
            return arrays[name]
        return {k: _unflatten(v, arrays, path) for k, v in node.items()}
    return node


def save_checkpoint(path, state: dict, metadata: dict | None = None) -> str:
    """Write ``state`` (a nested dict of arrays and JSON scalars) to ``path`` as one ``.npz``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
    state : dict
        E.g. :meth:`streamsgns.SGNS.state_dict`. Keys are strings without dots.
    metadata : dict, optional
        JSON-serialisable entries for the manifest (e.g. ``words_seen``, ``position``,
        ``extra``); read back by :func:`read_manifest` without loading the arrays.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ValueError
        If the state holds object arrays, non-finite scalars or keys with dots.
    OSError
        On write failure (an older file at ``path`` is left intact).
    """
    arrays: dict = {}
    tree = _flatten(state, "", arrays)
    manifest = dict(metadata or {})
    manifest.update({
        "format": FORMAT, "version": FORMAT_VERSION, "created": time.time(), "state": tree,
        "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _sha256(a)} for k, a in arrays.items()},
    })
    blob = np.frombuffer(json.dumps(manifest, sort_keys=True, allow_nan=False).encode("utf-8"), dtype=np.uint8)

    def write(f):
        np.savez(f, __manifest__=blob, **arrays)

    atomic_write(path, write)
    return str(path)


def _read_member(zf: zipfile.ZipFile, name: str, path, want: dict | None = None) -> np.ndarray:
    """One ``.npy`` member, its header checked (no objects; dtype/shape as declared; size = file) before reading."""
    try:
        info = zf.getinfo(name + ".npy")
    except KeyError:
        raise CheckpointError(f"{path}: array {name!r} is missing") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"{path}: array {name!r} is compressed (checkpoints are written uncompressed)")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise CheckpointError(f"{path}: array {name!r} has an unknown .npy version {version}")
        if dtype.hasobject or fortran:
            raise CheckpointError(f"{path}: array {name!r} holds objects or is Fortran-ordered")
        if want is not None and (dtype.str != want.get("dtype") or list(shape) != list(want.get("shape", []))):
            raise CheckpointError(f"{path}: array {name!r} is {dtype.str}{tuple(shape)}, the manifest says "
                                  f"{want.get('dtype')}{tuple(want.get('shape', []))}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if info.file_size - f.tell() != nbytes:
            raise CheckpointError(f"{path}: array {name!r} declares {nbytes} bytes but holds {info.file_size - f.tell()}")
        data = bytearray(nbytes)
        if f.readinto(memoryview(data)) != nbytes:
            raise CheckpointError(f"{path}: array {name!r} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _open(path) -> tuple[zipfile.ZipFile, dict]:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as e:
        raise CheckpointError(f"{path}: no such checkpoint") from e
    except IsADirectoryError as e:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint") from e
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a streamsgns checkpoint (not a readable .npz file: {e})") from e
    try:
        info = zf.getinfo("__manifest__.npy")
        if info.file_size > _MAX_MANIFEST_BYTES:
            raise CheckpointError(f"{path}: manifest of {info.file_size} bytes is too large")
        raw = _read_member(zf, "__manifest__", path)
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except CheckpointError:
        zf.close()
        raise
    except KeyError:
        zf.close()
        raise CheckpointError(f"{path}: not a streamsgns checkpoint (no manifest)") from None
    except Exception as e:  # zip errors, bad UTF-8 or JSON
        zf.close()
        raise CheckpointError(f"{path}: unreadable manifest ({type(e).__name__}: {e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        zf.close()
        raise CheckpointError(f"{path}: not a streamsgns checkpoint")
    version = manifest.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        zf.close()
        raise CheckpointError(f"{path}: checkpoint format {version!r} is not supported (this streamsgns reads "
                              f"1..{FORMAT_VERSION}; a newer one wrote it?)")
    return zf, manifest


def read_manifest(path) -> dict:
    """A checkpoint's manifest (metadata, settings, array list), without reading or verifying the arrays.

    Raises
    ------
    CheckpointError
        If the file is missing, not an npz, or has no valid manifest.
    """
    zf, manifest = _open(path)
    zf.close()
    if manifest["version"] == 1:
        manifest = {**manifest, "state": {"params": manifest.get("params", {})}}
    return manifest


def read_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint, verifying every array's declared size, dtype and SHA-256.

    Returns
    -------
    manifest : dict
        Metadata (``words_seen``, ``position``, ``extra``, ...).
    state : dict
        The nested state dict, as :func:`save_checkpoint` was given it (format 1 is upgraded).

    Raises
    ------
    CheckpointError
        If the file is missing, truncated, corrupted, forged, or of another format.
    """
    zf, manifest = _open(path)
    try:
        if manifest["version"] == 1:
            names = manifest.get("checksums")
            if not isinstance(names, dict):
                raise CheckpointError(f"{path}: format-1 manifest without checksums")
            arrays = {k: _read_member(zf, k, path) for k in names}
            for k, a in arrays.items():
                if _sha256(a) != names[k]:
                    raise CheckpointError(f"{path}: checksum mismatch in array {k!r} (corrupted file)")
            try:
                return manifest, upgrade_v1(manifest, arrays)
            except (KeyError, TypeError, ValueError, IndexError) as e:
                raise CheckpointError(f"{path}: malformed format-1 checkpoint ({type(e).__name__}: {e})") from e
        decl = manifest.get("arrays")
        if not isinstance(decl, dict) or not isinstance(manifest.get("state"), dict):
            raise CheckpointError(f"{path}: manifest without state or array list")
        arrays = {}
        for k, want in decl.items():
            if not isinstance(want, dict):
                raise CheckpointError(f"{path}: bad entry for array {k!r} in the manifest")
            a = _read_member(zf, k, path, want)
            if _sha256(a) != want.get("sha256"):
                raise CheckpointError(f"{path}: checksum mismatch in array {k!r} (corrupted file)")
            arrays[k] = a
        return manifest, _unflatten(manifest["state"], arrays, path)
    except CheckpointError:
        raise
    except Exception as e:  # zip-level corruption (bad CRC, truncated central directory, ...)
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e
    finally:
        zf.close()


def verify_checkpoint(path) -> dict:
    """Read a checkpoint and verify every array; return its manifest.

    Raises
    ------
    CheckpointError
        If the file is missing, truncated, corrupted or of another format.
    """
    return read_checkpoint(path)[0]
