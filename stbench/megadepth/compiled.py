"""numba compilation of stbench's kernels: lazily, once per process, single-threaded.

A kernel is a plain Python function (readable and testable as such); :func:`compiled` compiles
it with numba (the ``build`` extra) on first use: nothing is compiled at import and nothing is
written to disk (``cache=False``; each process compiles its kernels once, well under a second
each, see docs/megadepth.md "Speed"). Kernels release the GIL (``nogil``) and never start
threads of their own (no ``prange``), so the thread policy (:mod:`stbench.threads`) is the
caller's ``workers``. No fast-math: every floating-point operation is the one written, in the
order written, so a kernel gives the bits of the numpy code it replaces.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from stbench.extras import import_optional

__all__ = ["compiled", "fma"]


def fma(a: float, b: float, c: float) -> np.float64:
    """a * b + c rounded once (exact rationals here; ``llvm.fma`` in a compiled kernel).

    A numpy float, so that the plain Python kernel divides like the compiled one (IEEE: x / 0
    is inf or NaN, not ZeroDivisionError); finite arguments only.
    """
    from fractions import Fraction

    return np.float64(Fraction(a) * Fraction(b) + Fraction(c))


@functools.cache
def _compiled_fma() -> Any:
    numba = import_optional("numba")
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def fused_multiply_add(typingctx, a, b, c):
        signature = types.float64(types.float64, types.float64, types.float64)

        def codegen(context, builder, sig, args):
            return builder.fma(*args)

        return signature, codegen

    return numba.njit(inline="always")(lambda a, b, c: fused_multiply_add(a, b, c))


@functools.cache
def compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` compiled with numba (``nogil``, no fast-math); :func:`fma` becomes
    ``llvm.fma``. Compiles on the first call of the result.

    Raises:
        MissingExtraError: numba is not installed (it comes with the ``build`` extra).
    """
    numba = import_optional("numba")
    names = function.__code__.co_names
    namespace = dict(function.__globals__)
    if "fma" in names:
        namespace["fma"] = _compiled_fma()
    copy = type(function)(function.__code__, namespace, function.__name__, function.__defaults__)
    return numba.njit(cache=False, nogil=True, error_model="numpy")(copy)
