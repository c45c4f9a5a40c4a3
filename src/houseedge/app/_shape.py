"""The keys a ``live.toml`` may hold, at every depth: what makes the settings file strict.

The shape follows the models (:class:`~houseedge.app.settings.LiveSettings`, its
``PolicyConfig`` and ``CostConfig``, :class:`~houseedge.live.service.ServiceSettings`,
:class:`~houseedge.core.risk.limits.RiskLimits`), so a field added to one of them is a valid key
at once. A policy's ``params`` and ``sizer_params`` are checked against the class they construct,
a venue table (``[alpaca]``) by its adapter's config (:func:`houseedge.adapters.venue.load_config`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec
from pydantic import BaseModel

from houseedge.core.risk.limits import RiskLimits, SymbolLimits
from houseedge.errors import ConfigError
from houseedge.live.service import ServiceSettings

if TYPE_CHECKING:
    from houseedge.config import Shape

__all__ = ["refuse_secrets", "risk_shape", "settings_shape"]

_OPEN: Any = None  # a table whose keys another part checks


def _fields(kind: type[Any]) -> list[str]:
    if issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return [field.name for field in msgspec.structs.fields(kind)]


def _keys(kind: type[Any], **nested: Shape | None) -> Shape:
    return {**dict.fromkeys(_fields(kind), _OPEN), **nested}


def risk_shape() -> Shape:
    """Return the shape of a ``[risk]`` table: the limits, per-symbol and per-policy overrides."""
    symbols: Shape = {"*": _keys(SymbolLimits)}
    own = _keys(RiskLimits, symbols=symbols)
    return {**own, "policies": {"*": own}}


def settings_shape(
    settings: type[BaseModel],
    policy: type[BaseModel],
    costs: type[BaseModel],
    venues: Iterable[str],
) -> Shape:
    """Return the shape of a whole settings file; ``venues`` are the registered broker names."""
    risk = risk_shape()
    policies = _keys(policy, risk=risk)
    top = _keys(settings, risk=risk, costs=_keys(costs), policies=policies)
    return {**dict.fromkeys(venues, _OPEN), **top, "service": _keys(ServiceSettings)}


def refuse_secrets(source: str, table: dict[str, Any], secrets: Iterable[str]) -> None:
    """Refuse a file that holds a secret (``secrets`` at the top, the ``[service]`` token)."""
    service = table.get("service")
    names = [f"HOUSEEDGE_{name.upper()}" for name in sorted(set(secrets) & table.keys())]
    if isinstance(service, dict) and "token" in service:
        names.append("HOUSEEDGE_SERVICE_TOKEN")
    for name in names:
        key = name.removeprefix("HOUSEEDGE_").lower().replace("service_", "[service] ")
        msg = f"{source}: {key} is a secret: set {name} in the environment, not in a file"
        raise ConfigError(msg)
