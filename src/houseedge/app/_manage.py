"""What the strategy manager needs from the application: a policy loader and blackout windows.

``live/`` never imports ``app/``, so :func:`manage` injects them into an assembled engine:
``engine.loader(reference, params)`` builds a policy (:func:`houseedge.app.references.build`:
a policy file whose bytes changed is executed again), ``engine.references`` are each
strategy's config reference and parameters (what a reload builds again), and
``engine.windows`` the config's ``[[blackouts]]``::

    [[blackouts]]
    strategy = "sma"                  # or "*" (the default): every strategy
    start = 2026-12-08T13:25:00Z      # UTC
    end = 2026-12-08T13:45:00Z
    reductions = true                 # closing and reducing stay allowed (the default)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, model_validator

from houseedge.app.references import build

if TYPE_CHECKING:
    from houseedge.app.settings import PolicyConfig
    from houseedge.live.engine import Engine, Window

__all__ = ["BlackoutConfig", "manage"]


class BlackoutConfig(BaseModel):
    """One scheduled blackout window: ``strategy`` (``*``: all) opens nothing in [start, end).

    Examples
    --------
    >>> w = BlackoutConfig(start="2026-12-08T13:25:00Z", end="2026-12-08T13:45:00Z").window()
    >>> w.strategy, (w.end - w.start) // 60 * 10**-9
    ('*', 20.0)
    """

    model_config = ConfigDict(extra="forbid")

    strategy: str = "*"
    start: datetime
    end: datetime
    reductions: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> BlackoutConfig:
        if self.end <= self.start:
            msg = f"blackout of {self.strategy!r}: end {self.end} must be after start {self.start}"
            raise ValueError(msg)
        return self

    def window(self) -> Window:
        """Return the engine's window (a naive time is UTC)."""
        from houseedge.live.engine import Window

        start, end = (_ns(t) for t in (self.start, self.end))
        return Window(strategy=self.strategy, start=start, end=end, reductions=self.reductions)


def _ns(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def manage(
    engine: Engine, policies: Sequence[PolicyConfig], blackouts: Sequence[BlackoutConfig]
) -> Engine:
    """Give ``engine`` its policy loader, references and scheduled blackouts; return it.

    The loader is :func:`houseedge.app.references.build` (a policy file whose bytes changed is
    executed again).
    """
    engine.loader = build
    engine.references = {config.name: (config.reference, config.params) for config in policies}
    engine.windows = [blackout.window() for blackout in blackouts]
    return engine
