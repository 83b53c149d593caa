"""``--input`` of ``streamsgns train``: which connector reads the stream.

``-`` (stdin), files, or one ``kafka://HOST:PORT/TOPIC`` URL; see :mod:`streamsgns.connectors`.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys

__all__ = ["add_input_arguments", "add_kafka_arguments", "open_source"]


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``input`` group of ``train``: ``--input``, ``--encoding``, ``--input-changed``."""
    g = parser.add_argument_group("input")
    g.add_argument("--input", nargs="+", default=None, metavar="SOURCE",
                   help="'-' (stdin, default), files, or kafka://HOST:PORT/TOPIC")
    g.add_argument("--encoding", type=_encoding, default="utf-8", metavar="NAME",
                   help="encoding of files and stdin without a byte-order mark (default utf-8; "
                        "a UTF-8 or UTF-16 BOM is detected and wins), e.g. latin-1, cp1252, utf-16")
    g.add_argument("--input-changed", choices=["refuse", "restart"], default="refuse",
                   help="with --resume, when an input file is not the one the checkpoint read (nor that "
                        "file with lines appended): refuse to start (default) or read it from its start")


def add_kafka_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``Kafka input`` group of ``train``: ``--group``, ``--idle-timeout``, ``--commit-without-checkpoint``."""
    g = parser.add_argument_group("Kafka input", "with --input kafka://HOST:PORT/TOPIC")
    g.add_argument("--group", metavar="ID", help="Kafka consumer group id")
    g.add_argument("--idle-timeout", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds without a message")
    g.add_argument("--commit-without-checkpoint", action="store_true",
                   help="commit offsets at the end even without --snapshot-dir")


def _encoding(name: str) -> str:
    from streamsgns.connectors.encoding import normalize_encoding

    try:
        return normalize_encoding(name)
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {name!r}") from None


def open_source(args):
    """The connector named by ``args.input``.

    Raises
    ------
    SystemExit
        On a mix of kinds, a missing input or a directory, or a closed standard input.
    """
    inputs = args.input or ["-"]
    if len(inputs) == 1 and inputs[0].startswith("kafka://"):
        from streamsgns.connectors.kafka import KafkaSource

        kw = {}
        if args.group:
            kw["group_id"] = args.group
        if args.idle_timeout is not None:
            kw["idle_timeout"] = args.idle_timeout
        if getattr(args, "kafka_settings", None):  # --kafka-config and the secret environment
            kw["consumer_config"] = args.kafka_settings
        try:
            return KafkaSource.from_url(inputs[0], **kw)
        except ValueError as e:  # an unknown URL parameter, credentials in the URL...
            args.parser.error(str(e))
    if inputs == ["-"]:
        from streamsgns.connectors.stdin import StdinSource

        if sys.stdin is None:  # train <&-: file descriptor 0 is closed
            raise SystemExit("streamsgns: standard input is closed: give --input FILE or pipe text in")
        # idle replay needs to see whether data waits: read the unbuffered descriptor (select() on it is exact)
        raw = sys.stdin.buffer.raw if getattr(args, "replay", 0) == "idle" else None
        return StdinSource(stream=raw, encoding=args.encoding)
    if any(i == "-" or i.startswith("kafka://") for i in inputs):
        raise SystemExit("streamsgns: --input takes '-', one kafka:// URL, or files, not a mix")
    for i in inputs:
        # regular files, named pipes and /dev/fd/N (process substitution: --input <(cmd))
        try:
            mode = os.stat(i).st_mode
        except OSError as e:
            raise SystemExit(f"streamsgns: cannot read --input {i}: {e.strerror}") from None
        if stat.S_ISDIR(mode):
            raise SystemExit(f"streamsgns: --input {i} is a directory, not a file")
    from streamsgns.connectors.files import FileSource

    return FileSource(inputs, encoding=args.encoding)
