"""``streamsgns train``: the stream → learner → snapshots loop.

``streamsgns train`` reads a source (stdin, files or Kafka, see
:mod:`streamsgns.connectors`), feeds each chunk of lines to the learner, writes a
snapshot (vectors + checkpoint) every ``--snapshot-every`` tokens or seconds,
and commits the source position (Kafka offsets) only once the checkpoint that
covers it is durable. On SIGTERM/SIGINT it finishes the current chunk, writes
a final checkpoint and the ``--output`` vectors, commits, and exits 0.

One trainer per ``--snapshot-dir`` (a lock), one run per directory (``--resume`` continues it,
``--overwrite`` replaces it), resumed inputs checked against the checkpoint
(``--input-changed``). A snapshot that cannot be written is logged on one line and retried at the
next one. Exit status: 0 done; 1 error (one line on stderr); 2 usage error;
:data:`EXIT_SNAPSHOT_FAILED` (3) done and ``--output`` written but a snapshot failed;
:data:`EXIT_KAFKA_SECURITY` (4) the Kafka broker refused the secured connection (credentials,
certificate). See ``docs/train.md`` and ``docs/production.md`` (secured Kafka, metrics, object
storage).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time

from .sources import add_input_arguments, add_kafka_arguments, open_source

__all__ = ["add_parser", "cmd_train"]

log = logging.getLogger("streamsgns")

# SGNS parameters set from the command line, one table per argument group of ``train --help``:
# (flag, dest, type, help); the default is SGNS.__init__'s (see _model_default).
SGNS_MODEL_OPTIONS = [
    ("--vector-size", "vector_size", "pos_int", "dimension of the vectors"),
    ("--window", "window", "pos_int", "largest window (dynamic window draws 1..window)"),
    ("--negative", "negative", "nonneg_int", "negative samples per pair (k)"),
    ("--shared-negatives", "shared_negatives", "on_off",
     "draw the negatives once per centre word, shared by its contexts (pWord2Vec; faster; on/off)"),
    ("--ns-exponent", "ns_exponent", "finite", "exponent of the noise distribution"),
    ("--sample", "sample", "nonneg_float", "subsampling threshold (0 = off)"),
    ("--seed", "seed", "nonneg_int", "random seed"),
    ("--workers", "workers", "pos_int", "training threads (1 = bit-reproducible)"),
]
LEARNING_RULE_OPTIONS = [
    ("--alpha", "alpha", "pos_float", "largest learning rate (a new word's step)"),
    ("--min-alpha", "min_alpha", "pos_float", "smallest learning rate"),
    ("--decay-tokens", "decay_tokens", "pos_float", "alpha_t = alpha / (1 + t / decay_tokens)"),
    ("--word-decay", "word_decay", "pos_float_or_off",
     "per-word steps alpha / (1 + count / word_decay); off = the global alpha_t above"),
    ("--average-horizon", "average_horizon", "tokens_or_off",
     "the exported averages follow a moving row within about this many tokens (off = no bound)"),
]
VOCABULARY_OPTIONS = [
    ("--min-count", "min_count", "pos_int", "occurrences before a word is admitted"),
    ("--max-vocab", "max_vocab", "pos_int", "most words held at once"),
    ("--sketch-width", "sketch_width", "pos_int", "columns of the count-min sketch of words not yet admitted"),
    ("--cooc-top-n", "cooc_top_n", "nonneg_int", "words whose pair counts are kept exactly"),
]
FORGETTING_OPTIONS = [
    ("--half-life", "half_life", "tokens",
     "every count halves after this many tokens, e.g. 50000000, 50M or 50Mw (default: never forget)"),
    ("--sketch-halving-tokens", "sketch_halving_tokens", "nonneg_int",
     "tokens added to the sketch of words not yet admitted between two halvings (0 = never age; "
     "default: from the sketch's width and --min-count)"),
]
CHANGE_DETECTION_OPTIONS = [
    ("--change-detection", "detect_changes", "on_off",
     "per-word change detection: report words whose usage changed and re-learn them (on/off)"),
    ("--change-threshold", "change_threshold", "pos_float",
     "alarm level of the per-word change test (higher: fewer, later alarms)"),
    ("--change-every", "change_every", "tokens", "tokens between two change checks"),
    ("--replay", "replay", "replay",
     "extra trainings per token of recent sentences from a bounded buffer (1 = about two passes' worth of "
     "updates, the stream read once); idle = replay only while the source waits for data"),
    ("--replay-buffer", "replay_buffer", "pos_int", "tokens held by the replay buffer (8 bytes each)"),
    ("--replay-at", "replay_at", "replay_at",
     "when replay trains: spread = random buffered sentences while the stream is read; end = when the input "
     "ends, the buffered sentences again in stream order, --replay times (a second epoch from one read when "
     "--replay-buffer holds the input)"),
]
#: Every SGNS parameter ``train`` sets: ``SGNS(**{dest: args.dest})``.
MODEL_OPTIONS = (SGNS_MODEL_OPTIONS + LEARNING_RULE_OPTIONS + VOCABULARY_OPTIONS + FORGETTING_OPTIONS
                 + CHANGE_DETECTION_OPTIONS)

#: Tokens replayed per call while the source waits for data (``--replay idle``): a few tens of
#: milliseconds of training, so that new data is read soon after it arrives.
IDLE_REPLAY_TOKENS = 20_000

#: Exit status when training ended normally (``--output`` written) but at least one
#: snapshot could not be written (disk full, permissions): the newest checkpoint may be
#: older than the end of the input.
EXIT_SNAPSHOT_FAILED = 3

#: Exit status when the Kafka broker answers but refuses the secured connection (wrong
#: credentials, unknown CA, host-name mismatch, TLS against a plaintext listener): one line names
#: the cause. An unavailable broker is retried instead and never ends the run.
EXIT_KAFKA_SECURITY = 4

#: Share of input bytes invalid in the chosen encoding above which ``train`` warns once
#: (e.g. Latin-1 text read as UTF-8: every accented letter is one invalid byte).
INVALID_SHARE_WARN = 0.002


def _model_default(dest: str):
    """Default of an SGNS parameter, read from ``SGNS.__init__``'s signature (one source of truth)."""
    import inspect

    from ..learner import SGNS

    return inspect.signature(SGNS.__init__).parameters[dest].default


def _number_type(kind: str):
    import math

    def parse(text: str):
        if kind == "on_off":
            t = text.strip().lower()
            if t not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
                raise argparse.ArgumentTypeError(f"must be on or off, got {text!r}")
            return t in ("on", "true", "1", "yes")
        if kind == "replay_at":
            t = text.strip().lower()
            if t not in ("spread", "end"):
                raise argparse.ArgumentTypeError(f"must be spread or end, got {text!r}")
            return t
        if kind == "replay":
            if text.strip().lower() == "idle":
                return "idle"
            return _number_type("nonneg_float")(text)
        if kind.endswith("_or_off") and text.strip().lower() in ("off", "none"):
            return None
        if kind.startswith("tokens"):
            return _tokens(text)
        integer = kind.endswith("_int")
        try:
            v = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if integer else 'a number'}: {text!r}") from None
        if not integer and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if kind.startswith("pos") and v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        if kind.startswith("nonneg") and v < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
        return v

    parse.__name__ = kind  # argparse names the type in its messages
    return parse


def _tokens(text: str) -> int:
    """A number of tokens: ``50000000``, ``5e7``, ``50M``, ``50Mw``, ``2k`` (the token forms of ``--snapshot-every``)."""
    import math

    from ..io.snapshotter import parse_every

    s = text.strip()
    try:
        v = float(s)
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        toks = int(v)
    except ValueError:
        try:
            _, toks = parse_every(s if s.lower().endswith("w") else s + "w")
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of tokens (e.g. 50000000 or 50M): {text!r}") from None
    if toks is None or toks <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return toks


def _every(text: str) -> str:
    from ..io.snapshotter import parse_every

    try:
        secs, toks = parse_every(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not (secs or toks):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return text


def _fmt_loss(loss: float) -> str:
    # mean SGNS loss per pair since the last update; "-" when no pair was trained meanwhile
    return f"{loss:.3f}" if loss == loss else "-"


class _Progress:
    """A progress line on stderr (tqdm) with tokens/s, vocabulary, alpha, loss, snapshots, skips."""

    def __init__(self, model, every: float, quiet: bool, metrics=None):
        self.model = model
        self.every = every
        self.quiet = quiet
        self.metrics = metrics  # a TrainingMetrics (--metrics-port) fed at each update, or None
        self.t0 = self.t_last = time.monotonic()
        self.w_last = model.words_seen
        self.snapshots = 0
        self.pmi = None
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=None, unit="w", unit_scale=True, file=sys.stderr, mininterval=every,
                            initial=model.words_seen, dynamic_ncols=True, desc="train")

    def update(self, source_stats: dict, force: bool = False, source=None, snap=None):
        now = time.monotonic()
        every = self.every if self.bar is not None else min(self.every, 1.0)
        if (self.bar is None and self.metrics is None) or (not force and now - self.t_last < every):
            return
        m = self.model
        p = m.progress()
        ws = m.words_seen
        rate = (ws - self.w_last) / max(now - self.t_last, 1e-9)
        loss = m.take_loss()
        if self.metrics is not None:
            from .metrics import source_lag

            view = {"words_seen": ws, "tokens_per_second": rate, "vocab_size": p["vocab_size"],
                    "loss": loss, "learning_rate": p["alpha"], "lag": source_lag(source),
                    "change_events": getattr(m, "changes_count", None)}
            if snap is not None:
                view.update(snapshots_written=snap.written, snapshots_failed=snap.failed)
            self.metrics.publish(view)
        if self.bar is None:
            self.t_last, self.w_last = now, ws
            return
        skipped = (p["empty_lines"] + p["invalid_utf8"] + p["bad_inputs"] + source_stats.get("tombstones", 0)
                   + source_stats.get("empty", 0))
        post = {
            "w/s": f"{rate / 1e3:.0f}k",
            "vocab": p["vocab_size"],
            "alpha": f"{p['alpha']:.4f}",
            "loss": _fmt_loss(loss),
            "snaps": self.snapshots,
            "skipped": skipped,
        }
        if m.detect is not None:
            post["changes"] = p["changes"]
        if m.replay_state is not None:  # share of the trained tokens that were replayed
            post["replay"] = f"{p['replayed'] / max(1, p['replayed'] + ws):.0%}"
        if self.pmi is not None:
            post["pmi_rho"] = f"{self.pmi:.3f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(ws - self.bar.n)
        self.t_last, self.w_last = now, ws

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _open_snapshots(args, model_from_checkpoint):
    """The locked Snapshotter of ``--snapshot-dir``, and the model to resume (or None).

    Refuses (SystemExit, one line) a directory locked by another trainer, and a new run in a
    directory that holds another run's checkpoints unless ``--overwrite``.
    """
    from ..io.snapshotter import SnapshotDirLocked, Snapshotter, latest_checkpoint, parse_every, run_id_of

    secs, toks = parse_every(args.snapshot_every)
    try:
        snap = Snapshotter(args.snapshot_dir, every_tokens=toks, every_seconds=secs, keep=args.keep,
                           binary=args.binary)
    except SnapshotDirLocked as e:
        raise SystemExit(f"streamsgns: {e}") from None
    except (OSError, ValueError) as e:
        raise SystemExit(f"streamsgns: cannot use --snapshot-dir {args.snapshot_dir}: "
                         f"{getattr(e, 'strerror', None) or e}") from None
    except ImportError as e:  # s3://... without fsspec/s3fs
        raise SystemExit(f"streamsgns: {e}") from None
    try:
        model = None
        if args.resume:
            loaded = {}

            def load(p):  # the whole state is validated: a forged newest file falls back to the previous one
                loaded[p] = model_from_checkpoint(p)

            ck = latest_checkpoint(args.snapshot_dir, log_fn=log.warning, check=load)
            if ck is not None:
                model = loaded.pop(ck)
                snap.adopt(run_id_of(ck))
                log.info(f"resumed run {snap.run_id[:8]} from {ck} at {model.words_seen} tokens")
            else:
                log.info(f"no checkpoint in {args.snapshot_dir}: starting afresh")
        others = snap.other_runs()
        if others and model is None:
            if not args.overwrite:
                raise SystemExit(f"streamsgns: {args.snapshot_dir} holds {len(others)} checkpoint(s) of another "
                                 f"run (newest {others[-1].name}): use --resume to continue it, or --overwrite "
                                 "to delete them and start a new run")
            n = snap.remove_other_runs()
            log.warning(f"--overwrite: removed {n} file(s) of another run from {args.snapshot_dir}")
        return snap, model
    except BaseException:
        snap.close()
        raise


def _check_encoding(model, source, args, state) -> None:
    """Warn once when a large share of the input is invalid in the encoding read."""
    if state.get("warned"):
        return
    nbytes = source.stats.get("bytes", 0)
    bad = model.stats.get("invalid_utf8", 0) + source.stats.get("undecodable", 0)
    if nbytes < 4096 or bad < 8 or bad < INVALID_SHARE_WARN * nbytes:
        return
    state["warned"] = True
    enc = getattr(args, "encoding", "utf-8")
    hint = ("if the text is Latin-1 or Windows-1252, use --encoding latin-1 (or --encoding cp1252)"
            if enc == "utf-8" else "choose the input's encoding with --encoding")
    log.warning(f"{bad} of the first {nbytes} bytes ({100 * bad / nbytes:.1f} %) of the input are not valid "
                f"{enc} and were replaced: {hint}")


def cmd_train(args) -> int:
    """``streamsgns train``; returns the exit status (0, or EXIT_SNAPSHOT_FAILED)."""
    logging.basicConfig(level=logging.INFO if not args.quiet else logging.WARNING,
                        format="streamsgns: %(message)s", stream=sys.stderr)
    # kafka-python logs every reconnect attempt at INFO/ERROR; KafkaSource
    # reports what matters (retries, resets, failed commits) itself.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    params = {dest: getattr(args, dest) for _, dest, _, _ in MODEL_OPTIONS}
    if args.replicas is not None and args.changes:
        args.parser.error("--changes is not available with --replicas (the replica path writes no changes file; the change records are in the merged checkpoints)")
    metrics = _production_setup(args)
    try:
        if args.replicas is not None:  # Ray is imported only on this path
            from .train_replicas import cmd_train_replicas

            return cmd_train_replicas(args, params, metrics=metrics)
        return _cmd_train_one(args, params, metrics)
    finally:
        if metrics is not None:
            metrics.close()


def _production_setup(args):
    """Read ``--kafka-config`` and the secret environment, hide the secrets from every log line,
    and start the ``--metrics-port`` server; return it (or None).

    Sets ``args.kafka_settings`` (kafka-python consumer settings, secrets wrapped) and
    ``args.redact`` (a function hiding the secrets in a text).
    """
    from streamsgns.connectors.kafka.settings import RedactingFilter, SettingsError, read_kafka_config, secret_texts

    inputs = args.input or []
    kafka = len(inputs) == 1 and inputs[0].startswith("kafka://")
    if args.kafka_config and not kafka:
        args.parser.error("--kafka-config needs --input kafka://HOST:PORT/TOPIC")
    settings = {}
    if kafka:
        try:
            settings = read_kafka_config(args.kafka_config)
        except SettingsError as e:
            args.parser.error(str(e))
    args.kafka_settings = settings
    scrub = RedactingFilter(secret_texts(settings))
    args.redact = scrub.scrub
    if scrub.secrets:
        for handler in logging.getLogger().handlers:  # every record, whoever logs it (kafka-python too)
            handler.addFilter(scrub)
    if args.metrics_port is None:
        return None
    try:
        from .metrics import TrainingMetrics
    except ImportError:
        raise SystemExit("streamsgns: --metrics-port needs prometheus_client: pip install 'streamsgns[production]'") from None
    try:
        metrics = TrainingMetrics(args.metrics_port, host=args.metrics_host)
    except ImportError:
        raise SystemExit("streamsgns: --metrics-port needs prometheus_client: pip install 'streamsgns[production]'") from None
    except OSError as e:
        raise SystemExit(f"streamsgns: cannot serve metrics on {args.metrics_host}:{args.metrics_port}: "
                         f"{e.strerror or e}") from None
    log.info(f"metrics on {metrics.url}")
    return metrics


def _cmd_train_one(args, params, metrics):
    """``train`` in this process (no ``--replicas``)."""
    from streamsgns.connectors.base import InputChanged, SourceStopped

    from ..io.snapshotter import SnapshotError
    from ..learner import SGNS

    if args.resume and not args.snapshot_dir:
        args.parser.error("--resume needs --snapshot-dir")
    if args.overwrite and not (args.snapshot_dir or args.changes):
        args.parser.error("--overwrite needs --snapshot-dir or --changes")
    if args.changes and not params["detect_changes"]:
        args.parser.error("--changes needs change detection (--change-detection on)")
    from ..warmup import start_compile_child, wait_compile_child

    # a cold numba cache: compile in a child while the source and the snapshot directory open (the
    # compiler's memory stays there); the first kernel call below then loads the cached code
    child = start_compile_child()
    try:
        source = open_source(args)  # before the lock: a bad --input is refused without touching the directory
    except BaseException:
        if child is not None:
            child.kill()
        raise
    model = snap = changes = None
    try:
        if args.snapshot_dir:
            snap, model = _open_snapshots(args, lambda ck: SGNS.load(ck, workers=args.workers))
        if model is None:
            try:
                model = SGNS(**params)
            except ValueError as e:  # settings that are valid one by one but not together
                args.parser.error(str(e))
        resumed = model is not None and model.words_seen > 0 and args.resume
        if snap is not None:
            snap.start(model)
        if args.changes:
            from .changes import ChangesFile

            try:
                changes = ChangesFile(args.changes, model, resume=resumed, overwrite=args.overwrite)
            except FileExistsError as e:
                args.parser.error(str(e))
            except OSError as e:
                raise SystemExit(f"streamsgns: cannot use --changes {args.changes}: {e.strerror or e}") from None
        wait_compile_child(child)
        child = None
        return _train(args, model, source, snap, InputChanged, SourceStopped, SnapshotError, changes, metrics)
    finally:
        if child is not None:  # an error before training: the compilation is not needed now
            child.kill()
            child.wait()
        if changes is not None:
            changes.close()
        source.close()
        if model is not None:
            model.close()
        if snap is not None:
            snap.close()


def _train(args, model, source, snap, InputChanged, SourceStopped, SnapshotError, changes=None,
           metrics=None) -> int:
    from streamsgns.connectors.kafka.errors import KafkaSecurityError

    if model.source_position:
        # The checkpoint is the source of truth: Kafka partitions it does not
        # name start at their earliest offset, not at the group's commit.
        kw = {"others": "earliest"} if type(source).__name__ == "KafkaSource" else {}
        try:
            source.seek(model.source_position, **kw)
        except InputChanged as e:
            if args.input_changed != "restart":
                raise SystemExit(f"streamsgns: cannot resume: {e}. Use --input-changed restart to read "
                                 "the input from its start, or give the input the checkpoint was trained on") from None
            log.warning(f"INPUT CHANGED: {e}. --input-changed restart: reading the input from its start "
                        "(the model keeps what it learnt)")
            model.source_position = None
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
    progress = _Progress(model, args.progress_every, args.quiet, metrics=metrics)
    if metrics is not None and model.source_position is not None:
        metrics.publish({"durable_at": time.monotonic()})  # the resumed checkpoint is durable
    pmi_every = args.pmi_every
    position = model.source_position
    enc_state: dict = {}

    def checkpoint():
        if changes is not None:
            changes.append_new(sync=True)  # every record the checkpoint covers is on disk first
        try:
            ck = snap.snapshot(model, position=position)
        except SnapshotError as e:
            # one line naming the file and the cause; training goes on, the next snapshot retries
            log.error(f"{e}; training goes on, next attempt at the next snapshot")
            if e.checkpoint is not None and position is not None:
                if metrics is not None:
                    metrics.publish({"durable_at": time.monotonic()})
                source.commit(position)  # the checkpoint itself is durable
            return None
        progress.snapshots += 1
        if metrics is not None:
            metrics.publish({"durable_at": time.monotonic(), "snapshots_written": snap.written})
        if position is not None:
            source.commit(position)
        if pmi_every and model.cooc is not None and progress.snapshots % pmi_every == 0:
            try:
                progress.pmi = model.pmi_report(top=min(1000, model.cooc_top_n))["spearman"]
            except Exception as e:  # a report must never stop training
                log.warning(f"pmi report failed: {e}")
        return ck

    def on_idle() -> bool:
        """The source waits for data: replay a slice (``--replay idle``), and bring the progress line
        and the metrics up to date. They are refreshed at most every ``--progress-every`` seconds
        at a chunk, so the last chunks before a quiet spell would otherwise stay unpublished
        (``streamsgns_consumer_lag`` above 0 on a trainer that has caught up)."""
        n = model.replay_idle(IDLE_REPLAY_TOKENS) if model.replay == "idle" else 0
        progress.update(source.stats, source=source, snap=snap)
        return n > 0

    source.on_idle = on_idle

    status = 0
    try:
        try:
            for chunk in source.chunks():
                model.learn_text(chunk.data)
                position = chunk.position
                model.source_position = position
                if changes is not None:
                    changes.append_new()
                _check_encoding(model, source, args, enc_state)
                progress.update(source.stats, source=source, snap=snap)
                if snap is not None and snap.due(model):
                    checkpoint()
                if stop["signal"] is not None:
                    break
        except SourceStopped:  # a signal ended a blocking read: the input ends here
            pass
        except InputChanged as e:  # an input that cannot seek (pipe) differs from the checkpoint's
            raise SystemExit(f"streamsgns: cannot resume: {e}") from None
        except KafkaSecurityError as e:  # not retried: a wrong password does not heal by waiting
            print(f"streamsgns: kafka: {args.redact(str(e))}", file=sys.stderr)
            raise SystemExit(EXIT_KAFKA_SECURITY) from None
        except OSError as e:
            raise SystemExit(f"streamsgns: cannot read the input: {e.strerror or e}") from None
        if stop["signal"] is not None:
            log.info(f"received signal {stop['signal']}: writing a final checkpoint")
        else:
            model.replay_end()  # the input ended (replay_at="end": the buffered sentences again, in order)
        model.flush()
        _check_encoding(model, source, args, enc_state)
        if snap is not None:
            checkpoint()
            if snap.failed:
                log.error(f"{snap.failed} snapshot(s) failed; the newest checkpoint in {args.snapshot_dir} may be "
                          f"older than the end of the input (exit status {EXIT_SNAPSHOT_FAILED})")
                status = EXIT_SNAPSHOT_FAILED
        if args.output:
            try:
                n = model.save_word2vec_format(args.output, binary=args.binary)
            except OSError as e:
                raise SystemExit(f"streamsgns: cannot write --output {args.output}: {e.strerror or e}") from None
            log.info(f"wrote {n} vectors to {args.output}")
        if snap is None and position is not None and args.commit_without_checkpoint:
            source.commit(position)
    finally:
        progress.update(source.stats, force=True, source=source, snap=snap)
        progress.close()
        for s, h in old.items():
            signal.signal(s, h)
    p = model.progress()
    summary = {"words_seen": p["words_seen"], "vocab_size": p["vocab_size"], "lines": p["lines"],
               "empty_lines": p["empty_lines"], "invalid_utf8": p["invalid_utf8"],
               "control_bytes": p["control_bytes"], "split_lines": p["split_lines"], "changes": p["changes"],
               "replayed": p["replayed"],
               "source": {k: int(v) for k, v in source.stats.items()}}
    if snap is not None:
        summary["snapshots"] = {"written": snap.written, "failed": snap.failed, "run_id": snap.run_id}
    if args.summary:
        print(json.dumps(summary), file=sys.stderr)
    else:
        log.info(f"done: {p['words_seen']} tokens, vocabulary {p['vocab_size']}")
    return status


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, got {text!r}")
    return port


def _add_production_options(parser: argparse.ArgumentParser) -> None:
    """The options of a production deployment: Kafka security, metrics, object storage (``docs/production.md``)."""
    g = parser.add_argument_group("production: Kafka security, metrics, object storage")
    g.add_argument("--kafka-config", metavar="FILE",
                   help="Kafka client settings, as Kafka tools' --consumer.config: key=value lines "
                        "(security.protocol, ssl.truststore.location, sasl.mechanism, sasl.username, "
                        "sasl.password=${ENV_VAR}...). Secrets also from STREAMSGNS_KAFKA_SASL_PASSWORD, "
                        "never on the command line or in the URL")
    g.add_argument("--metrics-port", type=_port, default=None, metavar="PORT",
                   help="serve Prometheus metrics on http://HOST:PORT/metrics (tokens/s, words_seen, "
                        "vocabulary, loss, learning rate, snapshots, seconds since the last durable "
                        "checkpoint, consumer lag per partition)")
    g.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address the metrics server binds (default 127.0.0.1: this machine only)")
    # --snapshot-dir also takes s3://BUCKET/PREFIX (fsspec + s3fs; see docs/production.md)


def _add_sgns_options(group, table) -> None:
    """One argument per row of ``table`` (see :data:`MODEL_OPTIONS`), default from ``SGNS.__init__``."""
    for flag, dest, kind, hlp in table:
        default = _model_default(dest)
        metavar = ("TOKENS" if kind.startswith("tokens") else "{on,off}" if kind == "on_off"
                   else "{spread,end}" if kind == "replay_at" else "N" if kind.endswith("_int") else "X")
        group.add_argument(flag, dest=dest, type=_number_type(kind), default=default, metavar=metavar,
                           help=hlp if default is None else f"{hlp} (default {default})")


def _add_output_options(p) -> None:
    g = p.add_argument_group("output and snapshots")
    g.add_argument("--output", metavar="FILE", help="final vectors (word2vec format), written at the end or on SIGTERM")
    g.add_argument("--binary", action="store_true", help="word2vec binary format for vectors")
    g.add_argument("--snapshot-dir", metavar="DIR", help="directory (or s3://BUCKET/PREFIX) of periodic checkpoints and vectors (one trainer at a time)")
    g.add_argument("--snapshot-every", type=_every, metavar="EVERY", default="60s", help="e.g. 30s, 5m, 1000000w (default 60s)")
    g.add_argument("--keep", type=_number_type("pos_int"), metavar="N", default=3, help="checkpoints kept (default 3)")
    run = g.add_mutually_exclusive_group()
    run.add_argument("--resume", action="store_true", help="continue the run of the newest valid checkpoint")
    run.add_argument("--overwrite", action="store_true",
                     help="start a new run in a --snapshot-dir that holds another run's checkpoints, "
                          "deleting them")


def _add_model_options(p) -> None:
    _add_sgns_options(p.add_argument_group("model"), SGNS_MODEL_OPTIONS)


def _add_learning_rule_options(p) -> None:
    g = p.add_argument_group("learning rule", "the step of each update (docs/learning_rule.md)")
    _add_sgns_options(g, LEARNING_RULE_OPTIONS)


def _add_vocabulary_options(p) -> None:
    g = p.add_argument_group("vocabulary and co-occurrence statistics")
    _add_sgns_options(g, VOCABULARY_OPTIONS)
    g.add_argument("--pmi-every", type=_number_type("nonneg_int"), metavar="N", default=0,
                   help="show Spearman(W·Cᵀ, PMI − log k) every N snapshots (0 = off)")


def _add_forgetting_options(p) -> None:
    g = p.add_argument_group("forgetting", "exponential decay of every count (off by default)")
    _add_sgns_options(g, FORGETTING_OPTIONS)


def _add_change_options(p) -> None:
    """The ``change detection`` group: its SGNS settings and ``--changes``, where the change records of the
    run go (:mod:`streamsgns.cli.changes`)."""
    g = p.add_argument_group("change detection", "words whose usage changed (streamsgns.change)")
    _add_sgns_options(g, CHANGE_DETECTION_OPTIONS)
    g.add_argument("--changes", metavar="FILE.jsonl",
                   help="append each change event (a word whose usage changed, then what it became) to this "
                        "JSON-lines file as it happens; crash-safe with --snapshot-dir/--resume")


def _add_progress_options(p) -> None:
    g = p.add_argument_group("progress and summary")
    g.add_argument("--progress-every", type=_number_type("nonneg_float"), default=2.0, metavar="SECONDS",
                   help="seconds between progress updates (default 2)")
    g.add_argument("--quiet", action="store_true", help="no progress line")
    g.add_argument("--summary", action="store_true", help="print a JSON summary on stderr at the end")


def _add_replica_options(p) -> None:
    from .train_replicas import add_replica_arguments

    add_replica_arguments(p, _number_type)


#: The argument groups of ``train --help``, in order: each function adds one group to the parser.
OPTION_GROUPS = [
    add_input_arguments,
    add_kafka_arguments,
    _add_output_options,
    _add_model_options,
    _add_learning_rule_options,
    _add_vocabulary_options,
    _add_forgetting_options,
    _add_change_options,
    _add_progress_options,
    _add_replica_options,
    _add_production_options,
]


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``train`` sub-command to ``sub`` (an argparse sub-parsers object).

    Its options come in argument groups, one per function of :data:`OPTION_GROUPS`.
    """
    t = sub.add_parser("train", help="learn vectors from a text stream (stdin, files or Kafka)",
                       usage="%(prog)s [--input SOURCE ...] [--output FILE] [--snapshot-dir DIR] [options]",
                       description="Learn word2vec vectors from a text stream (stdin, files or a Kafka "
                                   "topic), writing snapshots as it goes.",
                       epilog=f"exit status: 0 done; 1 error (one line on stderr); 2 usage error; "
                              f"{EXIT_SNAPSHOT_FAILED} done and --output written, but a snapshot could not be "
                              f"written (disk full...); {EXIT_KAFKA_SECURITY} the Kafka broker refused the secured "
                              "connection (credentials, certificate)")
    for add_group in OPTION_GROUPS:
        add_group(t)
    t.set_defaults(func=cmd_train, parser=t)
    return t
