"""Research commands: ``houseedge backtest``, ``houseedge report`` and ``houseedge runs``.

``backtest`` runs a built-in policy over bars read from the store and saves the run (see
:mod:`houseedge.research.runs`); ``report`` writes a stored run's HTML tearsheet; ``runs``
lists stored runs. A bad argument (unknown policy or parameter, a value of the wrong type, no
bars) ends the command with a one-line error and exit status 2.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer

from houseedge.core.policies.registry import policy_class, policy_names
from houseedge.errors import ConfigError, DatasetNotFound, PolicyError

# Defined here as in houseedge.cli, which imports this module to register the commands.
StoreOption = Annotated[
    Path | None,
    typer.Option("--store", envvar="HOUSEEDGE_STORE", help="store root (default ./data/store)"),
]

if TYPE_CHECKING:
    from houseedge.core.policies.protocol import VectorPolicy
    from houseedge.core.sizing.sizers import Sizer
    from houseedge.data.store import Store

__all__ = ["POLICY_NAMES", "build_policy", "parse_sizing", "register"]

POLICY_NAMES = policy_names()
HEADLINE = (
    "total_return", "annual_return", "annual_volatility", "sharpe_ratio", "sortino_ratio",
    "max_drawdown", "calmar_ratio", "trades", "win_rate", "profit_factor", "exposure_time",
    "total_fees", "final_equity",
)  # fmt: skip


def _policy_class(name: str) -> type[Any]:
    return policy_class(name)


def _convert(policy: str, name: str, text: str, kind: Any) -> Any:
    """Return ``text`` as the parameter's declared type (int, float, bool or a literal)."""
    choices = typing.get_args(kind) if typing.get_origin(kind) is typing.Literal else ()
    if choices:
        if text not in choices:
            expected = ", ".join(map(str, choices))
            raise PolicyError(f"{policy}: {name}={text!r} is not one of {expected}")
        return text
    converters: dict[Any, Any] = {int: int, float: float, bool: _boolean, str: str}
    if kind not in converters:
        raise PolicyError(f"{policy}: parameter {name} cannot be set from the command line")
    try:
        return converters[kind](text)
    except ValueError:
        raise PolicyError(f"{policy}: {name}={text!r} is not a valid {kind.__name__}") from None


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ValueError(text)


def build_policy(name: str, params: Sequence[str]) -> VectorPolicy:
    """Return the built-in policy ``name`` built from ``key=value`` strings.

    Raises
    ------
    PolicyError
        Unknown policy or parameter, a value of the wrong type, or a missing parameter.

    Examples
    --------
    >>> build_policy("sma_cross", ["fast=10", "slow=50"]).params()["slow"]
    50
    >>> build_policy("sma_cross", ["fast=ten", "slow=50"])
    Traceback (most recent call last):
    houseedge.errors.PolicyError: sma_cross: fast='ten' is not a valid int
    """
    cls = _policy_class(name)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for item in params:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            known = ", ".join(fields) or "none"
            raise PolicyError(f"{name}: unknown parameter {item!r}; parameters: {known}")
        values[key] = _convert(name, key, text.strip(), hints[key])
    missing = [
        n
        for n, f in fields.items()
        if n not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise PolicyError(f"{name} needs --param for: {', '.join(missing)}")
    return cls(**values)


def parse_sizing(text: str) -> Sizer:
    """Return a sizer from ``fraction:F[:whole]`` or ``units:N``.

    Examples
    --------
    >>> parse_sizing("units:10").params(), parse_sizing("fraction:0.5:whole").params()
    ({'units': 10.0}, {'fraction': 0.5, 'whole_units': True})
    """
    from houseedge.core.sizing.sizers import FixedFraction, FixedUnits

    kind, _, rest = text.partition(":")
    amount, _, flag = rest.partition(":")
    try:
        value = float(amount)
    except ValueError:
        value = None
    if value is None or (kind, flag) not in {
        ("fraction", ""),
        ("fraction", "whole"),
        ("units", ""),
    }:
        msg = f"--sizing {text!r}: expected fraction:F, fraction:F:whole or units:N"
        raise ConfigError(msg)
    if kind == "units":
        return FixedUnits(value)
    return FixedFraction(value, whole_units=flag == "whole")


def _bars(
    store: Store, symbols: Sequence[str], timeframe: str, start: str | None, end: str | None
) -> tuple[pl.DataFrame, list[Path]]:
    filters: dict[str, Any] = {"symbols": symbols, "start": start, "end": end}
    bars = store.read("bars", timeframe=timeframe, **filters)
    have = set(bars.get_column("symbol").unique().to_list())
    for symbol in symbols:
        if symbol not in have:
            span = f" from {start or 'the start'} to {end or 'the end'}" if start or end else ""
            raise DatasetNotFound(
                f"no {timeframe} bars for {symbol}{span}", source=str(store.root / "bars"),
                field="symbol", expected="a symbol and timeframe listed by `houseedge sql "
                "'SELECT * FROM dataset_summary'`",
            )  # fmt: skip
    return bars, store.files("bars", **filters)


def _open(root: Path | None) -> Store:
    from houseedge.data.store import Store

    return Store(root)


def _check_choice(option: str, value: str | None, choices: Sequence[str | None]) -> None:
    if value not in choices:
        expected = ", ".join(str(c) for c in choices if c is not None)
        raise ConfigError(f"{option} {value!r}: expected one of {expected}")


def _split(values: Sequence[str]) -> list[str]:
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def _metrics_table(metrics: Mapping[str, Any]) -> pl.DataFrame:
    shown = [m for m in HEADLINE if m in metrics]
    return pl.DataFrame(
        {"metric": shown, "value": [_number(metrics[m]) for m in shown]},
        schema={"metric": pl.String, "value": pl.Float64},
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def backtest_command(
    policy: Annotated[str, typer.Argument(help=f"built-in policy: {', '.join(POLICY_NAMES)}")],
    symbols: Annotated[
        list[str], typer.Option("--symbols", "-s", help="symbols, comma-separated or repeated")
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="policy parameter key=value")
    ] = None,
    timeframe: Annotated[str, typer.Option(help="bar timeframe in the store")] = "1d",
    start: Annotated[str | None, typer.Option(help="first bar time (inclusive, UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="end time (exclusive, UTC)")] = None,
    cash: Annotated[float, typer.Option(help="starting cash")] = 100_000.0,
    fee_bps: Annotated[float, typer.Option(help="commission per fill, bps of notional")] = 0.0,
    slippage_bps: Annotated[float, typer.Option(help="slippage per fill, bps of price")] = 0.0,
    sizing: Annotated[str, typer.Option(help="fraction:F[:whole] or units:N")] = "fraction:1.0",
    execution: Annotated[str, typer.Option(help="next_open or next_close")] = "next_open",
    finalize: Annotated[
        str | None, typer.Option(help="close open positions on the last bar: open or close")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="also write the HTML report here")] = None,
    tag: Annotated[str | None, typer.Option(help="label stored with the run")] = None,
    store: StoreOption = None,
) -> None:
    """Backtest a built-in policy on stored bars, save the run and print its metrics."""
    _check_choice("--execution", execution, ("next_open", "next_close"))
    _check_choice("--finalize", finalize, (None, "open", "close"))
    if not cash > 0:
        raise ConfigError(f"--cash {cash}: expected a positive amount")
    chosen = build_policy(policy, param or [])
    sizer = parse_sizing(sizing)
    target, names = _open(store), _split(symbols)
    bars, files = _bars(target, names, timeframe, start, end)
    # imported once the arguments are known to be good: a bad one fails fast
    from houseedge.cli._app import out, print_frame
    from houseedge.research.backtest import backtest
    from houseedge.research.report import infer_periods_per_year, write_report
    from houseedge.research.runs import save_run

    per_year = infer_periods_per_year(bars.get_column("ts")) or 252.0
    costs = _costs(fee_bps, slippage_bps, per_year)
    result = backtest(
        bars, chosen, cash=cash, costs=costs, sizing=sizer, execution=execution,  # type: ignore[arg-type]
        finalize=finalize, periods_per_year=per_year,  # type: ignore[arg-type]
    )  # fmt: skip
    run_id = save_run(result, target, bars=bars, data_files=files, timeframe=timeframe, tag=tag)
    title = f"{chosen.name} {chosen.params()} on {', '.join(names)} ({timeframe})"
    print_frame(_metrics_table(result.metrics), title=title)
    if report is not None:
        written = write_report(result, report, title=f"Run {run_id}: {chosen.name}")
        out.print(f"report: {written}")
    out.print(f"run id: {run_id}")


def _costs(fee_bps: float, slippage_bps: float, per_year: float) -> Any:
    from houseedge.core.costs import LinearCostModel

    try:
        return LinearCostModel(
            commission_bps=fee_bps, slippage_bps=slippage_bps, periods_per_year=per_year
        )
    except ValueError as error:
        raise ConfigError(f"--fee-bps/--slippage-bps: {error}") from None


def report_command(
    run_id: Annotated[str, typer.Argument(help="a run id from `houseedge runs`")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default reports/<id>.html)")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Write the HTML tearsheet of a stored run (PNG charts beside it)."""
    from houseedge.cli._app import out
    from houseedge.research.report import write_report
    from houseedge.research.runs import load_run

    record = load_run(_open(store), run_id)
    title = f"Run {record.run['run_id']}: {record.run['policy']}"
    path = write_report(record.result(), output or Path("reports") / f"{run_id}.html", title=title)
    out.print(f"wrote {path}")


def runs_command(
    policy: Annotated[str | None, typer.Option(help="only runs of this policy")] = None,
    tag: Annotated[str | None, typer.Option(help="only runs with this tag")] = None,
    symbol: Annotated[str | None, typer.Option(help="only runs that traded this symbol")] = None,
    limit: Annotated[int, typer.Option(help="rows shown (newest first)")] = 50,
    store: StoreOption = None,
) -> None:
    """List stored runs with their headline metrics, newest first."""
    from houseedge.cli._app import out, print_frame
    from houseedge.research.runs import list_runs

    wanted = {"policy": policy, "tag": tag, "symbols": symbol}
    runs = list_runs(_open(store), **{k: v for k, v in wanted.items() if v is not None})
    if runs.height == 0:
        out.print("no runs stored" + (" match" if any(wanted.values()) else " yet"))
        return
    print_frame(_listing(runs.reverse()), limit=limit)


def _listing(runs: pl.DataFrame) -> pl.DataFrame:
    """Return the columns ``houseedge runs`` shows, compact enough for a terminal."""
    params = pl.col("params").str.replace_all(r'[{}"]', "").str.replace_all(":", "=")
    day = "%Y-%m-%d"
    return runs.select(
        "run_id",
        created=pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M"),
        policy=pl.col("policy"),
        params=params.str.replace_all(",", " "),
        symbols=pl.col("symbols").list.join(","),
        data=pl.col("timeframe") + " " + pl.col("data_start").dt.strftime(day) + ".."
        + pl.col("data_end").dt.strftime(day),
        sharpe=pl.col("sharpe_ratio"),
        total_return=pl.col("total_return"),
        max_dd=pl.col("max_drawdown"),
        trades=pl.col("trades"),
        tag=pl.col("tag"),
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``backtest``, ``report`` and ``runs`` to the command line."""
    app.command("backtest")(backtest_command)
    app.command("report")(report_command)
    app.command("runs")(runs_command)
