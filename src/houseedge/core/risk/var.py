"""Value at risk of the account's recent returns: the post-trade ``var`` monitor's figure.

Each equity mark adds the return since the previous mark to a window of the last
``var_window`` returns. Once the window is full the figure is the one-mark loss (a fraction of
equity, positive = loss) not exceeded with probability ``var_confidence``:

``historical``
    the loss at the ``1 - confidence`` empirical quantile of the window (the lower order
    statistic, so the estimate never understates the loss);
``parametric``
    ``z * stdev - mean`` of the window, ``z`` the normal quantile of ``confidence``.

The monitors compare it with ``var_soft`` / ``var_hard`` like the drawdown figures.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import Final

__all__ = ["ReturnsVaR"]

_METHODS: Final = ("historical", "parametric")


class ReturnsVaR:
    """A rolling VaR over the returns between equity marks.

    Parameters
    ----------
    window
        How many returns the estimate needs (and keeps); NaN until that many are in.
    confidence
        The probability the loss is not exceeded (``0.99``).
    method
        ``"historical"`` or ``"parametric"``.

    Examples
    --------
    >>> var = ReturnsVaR(window=4, confidence=0.75)
    >>> for equity in (100.0, 101.0, 99.0, 100.0, 98.0):
    ...     var.add(equity)
    >>> round(var.value(), 4)
    0.0198
    """

    __slots__ = ("_last", "_returns", "_z", "confidence", "method")

    def __init__(self, window: int, confidence: float, method: str = "historical") -> None:
        if method not in _METHODS:
            msg = f"method must be one of {_METHODS}, got {method!r}"
            raise ValueError(msg)
        if window < 2 or not 0 < confidence < 1:
            msg = f"window must be >= 2 and confidence in (0, 1), got {window} and {confidence}"
            raise ValueError(msg)
        self.confidence, self.method = confidence, method
        self._returns: deque[float] = deque(maxlen=window)
        self._last = math.nan
        self._z = statistics.NormalDist().inv_cdf(confidence)

    def add(self, equity: float) -> None:
        """Add the return from the previous mark to ``equity`` (the first mark adds none)."""
        if self._last > 0:
            self._returns.append(equity / self._last - 1.0)
        self._last = equity

    def clear(self) -> None:
        """Forget the returns (an operator's reset re-bases the monitors)."""
        self._returns.clear()

    def value(self) -> float:
        """Return the VaR as a fraction of equity (NaN until the window is full)."""
        returns = self._returns
        if len(returns) < (returns.maxlen or 0):
            return math.nan
        if self.method == "parametric":
            return self._z * statistics.stdev(returns) - statistics.fmean(returns)
        ordered = sorted(returns)
        index = math.floor((1.0 - self.confidence) * len(ordered))
        return -ordered[min(index, len(ordered) - 1)]
