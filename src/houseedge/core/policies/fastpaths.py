"""Fast paths of policies, registered against their policy class: one registry, one place to look.

A policy's meaning is its Polars ``target()``. Where profiling showed that evaluating it is too
slow for an engine, the engine may compute the same values another way, a **fast path**. Each
kind of fast path lives with the engine that needs it and registers itself here, per policy
class, when its module is imported:

``"stepper"`` (:data:`StepperFactory`, registered by ``houseedge.live.engine.steppers``)
    The live engine's incremental target: ``factory(policy, symbol)`` returns a
    :class:`Stepper` that takes one closed bar at a time and returns the target on it, the same
    float ``target()`` gives on the last row of the history.
``"sweep_target"`` (:class:`Decomposition`, registered by ``houseedge.research.sweep``)
    A sweep's shared indicators: ``indicators(params)`` names the indicator expressions one
    parameter set needs, ``target_from(columns, params)`` builds that set's target from them,
    equal to ``cls(**params).target()``.

A fast path is looked up by the **exact** class of the policy: a subclass may redefine
``target()``, so it gets the general path until its own fast path is registered. A property test
(``tests/property/test_fast_path_parity.py``) runs every registered fast path against its
policy's ``target()`` on random bars, so registering one is enough to have it checked.

Examples
--------
A policy that is always long, and its stepper:

>>> class Long:
...     name, warmup = "long", 0
...     def params(self): return {}
...     def target(self): return pl.lit(1.0)
>>> class LongStepper:
...     def __init__(self, policy, symbol): pass
...     def step(self, bar): return 1.0
>>> register_fast_path("stepper", Long, LongStepper)
>>> fast_path("stepper", Long()) is LongStepper
True
>>> fast_path("stepper", object()) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol, overload

import polars as pl

from houseedge.core.types import Bar
from houseedge.errors import PolicyError

__all__ = [
    "FAST_PATH_KINDS",
    "Decomposition",
    "FastPathKind",
    "Stepper",
    "StepperFactory",
    "fast_path",
    "fast_paths",
    "register_fast_path",
]

FastPathKind = Literal["stepper", "sweep_target"]
"""The kinds of fast path an engine looks up."""

FAST_PATH_KINDS: Final[tuple[FastPathKind, ...]] = ("stepper", "sweep_target")


class Stepper(Protocol):
    """Follows one symbol's bars; ``step`` returns the target on the newest (None: null)."""

    def step(self, bar: Bar) -> float | None:
        """Take the newest bar; return the target on it (None: no opinion yet).

        Raises ``ArithmeticError`` on an input it cannot follow exactly; the engine then
        evaluates the policy's ``target()`` for that symbol from then on.
        """
        ...


StepperFactory = Callable[[Any, str], Stepper]
"""``factory(policy, symbol)``: a new :class:`Stepper` of ``policy`` for one symbol."""


class Decomposition(Protocol):
    """How a policy's target splits into shared indicators and a cheap per-set combination.

    ``params`` is one parameter set: the keyword arguments of the policy class. Optional
    methods the sweep uses when present: ``batch(names)`` (one struct expression with all the
    named indicators, when computing them together is cheaper), ``arrays(close, names)`` and
    ``target_array(arrays, params)`` (one symbol's indicators and a set's target in NumPy; None:
    use the expressions).
    """

    def indicators(self, params: Mapping[str, Any]) -> dict[str, pl.Expr]:
        """Return the named indicator expressions the parameter set ``params`` reads.

        The same name must mean the same values, whatever the set: a sweep evaluates each
        distinct name once for the whole grid.
        """
        ...

    def target_from(self, columns: Mapping[str, pl.Expr], params: Mapping[str, Any]) -> pl.Expr:
        """Return the target expression from the indicator columns (by name)."""
        ...


_REGISTRY: Final[dict[FastPathKind, dict[type, Any]]] = {kind: {} for kind in FAST_PATH_KINDS}


def _kind(kind: str) -> FastPathKind:
    if kind == "stepper" or kind == "sweep_target":
        return kind
    msg = f"fast path kind {kind!r}: expected one of {', '.join(FAST_PATH_KINDS)}"
    raise PolicyError(msg)


@overload
def register_fast_path(kind: Literal["stepper"], cls: type, factory: StepperFactory) -> None: ...
@overload
def register_fast_path(
    kind: Literal["sweep_target"], cls: type, factory: Decomposition
) -> None: ...
def register_fast_path(kind: FastPathKind, cls: object, factory: Any) -> None:
    """Register ``factory`` as the ``kind`` fast path of policies of exactly class ``cls``.

    A later registration for the same kind and class replaces the earlier one.

    Raises
    ------
    PolicyError
        ``kind`` is not one of :data:`FAST_PATH_KINDS`.
    TypeError
        ``cls`` is not a class.

    Examples
    --------
    >>> register_fast_path("stepper", "SmaCross", None)
    Traceback (most recent call last):
    ...
    TypeError: register_fast_path: cls must be a policy class, got 'SmaCross'
    """
    registry = _REGISTRY[_kind(kind)]
    if not isinstance(cls, type):
        msg = f"register_fast_path: cls must be a policy class, got {cls!r}"
        raise TypeError(msg)
    registry[cls] = factory


@overload
def fast_path(kind: Literal["stepper"], policy: object) -> StepperFactory | None: ...
@overload
def fast_path(kind: Literal["sweep_target"], policy: object) -> Decomposition | None: ...
def fast_path(kind: FastPathKind, policy: object) -> Any:
    """Return the ``kind`` fast path registered for ``policy`` (a policy or its class), or None.

    Examples
    --------
    >>> fast_path("sweep_target", object) is None
    True
    """
    cls = policy if isinstance(policy, type) else type(policy)
    return _REGISTRY[_kind(kind)].get(cls)


@overload
def fast_paths(kind: Literal["stepper"]) -> Mapping[type, StepperFactory]: ...
@overload
def fast_paths(kind: Literal["sweep_target"]) -> Mapping[type, Decomposition]: ...
def fast_paths(kind: FastPathKind) -> Mapping[type, Any]:
    """Return every registered fast path of ``kind`` by policy class (a read-only view).

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> fast_paths("sweep_target").get(SmaCross) is fast_path("sweep_target", SmaCross(5, 20))
    True
    """
    return MappingProxyType(_REGISTRY[_kind(kind)])
