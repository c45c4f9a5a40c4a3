"""What every command group shares: options, the consoles, printing, the store and run ids.

Private to ``houseedge.cli``: the group modules (store, research, sweep, live, demo and the
venues) import their shared pieces from here and from nothing else in the package, and the root
app imports the groups. Heavy libraries (the store, DuckDB, the research engine) are imported
inside the functions that need them, so ``houseedge --help`` starts fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from houseedge.core.policies.registry import policy_names
from houseedge.errors import ConfigError, DatasetNotFound

if TYPE_CHECKING:
    from houseedge.core.costs import CostModel
    from houseedge.core.sizing.sizers import Sizer
    from houseedge.data.store import Store

__all__ = [
    "CashOption",
    "CostModelOption",
    "CostParamOption",
    "EndOption",
    "FeeOption",
    "PolicyArgument",
    "SizerOption",
    "SizerParamOption",
    "SizingOption",
    "SlippageOption",
    "StartOption",
    "StoreOption",
    "SymbolsOption",
    "TimeframeOption",
    "check_choice",
    "choose_sizer",
    "cost_model",
    "err",
    "open_store",
    "out",
    "parse_sizing",
    "print_frame",
    "read_bars",
    "resolve_run_id",
    "split_symbols",
]

out = Console()
err = Console(stderr=True)

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", envvar="HOUSEEDGE_STORE", help="store root (default ./data/store)"),
]
PolicyArgument = Annotated[
    str,
    typer.Argument(
        help=f"a built-in policy ({', '.join(policy_names())}), package.module:Class or "
        "path/file.py:Class (houseedge policies lists them)"
    ),
]
SymbolsOption = Annotated[
    list[str], typer.Option("--symbols", "-s", help="symbols, comma-separated or repeated")
]
TimeframeOption = Annotated[str, typer.Option(help="bar timeframe in the store")]
StartOption = Annotated[str | None, typer.Option(help="first bar time (inclusive, UTC)")]
EndOption = Annotated[str | None, typer.Option(help="end time (exclusive, UTC)")]
CashOption = Annotated[float, typer.Option(help="starting cash")]
FeeOption = Annotated[float, typer.Option(help="commission per fill, bps of notional")]
SlippageOption = Annotated[float, typer.Option(help="slippage per fill, bps of price")]
SizingOption = Annotated[str, typer.Option(help="fraction:F[:whole] or units:N")]
SizerOption = Annotated[
    str | None,
    typer.Option(help="a sizer by reference (fixed_units, module:Class, file.py:Class)"),
]
SizerParamOption = Annotated[
    list[str] | None, typer.Option("--sizer-param", help="sizer parameter key=value")
]
CostModelOption = Annotated[
    str | None,
    typer.Option(
        "--cost-model", help="a cost model by reference (linear, module:Class, file.py:Class)"
    ),
]
CostParamOption = Annotated[
    list[str] | None, typer.Option("--cost-param", help="cost model parameter key=value")
]

# Columns holding run ids are printed whole: a cut id cannot be passed back to a command.
_ID_SUFFIX = "run_id"
_SHOWN_MATCHES = 10


def open_store(root: Path | None) -> Store:
    """Return the store at ``root`` (the default store when None)."""
    from houseedge.data.store import Store

    return Store(root)


def print_frame(frame: pl.DataFrame, *, title: str | None = None, limit: int = 50) -> None:
    """Print a frame as a rich table (first ``limit`` rows); run ids are never cut.

    Columns that do not fit the terminal at their natural width are left out (id columns always
    stay; the others are taken left to right, so a frame lists its most telling columns first)
    rather than squeezed into unreadable slivers; a dim line says which were left out.
    """
    shown = frame.head(limit)
    cells = [[_cell(v) for v in row] for row in shown.iter_rows()]
    keep = _fitting_columns(shown.columns, cells, out.width)
    table = Table(title=title, show_lines=False, header_style="bold")
    for index in keep:
        name = shown.columns[index]
        if name.endswith(_ID_SUFFIX):
            longest = shown.get_column(name).cast(pl.String).str.len_chars().max()
            width = max(len(name), int(longest or 0))  # type: ignore[arg-type]
            table.add_column(name, no_wrap=True, min_width=width)
        else:
            numeric = shown.schema[name].is_numeric()
            table.add_column(name, justify="right" if numeric else "left")
    for row in cells:
        table.add_row(*(row[index] for index in keep))
    out.print(table)
    if len(keep) < shown.width:
        hidden = ", ".join(n for i, n in enumerate(shown.columns) if i not in keep)
        out.print(f"[dim]columns left out at this width: {hidden} (widen the terminal)[/dim]")
    if frame.height > limit:
        out.print(f"[dim]… {frame.height - limit} more rows ({frame.height} in all)[/dim]")


def _fitting_columns(names: Sequence[str], cells: Sequence[Sequence[str]], width: int) -> list[int]:
    """Return the indices of the columns shown within ``width``: every id, then left to right.

    Examples
    --------
    >>> _fitting_columns(["run_id", "policy"], [["0123456789abcdef", "sma_cross"]], 80)
    [0, 1]
    >>> row = ["x" * 70, "1.5", "0123456789abcdef"]
    >>> _fitting_columns(["params", "sharpe", "run_id"], [row], 80)
    [1, 2]
    """

    def natural(index: int) -> int:  # the content, its padding and a border
        return max([len(names[index]), *(len(row[index]) for row in cells)]) + 3

    ids = [i for i, name in enumerate(names) if name.endswith(_ID_SUFFIX)]
    used = 1 + sum(natural(i) for i in ids)  # 1: the table's left border
    keep = set(ids)
    for index in range(len(names)):
        if index not in keep and (used + natural(index) <= width or not keep):
            keep.add(index)
            used += natural(index)
    return sorted(keep)


def _cell(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.2f}"
    return str(value)


def split_symbols(values: Sequence[str]) -> list[str]:
    """Return the symbols of repeated and comma-separated ``--symbols`` values.

    Examples
    --------
    >>> split_symbols(["AAA,BBB", " CCC ", ""])
    ['AAA', 'BBB', 'CCC']
    """
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def check_choice(option: str, value: str | None, choices: Sequence[str | None]) -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``.

    Examples
    --------
    >>> check_choice("--execution", "next_bar", ("next_open", "next_close"))
    Traceback (most recent call last):
    houseedge.errors.ConfigError: --execution 'next_bar': expected one of next_open, next_close
    """
    if value not in choices:
        expected = ", ".join(str(c) for c in choices if c is not None)
        raise ConfigError(f"{option} {value!r}: expected one of {expected}")


def read_bars(
    store: Store, symbols: Sequence[str], timeframe: str, start: str | None, end: str | None
) -> tuple[pl.DataFrame, list[Path]]:
    """Return the stored bars of ``symbols`` and the files they were read from.

    Raises
    ------
    DatasetNotFound
        A symbol has no bars of ``timeframe`` between ``start`` and ``end``.
    """
    filters: dict[str, Any] = {"symbols": symbols, "start": start, "end": end}
    bars = store.read("bars", timeframe=timeframe, **filters)
    have = set(bars.get_column("symbol").unique().to_list())
    for symbol in symbols:
        if symbol not in have:
            span = f" from {start or 'the start'} to {end or 'the end'}" if start or end else ""
            raise DatasetNotFound(
                f"no {timeframe} bars for {symbol}{span}",
                source=str(store.root / "bars"),
                field="symbol",
                expected="a symbol and timeframe listed by "
                "houseedge sql 'SELECT * FROM dataset_summary'",
            )
    return bars, store.files("bars", **filters)


def cost_model(
    fee_bps: float,
    slippage_bps: float,
    per_year: float,
    reference: str | None = None,
    params: Sequence[str] | None = None,
) -> CostModel:
    """Return the cost model of ``--cost-model``, else the linear one of the bps options.

    Raises
    ------
    ConfigError
        A cost is negative or not finite; ``--cost-model`` is a bad reference or its
        parameters are wrong; it is given beside ``--fee-bps``/``--slippage-bps``.
    """
    from houseedge.core.costs import LinearCostModel

    if reference is not None:
        if fee_bps or slippage_bps:
            msg = "--cost-model: give its costs with --cost-param, not --fee-bps/--slippage-bps"
            raise ConfigError(msg)
        from houseedge.app.references import build

        return build(reference, params or [], "cost model")
    if params:
        raise ConfigError("--cost-param: give --cost-model too")

    try:
        return LinearCostModel(
            commission_bps=fee_bps, slippage_bps=slippage_bps, periods_per_year=per_year
        )
    except ValueError as error:
        raise ConfigError(f"--fee-bps/--slippage-bps: {error}") from None


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


def choose_sizer(sizing: str, reference: str | None, params: Sequence[str] | None) -> Sizer:
    """Return the sizer of ``--sizer`` (by reference) when given, else of ``--sizing``.

    Raises
    ------
    ConfigError
        ``--sizing`` is malformed, or ``--sizer`` is a bad reference or its parameters are
        wrong, or ``--sizer-param`` comes without ``--sizer``.

    Examples
    --------
    >>> choose_sizer("fraction:1.0", "fixed_units", ["units=5"]).params()
    {'units': 5.0}
    """
    if reference is None:
        if params:
            raise ConfigError("--sizer-param: give --sizer too")
        return parse_sizing(sizing)
    from houseedge.app.references import build

    return build(reference, params or [], "sizer")


def resolve_run_id(store: Store, prefix: str) -> str:
    """Return the stored run id that starts with ``prefix`` (a whole id matches itself).

    Raises
    ------
    DatasetNotFound
        No stored run id starts with ``prefix``.
    ConfigError
        ``prefix`` is empty, or starts several run ids (the message lists them).

    Examples
    --------
    >>> import tempfile
    >>> from houseedge.data.store import Store
    >>> resolve_run_id(Store(tempfile.mkdtemp()), "ab12")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    houseedge.errors.DatasetNotFound: .../runs: no run 'ab12': no run matches that id or prefix...
    """
    wanted = prefix.strip()
    if not wanted:
        raise ConfigError("run id: expected a run id or a unique prefix of one, got nothing")
    matches: list[str] = []
    if "runs" in store.datasets():
        literal = wanted.replace("'", "''")  # a SQL string: quotes doubled
        query = f"SELECT DISTINCT run_id FROM runs WHERE starts_with(run_id, '{literal}')"  # noqa: S608
        matches = sorted(store.sql(query).get_column("run_id").to_list())
    if wanted in matches or len(matches) == 1:
        return wanted if wanted in matches else matches[0]
    if not matches:
        raise DatasetNotFound(
            f"no run {wanted!r}: no run matches that id or prefix",
            source=str(store.root / "runs"),
            field="run_id",
            expected="a run id, or a unique prefix of one, listed by houseedge runs",
        )
    listed = ", ".join(matches[:_SHOWN_MATCHES])
    more = f" and {len(matches) - _SHOWN_MATCHES} more" if len(matches) > _SHOWN_MATCHES else ""
    msg = f"run id prefix {wanted!r} is ambiguous: it matches {listed}{more}; give more of the id"
    raise ConfigError(msg)
