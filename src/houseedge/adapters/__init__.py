"""Venue adapters: one package per venue, all of the same shape (see ``adapters/README.md``).

This package's own names (:mod:`houseedge.adapters.venue`) import no broker SDK: what every
venue's ``build_venue`` takes and returns, and the config helpers they share. The venues
themselves (``alpaca``, ``binance``, ``ib``, ``paper``) are imported only when used, through the
broker registry (:mod:`houseedge.app.registry`).
"""

from houseedge.adapters.venue import (
    Secret,
    Venue,
    VenueFactory,
    VenueSettings,
    keys_of,
    load_config,
    refuse_secrets,
)

__all__ = [
    "Secret",
    "Venue",
    "VenueFactory",
    "VenueSettings",
    "keys_of",
    "load_config",
    "refuse_secrets",
]
