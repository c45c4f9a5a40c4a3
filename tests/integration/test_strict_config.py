"""The live settings file is strict: an unknown key anywhere is refused, naming the nearest key."""

from __future__ import annotations

from pathlib import Path

import pytest

from houseedge.app.settings import LiveSettings, build_engine
from houseedge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
POLICY = '[[policies]]\nname = "a"\nkind = "buy_and_hold"\n'


def _load(tmp_path: Path, text: str) -> LiveSettings:
    path = tmp_path / "live.toml"
    path.write_text(text)
    return LiveSettings.load(path)


def test_an_unknown_top_level_key_names_the_nearest_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "cahs = 5\n")
    assert str(caught.value) == (
        "live.toml: unknown key 'cahs' at the top level (did you mean 'cash'?)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[service]\nheartbaet = 3\n",
            "'heartbaet' at service.heartbaet (did you mean 'heartbeat'",
        ),
        ("[risk]\nmax_lng = 3\n", "'max_lng' at risk.max_lng (did you mean 'max_long'"),
        (
            "[risk.symbols.SYNA]\nmax_shrt = 1\n",
            "'max_shrt' at risk.symbols.SYNA.max_shrt (did you mean 'max_short'",
        ),
        (
            "[costs]\ncomission_bps = 1\n",
            "'comission_bps' at costs.comission_bps (did you mean 'commission_bps'",
        ),
    ],
)
def test_an_unknown_key_in_a_nested_table_names_its_path(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match="unknown key " + expected.replace("(", r"\(")):
        _load(tmp_path, text)


def test_an_unknown_key_in_an_array_of_tables_names_its_index(tmp_path: Path) -> None:
    text = POLICY + POLICY.replace('"a"', '"b"') + "parmas = {}\nrisk = { max_gross = 1 }\n"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert "unknown key 'parmas' at policies[1].parmas (did you mean 'params'?)" in message
    assert "'max_gross' at policies[1].risk.max_gross (did you mean 'max_gross_notional'?)" in (
        message
    )


def test_a_secret_in_the_file_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set HOUSEEDGE_BROKER_KEY in the environment"):
        _load(tmp_path, 'broker_key = "k"\ncahs = 5\n')
    with pytest.raises(ConfigError, match=r"\[service\] token is a secret"):
        _load(tmp_path, '[service]\ntoken = "t"\n')


def test_the_environment_still_sets_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOUSEEDGE_CASH", "123")
    monkeypatch.setenv("HOUSEEDGE_RISK__MAX_LONG", "7")
    monkeypatch.setenv("HOUSEEDGE_SERVICE_HEARTBEAT", "2")  # another model's: not an error here
    settings = _load(tmp_path, POLICY)
    assert (settings.cash, settings.risk) == (123.0, {"max_long": "7"})


def test_a_venue_table_names_the_nearest_option(tmp_path: Path) -> None:
    settings = _load(tmp_path, 'broker = "binance"\n[binance]\nsymbls = ["BTCUSDT"]\n' + POLICY)
    with pytest.raises(ConfigError, match=r"'symbls' at binance.symbls \(did you mean 'symbols'"):
        build_engine(settings)


def test_the_documented_example_config_is_strictly_valid() -> None:
    settings = LiveSettings.load(ROOT / "examples" / "live.toml")
    assert [p.name for p in settings.policies] == ["sma"]
