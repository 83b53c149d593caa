"""Helpers for the components' state: scalar records shared with the numba kernels.

Each component (:mod:`~streamsgns.sketch`, :mod:`~streamsgns.vocab`, :mod:`~streamsgns.noise`,
:mod:`~streamsgns.cooc`, :mod:`~streamsgns.parameters`) keeps its mutable scalars in one
numpy *record* of shape ``(1,)`` (a structured array). The kernels read and write its
fields by name (``meta[0].next_id += 1``), the Python side reads them the same way, so a
value has exactly one home: no copy kept in sync by hand, no index constants.

A component exposes its state as a plain dict (``state_dict()``): arrays, and scalars
from its record (:func:`record_to_dict`); ``from_state`` validates and restores it.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["new_record", "record_to_dict", "record_from_dict", "StateError", "check_array", "check_delta_keys",
           "grow_rows", "small_index"]


class StateError(ValueError):
    """A component state (from a checkpoint or a merge) is malformed or breaks an invariant."""


def new_record(dtype: np.dtype) -> np.ndarray:
    """A zeroed record: structured array of shape (1,) with ``dtype``'s named fields."""
    return np.zeros(1, dtype=dtype)


def record_to_dict(rec: np.ndarray) -> dict:
    """The fields of a record as Python ints / floats (JSON-serialisable)."""
    out = {}
    for name in rec.dtype.names:
        v = rec[0][name]
        out[name] = float(v) if np.issubdtype(rec.dtype[name], np.floating) else int(v)
    return out


def record_from_dict(rec: np.ndarray, values: dict, where: str) -> None:
    """Set every field of ``rec`` from ``values`` (all fields required, finite numbers).

    Raises
    ------
    StateError
        If a field is missing or not a finite number.
    """
    for name in rec.dtype.names:
        if name not in values:
            raise StateError(f"{where}: missing scalar {name!r}")
        v = values[name]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise StateError(f"{where}: scalar {name!r} must be a finite number, got {v!r}")
        if np.issubdtype(rec.dtype[name], np.integer):
            if int(v) != v or not (-(1 << 63) <= int(v) < (1 << 63)):
                raise StateError(f"{where}: scalar {name!r} must be a 64-bit integer, got {v!r}")
            v = int(v)
        rec[0][name] = v


def check_array(state: dict, key: str, dtype, ndim: int, where: str, shape=None) -> np.ndarray:
    """Fetch ``state[key]`` and check its dtype, number of dimensions and (optionally) shape.

    Parameters
    ----------
    state : dict
    key : str
    dtype : numpy dtype
        Required dtype (exact).
    ndim : int
    where : str
        Component name used in error messages.
    shape : tuple, optional
        Required shape; ``None`` entries are free.

    Returns
    -------
    ndarray
        A C-contiguous array of that dtype.

    Raises
    ------
    StateError
        If the array is missing or differs.
    """
    if key not in state:
        raise StateError(f"{where}: missing array {key!r}")
    a = state[key]
    if not isinstance(a, np.ndarray) or a.dtype != np.dtype(dtype) or a.ndim != ndim:
        got = f"{a.dtype}{a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise StateError(f"{where}: array {key!r} must be {np.dtype(dtype)} with {ndim} dimension(s), got {got}")
    if shape is not None:
        for want, have in zip(shape, a.shape):
            if want is not None and want != have:
                raise StateError(f"{where}: array {key!r} has shape {a.shape}, expected {shape}")
    return np.ascontiguousarray(a)


def check_delta_keys(state: dict, known, where: str) -> None:
    """Refuse a state key that a component's delta rules do not know (a replica merge would lose it).

    Raises
    ------
    StateError
        Naming the unknown key(s): the component's ``delta`` / ``merge_deltas`` need a rule for them.
    """
    unknown = sorted(set(state) - set(known))
    if unknown:
        raise StateError(f"{where}: no delta rule for state key(s) {unknown}")


def grow_rows(a: np.ndarray, n: int, fill=0) -> np.ndarray:
    """``a`` with ``n`` rows (first axis), the new rows set to ``fill``: a view of ``a``'s own buffer
    while that holds them, else a new buffer of ``1.25·n + 16`` rows (amortised growth) with ``a``
    copied in. Used to apply updates to a state in place (its arrays must be writable).

    Examples
    --------
    >>> a = grow_rows(np.ones(2, np.int64), 3)
    >>> a.tolist(), a.base.shape[0] > 3, grow_rows(a, 4).base is a.base
    ([1, 1, 0], True, True)
    """
    if a.shape[0] >= n:
        return a[:n]
    buf = a.base
    if isinstance(buf, np.ndarray) and buf.dtype == a.dtype and buf.shape[1:] == a.shape[1:] and buf.shape[0] >= n \
            and buf.flags.c_contiguous and buf.flags.writeable \
            and buf.__array_interface__["data"][0] == a.__array_interface__["data"][0]:
        return buf[:n]  # rows beyond a's were set to fill at allocation and never written since
    new = np.empty((n + n // 4 + 16,) + a.shape[1:], dtype=a.dtype)
    new[...] = fill
    new[:a.shape[0]] = a
    return new[:n]


def small_index(idx: np.ndarray, size: int) -> np.ndarray:
    """Indices into ``size`` entries as int32 when they fit (half the bytes of int64 on the wire), else int64.

    Examples
    --------
    >>> small_index(np.array([3, 7]), 10).dtype, small_index(np.array([3]), 1 << 40).dtype
    (dtype('int32'), dtype('int64'))
    """
    return np.asarray(idx, dtype=np.int32 if size < (1 << 31) else np.int64)
