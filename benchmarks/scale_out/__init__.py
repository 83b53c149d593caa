"""Scale-out: Ray replicas, the cost of a merge, and a model of larger clusters (``docs/scale-out.md``)."""
