"""Plot of ``W·Cᵀ`` against ``PMI − log k`` (matplotlib, imported lazily)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_report"]


def plot_report(x, t, path, *, title=None):
    """Plot ``W·Cᵀ`` against ``PMI − log k`` and the residual histogram; save a PNG.

    Left panel: hexbin (log colour scale) of ``x`` (y axis) against ``t`` (x axis) with the
    line ``y = x``, or a scatter plot when there are fewer than 5000 points.  Right panel:
    histogram of the residuals ``x − t``.  Non-finite pairs are dropped.  Matplotlib is
    imported lazily and drawn on an Agg canvas without touching the global backend.

    Parameters
    ----------
    x, t : array_like, shape (p,)
        Model scores and targets, e.g. from :func:`pmi_pairs`.
    path : str or os.PathLike
        Output file (PNG).
    title : str or None
        Figure title.

    Returns
    -------
    The ``path`` given.

    Raises
    ------
    ValueError
        ``x`` and ``t`` are not 1-D arrays of the same length.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if x.ndim != 1 or x.shape != t.shape:
        raise ValueError(f"x and t must be 1-D of equal length, got {x.shape} and {t.shape}")
    ok = np.isfinite(x) & np.isfinite(t)
    x, t = x[ok], t[ok]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.8))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    if x.shape[0] == 0:
        for ax in (ax1, ax2):
            ax.text(0.5, 0.5, "no pairs", ha="center", va="center", transform=ax.transAxes)
    else:
        if x.shape[0] < 5000:
            ax1.scatter(t, x, s=6, alpha=0.5, linewidths=0)
        else:
            hb = ax1.hexbin(t, x, gridsize=80, bins="log", mincnt=1, cmap="viridis")
            fig.colorbar(hb, ax=ax1, label="pairs")
        lo = float(min(x.min(), t.min()))
        hi = float(max(x.max(), t.max()))
        if hi == lo:
            lo, hi = lo - 1.0, hi + 1.0
        ax1.plot([lo, hi], [lo, hi], color="crimson", lw=1, label="y = x")
        ax1.legend(loc="upper left")
        r = x - t
        ax2.hist(r, bins=80, color="steelblue")
        ax2.axvline(0.0, color="crimson", lw=1)
        ax2.set_title(f"mean {r.mean():+.3f}, sd {r.std():.3f}, n = {r.shape[0]}", fontsize=9)
    ax1.set_xlabel("PMI − log k  (t)")
    ax1.set_ylabel("W·Cᵀ  (x)")
    ax2.set_xlabel("residual x − t (nats)")
    ax2.set_ylabel("pairs")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png", dpi=100)
    return path
