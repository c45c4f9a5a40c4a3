"""Operator figures for ``GET /metrics``: money, states and decision latency, kept as plain values.

The engine hands figures over where they change (its ledger snapshot after a bar's decisions,
and at scrape time when fills were booked since), never per market event; the instruments
read them only when Prometheus collects. Nothing here costs more than a dict update on the
engine's path: a decision's latency is one bucket increment (an OpenTelemetry histogram's
``record`` costs about 10 µs, so the histogram is kept here and rendered by a collector on the
same registry).

========================================  =========  ===========================================
family (Prometheus name)                  kind       meaning
========================================  =========  ===========================================
``houseedge_account_equity_<CUR>``        gauge      cash plus positions at their marks
``houseedge_account_realised_pnl_<CUR>``  gauge      FIFO realised PnL (gross of fees)
``houseedge_account_unrealised_pnl_<CUR>`` gauge     open positions at their marks
``houseedge_account_fees_<CUR>``          gauge      fees paid
``houseedge_account_drawdown_<CUR>``      gauge      running peak of equity minus equity
``houseedge_account_drawdown_ratio``      gauge      that drawdown over the peak
``houseedge_account_gross_exposure_<CUR>`` gauge     sum of ``|net qty| x mark`` over symbols
``houseedge_account_net_exposure_<CUR>``  gauge      sum of ``net qty x mark``
``houseedge_strategy_…_<CUR>``            gauge      the same per ``policy`` (equity: its net PnL,
                                                     ``realised + unrealised - fees``; drawdown:
                                                     from that curve's running peak)
``houseedge_breaker_state``               gauge      1 for the account breaker's ``state``, else 0
``houseedge_strategy_breaker_state``      gauge      the same per ``policy`` with its own limits
``houseedge_strategy_state``              gauge      1 for each ``policy``'s state, else 0
``houseedge_decision_latency_seconds``    histogram  per ``policy``: the arrival of the event that
                                                     closed the bar to the decision's end
========================================  =========  ===========================================

``<CUR>`` is the ledger's currency (``USD``): the unit is in the name, as Prometheus asks.

Examples
--------
>>> from prometheus_client import CollectorRegistry, generate_latest
>>> registry = CollectorRegistry()
>>> figures = OperatorFigures(registry)
>>> figures.decided("sma", 0.0004)
>>> [line for line in generate_latest(registry).decode().splitlines()
...     if line.startswith("houseedge_decision_latency_seconds_count")]
['houseedge_decision_latency_seconds_count{policy="sma"} 1.0']
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from opentelemetry.metrics import CallbackOptions, Observation
from prometheus_client.metrics_core import HistogramMetricFamily, Metric

from houseedge.core.risk.gate import BreakerState

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from prometheus_client import CollectorRegistry

__all__ = ["DECISION_BUCKETS", "MONEY_FIGURES", "ORDER_LATENCY_BUCKETS", "OperatorFigures"]

MONEY_FIGURES: Final = (
    ("equity", "cash plus positions at their marks (a strategy's: its net PnL)"),
    ("realised_pnl", "FIFO realised PnL, gross of fees"),
    ("unrealised_pnl", "open positions at their marks against their cost"),
    ("fees", "fees paid"),
    ("drawdown", "the running peak of equity minus equity"),
    ("gross_exposure", "sum of |qty| x mark over positions"),
    ("net_exposure", "sum of qty x mark over positions"),
)
"""The money figures, per account and per strategy (the names without prefix or unit)."""

ORDER_LATENCY_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the order latency histogram: microseconds (paper) to a slow venue."""

DECISION_BUCKETS: Final = (0.00005, *ORDER_LATENCY_BUCKETS[:13])
"""Upper bounds (seconds) of the decision latency histogram's buckets (+Inf is added)."""

_BREAKER_STATES: Final = tuple(str(s) for s in BreakerState)


class OperatorFigures:
    """The latest figures of one engine and the instruments that read them.

    Parameters
    ----------
    registry
        The Prometheus registry the decision latency collector joins.
    meter
        The OpenTelemetry meter of the gauges (none are made without one).
    """

    def __init__(self, registry: CollectorRegistry, meter: Meter | None = None) -> None:
        self._meter = meter
        self._currency: str | None = None
        self.account: dict[str, float] = {}
        self.policies: dict[str, dict[str, float]] = {}
        self._peaks: dict[str, float] = {}  # "" for the account
        self.breaker = ""
        self.policy_breakers: dict[str, str] = {}
        self.states: dict[str, str] = {}
        self.state_names: tuple[str, ...] = ()
        self._latency: dict[str, list[float]] = {}  # policy: bucket counts, then the sum
        registry.register(_DecisionLatency(self._latency))
        if meter is not None:
            for name, read, description in (
                ("houseedge_breaker_state", self._breaker, "1 for the account breaker's state"),
                (
                    "houseedge_strategy_breaker_state",
                    self._policy_breakers,
                    "1 for the breaker state applying to each strategy",
                ),
                ("houseedge_strategy_state", self._states, "1 for each strategy's state"),
            ):
                meter.create_observable_gauge(name, callbacks=[read], description=description)

    # -- updates (the engine) -----------------------------------------------------------------

    def decided(self, policy: str, seconds: float) -> None:
        """Count one decision of ``policy`` that took ``seconds`` from its bar's arrival."""
        counts = self._latency.get(policy)
        if counts is None:
            counts = self._latency[policy] = [0.0] * (len(DECISION_BUCKETS) + 2)
        counts[bisect.bisect_left(DECISION_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def update(
        self,
        currency: str,
        account: Mapping[str, float],
        policies: Mapping[str, Mapping[str, float]],
    ) -> None:
        """Take the account's and each strategy's figures; move the peaks and the drawdowns.

        ``account`` and each of ``policies`` map the names of :data:`MONEY_FIGURES` (but
        ``drawdown``) to values; a strategy's ``equity`` is its net PnL.

        Examples
        --------
        >>> figures = OperatorFigures(__import__("prometheus_client").CollectorRegistry())
        >>> figures.update("USD", {"equity": 110.0}, {"p": {"equity": 10.0}})
        >>> figures.update("USD", {"equity": 99.0}, {"p": {"equity": -1.0}})
        >>> figures.account["drawdown"], round(figures.account["drawdown_ratio"], 3)
        (11.0, 0.1)
        >>> figures.policies["p"]["drawdown"]
        11.0
        """
        if self._currency is None:
            self._currency = currency
            self._money_instruments(currency)
        self.account = self._drawdown("", account)
        equity, peak = self.account["equity"], self._peaks[""]
        self.account["drawdown_ratio"] = (peak - equity) / peak if peak > 0 else 0.0
        self.policies = {p: self._drawdown(p, f) for p, f in policies.items()}

    def _drawdown(self, key: str, figures: Mapping[str, float]) -> dict[str, float]:
        equity = figures.get("equity", 0.0)
        peak = max(self._peaks.get(key, equity), equity)
        self._peaks[key] = peak
        return {**figures, "drawdown": peak - equity}

    def set_states(
        self,
        breaker: str,
        policy_breakers: Mapping[str, str],
        states: Mapping[str, str],
        state_names: Sequence[str],
    ) -> None:
        """Take the breaker states (account, per strategy) and each strategy's state."""
        self.breaker, self.policy_breakers = breaker, dict(policy_breakers)
        self.states, self.state_names = dict(states), tuple(state_names)

    # -- instruments --------------------------------------------------------------------------

    def _money_instruments(self, currency: str) -> None:
        meter = self._meter
        if meter is None:
            return
        for name, description in MONEY_FIGURES:
            meter.create_observable_gauge(
                f"houseedge_account_{name}",
                callbacks=[self._reader(lambda: [({}, self.account)], name)],
                unit=currency,
                description=f"the account's {description}",
            )
            meter.create_observable_gauge(
                f"houseedge_strategy_{name}",
                callbacks=[self._reader(self._by_policy, name)],
                unit=currency,
                description=f"each strategy's {description}",
            )
        meter.create_observable_gauge(
            "houseedge_account_drawdown_ratio",
            callbacks=[self._reader(lambda: [({}, self.account)], "drawdown_ratio")],
            unit="1",
            description="the account's drawdown over its running peak of equity",
        )

    def _by_policy(self) -> list[tuple[dict[str, str], Mapping[str, float]]]:
        return [({"policy": p}, f) for p, f in self.policies.items()]

    @staticmethod
    def _reader(
        rows: Callable[[], Iterable[tuple[dict[str, str], Mapping[str, float]]]], name: str
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(f[name], labels) for labels, f in rows() if name in f]

        return observe

    def _breaker(self, options: CallbackOptions) -> Iterable[Observation]:
        if not self.breaker:
            return []
        return _one_hot({}, self.breaker, _BREAKER_STATES)

    def _policy_breakers(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            o
            for policy, state in self.policy_breakers.items()
            for o in _one_hot({"policy": policy}, state, _BREAKER_STATES)
        ]

    def _states(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            o
            for policy, state in self.states.items()
            for o in _one_hot({"policy": policy}, state, self.state_names)
        ]


def _one_hot(labels: dict[str, str], state: str, names: Sequence[str]) -> list[Observation]:
    return [Observation(1 if name == state else 0, {**labels, "state": name}) for name in names]


class _DecisionLatency:
    """A Prometheus collector of the decision latency histograms (bucket counts kept plain)."""

    def __init__(self, counts: dict[str, list[float]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "houseedge_decision_latency_seconds",
            "bar arrival to the end of a strategy's decision",
            labels=["policy"],
        )
        for policy, counts in sorted(self._counts.items()):
            buckets: list[tuple[str, float]] = []
            total = 0.0
            for bound, count in zip((*DECISION_BUCKETS, "+Inf"), counts[:-1], strict=True):
                total += count
                buckets.append((str(bound), total))
            family.add_metric([policy], buckets, sum_value=counts[-1])
        yield family
