"""The one name -> class registry of policies: the CLI, the service config and sweeps read it.

A name is the policy's stable ``name`` (``"sma_cross"``); a few short aliases are accepted where
a person types them. Third-party policies join with :func:`register_policy`.

Examples
--------
>>> from houseedge.core.policies.registry import policy_class, policy_names
>>> policy_class("sma_cross").__name__
'SmaCross'
>>> "fixed_weights" in policy_names()
True
>>> policy_class("smacross")  # doctest: +ELLIPSIS
Traceback (most recent call last):
houseedge.errors.PolicyError: unknown policy 'smacross'; known policies: bollinger_reversion, ...
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

from houseedge.core.policies.builtin import (
    BollingerReversion,
    BuyAndHold,
    DonchianBreakout,
    EmaCross,
    FixedWeights,
    RsiReversion,
    SmaCross,
    VolTargetTrend,
)
from houseedge.errors import PolicyError

__all__ = [
    "ALIASES",
    "POLICIES",
    "REFERENCE_ATTRIBUTE",
    "SOURCE_ATTRIBUTE",
    "policy_class",
    "policy_names",
    "reference_of",
    "register_policy",
]

REFERENCE_ATTRIBUTE: Final = "__houseedge_reference__"
"""The class attribute where a loader remembers the reference a class was loaded by."""

SOURCE_ATTRIBUTE: Final = "__houseedge_source__"
"""The class attribute where a loader remembers the sha256 of the source it executed."""

_POLICIES: dict[str, type[Any]] = {
    "bollinger_reversion": BollingerReversion,
    "buy_and_hold": BuyAndHold,
    "donchian_breakout": DonchianBreakout,
    "ema_cross": EmaCross,
    "fixed_weights": FixedWeights,
    "rsi_reversion": RsiReversion,
    "sma_cross": SmaCross,
    "vol_target_trend": VolTargetTrend,
}

POLICIES: Final = MappingProxyType(_POLICIES)
"""Every registered policy class by name (read-only; add with :func:`register_policy`)."""

ALIASES: Final = MappingProxyType({"donchian": "donchian_breakout"})
"""Short names a person may type for a registered policy."""


def policy_names() -> tuple[str, ...]:
    """Return the registered policy names, sorted."""
    return tuple(sorted(_POLICIES))


def policy_class(name: str) -> type[Any]:
    """Return the policy class registered as ``name`` (or one of its aliases).

    Raises
    ------
    PolicyError
        No policy has that name; the message lists the known names.
    """
    try:
        return _POLICIES[ALIASES.get(name, name)]
    except KeyError:
        known = ", ".join(policy_names())
        raise PolicyError(f"unknown policy {name!r}; known policies: {known}") from None


def register_policy(name: str, cls: type[Any]) -> None:
    """Register ``cls`` under ``name`` so configs and the CLI can name it.

    Raises
    ------
    PolicyError
        ``name`` is taken by another class, or is not a lowercase identifier.
    """
    if not name.isidentifier() or name != name.lower():
        raise PolicyError(f"policy name {name!r}: expected a lowercase identifier")
    current = _POLICIES.get(name)
    if current is not None and current is not cls:
        raise PolicyError(f"policy name {name!r} is already registered to {current.__name__}")
    _POLICIES[name] = cls


def reference_of(policy: object) -> str:
    """Return the reference that names ``policy`` (a class or an instance) for a config or CLI.

    The reference a loader remembered on the class itself (not inherited), else the registered
    name of a built-in, else ``module:QualifiedName``.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> reference_of(SmaCross(5, 20)), reference_of(SmaCross)
    ('sma_cross', 'sma_cross')
    >>> reference_of(MappingProxyType)
    'builtins:mappingproxy'
    """
    cls: type[Any] = policy if isinstance(policy, type) else type(policy)
    remembered = vars(cls).get(REFERENCE_ATTRIBUTE)
    if isinstance(remembered, str):
        return remembered
    for name, registered in _POLICIES.items():
        if registered is cls:
            return name
    return f"{cls.__module__}:{cls.__qualname__}"
