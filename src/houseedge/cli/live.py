"""Live commands: ``houseedge live run`` and ``houseedge live export``.

``live run`` loads :class:`~houseedge.app.settings.LiveSettings` (``--config live.toml``, the
``HOUSEEDGE_*`` environment, then the defaults: the paper broker replaying the demo store),
builds and starts the engine, serves it over HTTP (:mod:`houseedge.live.service`) and drains on
SIGTERM or SIGINT, exiting 0. Logs are structlog JSON lines on standard error.

``live export`` writes the journal's orders, fills, positions and events into the store
(:func:`houseedge.live.journal.export.export_live_file`); it may run while the engine writes.

Service knobs beyond host and port live in the config's ``[service]`` table (the fields of
:class:`~houseedge.live.service.ServiceSettings`); the bearer token comes only from the
environment: ``HOUSEEDGE_SERVICE_TOKEN`` (or the settings' ``HOUSEEDGE_API_TOKEN``).
"""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from houseedge.errors import ConfigError

if TYPE_CHECKING:
    from houseedge.app.settings import LiveSettings
    from houseedge.live.service import ServiceSettings

__all__ = ["live_app", "register", "service_settings"]

live_app = typer.Typer(
    name="live",
    no_args_is_help=True,
    help="Run the live engine as a service, or export its journal to the store.",
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="live.toml (default: built-in paper-on-demo settings)"),
]


def service_settings(
    live: LiveSettings, config: Path | None = None, **overrides: Any
) -> ServiceSettings:
    """Return the service settings for a live run: the config's ``[service]`` table, host and port.

    Raises
    ------
    ConfigError
        The ``[service]`` table holds the token, or a value is invalid.

    Examples
    --------
    >>> from houseedge.app.settings import LiveSettings
    >>> settings = service_settings(LiveSettings(port=9000), heartbeat=5)
    >>> settings.host, settings.port, settings.heartbeat
    ('127.0.0.1', 9000, 5.0)
    """
    from pydantic import ValidationError

    from houseedge.live.service import ServiceSettings

    table: dict[str, Any] = {}
    if config is not None:
        table = dict(tomllib.loads(config.read_text()).get("service", {}))
    if "token" in table:
        msg = f"{config}: [service] token is a secret: set HOUSEEDGE_SERVICE_TOKEN instead"
        raise ConfigError(msg)
    values: dict[str, Any] = {"host": live.host, "port": live.port}
    values |= {"drain_timeout": live.drain_timeout or 10.0, **table, **overrides}
    try:
        settings = ServiceSettings(**values)
    except ValidationError as exc:
        msg = f"invalid [service] settings: {exc}"
        raise ConfigError(msg) from exc
    if settings.token is None and live.api_token is not None:
        settings = settings.model_copy(update={"token": live.api_token})
    return settings


@live_app.command("run")
def run_command(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="listen address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="listen port; 0 picks a free one")] = None,
) -> None:
    """Run the live engine and its HTTP service until SIGTERM or SIGINT."""
    from houseedge import logs
    from houseedge.app.settings import LiveSettings, build_engine
    from houseedge.config import Settings
    from houseedge.live.observability import Observability

    logs.configure(level=Settings().log_level, json=True)
    live = LiveSettings.load(config)
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = service_settings(live, config, **overrides)
    # One Observability for the process: the service counts the events it relays, the engine
    # records order latency, figures and the traces (exported over OTLP when the environment
    # names an endpoint: houseedge.live.tracing), and /metrics shows both.
    observability = Observability.from_environment()
    engine = build_engine(live, observability=observability)
    asyncio.run(_serve(engine, settings, live.drain_timeout, observability))


async def _serve(
    engine: Any, settings: ServiceSettings, drain_timeout: float, observability: Any = None
) -> None:
    from houseedge.live.service import run_service

    # The engine rebuilds and reconciles before the service subscribes to its events: a
    # stream that connects later replays whatever start-up journaled.
    await engine.start()
    try:
        await run_service(
            engine,
            settings,
            observability=observability,
            stop_engine=lambda: engine.stop(timeout=drain_timeout),
        )
    except BaseException:
        await engine.stop(timeout=drain_timeout)
        raise


@live_app.command("export")
def export_command(
    config: ConfigOption = None,
    journal: Annotated[
        Path | None, typer.Option(help="journal file (default: the config's)")
    ] = None,
    store: Annotated[Path | None, typer.Option(help="store root (default: the config's)")] = None,
    account: Annotated[str, typer.Option(help="account name the rows carry")] = "live",
) -> None:
    """Write the journal's orders, fills, positions and events into the Parquet store."""
    from houseedge.app.settings import LiveSettings
    from houseedge.live.journal.export import export_live_file

    live = LiveSettings.load(config)
    path = journal or live.journal
    if not path.is_file():
        msg = f"{path}: no journal here; run `houseedge live run` first or pass --journal"
        raise ConfigError(msg)
    report = export_live_file(path, store or live.store, account=account)
    for dataset, rows in report.rows.items():
        typer.echo(f"{dataset}: +{rows} rows")


def register(app: typer.Typer) -> None:
    """Add the ``live`` command group to the command line."""
    app.add_typer(live_app, name="live")
