"""The policy contracts: both engines' contexts are PolicyContexts; one fast-path registry."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from houseedge.core.execution import OrderState
from houseedge.core.policies import (
    FAST_PATH_KINDS,
    OrderPolicy,
    PolicyContext,
    SmaCross,
    crossing,
    fast_path,
    fast_paths,
    register_fast_path,
)
from houseedge.core.types import Bar, MarketSnapshot, Order, PortfolioState
from houseedge.errors import PolicyError
from houseedge.live.engine.pipeline import LiveContext, OrderRunner, PolicySpec
from houseedge.research.events import EventContext, run_events

CONTEXTS = [EventContext, LiveContext]


def _members(protocol: type) -> list[str]:
    return sorted(name for name in vars(protocol) if not name.startswith("_"))


@pytest.mark.parametrize("cls", CONTEXTS, ids=lambda cls: cls.__name__)
def test_each_engine_context_accepts_every_call_the_protocol_allows(cls: type) -> None:
    for name in _members(PolicyContext):
        wanted = getattr(PolicyContext, name)
        if isinstance(wanted, property):
            continue  # ts: an instance attribute, checked on live instances below
        given = inspect.signature(getattr(cls, name)).parameters
        takes_any_keyword = any(p.kind is p.VAR_KEYWORD for p in given.values())
        for parameter in inspect.signature(wanted).parameters.values():
            if parameter.name in given:
                has_default = given[parameter.name].default is not inspect.Parameter.empty
                assert has_default or parameter.default is inspect.Parameter.empty, (cls, name)
            else:
                assert parameter.kind is parameter.KEYWORD_ONLY and takes_any_keyword, (cls, name)


class Desk:
    """The engine's book as a LiveContext reads it: nothing held, nothing working."""

    def position(self, symbol: str, policy: str | None = None) -> float:
        return 0.0

    def open_orders(self, policy: str | None = None, symbol: str | None = None) -> list[Any]:
        return []

    def __init__(self) -> None:
        self.ids = itertools.count(1)

    def new_id(self, policy: str) -> str:
        return f"{policy}-{next(self.ids)}"

    def account(self) -> tuple[float, float]:
        return 1_000.0, 1_000.0

    def request_cancel(self, order_id: str) -> None:
        raise AssertionError(order_id)


@dataclass
class BuyOnce:
    """An order policy written against PolicyContext only: one limit buy, then nothing."""

    seen: list[Any]
    name: str = "buy_once"

    def params(self) -> dict[str, Any]:
        return {}

    def decide(
        self, portfolio: PortfolioState, snapshot: MarketSnapshot, context: PolicyContext
    ) -> Sequence[Order]:
        self.seen.append(context)
        if context.open_orders("X") or portfolio.qty("X") or len(self.seen) > 1:
            return []
        assert context.history("X").height >= 1 and context.new_id() != context.new_id()
        return [context.order("X", "buy", 2, type="limit", limit_price=1.0, tif="gtc")]


def test_the_same_order_policy_decides_in_both_engines() -> None:
    bars = pl.DataFrame({"ts": [1, 2], "open": [1.0, 1.0], "high": [1.0, 1.0], "low": [1.0, 1.0]})
    bars = bars.with_columns(close=pl.lit(1.0), symbol=pl.lit("X"))
    backtest = BuyOnce([])
    result = run_events(bars, backtest)
    assert result.orders.select("qty", "price").rows() == [(2.0, 1.0)]
    live = BuyOnce([])
    runner = OrderRunner(PolicySpec("buy_once", live, ["X"]))
    bar = Bar(symbol="X", timeframe="1d", ts=1, open=1.0, high=1.0, low=1.0, close=1.0, volume=0)
    runner.append(bar)
    (order,) = runner.decide(bar, 2, Desk(), {"X": 1.0})
    assert (order.client_order_id, order.qty, order.limit_price, order.ts) == (
        "buy_once-3",
        2,
        1.0,
        2,
    )
    for context in (backtest.seen[0], live.seen[0]):
        assert isinstance(context, PolicyContext)
    assert isinstance(backtest, OrderPolicy) and isinstance(live, OrderPolicy)


def test_a_live_context_without_working_orders_cancels_nothing() -> None:
    context = LiveContext(Desk(), "p", OrderRunner(PolicySpec("p", None, ["X"])).history, 7)
    states: list[OrderState] = list(context.open_orders())
    assert (context.ts, states, context.cancel("p-9"), context.new_id()) == (7, [], False, "p-1")


class Flat:
    name, warmup = "flat", 0

    def params(self) -> dict[str, Any]:
        return {}

    def target(self) -> pl.Expr:
        return pl.lit(0.0)


class FlatStepper:
    def __init__(self, policy: Flat, symbol: str) -> None:
        self.symbol = symbol

    def step(self, bar: Bar) -> float | None:
        return 0.0


def test_fast_paths_are_found_by_exact_class_and_kind() -> None:
    register_fast_path("stepper", Flat, FlatStepper)

    class Subclass(Flat):
        def target(self) -> pl.Expr:
            return pl.lit(1.0)

    assert fast_path("stepper", Flat()) is FlatStepper and fast_path("stepper", Flat) is FlatStepper
    assert fast_path("stepper", Subclass()) is None  # it may redefine target()
    assert fast_path("sweep_target", Flat) is None
    assert fast_paths("stepper")[Flat] is FlatStepper
    assert set(FAST_PATH_KINDS) == {"stepper", "sweep_target"}
    with pytest.raises(TypeError):
        fast_paths("stepper")[Subclass] = FlatStepper  # type: ignore[index]


def test_fast_path_registry_rejects_unknown_kinds_and_non_classes() -> None:
    with pytest.raises(PolicyError, match=r"fast path kind 'kernel': expected one of stepper, "):
        fast_path("kernel", SmaCross(1, 2))  # type: ignore[call-overload]
    with pytest.raises(PolicyError, match="fast path kind 'Stepper'"):
        register_fast_path("Stepper", Flat, FlatStepper)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cls must be a policy class, got <"):
        register_fast_path("stepper", Flat(), FlatStepper)  # type: ignore[arg-type]


def test_crossing_is_the_cross_policies_target() -> None:
    frame = pl.DataFrame({"close": [3.0, 2.0, 1.0, 1.0, 2.0, 3.0, 1.0, 2.0]})
    diff = pl.col("close") - pl.col("close").rolling_mean(2)
    for mode in ("long_only", "long_short"):
        for signal in ("level", "cross"):
            policy = SmaCross(1, 2, mode, signal)  # type: ignore[arg-type]
            own = frame.select(policy.target()).to_series().to_list()
            assert frame.select(crossing(diff, mode, signal)).to_series().to_list() == own  # type: ignore[arg-type]
