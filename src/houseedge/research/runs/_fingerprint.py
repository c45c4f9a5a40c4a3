"""Stable fingerprints: of frames (results, bars), of store files, and canonical JSON.

The hashes depend on names, kinds (float, other number, other) and values only, not on a
library's in-memory layout, so a fingerprint computed today matches one computed after an
upgrade of Polars.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import polars as pl

__all__ = ["bars_fingerprint", "canonical", "file_manifest", "frame_digest", "sha"]


def canonical(value: object) -> bytes:
    """Return ``value`` as JSON with sorted keys (non-JSON values as their ``str``)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def sha(*parts: str | bytes) -> str:
    """Return the sha256 hex digest of the parts, each followed by a separator."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x1e")
    return digest.hexdigest()


def frame_digest(frame: pl.DataFrame) -> str:
    """Return a sha256 of a frame's names, kinds and values, stable across library versions.

    Examples
    --------
    >>> a = pl.DataFrame({"x": [1.0, None], "s": ["a", "b"]})
    >>> frame_digest(a) == frame_digest(a.clone()), frame_digest(a) == frame_digest(a[:1])
    (True, False)
    """
    # One select for every numeric column and one for the null masks: per-column Series
    # calls cost a query each, which dominated saving many small runs.
    kinds = {name: _kind(dtype) for name, dtype in frame.schema.items()}
    numbers = frame.select(_physical(n, frame.schema[n]) for n, k in kinds.items() if k != "o")
    nulls = dict(zip(frame.columns, frame.null_count().row(0), strict=True))
    masks = frame.select(pl.col(n).is_null() for n, count in nulls.items() if count)
    digest = hashlib.sha256()
    for name, kind in kinds.items():
        digest.update(f"{name}\x1f{kind}\x1f{frame.height}\x1e".encode())
        if nulls[name]:
            digest.update(masks.get_column(name).to_numpy().tobytes())
        if kind == "o":
            digest.update(orjson.dumps(frame.get_column(name).to_list(), default=str))
        else:
            digest.update(numbers.get_column(name).to_numpy().tobytes())
    return digest.hexdigest()


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_float():
        return "f"
    return "n" if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean else "o"


def _physical(name: str, dtype: pl.DataType) -> pl.Expr:
    """Return a column as the numbers it holds: floats, or int64 (times in UTC nanoseconds)."""
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        column = column.cast(pl.Datetime("ns", "UTC" if dtype.time_zone else None))
    target = pl.Float64 if dtype.is_float() else pl.Int64
    return column.to_physical().fill_null(0).cast(target)


def bars_fingerprint(bars: pl.DataFrame | pl.LazyFrame) -> str:
    """Return a stable hash of bars: their rows sorted by symbol, timeframe and time.

    Examples
    --------
    >>> from houseedge.data.synthetic import synthetic_bars
    >>> bars = synthetic_bars(["A", "B"], periods=5)
    >>> bars_fingerprint(bars) == bars_fingerprint(bars.reverse())
    True
    """
    frame = bars.collect() if isinstance(bars, pl.LazyFrame) else bars
    order = [c for c in ("symbol", "timeframe", "ts") if c in frame.columns]
    frame = frame.sort(order) if order else frame
    return frame_digest(frame.select(sorted(frame.columns)))


def file_manifest(files: Sequence[Path], root: Path) -> list[dict[str, Any]]:
    """Return path (relative to ``root`` when inside it), size and sha256 of each file."""
    manifest: list[dict[str, Any]] = []
    for path in sorted(Path(f) for f in files):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        data = path.read_bytes()
        manifest.append(
            {"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    return manifest
