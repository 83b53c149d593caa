"""The merge actor of a multi-replica job: holds the merged model, merges the replicas' deltas, checkpoints.

:class:`Merger` is a plain class; :mod:`streamsgns.distributed.job` runs it as a Ray actor on the
driver's node (its checkpoints go to the driver's ``snapshot_dir``). Each round the driver passes
it the ObjectRefs of the replicas' deltas (Ray fetches them node to node into this actor, the
driver never holds them); it merges them into the next base
(:func:`~streamsgns.distributed.delta.merge_deltas`), validates it by loading it
(:meth:`streamsgns.SGNS.from_state`), runs on that model what the merged token count makes due (a
change check, a decay step of forgetting: :func:`~streamsgns.distributed.rounds.round_steps`, which
every replica runs too, so the update does not carry them), and returns a small report and, as a separate object, the
merged update (the delta of the new base against the old one) that every replica fetches and
applies at the start of its next round. It writes the checkpoints when the driver asks (the driver
commits the offsets once one is durable).
"""

from __future__ import annotations

import time

from .delta import delta_nbytes, merge_deltas, model_delta
from .rounds import take_steps

__all__ = ["Merger"]


class Merger:
    """Merge replica deltas into the job's model and checkpoint it (a Ray actor).

    Parameters
    ----------
    state : dict
        The starting merged state (:meth:`streamsgns.SGNS.state_dict`: new, or resumed).
    snapshot_dir : str, optional
        Directory of checkpoints (:class:`streamsgns.io.snapshotter.Snapshotter`); None: none.
    snapshot_every : str
        ``"30s"`` or ``"1000000w"``.
    keep : int
        Checkpoints kept.
    vectors : bool
        Also write word2vec vectors with each checkpoint.
    run_id : str, optional
        The run identity the checkpoints carry (the driver's, so that a resumed run prunes its own).
    rows : {"sum", "scaled", "gain", "diverse"}
        The merge rule of W and C rows (:func:`~streamsgns.distributed.delta.merge_deltas`).
    stiffness : float, optional
        With ``rows="scaled"``: see :func:`streamsgns.rates.merged_step_scale`.
    replicas, step_cap, max_step : int, float, float, optional
        With ``rows="gain"`` or ``"diverse"``: see :func:`~streamsgns.distributed.delta.merge_deltas`.
    """

    def __init__(self, state: dict, snapshot_dir=None, snapshot_every: str = "60s", keep: int = 3,
                 vectors: bool = True, run_id: str | None = None, rows: str = "sum",
                 stiffness: float | None = None, replicas: int | None = None, step_cap: float | None = None,
                 max_step: float | None = None):
        from ..learner import SGNS

        self.rows, self.stiffness = rows, stiffness
        self.replicas, self.step_cap, self.max_step = replicas, step_cap, max_step
        self.base = state
        self.model = SGNS.from_state(state)
        self._merges = 0
        self.snap = None
        if snapshot_dir:
            from ..io.snapshotter import Snapshotter, parse_every

            secs, toks = parse_every(snapshot_every)
            self.snap = Snapshotter(snapshot_dir, every_tokens=toks, every_seconds=secs, keep=keep,
                                    vectors=vectors, run_id=run_id)
            self.snap.start(self.model)

    def merge(self, *deltas) -> tuple[dict, dict]:
        """Merge the replicas' deltas (in replica order) into the next base.

        Returns
        -------
        report : dict
            ``words_seen``, ``vocab_size``, ``merge_s`` (merging, validating, computing the update),
            ``bytes_down`` (bytes of the update, fetched by each replica).
        update : dict
            The merged update: :func:`~streamsgns.distributed.delta.model_delta` of the merged state
            (before the round's steps) against the previous base (a replica holding the previous base
            applies it in place, :func:`streamsgns.distributed.apply.apply_update`, equal to
            ``merge_deltas(base, [update])``, then takes the same steps,
            :func:`~streamsgns.distributed.rounds.take_steps`).
            The replicas' deltas may be encoded (:func:`~streamsgns.distributed.delta.encode_delta`):
            ``merge_deltas`` decodes them against this base.
        """
        from ..learner import SGNS

        t0 = time.perf_counter()
        merged = merge_deltas(self.base, list(deltas), rows=self.rows, stiffness=self.stiffness,
                              replicas=self.replicas, step_cap=self.step_cap, max_step=self.max_step)
        update = model_delta(merged, self.base)  # before the round's steps: every replica takes them itself
        model = SGNS.from_state(merged)  # validates the merged state
        merged = take_steps(model, merged)
        self.model.close()
        self.model, self.base = model, merged
        self._merges += 1
        report = {"words_seen": model.words_seen, "vocab_size": model.vocab_size,
                  "merge_s": time.perf_counter() - t0, "bytes_down": delta_nbytes(update)}
        return report, update

    def state(self) -> dict:
        """The merged state (to roll replicas back after a death, and the job's result)."""
        return self.base

    def merges(self) -> int:
        """Merges done by this actor."""
        return self._merges

    def snapshot(self, position: dict, force: bool = False, merges: int | None = None) -> bool:
        """Write a checkpoint of the merged model covering ``position`` if one is due (or ``force``).

        ``merges``: write only if this many merges are done (a snapshot queued behind a merge that
        failed must not pair the older state with the newer offsets); None: no condition.

        Returns
        -------
        bool
            True when a checkpoint was written (durable: the driver may commit ``position``).
        """
        if self.snap is None or not (force or self.snap.due(self.model)):
            return False
        if merges is not None and merges != self._merges:
            return False
        self.model.source_position = position
        self.snap.snapshot(self.model, position=position)
        return True

    def close(self) -> None:
        """Release the snapshot directory's lock."""
        if self.snap is not None:
            self.snap.close()
            self.snap = None
