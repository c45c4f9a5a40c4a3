"""Parameters validated against the class they build: one check for CLI strings and configs.

A class's parameters are its dataclass fields (those ``__init__`` takes) or its ``__init__``
signature; their types come from the annotations. ``int``, ``float``, ``bool``, ``str``, a
``Literal`` and an optional one of these (``X | None``) are checked and converted; a value of
any other type is passed as given (a config table's ``{...}``; the command line cannot set it).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from houseedge.errors import PolicyError

__all__ = ["REQUIRED", "Param", "check_params", "convert_text", "param_specs", "parse_params"]

REQUIRED: Final = inspect.Parameter.empty
"""The default of a parameter that has none."""

_SIMPLE: Final[tuple[type, ...]] = (bool, int, float, str)


@dataclass(frozen=True)
class Param:
    """One parameter of a class: its name, annotated type (``Any`` when none) and default."""

    name: str
    kind: Any
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        """Return whether the class needs a value for it."""
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        """Return the type as a person reads it (``int``, ``Literal['a', 'b']``, ``float | None``).

        Examples
        --------
        >>> Param("fast", int).type_name, Param("m", typing.Literal["a", "b"]).type_name
        ('int', "Literal['a', 'b']")
        >>> Param("weights", Mapping[str, float]).type_name
        'Mapping[str, float]'
        """
        if isinstance(self.kind, type) and typing.get_origin(self.kind) is None:
            return self.kind.__name__
        return str(self.kind).replace("typing.", "").replace("collections.abc.", "")


def param_specs(cls: type[Any]) -> dict[str, Param]:
    """Return the parameters ``cls(...)`` takes, in order, with their types and defaults.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> [(p.name, p.type_name, p.default) for p in param_specs(SmaCross).values()][:2]
    [('fast', 'int', <class 'inspect._empty'>), ('slow', 'int', <class 'inspect._empty'>)]
    """
    if dataclasses.is_dataclass(cls):
        hints = _hints(cls)
        return {f.name: _field_param(f, hints) for f in dataclasses.fields(cls) if f.init}
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}
    hints = _hints(cls.__init__)
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        p.name: Param(p.name, hints.get(p.name, Any), p.default)
        for p in signature.parameters.values()
        if p.kind in keyword
    }


def _hints(owner: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(owner)
    except Exception:  # an unresolvable annotation reads as Any
        return {}


def _field_param(field: dataclasses.Field[Any], hints: Mapping[str, Any]) -> Param:
    default: Any = field.default
    if field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    return Param(
        field.name,
        hints.get(field.name, Any),
        REQUIRED if default is dataclasses.MISSING else default,
    )


def _spec(owner: str, specs: Mapping[str, Param], key: str) -> Param:
    if key in specs:
        return specs[key]
    close = difflib.get_close_matches(key, list(specs), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    known = ", ".join(specs) or "none"
    raise PolicyError(f"{owner}: unknown parameter {key!r}{hint} (parameters: {known})")


def _check_required(owner: str, specs: Mapping[str, Param], values: Mapping[str, Any]) -> None:
    missing = [name for name, spec in specs.items() if spec.required and name not in values]
    if missing:
        raise PolicyError(f"{owner}: missing required parameter {', '.join(missing)}")


def _parts(kind: Any) -> tuple[Any, bool]:
    """Return (the type without ``None``, whether ``None`` is allowed)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) < len(typing.get_args(kind)):
            return (args[0] if len(args) == 1 else Any), True
    return kind, False


def convert_text(owner: str, name: str, text: str, kind: Any) -> Any:
    """Return ``text`` (from the command line) as the parameter's declared type.

    Examples
    --------
    >>> convert_text("sma_cross", "fast", "10", int), convert_text("p", "on", "yes", bool)
    (10, True)
    >>> convert_text("p", "cap", "none", float | None)
    >>> convert_text("sma_cross", "fast", "ten", int)
    Traceback (most recent call last):
    houseedge.errors.PolicyError: sma_cross: fast='ten' is not a valid int
    """
    base, optional = _parts(kind)
    if optional and text.lower() in ("none", "null"):
        return None
    choices = typing.get_args(base) if typing.get_origin(base) is typing.Literal else ()
    if choices:
        if text not in choices:
            raise PolicyError(
                f"{owner}: {name}={text!r} is not one of {', '.join(map(str, choices))}"
            )
        return text
    converters: dict[Any, Any] = {int: int, float: float, bool: _boolean, str: str}
    if base not in converters:
        raise PolicyError(f"{owner}: parameter {name} cannot be set from the command line")
    try:
        return converters[base](text)
    except ValueError:
        raise PolicyError(f"{owner}: {name}={text!r} is not a valid {base.__name__}") from None


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ValueError(text)


def _check_value(owner: str, spec: Param, value: Any) -> Any:
    base, optional = _parts(spec.kind)
    if value is None and optional:
        return None
    choices = typing.get_args(base) if typing.get_origin(base) is typing.Literal else ()
    if choices:
        if value not in choices:
            expected = ", ".join(map(str, choices))
            raise PolicyError(f"{owner}: {spec.name}={value!r} is not one of {expected}")
        return value
    if base not in _SIMPLE:
        return value
    if base is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, base) and (base is bool or not isinstance(value, bool)):
        return value
    raise PolicyError(f"{owner}: {spec.name}={value!r} is not a valid {base.__name__}")


def parse_params(owner: str, cls: type[Any], items: Sequence[str]) -> dict[str, Any]:
    """Return the keyword arguments of ``key=value`` strings, checked against ``cls``.

    Raises
    ------
    PolicyError
        An item is not ``key=value``; an unknown parameter (the message names the nearest
        valid one); a value of the wrong type; a required parameter without a value.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> parse_params("sma_cross", SmaCross, ["fast=5", "slow=20"])
    {'fast': 5, 'slow': 20}
    >>> parse_params("sma_cross", SmaCross, ["fats=5", "slow=20"])
    Traceback (most recent call last):
    houseedge.errors.PolicyError: sma_cross: unknown parameter 'fats'; did you mean 'fast'? ...
    """
    specs = param_specs(cls)
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise PolicyError(f"{owner}: parameter {item!r}: expected key=value")
        values[key] = convert_text(owner, key, text.strip(), _spec(owner, specs, key).kind)
    _check_required(owner, specs, values)
    return values


def check_params(owner: str, cls: type[Any], table: Mapping[str, Any]) -> dict[str, Any]:
    """Return a config's ``params`` table checked against ``cls`` (ints widened to floats).

    Raises
    ------
    PolicyError
        As :func:`parse_params`.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> check_params("sma_cross", SmaCross, {"fast": 5, "slow": 20, "mode": "long_short"})
    {'fast': 5, 'slow': 20, 'mode': 'long_short'}
    >>> check_params("sma_cross", SmaCross, {"fast": 5})
    Traceback (most recent call last):
    houseedge.errors.PolicyError: sma_cross: missing required parameter slow
    """
    specs = param_specs(cls)
    values = {key: _check_value(owner, _spec(owner, specs, key), v) for key, v in table.items()}
    _check_required(owner, specs, values)
    return values
