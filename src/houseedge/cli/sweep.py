"""Sweep commands: ``houseedge sweep`` and ``houseedge walkforward``.

Both read bars from the store, take a grid as ``--grid name=start:stop:step`` (inclusive
range) or ``--grid name=a,b,c``, show a progress bar on the terminal, and print the results.
``sweep --save`` stores every parameter set as a run; ``walkforward --save`` stores the IS
sweeps and OOS runs, tagged per window. A bad argument ends with a one-line error (status 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

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
    choose_sizer,
    cost_model,
    err,
    open_store,
    out,
    print_frame,
    read_bars,
    split_symbols,
)
from houseedge.errors import ConfigError, PolicyError

__all__ = ["parse_grid", "register"]

_HEADLINE = ("total_return", "max_drawdown", "trades")


def parse_grid(policy: str, items: Sequence[str]) -> dict[str, list[Any]]:
    """Return ``{name: values}`` from ``name=start:stop:step`` or ``name=a,b,c`` strings.

    ``policy`` is a reference (a built-in name, ``module:Class`` or ``file.py:Class``). Values
    take the policy parameter's declared type; ranges include ``stop``.

    Examples
    --------
    >>> parse_grid("sma_cross", ["fast=5:20:5", "slow=50,100", "mode=long_short"])
    {'fast': [5, 10, 15, 20], 'slow': [50, 100], 'mode': ['long_short']}
    >>> parse_grid("sma_cross", ["fast=5:20"])
    Traceback (most recent call last):
    houseedge.errors.PolicyError: sma_cross: --grid 'fast=5:20': expected start:stop:step
    """
    from houseedge.app.references import convert_text, param_specs, parse_params, resolve

    cls = resolve(policy)
    specs = param_specs(cls)
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in specs:
            parse_params(policy, cls, [f"{key}=" if sep else item])  # raises, naming the error
        kind = specs[key].kind
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise PolicyError(f"{policy}: --grid {item!r}: expected start:stop:step")
            start, stop, step = (convert_text(policy, key, p.strip(), kind) for p in parts)
            if not step > 0:
                raise PolicyError(f"{policy}: --grid {item!r}: step must be positive")
            values: list[Any] = []
            value = start
            while value <= stop + (step * 1e-9 if isinstance(step, float) else 0):
                values.append(value)
                value = start + step * len(values)
            grid[key] = values
        else:
            grid[key] = [convert_text(policy, key, v.strip(), kind) for v in text.split(",")]
    if not grid:
        raise PolicyError(f"{policy}: give at least one --grid name=values")
    return grid


GridOption = Annotated[
    list[str], typer.Option("--grid", "-g", help="name=start:stop:step or name=a,b,c")
]
ObjectiveOption = Annotated[str, typer.Option(help="metric that ranks the sets")]
MinimizeOption = Annotated[bool, typer.Option(help="lower objective is better")]
ExecutorOption = Annotated[str, typer.Option(help="inprocess, process or ray")]
WorkersOption = Annotated[int | None, typer.Option(help="processes or Ray CPUs")]


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _setup(
    policy: str, grid: list[str], symbols: list[str], timeframe: str, options: dict[str, Any]
) -> dict[str, Any]:
    from houseedge.app.references import resolve
    from houseedge.research.report import infer_periods_per_year
    from houseedge.research.sweep import StoreBars
    from houseedge.research.sweep.executors import executor_named

    values = parse_grid(policy, grid)
    cls = resolve(policy)
    sizer = choose_sizer(options["sizing"], options["sizer"], options["sizer_param"])
    executor = executor_named(options["executor"], options["workers"])
    store, names = open_store(options["store"]), split_symbols(symbols)
    start, end = options["start"], options["end"]
    bars, _files = read_bars(store, names, timeframe, start, end)
    per_year = infer_periods_per_year(bars.get_column("ts")) or 252.0
    # Worker processes read the bars themselves; in process, the frame already read is used.
    source = StoreBars(store.root, tuple(names), timeframe, start, end)
    return {
        "bars": source if options["executor"] != "inprocess" else bars,
        "policy": cls,
        "grid": values,
        "executor": executor,
        "sizing": sizer,
        "cash": options["cash"],
        "costs": cost_model(
            options["fee_bps"],
            options["slippage_bps"],
            per_year,
            options["cost_model_reference"],
            options["cost_param"],
        ),
        "periods_per_year": per_year,
        "objective": options["objective"],
        "maximize": not options["minimize"],
        "save_to": store if options["save"] else None,
    }


def sweep_command(
    policy: PolicyArgument,
    grid: GridOption,
    symbols: SymbolsOption,
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    objective: ObjectiveOption = "sharpe_ratio",
    minimize: MinimizeOption = False,
    executor: ExecutorOption = "inprocess",
    workers: WorkersOption = None,
    top: Annotated[int, typer.Option(help="rows shown")] = 10,
    cash: CashOption = 100_000.0,
    fee_bps: FeeOption = 0.0,
    slippage_bps: SlippageOption = 0.0,
    sizing: SizingOption = "fraction:1.0",
    sizer: SizerOption = None,
    sizer_param: SizerParamOption = None,
    cost_model_reference: CostModelOption = None,
    cost_param: CostParamOption = None,
    save: Annotated[bool, typer.Option(help="store every set as a run")] = False,
    tag: Annotated[str | None, typer.Option(help="label stored with the runs")] = None,
    store: StoreOption = None,
) -> None:
    """Sweep a policy's parameters over stored bars; print the best sets."""
    options = dict(locals())
    kwargs = _setup(policy, grid, symbols, timeframe, options)
    from houseedge.research.sweep import sweep

    bars, cls, values = kwargs.pop("bars"), kwargs.pop("policy"), kwargs.pop("grid")
    with _progress() as progress:
        result = sweep(bars, cls, values, progress=progress, tag=tag, **kwargs)
    names = ", ".join(split_symbols(symbols))
    title = f"{policy}: {result.frame.height} sets by {objective} on {names}"
    shown = [*result.params, *dict.fromkeys([objective, *_HEADLINE])]
    if save:
        shown.append("run_id")
    print_frame(result.ranked().select(shown), title=title, limit=top)
    if result.skipped:
        out.print(f"skipped {len(result.skipped)} sets the policy rejects")
    if save:
        out.print(f"saved {result.frame.height} runs")


def walkforward_command(
    policy: PolicyArgument,
    grid: GridOption,
    symbols: SymbolsOption,
    in_sample: Annotated[str, typer.Option("--is", help="IS length: bars (500) or span (90d)")],
    out_of_sample: Annotated[str, typer.Option("--oos", help="OOS length: bars or span")],
    anchored: Annotated[bool, typer.Option(help="every IS window starts at the first bar")] = False,
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    objective: Annotated[str, typer.Option(help="metric that picks the set")] = "sharpe_ratio",
    minimize: MinimizeOption = False,
    executor: ExecutorOption = "inprocess",
    workers: WorkersOption = None,
    cash: CashOption = 100_000.0,
    fee_bps: FeeOption = 0.0,
    slippage_bps: SlippageOption = 0.0,
    sizing: SizingOption = "fraction:1.0",
    sizer: SizerOption = None,
    sizer_param: SizerParamOption = None,
    cost_model_reference: CostModelOption = None,
    cost_param: CostParamOption = None,
    save: Annotated[bool, typer.Option(help="store the IS sweeps and OOS runs")] = False,
    tag: Annotated[str, typer.Option(help="tag prefix of the stored runs")] = "walkforward",
    store: StoreOption = None,
) -> None:
    """Walk-forward a policy: choose per IS window, trade OOS, print the windows."""
    options = dict(locals())
    lengths = [_length(in_sample, "--is"), _length(out_of_sample, "--oos")]
    kwargs = _setup(policy, grid, symbols, timeframe, options)
    from houseedge.research.sweep.walkforward import walk_forward

    bars, cls, values = kwargs.pop("bars"), kwargs.pop("policy"), kwargs.pop("grid")
    with _progress() as progress:
        result = walk_forward(
            bars,
            cls,
            values,
            in_sample=lengths[0],
            out_of_sample=lengths[1],
            anchored=anchored,
            progress=progress,
            tag=tag,
            **kwargs,
        )
    day = "%Y-%m-%d %H:%M"
    table = result.windows.with_columns(
        oos_start=pl.col("oos_start").dt.strftime(day), oos_end=pl.col("oos_end").dt.strftime(day)
    ).drop("is_start", "is_end")
    print_frame(table, title=f"{policy} walk-forward by {objective}")
    final = result.equity.get_column("equity")
    out.print(f"stitched OOS equity: {final[-1]:,.2f} from {cash:,.2f}")
    decay = "n/a" if result.decay is None else f"{result.decay:.3f}"
    out.print(f"decay (mean OOS/IS {objective}): {decay}")


def _length(text: str, option: str) -> int | str:
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or not text[0].isdigit():
        raise ConfigError(f"{option} {text!r}: expected a bar count (500) or a span (90d)")
    return text


def register(app: typer.Typer) -> None:
    """Add ``sweep`` and ``walkforward`` to the command line."""
    app.command("sweep")(sweep_command)
    app.command("walkforward")(walkforward_command)
