"""How good: the PMI experiments of ``docs/pmi.md`` (full rank, dimension sweep, tied W/C, effective window)."""
