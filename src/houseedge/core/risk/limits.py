"""Risk limits: what the pre-trade gate and the post-trade monitors enforce, loaded from config.

A :class:`RiskLimits` is one TOML table (or dict). ``None`` means "no limit" for an optional
field. Per-symbol limits sit in ``symbols.<SYMBOL>`` and override the table's defaults field by
field; per-policy tables sit in ``policies.<name>`` and override the defaults (their
``symbols`` entries merge symbol by symbol)::

    max_long = 1000            # units, per symbol (default for every symbol)
    max_short = 1000           # units, a positive number
    max_order_notional = 50_000
    max_gross_notional = 200_000
    max_open_orders = 50
    max_orders_per_window = 20
    order_window_s = 1.0
    price_band = 0.05          # an order's price within +-5% of the last trade
    drawdown_soft = 0.05       # reduce-only at a 5% drawdown from the equity peak
    drawdown_hard = 0.10       # halted at 10%
    daily_loss_hard = 0.03     # halted when down 3% on the session day
    session_start = "13:30"    # UTC time the session day starts
    max_concentration = 0.4    # one symbol at most 40% of the gross notional after an order
    concentration_floor = 20_000  # ... once the gross notional after it is over 20,000
    var_hard = 0.03            # halted when the 1-mark VaR of the account's returns is 3%
    var_confidence = 0.99      # over the last var_window marks' returns
    var_window = 250
    var_method = "historical"  # or "parametric" (normal: mean - z * stdev)

    [symbols.BTCUSD]
    max_long = 2.5
    lot_size = 1e-8

    [policies.experimental]
    max_gross_notional = 10_000

Quantities are compared with a tolerance so float noise (``0.1 + 0.2``) neither rejects an order
that sits exactly at a limit nor admits one that is a real lot over it: with ``lot_size`` set the
tolerance is half a lot (on-grid quantities that differ are at least a lot apart), otherwise it
is ``1e-9`` relative (and ``1e-12`` absolute). Notionals use the relative tolerance.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from houseedge.errors import ConfigError

__all__ = ["RiskLimits", "SymbolLimits", "tolerance"]

REL_TOL: Final = 1e-9
ABS_TOL: Final = 1e-12
UP: Final = 1.0 + REL_TOL


class SymbolLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Overrides for one symbol; a ``None`` field falls back to the table's default.

    Examples
    --------
    >>> SymbolLimits(max_long=2.5, lot_size=1e-8).max_long
    2.5
    """

    max_long: float | None = None
    max_short: float | None = None
    max_long_notional: float | None = None
    max_short_notional: float | None = None
    max_open_orders: int | None = None
    lot_size: float | None = None


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every limit the risk gate enforces (see the module docstring for the TOML shape).

    Position limits (``max_long``, ``max_short`` in units; ``*_notional`` in account currency)
    apply per symbol. ``price_band`` and the ``*_soft``/``*_hard`` drawdown, daily-loss and
    rapid-loss thresholds are fractions (``0.05`` = 5%) of the equity peak, the session day's
    opening equity and the highest equity in the last ``rapid_loss_window_s`` seconds;
    ``policy_loss_*`` is in account currency. A soft threshold puts the breaker in reduce-only,
    a hard one halts it.

    Examples
    --------
    >>> limits = RiskLimits.from_config({"max_long": 100, "symbols": {"X": {"max_long": 5}}})
    >>> limits.max_long, limits.symbols["X"].max_long, limits.max_orders_per_window
    (100.0, 5.0, 20)
    """

    max_long: float | None = None
    max_short: float | None = None
    max_long_notional: float | None = None
    max_short_notional: float | None = None
    lot_size: float | None = None
    symbols: dict[str, SymbolLimits] = msgspec.field(default_factory=dict[str, SymbolLimits])
    max_order_qty: float | None = None
    max_order_notional: float | None = None
    max_gross_notional: float | None = None
    max_open_orders: int = 100
    max_open_orders_per_symbol: int = 20
    max_orders_per_window: int = 20
    order_window_s: float = 1.0
    price_band: float = 0.05
    drawdown_soft: float | None = None
    drawdown_hard: float | None = None
    daily_loss_soft: float | None = None
    daily_loss_hard: float | None = None
    rapid_loss_soft: float | None = None
    rapid_loss_hard: float | None = None
    rapid_loss_window_s: float = 60.0
    policy_loss_soft: float | None = None
    policy_loss_hard: float | None = None
    session_start: str = "00:00"
    flatten_when_halted: bool = True
    max_concentration: float | None = None
    concentration_floor: float | None = None
    var_soft: float | None = None
    var_hard: float | None = None
    var_confidence: float = 0.99
    var_window: int = 250
    var_method: str = "historical"

    def __post_init__(self) -> None:
        _check_positive(self)
        _check_var(self)
        for name in ("drawdown", "daily_loss", "rapid_loss", "policy_loss", "var"):
            soft, hard = getattr(self, f"{name}_soft"), getattr(self, f"{name}_hard")
            if soft is not None and hard is not None and soft > hard:
                msg = f"{name}_soft ({soft}) must not exceed {name}_hard ({hard})"
                raise ValueError(msg)
        session_offset_ns(self.session_start)

    @classmethod
    def from_config(cls, table: Mapping[str, Any], *, policy: str | None = None) -> RiskLimits:
        """Build limits from a config table, with ``policies.<policy>`` merged over it.

        Raises :class:`~houseedge.errors.ConfigError` naming the bad field.

        Examples
        --------
        >>> table = {"max_gross_notional": 1e6, "policies": {"exp": {"max_gross_notional": 1e4}}}
        >>> RiskLimits.from_config(table, policy="exp").max_gross_notional
        10000.0
        >>> RiskLimits.from_config({"max_lng": 1})
        Traceback (most recent call last):
        ...
        houseedge.errors.ConfigError: risk limits: Object contains unknown field `max_lng`
        """
        base = {k: v for k, v in table.items() if k != "policies"}
        if policy is not None:
            override = dict(table.get("policies", {}).get(policy, {}))
            symbols = {**base.get("symbols", {})}
            for symbol, fields in override.pop("symbols", {}).items():
                symbols[symbol] = {**symbols.get(symbol, {}), **fields}
            base = {**base, **override, "symbols": symbols}
        try:
            return msgspec.convert(base, cls, strict=False)
        except (msgspec.ValidationError, ValueError) as exc:
            where = f"risk limits{f' (policy {policy})' if policy else ''}"
            raise ConfigError(f"{where}: {exc}") from exc

    @classmethod
    def policies_from_config(cls, table: Mapping[str, Any]) -> dict[str, RiskLimits]:
        """Return the merged limits of every policy listed under ``policies``.

        Examples
        --------
        >>> RiskLimits.policies_from_config({"policies": {"a": {"max_long": 1}}})["a"].max_long
        1.0
        """
        return {name: cls.from_config(table, policy=name) for name in table.get("policies", {})}

    def for_symbol(self, symbol: str, field: str) -> float | None:
        """Return ``field`` for ``symbol``: its override if set, else the table default.

        Examples
        --------
        >>> RiskLimits(max_long=9, symbols={"X": SymbolLimits(max_long=1)}).for_symbol("Y",
        ...     "max_long")
        9
        """
        own = self.symbols.get(symbol)
        value: float | None = None if own is None else getattr(own, field)
        if value is not None:
            return value
        default = "max_open_orders_per_symbol" if field == "max_open_orders" else field
        return getattr(self, default)


def _check_var(limits: RiskLimits) -> None:
    if limits.max_concentration is not None and not limits.max_concentration <= 1:
        msg = f"max_concentration must be a fraction in (0, 1], got {limits.max_concentration}"
        raise ValueError(msg)
    if not limits.var_confidence < 1 or limits.var_window < 2:
        msg = (
            f"var_confidence must be in (0, 1) and var_window >= 2, got "
            f"{limits.var_confidence} and {limits.var_window}"
        )
        raise ValueError(msg)
    if limits.var_method not in ("historical", "parametric"):
        msg = f"var_method must be 'historical' or 'parametric', got {limits.var_method!r}"
        raise ValueError(msg)


def _check_positive(limits: RiskLimits) -> None:
    for name, value in msgspec.structs.asdict(limits).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isnan(value) or value <= 0:
            msg = f"{name} must be > 0, got {value}"
            raise ValueError(msg)
    for symbol, own in limits.symbols.items():
        for name, value in msgspec.structs.asdict(own).items():
            if value is not None and (math.isnan(value) or value <= 0):
                msg = f"symbols.{symbol}.{name} must be > 0, got {value}"
                raise ValueError(msg)


def session_offset_ns(session_start: str) -> int:
    """Return the UTC time of day ``"HH:MM"`` as nanoseconds after midnight.

    Examples
    --------
    >>> session_offset_ns("13:30") // 60_000_000_000
    810
    """
    hours, _, minutes = session_start.partition(":")
    try:
        h, m = int(hours), int(minutes)
    except ValueError:
        h = m = -1
    if not (0 <= h < 24 and 0 <= m < 60):
        msg = f"session_start must be 'HH:MM' (UTC), got {session_start!r}"
        raise ValueError(msg)
    return (h * 60 + m) * 60_000_000_000


def tolerance(limit: float, lot_size: float | None) -> float:
    """Return how far past ``limit`` a quantity may land and still count as within it.

    Examples
    --------
    >>> 0.1 + 0.2 <= 0.3 + tolerance(0.3, None)
    True
    >>> tolerance(10.0, 1.0)
    0.5
    """
    if lot_size is not None:
        return lot_size / 2
    return max(ABS_TOL, REL_TOL * abs(limit)) if math.isfinite(limit) else 0.0


class RateWindow:
    """Accept times of one rate-limit scope (``limit`` per ``span`` ns)."""

    __slots__ = ("limit", "span", "times")

    def __init__(self, limit: int, span_s: float) -> None:
        self.limit, self.span, self.times = limit, round(span_s * 1e9), deque[int]()

    def full(self, now_ns: int) -> bool:
        times, cutoff = self.times, now_ns - self.span
        while times and times[0] <= cutoff:
            times.popleft()
        return len(times) >= self.limit


# Per-symbol hot-path figures: max_long, max_short, max_long_notional, max_short_notional,
# max_open_orders, quantity tolerance.
SymbolFigures = tuple[float, float, float, float, int, float]


class CompiledLimits:
    """One limits table precompiled into plain floats for the gate's hot path."""

    __slots__ = (
        "band",
        "concentration",
        "fallback",
        "flatten",
        "floor",
        "gross",
        "limits",
        "open",
        "order_notional",
        "order_qty",
        "symbols",
        "windows",
    )

    def __init__(self, limits: RiskLimits, windows: tuple[RateWindow, ...]) -> None:
        self.limits = limits
        self.band = limits.price_band * UP
        self.order_qty = _num(limits.max_order_qty)
        self.order_notional = _num(limits.max_order_notional) * UP
        self.gross = _num(limits.max_gross_notional) * UP
        self.concentration = _num(limits.max_concentration) * UP
        self.floor = float(limits.concentration_floor or 0.0)
        self.open = limits.max_open_orders
        self.flatten = limits.flatten_when_halted
        self.windows = windows
        self.fallback = _symbol_figures(limits, "")
        self.symbols = {s: _symbol_figures(limits, s) for s in limits.symbols}


def _num(value: float | None) -> float:
    return math.inf if value is None else float(value)


def _symbol_figures(limits: RiskLimits, symbol: str) -> SymbolFigures:
    def get(field: str) -> float:
        return _num(limits.for_symbol(symbol, field))

    max_long, max_short = get("max_long"), get("max_short")
    lot = limits.for_symbol(symbol, "lot_size")
    tol = max(tolerance(max_long, lot), tolerance(max_short, lot), tolerance(1.0, lot))
    return (
        max_long + tol,
        max_short + tol,
        get("max_long_notional") * UP,
        get("max_short_notional") * UP,
        int(get("max_open_orders")),
        tol,
    )
