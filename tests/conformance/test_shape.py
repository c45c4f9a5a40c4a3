"""Every venue package has the template's shape (``src/houseedge/adapters/README.md``)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from houseedge.app.registry import require_broker
from tests.conformance.venues import DRIVERS

MODULES = ("config", "client", "feed", "history", "mapping", "errors", "reconcile", "factory")


def _params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("venue", sorted(DRIVERS))
def test_venue_package_has_the_template_shape(venue: str) -> None:
    base = f"houseedge.adapters.{venue}"
    modules = {name: importlib.import_module(f"{base}.{name}") for name in MODULES}
    package = importlib.import_module(base)
    assert {"build_venue", "config_from_settings", "ingest_bars"} <= set(package.__all__)
    assert package.__all__ == sorted(package.__all__)
    factory = modules["factory"].build_venue
    assert _params(factory) == ["settings"]
    assert require_broker(venue) is factory
    assert _params(modules["config"].config_from_settings) == ["settings"]
    assert _params(modules["feed"].build_feed) == ["settings", "broker"]
    ingest = modules["history"].ingest_bars
    assert inspect.iscoroutinefunction(ingest)
    params = inspect.signature(ingest).parameters
    assert list(params)[:6] == ["store", "symbols", "timeframe", "start", "end", "config"]
    assert params["config"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["end"].default is None
    assert callable(modules["errors"].translate)
