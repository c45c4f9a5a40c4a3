"""Binance adapter without I/O: every python-binance exception is translated, the public
surface is pinned, filters and mapping, and keys never reach a log line or a repr."""

from __future__ import annotations

import inspect
import json
from decimal import Decimal

import msgspec
import pytest
import structlog

import houseedge.adapters.binance as package
from houseedge.adapters.binance._lib import binance_exceptions
from houseedge.adapters.binance.config import BinanceConfig
from houseedge.adapters.binance.errors import (
    MAPPED,
    BinanceAuthError,
    BinanceDuplicateOrder,
    BinanceError,
    BinanceOrderNotFound,
    RateLimited,
    translate,
)
from houseedge.adapters.binance.mapping import order_params
from houseedge.adapters.binance.schemas import ExecutionReport, decode_user_event
from houseedge.core.broker import DuplicateOrder, OrderNotFound
from houseedge.core.types import Order
from houseedge.errors import BrokerError, BrokerUnavailable, OrderRejected


def _upstream() -> list[type[BaseException]]:
    module = binance_exceptions.__name__
    classes = inspect.getmembers(binance_exceptions, inspect.isclass)
    return [c for _, c in classes if issubclass(c, BaseException) and c.__module__ == module]


def _instance(kind: type[BaseException]) -> BaseException:
    if kind is binance_exceptions.BinanceAPIException:
        return kind(None, 400, json.dumps({"code": -1100, "msg": "Illegal characters"}))
    if kind is binance_exceptions.BinanceRegionException:
        return kind("us", "com")
    if kind is binance_exceptions.BinanceOrderException:
        return kind(-1013, "bad")
    params = list(inspect.signature(kind.__init__).parameters)[1:]
    return kind(*["x"] * len([p for p in params if p not in ("args", "kwargs")]))


def test_every_python_binance_exception_is_mapped() -> None:
    upstream = _upstream()
    assert len(upstream) >= 10  # the module was read, not an empty list
    for kind in upstream:
        assert kind in MAPPED, f"{kind.__name__} is not translated"
        error = translate(_instance(kind))
        assert isinstance(error, BinanceError) and isinstance(error, BrokerError), kind


@pytest.mark.parametrize(
    ("status", "body", "kind", "parent"),
    [
        (400, {"code": -2010, "msg": "Duplicate order sent."}, BinanceDuplicateOrder,
         DuplicateOrder),
        (400, {"code": -2010, "msg": "Account has insufficient balance."}, BinanceError,
         OrderRejected),
        (400, {"code": -1022, "msg": "Signature for this request is not valid."},
         BinanceAuthError, BrokerError),
        (400, {"code": -1021, "msg": "Timestamp outside recvWindow."}, BinanceAuthError,
         BrokerError),
        (400, {"code": -2013, "msg": "Order does not exist."}, BinanceOrderNotFound,
         OrderNotFound),
        (429, {"code": -1003, "msg": "Too many requests"}, RateLimited, BrokerUnavailable),
        (418, {"code": -1003, "msg": "IP banned"}, RateLimited, BrokerUnavailable),
        (503, {"code": -1007, "msg": "Timeout"}, BinanceError, BrokerUnavailable),
    ],
)  # fmt: skip
def test_api_errors_by_code_and_status(status: int, body: dict, kind: type, parent: type) -> None:
    error = translate(binance_exceptions.BinanceAPIException(None, status, json.dumps(body)))
    assert isinstance(error, kind) and isinstance(error, parent)
    assert error.code == body["code"] and error.status == status


def test_public_surface_is_pinned() -> None:
    assert package.__all__ == sorted(package.__all__)
    assert package.__all__ == [
        "BinanceAuthError",
        "BinanceBroker",
        "BinanceConfig",
        "BinanceDuplicateOrder",
        "BinanceError",
        "BinanceFeed",
        "BinanceOrderNotFound",
        "BinanceOrderRejected",
        "BinanceUnavailable",
        "FilterViolation",
        "RateLimited",
        "SymbolFilters",
        "build_venue",
        "config_from_settings",
        "ingest_bars",
    ]


def test_order_params_for_every_order_type() -> None:
    def params(**kw: object) -> dict:
        base = {"client_order_id": "o", "symbol": "BTCUSDT", "side": "buy", "qty": 0.001}
        return order_params(Order(**{**base, **kw}))  # type: ignore[arg-type]

    assert params()["type"] == "MARKET" and "price" not in params()
    assert params(type="limit", limit_price=100.5, tif="ioc")["timeInForce"] == "IOC"
    stop = params(type="stop_limit", limit_price=101.0, stop_price=100.0, tif="gtc")
    assert (stop["type"], stop["stopPrice"], stop["price"]) == ("STOP_LOSS_LIMIT", "100", "101")
    take = params(type="stop_limit", limit_price=99.0, stop_price=98.0, tif="gtc",
                  tag="take_profit")  # fmt: skip
    assert take["type"] == "TAKE_PROFIT_LIMIT"
    with pytest.raises(OrderRejected, match="gtd"):
        params(type="limit", limit_price=1.0, tif="gtd", expire_ts=1)


def test_malformed_execution_report_is_a_validation_error() -> None:
    good = {"e": "executionReport", "s": "BTCUSDT", "c": "o", "S": "BUY", "o": "LIMIT",
            "q": "1", "x": "TRADE", "X": "FILLED", "i": 1, "l": "1", "z": "1", "L": "2.5",
            "n": "0", "T": 1, "t": 7}  # fmt: skip
    event = decode_user_event(good)
    assert isinstance(event, ExecutionReport) and event.last_price == Decimal("2.5")
    with pytest.raises(msgspec.ValidationError):
        decode_user_event({**good, "l": "not-a-number"})


def test_keys_never_reach_logs_or_reprs(capsys: pytest.CaptureFixture[str]) -> None:
    key, secret = "KEY-do-not-print-1234", "SECRET-do-not-print-5678"
    config = BinanceConfig(api_key=key, api_secret=secret)  # type: ignore[arg-type]
    log = structlog.get_logger("houseedge.adapters.binance")
    log.warning("binance.test", config=config, key=config.api_key)
    text = repr(config) + str(config) + config.model_dump_json() + capsys.readouterr().err
    assert key not in text and secret not in text


def test_no_module_logs_or_formats_a_key() -> None:
    """Grep: the only reads of the secret values are the client's construction."""
    from pathlib import Path

    root = Path(package.__file__).parent
    readers = [p.name for p in root.glob("*.py") if "get_secret_value" in p.read_text()]
    assert readers == ["client.py"]
    text = (root / "client.py").read_text()
    lines = [ln for ln in text.splitlines() if "get_secret_value" in ln]
    assert lines and all("log" not in ln for ln in lines)
