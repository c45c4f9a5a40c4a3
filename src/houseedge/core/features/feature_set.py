"""Named features that depend on each other, resolved into ``with_columns`` stages.

A feature is a ``pl.Expr``; a column it reads that is another feature's name makes it depend on
that feature. :func:`pipeline` orders the features topologically: each stage holds the features
whose dependencies are all computed by earlier stages, so a stage is one ``with_columns`` call.
A feature may read a column of its own name: that is the input column, which it then replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

from houseedge.errors import PolicyError

Feature = pl.Expr
"""A named feature's expression; it reads input columns and other features by name."""

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _dependencies(features: Mapping[str, Feature]) -> dict[str, set[str]]:
    return {
        name: {root for root in expr.meta.root_names() if root in features and root != name}
        for name, expr in features.items()
    }


def _stages(features: Mapping[str, Feature]) -> tuple[tuple[str, ...], ...]:
    waiting = _dependencies(features)
    done: set[str] = set()
    stages: list[tuple[str, ...]] = []
    while waiting:
        ready = tuple(name for name, needs in waiting.items() if needs <= done)
        if not ready:
            cycle = ", ".join(sorted(waiting))
            msg = f"features depend on each other in a cycle: {cycle}"
            raise PolicyError(msg)
        stages.append(ready)
        done.update(ready)
        for name in ready:
            del waiting[name]
    return tuple(stages)


@dataclass(frozen=True)
class FeatureSet:
    """Named features with their dependencies resolved into stages.

    Build with :func:`pipeline`; apply to a frame with :meth:`apply`.

    Examples
    --------
    >>> fs = FeatureSet({"b": pl.col("a") * 2, "a": pl.col("x") + 1})
    >>> fs.order
    (('a',), ('b',))
    """

    features: Mapping[str, Feature]
    order: tuple[tuple[str, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", dict(self.features))
        object.__setattr__(self, "order", _stages(self.features))

    @property
    def names(self) -> tuple[str, ...]:
        """Return the feature names in the order they are computed."""
        return tuple(name for stage in self.order for name in stage)

    def inputs(self) -> set[str]:
        """Return the columns the features read that no feature computes.

        Examples
        --------
        >>> sorted(pipeline({"r": pl.col("close") / pl.col("open")}).inputs())
        ['close', 'open']
        """
        computed = set(self.features)
        return {
            root
            for name, expr in self.features.items()
            for root in expr.meta.root_names()
            if root not in computed or root == name
        }

    def stages(self) -> list[list[pl.Expr]]:
        """Return the aliased expressions, one list per ``with_columns`` stage."""
        return [[self.features[name].alias(name) for name in stage] for stage in self.order]

    def apply(self, frame: Frame) -> Frame:
        """Add every feature to ``frame`` (eager or lazy); unknown input columns raise.

        Raises
        ------
        PolicyError
            When a feature reads a column that is neither in the frame nor a feature.

        Examples
        --------
        >>> from houseedge.core.features.indicators import returns, sma
        >>> fs = pipeline({"sig": sma("ret", 2), "ret": returns("close")})
        >>> out = fs.apply(pl.DataFrame({"close": [1.0, 2.0, 3.0]}))
        >>> out.columns, out["sig"].round(2).to_list()
        (['close', 'ret', 'sig'], [None, None, 0.75])
        """
        present = set(frame.collect_schema().names())
        missing = sorted(self.inputs() - present)
        if missing:
            msg = f"features read columns that are neither in the frame nor features: {missing}"
            raise PolicyError(msg)
        for stage in self.stages():
            frame = frame.with_columns(stage)
        return frame


def pipeline(features: Mapping[str, Feature]) -> FeatureSet:
    """Resolve named features into a :class:`FeatureSet`; a dependency cycle raises.

    Raises
    ------
    PolicyError
        When features depend on each other in a cycle.

    Examples
    --------
    >>> pipeline({"a": pl.col("b"), "b": pl.col("a")})
    Traceback (most recent call last):
    ...
    houseedge.errors.PolicyError: features depend on each other in a cycle: a, b
    """
    return FeatureSet(features)
