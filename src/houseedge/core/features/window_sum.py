"""Correctly rounded moving sums in O(N) time, whatever the window length.

A running float sum is fast but carries rounding from values that left the window, so the same
window gives different bits depending on how much history came before it. Summing every window
from scratch is reproducible but costs ``n`` passes. This module gets both: each value is split
into two exact integer limbs on a grid fixed for the series, integer prefix sums give every
window's limb sums exactly (int64 wraps modulo 2**64, and a window's true limb sum fits, so the
wrapped difference is exact), and the two limb sums are exact doubles whose single IEEE addition
is the **correctly rounded** window sum.

A correctly rounded sum is a function of the window's values alone, not of the grid chosen or of
the history before the window, so a window evaluated alone reproduces the full-history value bit
for bit. Values the grid cannot hold exactly (magnitudes spread over more than about 90 bits in
one series) are summed per window with :func:`math.fsum`, which is correctly rounded too.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

# Below this many values handing half the work to another thread costs more than it saves.
_SPLIT = 1 << 18


@functools.cache
def _helper(pid: int) -> ThreadPoolExecutor:
    # One helper per process: a pool inherited through fork has no live thread and would hang.
    del pid
    return ThreadPoolExecutor(1, thread_name_prefix="window-sums")


def in_halves(task: Callable[[int, int], object], size: int) -> None:
    """Run ``task(start, stop)`` over ``range(size)``, the halves on two threads.

    NumPy releases the GIL in its element-wise loops, so both cores work (a bare Polars
    query uses them too); for element-wise or exact steps the split changes no bit.

    Examples
    --------
    >>> out = np.zeros(6)
    >>> def double(start, stop):
    ...     out[start:stop] = np.arange(start, stop) * 2.0
    >>> in_halves(double, out.size)
    >>> out.tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """
    if size < _SPLIT or (os.cpu_count() or 1) < 2:
        task(0, size)
        return
    half = size // 2
    other = _helper(os.getpid()).submit(task, half, size)
    task(0, half)
    other.result()


def _both(first: Callable[[], Array], second: Callable[[], Array], size: int) -> list[Array]:
    """Return ``[first(), second()]``, run on two threads for long series."""
    if size < _SPLIT or (os.cpu_count() or 1) < 2:
        return [first(), second()]
    other = _helper(os.getpid()).submit(second)
    return [first(), other.result()]


def _prefix(values: Array) -> Array:
    """Return the int64 prefix sums of whole numbers (floats or ints), starting at 0."""
    total = np.empty(values.size + 1, dtype=np.int64)
    total[0] = 0
    total[1:] = values
    return np.cumsum(total, out=total)


def _windows(prefix: Array, n: int) -> Array:
    """Return the sums of the windows of ``n`` ending at ``t >= n - 1`` from a prefix sum."""
    return prefix[n:] - prefix[:-n]


def _scale(values: Array, power: int, out: Array | None = None) -> Array:
    # A multiply by 2**power is exact and faster than ldexp; ldexp only where 2**power overflows.
    if abs(power) < 1000:
        return np.multiply(values, 2.0**power, out=out)
    return np.ldexp(values, power, out=out)


def _bounds(values: Array) -> tuple[float, float]:
    """Return the least and the greatest value (NaN if any is; 0.0 for none), both cores."""
    if not values.size:
        return 0.0, 0.0
    if values.size < _SPLIT:  # the short series of live steps: no bookkeeping
        return float(values.min()), float(values.max())
    halves: dict[int, tuple[float, float]] = {}

    def part(start: int, stop: int) -> None:
        halves[start] = (float(values[start:stop].min()), float(values[start:stop].max()))

    in_halves(part, values.size)
    lows, highs = zip(*halves.values(), strict=True)
    return float(np.min(lows)), float(np.max(highs))  # NumPy's, as they keep a NaN


class _Limbs:
    """A series split as ``value = (high + low * 2**-bits) * 2**(exponent - bits)``, both whole."""

    def __init__(self, values: Array, bits: int, bounds: tuple[float, float] | None = None) -> None:
        least, most = _bounds(values) if bounds is None else bounds
        top = max(most, -least)
        self.exponent = math.frexp(top)[1]  # every |value| < 2**exponent
        self.bits = bits
        # Buffers are reused in place: on long series fresh allocations cost more than the math.
        high, low = np.empty_like(values), np.empty_like(values)

        def split(start: int, stop: int) -> None:
            scaled = _scale(values[start:stop], bits - self.exponent, low[start:stop])
            np.rint(scaled, out=high[start:stop])
            scaled -= high[start:stop]  # exact: the fraction of a number below 2**53
            scaled *= 2.0**bits

        in_halves(split, values.size)
        # Positive values all at least 2**52 grid steps fit the grid (prices usually do):
        # skip the per-value check then.
        every = least > 0 and math.log2(least) >= self.exponent - 2 * bits + 52
        exact = np.ones(0, dtype=bool)
        if not every:
            exact = low == np.rint(low)
            if bits < self.exponent:
                # Scaling down can flush tiny values' last bits: check they come back.
                exact &= _scale(high + low * 2.0**-bits, self.exponent - bits) == values
            every = bool(exact.all())
        self.inexact_prefix = None if every else _prefix((~exact).astype(np.int64))
        if not every:
            low[~exact] = 0.0
        self.high, self.low = _both(lambda: _prefix(high), lambda: _prefix(low), values.size)
        # Spent once summed: the caller's scratch and first output (no fresh 10M-value arrays).
        self.spare = (high, low)

    def sums(self, n: int, out: Array, scratch: Array | None = None, *, mean: bool = False) -> None:
        """Write the correctly rounded sums (``mean``: divided by ``n``) of the windows of ``n``.

        ``n * 2**bits`` must stay below ``2**53``. ``scratch`` (int64, at least ``out.size``)
        holds the limb sums: one buffer for both limbs and every length, as fresh arrays of
        10M values cost as much in page faults as the arithmetic.
        """
        limbs = np.empty(out.size, np.int64) if scratch is None else scratch[: out.size]
        power = self.exponent - self.bits
        # Scaling the limb sum by 2**power and then dividing by n equals one division by
        # n * 2**-power when the scaling is exact (no subnormal, no overflow: every nonzero
        # limb sum is at least 2**-bits) and that divisor exact: the same real quotient, so
        # the same rounding, in one pass fewer.
        folded = mean and power - self.bits > -1000 and self.exponent < 900

        def part(start: int, stop: int) -> None:
            limb, sums = limbs[start:stop], out[start:stop]
            np.subtract(self.low[n + start : n + stop], self.low[start:stop], out=limb)
            np.multiply(limb, 2.0**-self.bits, out=sums)
            np.subtract(self.high[n + start : n + stop], self.high[start:stop], out=limb)
            sums += limb  # the one rounding: both terms are exact doubles
            if folded:
                np.divide(sums, n * 2.0**-power, out=sums)
                return
            _scale(sums, power, sums)
            if mean:
                sums /= n

        in_halves(part, out.size)


def window_sums(x: Array, ns: Sequence[int], *, means: bool = False) -> list[Array]:
    """Return, for each ``n`` in ``ns``, the correctly rounded sum of each window of ``n`` values.

    Entry ``t`` sums ``x[t - n + 1 : t + 1]``; the first ``n - 1`` entries are NaN, as is any
    window holding a NaN. A window holding infinities of one sign sums to that infinity (of
    both signs: NaN). The split into limbs is shared by all the window lengths. ``means``
    divides each sum by its ``n`` (the bits of dividing the sums, in one pass fewer).

    Examples
    --------
    >>> [s.tolist() for s in window_sums(np.array([0.1, 0.2, 0.3, np.nan, 1.0]), [1, 2])]
    [[0.1, 0.2, 0.3, nan, 1.0], [nan, 0.30000000000000004, 0.5, nan, nan]]
    >>> float(window_sums(np.array([1e16, 1.0, 1.0, -1e16]), [4])[0][-1])  # a running sum: 0.0
    2.0
    >>> window_sums(np.array([0.1, 0.2, 0.4]), [2], means=True)[0].tolist()
    [nan, 0.15000000000000002, 0.30000000000000004]
    """
    x = np.asarray(x, dtype=np.float64)
    if min(ns) < 1:
        msg = f"window lengths must be >= 1, got {list(ns)}"
        raise ValueError(msg)
    # Finite bounds mean no NaN (the bounds would be NaN) and no infinity: no pass of its own.
    bounds = _bounds(x)
    every_finite = math.isfinite(bounds[0]) and math.isfinite(bounds[1])
    values = x if every_finite else np.where(np.isfinite(x), x, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # sums may overflow to inf, as they should
        bits = 52 - (max(ns) - 1).bit_length()
        limbs = _Limbs(values, bits, bounds if every_finite else None)
        scratch, first = limbs.spare[0].view(np.int64), limbs.spare[1]
        outs = [first, *(np.empty(x.size) for _ in ns[1:])]
        return [
            _sums(x, values, limbs, (n, means), every_finite, scratch, out)
            for n, out in zip(ns, outs, strict=True)
        ]


def _sums(
    x: Array,
    values: Array,
    limbs: _Limbs,
    window: tuple[int, bool],
    every_finite: bool,
    scratch: Array,
    out: Array,
) -> Array:
    n, mean = window
    out[: n - 1] = np.nan
    if x.size < n:
        return out
    sums = out[n - 1 :]
    limbs.sums(n, sums, scratch, mean=mean)
    if limbs.inexact_prefix is not None:
        for end in np.flatnonzero(_windows(limbs.inexact_prefix, n)):
            total = _fsum(values[end : end + n])
            sums[end] = total / n if mean else total
    if not every_finite:
        sums[:] = _non_finite(x, n, sums)
    return out


def _fsum(window: Array) -> float:
    try:
        return math.fsum(window)
    except OverflowError:
        # Partial sums beyond the largest double: scale down (only bits far below the sum are
        # lost), sum, and scale back (to infinity if the sum itself overflows).
        return math.fsum(window * 2.0**-64) * 2.0**64


def _non_finite(x: Array, n: int, sums: Array) -> Array:
    def count(flags: Array) -> Array:
        return _windows(_prefix(flags.astype(np.int64)), n) > 0

    up, down = count(x == np.inf), count(x == -np.inf)
    sums = np.where(up, np.inf, np.where(down, -np.inf, sums))
    sums[count(np.isnan(x)) | (up & down)] = np.nan
    return sums


# Past this many near-ties the exact averages of every window cost less than one each.
_NEAR_TIES = 4096


def mean_side(x: Array, fast: int, slow: int, *, long_only: bool) -> Array | None:
    """Return the side of ``mean(fast) - mean(slow)`` per window end, as the exact averages give.

    Entry ``t`` is the sign (``long_only``: 1 when positive, else 0) of the difference between
    the correctly rounded averages of the last ``fast`` and ``slow`` values, NaN for
    ``t < slow - 1``: what :func:`window_sums` (``means=True``) and :func:`numpy.sign` give,
    for fewer passes. The sign is read from integer window sums of the values truncated to a
    fine grid, whose error is bounded; only windows within that bound of a tie (in practice
    ties alone) are averaged exactly. None when that does not apply (non-finite or extreme
    values, very long windows, many ties): then compute the averages.

    Examples
    --------
    >>> mean_side(np.array([3.0, 2.0, 1.0, 2.0, 3.0, 1.0]), 1, 2, long_only=False).tolist()
    [nan, -1.0, -1.0, 1.0, 1.0, -1.0]
    """
    x = np.asarray(x, dtype=np.float64)
    least, most = _bounds(x)
    product = fast * slow
    bits = 61 - product.bit_length()  # |fast-sum * slow - slow-sum * fast| < 2**62
    exponent = math.frexp(max(most, -least))[1]  # NaN bounds fail the next check
    if not (math.isfinite(least) and math.isfinite(most)) or bits < 24 or abs(exponent) > 900:
        return None
    # Every value is (h + f) * 2**(exponent - bits), h whole and |f| < 1, so a difference of
    # window sums scaled by fast * slow is off by less than 2 * product, and each correctly
    # rounded average by less than product * 2**(bits - 51) in those units.
    tol = 2 * product * (2 + 2 ** max(bits - 50, 0))
    out = np.empty(x.size)
    out[: slow - 1] = np.nan
    near: dict[int, Array] = {}

    def part(start: int, stop: int) -> None:
        first = max(start, slow - 1)
        if first >= stop:
            return
        lo = first - slow + 1  # the windows' values from here: no carry between the parts
        prefix = np.empty(stop - lo + 1, np.int64)
        prefix[0] = 0
        # Scaled by a power of two (exact) and truncated by the cast into the prefix buffer.
        np.multiply(x[lo:stop], 2.0 ** (bits - exponent), out=prefix[1:], casting="unsafe")
        np.cumsum(prefix[1:], out=prefix[1:])
        ends = prefix[slow:]
        diff = np.subtract(ends, prefix[slow - fast : -fast])
        diff *= slow
        other = np.subtract(ends, prefix[: ends.size])
        other *= fast
        diff -= other
        np.abs(diff, out=other)
        if other.size and other.min() <= tol:  # else no near tie: no flags to scan
            near[start] = np.flatnonzero(other <= tol) + first
        if long_only:
            np.greater(diff, 0, out=out[first:stop])
        else:
            np.sign(diff, out=out[first:stop])

    in_halves(part, x.size)
    ties = np.concatenate(list(near.values())) if near else np.zeros(0, np.int64)
    if ties.size > _NEAR_TIES:
        return None
    for t in ties.tolist():
        gap = _fsum(x[t - fast + 1 : t + 1]) / fast - _fsum(x[t - slow + 1 : t + 1]) / slow
        out[t] = float(gap > 0) if long_only else float(np.sign(gap))
    return out
