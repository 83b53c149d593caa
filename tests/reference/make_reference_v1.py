"""Reference W/C digests and a v1 checkpoint, produced by the code before the issue-7 refactor (commit da1a075).

Run from a checkout of da1a075: python tests/data/make_reference_v1.py /tmp/ckpt_v1.npz && gzip -9 /tmp/ckpt_v1.npz
"""
import hashlib, json, sys, os
import numpy as np
from streamsgns import SGNS
import gensim, pathlib
lee = pathlib.Path(gensim.__file__).parent / "test/test_data/lee_background.cor"
lines = lee.read_text().splitlines()
configs = {
  "default_small": dict(vector_size=32, min_count=2, seed=3, sketch_width=1 << 14),
  "evicting": dict(vector_size=16, min_count=1, max_vocab=300, seed=5, sketch_width=1 << 12, cooc_top_n=50),
  "no_cooc_sample0": dict(vector_size=24, window=3, negative=3, sample=0.0, min_count=3, seed=7, track_cooc=False, sketch_width=1 << 12),
  "tied": dict(vector_size=16, min_count=2, seed=9, tied=True, sketch_width=1 << 12, cooc_top_n=20),
}
out = {}
for name, kw in configs.items():
    m = SGNS(**kw)
    m.learn_many(lines)
    m.learn_many([l.split() for l in lines[:100]])  # token lists too
    d = {"W": hashlib.sha256(np.ascontiguousarray(m.W).tobytes()).hexdigest(),
         "C": hashlib.sha256(np.ascontiguousarray(m.C).tobytes()).hexdigest(),
         "words_seen": m.words_seen, "vocab_size": m.vocab_size,
         "index_to_key_sha": hashlib.sha256("\n".join(str(w) for w in m.index_to_key).encode()).hexdigest()}
    if m.cooc is not None:
        d["cooc_total"] = m.cooc.total()
    out[name] = {"params": kw, "digest": d}
    if name == "evicting":
        m.save(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ref/ckpt_v1.npz")
print(json.dumps(out, indent=1))
