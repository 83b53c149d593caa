"""Drift and forgetting on real and planted change, and what ``half_life`` costs (``docs/drift.md``)."""
