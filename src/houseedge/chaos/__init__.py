"""Misbehaving policies, to test your own risk limits and the engine's isolation with.

The gate's cases (:data:`GATE_STOPPED` and :class:`CorrelationBreaker`) are order policies the
risk gate must stop: a runaway loop, a martingale that ignores rejections, a size that grows with
volatility, a slow leak of fees, a flip-flopper and a basket that ignores correlation. The
isolation cases (:class:`Raiser`, :class:`Sluggish`, :class:`BadTarget`) fail their strategy in
the live engine while the others keep trading.

Inject one into the paper service by config, beside your own strategies, like any policy by
reference::

    [[policies]]
    name = "chaos"
    policy = "houseedge.chaos:CorrelationBreaker"
    params = { symbols = ["AAPL", "MSFT", "NVDA"], qty = 5 }

Examples
--------
>>> from houseedge.core.types import MarketSnapshot, PortfolioState
>>> runaway = Runaway("X", per_bar=3)
>>> orders = runaway.decide(PortfolioState(ts=0, cash=1e4, equity=1e4),
...                         MarketSnapshot(ts=0, last={"X": 10.0}), None)
>>> [o.client_order_id for o in orders]
['runaway-1', 'runaway-2', 'runaway-3']
"""

from houseedge.chaos._failures import BadTarget, Raiser, Sluggish
from houseedge.chaos._gate import (
    GATE_STOPPED,
    CorrelationBreaker,
    FlipFlopper,
    RiskIgnorant,
    Runaway,
    SlowLeak,
    VolatilityAmplifier,
)

__all__ = [
    "GATE_STOPPED",
    "BadTarget",
    "CorrelationBreaker",
    "FlipFlopper",
    "Raiser",
    "RiskIgnorant",
    "Runaway",
    "SlowLeak",
    "Sluggish",
    "VolatilityAmplifier",
]
