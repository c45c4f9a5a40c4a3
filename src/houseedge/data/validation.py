"""Validation every write goes through: cast to the dataset schema, rules, key and order.

Validation runs as one vectorised pass; only when a rule fails is the first offending row
located, so the error can name the source, the row and the field.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"symbol": ["X"], "timeframe": ["1d"], "ts": [0], "open": [1.0],
...     "high": [2.0], "low": [0.5], "close": [1.5], "volume": [10.0]})
>>> validate("bars", frame).schema["ts"]
Datetime(time_unit='ns', time_zone='UTC')
>>> try:
...     validate("bars", frame.with_columns(high=pl.lit(1.2)), source="x.csv", row_base=2)
... except InvalidData as error:
...     print(error.reason, "|", error.row, error.field, "|", error.expected)
high below max(open, close) | 2 high | low <= open, close <= high
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import polars as pl

from houseedge.data.schemas import DatasetSpec, spec_of
from houseedge.errors import InvalidData, SchemaMismatch


def validate(
    dataset: str | DatasetSpec,
    frame: pl.DataFrame,
    *,
    source: str | None = None,
    row_base: int = 0,
    check_order: bool = False,
    check_key: bool = True,
) -> pl.DataFrame:
    """Validate a frame against a dataset and return it cast to the dataset schema.

    Parameters
    ----------
    dataset
        Dataset name or spec.
    frame
        Rows to check, in their input order.
    source
        The input's name for error messages (a file path); the dataset name by default.
    row_base
        Added to a frame index to give the row reported in errors (2 for a CSV with a header
        line gives file line numbers).
    check_order
        Also require the time column to increase strictly within each key prefix (an input
        file must not be unsorted or repeat a timestamp).
    check_key
        Check that no key repeats. The store turns this off and checks adjacent rows after
        sorting, which is much cheaper, falling back to :func:`check_unique` to name the row.

    Raises
    ------
    SchemaMismatch
        A required column is missing or a value cannot be cast to the column type.
    InvalidData
        A value breaks a rule, is null where it may not be, or a key repeats.
    """
    spec = spec_of(dataset)
    where = source or spec.name
    cast = _cast(spec, frame, where, row_base)
    _check_rules(spec, cast, where, row_base, check_order=check_order, check_key=check_key)
    return cast


def _cast(spec: DatasetSpec, frame: pl.DataFrame, where: str, row_base: int) -> pl.DataFrame:
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise SchemaMismatch(
            f"missing column {missing[0]!r}",
            source=where,
            field=missing[0],
            expected=f"columns {', '.join(spec.columns)}",
        )
    exprs: list[pl.Expr] = []
    for name, dtype in spec.schema.items():
        have = frame.schema.get(name)
        if have == dtype:
            exprs.append(pl.col(name))  # already right: no copy
            continue
        column = pl.col(name) if have is not None else pl.lit(None)
        exprs.append(_cast_expr(column, have, dtype).alias(name))
    try:
        return frame.select(exprs)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        name, dtype, row = _first_uncastable(spec, frame)
        raise SchemaMismatch(
            f"value {frame[name][row]!r} is not a {dtype}",
            source=where,
            row=row + row_base,
            field=name,
            expected=str(dtype),
        ) from exc


def _cast_expr(
    column: pl.Expr, have: pl.DataType | None, want: pl.DataType, *, strict: bool = True
) -> pl.Expr:
    if isinstance(want, pl.Datetime) and have is not None:
        if isinstance(have, pl.Datetime):
            local = column if have.time_zone else column.dt.replace_time_zone("UTC")
            return local.dt.convert_time_zone("UTC").dt.cast_time_unit("ns")
        if have.is_integer():
            return column.cast(pl.Int64, strict=strict).cast(want)
    return column.cast(want, strict=strict)


def _first_uncastable(spec: DatasetSpec, frame: pl.DataFrame) -> tuple[str, pl.DataType, int]:
    for name, dtype in spec.schema.items():
        if name not in frame.columns:
            continue
        column = frame[name]
        cast = frame.select(_cast_expr(pl.col(name), column.dtype, dtype, strict=False))
        bad = (cast.to_series().is_null() & column.is_not_null()).arg_true()
        if len(bad):
            return name, dtype, int(bad[0])
    msg = "a cast failed but no uncastable value was found"
    raise ValueError(msg)


def _key_check(spec: DatasetSpec) -> tuple[str, str, str, pl.Expr]:
    return (
        ",".join(spec.key),
        "key repeats an earlier row",
        "unique " + ", ".join(spec.key),
        ~pl.struct(spec.key).is_first_distinct(),
    )


def check_unique(
    spec: DatasetSpec, frame: pl.DataFrame, *, source: str | None = None, row_base: int = 0
) -> None:
    """Raise :class:`InvalidData` naming the first row whose key repeats an earlier row's."""
    name, what, want, bad = _key_check(spec)
    rows = frame.select(bad.arg_true()).to_series()
    if len(rows):
        raise InvalidData(
            what, source=source or spec.name, row=int(rows[0]) + row_base, field=name, expected=want
        )


def check_time_order(
    spec: DatasetSpec, frame: pl.DataFrame, *, source: str | None = None, row_base: int = 0
) -> None:
    """Raise :class:`InvalidData` at the first row whose time does not follow its series'."""
    name, what, want, bad = _order_check(spec)
    rows = frame.select(bad.arg_true()).to_series()
    if len(rows):
        raise InvalidData(
            what,
            source=source or spec.name,
            row=int(rows[0]) + row_base,
            field=name,
            expected=want,
        )


def _order_check(spec: DatasetSpec) -> tuple[str, str, str, pl.Expr]:
    time = spec.time_column or ""
    at = spec.key.index(time)
    step = pl.col(time).diff()
    if at:
        step = step.over(list(spec.key[:at]))
    # A timestamp may repeat only where later key columns (trade id, sequence) tell rows apart.
    if at == len(spec.key) - 1:
        return (
            time,
            f"{time} is not after the previous row",
            "strictly increasing timestamps",
            step <= 0,
        )
    return time, f"{time} is before the previous row", "non-decreasing timestamps", step < 0


def _check_rules(
    spec: DatasetSpec,
    frame: pl.DataFrame,
    where: str,
    row_base: int,
    *,
    check_order: bool,
    check_key: bool,
) -> None:
    checks: list[tuple[str, str, str, pl.Expr]] = [
        (name, f"{name} is empty", "a value", pl.col(name).is_null())
        for name in spec.columns
        if name not in spec.nullable
    ]
    checks += [(f, what, want, bad()) for f, what, want, bad in spec.rules if f in frame.columns]
    if check_order and spec.time_column:
        checks.append(_order_check(spec))
    if check_key:
        checks.append(_key_check(spec))
    flags = frame.select([bad.any().alias(str(i)) for i, (*_, bad) in enumerate(checks)]).row(0)
    for flag, (name, what, want, bad) in zip(flags, checks, strict=True):
        if flag:
            row = int(frame.select(bad.arg_true().first()).item())
            raise InvalidData(what, source=where, row=row + row_base, field=name, expected=want)


def in_key_order(dataset: str | DatasetSpec, frame: pl.DataFrame) -> bool:
    """Return True when rows are in strictly increasing key order (sorted, no repeats).

    The store asks this of every write: a frame in key order needs no sort, and its keys are
    unique and its series in time order without further checks.

    Examples
    --------
    >>> frame = pl.DataFrame({"symbol": ["A", "A", "B"], "timeframe": "1d", "ts": [1, 2, 1]})
    >>> frame = frame.with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))
    >>> in_key_order("bars", frame), in_key_order("bars", frame.reverse())
    (True, False)
    """
    spec = spec_of(dataset)
    order = spec.sort
    at = order.index(spec.time_column) if spec.time_column in order else len(order)
    groups, tail = order[:at], order[at:]
    if groups and tail == [spec.time_column] and not any(frame[c].has_nulls() for c in order):
        bounds = series_bounds(frame, groups)
        return bounds is not None and _increasing_within(frame[tail[0]], bounds)
    return _in_key_order_rowwise(groups, tail, frame)


def series_bounds(frame: pl.DataFrame, columns: Sequence[str]) -> list[int] | None:
    """Return where each run of equal ``columns`` values starts, then the height.

    None unless the columns are sorted (lexicographically) and hold no nulls. Sorted columns
    let binary search find the runs, which is far cheaper on long frames than comparing every
    row with the one before.

    Examples
    --------
    >>> series_bounds(pl.DataFrame({"s": ["a", "a", "b"]}), ["s"])
    [0, 2, 3]
    >>> series_bounds(pl.DataFrame({"s": ["b", "a"]}), ["s"]) is None
    True
    """
    bounds = [0, frame.height]
    for name in columns:
        column, finer = frame[name], [0]
        if column.has_nulls():
            return None
        for lo, hi in itertools.pairwise(bounds):
            run = column.slice(lo, hi - lo)
            if not run.is_sorted():
                return None
            while finer[-1] < hi:
                head = run.slice(finer[-1] - lo, 1)
                finer.append(lo + int(run.search_sorted(head, side="right").item()))
        bounds = finer
    return bounds


def _increasing_within(times: pl.Series, bounds: Sequence[int]) -> bool:
    """Return whether ``times`` increase strictly inside each run (runs start at ``bounds``)."""
    up = (times > times.shift(1)).fill_null(True)
    heads = pl.Series(bounds[1:-1], dtype=pl.UInt32)
    return bool(up.scatter(heads, True).all()) if len(heads) else bool(up.all())


def _in_key_order_rowwise(groups: list[str], tail: list[str], frame: pl.DataFrame) -> bool:
    """Return :func:`in_key_order` by comparing each row with the one before.

    Series columns are compared only where the series changes; within a run only the time and
    tie-break columns are.
    """
    if not groups or not tail:
        # One kind of column only: compare whole keys row to row.
        whole = _lexicographic_increase([*groups, *tail]).fill_null(True).all()
        return bool(frame.select(whole).item())
    changed = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in groups]).fill_null(True)
    flags = frame.select(changed.alias("changed"), _lexicographic_increase(tail).alias("up"))
    if not flags.select((pl.col("changed") | pl.col("up")).all()).item():
        return False
    heads = frame.select(groups).filter(flags["changed"])
    return bool(heads.select(_lexicographic_increase(groups).fill_null(True).all()).item())


def _lexicographic_increase(columns: Sequence[str]) -> pl.Expr:
    """Return, per row, whether it is strictly after the previous row in these columns."""
    expr: pl.Expr | None = None
    for name in reversed(columns):
        col, prev = pl.col(name), pl.col(name).shift(1)
        expr = (col > prev) if expr is None else (col > prev) | ((col == prev) & expr)
    if expr is None:
        msg = "a dataset key needs at least one column"
        raise ValueError(msg)
    return expr
