"""Risk proximity: a warning when a loss monitor nears a breaker threshold, before it trips.

The engine publishes an event when a monitor trips the breaker, not while it approaches. The
relay reads the engine's risk snapshot (``EngineHandle.risk()``) every few seconds and
:class:`RiskProximity` compares each monitor (``drawdown``, ``daily_loss``, ``rapid_loss``,
fractions of equity) with the next threshold it has not crossed (``<monitor>_soft`` then
``_hard``): at ``near`` of it (80% by default) it says so once, and says so again only after
the figure fell back under ``rearm`` of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from houseedge.live.notify._message import Notification

__all__ = ["MONITORS", "RiskProximity"]

MONITORS: Final = ("drawdown", "daily_loss", "rapid_loss")
_STAGE: Final = {"soft": "reduce-only", "hard": "halt"}


class RiskProximity:
    """Turn risk snapshots into ``risk_proximity`` warnings (stateful: fires once per approach).

    Examples
    --------
    >>> near = RiskProximity(near=0.8, rearm=0.7)
    >>> limits = {"drawdown_soft": 0.05, "drawdown_hard": 0.1}
    >>> near({"monitors": {"drawdown": 0.03}, "limits": limits})
    []
    >>> [n.text for n in near({"monitors": {"drawdown": 0.041}, "limits": limits})]
    ['drawdown 4.10% is 82% of its reduce-only threshold 5.00%']
    >>> near({"monitors": {"drawdown": 0.042}, "limits": limits})  # said once
    []
    """

    def __init__(self, *, near: float = 0.8, rearm: float = 0.7) -> None:
        if not 0 < rearm <= near < 1:
            msg = f"RiskProximity needs 0 < rearm <= near < 1, got rearm={rearm}, near={near}"
            raise ValueError(msg)
        self.near, self.rearm = near, rearm
        self._fired: set[tuple[str, str]] = set()

    def __call__(self, risk: Mapping[str, Any], ts: int = 0) -> list[Notification]:
        """Return the warnings ``risk`` (a ``GET /risk`` snapshot) calls for."""
        monitors: Mapping[str, Any] = risk.get("monitors") or {}
        limits: Mapping[str, Any] = risk.get("limits") or {}
        out: list[Notification] = []
        for name in MONITORS:
            value = monitors.get(name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                continue
            for stage in ("soft", "hard"):
                threshold = limits.get(f"{name}_{stage}")
                if not isinstance(threshold, int | float) or threshold <= 0:
                    continue
                key = (name, stage)
                if value < self.rearm * threshold:
                    self._fired.discard(key)
                elif self.near * threshold <= value < threshold and key not in self._fired:
                    self._fired.add(key)
                    out.append(self._warning(name, stage, float(value), float(threshold), ts))
        return out

    def _warning(
        self, name: str, stage: str, value: float, threshold: float, ts: int
    ) -> Notification:
        text = (
            f"{name} {value:.2%} is {value / threshold:.0%} of its {_STAGE[stage]} threshold "
            f"{threshold:.2%}"
        )
        label = name.replace("_", " ").capitalize()
        return Notification(
            level="warning",
            title=f"{label} near its {_STAGE[stage]} threshold",
            text=text,
            kind="risk_proximity",
            fields={"monitor": name, "value": value, "threshold": threshold, "stage": stage},
            ts=ts,
        )
