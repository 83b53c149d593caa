"""``--input`` of ``streamsgns train``: which connector reads the stream.

``-`` (stdin), files, or one ``kafka://HOST:PORT/TOPIC`` URL; see :mod:`connectors`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_source_arguments", "open_source"]


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--input``, ``--group`` and ``--idle-timeout`` to the ``train`` parser."""
    parser.add_argument("--input", nargs="+", default=None,
                        help="'-' (stdin, default), files, or kafka://HOST:PORT/TOPIC")
    parser.add_argument("--group", help="Kafka consumer group id")
    parser.add_argument("--idle-timeout", type=float, default=None,
                        help="Kafka: stop after this many seconds without a message")


def open_source(args):
    """The connector named by ``args.input``.

    Raises
    ------
    SystemExit
        On a mix of kinds or a missing file (a usage error).
    """
    inputs = args.input or ["-"]
    if len(inputs) == 1 and inputs[0].startswith("kafka://"):
        from connectors.kafka import KafkaSource

        kw = {}
        if args.group:
            kw["group_id"] = args.group
        if args.idle_timeout is not None:
            kw["idle_timeout"] = args.idle_timeout
        return KafkaSource.from_url(inputs[0], **kw)
    if inputs == ["-"]:
        from connectors.stdin import StdinSource

        return StdinSource()
    if any(i == "-" or i.startswith("kafka://") for i in inputs):
        raise SystemExit("streamsgns: --input takes '-', one kafka:// URL, or files, not a mix")
    for i in inputs:
        if not Path(i).is_file():
            raise SystemExit(f"streamsgns: no such file: {i}")
    from connectors.files import FileSource

    return FileSource(inputs)
