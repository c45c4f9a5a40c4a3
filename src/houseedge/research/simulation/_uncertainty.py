"""Parameter uncertainty: each path draws its own strategy parameters, then its trades.

A backtest shows a win rate and a payoff measured on a finite sample. Sizing on the point
estimates overstates the edge; drawing them per path from their sampling distributions puts the
estimation error into the outcome distribution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from houseedge.research.simulation._bootstrap import Sample, as_sample
from houseedge.research.simulation._paths import F64

__all__ = ["UncertainBinaryBet"]


@dataclass(frozen=True)
class UncertainBinaryBet:
    """A binary bet whose win rate and payoff are uncertain, redrawn once per path.

    Per path: the win rate ``p ~ Beta(wins + 1, losses + 1)`` (the posterior under a uniform
    prior), the win size ``~ N(win_mean, win_se^2)`` and the loss size ``~ N(loss_mean,
    loss_se^2)``, both floored at 0 (a size's standard error is its sample standard deviation
    over the root of its count). Then each of ``n_steps`` trades wins ``+win`` with probability
    ``p``, else returns ``-loss``.

    Examples
    --------
    >>> import numpy as np
    >>> model = UncertainBinaryBet(wins=6, losses=4, win_mean=0.02, loss_mean=0.01, n_steps=5)
    >>> model.draw(np.random.default_rng(0), 3).shape
    (3, 5)
    >>> UncertainBinaryBet.from_trades([0.03, 0.01, -0.01, -0.02], n_steps=10).wins
    2
    """

    wins: int
    losses: int
    win_mean: float
    loss_mean: float
    n_steps: int
    win_se: float = 0.0
    loss_se: float = 0.0

    def __post_init__(self) -> None:
        if self.wins < 0 or self.losses < 0:
            raise ValueError(f"wins and losses must be >= 0, got {self.wins}, {self.losses}")
        for name in ("win_mean", "loss_mean", "win_se", "loss_se"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {self.n_steps}")

    @classmethod
    def from_trades(cls, returns: Sample, *, n_steps: int | None = None) -> UncertainBinaryBet:
        """Estimate the model from trade returns (``return_pct``; a zero counts as a loss).

        ``n_steps`` defaults to the number of trades.
        """
        values = as_sample(returns)
        won, lost = values[values > 0], -values[values <= 0]
        return cls(
            wins=int(won.size),
            losses=int(lost.size),
            win_mean=float(won.mean()) if won.size else 0.0,
            loss_mean=float(lost.mean()) if lost.size else 0.0,
            win_se=_standard_error(won),
            loss_se=_standard_error(lost),
            n_steps=values.size if n_steps is None else n_steps,
        )

    def parameters(self, rng: np.random.Generator, n_paths: int) -> tuple[F64, F64, F64]:
        """Return each path's ``(p, win, loss)`` draws."""
        p = rng.beta(self.wins + 1, self.losses + 1, n_paths)
        win = np.maximum(rng.normal(self.win_mean, self.win_se, n_paths), 0.0)
        loss = np.maximum(rng.normal(self.loss_mean, self.loss_se, n_paths), 0.0)
        return p, win, loss

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return ``(n_paths, n_steps)`` trade returns."""
        p, win, loss = self.parameters(rng, n_paths)
        wins = rng.random((n_paths, self.n_steps)) < p[:, None]
        return np.where(wins, win[:, None], -loss[:, None])

    def config(self) -> dict[str, Any]:
        """Return the model's parameters."""
        return {"model": "uncertain_binary_bet", **asdict(self)}


def _standard_error(values: F64) -> float:
    if values.size < 2:
        return 0.0
    return float(values.std(ddof=1) / np.sqrt(values.size))
