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

from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Bar, Order
from houseedge.errors import PolicyError
from houseedge.live.engine._strategies import (
    DEFAULT_DECISION_BUDGET,
    STRATEGY_EVENT,
    Strategy,
    StrategyState,
)
from houseedge.live.engine.pipeline import OrderRunner, PolicySpec, VectorRunner, make_runner

if TYPE_CHECKING:
    from houseedge.core.costs import CostModel
    from houseedge.live.engine._book import Book

__all__ = ["ACTIONS", "ManagerMixin", "Window"]

ACTIONS = ("add", "blackout", "disable", "enable", "kill", "pause", "reload", "reset", "resume")
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
        by_symbol: dict[str, list[str]]
        costs: CostModel
        _book: Book | None

        def _now(self) -> int: ...
        async def _cancel(self, order_ids: Sequence[str], now: int) -> int: ...
        async def _close_out(
            self, now: int, cancelled: list[str], *, flatten: bool, policy: str | None = None
        ) -> dict[str, Any]: ...

    loader: Callable[[str, Mapping[str, Any]], Any] | None = None
    """Return a new policy object from a reference and its parameters (the application's)."""
    references: dict[str, tuple[str, dict[str, Any]]] | None = None
    """Each strategy's reference and parameters (reload builds them again)."""
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
        if action == "add":
            return await self._add(name, operator, args)
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
                counts = {"cancelled": len(ids), "sent": len(answer["sent"])}
                await self._audit("strategy_killed", name, operator, flatten=flatten, **counts)
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
            spec = dataclasses.replace(self.specs[name], policy=self._build(name))
            runner = make_runner(spec, self.costs)
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

    def _build(self, name: str, reference: str | None = None, params: Any = None) -> Any:
        """Build ``name``'s policy (from its known reference, or the one given)."""
        known = (self.references or {}).get(name)
        if reference is None and known is None:
            msg = f"strategy {name!r} has no reference (a policy given as an object)"
            raise PolicyError(msg)
        if self.loader is None:
            msg = "this engine has no policy loader (the application gives it one)"
            raise PolicyError(msg)
        if reference is None and known is not None:
            reference, params = known
        table: Any = params or {}
        if not isinstance(table, dict):
            msg = f"params of {reference}: expected a table, got {type(table).__name__}"
            raise PolicyError(msg)
        values: dict[str, Any] = {str(k): v for k, v in table.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        policy = self.loader(str(reference), values)
        self.references = {**(self.references or {}), name: (str(reference), values)}
        return policy

    async def _add(self, name: str, operator: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Add a strategy from ``{"policy": reference, "params": {...}, "symbols": [...]}``."""
        if not name or name in self.strategies:
            msg = f"strategy {name!r} exists already (or the name is empty)"
            raise PolicyError(msg)
        symbols, reference = args.get("symbols"), args.get("policy")
        if not isinstance(reference, str) or not isinstance(symbols, list) or not symbols:
            msg = "add: expected policy (a reference) and symbols (a non-empty list)"
            raise PolicyError(msg)
        units = float(args.get("units", 1.0))
        listed: list[Any] = symbols  # pyright: ignore[reportUnknownVariableType]
        self._register(name, reference, args.get("params"), [str(s) for s in listed], units)
        added: dict[str, Any] = {"policy": reference, "symbols": list(self.specs[name].symbols)}
        added["params"] = (self.references or {})[name][1]
        await self._audit("strategy_added", name, operator, **added, units=units)
        return {"strategy": name, "state": str(self.strategies[name].state), **added}

    def _register(
        self, name: str, reference: str, params: Any, symbols: list[str], units: float
    ) -> None:
        spec = PolicySpec(name, self._build(name, reference, params), symbols, FixedUnits(units))
        runner = make_runner(spec, self.costs)
        self.specs[name], self.runners[name] = spec, runner
        self.strategies[name] = Strategy(name, DEFAULT_DECISION_BUDGET)
        for symbol in symbols:
            self.by_symbol.setdefault(symbol, []).append(name)

    def _restore_added(self) -> None:
        """Add again the strategies the journal says an operator added."""
        for event in self.book.reader.events_after(0, 1_000_000, kind="engine"):
            payload = event.payload
            if payload.get("event") == "strategy_added" and payload["strategy"] not in self.specs:
                try:
                    self._register(
                        payload["strategy"],
                        payload["policy"],
                        payload["params"],
                        payload["symbols"],
                        payload["units"],
                    )
                except Exception as exc:  # its code is gone: the others start anyway
                    self.log.error(
                        "strategy.restore_failed",
                        strategy=payload["strategy"],
                        error=f"{type(exc).__name__}: {exc}",
                    )

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
        windows = self._all_windows()  # none left: a restored blackout still ends
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
            new.append(
                Bar(
                    symbol=symbol,
                    timeframe=ring.timeframe,
                    ts=ts,
                    open=o,
                    high=h,
                    low=lo,
                    close=c,
                    volume=v,
                )
            )
    if isinstance(old, VectorRunner) and isinstance(new, VectorRunner):
        new.last = dict(old.last)
