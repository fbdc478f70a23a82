"""A software prefetch for the compiled kernels: ask for an array element's cache line ahead of its use.

Kernels that visit customers scattered over the population (a wallet holder's fund balances,
a candidate's ties) wait on memory for each; asking for the line a few customers ahead lets
those waits overlap. A prefetch changes no value, so results are the same with or without it.
"""
from __future__ import annotations

import numba
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch array[index] (a 1-d or 2-d array and one index: the row's first element) for reading."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        a = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        where = [builder.sext(args[1], cgutils.intp_t) if args[1].type.width < 64 else args[1]]
        where += [zero] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer(context, builder, array_type, a, where, wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer] + [ir.IntType(32)] * 3), "llvm.prefetch.p0")
        i32 = lambda v: ir.Constant(ir.IntType(32), v)  # noqa: E731
        builder.call(fn, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])   # read, keep, data
        return context.get_dummy_value()
    return sig, codegen


@numba.njit(cache=True, nogil=True, inline="always")
def prefetch_customer(customers, i):
    """Ask for the cache lines of customer i's state that every decision reads: its ties, literacy, yield
    sensitivity, age, area and primary bank (`CustomerArrays`)."""
    prefetch(customers.ties, i)
    prefetch(customers.literacy0, i)
    prefetch(customers.yield_sensitivity, i)
    prefetch(customers.age, i)
    prefetch(customers.bank, i)
    prefetch(customers.urban, i)
