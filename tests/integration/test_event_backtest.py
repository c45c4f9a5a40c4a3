"""The event-driven backtest: order types, time in force, participation, cancel/replace, and
identical results to the vectorised engine on policies both can run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from houseedge.core.costs import LinearCostModel
from houseedge.core.policies.builtin import DonchianBreakout, RsiReversion, SmaCross
from houseedge.core.sizing.sizers import FixedUnits
from houseedge.core.types import Order, Side
from houseedge.data.synthetic._market import synthetic_bars
from houseedge.errors import PolicyError, SchemaMismatch
from houseedge.research.backtest import backtest
from houseedge.research.events import EventContext, VectorAsOrders, run_events

Step = Callable[[Any, Any, EventContext], Sequence[Order] | None]
DAY = timedelta(days=1)
START = datetime(2024, 1, 1, tzinfo=UTC)


class Script:
    """An order policy that runs a given function at given steps (and records what it saw)."""

    name = "script"

    def __init__(self, steps: dict[int, Step]) -> None:
        self.steps = steps
        self.seen: list[tuple[int, int, int]] = []

    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, portfolio: Any, snapshot: Any, context: EventContext) -> Sequence[Order]:
        last = context.history("asset").get_column("ts").to_physical()[-1]
        self.seen.append((context.step, snapshot.ts, last))
        step = self.steps.get(context.step)
        return (step(portfolio, snapshot, context) or []) if step else []


def make_bars(
    rows: list[tuple[float, float, float, float]],
    *,
    every: timedelta = DAY,
    volume: float = 1_000.0,
    start: datetime = START,
) -> pl.DataFrame:
    """Bars from (open, high, low, close) rows."""
    return pl.DataFrame(
        {
            "ts": [start + i * every for i in range(len(rows))],
            "open": [r[0] for r in rows],
            "high": [r[1] for r in rows],
            "low": [r[2] for r in rows],
            "close": [r[3] for r in rows],
            "volume": [volume] * len(rows),
        },
        schema_overrides={"ts": pl.Datetime("ns", "UTC")},
    )


FLAT = (100.0, 101.0, 99.0, 100.0)


def at_step(step: int, **order: Any) -> Script:
    """A script that submits one order at ``step``."""
    kw = {"symbol": "asset", "side": Side.BUY, "qty": 10} | order

    def submit(_p: Any, _s: Any, c: EventContext) -> list[Order]:
        rest = {k: v for k, v in kw.items() if k not in ("symbol", "side", "qty")}
        return [c.order(kw["symbol"], kw["side"], kw["qty"], **rest)]

    return Script({step: submit})


def fills(result: Any) -> list[tuple[int, str, float, float]]:
    orders = result.orders.with_columns(pl.col("row"))
    return orders.select("row", "side", "qty", "price").rows()


def statuses(result: Any) -> list[str]:
    return result.order_log.get_column("status").to_list()


# -- parity with the vectorised engine -----------------------------------------------------


@pytest.fixture(scope="module")
def market() -> pl.DataFrame:
    return synthetic_bars(["AAA"], periods=1_500, timeframe="1d", seed=11)


PARITY = [
    SmaCross(10, 30),
    SmaCross(5, 20, "long_short", signal="cross"),
    DonchianBreakout(20, 10, "long_short"),
    RsiReversion(14, 30, 70),
]


@pytest.mark.parametrize("policy", PARITY, ids=lambda p: repr(p))
@pytest.mark.parametrize("finalize", [None, "open", "close"])
def test_vector_policy_gives_identical_results_on_both_paths(
    market: pl.DataFrame, policy: Any, finalize: Any
) -> None:
    costs = LinearCostModel(commission_bps=10, min_commission=1.0, spread_bps=5, borrow_bps=50)
    sizing = FixedUnits(7)
    vector = backtest(market, policy, costs=costs, sizing=sizing, finalize=finalize)
    events = run_events(market, VectorAsOrders(policy, sizing), costs=costs, finalize=finalize)
    assert vector.orders.height > 10
    assert events.orders.equals(vector.orders)
    assert events.trades.equals(vector.trades)
    assert events.open_trades.equals(vector.open_trades)
    assert events.equity.equals(vector.equity)
    assert events.metrics["final_equity"] == vector.metrics["final_equity"]
    assert events.anomalies.height == 0


def test_vector_adapter_without_precompute_matches(market: pl.DataFrame) -> None:
    bars = market.head(200)
    policy = SmaCross(5, 20, "long_short")
    fast = run_events(bars, VectorAsOrders(policy, FixedUnits(3)))
    slow = run_events(bars, VectorAsOrders(policy, FixedUnits(3), precompute=False))
    assert fast.orders.height > 4
    assert slow.orders.equals(fast.orders)


def test_vector_adapter_respects_long_only_override(market: pl.DataFrame) -> None:
    policy = SmaCross(5, 20, "long_short")
    result = run_events(market.head(300), VectorAsOrders(policy, allow_short=False))
    assert result.orders.get_column("position_after").min() == 0.0
    vector = backtest(market.head(300), policy, sizing=FixedUnits(), allow_short=False)
    assert result.orders.equals(vector.orders)


# -- order types -----------------------------------------------------------------------------


def test_market_order_fills_at_next_open_with_costs() -> None:
    bars = make_bars([FLAT, (102.0, 103.0, 101.0, 102.0), FLAT])
    costs = LinearCostModel(spread_bps=20, commission_per_share=0.5)
    result = run_events(bars, at_step(0), costs=costs)
    assert fills(result) == [(1, "buy", 10.0, pytest.approx(102.0 * 1.001))]
    assert result.orders.get_column("fee").to_list() == [5.0]
    assert result.orders.get_column("decision_ts").to_list() == [START]


@pytest.mark.parametrize(
    ("side", "limit", "bar", "price"),
    [
        (Side.BUY, 98.0, (100.0, 101.0, 97.0, 99.0), 98.0),  # trades through: at the limit
        (Side.BUY, 98.0, (96.0, 97.0, 95.0, 96.0), 96.0),  # gapped below: at the better open
        (Side.SELL, 102.0, (100.0, 103.0, 99.0, 101.0), 102.0),
        (Side.SELL, 102.0, (104.0, 105.0, 103.0, 104.0), 104.0),
    ],
)
def test_limit_order_fills_when_the_bar_trades_through(
    side: Side, limit: float, bar: tuple[float, ...], price: float
) -> None:
    bars = make_bars([FLAT, FLAT, bar, FLAT])  # the first active bar does not reach the limit
    result = run_events(bars, at_step(0, side=side, type="limit", limit_price=limit, tif="gtc"))
    assert fills(result) == [(2, str(side), 10.0, price)]
    assert statuses(result) == ["filled"]


def test_limit_order_never_fills_worse_than_its_limit_after_costs() -> None:
    bars = make_bars([FLAT, (100.0, 101.0, 97.0, 99.0)])
    costs = LinearCostModel(spread_bps=100)
    policy = at_step(0, type="limit", limit_price=98.0)
    assert fills(run_events(bars, policy, costs=costs)) == [(1, "buy", 10.0, 98.0)]


@pytest.mark.parametrize(
    ("side", "stop", "bar", "price"),
    [
        (Side.BUY, 102.0, (100.0, 103.0, 99.0, 102.5), 102.0),
        (Side.BUY, 102.0, (105.0, 106.0, 104.0, 105.0), 105.0),  # gap through: the open
        (Side.SELL, 98.0, (100.0, 101.0, 97.0, 97.5), 98.0),
        (Side.SELL, 98.0, (95.0, 96.0, 94.0, 95.0), 95.0),
    ],
)
def test_stop_order_triggers_on_touch_and_gaps_fill_at_the_open(
    side: Side, stop: float, bar: tuple[float, ...], price: float
) -> None:
    bars = make_bars([FLAT, FLAT, bar])
    result = run_events(bars, at_step(0, side=side, type="stop", stop_price=stop, tif="gtc"))
    assert fills(result) == [(2, str(side), 10.0, price)]


def test_stop_order_pays_slippage() -> None:
    bars = make_bars([FLAT, (100.0, 103.0, 99.0, 102.5)])
    costs = LinearCostModel(slippage_bps=10)
    result = run_events(bars, at_step(0, type="stop", stop_price=102.0), costs=costs)
    assert fills(result) == [(1, "buy", 10.0, pytest.approx(102.0 * 1.001))]


def test_stop_limit_fills_on_the_trigger_bar_when_within_the_limit() -> None:
    bars = make_bars([FLAT, (100.0, 103.0, 99.0, 102.5)])
    policy = at_step(0, type="stop_limit", stop_price=102.0, limit_price=102.5)
    assert fills(run_events(bars, policy)) == [(1, "buy", 10.0, 102.0)]


def test_stop_limit_gapping_past_its_limit_rests_as_a_limit() -> None:
    gap = (105.0, 106.0, 101.0, 104.0)  # triggers at 105 > limit 103: no fill on this bar
    back = (104.0, 104.5, 102.5, 103.0)  # trades down through 103
    bars = make_bars([FLAT, gap, back, FLAT])
    policy = at_step(0, type="stop_limit", stop_price=102.0, limit_price=103.0, tif="gtc")
    assert fills(run_events(bars, policy)) == [(2, "buy", 10.0, 103.0)]


def test_untriggered_stop_limit_does_not_fill_as_a_limit() -> None:
    bars = make_bars([FLAT, (100.0, 101.0, 95.0, 96.0)])  # under the limit but never the stop
    policy = at_step(0, type="stop_limit", stop_price=102.0, limit_price=103.0, tif="gtc")
    result = run_events(bars, policy)
    assert fills(result) == []
    assert statuses(result) == ["accepted"]


# -- time in force ---------------------------------------------------------------------------


def test_day_order_on_daily_bars_works_one_bar() -> None:
    bars = make_bars([FLAT, FLAT, (100.0, 101.0, 90.0, 95.0)])
    result = run_events(bars, at_step(0, type="limit", limit_price=95.0, tif="day"))
    assert fills(result) == []
    assert statuses(result) == ["expired"]


def test_day_order_on_hourly_bars_works_through_its_utc_day() -> None:
    start = datetime(2024, 1, 1, 20, tzinfo=UTC)  # 20:00 .. 23:00, then the next day
    rows = [FLAT] * 6 + [(100.0, 101.0, 90.0, 95.0)]
    bars = make_bars(rows, every=timedelta(hours=1), start=start)
    same_day = at_step(0, type="limit", limit_price=95.0, tif="day")
    bars_hit_today = make_bars(
        [FLAT, FLAT, (100.0, 101.0, 90.0, 95.0), FLAT], every=timedelta(hours=1), start=start
    )
    assert statuses(run_events(bars, same_day)) == ["expired"]
    assert fills(run_events(bars_hit_today, same_day)) == [(2, "buy", 10.0, 95.0)]


def test_gtc_order_works_until_filled() -> None:
    bars = make_bars([FLAT] * 5 + [(100.0, 101.0, 90.0, 95.0)])
    result = run_events(bars, at_step(0, type="limit", limit_price=95.0, tif="gtc"))
    assert fills(result) == [(5, "buy", 10.0, 95.0)]


def test_gtd_order_expires_at_its_time() -> None:
    bars = make_bars([FLAT] * 5 + [(100.0, 101.0, 90.0, 95.0)])
    expire = int((START + 3 * DAY).timestamp()) * 1_000_000_000
    policy = at_step(0, type="limit", limit_price=95.0, tif="gtd", expire_ts=expire)
    result = run_events(bars, policy)
    assert fills(result) == []
    assert statuses(result) == ["expired"]


def test_ioc_fills_what_it_can_then_expires() -> None:
    bars = make_bars([FLAT, FLAT, FLAT], volume=50.0)
    result = run_events(bars, at_step(0, qty=20, tif="ioc"), participation=0.2)
    assert fills(result) == [(1, "buy", 10.0, 100.0)]
    assert result.order_log.select("status", "filled_qty").rows() == [("expired", 10.0)]


@pytest.mark.parametrize(("volume", "filled"), [(50.0, []), (100.0, [(1, "buy", 20.0, 100.0)])])
def test_fok_fills_entirely_or_not_at_all(volume: float, filled: list[Any]) -> None:
    bars = make_bars([FLAT, FLAT, FLAT], volume=volume)
    result = run_events(bars, at_step(0, qty=20, tif="fok"), participation=0.2)
    assert fills(result) == filled
    assert statuses(result) == ["filled" if filled else "expired"]


def test_ioc_limit_that_is_not_reached_expires_unfilled() -> None:
    bars = make_bars([FLAT, FLAT, (100.0, 101.0, 90.0, 95.0)])
    result = run_events(bars, at_step(0, type="limit", limit_price=95.0, tif="ioc"))
    assert fills(result) == []
    assert statuses(result) == ["expired"]


# -- participation and partial fills --------------------------------------------------------


def test_participation_splits_an_order_over_bars() -> None:
    bars = make_bars([FLAT] * 5, volume=100.0)
    result = run_events(bars, at_step(0, qty=25, tif="gtc"), participation=0.1)
    assert [row[2] for row in fills(result)] == [10.0, 10.0, 5.0]
    assert result.orders.get_column("position_after").to_list() == [10.0, 20.0, 25.0]
    assert statuses(result) == ["filled"]


def test_orders_share_a_bar_budget_oldest_first() -> None:
    def two(_p: Any, _s: Any, c: EventContext) -> list[Order]:
        return [c.order("asset", "buy", 8, tif="gtc"), c.order("asset", "sell", 8, tif="gtc")]

    bars = make_bars([FLAT] * 3, volume=100.0)
    result = run_events(bars, Script({0: two}), participation=0.1)
    assert [(r[0], r[1], r[2]) for r in fills(result)] == [
        (1, "buy", 8.0),
        (1, "sell", 2.0),
        (2, "sell", 6.0),
    ]


def test_day_order_rest_expires_after_partial_fills() -> None:
    bars = make_bars([FLAT] * 3, volume=100.0)
    result = run_events(bars, at_step(0, qty=25, tif="day"), participation=0.1)
    assert result.order_log.select("status", "filled_qty").rows() == [("expired", 10.0)]


# -- cancel, replace, latency ---------------------------------------------------------------


def resting_limit(_p: Any, _s: Any, c: EventContext) -> list[Order]:
    return [c.order("asset", "buy", 10, type="limit", limit_price=95.0, tif="gtc", tag="dip")]


def test_cancel_stops_a_resting_order() -> None:
    def cancel(_p: Any, _s: Any, c: EventContext) -> None:
        (state,) = c.open_orders("asset")
        assert c.cancel(state.order.client_order_id)

    bars = make_bars([FLAT, FLAT, FLAT, (100.0, 101.0, 90.0, 95.0)])
    result = run_events(bars, Script({0: resting_limit, 2: cancel}))
    assert fills(result) == []
    assert result.order_log.select("status", "tag").rows() == [("cancelled", "dip")]
    assert result.anomalies.height == 0


def test_cancel_that_lands_after_the_fill_leaves_the_order_filled() -> None:
    def cancel(_p: Any, _s: Any, c: EventContext) -> None:
        c.cancel("script-1")

    bars = make_bars([FLAT, FLAT, (100.0, 101.0, 90.0, 95.0), FLAT, FLAT])
    result = run_events(bars, Script({0: resting_limit, 1: cancel}), latency_bars=1)
    assert fills(result) == [(2, "buy", 10.0, 95.0)]
    assert statuses(result) == ["filled"]
    assert result.anomalies.height == 0


def test_replace_moves_the_limit() -> None:
    def replace(_p: Any, _s: Any, c: EventContext) -> None:
        assert c.replace("script-1", limit_price=99.5) == "script-2"

    bars = make_bars([FLAT, FLAT, FLAT, FLAT])
    result = run_events(bars, Script({0: resting_limit, 1: replace}))
    assert fills(result) == [(2, "buy", 10.0, 99.5)]
    assert result.order_log.select("order_id", "status", "limit_price").rows() == [
        ("script-1", "cancelled", 95.0),
        ("script-2", "filled", 99.5),
    ]


def test_replace_after_a_partial_fill_covers_the_rest() -> None:
    def replace(_p: Any, _s: Any, c: EventContext) -> None:
        c.replace("script-1", limit_price=101.0)

    def order(_p: Any, _s: Any, c: EventContext) -> list[Order]:
        return [c.order("asset", "buy", 25, type="limit", limit_price=100.0, tif="gtc")]

    bars = make_bars([FLAT] * 4, volume=100.0)
    result = run_events(bars, Script({0: order, 1: replace}), participation=0.1)
    assert fills(result) == [
        (1, "buy", 10.0, 100.0),
        (2, "buy", 10.0, 100.0),
        (3, "buy", 5.0, 100.0),
    ]
    assert result.order_log.select("qty", "status", "filled_qty").rows() == [
        (25.0, "cancelled", 10.0),
        (15.0, "filled", 15.0),
    ]


def test_replace_of_an_order_that_filled_meanwhile_is_rejected() -> None:
    def replace(_p: Any, _s: Any, c: EventContext) -> None:
        c.replace("script-1", qty=5)

    bars = make_bars([FLAT, FLAT, FLAT, FLAT])
    result = run_events(bars, Script({0: at_step(0).steps[0], 1: replace}), latency_bars=1)
    assert result.order_log.select("status", "reason").rows() == [
        ("filled", ""),
        ("rejected", "replaced_order_closed"),
    ]
    assert result.anomalies.height == 0


def test_two_cancels_of_one_order_raise_no_anomaly() -> None:
    def cancel(_p: Any, _s: Any, c: EventContext) -> None:
        assert c.cancel("script-1")

    bars = make_bars([FLAT] * 8)
    result = run_events(bars, Script({0: resting_limit, 1: cancel, 2: cancel}), latency_bars=2)
    assert statuses(result) == ["cancelled"]
    assert result.anomalies.height == 0


@pytest.mark.parametrize("latency", [0, 1, 3])
def test_latency_delays_execution(latency: int) -> None:
    bars = make_bars([FLAT] * 6)
    result = run_events(bars, at_step(0, tif="gtc"), latency_bars=latency)
    assert fills(result) == [(1 + latency, "buy", 10.0, 100.0)]


# -- portfolio, quantities, time -------------------------------------------------------------


def test_policy_sees_no_future_and_one_decision_per_bar() -> None:
    policy = Script({})
    bars = make_bars([FLAT] * 4)
    run_events(bars, policy)
    times = bars.get_column("ts").to_physical().to_list()
    assert policy.seen == [(k, t, t) for k, t in enumerate(times)]


def test_fractional_lots_keep_positions_exact() -> None:
    def churn(portfolio: Any, _s: Any, c: EventContext) -> list[Order]:
        if c.step < 10:
            return [c.order("asset", "buy", 0.1)]
        held = portfolio.qty("asset")
        return [c.order("asset", "sell", held)] if held else []

    bars = make_bars([FLAT] * 13)
    result = run_events(bars, Script(dict.fromkeys(range(13), churn)), lot_size=0.1)
    positions = result.orders.get_column("position_after").to_list()
    assert positions[9] == pytest.approx(1.0)
    assert positions[-1] == 0.0
    assert result.orders.height == 11


def test_quantities_round_down_to_lots_and_tiny_orders_are_rejected() -> None:
    def orders(_p: Any, _s: Any, c: EventContext) -> list[Order]:
        return [c.order("asset", "buy", 7.9), c.order("asset", "buy", 0.5)]

    result = run_events(make_bars([FLAT, FLAT]), Script({0: orders}))
    assert fills(result) == [(1, "buy", 7.0, 100.0)]
    assert result.order_log.select("status", "reason").rows() == [
        ("filled", ""),
        ("rejected", "below_lot_size"),
    ]


def test_portfolio_state_is_marked_at_the_close() -> None:
    marks: list[tuple[float, float, float]] = []

    class Watch(Script):
        def decide(self, portfolio: Any, snapshot: Any, context: EventContext) -> Any:
            marks.append((portfolio.cash, portfolio.equity, portfolio.qty("asset")))
            return [context.order("asset", "buy", 10)] if context.step == 0 else []

    bars = make_bars([FLAT, (100.0, 106.0, 99.0, 105.0), FLAT])
    run_events(bars, Watch({}), cash=2_000.0)
    assert marks == [(2_000.0, 2_000.0, 0.0), (1_000.0, 2_050.0, 10.0), (1_000.0, 2_000.0, 10.0)]


def test_multi_symbol_calendars_decide_once_per_time() -> None:
    a = make_bars([FLAT] * 4).with_columns(symbol=pl.lit("A"))
    b = make_bars([FLAT] * 2, start=START + DAY).with_columns(symbol=pl.lit("B"))
    seen: list[list[str]] = []

    class Both(Script):
        def decide(self, portfolio: Any, snapshot: Any, context: EventContext) -> Any:
            seen.append(sorted(snapshot.bars))
            return [context.order("B", "buy", 1)] if context.step == 0 else []

    result = run_events(pl.concat([b, a]), Both({}))
    assert seen == [["A"], ["A", "B"], ["A", "B"], ["A"]]
    assert result.orders.select("symbol", "row").rows() == [("B", 0)]


def test_a_run_without_orders_keeps_its_cash() -> None:
    result = run_events(make_bars([FLAT] * 3), Script({}), cash=500.0)
    assert result.orders.height == 0
    assert result.equity.get_column("equity").to_list() == [500.0] * 3


# -- misuse ------------------------------------------------------------------------------------


def test_policy_bugs_raise_policy_errors() -> None:
    bars = make_bars([FLAT, FLAT])
    with pytest.raises(PolicyError, match="no bars"):
        run_events(bars, at_step(0, symbol="ZZZ"))
    dup = Script(
        {
            0: lambda _p, _s, _c: (
                [Order(client_order_id="x", symbol="asset", side=Side.BUY, qty=1)] * 2
            )
        }
    )
    with pytest.raises(PolicyError, match="reused"):
        run_events(bars, dup)
    with pytest.raises(PolicyError, match="not an Order"):
        run_events(bars, Script({0: lambda _p, _s, _c: ["buy"]}))  # type: ignore[list-item]


def test_bad_arguments_are_refused() -> None:
    bars = make_bars([FLAT])
    with pytest.raises(SchemaMismatch, match="volume"):
        run_events(bars.drop("volume"), Script({}), participation=0.5)
    for kwargs in (
        {"participation": 0.0},
        {"latency_bars": -1},
        {"lot_size": 0.0},
        {"finalize": "later"},
    ):
        with pytest.raises(ValueError, match="must"):
            run_events(bars, Script({}), **kwargs)
