"""``streamsgns`` command line: ``train``, ``similar``, ``evaluate``, ``pmi``, ``drift``, ``warmup``.

* :mod:`~streamsgns.cli.train`: ``train``, the stream → learner → snapshots loop (its argument
  groups: input, Kafka input, output and snapshots, model, learning rule, vocabulary, forgetting,
  change detection, progress, replicas);
* ``warmup``: compile the numba kernels into their cache ahead of a first run (:mod:`streamsgns.warmup`);
* :mod:`~streamsgns.cli.sources`: ``--input``, which connector reads the stream;
* :mod:`~streamsgns.cli.train_replicas`: ``train --replicas N``, one model trained by Ray actors;
* :mod:`~streamsgns.cli.query`: ``similar``, ``evaluate``, ``pmi``;
* :mod:`~streamsgns.cli.drift`: ``drift``, words whose neighbourhoods changed between snapshots.
"""

from __future__ import annotations

import argparse
import sys

from . import query, train

__all__ = ["main", "build_parser"]


#: What ``streamsgns --help`` says first (plain text: the terminal shows it as written).
DESCRIPTION = """\
Learn word2vec skip-gram (SGNS) vectors online from an unbounded text stream, and ask
questions of the snapshots it writes.

A SNAPSHOT is a word2vec vectors file (text or binary), a checkpoint (.npz) or a
--snapshot-dir directory (its newest snapshot that reads); pmi needs a checkpoint."""

EPILOG = "`streamsgns COMMAND --help` lists a command's options. Guides: docs/ in the repository."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``streamsgns`` command; its help lists every command."""
    p = argparse.ArgumentParser(prog="streamsgns", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    train.add_parser(sub)
    query.add_parsers(sub)
    __import__("streamsgns.cli.drift", fromlist=["add_parser"]).add_parser(sub)
    w = sub.add_parser("warmup", help="compile the numba kernels into their cache (once after installing)")
    w.add_argument("--quiet", action="store_true", help="print nothing")
    w.set_defaults(func=cmd_warmup)
    return p


def cmd_warmup(args) -> int:
    """``streamsgns warmup``: compile (or load) every kernel of the main paths; prints the seconds taken."""
    from ..warmup import warm_up

    secs = warm_up()
    if not args.quiet:
        print(f"streamsgns: kernels compiled and cached in {secs:.1f} s")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``streamsgns`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
