"""Domain types: invariants on construction, JSON round trips of the report union."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from houseedge.core.types import (
    Bar,
    CancelRejected,
    CancelRequested,
    Fill,
    Liquidity,
    MarketSnapshot,
    Order,
    OrderAccepted,
    OrderAnomaly,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderReport,
    OrderSubmitted,
    OrderType,
    PortfolioState,
    Position,
    Side,
    TimeInForce,
)


def order(**changes: Any) -> Order:
    fields: dict[str, Any] = {"client_order_id": "o1", "symbol": "X", "side": Side.BUY, "qty": 5}
    return Order(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qty": 0}, "qty must be finite and > 0"),
        ({"qty": -1}, "qty must be finite and > 0"),
        ({"qty": math.nan}, "qty must be finite and > 0"),
        ({"qty": math.inf}, "qty must be finite and > 0"),
        ({"client_order_id": ""}, "needs a client_order_id"),
        ({"symbol": ""}, "symbol is empty"),
        ({"type": OrderType.LIMIT}, "needs a limit_price"),
        ({"type": OrderType.STOP}, "needs a stop_price"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": 1.0}, "needs a limit_price"),
        ({"type": OrderType.STOP_LIMIT, "limit_price": 1.0}, "needs a stop_price"),
        ({"limit_price": 1.0}, "takes no limit_price"),
        ({"type": OrderType.LIMIT, "limit_price": 1.0, "stop_price": 2.0}, "takes no stop_price"),
        ({"type": OrderType.LIMIT, "limit_price": -1.0}, "limit_price must be finite"),
        ({"type": OrderType.STOP, "stop_price": math.nan}, "stop_price must be finite"),
        ({"tif": TimeInForce.GTD}, "expire_ts"),
        ({"expire_ts": 5}, "expire_ts"),
    ],
)
def test_invalid_orders_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        order(**changes)


def test_valid_orders_of_every_type() -> None:
    assert order().type is OrderType.MARKET
    assert order().tif is TimeInForce.DAY
    assert order(type="limit", limit_price=2.0).limit_price == 2.0
    assert order(type="stop", stop_price=2.0).stop_price == 2.0
    both = order(type="stop_limit", stop_price=2.0, limit_price=2.5, tif="gtd", expire_ts=9)
    assert (both.stop_price, both.limit_price, both.expire_ts) == (2.0, 2.5, 9)
    assert order(side=Side.SELL, qty=2.5).signed_qty == -2.5


def test_replacing_a_field_checks_invariants_again() -> None:
    with pytest.raises(ValueError, match="qty"):
        msgspec.structs.replace(order(), qty=0)


def test_orders_decode_from_json_with_validation() -> None:
    raw = b'{"client_order_id":"a","symbol":"X","side":"sell","qty":3,"type":"limit"}'
    with pytest.raises(ValueError, match="limit_price"):
        msgspec.json.decode(raw, type=Order)
    good = msgspec.json.decode(raw.replace(b"}", b',"limit_price":4.5}'), type=Order)
    assert (good.side, good.type, good.limit_price) == (Side.SELL, OrderType.LIMIT, 4.5)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(raw.replace(b'"sell"', b'"short"'), type=Order)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qty": 0}, "qty"),
        ({"price": 0.0}, "price"),
        ({"fee": math.nan}, "fee"),
        ({"fill_id": ""}, "fill_id"),
    ],
)
def test_invalid_fills_are_refused(changes: dict[str, Any], message: str) -> None:
    fields = {
        "fill_id": "f",
        "order_id": "o",
        "symbol": "X",
        "side": Side.BUY,
        "qty": 1,
        "price": 1.0,
    }
    with pytest.raises(ValueError, match=message):
        Fill(**(fields | changes))


REPORTS: list[Any] = [
    OrderSubmitted(order_id="o", ts=1),
    OrderAccepted(order_id="o", ts=2, venue_order_id="v9"),
    OrderRejected(order_id="o", ts=3, reason="no"),
    Fill(
        fill_id="f",
        order_id="o",
        symbol="X",
        side=Side.SELL,
        qty=2,
        price=3.0,
        fee=0.1,
        ts=4,
        liquidity=Liquidity.MAKER,
    ),
    CancelRequested(order_id="o", ts=5),
    CancelRejected(order_id="o", ts=6, reason="too late"),
    OrderCancelled(order_id="o", ts=7),
    OrderExpired(order_id="o", ts=8),
]


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: type(r).__name__)
def test_reports_round_trip_through_the_tagged_union(report: Any) -> None:
    encoded = msgspec.json.encode(report)
    assert msgspec.json.decode(encoded, type=OrderReport) == report
    assert b'"type":' in encoded


def test_report_tags_are_distinct_and_unknown_tags_fail() -> None:
    tags = [type(r).__struct_config__.tag for r in REPORTS]
    assert len(set(tags)) == len(tags)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"type":"teleported","order_id":"o"}', type=OrderReport)


def test_anomaly_encodes_with_its_tag() -> None:
    anomaly = OrderAnomaly(order_id="o", ts=1, status="filled", report="fill", reason="overfill")
    assert msgspec.json.decode(msgspec.json.encode(anomaly), type=OrderAnomaly) == anomaly


def test_portfolio_and_snapshot_lookups() -> None:
    state = PortfolioState(
        ts=1, cash=10.0, equity=40.0, positions={"X": Position(symbol="X", qty=-3, avg_price=10.0)}
    )
    assert state.qty("X") == -3
    assert state.qty("Y") == 0.0
    assert state.positions["X"].market_value(10.0) == -30.0
    snapshot = MarketSnapshot(ts=1, last={"X": 10.0})
    assert snapshot.price("X") == 10.0
    with pytest.raises(KeyError):
        snapshot.price("Y")


def test_structs_are_frozen() -> None:
    with pytest.raises(AttributeError):
        order().qty = 10  # type: ignore[misc]


def test_bar_checks_ohlc() -> None:
    with pytest.raises(ValueError, match="OHLC"):
        Bar(symbol="X", timeframe="1d", ts=0, open=1.0, high=0.9, low=0.5, close=0.8, volume=1)


def test_side_sign() -> None:
    assert (Side.BUY.sign, Side.SELL.sign) == (1, -1)


def test_strings_become_enums() -> None:
    made = order(side="sell", type="limit", limit_price=1.0, tif="gtc")
    assert made.side is Side.SELL
    assert made.type is OrderType.LIMIT
    assert made.tif is TimeInForce.GTC
    with pytest.raises(ValueError, match="'sideways'"):
        order(side="sideways")
    fill = Fill(
        fill_id="f",
        order_id="o",
        symbol="X",
        side="buy",
        qty=1,
        price=1.0,  # type: ignore[arg-type]
        liquidity="maker",
    )  # type: ignore[arg-type]
    assert (fill.side, fill.liquidity) == (Side.BUY, Liquidity.MAKER)
