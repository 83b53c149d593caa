"""Training threads (``workers > 1``, Hogwild) and evictions: no row changes owner under a running batch.

With threads, the calling thread encodes the next block while the previous ones train. An
eviction frees ids and a later admission re-initialises their rows for another word; if a batch
that holds those ids were still running, it would train the new word's rows with the old word's
contexts. The driver (:mod:`streamsgns.trainer`) therefore waits for every batch in flight before
an eviction. These tests watch each batch from its dispatch to its end: every id it trains must
keep its word (token hash) and stay admitted the whole time.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from helpers_core import assert_finite, assert_vocab_consistent, lee_lines
from streamsgns import SGNS
from streamsgns import kernels as K
from streamsgns import trainer as T


@pytest.fixture
def watched(monkeypatch):
    """Record, for every batch, the owner (hash) of each id at dispatch, and check it at the batch's end."""
    owners: dict = {}
    violations: list = []
    batches = [0]
    lock = threading.Lock()
    dispatch, train_batch = T.Trainer._dispatch, K.train_batch

    def watched_dispatch(self, batch):
        ns = int(batch.meta[0]["n_sent"])
        ids = batch.ids[: batch.sent_out[ns]]
        ids = np.unique(ids[ids >= 0])
        owners[id(batch)] = (ids, self.vocab.hashes[ids].copy())
        return dispatch(self, batch)

    def watched_train_batch(batch, s0, s1, cfg, total, pa, counts, na, k, ca, hashes, da):
        ids, h0 = owners[id(batch)]
        time.sleep(0.002)  # widen the window in which the encoder runs beside this batch
        out = train_batch(batch, s0, s1, cfg, total, pa, counts, na, k, ca, hashes, da)
        with lock:
            batches[0] += 1
            moved = (hashes[ids] != h0) | (counts[ids] == 0)
            if moved.any():
                violations.append(int(moved.sum()))
        return out

    monkeypatch.setattr(T.Trainer, "_dispatch", watched_dispatch)
    monkeypatch.setattr(K, "train_batch", watched_train_batch)
    return violations, batches


def test_no_row_changes_owner_while_a_batch_trains_it(watched):
    violations, batches = watched
    m = SGNS(vector_size=16, min_count=1, max_vocab=400, workers=2, seed=3, batch_bytes=4096,
             sketch_width=1 << 14, cooc_top_n=50)
    lines = list(lee_lines())
    m.learn_many(lines + lines[::-1])
    m.close()
    assert m.progress()["evicted"] > 2000  # eviction all the time
    assert batches[0] > 100
    assert violations == [], f"{len(violations)} batches trained rows that changed owner under them"
    assert m._trainer.drains > 10  # batches were in flight when evictions were due: the driver waited
    assert_vocab_consistent(m)
    assert_finite(m)


def _fit(m) -> float:
    """Spearman between W·Cᵀ and PMI − log k over the 150 most frequent tracked words."""
    return float(m.pmi_report(top=150)["spearman"])


def test_two_workers_with_constant_eviction_learn_as_well_as_one():
    lines = list(lee_lines())
    scores = {}
    for workers in (1, 2):
        m = SGNS(vector_size=32, min_count=2, max_vocab=600, workers=workers, seed=1, batch_bytes=8192,
                 cooc_top_n=300)
        for _ in range(4):
            m.learn_many(lines)
        m.close()
        assert m.progress()["evicted"] > 0
        assert_finite(m)
        scores[workers] = _fit(m)
    assert scores[1] > 0.2
    assert scores[2] >= scores[1] - 0.05, scores


def test_two_workers_fold_the_averages_once_per_due_count():
    """The exported averages fold once per ``average_every`` tokens whatever the number of threads:
    with one worker at the first line that reaches the fold's token count; with two once the batch
    that reaches it is handed to the threads (without waiting for them or cutting the batch), so each
    fold runs within one batch after its count and the next is due one interval after this one was
    (not after the batch's end). Folding only when a call ends instead (one fold per call of
    ``learn_many``, however many were due) left late words with few folds and cost the per-word rule
    its analogy gain with ``workers=2``."""
    from streamsgns.trainer import BATCH_BYTES

    lines = list(lee_lines()) * 4
    every = 30_000
    folds = {}
    for workers in (1, 2):
        m = SGNS(vector_size=16, min_count=2, workers=workers, seed=1, average_every=every, track_cooc=False)
        seen = []
        fold = m.average.fold

        def watched_fold(*args, seen=seen, fold=fold, **kw):
            seen.append(kw.get("words_seen", args[-1]))  # the tokens seen when the fold ran
            fold(*args, **kw)

        m.average.fold = watched_fold
        m.learn_many(lines)  # one call
        m.close()
        folds[workers] = seen
        assert_finite(m)
    assert len(folds[1]) >= 6
    assert len(folds[2]) == len(folds[1])
    for k, w in enumerate(folds[2], start=1):  # due at k·every, run at the end of the batch that reached it
        assert k * every <= w < k * every + BATCH_BYTES
