"""References to policies, sizers and cost models: a built-in name, a module or a file.

``sma_cross`` (a name of the registry), ``package.module:Class`` (imported) or
``path/to/file.py:Class`` (relative to the working directory or absolute; imported under a
stable synthetic name, see :mod:`houseedge.app.references._files`). Each error names the
reference and what went wrong.
"""

from __future__ import annotations

import functools
import importlib
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Final, Literal

from houseedge.app.references._files import import_file
from houseedge.app.references._params import check_params, parse_params
from houseedge.core.costs import LinearCostModel
from houseedge.core.policies import registry
from houseedge.core.sizing.sizers import FixedFraction, FixedUnits, TargetWeights
from houseedge.errors import ConfigError, HouseEdgeError, PolicyError

__all__ = ["COST_MODELS", "SIZERS", "Kind", "build", "builtins", "resolve"]

Kind = Literal["policy", "sizer", "cost model"]

SIZERS: Final[Mapping[str, type[Any]]] = {
    "fixed_fraction": FixedFraction,
    "fixed_units": FixedUnits,
    "target_weights": TargetWeights,
}
"""Sizers a config or ``--sizer`` names."""

COST_MODELS: Final[Mapping[str, type[Any]]] = {"linear": LinearCostModel}
"""Cost models ``--cost-model`` names."""

# What each kind must provide (one protocol of the list), as the protocols declare it.
_PROTOCOLS: Final[dict[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "policy": (
        ("VectorPolicy", ("name", "warmup", "params", "target")),
        ("OrderPolicy", ("name", "params", "decide")),
    ),
    "sizer": (("Sizer", ("name", "params", "inputs", "quantity")),),
    "cost model": (
        ("CostModel", ("name", "params", "inputs", "fill_price", "fee", "fee_rate", "borrow_rate")),
    ),
}


def builtins(kind: Kind) -> Mapping[str, type[Any]]:
    """Return the built-in classes of ``kind`` by name.

    Examples
    --------
    >>> sorted(builtins("sizer"))
    ['fixed_fraction', 'fixed_units', 'target_weights']
    """
    return {"policy": registry.POLICIES, "sizer": SIZERS, "cost model": COST_MODELS}[kind]


def _error(kind: Kind, message: str) -> HouseEdgeError:
    return PolicyError(message) if kind == "policy" else ConfigError(message)


def resolve(reference: str, kind: Kind = "policy") -> type[Any]:
    """Return the class ``reference`` names: a built-in, ``module:Class`` or ``file.py:Class``.

    Raises
    ------
    PolicyError
        (ConfigError for a sizer or cost model) the name is unknown, the file or module is
        missing, it fails to import (the message holds the exception and its last frame), it
        has no such class, or the class lacks members of the protocol (named in the message).

    Examples
    --------
    >>> resolve("sma_cross").__name__
    'SmaCross'
    >>> resolve("houseedge.core.costs:LinearCostModel", "cost model").__name__
    'LinearCostModel'
    >>> resolve("no/such/file.py:Trend")
    Traceback (most recent call last):
    houseedge.errors.PolicyError: no/such/file.py:Trend: no such file ...
    """
    text = reference.strip()
    where, colon, name = text.rpartition(":")
    if not colon:
        return _builtin(text, kind)
    if not where or not name:
        msg = f"{text}: expected a built-in name, package.module:Class or path/file.py:Class"
        raise _error(kind, msg)
    module = _load(text, where, kind)
    cls = _attribute(text, module, name, kind)
    _check_protocol(text, cls, kind)
    return cls


def _builtin(name: str, kind: Kind) -> type[Any]:
    if kind == "policy":
        return registry.policy_class(name)
    known = builtins(kind)
    if name not in known:
        msg = (
            f"unknown {kind} {name!r}; built-in: {', '.join(sorted(known))}, "
            "or a reference package.module:Class or path/file.py:Class"
        )
        raise _error(kind, msg)
    return known[name]


def _load(reference: str, where: str, kind: Kind) -> ModuleType:
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    if is_file and not Path(where).is_file():
        raise _error(kind, f"{reference}: no such file {Path(where).absolute()}")
    try:
        return import_file(Path(where)) if is_file else importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if not is_file and exc.name and where.startswith(exc.name):
            raise _error(kind, f"{reference}: no module named {exc.name!r}") from None
        raise _error(kind, f"{reference}: import failed: {_last_frame(exc)}") from exc
    except Exception as exc:
        raise _error(kind, f"{reference}: import failed: {_last_frame(exc)}") from exc


def _last_frame(exc: BaseException) -> str:
    """Return ``Type: message (at file:line in function)`` for the deepest frame."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (at {exc.filename}:{exc.lineno})"
    tb: TracebackType | None = exc.__traceback__
    frames: list[traceback.FrameSummary] = list(traceback.extract_tb(tb)) if tb else []
    last = frames[-1] if frames else None
    where = f" (at {last.filename}:{last.lineno} in {last.name})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _attribute(reference: str, module: ModuleType, name: str, kind: Kind) -> type[Any]:
    try:
        value = functools.reduce(getattr, name.split("."), module)
    except AttributeError:
        defined = sorted(
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and v.__module__ == module.__name__
        )
        listed = ", ".join(defined) or "none"
        raise _error(kind, f"{reference}: no class {name!r} there (classes: {listed})") from None
    if not isinstance(value, type):
        raise _error(kind, f"{reference}: {name} is a {type(value).__name__}, not a class")
    return value


def _has(cls: type[Any], member: str) -> bool:
    """Return whether ``cls`` has ``member``: as an attribute or an annotated (dataclass) field."""
    annotated = (member in vars(klass).get("__annotations__", {}) for klass in cls.__mro__)
    return hasattr(cls, member) or any(annotated)


def _check_protocol(reference: str, cls: type[Any], kind: Kind) -> None:
    missing = [(p, [m for m in members if not _has(cls, m)]) for p, members in _PROTOCOLS[kind]]
    if any(not gaps for _, gaps in missing):
        return
    detail = " or ".join(f"{p} (missing {', '.join(gaps)})" for p, gaps in missing)
    raise _error(kind, f"{reference}: {cls.__qualname__} is not a {kind}: expected {detail}")


def build(
    reference: str, params: Mapping[str, Any] | Sequence[str] = (), kind: Kind = "policy"
) -> Any:
    """Return an instance of the class ``reference`` names, its parameters checked first.

    ``params`` is a config's table (``{"fast": 10}``) or command-line ``key=value`` strings.

    Raises
    ------
    PolicyError
        (ConfigError for a sizer or cost model) as :func:`resolve`, a parameter is unknown, of
        the wrong type or missing, or the class refuses the values.

    Examples
    --------
    >>> build("sma_cross", ["fast=5", "slow=20"]).params()["slow"]
    20
    >>> build("fixed_units", {"units": 10}, "sizer").units
    10.0
    """
    cls = resolve(reference, kind)
    owner = reference.strip()
    try:
        if isinstance(params, Mapping):
            values = check_params(owner, cls, params)
        else:
            values = parse_params(owner, cls, params)
        return cls(**values)
    except PolicyError as exc:
        raise _error(kind, str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise _error(kind, f"{owner}: {exc}") from exc
