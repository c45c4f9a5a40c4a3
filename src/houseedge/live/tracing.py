"""Where the engine's spans go: an OTLP/HTTP endpoint named by the environment, or nowhere.

``HOUSEEDGE_OTLP_ENDPOINT`` (this toolkit's, first) or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` name a collector's base URL, to which ``/v1/traces`` is added;
the standard ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is the full traces URL, used as it is and
before ``OTEL_EXPORTER_OTLP_ENDPOINT`` (as the OpenTelemetry specification orders them).
With none set, spans are created but not exported. The exporter runs behind a batch
processor: spans are queued on the engine's thread and posted from the processor's own, so a
slow or dead collector never holds a decision (a full queue drops spans, as OpenTelemetry does).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["OTLP_ENDPOINT_ENV", "otlp_exporter", "traces_url"]

OTLP_ENDPOINT_ENV: Final = "HOUSEEDGE_OTLP_ENDPOINT"
"""The environment variable naming the OTLP/HTTP collector's base URL."""

_TRACES_PATH: Final = "/v1/traces"


def traces_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the OTLP/HTTP traces URL the environment names, or None.

    Examples
    --------
    >>> traces_url({"HOUSEEDGE_OTLP_ENDPOINT": "http://127.0.0.1:4318/"})
    'http://127.0.0.1:4318/v1/traces'
    >>> traces_url({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    'http://127.0.0.1:4318/v1/traces'
    >>> traces_url({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/t",
    ...             "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    'http://127.0.0.1:9/t'
    >>> traces_url({}) is None
    True
    """
    env = os.environ if environ is None else environ
    ours = env.get(OTLP_ENDPOINT_ENV, "").strip()
    full = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = ours or ("" if full else env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())
    if base:
        base = base.rstrip("/")
        return base if base.endswith(_TRACES_PATH) else base + _TRACES_PATH
    return full or None


def otlp_exporter(
    environ: Mapping[str, str] | None = None, *, timeout: float = 5.0
) -> SpanExporter | None:
    """Return an OTLP/HTTP span exporter to the environment's endpoint (None when unset).

    Examples
    --------
    >>> otlp_exporter({}) is None
    True
    >>> type(otlp_exporter({"HOUSEEDGE_OTLP_ENDPOINT": "http://127.0.0.1:4318"})).__name__
    'OTLPSpanExporter'
    """
    url = traces_url(environ)
    if url is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    return OTLPSpanExporter(endpoint=url, timeout=timeout)
