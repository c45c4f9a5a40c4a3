"""The engine's operator figures: read from the ledger where they change, handed to /metrics.

:class:`FigureFeed` turns a :class:`~houseedge.live.journal.ledger.LedgerSnapshot` into the
account's and each strategy's figures (:data:`~houseedge.live.figures.MONEY_FIGURES`) and
hands them to the process's :class:`~houseedge.live.figures.OperatorFigures`. It is fed the
snapshot the engine's mark already made, after the bar's decisions (so the figures never sit
between a bar and its orders), and brought up to date before each scrape when fills were booked
since; breaker and strategy states are read at scrape time. Exposure values each holding at
its symbol's mark (at its average price while unmarked, as equity does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from houseedge.live.engine._strategies import Strategy, StrategyState

if TYPE_CHECKING:
    from houseedge.core.risk.gate import RiskGate
    from houseedge.live.figures import OperatorFigures
    from houseedge.live.journal.ledger import LedgerSnapshot

__all__ = ["FigureFeed", "ledger_figures"]


def ledger_figures(
    snap: LedgerSnapshot, marks: Mapping[str, float], policies: Iterable[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Return the account's figures and those of each of ``policies`` from a ledger snapshot.

    Examples
    --------
    >>> from houseedge.core.types import Fill
    >>> from houseedge.live.journal.ledger import Ledger
    >>> ledger = Ledger(cash=1000)
    >>> _ = ledger.apply_fill(Fill(fill_id="1", order_id="a", symbol="X", side="buy", qty=2,
    ...     price=10.0), policy="p")
    >>> ledger.mark({"X": 12.0})
    >>> account, policies = ledger_figures(ledger.snapshot(), {"X": 12.0}, ["p", "q"])
    >>> account["equity"], account["unrealised_pnl"], account["gross_exposure"]
    (1004.0, 4.0, 24.0)
    >>> policies["p"]["equity"], policies["p"]["net_exposure"], policies["q"]["equity"]
    (4.0, 24.0, 0.0)
    """
    exposure: dict[str, list[float]] = {}  # policy: [gross, net]
    by_symbol: dict[str, float] = {}
    for h in snap.holdings:
        if not h.qty:
            continue
        price = marks.get(h.symbol)
        if price is None:
            price = float(h.avg_price or 0)
        value = float(h.qty) * price
        entry = exposure.setdefault(h.policy, [0.0, 0.0])
        entry[0] += abs(value)
        entry[1] += value
        by_symbol[h.symbol] = by_symbol.get(h.symbol, 0.0) + value
    account = {
        "equity": float(snap.equity),
        "realised_pnl": float(snap.realised),
        "unrealised_pnl": float(snap.unrealised),
        "fees": float(snap.fees),
        "gross_exposure": sum(abs(v) for v in by_symbol.values()),
        "net_exposure": sum(by_symbol.values()),
    }
    per_policy: dict[str, dict[str, float]] = {}
    for policy in policies:
        totals = snap.policies.get(policy)
        gross, net = exposure.get(policy, (0.0, 0.0))
        per_policy[policy] = {
            "equity": 0.0 if totals is None else float(totals.net),
            "realised_pnl": 0.0 if totals is None else float(totals.realised),
            "unrealised_pnl": 0.0 if totals is None else float(totals.unrealised),
            "fees": 0.0 if totals is None else float(totals.fees),
            "gross_exposure": gross,
            "net_exposure": net,
        }
    return account, per_policy


class FigureFeed:
    """Hands an engine's ledger figures to an OperatorFigures once per new snapshot."""

    def __init__(self, figures: OperatorFigures) -> None:
        self.figures = figures
        self._last: LedgerSnapshot | None = None

    def fresh(self, snap: LedgerSnapshot | None) -> bool:
        """Return True when ``snap`` is not the snapshot the figures were last taken from."""
        return snap is not None and snap is not self._last

    def take(
        self,
        snap: LedgerSnapshot,
        marks: Mapping[str, float],
        policies: Iterable[str],
        currency: str,
    ) -> None:
        """Hand the figures of ``snap`` over (the peaks and drawdowns move with them)."""
        self._last = snap
        account, per_policy = ledger_figures(snap, marks, policies)
        self.figures.update(currency, account, per_policy)

    def refresh(
        self,
        gate: RiskGate,
        strategies: Mapping[str, Strategy],
        snap: LedgerSnapshot,
        marks: Mapping[str, float],
        currency: str,
    ) -> None:
        """Take the breaker and strategy states, and the figures of ``snap`` if it is new."""
        self.figures.set_states(
            str(gate.state),
            {name: str(gate.policy_state(name)) for name in strategies},
            {name: str(s.state) for name, s in strategies.items()},
            [str(state) for state in StrategyState],
        )
        if self.fresh(snap):
            self.take(snap, marks, strategies, currency)
