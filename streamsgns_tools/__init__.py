"""Tooling around streamsgns that is not part of the library's core.

- :mod:`streamsgns_tools.corpora`: fetch and clean real text corpora by package name
  (the demo's and the benchmarks' data);
- :mod:`streamsgns_tools.tansu`: start a real Kafka-protocol broker (Tansu) on loopback
  for tests and examples.

Nothing in :mod:`streamsgns` or :mod:`connectors` imports this package.
"""
