"""Kafka positions: ``{"kafka": {"TOPIC:PARTITION": next_offset}}`` and back."""

from __future__ import annotations

from typing import Mapping

__all__ = ["format_position", "parse_position"]


def parse_position(position: Mapping) -> dict[tuple[str, int], int]:
    """Turn a Kafka position into ``{(topic, partition): next_offset}``.

    Parameters
    ----------
    position : dict
        ``{"kafka": {"TOPIC:PARTITION": next_offset, ...}}``, as found in
        :attr:`streamsgns.connectors.base.Chunk.position`.

    Returns
    -------
    dict[tuple[str, int], int]
        Next offset to read for each partition.

    Raises
    ------
    ValueError
        If ``position`` is not a Kafka position (missing ``"kafka"`` key, a
        key without ``":PARTITION"``, or a negative / non-integer offset).

    Examples
    --------
    >>> parse_position({"kafka": {"news:0": 12, "a:b:1": 3}})
    {('news', 0): 12, ('a:b', 1): 3}
    """
    if not isinstance(position, Mapping) or not isinstance(position.get("kafka"), Mapping):
        raise ValueError(f"not a Kafka position (expected {{'kafka': {{...}}}}): {position!r}")
    out: dict[tuple[str, int], int] = {}
    for key, offset in position["kafka"].items():
        topic, sep, part = str(key).rpartition(":")
        if not sep or not topic or not part.isdigit():
            raise ValueError(f"bad Kafka partition key {key!r} (expected 'TOPIC:PARTITION')")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"bad Kafka offset {offset!r} for {key!r}")
        out[(topic, int(part))] = offset
    return out


def format_position(offsets: Mapping[tuple[str, int], int]) -> dict:
    """Turn ``{(topic, partition): next_offset}`` into a Kafka position.

    The inverse of :func:`parse_position`.

    Parameters
    ----------
    offsets : mapping of (str, int) to int
        Next offset to read for each partition.

    Returns
    -------
    dict
        ``{"kafka": {"TOPIC:PARTITION": next_offset}}``, a JSON-serialisable
        copy sorted by topic and partition.

    Examples
    --------
    >>> format_position({("b", 1): 7, ("a", 0): 2})
    {'kafka': {'a:0': 2, 'b:1': 7}}
    """
    return {"kafka": {f"{t}:{p}": o for (t, p), o in sorted(offsets.items())}}
