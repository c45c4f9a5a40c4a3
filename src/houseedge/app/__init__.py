"""Engine assembly from settings: the live settings, the broker registry, the demo session."""

from houseedge.app._manage import BlackoutConfig, manage
from houseedge.app.registry import GROUP, known_brokers, require_broker
from houseedge.app.settings import LiveSettings, build_engine

__all__ = [
    "GROUP",
    "BlackoutConfig",
    "LiveSettings",
    "build_engine",
    "known_brokers",
    "manage",
    "require_broker",
]
