"""`klein gateway jupyterhub-config`: the block a teacher adds, with no key in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from klein_widget.gateway.cli import main
from klein_widget.widget._status import connection_text


def test_the_block_runs_the_gateway_as_a_service_and_holds_no_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVESPEED_API_KEY", "wsk-config-canary-5e1f")
    assert main(["jupyterhub-config", "--dir", "/srv/class-7b", "--hub-group", "7b"]) == 0
    block = capsys.readouterr().out
    assert "wsk-config-canary-5e1f" not in block
    c = Config()
    exec(block, {"c": c})  # the block is Python for jupyterhub_config.py, as a teacher adds it
    (service,) = c.JupyterHub.services.get_value([])
    assert service["name"] == "klein"
    assert service["command"][-8:] == [
        "--upstream", "wavespeed", "--hub-budget", "2.00",
        "--key-file", "/srv/class-7b/wavespeed.key", "--hub-group", "7b",
    ]  # fmt: skip
    assert "--hub" in service["command"]
    assert "/srv/class-7b/class.sqlite3" in service["command"]
    roles = {role["name"]: role for role in c.JupyterHub.load_roles.get_value([])}
    assert roles["klein-gateway"]["scopes"] == ["read:users"]
    assert "read:services!service=klein" in roles["server"]["scopes"]


def test_serve_hub_outside_a_hub_says_what_to_do(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    db = tmp_path / "class.sqlite3"
    assert main(["serve", "--hub", "--upstream", "emulator", "--db", str(db)]) == 2
    assert not db.exists()  # refused before anything was made
    assert "jupyterhub-config" in capsys.readouterr().err


def test_the_panel_says_a_hub_service_is_the_class_gateway() -> None:
    url = "http://127.0.0.1:8800/services/klein"
    assert connection_text(url, emulator=False, has_key=True) == "through your class's gateway"
    other = connection_text("http://127.0.0.1:8800", emulator=False, has_key=True)
    assert other == "API at 127.0.0.1:8800"
