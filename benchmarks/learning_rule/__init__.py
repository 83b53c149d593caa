"""Which learning rule: per-word steps against a global schedule, rare words, the largest stable alpha (``docs/learning_rule.md``)."""
