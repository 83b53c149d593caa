"""``streamsgns train``: the stream → learner → snapshots loop.

``streamsgns train`` reads a source (stdin, files or Kafka, see
:mod:`connectors`), feeds each chunk of lines to the learner, writes a
snapshot (vectors + checkpoint) every ``--snapshot-every`` tokens or seconds,
and commits the source position (Kafka offsets) only once the checkpoint that
covers it is durable. On SIGTERM/SIGINT it finishes the current chunk, writes
a final checkpoint and the ``--output`` vectors, commits, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time

from .sources import add_source_arguments, open_source

__all__ = ["add_parser", "cmd_train"]

log = logging.getLogger("streamsgns")

MODEL_OPTIONS = [
    # (flag, dest, type, default, help)
    ("--vector-size", "vector_size", int, 100, "dimension of the vectors"),
    ("--window", "window", int, 5, "largest window (dynamic window draws 1..window)"),
    ("--negative", "negative", int, 5, "negative samples per pair (k)"),
    ("--ns-exponent", "ns_exponent", float, 0.75, "exponent of the noise distribution"),
    ("--sample", "sample", float, 1e-3, "subsampling threshold (0 = off)"),
    ("--min-count", "min_count", int, 5, "occurrences before a word is admitted"),
    ("--alpha", "alpha", float, 0.025, "initial learning rate"),
    ("--min-alpha", "min_alpha", float, 1e-4, "smallest learning rate"),
    ("--decay-tokens", "decay_tokens", float, 2e7, "alpha_t = alpha / (1 + t / decay_tokens)"),
    ("--max-vocab", "max_vocab", int, 1_000_000, "most words held at once"),
    ("--seed", "seed", int, 0, "random seed"),
    ("--workers", "workers", int, 1, "training threads (1 = bit-reproducible)"),
    ("--cooc-top-n", "cooc_top_n", int, 1000, "words whose pair counts are kept exactly"),
]


def _fmt_loss(loss: float) -> str:
    # mean SGNS loss per pair since the last update; "-" when no pair was trained meanwhile
    return f"{loss:.3f}" if loss == loss else "-"


class _Progress:
    """A progress line on stderr (tqdm) with tokens/s, vocabulary, alpha, loss, snapshots, skips."""

    def __init__(self, model, every: float, quiet: bool):
        self.model = model
        self.every = every
        self.quiet = quiet
        self.t0 = self.t_last = time.monotonic()
        self.w_last = model.words_seen
        self.snapshots = 0
        self.pmi = None
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=None, unit="w", unit_scale=True, file=sys.stderr, mininterval=every,
                            initial=model.words_seen, dynamic_ncols=True, desc="train")

    def update(self, source_stats: dict, force: bool = False):
        now = time.monotonic()
        if self.bar is None or (not force and now - self.t_last < self.every):
            return
        m = self.model
        p = m.progress()
        ws = m.words_seen
        rate = (ws - self.w_last) / max(now - self.t_last, 1e-9)
        skipped = (p["empty_lines"] + p["invalid_utf8"] + p["bad_inputs"] + source_stats.get("tombstones", 0)
                   + source_stats.get("empty", 0))
        post = {
            "w/s": f"{rate / 1e3:.0f}k",
            "vocab": p["vocab_size"],
            "alpha": f"{p['alpha']:.4f}",
            "loss": _fmt_loss(m.take_loss()),
            "snaps": self.snapshots,
            "skipped": skipped,
        }
        if self.pmi is not None:
            post["pmi_rho"] = f"{self.pmi:.3f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(ws - self.bar.n)
        self.t_last, self.w_last = now, ws

    def close(self):
        if self.bar is not None:
            self.bar.close()


def cmd_train(args) -> int:
    from connectors.base import SourceStopped

    from ..learner import SGNS
    from ..io.snapshotter import Snapshotter, latest_checkpoint, parse_every

    logging.basicConfig(level=logging.INFO if not args.quiet else logging.WARNING,
                        format="streamsgns: %(message)s", stream=sys.stderr)
    # kafka-python logs every reconnect attempt at INFO/ERROR; KafkaSource
    # reports what matters (retries, resets, failed commits) itself.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    params = {dest: getattr(args, dest) for _, dest, _, _, _ in MODEL_OPTIONS}
    model = None
    if args.resume:
        if not args.snapshot_dir:
            raise SystemExit("streamsgns: --resume needs --snapshot-dir")
        ck = latest_checkpoint(args.snapshot_dir, log_fn=log.warning)
        if ck is not None:
            model = SGNS.load(ck, workers=args.workers)
            log.info(f"resumed from {ck} at {model.words_seen} tokens")
        else:
            log.info(f"no checkpoint in {args.snapshot_dir}: starting afresh")
    if model is None:
        model = SGNS(**params)
    snap = None
    if args.snapshot_dir:
        secs, toks = parse_every(args.snapshot_every) if args.snapshot_every else (None, None)
        snap = Snapshotter(args.snapshot_dir, every_tokens=toks, every_seconds=secs, keep=args.keep,
                           binary=args.binary)
        snap.start(model)
    source = open_source(args)
    if model.source_position:
        # The checkpoint is the source of truth: Kafka partitions it does not
        # name start at their earliest offset, not at the group's commit.
        kw = {"others": "earliest"} if type(source).__name__ == "KafkaSource" else {}
        try:
            source.seek(model.source_position, **kw)
        except ValueError as e:
            log.warning(f"cannot resume the source at the checkpoint's position ({e}); reading from its start")

    stop = {"signal": None}
    stop_source = getattr(source, "stop", None)  # KafkaSource: a lock-free flag

    def on_signal(signum, frame):
        # Only flags (no logging, no locks): the handler may interrupt any code.
        # stop_source() makes a source that waits for data (Kafka) end too.
        stop["signal"] = signum
        if stop_source is not None:
            stop_source()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    progress = _Progress(model, args.progress_every, args.quiet)
    pmi_every = args.pmi_every
    position = model.source_position

    def checkpoint():
        ck = snap.snapshot(model, position=position)
        progress.snapshots += 1
        if position is not None:
            source.commit(position)
        if pmi_every and model.cooc is not None and progress.snapshots % pmi_every == 0:
            try:
                progress.pmi = model.pmi_report(top=min(1000, model.cooc_top_n))["spearman"]
            except Exception as e:  # a report must never stop training
                log.warning(f"pmi report failed: {e}")
        return ck

    try:
        try:
            for chunk in source.chunks():
                model.learn_text(chunk.data)
                position = chunk.position
                model.source_position = position
                progress.update(source.stats)
                if snap is not None and snap.due(model):
                    checkpoint()
                if stop["signal"] is not None:
                    break
        except SourceStopped:  # a signal ended a blocking read: the input ends here
            pass
        if stop["signal"] is not None:
            log.info(f"received signal {stop['signal']}: writing a final checkpoint")
        model.flush()
        if snap is not None:
            checkpoint()
        if args.output:
            n = model.save_word2vec_format(args.output, binary=args.binary)
            log.info(f"wrote {n} vectors to {args.output}")
        if snap is None and position is not None and args.commit_without_checkpoint:
            source.commit(position)
    finally:
        progress.update(source.stats, force=True)
        progress.close()
        for s, h in old.items():
            signal.signal(s, h)
        source.close()
        model.close()
    p = model.progress()
    summary = {"words_seen": p["words_seen"], "vocab_size": p["vocab_size"], "lines": p["lines"],
               "empty_lines": p["empty_lines"], "invalid_utf8": p["invalid_utf8"],
               "control_bytes": p["control_bytes"], "split_lines": p["split_lines"],
               "source": {k: int(v) for k, v in source.stats.items()}}
    if args.summary:
        print(json.dumps(summary), file=sys.stderr)
    else:
        log.info(f"done: {p['words_seen']} tokens, vocabulary {p['vocab_size']}")
    return 0



def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``train`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    t = sub.add_parser("train", help="learn vectors from a text stream")
    t.add_argument("--output", help="final vectors (word2vec format), written at the end or on SIGTERM")
    t.add_argument("--binary", action="store_true", help="word2vec binary format for vectors")
    t.add_argument("--snapshot-dir", help="directory of periodic checkpoints and vectors")
    t.add_argument("--snapshot-every", default="60s", help="e.g. 30s, 5m, 1000000w (default 60s)")
    t.add_argument("--keep", type=int, default=3, help="checkpoints kept (default 3)")
    t.add_argument("--resume", action="store_true", help="continue from the newest valid checkpoint")
    t.add_argument("--pmi-every", type=int, default=0,
                   help="show Spearman(W·Cᵀ, PMI − log k) every N snapshots (0 = off)")
    t.add_argument("--progress-every", type=float, default=2.0, help="seconds between progress updates")
    t.add_argument("--quiet", action="store_true", help="no progress line")
    t.add_argument("--summary", action="store_true", help="print a JSON summary on stderr at the end")
    t.add_argument("--commit-without-checkpoint", action="store_true",
                   help="Kafka: commit offsets at the end even without --snapshot-dir")
    for flag, dest, typ, default, hlp in MODEL_OPTIONS:
        t.add_argument(flag, dest=dest, type=typ, default=default, help=f"{hlp} (default {default})")
    add_source_arguments(t)
    t.set_defaults(func=cmd_train)
    return t
