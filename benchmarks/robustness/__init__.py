"""Robustness: junk floods, sketch admission, training threads under eviction (``robustness/sketch_aging.md``)."""
