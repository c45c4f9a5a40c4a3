"""The IB adapter's public surface and its one place of error translation."""

from __future__ import annotations

import inspect

import ib_async
import ib_async.flexreport
import ib_async.wrapper
import pytest

import houseedge.adapters.ib as ib_adapter
from houseedge.adapters.ib.errors import CODES, UPSTREAM, classify, translate
from houseedge.core.broker import Broker
from houseedge.errors import BrokerError, BrokerUnavailable


def test_public_surface_is_pinned() -> None:
    assert ib_adapter.__all__ == sorted(ib_adapter.__all__)
    assert ib_adapter.__all__ == [
        "ClientIdInUse",
        "ContractNotFound",
        "ContractSpec",
        "IbBroker",
        "IbConfig",
        "build_venue",
        "config_from_settings",
        "ingest_bars",
    ]
    broker = ib_adapter.IbBroker(ib_adapter.IbConfig())
    assert isinstance(broker, Broker)


def test_every_ib_async_exception_is_translated() -> None:
    upstream = {
        obj for module in (ib_async, ib_async.wrapper, ib_async.flexreport)
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__.startswith("ib_async")
    }  # fmt: skip
    assert upstream, "ib-async defines exceptions"
    assert upstream <= set(UPSTREAM)
    for kind in upstream:
        assert isinstance(translate(kind.__new__(kind), "x"), BrokerError)


@pytest.mark.parametrize(
    ("exc", "ours"),
    [(ConnectionRefusedError(111, "refused"), BrokerUnavailable),
     (TimeoutError(), BrokerUnavailable), (ValueError("odd"), BrokerError)],
)  # fmt: skip
def test_translation_keeps_the_cause_and_kind(exc: BaseException, ours: type) -> None:
    translated = translate(exc, "connect")
    assert type(translated) is ours and "connect" in str(translated)


def test_connectivity_codes_are_classified() -> None:
    kinds = {code: classify(code) for code in (1100, 1101, 1102, 2103, 2104, 2105, 326)}
    assert kinds == {1100: "link_lost", 1101: "link_restored", 1102: "link_restored",
                     2103: "farm_down", 2104: "farm_ok", 2105: "farm_down",
                     326: "client_id_in_use"}  # fmt: skip
    assert all(classify(code) == kind for code, kind in CODES.items())
