"""A sizer that switches between sizers by regime or by distance to a wealth target.

:class:`Hybrid` walks its rules in order and delegates to the sizer of the first rule whose
condition holds, else to ``default``. A condition that cannot be judged yet (its input is still
warming up) makes the hybrid size 0 rather than guess. Each part's inputs are namespaced
(``"0.when.volatility"``, ``"0.size.mean"``, ``"default.mean"``) so parts never collide, and each
part sees only its own inputs under their own names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import msgspec
import polars as pl

from houseedge.core.sizing.inputs import read_input
from houseedge.core.sizing.sizers import Sizer, SizingRequest


@runtime_checkable
class Condition(Protocol):
    """A test on the sizing request that picks a rule of a :class:`Hybrid`."""

    @property
    def name(self) -> str:
        """Return a short stable name."""
        ...

    def params(self) -> Mapping[str, Any]:
        """Return the parameters that define the condition."""
        ...

    def inputs(self) -> Mapping[str, pl.Expr]:
        """Return per-bar expressions the condition reads (causal), by name."""
        ...

    def holds(self, request: SizingRequest) -> bool | None:
        """Return whether the condition holds; ``None`` when it cannot be judged yet."""
        ...


@dataclass(frozen=True, slots=True)
class InputAbove:
    """Hold when the per-bar input ``expr`` is above ``threshold`` (a regime flag).

    Examples
    --------
    >>> from houseedge.core.sizing.inputs import realised_volatility
    >>> high_vol = InputAbove("volatility", realised_volatility(20, 252), 0.3)
    >>> request = SizingRequest(symbol="X", target=1.0, price=1.0, equity=1.0, cash=1.0,
    ...     inputs={"volatility": 0.45})
    >>> high_vol.holds(request)
    True
    """

    label: str
    expr: pl.Expr = field(compare=False)
    threshold: float

    @property
    def name(self) -> str:
        """Return ``"<label>_above"``."""
        return f"{self.label}_above"

    def params(self) -> dict[str, Any]:
        """Return the label, the expression as text and the threshold."""
        return {"label": self.label, "expr": str(self.expr), "threshold": self.threshold}

    def inputs(self) -> dict[str, pl.Expr]:
        """Return the regime expression under ``label``."""
        return {self.label: self.expr}

    def holds(self, request: SizingRequest) -> bool | None:
        """Return ``value > threshold``, or ``None`` while the input is missing."""
        value = read_input(request, self.label)
        return None if math.isnan(value) else value > self.threshold


@dataclass(frozen=True, slots=True)
class NearTarget:
    """Hold when equity is within ``within`` (a share of ``target``) below the target, or above.

    Examples
    --------
    >>> near = NearTarget(target=1000.0, within=0.1)
    >>> near.holds(SizingRequest(symbol="X", target=1.0, price=1.0, equity=920.0, cash=0.0))
    True
    >>> near.holds(SizingRequest(symbol="X", target=1.0, price=1.0, equity=850.0, cash=0.0))
    False
    """

    target: float
    within: float

    @property
    def name(self) -> str:
        """Return ``"near_target"``."""
        return "near_target"

    def params(self) -> dict[str, Any]:
        """Return the target and the band."""
        return {"target": self.target, "within": self.within}

    def inputs(self) -> dict[str, pl.Expr]:
        """Return no inputs: the distance comes from the request's equity."""
        return {}

    def holds(self, request: SizingRequest) -> bool | None:
        """Return whether ``equity >= target * (1 - within)``."""
        return request.equity >= self.target * (1.0 - self.within)


def _describe(part: Sizer | Condition) -> dict[str, Any]:
    return {"name": part.name, "params": dict(part.params())}


@dataclass(frozen=True, slots=True)
class Hybrid:
    """Delegate to the first rule's sizer whose condition holds, else to ``default``.

    Examples
    --------
    Half Kelly in a high-volatility regime, full Kelly otherwise:

    >>> from houseedge.core.sizing.inputs import realised_volatility
    >>> from houseedge.core.sizing.utility import KellyContinuous
    >>> sizer = Hybrid(
    ...     rules=[(InputAbove("vol", realised_volatility(20, 252), 0.3),
    ...             KellyContinuous(lookback=50, fraction=0.5, max_leverage=2.0))],
    ...     default=KellyContinuous(lookback=50, max_leverage=2.0))
    >>> sorted(sizer.inputs())
    ['0.size.mean', '0.size.variance', '0.when.vol', 'default.mean', 'default.variance']
    >>> moments = {"mean": 0.0005, "variance": 0.0004}
    >>> def request(vol):
    ...     inputs = {"0.when.vol": vol} | {f"{p}.{k}": v for p in ("0.size", "default")
    ...         for k, v in moments.items()}
    ...     return SizingRequest(symbol="X", target=1.0, price=10.0, equity=1000.0,
    ...         cash=1000.0, inputs=inputs)
    >>> round(sizer.quantity(request(0.5)), 6), round(sizer.quantity(request(0.1)), 6)
    (62.5, 125.0)
    """

    rules: Sequence[tuple[Condition, Sizer]]
    default: Sizer

    @property
    def name(self) -> str:
        """Return ``"hybrid"``."""
        return "hybrid"

    def params(self) -> dict[str, Any]:
        """Return every rule's condition and sizer, and the default sizer, with parameters."""
        rules = [{"when": _describe(c), "size": _describe(s)} for c, s in self.rules]
        return {"rules": rules, "default": _describe(self.default)}

    def _parts(self) -> list[tuple[str, Sizer | Condition]]:
        parts: list[tuple[str, Sizer | Condition]] = []
        for i, (condition, sizer) in enumerate(self.rules):
            parts += [(f"{i}.when", condition), (f"{i}.size", sizer)]
        return [*parts, ("default", self.default)]

    def inputs(self) -> dict[str, pl.Expr]:
        """Return every part's inputs, each name prefixed by its part."""
        return {
            f"{prefix}.{name}": expr
            for prefix, part in self._parts()
            for name, expr in part.inputs().items()
        }

    def quantity(self, request: SizingRequest) -> float:
        """Return the units of the chosen sizer (0 while a condition cannot be judged)."""
        for i, (condition, sizer) in enumerate(self.rules):
            verdict = condition.holds(_scoped(request, f"{i}.when"))
            if verdict is None:
                return 0.0
            if verdict:
                return sizer.quantity(_scoped(request, f"{i}.size"))
        return self.default.quantity(_scoped(request, "default"))


def _scoped(request: SizingRequest, prefix: str) -> SizingRequest:
    """Return the request with only ``prefix``'s inputs, under their own names."""
    start = len(prefix) + 1
    inputs = {k[start:]: v for k, v in request.inputs.items() if k.startswith(f"{prefix}.")}
    return msgspec.structs.replace(request, inputs=inputs)
