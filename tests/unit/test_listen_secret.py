"""The secret `eventsapi listen` keeps: made once in the user's config directory (0600, whsec_
form the API takes), then reused, so a receiver's secret survives restarts and reconnects."""

import stat

import pytest

from events_core.listen.requests import whsec_key
from eventsapi import listen_secret
from eventsapi.cli import main


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def test_made_once_0600_in_the_config_directory_then_reused(config_home):
    first = listen_secret.kept_secret()
    path = config_home / "eventsapi" / "listen-secret"
    assert listen_secret.secret_path() == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.startswith("whsec_") and len(whsec_key(first) or b"") == 32
    assert listen_secret.kept_secret() == first


def test_home_config_without_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert listen_secret.secret_path() == tmp_path / ".config" / "eventsapi" / "listen-secret"


def test_a_spoiled_file_is_named_and_kept(config_home, capsys):
    path = config_home / "eventsapi" / "listen-secret"
    path.parent.mkdir()
    path.write_text("not-a-secret\n")
    assert main(["listen", "--forward-to", "http://127.0.0.1:9/x", "--api-key", "claw_" + "k" * 40]) == 2
    said = capsys.readouterr().err
    assert str(path) in said and "no whsec_ secret" in said
    assert path.read_text() == "not-a-secret\n"
