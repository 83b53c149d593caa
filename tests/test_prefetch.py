"""``streamsgns.prefetch.prefetch_row``: a cache hint that compiles for every table a kernel prefetches and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from streamsgns.prefetch import prefetch_row


@njit(cache=False)
def _prefetch_every_row_then_sum(a, rows):
    for r in rows:
        prefetch_row(a, r)
    return a.sum()


@pytest.mark.parametrize("shape, dtype", [((37,), np.int64), ((37, 16), np.float32), ((37, 3, 5), np.float64),
                                          ((37, 100), np.float32)])
def test_prefetching_rows_changes_no_value(shape, dtype):
    a = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    before = a.copy()
    rows = np.array([0, 1, 36, 17, 36], dtype=np.int64)
    assert _prefetch_every_row_then_sum(a, rows) == before.sum()
    np.testing.assert_array_equal(a, before)


def test_a_row_index_of_another_integer_type_compiles():
    a = np.zeros((8, 16), np.float32)
    assert _prefetch_every_row_then_sum(a, np.array([7, 0], dtype=np.int32)) == 0.0


def test_a_non_array_is_refused_at_compile_time():
    from numba.core.errors import TypingError

    @njit(cache=False)
    def bad(x):
        prefetch_row(x, 0)

    with pytest.raises(TypingError):
        bad(3.0)
