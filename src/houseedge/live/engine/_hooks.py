"""A policy's optional ``on_fill`` and ``on_risk_breach`` hooks, called live.

The hooks are read through :func:`~houseedge.core.policies.protocol.policy_hooks` (documented
there) each time, so a reloaded policy's hooks are the ones called. ``on_fill`` runs once a fill
of the strategy's order is journaled and booked (synchronously, inside the book's fill
callback): an exception there is kept and fails the strategy before the next bar's decisions.
``on_risk_breach`` runs for each breaker transition that concerns a strategy (its own, or the
account's); an exception fails that strategy at once. Either way the other strategies trade on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from houseedge.core.policies.protocol import PolicyHooks, policy_hooks
from houseedge.live.engine.pipeline import strategy_portfolio

if TYPE_CHECKING:
    from houseedge.core.execution import OrderState
    from houseedge.core.risk.gate import RiskEvent
    from houseedge.core.types import Fill
    from houseedge.live.engine._strategies import Strategy
    from houseedge.live.engine.pipeline import PolicySpec

__all__ = ["HooksMixin"]


class HooksMixin:
    """Calls the strategies' hooks for the engine (see the module doc)."""

    if TYPE_CHECKING:
        specs: dict[str, PolicySpec]
        strategies: dict[str, Strategy]
        _hook_errors: list[tuple[str, Exception]]

        def position(self, symbol: str, policy: str | None = None) -> float: ...
        def open_orders(
            self, policy: str | None = None, symbol: str | None = None
        ) -> list[OrderState]: ...
        def new_id(self, policy: str) -> str: ...
        def account(self) -> tuple[float, float]: ...
        def request_cancel(self, order_id: str) -> None: ...
        async def _strategy_failed(
            self, strategy: Strategy, now: int, exc: Exception | None, reason: str | None = None
        ) -> None: ...

    def _fill_hook(self, fill: Fill, policy: str) -> None:
        """Call ``policy``'s ``on_fill``; keep an exception for :meth:`_fail_hooked`."""
        try:
            found = self._running_hooks(policy)
            if found is not None and found[1].on_fill is not None:
                found[1].on_fill(fill, strategy_portfolio(self, found[0], fill.ts))
        except Exception as exc:  # this strategy's fault: it alone stops
            self._hook_errors.append((policy, exc))

    def _running_hooks(self, name: str) -> tuple[PolicySpec, PolicyHooks] | None:
        """Return a running strategy's spec and hooks (None when it is not running)."""
        spec, strategy = self.specs.get(name), self.strategies.get(name)
        if spec is None or strategy is None or not strategy.running:
            return None
        return spec, policy_hooks(spec.policy)

    async def _fail_hooked(self, now: int) -> None:
        """Fail the strategies whose ``on_fill`` raised since the last call."""
        errors, self._hook_errors = self._hook_errors, []
        for policy, exc in errors:
            strategy = self.strategies[policy]
            if strategy.running:
                await self._strategy_failed(strategy, now, exc)

    async def _breach_hooks(self, events: Sequence[RiskEvent], now: int) -> None:
        """Call ``on_risk_breach`` of each running strategy an event concerns."""
        for event in events:
            if event.kind == "reset":
                continue
            names: Sequence[str] = [event.policy] if event.policy else list(self.specs)
            for name in names:
                await self._breach_hook(name, event, now)

    async def _breach_hook(self, name: str, event: RiskEvent, now: int) -> None:
        try:
            found = self._running_hooks(name)
            if found is not None and found[1].on_risk_breach is not None:
                found[1].on_risk_breach(event)
        except Exception as exc:  # this strategy's fault: it alone stops
            await self._strategy_failed(self.strategies[name], now, exc)
