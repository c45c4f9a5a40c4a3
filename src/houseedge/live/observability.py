"""Metrics and traces of the live engine and its service, rendered as Prometheus text.

One :class:`Observability` per process (the service builds it; the engine may be handed the
same object). Each has its own OpenTelemetry ``MeterProvider`` whose only reader is the
Prometheus exporter's ``PrometheusMetricReader`` on a private ``prometheus_client`` registry,
so ``GET /metrics`` renders exactly this process's instruments, and two services in one test
process never share counters. Nothing is installed as the OpenTelemetry global provider.

Who records what
    *Counts come from the event stream*: the service calls :meth:`Observability.observe_event`
    once per event the engine publishes (events are journaled before they are published, so a
    count is never ahead of the journal), which keeps one source of truth and needs nothing
    from the engine beyond :class:`~houseedge.live.control.EngineHandle`. The engine records
    only what events cannot say: order latency (:meth:`Observability.order_latency`) and spans
    (:meth:`Observability.bar_span`, :meth:`Observability.order_span`,
    :meth:`Observability.fill_span`, :meth:`Observability.span`: bar → decision → risk → order
    → fill). Gauges read from ``engine.health()`` at scrape time
    (:meth:`Observability.observe_health`).
*Operator figures* (equity, PnL, drawdown, exposure, breaker and strategy states, decision
    latency: :mod:`houseedge.live.figures`) are handed over by the engine where they change,
    and brought up to date before each render by the hooks it registers
    (:meth:`Observability.on_render`).
*Traces* are exported when an exporter is given, or over OTLP when the environment names an
    endpoint (:meth:`Observability.from_environment`, :mod:`houseedge.live.tracing`).

==========================================  ==========  ==========================================
instrument (Prometheus name)                kind        labels / source
==========================================  ==========  ==========================================
``houseedge_orders_submitted_total``        counter     policy, symbol: ``order`` events with
                                                        status ``new`` (journaled, then sent)
``houseedge_fills_total``                   counter     policy, symbol: ``fill`` events
``houseedge_rejects_total``                 counter     policy, reason: the risk check's name
                                                        (``risk`` events of type ``rejected``), or
                                                        ``broker`` (``order`` status
                                                        ``rejected``)
``houseedge_events_published_total``        counter     kind
``houseedge_order_latency_seconds``         histogram   submit → first broker report (engine)
``houseedge_journal_lag``                   gauge       ``health()["journal"]["lag"]``
``houseedge_feed_staleness_seconds``        gauge       ``health()["feed"]["age_s"]``
``houseedge_sse_clients``                   gauge       connected ``GET /events`` streams
==========================================  ==========  ==========================================

Labels never carry payload values other than these names, so no secret can reach a metric.

Examples
--------
>>> from houseedge.live.control import PublishedEvent
>>> obs = Observability()
>>> obs.observe_event(PublishedEvent(id=1, kind="fill", ts=0,
...     payload={"policy": "p", "symbol": "X", "qty": 1}))
>>> obs.observe_event(PublishedEvent(id=2, kind="risk", ts=0,
...     payload={"type": "rejected", "check": "max_position"}))
>>> lines = obs.render().decode().splitlines()
>>> [line.split()[-1] for line in lines if line.startswith("houseedge_fills_total{")]
['1.0']
>>> [line.split()[-1] for line in lines
...     if line.startswith("houseedge_rejects_total{") and 'reason="max_position"' in line]
['1.0']
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, Final, cast

from opentelemetry import trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from houseedge.live.control import PublishedEvent
from houseedge.live.figures import ORDER_LATENCY_BUCKETS, OperatorFigures
from houseedge.live.tracing import otlp_exporter

__all__ = ["CONTENT_TYPE", "Observability"]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# The engine publishes an order event per status change; "new" is the one every order has
# once (journaled, about to be sent), so counting it never counts an order twice.
_SUBMITTED: Final = "new"
_REJECTED: Final = "rejected"
# Spans of orders still waiting for a fill are remembered by client order id; this bounds the
# memory a venue that never answers can take.
_MAX_OPEN_SPANS: Final = 10_000


class Observability:
    """The process's meters and tracer, and the Prometheus text of its metrics.

    Parameters
    ----------
    service_name
        The ``service.name`` resource attribute (Prometheus ``target_info``).
    span_exporter
        Where finished spans go, each as it ends (an ``InMemorySpanExporter`` in tests);
        spans are created but not exported when omitted.
    otlp_exporter
        An exporter fed through a batch processor (its own thread: a slow collector never
        holds the engine), as :meth:`from_environment` makes for an OTLP endpoint.
    """

    def __init__(
        self,
        *,
        service_name: str = "houseedge",
        span_exporter: SpanExporter | None = None,
        otlp_exporter: SpanExporter | None = None,
    ) -> None:
        resource = Resource.create({"service.name": service_name})
        self.registry = CollectorRegistry(auto_describe=True)
        self._reader = PrometheusMetricReader(registry=self.registry)
        self._meters = MeterProvider(resource=resource, metric_readers=[self._reader])
        self._tracers = TracerProvider(resource=resource)
        if span_exporter is not None:
            self._tracers.add_span_processor(SimpleSpanProcessor(span_exporter))
        if otlp_exporter is not None:
            self._tracers.add_span_processor(BatchSpanProcessor(otlp_exporter))
        self.exporting = span_exporter is not None or otlp_exporter is not None
        """True when spans leave the process (an exporter is configured)."""
        self.tracer = self._tracers.get_tracer("houseedge.live")
        meter = self._meters.get_meter("houseedge.live")
        self.figures = OperatorFigures(self.registry, meter)
        """Equity, PnL, drawdown, exposure, states and decision latency (the engine's)."""
        self._refreshers: list[Callable[[], None]] = []
        # Event counts are kept in plain dicts and handed to OpenTelemetry at collection: a
        # synchronous Counter.add costs tens of microseconds (attribute cleaning and hashing),
        # which at 5,000 events/s would be a tenth of a core for counting alone.
        self._counts: dict[str, dict[tuple[tuple[str, str], ...], int]] = {
            name: {} for name in ("orders", "fills", "rejects", "events")
        }
        for name, key, description in (
            ("houseedge_orders_submitted", "orders", "orders sent to the broker"),
            ("houseedge_fills", "fills", "fills booked"),
            ("houseedge_rejects", "rejects", "orders rejected, by risk check or by the broker"),
            ("houseedge_events_published", "events", "events journaled and published"),
        ):
            meter.create_observable_counter(
                name, callbacks=[self._observer(key)], description=description
            )
        self._latency = meter.create_histogram(
            "houseedge_order_latency",
            unit="s",
            description="order submit to first broker report",
            explicit_bucket_boundaries_advisory=ORDER_LATENCY_BUCKETS,
        )
        self._journal_lag = meter.create_gauge(
            "houseedge_journal_lag", description="records waiting to be committed"
        )
        self._staleness = meter.create_gauge(
            "houseedge_feed_staleness", unit="s", description="time since the last market event"
        )
        self._sse_clients = meter.create_up_down_counter(
            "houseedge_sse_clients", description="connected SSE streams"
        )
        self._open_orders: dict[str, trace.Span] = {}

    @classmethod
    def from_environment(
        cls, *, service_name: str = "houseedge", environ: Mapping[str, str] | None = None
    ) -> Observability:
        """Return an Observability exporting spans over OTLP when the environment names an endpoint.

        See :mod:`houseedge.live.tracing` for the variables.

        Examples
        --------
        >>> Observability.from_environment(environ={}).exporting
        False
        """
        return cls(service_name=service_name, otlp_exporter=otlp_exporter(environ))

    def on_render(self, refresh: Callable[[], None]) -> None:
        """Call ``refresh`` before each :meth:`render` (the engine brings its figures up)."""
        self._refreshers.append(refresh)

    # -- counts from events ------------------------------------------------------------------

    def observe_event(self, event: PublishedEvent) -> None:
        """Count one published event (and the order, fill or reject it reports).

        Examples
        --------
        >>> obs = Observability()
        >>> obs.observe_event(PublishedEvent(id=1, kind="order", ts=0,
        ...     payload={"status": "new", "policy": "p", "symbol": "X"}))
        >>> [line.split()[-1] for line in obs.render().decode().splitlines()
        ...     if line.startswith("houseedge_orders_submitted_total{")]
        ['1.0']
        """
        payload = event.payload
        self._count("events", (("kind", event.kind),))
        if event.kind == "fill":
            self._count("fills", _book(payload))
        elif event.kind == "order":
            status = str(payload.get("status", ""))
            if status == _SUBMITTED:
                self._count("orders", _book(payload))
            elif status == _REJECTED:
                self._count("rejects", (*_policy(payload), ("reason", "broker")))
        elif event.kind == "risk" and _is_reject(payload):
            reason = str(payload.get("check") or "risk")
            self._count("rejects", (*_policy(payload), ("reason", reason)))

    def _count(self, name: str, labels: tuple[tuple[str, str], ...]) -> None:
        counts = self._counts[name]
        counts[labels] = counts.get(labels, 0) + 1

    def _observer(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        counts = self._counts[name]

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(value, dict(labels)) for labels, value in list(counts.items())]

        return observe

    def observe_health(self, health: Mapping[str, Any]) -> None:
        """Set the journal-lag and feed-staleness gauges from ``engine.health()``.

        Examples
        --------
        >>> obs = Observability()
        >>> obs.observe_health({"journal": {"lag": 3}, "feed": {"age_s": 1.5}})
        >>> [line.split()[-1] for line in obs.render().decode().splitlines()
        ...     if line.startswith(("houseedge_journal_lag{", "houseedge_feed_staleness"))]
        ['3.0', '1.5']
        """
        lag = _number(health, "journal", "lag")
        if lag is not None:
            self._journal_lag.set(lag)
        staleness = _number(health, "feed", "age_s")
        if staleness is not None:
            self._staleness.set(staleness)

    def sse_clients(self, delta: int) -> None:
        """Add ``delta`` (+1 on connect, -1 on disconnect) to the SSE clients gauge."""
        self._sse_clients.add(delta)

    def order_latency(self, seconds: float, *, policy: str = "", symbol: str = "") -> None:
        """Record the time from submit to the broker's first report of one order."""
        self._latency.record(seconds, {"policy": policy, "symbol": symbol})

    # -- traces: bar -> decision -> risk -> order -> fill -----------------------------------

    @contextlib.contextmanager
    def bar_span(self, symbol: str, bar_ts: int) -> Generator[trace.Span]:
        """Trace the handling of one bar; decisions made inside become its children.

        Examples
        --------
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        ...     InMemorySpanExporter)
        >>> spans = InMemorySpanExporter()
        >>> obs = Observability(span_exporter=spans)
        >>> with (obs.bar_span("X", 0), obs.span("decision", policy="p"), obs.span("risk"),
        ...       obs.order_span("o1", policy="p", symbol="X")):
        ...     pass
        >>> obs.fill_span("o1", fill_id="f1", final=True)
        >>> finished = {s.name: s for s in spans.get_finished_spans()}
        >>> list(finished)
        ['order', 'risk', 'decision', 'bar', 'fill']
        >>> [(name, finished[name].parent.span_id == finished[up].context.span_id)
        ...  for name, up in [("decision", "bar"), ("risk", "decision"), ("order", "risk"),
        ...                   ("fill", "order")]]
        [('decision', True), ('risk', True), ('order', True), ('fill', True)]
        """
        with self.tracer.start_as_current_span(
            "bar", attributes={"symbol": symbol, "bar_ts": bar_ts}
        ) as span:
            yield span

    @contextlib.contextmanager
    def span(
        self, name: str, *, start_ns: int | None = None, **attributes: str | int
    ) -> Generator[trace.Span]:
        """Trace one step (``decision``, ``risk``) as a child of the current span.

        ``start_ns`` (``time.time_ns()``) starts it in the past: a decision is traced once it
        made orders, so decisions that make none cost no span. See :meth:`bar_span`'s example.
        """
        with self.tracer.start_as_current_span(
            name, start_time=start_ns, attributes=attributes
        ) as span:
            yield span

    @contextlib.contextmanager
    def order_span(self, order_id: str, *, policy: str, symbol: str) -> Generator[trace.Span]:
        """Trace an order's submission; its fills will be children of it."""
        with self.tracer.start_as_current_span(
            "order", attributes={"order_id": order_id, "policy": policy, "symbol": symbol}
        ) as span:
            yield span
        self._remember(order_id, span)

    def order_sent(
        self,
        order_id: str,
        *,
        policy: str,
        symbol: str,
        start_ns: int,
        end_ns: int,
        failed: bool = False,
    ) -> None:
        """Trace an order submitted from ``start_ns`` to ``end_ns`` (a child of the current span).

        The engine traces its orders once they are sent, so no span is made on the way from a
        bar to its orders.
        """
        attributes: dict[str, str | bool] = {"order_id": order_id, "policy": policy}
        attributes["symbol"] = symbol
        if failed:
            attributes["submit_failed"] = True
        span = self.tracer.start_span("order", start_time=start_ns, attributes=attributes)
        span.end(end_time=end_ns)
        self._remember(order_id, span)

    def _remember(self, order_id: str, span: trace.Span) -> None:
        if len(self._open_orders) >= _MAX_OPEN_SPANS:
            self._open_orders.pop(next(iter(self._open_orders)))
        self._open_orders[order_id] = span

    def fill_span(self, order_id: str, *, fill_id: str, final: bool = False) -> None:
        """Record a fill as a child of its order's span (a root span if the order is unknown).

        ``final`` (the order is done) forgets the order's span.
        """
        parent = self._open_orders.pop(order_id, None) if final else None
        parent = parent or self._open_orders.get(order_id)
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(
            "fill", context=context, attributes={"order_id": order_id, "fill_id": fill_id}
        )
        span.end()

    # -- output -------------------------------------------------------------------------------

    def render(self) -> bytes:
        """Return every instrument as Prometheus text (what ``GET /metrics`` serves)."""
        for refresh in self._refreshers:
            refresh()
        return generate_latest(self.registry)

    def shutdown(self) -> None:
        """Flush and stop the meter and tracer providers (queued spans are exported first)."""
        self._meters.shutdown()
        self._tracers.shutdown()


def _policy(payload: Mapping[str, Any]) -> tuple[tuple[str, str]]:
    return (("policy", str(payload.get("policy") or "")),)


def _book(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return (*_policy(payload), ("symbol", str(payload.get("symbol", ""))))


def _is_reject(payload: Mapping[str, Any]) -> bool:
    # Breaker transitions are risk events too; only a refused order has type "rejected".
    return payload.get("type") == _REJECTED or payload.get("accepted") is False


def _number(health: Mapping[str, Any], section: str, key: str) -> float | None:
    part = health.get(section)
    if not isinstance(part, Mapping):
        return None
    value = cast("Mapping[str, object]", part).get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
