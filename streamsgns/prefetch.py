"""A software prefetch for numba kernels: ask the CPU to bring one row of an array into cache.

Why: a kernel that updates a row chosen by the data (a word's row of a per-word table) waits for
that row's cache line when the table does not fit in cache. When the row is known a little
ahead (the next centre word of a sentence), :func:`prefetch_row` starts the load while the
kernel computes, so the update finds the line in cache. It changes no value: it is a hint
(``llvm.prefetch``, LLVM Language Reference, "'llvm.prefetch' Intrinsic"), and a CPU without
prefetch instructions ignores it.

Measured (``docs/drift.md``, "Nothing lost on a stream that does not change";
``benchmarks/drift/detect_kernel_cost.py``): the change detector's per-centre update of its
context signatures cost about 2 % of the kernel's time in cache misses; prefetching the next
centre's rows (:func:`streamsgns.change.detector_prefetch`) took the detector's share of the
kernel's time from 3.8–4.5 % to 1.2–2.3 %.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch_row"]


@intrinsic
def prefetch_row(typingctx, arr, row):
    """Prefetch the cache lines of the first and last elements of ``arr[row]`` for writing (numba
    only; returns nothing).

    Parameters
    ----------
    arr : numba array type, any dtype, 1 or more dimensions, C order
        The table; ``arr[row, 0, ...]`` and ``arr[row, -1, ...]`` are the addresses prefetched.
    row : integer
        Row index, ``0 <= row < arr.shape[0]`` (not checked: the address is only a hint, and a
        prefetch of an invalid address does not fault).

    Notes
    -----
    Emits ``llvm.prefetch(ptr, rw=1, locality=3, cache=1)``: for a write, keep in all cache
    levels, data cache. A row of up to one cache line (64 bytes on x86-64 and most ARM cores) is
    covered whole, also when it straddles two lines; of a longer row, its first and last lines.
    """
    if not isinstance(arr, types.Array) or not isinstance(row, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, rowty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        one = context.get_constant(types.intp, 1)
        r = context.cast(builder, args[1], rowty, types.intp)
        i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        ends = [[r] + [zero] * (aryty.ndim - 1)]  # the row's first element, and its last (another line if it straddles)
        if aryty.ndim > 1:
            ends.append([r] + [builder.sub(n, one) for n in cgutils.unpack_tuple(builder, ary.shape)[1:]])
        for ind in ends:
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, ind, wraparound=False)
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, row), codegen
