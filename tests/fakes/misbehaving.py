"""The misbehaving policies, now :mod:`houseedge.chaos` (re-exported for the tests' imports)."""

from houseedge.chaos import (
    GATE_STOPPED,
    BadTarget,
    CorrelationBreaker,
    FlipFlopper,
    Raiser,
    RiskIgnorant,
    Runaway,
    SlowLeak,
    Sluggish,
    VolatilityAmplifier,
)

ALL = GATE_STOPPED
"""Every single-symbol misbehaving policy class the risk gate stops (the others fail their
strategy)."""

__all__ = [
    "ALL",
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
