"""Settings from ``HOUSEEDGE_*`` environment variables and an optional TOML file.

Secrets (API keys, the service token) come only from the environment and are held as
``SecretStr`` so they never print.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from houseedge.errors import ConfigError

__all__ = ["DEFAULT_STORE", "Settings", "Shape", "store_root", "unknown_key", "unknown_keys"]

DEFAULT_STORE = Path("data/store")


class Settings(BaseSettings):
    """Process-wide settings.

    Examples
    --------
    >>> import os
    >>> os.environ["HOUSEEDGE_STORE"] = "/tmp/houseedge-doctest-store"
    >>> str(Settings().store)
    '/tmp/houseedge-doctest-store'
    >>> del os.environ["HOUSEEDGE_STORE"]
    """

    model_config = SettingsConfigDict(env_prefix="HOUSEEDGE_", extra="ignore")

    store: Path = Field(default=DEFAULT_STORE, description="root of the Parquet store")
    log_level: str = "INFO"


def store_root(explicit: str | Path | None = None) -> Path:
    """Return the store root: an explicit path, else ``HOUSEEDGE_STORE``, else ``./data/store``.

    Examples
    --------
    >>> str(store_root("/tmp/x"))
    '/tmp/x'
    """
    return Path(explicit) if explicit is not None else Settings().store


Shape = Mapping[str, "Shape | None"]
"""The keys a config table may hold: each maps to the shape of its value (``None``: any value).

A ``"*"`` key stands for any key (a table of symbols); a list of tables takes its shape per item.
"""


def unknown_key(key: str, where: str, valid: Iterable[str]) -> str:
    """Return the message for ``key`` unknown at ``where``, naming the nearest valid key.

    Examples
    --------
    >>> unknown_key("cahs", "", ["cash", "store"])
    "unknown key 'cahs' at the top level (did you mean 'cash'?)"
    >>> unknown_key("zzz", "policies[0]", ["name"])
    "unknown key 'zzz' at policies[0].zzz (valid: name)"
    """
    place = f"at {where}.{key}" if where else "at the top level"
    names = sorted(name for name in valid if name != "*")
    near = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {near[0]!r}?" if near else f"valid: {', '.join(names)}"
    return f"unknown key {key!r} {place} ({hint})"


def _walk(value: Any, shape: Shape | None, where: str, problems: list[str]) -> None:
    if shape is None:
        return
    if isinstance(value, list):
        items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        for index, item in enumerate(items):
            _walk(item, shape, f"{where}[{index}]", problems)
        return
    if not isinstance(value, Mapping):
        return  # a wrong type is the model's to report
    for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
        name = str(key)  # pyright: ignore[reportUnknownArgumentType]
        if name not in shape and "*" not in shape:
            problems.append(unknown_key(name, where, shape))
            continue
        _walk(item, shape.get(name, shape.get("*")), f"{where}.{name}" if where else name, problems)


def unknown_keys(table: Mapping[str, Any], shape: Shape, *, source: str = "config") -> None:
    """Refuse a key of ``table`` (at any depth) that ``shape`` does not know.

    Raises
    ------
    ConfigError
        Naming every unknown key, where it is and the nearest valid key.

    Examples
    --------
    >>> shape = {"cash": None, "policies": {"name": None, "params": None}}
    >>> unknown_keys({"cash": 1, "policies": [{"name": "a", "params": {"x": 1}}]}, shape)
    >>> unknown_keys({"policies": [{"name": "a"}, {"parmas": {}}]}, shape, source="live.toml")
    Traceback (most recent call last):
    ...
    houseedge.errors.ConfigError: live.toml: unknown key 'parmas' at policies[1].parmas (did ...
    """
    problems: list[str] = []
    _walk(table, shape, "", problems)
    if problems:
        raise ConfigError(f"{source}: {'; '.join(problems)}")
