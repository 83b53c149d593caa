"""Adapters from a learner's running statistics to the PMI tools (``SGNS.pmi_report`` calls them).

They read the model through public attributes only (``cooc``, ``counts``, ``n_ids``, ``W``, ``C``,
``index_to_key``, ``negative``, ``ns_exponent``, ``words_seen``, ``flush()``) and never import the learner.

With forgetting (``SGNS(half_life=H)``, :mod:`streamsgns.forget`) every count read here — ``#(w,c)``,
``#(w)``, ``#(c)``, ``|D|`` and the vocabulary's counts behind ``P_n`` — is the decayed one, each occurrence
weighted ``2**(-age/H)`` like the evidence the model still holds: the report compares like with like.
PMI is a ratio of counts, so one common factor cancels; what changes is that old text weighs less.
"""

from __future__ import annotations

import numpy as np

from .matrices import ppmi_matrix
from .report import pmi_pairs, pmi_report
from .svd import ppmi_svd

__all__ = ["TARGETS", "learner_pmi_inputs", "learner_pmi_report", "learner_ppmi_svd"]

TARGETS = ("noise", "smoothed", "pmi")


def _top_tracked(model, top):
    """The ``top`` most frequent tracked, alive ids (by decreasing count, ties by id)."""
    if getattr(model, "cooc", None) is None:
        raise ValueError("the model keeps no co-occurrence statistics (built with track_cooc=False)")
    if int(top) != top or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")
    model.flush()
    ids, _ = model.cooc.tracked_ids()
    counts = model.counts
    ids = ids[ids < counts.shape[0]]
    ids = ids[counts[ids] > 0]
    order = np.argsort(-counts[ids], kind="stable")
    return ids[order[: int(top)]]


def learner_pmi_inputs(model, top=1000, target="noise"):
    """Arguments of :func:`pmi_report` / :func:`pmi_pairs` from a learner's running statistics.

    Which PMI SGNS targets depends on where its negatives come from. For a
    trained pair (w, c) (``w`` the ``W`` row, ``c`` the ``C`` row) the kernel
    draws ``k`` negatives for the same input ``w`` from the noise distribution
    ``P_n``, so the pair type (w, c) receives ``a = #(w,c)`` positive and, in
    expectation, ``b = k·#(w)·P_n(c)`` negative updates; the optimum of the pair's
    objective (``docs/theory.md``, eq. 3 and 5) with ``P(c)`` replaced by ``P_n(c)`` is
    ``x = log(#(w,c) / (#(w)·P_n(c))) − log k`` (Levy & Goldberg 2014, sec. 3.1
    for the unigram case; Levy, Goldberg & Dagan 2015, sec. 3.2: with
    ``P_n ∝ #(c)^α`` it is the PMI with context-distribution smoothing).

    Parameters
    ----------
    model : streamsgns.SGNS
        Built with ``track_cooc=True``.
    top : int
        The ``top`` most frequent tracked words (by the vocabulary's exact
        counts) are compared, as words and as contexts.
    target : {"noise", "smoothed", "pmi"}
        ``P(c)`` in the target:

        * ``"noise"`` (default, what this kernel optimises):
          ``P_n(c) = count(c)^α / Σ_c' count(c')^α`` over all admitted words,
          ``count`` the vocabulary's token counts (before subsampling) and
          ``α = model.ns_exponent`` — the distribution the negatives are
          drawn from (the alias table follows these counts, see
          :mod:`streamsgns.noise`).
        * ``"smoothed"``: ``#(c)^α / Σ_c' #(c')^α`` with ``#(c)`` the context
          marginal of the trained pairs (LGD 2015's smoothing applied to the
          pair counts). It differs from ``"noise"`` when subsampling is on
          (``#(c)`` then follows the subsampled counts, ``P_n`` does not)
          and by the sentence-boundary effects on ``#(c)``.
        * ``"pmi"``: the plain PMI of Levy & Goldberg 2014,
          ``#(c)/|D|`` (what SGNS would target with unsmoothed unigram
          noise over the trained contexts).

    Returns
    -------
    dict
        ``ids`` (m,) int64 vocabulary ids; ``words`` (list of m str);
        ``W``, ``C`` (m, d) float32 rows; ``counts`` scipy CSR (m, m) float64
        exact ``#(w,c)``; ``w_marg`` (m,) ``#(w)``; ``c_marg`` (m,);
        ``total`` ``|D|``; ``k``; ``cds`` and ``cds_total`` (for
        :func:`pmi_matrix`'s smoothing; with ``"noise"``, ``c_marg`` holds
        ``P_n(c)`` itself with ``cds=1, cds_total=1``); ``target``.

    Raises
    ------
    ValueError
        Statistics off, no trained pair yet, ``negative == 0`` (no shift
        ``log k`` is defined), an unknown ``target``, ``top < 1``.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    ids = _top_tracked(model, top)
    cs = model.cooc
    total = cs.total()
    if total <= 0 or ids.shape[0] == 0:
        raise ValueError("no trained pair among tracked words yet")
    if model.negative < 1:
        raise ValueError("negative = 0: SGNS has no negatives, PMI − log k is undefined")
    counts = model.counts
    alive = counts > 0
    out = {
        "ids": ids,
        "words": [model.index_to_key[i] for i in ids],
        "W": np.asarray(model.vectors("W")[ids]),  # the exported vectors (averaged when average_eta is set)
        "C": np.asarray(model.vectors("C")[ids]),
        "counts": cs.matrix(ids),
        "w_marg": cs.cwm[ids].astype(np.float64),
        "total": float(total),
        "k": float(model.negative),
        "target": target,
    }
    alpha = float(model.ns_exponent)
    if target == "noise":
        pw = counts[alive].astype(np.float64) ** alpha
        out["c_marg"] = counts[ids].astype(np.float64) ** alpha / pw.sum()
        out["cds"], out["cds_total"] = 1.0, 1.0
    elif target == "smoothed":
        cm = cs.ccm[: counts.shape[0]].astype(np.float64)
        out["c_marg"] = cm[ids]
        if alpha > 0:
            out["cds"], out["cds_total"] = alpha, float(np.sum(cm[cm > 0] ** alpha))
        else:
            out["c_marg"] = (cm[ids] > 0).astype(np.float64)
            out["cds"], out["cds_total"] = 1.0, float(np.count_nonzero(cm))
    else:
        out["c_marg"] = cs.ccm[ids].astype(np.float64)
        out["cds"], out["cds_total"] = None, None
    return out


def _report_args(inp):
    return dict(W=inp["W"], C=inp["C"], counts=inp["counts"], w_marg=inp["w_marg"], c_marg=inp["c_marg"],
                total=inp["total"], k=inp["k"], cds=inp["cds"], cds_total=inp["cds_total"])


def learner_pmi_report(model, top=1000, min_count=1, target="noise", return_pairs=False, **kw) -> dict:
    """:func:`pmi_report` on a learner's running statistics (``SGNS.pmi_report``).

    Compares ``x = W_w · C_c`` with ``t = PMI(w,c) − log k`` over the observed
    pairs among the ``top`` most frequent tracked words (exact counts), the
    PMI being the one the kernel optimises (``target``, see
    :func:`learner_pmi_inputs`).

    Parameters
    ----------
    model : streamsgns.SGNS
    top : int
        Words compared (the most frequent tracked ones).
    min_count : float
        Only pairs with ``#(w,c) >= min_count`` enter the observed-pair measures.
    target : {"noise", "smoothed", "pmi"}
        See :func:`learner_pmi_inputs`.
    return_pairs : bool
        Also return ``x``, ``t``, ``weight`` (arrays of shape (p,), float64)
        under the key ``"pairs"`` (for plots).
    **kw
        Passed to :func:`pmi_report` (``n_unobserved``, ``seed``).

    Returns
    -------
    dict
        The keys of :func:`pmi_report`, plus ``top`` (words compared),
        ``total`` (``|D|``), ``k``, ``target``, ``alpha`` (the noise exponent),
        ``min_count``, ``words_seen``.

    Raises
    ------
    ValueError
        As :func:`learner_pmi_inputs` and :func:`pmi_report`.
    """
    inp = learner_pmi_inputs(model, top=top, target=target)
    args = _report_args(inp)
    rep = pmi_report(min_count=min_count, **args, **kw)
    rep.update({"top": int(inp["ids"].shape[0]), "total": int(inp["total"]), "k": int(model.negative),
                "target": target, "alpha": float(model.ns_exponent), "min_count": float(min_count),
                "words_seen": int(model.words_seen)})
    if return_pairs:
        x, t, w = pmi_pairs(min_count=min_count, **args)
        rep["pairs"] = {"x": x, "t": t, "weight": w}
    return rep


def learner_ppmi_svd(model, dim, top=None, *, cds=0.75, shift=0.0, eig=0.5, seed=0):
    """PPMI-SVD word vectors from a learner's running pair counts (the explicit factorisation).

    ``W = U_d · Σ_d^eig`` of the truncated SVD of ``PPMI = max(PMI_α − shift, 0)``
    over the ``top`` most frequent tracked words (Levy & Goldberg 2014,
    sec. 4, and ``docs/theory.md``, eq. 11, for the symmetric ``eig = 0.5``; Levy,
    Goldberg & Dagan 2015 for the smoothing ``cds = α = 0.75``). ``#(w)``,
    ``#(c)`` and ``|D|`` are the stream's exact marginals; the smoothing sum
    runs over every context seen.

    Parameters
    ----------
    model : streamsgns.SGNS
        With ``track_cooc=True``.
    dim : int
        Dimension (clipped to the number of words).
    top : int, optional
        Words embedded; default all tracked words.
    cds : float or None
        Context-distribution smoothing exponent (None: plain PMI).
    shift : float
        Subtracted before clipping at 0 (``np.log(k)``: shifted PPMI).
    eig : float
        Singular-value exponent.
    seed : int
        Start vector of the sparse SVD.

    Returns
    -------
    words : list of str
        By decreasing count.
    W : ndarray, shape (m, min(dim, m)), float32

    Raises
    ------
    ValueError
        Statistics off, no pair counted, bad ``dim``/``cds``.
    """
    ids = _top_tracked(model, top if top is not None else max(1, model.cooc.top_n))
    cs = model.cooc
    total = cs.total()
    if total <= 0 or ids.shape[0] == 0:
        raise ValueError("no trained pair among tracked words yet")
    cm_all = cs.ccm[: model.n_ids].astype(np.float64)
    cds_total = None
    if cds is not None:
        cds_total = float(np.sum(cm_all[cm_all > 0] ** float(cds)))
    # words whose marginals are 0 (admitted but never trained yet) cannot have a PMI: drop them
    ok = (cs.cwm[ids] > 0) & (cs.ccm[ids] > 0)
    ids = ids[ok]
    if ids.shape[0] == 0:
        raise ValueError("no tracked word has been trained yet")
    P = ppmi_matrix(cs.matrix(ids), cs.cwm[ids].astype(np.float64), cm_all[ids], float(total), cds=cds,
                    shift=shift, cds_total=cds_total)
    W, _ = ppmi_svd(P, dim, eig=eig, seed=seed)
    return [model.index_to_key[i] for i in ids], W
