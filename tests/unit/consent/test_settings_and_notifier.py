"""Consent settings are validated; production never falls back to the sandbox notifier."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from puhui.app import create_app
from puhui.cli import main
from puhui.config import SettingsError, load_settings
from puhui.notify import NotifierNotConfigured, SandboxNotifier, load_notifier, require_notifier


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PUHUI_CONSENT_MAX_VALIDITY_DAYS": "0"}, "PUHUI_CONSENT_MAX_VALIDITY_DAYS"),
        (
            {"PUHUI_CONSENT_MAX_VALIDITY_DAYS": "30", "PUHUI_CONSENT_DEFAULT_VALIDITY_DAYS": "90"},
            "PUHUI_CONSENT_DEFAULT_VALIDITY_DAYS",
        ),
        ({"PUHUI_NOTIFIER": "not a path"}, "PUHUI_NOTIFIER"),
    ],
)
def test_bad_consent_settings_are_named(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


def test_production_refuses_the_sandbox_notifier() -> None:
    # Only these two settings matter here; the rest of a production configuration is irrelevant.
    production = SimpleNamespace(notifier="sandbox", sandbox=False)
    with pytest.raises(NotifierNotConfigured, match="PUHUI_NOTIFIER"):
        require_notifier(production)  # type: ignore[arg-type]


def test_an_unloadable_notifier_stops_start_up_with_its_name() -> None:
    settings = load_settings({"PUHUI_NOTIFIER": "no_such_module.sms:Gateway"})
    with pytest.raises(NotifierNotConfigured, match="no_such_module"):
        require_notifier(settings)


def test_something_that_is_not_a_notifier_is_refused() -> None:
    settings = load_settings({"PUHUI_NOTIFIER": "puhui.config:Settings"})
    with pytest.raises(NotifierNotConfigured):
        load_notifier(settings)


def test_the_sandbox_gets_the_sandbox_notifier() -> None:
    assert isinstance(load_notifier(load_settings({})), SandboxNotifier)


def _production_with_sandbox_notifier(tmp_path: Path) -> dict[str, str]:
    return {
        "PUHUI_SANDBOX": "false",
        "PUHUI_ENVIRONMENT": "production",
        "PUHUI_ISSUER": "https://open.bank.example",
        "PUHUI_NOTIFIER": "sandbox",
        "PUHUI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
        "PUHUI_KEY_DIR": str(tmp_path / "keys"),
    }


def test_create_app_refuses_production_on_the_sandbox_notifier(tmp_path: Path) -> None:
    settings = load_settings(_production_with_sandbox_notifier(tmp_path))
    with pytest.raises(NotifierNotConfigured, match="PUHUI_NOTIFIER to a real notifier"):
        create_app(settings)


def test_puhui_serve_stops_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _production_with_sandbox_notifier(tmp_path).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "sandbox notifier is refused when PUHUI_SANDBOX is false" in result.output
    assert not (tmp_path / "never.db").exists()  # nothing started


def test_create_app_accepts_the_sandbox_notifier_in_the_sandbox(tmp_path: Path) -> None:
    env = {**_production_with_sandbox_notifier(tmp_path), "PUHUI_SANDBOX": "true"}
    assert create_app(load_settings(env)).state.settings.notifier == "sandbox"
