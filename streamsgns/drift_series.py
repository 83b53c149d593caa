"""Semantic change across all snapshots of one run, and plots of it.

:func:`drift_series` follows chosen words through a run directory's snapshots (their
neighbours, and the cosine of their vector with its previous and its last value);
:func:`plot_drift` draws it, :func:`plot_pair` draws a two-snapshot
:class:`streamsgns.drift.DriftReport`. Matplotlib is imported lazily and drawn on an Agg
canvas, without touching the global backend.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .drift import _check_int
from .io.open import open_snapshot, snapshot_files, words_seen_of
from .vectors import KeyedVectors

__all__ = ["list_snapshots", "drift_series", "plot_drift", "plot_pair"]


def list_snapshots(run_dir) -> list[Path]:
    """The snapshots of a run directory, oldest first (by the words seen in their names).

    A run directory is what ``streamsgns train --snapshot-dir`` writes:
    ``vectors-<N>.txt``/``.bin`` and ``ckpt-<N>.npz`` (``N`` = tokens seen). For each ``N`` the
    vectors file is used when present (cheaper to read), else the checkpoint;
    ``vectors-latest.*`` (a copy) is skipped.

    Parameters
    ----------
    run_dir : str or os.PathLike

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` is not a directory or holds no snapshot.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: no such directory")
    best: dict = {}
    for p in snapshot_files(d):  # at each N: the checkpoint, then text, then binary vectors
        n = words_seen_of(p)
        if n not in best or best[n].suffix == ".npz":  # vectors (text before binary) over the checkpoint
            best[n] = p
    if not best:
        raise FileNotFoundError(f"{d}: no snapshot (vectors-<N>.txt/.bin or ckpt-<N>.npz) in this directory")
    return [best[n] for n in sorted(best)]


def _cos(u, v) -> float:
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    return float(np.clip(u @ v / (nu * nv), -1.0, 1.0)) if nu > 0 and nv > 0 else 0.0


def drift_series(run_dir, words, *, k: int = 10, restrict_vocab: int | None = 10000, changes=None) -> dict:
    """Chosen words across all snapshots of one run: neighbours and self-similarities.

    One snapshot is held in memory at a time (plus the chosen words' vectors). No alignment:
    the snapshots of one run share their axes.

    Parameters
    ----------
    run_dir : str or os.PathLike, or list of paths
        A run directory (:func:`list_snapshots`) or snapshot files, oldest first.
    words : list of str
    k : int
        Neighbours listed per snapshot, >= 1.
    restrict_vocab : int or None
        Neighbours among each snapshot's most frequent words only (None: all).
    changes : iterable of dict, optional
        Change records of the run (``streamsgns train --changes``, :class:`streamsgns.change.ChangeLog`):
        the ``"change"`` records of the followed words are kept under ``changes``.

    Returns
    -------
    dict
        ``snapshots``: list of ``{"path", "words_seen"}`` (``words_seen`` falls back to the
        snapshot's index when unknown); ``words``: ``{word: [point, ...]}``, one point per
        snapshot: ``{"words_seen": int, "present": bool, "neighbours": list[str],
        "self_similarity_previous": float | None, "self_similarity_last": float | None}``
        (cosines with the word's vector in the previous snapshot where it is present, and in
        the last snapshot; None where it is absent from either); ``changes``: ``{word: [{"tokens",
        "score"}, ...]}`` for the followed words (empty without ``changes``).

    Raises
    ------
    FileNotFoundError, ValueError, OSError
        As :func:`list_snapshots` and :func:`streamsgns.io.open.open_snapshot`; ``ValueError`` also for an empty
        ``words`` list or ``k < 1``.

    Examples
    --------
    >>> import tempfile
    >>> from streamsgns.io.word2vec import save_word2vec_format
    >>> d = tempfile.mkdtemp()
    >>> _ = save_word2vec_format(f"{d}/vectors-000000000000100.txt", ["a", "b", "c"], [[1, 0], [1, 1], [0, 1]])
    >>> _ = save_word2vec_format(f"{d}/vectors-000000000000200.txt", ["a", "b", "c"], [[0, 1], [1, 1], [1, 0]])
    >>> [p.name for p in list_snapshots(d)]
    ['vectors-000000000000100.txt', 'vectors-000000000000200.txt']
    >>> s = drift_series(d, ["a"], k=1)
    >>> [(p["words_seen"], p["neighbours"], p["self_similarity_last"]) for p in s["words"]["a"]]
    [(100, ['b'], 0.0), (200, ['b'], 1.0)]
    """
    k = _check_int("k", k, 1)
    restrict_vocab = _check_int("restrict_vocab", restrict_vocab, 1, allow_none=True)
    words = [w for w in dict.fromkeys(words) if w]
    if not words:
        raise ValueError("no word to follow")
    paths = [Path(p) for p in run_dir] if isinstance(run_dir, (list, tuple)) else list_snapshots(run_dir)
    if not paths:
        raise FileNotFoundError("no snapshot given")
    last = open_snapshot(paths[-1])
    li = {w: i for i, w in reversed(list(enumerate(last.words)))}
    v_last = {w: last.vectors[li[w]] for w in words if w in li}
    prev: dict = {}
    out = {"snapshots": [], "words": {w: [] for w in words}, "changes": {w: [] for w in words}}
    for rec in changes or ():
        if rec.get("kind") == "change" and rec.get("word") in out["changes"]:
            out["changes"][rec["word"]].append({"tokens": int(rec["tokens"]), "score": rec.get("score")})
    for t, p in enumerate(paths):
        s = last if t == len(paths) - 1 else open_snapshot(p)
        ws = s.words_seen if s.words_seen is not None else t
        out["snapshots"].append({"path": str(p), "words_seen": ws})
        n = len(s.words) if restrict_vocab is None else min(restrict_vocab, len(s.words))
        idx = {w: i for i, w in reversed(list(enumerate(s.words)))}
        keep = sorted(set(range(n)) | {idx[w] for w in words if w in idx})
        kv = KeyedVectors([s.words[i] for i in keep], s.vectors[keep])
        for w in words:
            if w not in idx:
                out["words"][w].append({"words_seen": ws, "present": False, "neighbours": [],
                                        "self_similarity_previous": None, "self_similarity_last": None})
                prev.pop(w, None)
                continue
            v = s.vectors[idx[w]]
            out["words"][w].append({
                "words_seen": ws, "present": True, "neighbours": [x for x, _ in kv.most_similar(w, topn=k)],
                "self_similarity_previous": _cos(prev[w], v) if w in prev else None,
                "self_similarity_last": _cos(v, v_last[w]) if w in v_last else None})
            prev[w] = np.array(v)
    return out


def _tokens(n: float) -> str:
    """``1234567`` → ``"1.23M"`` (tokens)."""
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def plot_drift(series: dict, path, *, show: int = 5, annotate: int = 3, title: str | None = None):
    """One panel per word: self-similarity over tokens seen, with neighbour lists at a few points.

    Each word gets a curve panel (cosine with the word's vector in the previous snapshot, and
    in the last snapshot, against the tokens seen) above a strip that lists its top ``show``
    neighbours at ``annotate`` snapshots (first, last and evenly spaced between; marked by
    dotted lines in the panel). Change events of the run (``series["changes"]``) are red dashed lines.

    Parameters
    ----------
    series : dict
        Output of :func:`drift_series`.
    path : str or os.PathLike
        Output PNG.
    show : int
        Neighbours listed at each annotated snapshot.
    annotate : int
        Snapshots annotated per word, >= 1.
    title : str, optional

    Returns
    -------
    The ``path`` given.

    Raises
    ------
    ValueError
        If ``series`` follows no word or ``show``/``annotate`` < 1.
    OSError
        If the PNG cannot be written.
    """
    show, annotate = _check_int("show", show, 1), _check_int("annotate", annotate, 1)
    words = list(series.get("words", {}))
    if not words:
        raise ValueError("the series follows no word")
    n = len(series["snapshots"])
    fig = _figure(12, 4.3 * len(words) + (0.5 if title else 0.1))
    subs = np.atleast_1d(fig.subfigures(len(words), 1, hspace=0.0))
    xs_all = [s["words_seen"] for s in series["snapshots"]]
    span = (max(xs_all) - min(xs_all)) or 1
    xlim = (min(xs_all) - 0.04 * span, max(xs_all) + 0.04 * span)
    for w, sf in zip(words, subs):
        pts = series["words"][w]
        ax, strip = sf.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.3, 1.5], "hspace": 0.05})
        sf.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.1)
        for key, style, label in (("self_similarity_previous", "o-", "cos with previous snapshot"),
                                  ("self_similarity_last", "s--", "cos with last snapshot")):
            xy = [(p["words_seen"], p[key]) for p in pts if p[key] is not None]
            if xy:
                ax.plot(*zip(*xy), style, ms=4, lw=1.5, label=label)
        for j, ev in enumerate(series.get("changes", {}).get(w, [])):
            ax.axvline(ev["tokens"], color="tab:red", ls="--", lw=1.5, label="change detected" if j == 0 else None)
        present = [i for i, p in enumerate(pts) if p["present"]]
        absent = n - len(present)
        ax.set_title(f"'{w}'" + (f"  (absent from {absent} of {n} snapshots)" if absent else ""),
                     loc="left", fontsize=12, fontweight="bold")
        vals = [p[k] for p in pts for k in ("self_similarity_previous", "self_similarity_last") if p[k] is not None]
        ax.set_ylim(min([0.0] + vals) - 0.05, 1.05)
        ax.set_xlim(*xlim)
        ax.set_ylabel("self-similarity (cos)")
        ax.grid(alpha=0.3)
        if vals or series.get("changes", {}).get(w):
            ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
        strip.set_yticks([])
        for side in ("top", "right", "left"):
            strip.spines[side].set_visible(False)
        chosen = sorted({present[int(round(j))] for j in np.linspace(0, len(present) - 1, min(annotate, len(present)))}) \
            if present else []
        for i in chosen:
            x = pts[i]["words_seen"]
            ax.axvline(x, color="grey", ls=":", lw=1)
            ha = "left" if x == min(xs_all) and len(chosen) > 1 else "right" if x == max(xs_all) and len(chosen) > 1 \
                else "center"
            text = f"@ {_tokens(x)} tokens:\n" + "\n".join(pts[i]["neighbours"][:show])
            strip.text(x, 0.97, text, ha=ha, ma="left", va="top", fontsize=9, family="monospace",
                       transform=strip.get_xaxis_transform())
        if not present:
            strip.text(0.5, 0.5, "absent from every snapshot", ha="center", va="center", transform=strip.transAxes)
        strip.xaxis.set_major_formatter(_token_formatter())
        strip.set_xlabel("tokens seen")
    if title:
        fig.suptitle(title)
    fig.savefig(os.fspath(path), format="png", dpi=100)
    return path


def _token_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _: _tokens(x))


def plot_pair(report, path, *, show: int = 20, neighbours: int = 4):
    """Bar chart of a two-snapshot report: change score and self-similarity per word.

    The ``show`` most changed words, one row each (most changed at the top): the change score
    (``1 − Jaccard``), the self-similarity, and the old → new neighbours as text.

    Parameters
    ----------
    report : streamsgns.drift.DriftReport
    path : str or os.PathLike
        Output PNG.
    show : int
        Rows drawn, >= 1.
    neighbours : int
        Neighbours written on each side of the arrow.

    Returns
    -------
    The ``path`` given.

    Raises
    ------
    ValueError
        If ``show`` or ``neighbours`` < 1.
    OSError
        If the PNG cannot be written.
    """
    show, neighbours = _check_int("show", show, 1), _check_int("neighbours", neighbours, 1)
    rows = report.rows[:show]
    fig = _figure(14, 1.2 + 0.38 * max(len(rows), 3))
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 2.0], wspace=0.05)
    a1 = fig.add_subplot(gs[0])
    a2, a3 = fig.add_subplot(gs[1], sharey=a1), fig.add_subplot(gs[2], sharey=a1)
    y = np.arange(len(rows))
    a1.barh(y, [r.change for r in rows], color="indianred")
    a1.set_yticks(y, [r.word for r in rows], fontsize=10)
    a1.set_xlim(0, 1)
    a1.set_xlabel(f"change = 1 − Jaccard(top-{report.k})")
    a1.axvline(report.median_change, color="k", ls=":", lw=1, label=f"median {report.median_change:.2f}")
    a2.barh(y, [r.self_similarity for r in rows], color="steelblue")
    a2.tick_params(labelleft=False)
    a2.set_xlim(min([0.0] + [r.self_similarity for r in rows]) - 0.05, 1)
    a2.set_xlabel("self-similarity (cos)" + (", Procrustes-aligned" if report.aligned else ""))
    a2.axvline(report.median_self_similarity, color="k", ls=":", lw=1,
               label=f"median {report.median_self_similarity:.2f}")
    a1.invert_yaxis()  # most changed at the top (the three panels share the y axis)
    for ax in (a1, a2):
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    a3.axis("off")
    for i, r in enumerate(rows):
        a3.text(0.01, i, f"{', '.join(r.old_neighbours[:neighbours])}  →  {', '.join(r.new_neighbours[:neighbours])}",
                va="center", fontsize=9, transform=a3.get_yaxis_transform())
    a3.set_title("old neighbours → new neighbours", fontsize=10, loc="left")
    o, nw = report.old, report.new
    fig.suptitle(f"{Path(str(o.get('path'))).name or 'old'} → {Path(str(nw.get('path'))).name or 'new'}: "
                 f"{report.examined} words scored", fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.99, top=0.9 if len(rows) > 6 else 0.82, bottom=0.12 if len(rows) > 6 else 0.25)
    fig.savefig(os.fspath(path), format="png", dpi=100)
    return path
