"""Seeded synthetic markets: bars and trades on a realistic calendar."""

from houseedge.data.synthetic._calendar import Session
from houseedge.data.synthetic._market import DEFAULT_REGIMES, Regime, synthetic_bars
from houseedge.data.synthetic._trades import synthetic_trades

__all__ = ["DEFAULT_REGIMES", "Regime", "Session", "synthetic_bars", "synthetic_trades"]
