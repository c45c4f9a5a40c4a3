"""Seeding, the path-model protocol and the long ``(path_id, step, return)`` frame.

Reproducibility contract: paths are drawn in fixed seed blocks of :data:`PATHS_PER_SEED_BLOCK`
paths; block ``b`` draws from ``SeedSequence(seed, spawn_key=(b,))`` (the ``b``-th child of
``SeedSequence(seed).spawn``) and always draws a *full* block, slicing off what is not needed. So
path ``i`` depends only on the model, the seed and ``i``: never on ``n_paths``, on how the paths are
chunked for evaluation, or on the order chunks are evaluated in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import polars as pl
from numpy.typing import NDArray
from polars.io.plugins import register_io_source

F64 = NDArray[np.float64]

PATHS_PER_SEED_BLOCK = 256
"""Paths drawn from one child seed (fixed: changing it changes every path)."""

PATH_SCHEMA: dict[str, pl.DataType] = {
    "path_id": pl.Int64(),
    "step": pl.Int32(),
    "return": pl.Float64(),
}


@runtime_checkable
class PathModel(Protocol):
    """A generator of return paths: ``n_steps`` simple returns per path.

    ``draw`` must consume ``rng`` identically for a given ``n_paths`` (the block size), and
    ``config`` returns JSON-able parameters that, with the seed, reproduce the paths.
    """

    @property
    def n_steps(self) -> int:
        """Return the number of returns in each path."""
        ...

    def draw(self, rng: np.random.Generator, n_paths: int) -> F64:
        """Return an ``(n_paths, n_steps)`` array of simple returns."""
        ...

    def config(self) -> dict[str, Any]:
        """Return the model's parameters as JSON-able values."""
        ...


def block_rng(seed: int, block: int) -> np.random.Generator:
    """Return the generator of seed block ``block`` (paths ``block * 256`` onwards).

    Examples
    --------
    >>> int(block_rng(7, 3).integers(100)) == int(block_rng(7, 3).integers(100))
    True
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))


def draw_returns(model: PathModel, *, seed: int, start: int, stop: int) -> F64:
    """Return the ``(stop - start, n_steps)`` returns of paths ``start`` to ``stop`` (exclusive).

    Examples
    --------
    >>> from houseedge.research.simulation import IidBootstrap
    >>> model = IidBootstrap([0.01, -0.02, 0.03], n_steps=4)
    >>> whole = draw_returns(model, seed=1, start=0, stop=300)
    >>> bool((draw_returns(model, seed=1, start=250, stop=260) == whole[250:260]).all())
    True
    """
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got {start} and {stop}")
    size = PATHS_PER_SEED_BLOCK
    parts: list[F64] = []
    for block in range(start // size, -(-stop // size)):
        drawn = np.asarray(model.draw(block_rng(seed, block), size), dtype=np.float64)
        if drawn.shape != (size, model.n_steps):
            msg = f"{type(model).__name__}.draw returned shape {drawn.shape}"
            raise ValueError(f"{msg}, expected {(size, model.n_steps)}")
        lo, hi = max(start - block * size, 0), min(stop - block * size, size)
        parts.append(drawn[lo:hi])
    if not parts:
        return np.empty((0, model.n_steps))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def long_frame(returns: F64, *, first_path: int = 0) -> pl.DataFrame:
    """Return ``(n_paths, n_steps)`` returns as a long frame sorted by ``path_id, step``.

    ``path_id`` is flagged sorted, which lets grouped window expressions take the fast
    contiguous-slice path.

    Examples
    --------
    >>> import numpy as np
    >>> long_frame(np.array([[0.1, 0.2], [0.3, 0.4]]), first_path=5).rows()
    [(5, 0, 0.1), (5, 1, 0.2), (6, 0, 0.3), (6, 1, 0.4)]
    """
    n_paths, n_steps = returns.shape
    ids = np.arange(first_path, first_path + n_paths, dtype=np.int64)
    return pl.DataFrame(
        {
            "path_id": np.repeat(ids, n_steps),
            "step": np.tile(np.arange(n_steps, dtype=np.int32), n_paths),
            "return": returns.reshape(-1),
        },
        schema=PATH_SCHEMA,
    ).with_columns(pl.col("path_id").set_sorted())


def path_chunks(
    model: PathModel, *, n_paths: int, seed: int, chunk_paths: int
) -> Iterator[pl.DataFrame]:
    """Yield the long frame of ``n_paths`` paths, ``chunk_paths`` paths at a time.

    Examples
    --------
    >>> from houseedge.research.simulation import Gbm
    >>> [c.height for c in path_chunks(Gbm(0.05, 0.2, n_steps=3), n_paths=5, seed=0,
    ...     chunk_paths=2)]
    [6, 6, 3]
    """
    if n_paths < 0 or chunk_paths < 1:
        raise ValueError(f"need n_paths >= 0 and chunk_paths >= 1, got {n_paths}, {chunk_paths}")
    for start in range(0, n_paths, chunk_paths):
        stop = min(start + chunk_paths, n_paths)
        yield long_frame(draw_returns(model, seed=seed, start=start, stop=stop), first_path=start)


def generate_paths(model: PathModel, *, n_paths: int, seed: int = 0) -> pl.LazyFrame:
    """Return the paths of a model as a lazy long frame ``path_id, step, return``.

    Nothing is drawn until the frame is collected; each collection redraws the same values
    from the seed, a seed block at a time, so streaming collection stays in bounded memory.

    Examples
    --------
    >>> from houseedge.research.simulation import IidBootstrap
    >>> lazy = generate_paths(IidBootstrap([0.01, -0.01], n_steps=3), n_paths=2, seed=42)
    >>> lazy.collect().equals(lazy.collect())
    True
    >>> lazy.collect().shape
    (6, 3)
    """
    if n_paths < 0:
        raise ValueError(f"n_paths must be >= 0, got {n_paths}")

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        left = n_rows
        chunk = max(PATHS_PER_SEED_BLOCK, (batch_size or 0) // max(model.n_steps, 1))
        for frame in path_chunks(model, n_paths=n_paths, seed=seed, chunk_paths=chunk):
            out = frame if predicate is None else frame.filter(predicate)
            if with_columns is not None:
                out = out.select(with_columns)
            if left is not None:
                out = out.head(left)
                left -= out.height
            yield out
            if left is not None and left <= 0:
                return

    return register_io_source(
        source, schema=PATH_SCHEMA, is_pure=True, explain_name="monte_carlo_paths"
    )


def fingerprint(values: Sequence[float] | F64) -> str:
    """Return a short SHA-256 fingerprint of a float series (recorded instead of the data).

    Examples
    --------
    >>> fingerprint([0.1, 0.2]) == fingerprint([0.1, 0.2]) != fingerprint([0.2, 0.1])
    True
    """
    data = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    return hashlib.sha256(data.tobytes()).hexdigest()[:16]
