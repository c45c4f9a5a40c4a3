"""The operator's strategy manager: state commands, per-strategy kill, reload and blackouts.

:class:`ManagerMixin` is the part of :class:`~houseedge.live.engine.Engine` behind the
service's ``/strategies/{name}/...`` routes. Every command is journaled as a ``strategy`` event
with the operator's name (the last one of each strategy is its state after a restart,
:func:`~houseedge.live.engine._strategies.restore`):

``pause`` / ``resume``
    Stop and restart the strategy's decisions; its working orders stay.
``disable`` / ``enable``
    As pause and resume, and disabling cancels its working orders.
``reset``
    Put a ``failed`` strategy back to running.
``kill``
    Disable it, cancel its working orders and, with ``flatten``, close its own positions
    (through the risk gate, as reductions) once the cancels are confirmed.
``reload``
    Build the policy again through the engine's ``loader`` (injected by the application: it
    re-imports a policy file whose bytes changed) and swap it into a new runner that is given
    the old one's bar history and last targets, so the position and open orders are kept and
    the new code decides from the next bar. A loader or runner that raises leaves the old
    version running, and the answer says why.
``blackout``
    A window ``[start, end)`` (UTC nanoseconds) in which the strategy (or every strategy, for
    ``*``) opens nothing; its reductions pass unless the window says ``reductions: false``.
    Its state reads ``blackout`` while one is in force; the window, its start and its end are
    journaled. Windows from the config are given as ``Engine.windows`` before start.

Examples
--------
>>> w = Window(strategy="*", start=10, end=20)
>>> w.covers("sma", 10), w.covers("sma", 20), Window(strategy="a", start=0, end=5).covers("b", 1)
(True, False, False)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from houseedge.core.costs import NO_COSTS
from houseedge.core.types import Bar, Order
from houseedge.errors import PolicyError
from houseedge.live.engine._strategies import STRATEGY_EVENT, Strategy, StrategyState
from houseedge.live.engine.pipeline import OrderRunner, PolicySpec, VectorRunner, make_runner

if TYPE_CHECKING:
    from houseedge.live.engine._book import Book

__all__ = ["ACTIONS", "ManagerMixin", "Window"]

ACTIONS = ("blackout", "disable", "enable", "kill", "pause", "reload", "reset", "resume")
"""The commands :meth:`ManagerMixin.manage` takes."""

WINDOW_EVENT = "blackout_window"
"""The engine event that records an ad hoc blackout window (restored on restart)."""

_RS = StrategyState
_TARGETS = {
    "pause": _RS.PAUSED,
    "resume": _RS.RUNNING,
    "disable": _RS.DISABLED,
    "enable": _RS.RUNNING,
    "reset": _RS.RUNNING,
}


class Window(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A blackout window: ``strategy`` (``*``: all) opens nothing in ``[start, end)`` (ns UTC)."""

    strategy: str = "*"
    start: int
    end: int
    reductions: bool = True

    def covers(self, name: str, now: int) -> bool:
        """Return True when the window applies to ``name`` at ``now``."""
        return self.strategy in ("*", name) and self.start <= now < self.end


class ManagerMixin:
    """The strategy manager (see the module doc)."""

    if TYPE_CHECKING:

        @property
        def book(self) -> Book: ...

        log: Any
        specs: dict[str, PolicySpec]
        runners: dict[str, VectorRunner | OrderRunner]
        strategies: dict[str, Strategy]
        _book: Book | None

        def _now(self) -> int: ...
        async def _cancel(self, order_ids: Sequence[str], now: int) -> int: ...
        async def _close_out(
            self, now: int, cancelled: list[str], *, flatten: bool, policy: str | None = None
        ) -> dict[str, Any]: ...

    loader: Callable[[str], Any] | None = None
    """Return a fresh policy object for a strategy's name (injected by the application)."""
    windows: list[Window] | None = None
    """Scheduled blackout windows (the config's); ad hoc ones are added from the journal."""
    _adhoc: list[Window] | None = None

    async def manage(self, name: str, action: str, *, operator: str, **args: Any) -> dict[str, Any]:
        """Apply an operator's ``action`` to strategy ``name``; return the answer.

        Raises
        ------
        PolicyError
            ``name`` is not a strategy, ``action`` is unknown or not allowed in its state.
        """
        strategy = self.strategies.get(name)
        if strategy is None:
            msg = f"strategy {name!r} is not one of this engine's: {', '.join(self.strategies)}"
            raise PolicyError(msg)
        if action not in ACTIONS:
            msg = f"action {action!r}: expected one of {', '.join(ACTIONS)}"
            raise PolicyError(msg)
        now = self._now()
        if action == "reload":
            return await self._reload(strategy, operator)
        if action == "blackout":
            return await self._add_window(name, operator, args)
        if action == "reset" and strategy.state is not _RS.FAILED:
            msg = f"strategy {name!r} is {strategy.state}, not failed: nothing to reset"
            raise PolicyError(msg)
        target = _TARGETS.get(action, _RS.DISABLED)
        await self._set_state(strategy, target, operator, action, now)
        answer: dict[str, Any] = {"strategy": name, "state": str(strategy.state)}
        if action in ("disable", "kill"):
            ids = [s.order.client_order_id for s in self.book.open_orders(name)]
            await self._cancel(ids, now)
            if action == "kill":
                flatten = bool(args.get("flatten", False))
                answer |= await self._close_out(now, ids, flatten=flatten, policy=name)
            else:
                answer["cancelled"] = len(ids)
        return answer

    async def _set_state(
        self, strategy: Strategy, state: StrategyState, operator: str, action: str, now: int
    ) -> None:
        previous = strategy.state
        strategy.state, strategy.since = state, now
        strategy.reason = f"{action} by {operator}"
        payload = {"strategy": strategy.name, "state": str(state), "previous": str(previous)}
        payload |= {"reason": strategy.reason, "operator": operator, "action": action}
        await self.book.events([(STRATEGY_EVENT, payload | {"bar_ts": now}, time.time_ns())])
        self.log.info("strategy.state", **payload)

    # -- reload -----------------------------------------------------------------------------

    async def _reload(self, strategy: Strategy, operator: str) -> dict[str, Any]:
        name = strategy.name
        began = time.perf_counter()
        old = self.runners[name]
        try:
            if self.loader is None:
                msg = "this engine has no loader: policies given as objects cannot be reloaded"
                raise PolicyError(msg)
            spec = dataclasses.replace(self.specs[name], policy=self.loader(name))
            runner = make_runner(spec, getattr(old, "costs", NO_COSTS))
            _carry(old, runner)
        except Exception as exc:  # the old version keeps running
            error = f"{type(exc).__name__}: {exc}"
            await self._audit("reload_failed", name, operator, error=error)
            self.log.warning("strategy.reload_failed", strategy=name, error=error)
            return {"strategy": name, "reloaded": False, "error": error}
        self.specs[name], self.runners[name] = spec, runner
        seconds = time.perf_counter() - began
        await self._audit("reloaded", name, operator, seconds=seconds)
        self.log.info("strategy.reloaded", strategy=name, seconds=seconds)
        return {"strategy": name, "reloaded": True, "seconds": seconds}

    async def _audit(self, event: str, name: str, operator: str, **payload: Any) -> None:
        body = {"event": event, "strategy": name, "operator": operator, **payload}
        await self.book.events([("engine", body, time.time_ns())])

    # -- blackouts --------------------------------------------------------------------------

    def _all_windows(self) -> list[Window]:
        if self._adhoc is None:
            self._adhoc = []
            if self._book is not None:
                events = self.book.reader.events_after(0, 1_000_000, kind="engine")
                for event in events:
                    if event.payload.get("event") == WINDOW_EVENT:
                        self._adhoc.append(msgspec.convert(event.payload["window"], Window))
        return [*(self.windows or ()), *self._adhoc]

    async def _add_window(
        self, name: str, operator: str, args: Mapping[str, Any]
    ) -> dict[str, Any]:
        try:
            window = msgspec.convert({"strategy": name, **args}, Window)
        except msgspec.ValidationError as exc:
            msg = f"blackout window: {exc}; expected start and end (UTC ns), reductions (bool)"
            raise PolicyError(msg) from None
        if window.end <= window.start:
            msg = f"blackout window: end {window.end} must be after start {window.start}"
            raise PolicyError(msg)
        self._adhoc = [*self._all_windows()[len(self.windows or ()) :], window]
        await self._audit(WINDOW_EVENT, name, operator, window=msgspec.to_builtins(window))
        return {"strategy": name, "window": msgspec.to_builtins(window)}

    async def _blackouts(self, names: Sequence[str], now: int) -> None:
        """Move the strategies of a bar in and out of their blackout windows (journaled)."""
        windows = self._all_windows()
        if not windows:
            return
        for name in names:
            strategy = self.strategies[name]
            inside = any(w.covers(name, now) for w in windows)
            if inside and strategy.state is _RS.RUNNING:
                await self._set_state(strategy, _RS.BLACKOUT, "schedule", "blackout_start", now)
            elif not inside and strategy.state is _RS.BLACKOUT:
                await self._set_state(strategy, _RS.RUNNING, "schedule", "blackout_end", now)

    def _screen(self, name: str, orders: list[Order], now: int) -> list[Order]:
        """Return the orders a strategy in blackout may send: reductions of its position."""
        windows = [w for w in self._all_windows() if w.covers(name, now)]
        if not all(w.reductions for w in windows):
            return []
        held: dict[str, float] = {}
        kept: list[Order] = []
        for order in orders:
            have = held.setdefault(order.symbol, self.book.position(order.symbol, name))
            signed = order.side.sign * order.qty
            if have * signed < 0 and abs(signed) <= abs(have) + 1e-9:
                kept.append(order)
                held[order.symbol] = have + signed
        return kept


def _carry(old: VectorRunner | OrderRunner, new: VectorRunner | OrderRunner) -> None:
    """Give ``new`` the bars ``old`` holds and, for vector runners, its last targets."""
    for symbol, ring in old.history.rings.items():
        columns = [
            ring.column(c).tolist() for c in ("ts", "open", "high", "low", "close", "volume")
        ]
        for ts, o, h, lo, c, v in zip(*columns, strict=True):
            new.append(Bar(symbol=symbol, timeframe=ring.timeframe, ts=ts, open=o, high=h,
                           low=lo, close=c, volume=v))  # fmt: skip
    if isinstance(old, VectorRunner) and isinstance(new, VectorRunner):
        new.last = dict(old.last)
