"""The broker registry: entry points of ``houseedge.brokers``, our four and a third party's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from houseedge.app.registry import known_brokers, require_broker
from houseedge.app.settings import LiveSettings, build_engine
from houseedge.errors import ConfigError

THIRD_PARTY = """
from houseedge.adapters.venue import Venue
from houseedge.live.paper import PaperBroker


def build_venue(settings):
    options = settings.venue_options("kraken_fake")
    broker = PaperBroker(settings.cost_model(), starting_cash=options.get("cash", 1.0))
    return Venue(broker, settings.replay_feed())
"""


def _install_third_party(root: Path) -> None:
    """A package (module + dist-info with an entry point) that houseedge never heard of."""
    (root / "kraken_fake_venue.py").write_text(THIRD_PARTY)
    info = root / "kraken_fake_venue-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kraken-fake-venue\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[houseedge.brokers]\nkraken_fake = kraken_fake_venue:build_venue\n"
    )


def test_our_four_brokers_are_registered() -> None:
    assert {"paper", "alpaca", "binance", "ib"} <= set(known_brokers())
    assert require_broker("ib").__module__ == "houseedge.adapters.ib.factory"


def test_unknown_broker_is_a_config_error_naming_key_and_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"broker = 'nope' .*known: alpaca, binance, ib, paper"):
        LiveSettings(broker="nope")
    path = tmp_path / "live.toml"
    path.write_text('broker = "nope"\n')
    with pytest.raises(ConfigError, match="broker = 'nope'"):
        LiveSettings.load(path)


def test_a_third_party_venue_is_found_and_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_third_party(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "kraken_fake" in known_brokers()
    path = tmp_path / "live.toml"
    path.write_text('broker = "kraken_fake"\nsymbols = ["SYNA"]\n[kraken_fake]\ncash = 1234.0\n')
    settings = LiveSettings.load(path, store=tmp_path / "store", journal=tmp_path / "j.db")
    assert settings.venue_options("kraken_fake") == {"cash": 1234.0}
    engine = build_engine(settings)
    assert engine.broker.name == "paper"
    assert type(engine.broker).__module__.startswith("houseedge.live.paper")
    monkeypatch.delitem(sys.modules, "kraken_fake_venue", raising=False)


@pytest.mark.parametrize(
    ("broker", "module", "package"),
    [("alpaca", "alpaca", "alpaca-py"), ("binance", "binance", "python-binance"),
     ("ib", "ib_async", "ib-async")],
)  # fmt: skip
def test_a_missing_extra_names_the_extra_when_used_never_on_import(
    broker: str, module: str, package: str, tmp_path: Path
) -> None:
    """With the SDK made unimportable, ``import houseedge`` works; using the venue says why not."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules[{module!r}] = None  # the import of the SDK fails, as when not installed
        import houseedge, houseedge.app.settings, houseedge.cli
        from houseedge.app.settings import LiveSettings
        from houseedge.errors import BrokerUnavailable
        try:
            LiveSettings(broker={broker!r})
        except BrokerUnavailable as exc:
            print(exc)
        """)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    expected = f"broker '{broker}' needs the {package} package: pip install 'houseedge[{broker}]'"
    assert run.stdout.strip() == expected


def test_a_missing_extra_fails_the_cli_command_clearly(tmp_path: Path) -> None:
    """``houseedge alpaca ingest`` without alpaca-py: exit 2 and the extra to install, verbatim."""
    script = textwrap.dedent("""
        import sys
        sys.modules["alpaca"] = None
        sys.argv = ["houseedge", "alpaca", "ingest", "--symbols", "AAPL"]
        from houseedge.cli import main
        main()
        """)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        "error: broker 'alpaca' needs the alpaca-py package: pip install 'houseedge[alpaca]'"
    )
