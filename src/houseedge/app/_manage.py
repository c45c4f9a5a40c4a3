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

import importlib
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, model_validator

from houseedge.app.references import build
from houseedge.errors import PolicyError

if TYPE_CHECKING:
    from houseedge.app.settings import PolicyConfig
    from houseedge.live.engine import Engine, Window

__all__ = ["BlackoutConfig", "fresh", "manage"]


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


def fresh(reference: str, params: Mapping[str, Any]) -> Any:
    """Build ``reference`` with ``params``, its code imported again if it changed.

    A policy file whose bytes changed is executed again (:func:`~houseedge.app.references.build`);
    the module of a ``package.module:Class`` reference (not one of houseedge's own) is
    re-imported with :func:`importlib.reload` first.

    Raises
    ------
    PolicyError
        The module fails to import again (the previous objects keep running) or as ``build``.

    Examples
    --------
    >>> fresh("sma_cross", {"fast": 2, "slow": 5}).params()["slow"]
    5
    """
    where, colon, _ = reference.strip().rpartition(":")
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    module = sys.modules.get(where) if colon and not is_file else None
    if module is not None and not where.startswith("houseedge."):
        importlib.invalidate_caches()
        try:
            importlib.reload(module)
        except Exception as exc:
            msg = f"{reference}: import failed: {type(exc).__name__}: {exc}"
            raise PolicyError(msg) from exc
    return build(reference, params)


def manage(
    engine: Engine, policies: Sequence[PolicyConfig], blackouts: Sequence[BlackoutConfig]
) -> Engine:
    """Give ``engine`` its policy loader, references and scheduled blackouts; return it.

    The loader is :func:`fresh`.
    """
    engine.loader = fresh
    engine.references = {config.name: (config.reference, config.params) for config in policies}
    engine.windows = [blackout.window() for blackout in blackouts]
    return engine
