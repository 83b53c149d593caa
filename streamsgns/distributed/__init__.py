"""One model trained by several replicas (Ray actors) fed by one Kafka topic.

:mod:`~streamsgns.distributed.delta` (pure numpy: a replica's sparse delta against the merged base,
its encoding for the wire, and the merge of the replicas' deltas, each component through its own
``delta`` / ``merge_deltas``), :mod:`~streamsgns.distributed.apply` (a replica taking the merged
update in place), :mod:`~streamsgns.distributed.overlap` (an overlapped replica taking it one round
late, its own round re-keyed by hash), :mod:`~streamsgns.distributed.rounds` (forgetting's decay
steps and change checks, taken at round boundaries on the merged state by every replica and the
merge actor alike) and :mod:`~streamsgns.distributed.merge` (the dense merge of whole state dicts)
import without Ray;
:mod:`~streamsgns.distributed.replica`, :mod:`~streamsgns.distributed.merger` and
:mod:`~streamsgns.distributed.job` run as or drive Ray actors; Ray is an optional extra
(``pip install streamsgns[ray]``), imported only when replicas are asked for. The pattern a new
component follows to be merged is in the :mod:`~streamsgns.distributed.delta` docstring.
"""

from .apply import apply_update
from .delta import decode_delta, delta_nbytes, encode_delta, merge_deltas, model_delta
from .merge import MergeError, merge_states, state_nbytes
from .rounds import round_steps, take_steps


def __getattr__(name):  # Ray is imported only when a job is asked for
    if name in ("ReplicaJob", "assign_partitions"):
        from . import job

        return getattr(job, name)
    raise AttributeError(name)


__all__ = ["MergeError", "ReplicaJob", "apply_update", "assign_partitions", "decode_delta", "delta_nbytes",
           "encode_delta", "merge_deltas", "merge_states", "model_delta", "round_steps", "state_nbytes", "take_steps"]
