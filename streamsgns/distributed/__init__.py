"""One model trained by several replicas (Ray actors) fed by one Kafka topic.

:mod:`~streamsgns.distributed.merge` (pure numpy: merge replica state dicts) imports without Ray;
:mod:`~streamsgns.distributed.replica` and :mod:`~streamsgns.distributed.job` import Ray, which is
an optional extra (``pip install streamsgns[ray]``) and is only imported when replicas are asked for.
"""

from .merge import MergeError, merge_states, state_nbytes


def __getattr__(name):  # Ray is imported only when a job is asked for
    if name in ("ReplicaJob", "assign_partitions"):
        from . import job

        return getattr(job, name)
    raise AttributeError(name)


__all__ = ["MergeError", "ReplicaJob", "assign_partitions", "merge_states", "state_nbytes"]
