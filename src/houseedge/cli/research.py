"""Research commands: ``houseedge backtest``, ``houseedge report`` and ``houseedge runs``.

``backtest`` runs a built-in policy over bars read from the store and saves the run (see
:mod:`houseedge.research.runs`); ``report`` writes a stored run's HTML tearsheet; ``runs``
lists stored runs. A run id is accepted whole or as a unique prefix. A bad argument (unknown
policy or parameter, a value of the wrong type, no bars) ends the command with a one-line error
and exit status 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer

from houseedge.cli._common import (
    CashOption,
    CostModelOption,
    CostParamOption,
    EndOption,
    FeeOption,
    PolicyArgument,
    SizerOption,
    SizerParamOption,
    SizingOption,
    SlippageOption,
    StartOption,
    StoreOption,
    SymbolsOption,
    TimeframeOption,
    check_choice,
    choose_sizer,
    cost_model,
    open_store,
    out,
    print_frame,
    read_bars,
    resolve_run_id,
    split_symbols,
)
from houseedge.errors import ConfigError, PolicyError

if TYPE_CHECKING:
    from houseedge.core.policies.protocol import OrderPolicy, VectorPolicy
    from houseedge.research.backtest import BacktestResult

__all__ = ["backtest_command", "build_policy", "register", "report_command", "runs_command"]

HEADLINE = (
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "trades",
    "win_rate",
    "profit_factor",
    "exposure_time",
    "total_fees",
    "final_equity",
)


def build_policy(reference: str, params: Sequence[str]) -> VectorPolicy | OrderPolicy:
    """Return the policy ``reference`` names, built from ``key=value`` strings.

    ``reference`` is a built-in name, ``package.module:Class`` or ``path/file.py:Class``.

    Raises
    ------
    PolicyError
        A bad reference, an unknown parameter, a value of the wrong type, a missing parameter,
        or an object that is neither a vector nor an order policy.

    Examples
    --------
    >>> build_policy("sma_cross", ["fast=10", "slow=50"]).params()["slow"]
    50
    >>> build_policy("sma_cross", ["fast=ten", "slow=50"])
    Traceback (most recent call last):
    houseedge.errors.PolicyError: sma_cross: fast='ten' is not a valid int
    """
    from houseedge.app.references import build
    from houseedge.core.policies.protocol import OrderPolicy, VectorPolicy

    policy = build(reference, params)
    if not isinstance(policy, VectorPolicy | OrderPolicy):
        msg = f"{reference}: the object built is neither a VectorPolicy nor an OrderPolicy"
        raise PolicyError(msg)
    return policy


def _metrics_table(metrics: Mapping[str, Any]) -> pl.DataFrame:
    shown = [m for m in HEADLINE if m in metrics]
    return pl.DataFrame(
        {"metric": shown, "value": [_number(metrics[m]) for m in shown]},
        schema={"metric": pl.String, "value": pl.Float64},
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def backtest_command(
    policy: PolicyArgument,
    symbols: SymbolsOption,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="policy parameter key=value")
    ] = None,
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    cash: CashOption = 100_000.0,
    fee_bps: FeeOption = 0.0,
    slippage_bps: SlippageOption = 0.0,
    sizing: SizingOption = "fraction:1.0",
    sizer: SizerOption = None,
    sizer_param: SizerParamOption = None,
    cost_model_reference: CostModelOption = None,
    cost_param: CostParamOption = None,
    execution: Annotated[str, typer.Option(help="next_open or next_close")] = "next_open",
    finalize: Annotated[
        str | None, typer.Option(help="close open positions on the last bar: open or close")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="also write the HTML report here")] = None,
    tag: Annotated[str | None, typer.Option(help="label stored with the run")] = None,
    store: StoreOption = None,
) -> None:
    """Backtest a policy on stored bars, save the run and print its metrics.

    A vector policy runs in the vectorised backtest, an order policy in the event-driven one.
    """
    check_choice("--execution", execution, ("next_open", "next_close"))
    check_choice("--finalize", finalize, (None, "open", "close"))
    if not cash > 0:
        raise ConfigError(f"--cash {cash}: expected a positive amount")
    chosen = build_policy(policy, param or [])
    chosen_sizer = choose_sizer(sizing, sizer, sizer_param)
    target, names = open_store(store), split_symbols(symbols)
    bars, files = read_bars(target, names, timeframe, start, end)
    # imported once the arguments are known to be good: a bad one fails fast
    from houseedge.research.report import infer_periods_per_year, write_report
    from houseedge.research.runs import save_run

    per_year = infer_periods_per_year(bars.get_column("ts")) or 252.0
    costs = cost_model(fee_bps, slippage_bps, per_year, cost_model_reference, cost_param)
    options: dict[str, Any] = {"cash": cash, "finalize": finalize, "periods_per_year": per_year}
    result = _run(bars, chosen, costs, chosen_sizer, execution, options)
    run_id = save_run(result, target, bars=bars, data_files=files, timeframe=timeframe, tag=tag)
    title = f"{chosen.name} {chosen.params()} on {', '.join(names)} ({timeframe})"
    print_frame(_metrics_table(result.metrics), title=title)
    if report is not None:
        page = write_report(result, report, title=f"Run {run_id}: {chosen.name}")
        out.print(f"report: {page}")
    out.print(f"run id: {run_id}")


def _run(
    bars: pl.DataFrame,
    policy: VectorPolicy | OrderPolicy,
    costs: Any,
    sizer: Any,
    execution: str,
    options: dict[str, Any],
) -> BacktestResult:
    """Return a vector policy's vectorised backtest, an order policy's event-driven one."""
    from houseedge.core.policies.protocol import VectorPolicy

    if isinstance(policy, VectorPolicy):
        from houseedge.research.backtest import backtest

        return backtest(
            bars,
            policy,
            costs=costs,
            sizing=sizer,
            execution=execution,  # type: ignore[arg-type]  # checked by check_choice
            **options,
        )
    if execution != "next_open":
        raise ConfigError(f"--execution {execution}: an order policy fills from the next open")
    from houseedge.research.events import run_events

    return run_events(bars, policy, costs=costs, **options)


def report_command(
    run_id: Annotated[
        str, typer.Argument(help="a run id listed by houseedge runs, or a unique prefix of one")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default reports/<id>.html)")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Write the HTML tearsheet of a stored run (PNG charts beside it)."""
    from houseedge.research.report import write_report
    from houseedge.research.runs import load_run

    target = open_store(store)
    run_id = resolve_run_id(target, run_id)
    record = load_run(target, run_id)
    title = f"Run {run_id}: {record.run['policy']}"
    page = write_report(record.result(), output or Path("reports") / f"{run_id}.html", title=title)
    out.print(f"wrote {page}")


def runs_command(
    policy: Annotated[str | None, typer.Option(help="only runs of this policy")] = None,
    tag: Annotated[str | None, typer.Option(help="only runs with this tag")] = None,
    symbol: Annotated[str | None, typer.Option(help="only runs that traded this symbol")] = None,
    limit: Annotated[int, typer.Option(help="rows shown (newest first)")] = 50,
    store: StoreOption = None,
) -> None:
    """List stored runs with their headline metrics, newest first."""
    from houseedge.research.runs import list_runs

    wanted = {"policy": policy, "tag": tag, "symbols": symbol}
    runs = list_runs(open_store(store), **{k: v for k, v in wanted.items() if v is not None})
    if runs.height == 0:
        out.print("no runs stored" + (" match" if any(wanted.values()) else " yet"))
        return
    print_frame(_listing(runs.reverse()), limit=limit)


def _listing(runs: pl.DataFrame) -> pl.DataFrame:
    """Return the columns ``houseedge runs`` shows, the most telling first (narrow: cut right)."""
    params = pl.col("params").str.replace_all(r'[{}"]', "").str.replace_all(":", "=")
    day = "%Y-%m-%d"
    span = pl.col("data_start").dt.strftime(day) + ".." + pl.col("data_end").dt.strftime(day)
    return runs.select(
        "run_id",
        policy=pl.col("policy"),
        sharpe=pl.col("sharpe_ratio"),
        total_return=pl.col("total_return"),
        max_dd=pl.col("max_drawdown"),
        trades=pl.col("trades"),
        data=pl.col("timeframe") + " " + span,
        created=pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M"),
        tag=pl.col("tag"),
        symbols=pl.col("symbols").list.join(","),
        params=params.str.replace_all(",", " "),
    )


def register(app: typer.Typer) -> None:
    """Add ``backtest``, ``report`` and ``runs`` to the command line."""
    app.command("backtest")(backtest_command)
    app.command("report")(report_command)
    app.command("runs")(runs_command)
