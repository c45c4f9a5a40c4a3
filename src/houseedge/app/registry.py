"""The broker registry: venues by name, read from the ``houseedge.brokers`` entry points.

Every venue — the embedded paper broker and the Alpaca, Binance and IB adapters, registered by
houseedge's own ``pyproject.toml``, and any third-party package's — is an entry point of the
group ``houseedge.brokers`` whose object is a ``build_venue(settings) -> Venue`` factory
(:class:`~houseedge.adapters.venue.VenueFactory`)::

    [project.entry-points."houseedge.brokers"]
    kraken = "houseedge_kraken.factory:build_venue [kraken]"

The optional ``[extra]`` names the install extra the venue needs: when loading the entry point
fails because a package is missing, the error says which extra to install. Nothing here runs
on ``import houseedge``; entry points are read when a venue is asked for.
"""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint, entry_points
from typing import Final, cast

from houseedge.adapters.venue import VenueFactory
from houseedge.errors import BrokerUnavailable, ConfigError

__all__ = ["GROUP", "known_brokers", "require_broker"]

GROUP: Final = "houseedge.brokers"
"""The entry-point group of broker factories."""


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, point)  # the first on sys.path wins, as for imports
    return found


def known_brokers() -> list[str]:
    """Return the registered broker names, sorted.

    Examples
    --------
    >>> {"paper", "alpaca", "binance", "ib"} <= set(known_brokers())
    True
    """
    return sorted(_entry_points())


def _entry_point(name: str, key: str) -> EntryPoint:
    points = _entry_points()
    if name not in points:
        known = ", ".join(sorted(points)) or "none (is houseedge installed?)"
        msg = f"{key} = {name!r} is not a registered broker; known: {known}"
        raise ConfigError(msg)
    return points[name]


def _missing(point: EntryPoint, exc: ImportError) -> BrokerUnavailable:
    module = (exc.name or "").partition(".")[0]
    package = module or "a package"
    dist = point.dist
    owner = dist.name if dist is not None else "houseedge"
    extras = ",".join(point.extras)
    if dist is not None and point.extras:
        markers = [re.compile(rf"extra\s*==\s*[\"']{re.escape(e)}[\"']") for e in point.extras]
        wanted = [r for r in dist.requires or () if any(m.search(r) for m in markers)]
        names = [re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0] for r in wanted]
        matching = [n for n in names if module and module.replace("_", "-") in n.replace("_", "-")]
        package = ", ".join(matching or names) or package
    install = f"pip install '{owner}[{extras}]'" if extras else f"install {package}"
    return BrokerUnavailable(f"broker {point.name!r} needs the {package} package: {install}")


def require_broker(name: str, *, key: str = "broker") -> VenueFactory:
    """Return the factory of broker ``name``, its packages imported.

    Raises
    ------
    ConfigError
        No broker of that name is registered (the message names ``key`` and the known names).
    BrokerUnavailable
        The venue's packages are not installed (the message names the extra to install).

    Examples
    --------
    >>> require_broker("paper").__module__
    'houseedge.adapters.paper'
    >>> require_broker("nope")
    Traceback (most recent call last):
    ...
    houseedge.errors.ConfigError: broker = 'nope' is not a registered broker; known: ...
    """
    point = _entry_point(name, key)
    try:
        return cast(VenueFactory, point.load())
    except ImportError as exc:
        raise _missing(point, exc) from exc
