"""Benchmarks and experiments of streamsgns, one folder per question (index: ``benchmarks/README.md``); run from the checkout, not installed."""
