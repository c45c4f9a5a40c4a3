"""Per-path wealth statistics as Polars expressions over the long frame, and their summary.

Conventions
-----------
Wealth
    ``initial_wealth * cum_prod(1 + f * r)`` per path (``compounding=True``), or a fixed stake
    of ``f * initial_wealth`` per step, ``initial_wealth * (1 + f * cum_sum(r))``
    (``compounding=False``: a ±1 random walk is ``f = 1 / initial_wealth``).
Drawdown
    From the running peak of wealth, the initial wealth counting as the first peak (so a loss on
    step 0 is a drawdown, as in :mod:`houseedge.research.metrics`). Underwater: wealth strictly
    below the running peak; the longest spell counts steps from the last peak.
Ruin and target
    First-passage events on the step grid: ruin when wealth is at or below ``floor``, target
    when at or above ``target``. Times are step counts (the first step is 1). A target counts
    only when reached before ruin. Paths are not stopped: terminal wealth is the last value.
CAGR
    ``(terminal / initial) ^ (periods_per_year / n_steps) - 1``; -1 when wealth ends at or
    below zero. ``log_growth`` is the mean log growth per step, ``log(terminal / initial) /
    n_steps`` (-inf at zero wealth).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import polars as pl

__all__ = ["QUANTILES", "WealthRules", "path_statistics", "summarize", "wilson_interval"]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""The quantiles the summary reports for terminal wealth, drawdown and CAGR."""


@dataclass(frozen=True)
class WealthRules:
    """How returns become wealth, and the floor and target that paths are judged against.

    Examples
    --------
    >>> WealthRules(initial_wealth=100, fraction=0.5, target=200).floor
    0.0
    """

    initial_wealth: float = 1.0
    fraction: float = 1.0
    floor: float = 0.0
    target: float | None = None
    compounding: bool = True
    periods_per_year: float = 252

    def __post_init__(self) -> None:
        if not self.initial_wealth > 0:
            raise ValueError(f"initial_wealth must be > 0, got {self.initial_wealth}")
        if not self.periods_per_year > 0:
            raise ValueError(f"periods_per_year must be > 0, got {self.periods_per_year}")
        if self.target is not None and not self.target > self.initial_wealth > self.floor:
            raise ValueError(
                f"need floor < initial_wealth < target, got {self.floor}, "
                f"{self.initial_wealth}, {self.target}"
            )

    def config(self) -> dict[str, Any]:
        """Return the rules as a JSON-able dict."""
        return asdict(self)


def _wealth(rules: WealthRules) -> pl.Expr:
    scaled = pl.col("return") if rules.fraction == 1.0 else rules.fraction * pl.col("return")
    if rules.compounding:
        grown = (1.0 + scaled).cum_prod().over("path_id", mapping_strategy="explode")
        return grown if rules.initial_wealth == 1.0 else grown * rules.initial_wealth
    walked = 1.0 + scaled.cum_sum().over("path_id", mapping_strategy="explode")
    return rules.initial_wealth * walked


def _underwater_spell(underwater: pl.Expr) -> pl.Expr:
    # Steps since the last peak, without a per-path scan: rows are sorted by path then step,
    # so a global running max of "row index if at a peak" is the last peak's row, unless it
    # lies in an earlier path; then the peak is the initial wealth, just before the path.
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    path_start = row - pl.col("step")
    last_peak = pl.when(underwater).then(-1).otherwise(row).cum_max()
    return row - pl.max_horizontal(last_peak, path_start - 1)


def path_statistics(
    paths: pl.LazyFrame | pl.DataFrame, rules: WealthRules, *, presorted: bool = False
) -> pl.LazyFrame:
    """Return one row of wealth statistics per ``path_id`` of a long ``path_id, step, return``.

    Columns: ``path_id, n_steps, terminal_wealth, log_growth, cagr, max_drawdown,
    underwater_fraction, longest_underwater, ruined, time_to_ruin, target_hit,
    time_to_target`` (times in steps; null when the event does not happen).

    Parameters
    ----------
    paths
        The long frame; sorted by ``path_id, step`` here unless ``presorted``.
    rules
        Wealth, floor and target rules.
    presorted
        The frame is sorted by ``path_id`` and each path's steps are ``0 .. n - 1`` (skips
        the sort and renumbering).

    Examples
    --------
    >>> import polars as pl
    >>> paths = pl.DataFrame({"path_id": [0, 0, 0, 1, 1, 1], "step": [0, 1, 2] * 2,
    ...     "return": [0.5, -0.5, 1.0, -0.6, 0.1, 0.1]})
    >>> out = path_statistics(paths, WealthRules(floor=0.5, target=1.4)).collect()
    >>> out.select("path_id", "terminal_wealth", "max_drawdown", "ruined", "time_to_target")
    shape: (2, 5)
    ┌─────────┬─────────────────┬──────────────┬────────┬────────────────┐
    │ path_id ┆ terminal_wealth ┆ max_drawdown ┆ ruined ┆ time_to_target │
    │ ---     ┆ ---             ┆ ---          ┆ ---    ┆ ---            │
    │ i64     ┆ f64             ┆ f64          ┆ bool   ┆ i64            │
    ╞═════════╪═════════════════╪══════════════╪════════╪════════════════╡
    │ 0       ┆ 1.5             ┆ -0.5         ┆ false  ┆ 1              │
    │ 1       ┆ 0.484           ┆ -0.6         ┆ true   ┆ null           │
    └─────────┴─────────────────┴──────────────┴────────┴────────────────┘
    """
    frame = paths.lazy()
    if not presorted:
        # Renumber steps 0..n-1 within each path: the spell arithmetic relies on it.
        frame = frame.sort("path_id", "step").with_columns(
            step=pl.int_range(pl.len(), dtype=pl.Int64).over("path_id")
        )
    return finish(raw_statistics(frame, rules), rules)


def raw_statistics(frame: pl.LazyFrame, rules: WealthRules) -> pl.LazyFrame:
    """Return the per-path aggregates :func:`finish` turns into :func:`path_statistics`.

    ``frame`` is sorted by ``path_id`` with steps ``0 .. n - 1``. Columns: ``path_id,
    n_steps, terminal_wealth, max_drawdown, underwater_fraction, longest_underwater,
    ruin_step, target_step`` (first steps at or below the floor and at or above the target,
    from 0; null when never).
    """
    target = math.inf if rules.target is None else rules.target
    wealth, peak, step = pl.col("wealth"), pl.col("peak"), pl.col("step")
    underwater = wealth < peak
    return (
        frame.with_columns(wealth=_wealth(rules))
        .with_columns(
            peak=pl.max_horizontal(
                wealth.cum_max().over("path_id", mapping_strategy="explode"),
                rules.initial_wealth,
            )
        )
        .with_columns(spell=_underwater_spell(underwater))
        .group_by("path_id", maintain_order=True)
        .agg(
            n_steps=pl.len().cast(pl.Int64),
            terminal_wealth=wealth.last(),
            max_drawdown=(wealth / peak - 1.0).min(),
            underwater_fraction=underwater.mean(),
            longest_underwater=pl.col("spell").max(),
            ruin_step=pl.when(wealth <= rules.floor).then(step).min(),
            target_step=pl.when(wealth >= target).then(step).min(),
        )
    )


def finish(per_path: pl.LazyFrame, rules: WealthRules) -> pl.LazyFrame:
    """Return :func:`path_statistics`' columns from :func:`raw_statistics`' aggregates."""
    ruin, hit = pl.col("ruin_step"), pl.col("target_step")
    hit_first = hit.is_not_null() & (ruin.is_null() | (hit < ruin))
    ratio = pl.col("terminal_wealth") / rules.initial_wealth
    cagr = pl.when(ratio > 0).then(ratio.pow(rules.periods_per_year / pl.col("n_steps")) - 1.0)
    return per_path.select(
        pl.col("path_id").cast(pl.Int64),
        "n_steps",
        "terminal_wealth",
        log_growth=pl.when(ratio > 0).then(ratio.log()).otherwise(-math.inf) / pl.col("n_steps"),
        cagr=cagr.otherwise(-1.0),
        max_drawdown="max_drawdown",
        underwater_fraction="underwater_fraction",
        longest_underwater=pl.col("longest_underwater").cast(pl.Int64),
        ruined=ruin.is_not_null(),
        time_to_ruin=(ruin + 1).cast(pl.Int64),
        target_hit=hit_first,
        time_to_target=pl.when(hit_first).then(hit + 1).cast(pl.Int64),
    )


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Return the Wilson score interval of a binomial proportion.

    Unlike the normal approximation it stays inside [0, 1] and keeps its coverage near 0 and 1
    (a Monte Carlo ruin probability is often near 0).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(0, 100)]
    [0.0, 0.037]
    >>> [round(x, 4) for x in wilson_interval(50, 100, confidence=0.99)]
    [0.3753, 0.6247]
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}, {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    phat = successes / n
    denominator = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denominator
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _quantiles(column: str, name: str) -> list[pl.Expr]:
    return [
        pl.col(column).quantile(q, interpolation="linear").alias(f"{name}_p{round(q * 100):02d}")
        for q in QUANTILES
    ]


def _exact_mean_sd(values: pl.Series) -> tuple[float, float]:
    # Correctly rounded sums (fsum): the summary must not depend on how the per-path frame was
    # chunked, and a SIMD float sum's rounding does.
    data = values.to_list()
    if not all(map(math.isfinite, data)):
        # fsum refuses inf + -inf; the mean is then NaN (or +-inf), the spread undefined.
        return sum(data) / len(data), math.nan
    mean = math.fsum(data) / len(data)
    if len(data) < 2 or not math.isfinite(mean):
        return mean, math.nan
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in data) / (len(data) - 1))


def summarize(per_path: pl.DataFrame, *, confidence: float = 0.95) -> pl.DataFrame:
    """Return one row summarising per-path statistics (from :func:`path_statistics`).

    Quantiles (``_p01`` ... ``_p99``) of terminal wealth, max drawdown and CAGR; the ruin and
    target-before-ruin probabilities with Wilson ``confidence`` intervals (``_lo``, ``_hi``);
    median times to ruin and to target among the paths where they happen; the mean log growth
    per step with its standard error; median time under water.

    Examples
    --------
    >>> import polars as pl
    >>> paths = pl.DataFrame({"path_id": [0, 0, 1, 1], "step": [0, 1] * 2,
    ...     "return": [0.5, 0.5, -0.6, 0.1]})
    >>> stats = path_statistics(paths, WealthRules(floor=0.5, target=2.0)).collect()
    >>> summarize(stats).select("n_paths", "p_ruin", "p_target", "time_to_target_median").row(0)
    (2, 0.5, 0.5, 2.0)
    """
    n = per_path.height
    if n == 0:
        raise ValueError("no paths to summarise")
    quantiles = [
        *_quantiles("terminal_wealth", "terminal_wealth"),
        *_quantiles("max_drawdown", "max_drawdown"),
        *_quantiles("cagr", "cagr"),
    ]
    row = per_path.select(
        pl.len().cast(pl.Int64).alias("n_paths"),
        pl.col("n_steps").max(),
        pl.col("ruined").sum(),
        pl.col("target_hit").sum().alias("hit"),
        *quantiles,
        pl.col("underwater_fraction").median().alias("underwater_fraction_median"),
        pl.col("longest_underwater").median().alias("longest_underwater_median"),
        pl.col("time_to_ruin").median().alias("time_to_ruin_median"),
        pl.col("time_to_target").median().alias("time_to_target_median"),
    )
    ruined, hit = int(row["ruined"][0]), int(row["hit"][0])
    ruin_lo, ruin_hi = wilson_interval(ruined, n, confidence)
    hit_lo, hit_hi = wilson_interval(hit, n, confidence)
    growth_mean, growth_sd = _exact_mean_sd(per_path["log_growth"])
    return row.drop("ruined", "hit").with_columns(
        terminal_wealth_mean=pl.lit(_exact_mean_sd(per_path["terminal_wealth"])[0]),
        log_growth_mean=pl.lit(growth_mean),
        log_growth_se=pl.lit(growth_sd / math.sqrt(n)),
        p_ruin=pl.lit(ruined / n),
        p_ruin_lo=pl.lit(ruin_lo),
        p_ruin_hi=pl.lit(ruin_hi),
        p_target=pl.lit(hit / n),
        p_target_lo=pl.lit(hit_lo),
        p_target_hi=pl.lit(hit_hi),
        confidence=pl.lit(confidence),
    )
