"""Semantic change between snapshots: which words' neighbourhoods moved, and how far.

Two measures per word ``w`` present in both snapshots (``old`` and ``new``):

* **change score** ``1 − J(N_old(w), N_new(w))``, with ``J`` the Jaccard index
  ``|A ∩ B| / |A ∪ B|`` of the word's top-``k`` cosine neighbour sets, both searched in the
  same (shared, most frequent) vocabulary. 0: the same neighbours; 1: none in common. Cosines
  inside one space do not change under a rotation, so this score needs no alignment (the
  "local neighbourhood" view of Hamilton, Leskovec & Jurafsky 2016, *Cultural shift or
  linguistic drift?*, EMNLP, with sets in place of their second-order vectors).
* **self-similarity** ``cos(v_old(w) R, v_new(w))``. Inside one run the model is continuous
  (one set of axes that keeps learning), so ``R = I``. Two *different* runs have arbitrary
  axes: ``R`` is then the orthogonal Procrustes solution (Hamilton, Leskovec & Jurafsky 2016,
  *Diachronic word embeddings reveal statistical laws of semantic change*, ACL, eq. 4)
  ``R = argmin_{RᵀR = I} ‖W_old R − W_new‖_F = U Vᵀ`` where ``U Σ Vᵀ = W_oldᵀ W_new``, fitted on
  the unit rows of the shared vocabulary (:func:`procrustes`).

Every neighbour query goes through :class:`streamsgns.vectors.KeyedVectors`. A run directory's
series and its plots are in :mod:`streamsgns.drift_series`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .io.open import Snapshot, open_snapshot
from .vectors import KeyedVectors

__all__ = ["Snapshot", "WordDrift", "DriftReport", "procrustes", "neighbour_drift", "compare_snapshots",
           "format_table"]

def procrustes(old, new) -> np.ndarray:
    """Orthogonal ``R`` minimising ``‖old R − new‖_F`` (Hamilton et al. 2016, eq. 4).

    Solved by the SVD of ``oldᵀ new`` (:func:`scipy.linalg.orthogonal_procrustes`).

    Parameters
    ----------
    old, new : array_like, shape (n, d), float
        Rows are the same words in the two spaces (usually unit rows).

    Returns
    -------
    ndarray, shape (d, d), float64
        ``RᵀR = I``; ``old @ R`` lives in the axes of ``new``.

    Raises
    ------
    ValueError
        If the shapes differ, are not 2-D, or hold NaN/inf.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 3))
    >>> Q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    >>> bool(np.allclose(procrustes(X, X @ Q), Q))
    True
    """
    from scipy.linalg import orthogonal_procrustes

    A, B = np.asarray(old, dtype=np.float64), np.asarray(new, dtype=np.float64)
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(f"Procrustes needs two matrices of one shape (n, d), got {A.shape} and {B.shape}")
    return orthogonal_procrustes(A, B)[0]


@dataclass
class WordDrift:
    """One word's change between two snapshots.

    Attributes
    ----------
    word : str
    change : float
        ``1 − Jaccard`` of the top-k neighbour sets, in [0, 1].
    self_similarity : float
        ``cos(v_old R, v_new)`` in [-1, 1] (``R = I`` without alignment).
    old_neighbours, new_neighbours : list of str
        Top-k neighbours, best first, in the shared vocabulary.
    frequency_rank : int
        0-based rank of the word in the new snapshot's shared vocabulary (0 = most frequent).
    """

    word: str
    change: float
    self_similarity: float
    old_neighbours: list
    new_neighbours: list
    frequency_rank: int


@dataclass
class DriftReport:
    """Words ranked by change (largest first), and what they were compared in.

    Attributes
    ----------
    rows : list of WordDrift
        Most changed first (see ``sort`` in :func:`neighbour_drift`).
    k : int
    aligned : bool
    shared : int
        Words in both snapshots (after ``min_count``).
    examined : int
        Words scored.
    neighbour_vocab : int
        Words the neighbours were searched among.
    median_change, median_self_similarity : float
        Over all words examined (the background against which the listed rows stand out).
    old, new : dict
        ``path``, ``words_seen`` and ``words`` of each snapshot.
    """

    rows: list
    k: int
    aligned: bool
    shared: int
    examined: int
    neighbour_vocab: int
    median_change: float
    median_self_similarity: float
    old: dict = field(default_factory=dict)
    new: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable form (floats rounded to 6 digits)."""
        d = asdict(self)
        for r in d["rows"]:
            r["change"], r["self_similarity"] = round(r["change"], 6), round(r["self_similarity"], 6)
        d["median_change"], d["median_self_similarity"] = (round(d["median_change"], 6),
                                                           round(d["median_self_similarity"], 6))
        return d


def _as_snapshot(x) -> Snapshot:
    if isinstance(x, Snapshot):
        return x
    if hasattr(x, "vectors") and hasattr(x, "counts") and hasattr(x, "index_to_key"):
        return Snapshot.from_model(x)
    words, V = x
    return Snapshot(list(words), np.asarray(V, dtype=np.float32))


def _check_int(name, v, lo, allow_none=False):
    if allow_none and v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def neighbour_drift(old, new, *, top: int = 50, k: int = 10, candidates: int = 1000,
                    restrict_vocab: int | None = 10000, min_count: int = 0, align: bool = False,
                    words=None, sort: str = "change") -> DriftReport:
    """Rank the words whose neighbourhoods changed most from ``old`` to ``new``.

    Parameters
    ----------
    old, new : Snapshot, streamsgns.SGNS, or (list of str, array_like of shape (n, d))
        A pair gives its words by decreasing frequency (as the learner writes them); a live
        model is read like a checkpoint (its alive words by decreasing count).
    top : int
        Rows listed, >= 1.
    k : int
        Neighbours per word, >= 1.
    candidates : int
        The most frequent shared words that are scored (by rank in ``new``), >= 1.
    restrict_vocab : int or None
        Neighbours (and the Procrustes fit) use only this many most frequent shared words
        (None: all); rare words' vectors are noise. The scored words are always included.
    min_count : int
        With counts (checkpoints), only words counted at least this often in both snapshots.
    align : bool
        Rotate ``old`` onto ``new`` by orthogonal Procrustes before the self-similarity
        (snapshots of different runs). Neighbour sets are unaffected (a rotation keeps cosines).
    words : iterable of str, optional
        Score these words (those shared) instead of the ``candidates`` most frequent.
    sort : {"change", "self"}
        Rank by decreasing change score, ties by increasing self-similarity (default), or by
        increasing self-similarity. On a small corpus many top-10 sets share nothing from one
        snapshot to the next (the score saturates at 1) and the tie-break does the ranking.

    Returns
    -------
    DriftReport

    Raises
    ------
    ValueError
        If a parameter is out of range, the dimensions differ (without ``align`` the
        self-similarity needs one space; Procrustes needs one ``d``), the vectors hold NaN/inf,
        the snapshots share no word, or none of ``words`` is shared.

    Examples
    --------
    >>> words = ["a", "b", "c", "d"]
    >>> V = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> r = neighbour_drift((words, V), (words, V), k=1)
    >>> [(x.word, x.change, round(x.self_similarity, 6)) for x in r.rows][:2]
    [('a', 0.0, 1.0), ('b', 0.0, 1.0)]
    >>> swapped = V[[2, 1, 0, 3]]                      # "a" and "c" exchange vectors
    >>> r = neighbour_drift((words, V), (words, swapped), k=1)
    >>> [(x.word, x.old_neighbours, x.new_neighbours) for x in r.rows[:2]]
    [('a', ['b'], ['d']), ('c', ['d'], ['b'])]
    """
    top, k, candidates = _check_int("top", top, 1), _check_int("k", k, 1), _check_int("candidates", candidates, 1)
    restrict_vocab = _check_int("restrict_vocab", restrict_vocab, 1, allow_none=True)
    min_count = _check_int("min_count", min_count, 0)
    if sort not in ("change", "self"):
        raise ValueError(f"sort must be 'change' or 'self', got {sort!r}")
    old, new = _as_snapshot(old), _as_snapshot(new)
    if old.vectors.shape[1] != new.vectors.shape[1]:
        raise ValueError(f"the snapshots have different dimensions ({old.vectors.shape[1]} and "
                         f"{new.vectors.shape[1]}): they cannot be compared")
    io = {w: i for i, w in reversed(list(enumerate(old.words)))}
    shared = []  # (word, row in old, row in new), by rank in new
    seen = set()
    for j, w in enumerate(new.words):
        i = io.get(w)
        if i is None or w in seen:
            continue
        if min_count and ((old.counts is not None and old.counts[i] < min_count)
                          or (new.counts is not None and new.counts[j] < min_count)):
            continue
        seen.add(w)
        shared.append((w, i, j))
    if not shared:
        raise ValueError("the snapshots share no word (with the count required)")
    if words is None:
        scored = list(range(min(candidates, len(shared))))
    else:
        pos = {w: r for r, (w, _, _) in enumerate(shared)}
        scored = sorted({pos[w] for w in words if w in pos})
        if not scored:
            raise ValueError("none of the words asked for is in both snapshots")
    space = list(range(len(shared) if restrict_vocab is None else min(restrict_vocab, len(shared))))
    space = sorted(set(space) | set(scored))
    keys = [shared[r][0] for r in space]
    A = old.vectors[[shared[r][1] for r in space]]
    B = new.vectors[[shared[r][2] for r in space]]
    kv_old, kv_new = KeyedVectors(keys, A), KeyedVectors(keys, B)
    Ua, Ub = kv_old.unit, kv_new.unit
    if align:
        Ua = (Ua.astype(np.float64) @ procrustes(Ua, Ub)).astype(np.float32)
    rows = []
    for r in scored:
        w = shared[r][0]
        na = [x for x, _ in kv_old.most_similar(w, topn=k)]
        nb = [x for x, _ in kv_new.most_similar(w, topn=k)]
        union = set(na) | set(nb)
        jac = len(set(na) & set(nb)) / len(union) if union else 1.0
        i = kv_old.key_to_index[w]
        self_sim = float(np.clip(Ua[i] @ Ub[i], -1.0, 1.0))
        rows.append(WordDrift(w, 1.0 - jac, self_sim, na, nb, r))
    changes = [x.change for x in rows]
    sims = [x.self_similarity for x in rows]
    if sort == "change":
        rows.sort(key=lambda x: (-x.change, x.self_similarity, x.frequency_rank))
    else:
        rows.sort(key=lambda x: (x.self_similarity, -x.change, x.frequency_rank))
    info = lambda s: {"path": s.path, "words_seen": s.words_seen, "words": len(s.words)}  # noqa: E731
    return DriftReport(rows[:top], k, bool(align), len(shared), len(rows), len(keys),
                       float(np.median(changes)) if rows else math.nan,
                       float(np.median(sims)) if rows else math.nan, info(old), info(new))


def compare_snapshots(path_a, path_b, **kw) -> DriftReport:
    """:func:`neighbour_drift` of two snapshots (word2vec file, checkpoint or snapshot directory), old first.

    Parameters
    ----------
    path_a, path_b : str or os.PathLike
        Read by :func:`streamsgns.io.open.open_snapshot` (a directory: its newest valid snapshot).
    **kw
        Passed to :func:`neighbour_drift`.

    Raises
    ------
    FileNotFoundError, ValueError, OSError
        As :func:`streamsgns.io.open.open_snapshot` and :func:`neighbour_drift`.
    """
    return neighbour_drift(open_snapshot(path_a), open_snapshot(path_b), **kw)


def format_table(report: DriftReport, show: int = 5) -> str:
    """A readable table: word, change score, self-similarity, old neighbours → new neighbours.

    Parameters
    ----------
    report : DriftReport
    show : int
        Neighbours shown on each side.

    Returns
    -------
    str
        Ends with a newline.
    """
    o, n = report.old, report.new
    head = [f"# {o.get('path')} ({o.get('words_seen')} tokens) -> {n.get('path')} ({n.get('words_seen')} tokens)",
            f"# {report.examined} words scored of {report.shared} shared; top-{report.k} neighbours among "
            f"{report.neighbour_vocab} words; {'Procrustes-aligned' if report.aligned else 'no alignment'}; "
            f"median change {report.median_change:.3f}, median self-similarity {report.median_self_similarity:.3f}"]
    width = max([4] + [len(r.word) for r in report.rows])
    head.append(f"{'word':<{width}}  change  self-sim  old neighbours -> new neighbours")
    for r in report.rows:
        head.append(f"{r.word:<{width}}  {r.change:6.3f}  {r.self_similarity:8.3f}  "
                    f"{', '.join(r.old_neighbours[:show])} -> {', '.join(r.new_neighbours[:show])}")
    return "\n".join(head) + "\n"
