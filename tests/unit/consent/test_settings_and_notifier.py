"""Consent settings are validated; production never falls back to the sandbox notifier."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

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
