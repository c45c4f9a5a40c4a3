"""Every alpaca-py exception is translated once into a houseedge error; secrets never logged."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import logging
import pkgutil

import alpaca
import pytest
import requests
import structlog
from alpaca.common.exceptions import APIError, RetryException

from houseedge import logs
from houseedge.adapters.alpaca import AlpacaBroker
from houseedge.adapters.alpaca.errors import TRANSLATIONS, translate, translated
from houseedge.core.broker import DuplicateOrder, OrderNotFound
from houseedge.core.types import Order, Side
from houseedge.errors import BrokerError, BrokerUnavailable, OrderRejected
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.alpaca.harness import config_for, eventually


def _alpaca_exceptions() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for info in pkgutil.walk_packages(alpaca.__path__, "alpaca."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("alpaca"):
                found.add(value)
    return found


def _api_error(status: int, body: dict[str, object] | str) -> APIError:
    response = requests.Response()
    response.status_code = status
    text = body if isinstance(body, str) else json.dumps(body)
    return APIError(text, requests.HTTPError(response=response))


def test_every_exception_alpaca_defines_is_translated() -> None:
    defined = _alpaca_exceptions()
    assert {APIError, RetryException} <= defined  # the walk found the package's exceptions
    for kind in defined:
        assert any(issubclass(kind, known) for known, _ in TRANSLATIONS), kind


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            422,
            {"code": 40010001, "message": "client_order_id must be unique"},
            DuplicateOrder,
        ),
        (422, {"code": 42210000, "message": "not cancelable"}, OrderRejected),
        (403, {"code": 40310000, "message": "insufficient buying power"}, OrderRejected),
        (404, {"code": 40410000, "message": "order not found"}, OrderNotFound),
        (429, {"code": 42910000, "message": "rate limit"}, BrokerUnavailable),
        (504, "upstream request timeout", BrokerUnavailable),
        (401, {"code": 40110000, "message": "unauthorized"}, BrokerError),
    ],
)
def test_api_errors_by_status(status: int, body: object, expected: type) -> None:
    error = translate(_api_error(status, body), "submit")  # type: ignore[arg-type]
    assert type(error) is expected
    assert str(status) in str(error)


def test_transport_errors_are_unavailable_and_raised_from_the_original() -> None:
    original = requests.ConnectionError("refused")
    with pytest.raises(BrokerUnavailable) as caught, translated("account"):
        raise original
    assert caught.value.__cause__ is original
    with pytest.raises(KeyError), translated("account"):  # a bug is not translated
        raise KeyError("x")


async def test_bad_credentials_fail_connect_with_a_broker_error() -> None:
    async with FakeAlpaca() as fake:
        broker = AlpacaBroker(config_for(fake, api_secret="wrong"))  # noqa: S106
        with pytest.raises(BrokerError, match="401"):
            await broker.connect()


async def test_credentials_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # alpaca-py, requests and websockets log through stdlib
    buffer = io.StringIO()
    saved = structlog.get_config()
    logs.configure(level="DEBUG", json=True, stream=buffer)
    try:
        async with FakeAlpaca(key="KEY-7f3a9", secret="SECRET-c41d2") as fake:  # noqa: S106
            fake.venue.set_price("AAPL", 10.0)
            config = config_for(fake)
            broker = AlpacaBroker(config)
            await broker.connect()
            fake.faults.malformed = ["execution_id"]
            order = Order(client_order_id="s1", symbol="AAPL", side=Side.BUY, qty=1)
            await broker.submit(order)
            await eventually(lambda: broker.stats.recovered_fills == 1)
            with pytest.raises(OrderRejected):
                await broker.submit(
                    Order(client_order_id="s2", symbol="AAPL", side=Side.BUY, qty=10**9)
                )
            await broker.close()
            assert "SECRET-c41d2" not in repr(config) and "SECRET-c41d2" not in str(config)
    finally:
        structlog.configure(**saved)
    text = buffer.getvalue()
    assert "anomaly" in text and "reconciliation.missing_fill" in text  # the logs were captured
    assert "SECRET-c41d2" not in text and "KEY-7f3a9" not in text
    assert caplog.records  # the libraries' own logs were captured too
    assert "SECRET-c41d2" not in caplog.text and "KEY-7f3a9" not in caplog.text
