"""How fast: streamsgns against gensim, A/B of two checkouts, the cost of co-occurrence tracking."""
