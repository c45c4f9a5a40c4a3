"""Logging configuration: wire-level third-party loggers never print frames (they carry keys)."""

from __future__ import annotations

import io
import logging

import orjson
import structlog

from houseedge import logs


def test_debug_configuration_keeps_wire_loggers_at_info() -> None:
    logging.getLogger().setLevel(logging.DEBUG)  # restored by the autouse fixture
    logs.configure(level="DEBUG", json=True, stream=io.StringIO())
    for name in logs._WIRE_LOGGERS:
        wire = logging.getLogger(name)
        assert not wire.isEnabledFor(logging.DEBUG), name
        assert wire.isEnabledFor(logging.INFO), name


def test_configuring_leaves_quieter_wire_loggers_alone() -> None:
    logging.getLogger("ib_async").setLevel(logging.ERROR)  # restored by the autouse fixture
    logs.configure(level="INFO", json=True, stream=io.StringIO())
    assert logging.getLogger("ib_async").level == logging.ERROR


def test_json_logs_carry_bound_context_and_no_frame_locals() -> None:
    out = io.StringIO()
    logs.configure(level="INFO", json=True, stream=out)
    log = structlog.get_logger().bind(policy="sma", order_id="sma.1")
    secret = "s3cr3t-api-key"  # noqa: S105 - a local the renderer must not show
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("order_failed")
    record = orjson.loads(out.getvalue().splitlines()[-1])
    assert record["event"] == "order_failed"
    assert (record["policy"], record["order_id"]) == ("sma", "sma.1")
    assert secret not in out.getvalue()
