"""Reading checkpoints of format 1 (streamsgns 0.1): flat arrays turned into a state dict.

Format 1 stored the kernel's state vectors as they were: an int64 array ``st`` and a float64
array ``fst`` addressed by index constants, the co-occurrence generator state ``cooc_cstate``
likewise, and the other arrays flat (``hashes``, ``sketch_table``, ``noise_prob``...). The
layouts below are those of that version (``streamsgns/kernels.py`` and ``cooc.py`` before
the state refactor); :func:`upgrade_v1` maps them onto today's component states, which then
go through the components' own validation like any other state.
"""

from __future__ import annotations

import numpy as np

__all__ = ["upgrade_v1"]

# format-1 layout of ``st`` (int64) and ``fst`` (float64)
_ST = dict(words_seen=0, next_id=1, n_free=2, total=3, n_prunes=4, noise_n=5, last_refresh=6, lines=7,
           empty_lines=8, control_bytes=9, split_lines=10, pairs=11, kept=12, n_cslot_free=16, n_refresh=17,
           n_admitted=18, n_evicted=19, sketch_total=20)
_N_ST = 21
_FST_LOSS, _FST_LOSS_N = 0, 1
# format-1 layout of ``cooc_cstate`` (uint64)
_C_STATE, _C_SKIP, _C_RATE, _C_TOTAL = 0, 1, 2, 3
_V1_NOISE_MIN_REFRESH = 1000


def upgrade_v1(manifest: dict, a: dict) -> dict:
    """The state dict (see :meth:`streamsgns.SGNS.state_dict`) held by a format-1 checkpoint.

    Parameters
    ----------
    manifest : dict
        Its manifest (``params``, ``n_ids``, ``stats``, ``sketch_total``...).
    a : dict
        Its arrays, by name, checksums already verified.

    Raises
    ------
    KeyError, ValueError, IndexError
        If an array or a manifest entry is missing or malformed (the reader turns these into
        :class:`streamsgns.io.checkpoint.CheckpointError`).
    """
    st = np.asarray(a["st"], dtype=np.int64)
    if st.shape != (_N_ST,):
        raise ValueError(f"st has shape {st.shape}, expected ({_N_ST},)")
    fst = np.asarray(a["fst"], dtype=np.float64)
    s = {k: int(st[i]) for k, i in _ST.items()}
    params = dict(manifest["params"])
    n = int(manifest["n_ids"])
    if n != s["next_id"]:
        raise ValueError(f"n_ids {n} != next_id {s['next_id']}")
    noise_n = s["noise_n"]
    vocab = {
        "hashes": a["hashes"], "counts": a["counts"], "free_ids": a["free_ids"],
        "words_blob": a["words_blob"], "words_offsets": a["words_offsets"], "words_has": a["words_has"],
        "min_count": int(params["min_count"]), "max_vocab": int(params["max_vocab"]), "prune_fraction": 0.1,
        "next_id": s["next_id"], "n_free": s["n_free"], "total": s["total"], "n_events": 0,
        "n_admitted": s["n_admitted"], "n_evicted": s["n_evicted"], "n_prunes": s["n_prunes"],
        "sketch": {"table": a["sketch_table"], "seeds": a["sketch_seeds"], "seed": int(params.get("seed", 0)),
                   "total": int(manifest.get("sketch_total", s["sketch_total"]))},
    }
    noise = {"prob": a["noise_prob"][:noise_n], "alias": a["noise_alias"][:noise_n],
             "ns_exponent": float(params["ns_exponent"]), "min_refresh_tokens": _V1_NOISE_MIN_REFRESH,
             "n": noise_n, "last_refresh": s["last_refresh"], "n_refresh": s["n_refresh"]}
    parameters = {"W": a["W"], "rng": a["rng"], "tied": bool(params.get("tied", False)),
                  "words_seen": s["words_seen"], "lines": s["lines"], "empty_lines": s["empty_lines"],
                  "control_bytes": s["control_bytes"], "split_lines": s["split_lines"], "pairs": s["pairs"],
                  "kept": s["kept"], "loss": float(fst[_FST_LOSS]), "loss_n": float(fst[_FST_LOSS_N])}
    if not parameters["tied"]:
        parameters["C"] = a["C"]
    cooc = None
    if params.get("track_cooc", True):
        cs = np.asarray(a["cooc_cstate"], dtype=np.uint64)
        cooc = {"cmeta": a["cooc_cmeta"], "cslot_free": a["cooc_cslot_free"], "clo": a["cooc_clo"],
                "chi": a["cooc_chi"], "csk": a["cooc_csk"], "csk_seeds": a["cooc_csk_seeds"],
                "rng": cs[_C_STATE:_C_STATE + 1].copy(), "top_n": int(params.get("cooc_top_n", 1000)),
                "sketch_rate": int(cs[_C_RATE]), "skip": int(cs[_C_SKIP]), "rate": int(cs[_C_RATE]),
                "total": int(cs[_C_TOTAL]), "n_free_slots": s["n_cslot_free"]}
        params.setdefault("cooc_sketch_width", int(a["cooc_csk"].shape[1]) if a["cooc_csk"].shape[0] else 0)
        params.setdefault("cooc_sketch_depth", int(a["cooc_csk"].shape[0]))
        params.setdefault("cooc_sketch_rate", int(cs[_C_RATE]))
    return {"params": params, "vocab": vocab, "noise": noise, "cooc": cooc, "parameters": parameters,
            "stats": {k: int(v) for k, v in manifest.get("stats", {}).items()}}
