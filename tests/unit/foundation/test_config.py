from __future__ import annotations

import pytest

from puhui.config import SettingsError, load_settings


def test_defaults_run_the_embedded_sandbox() -> None:
    s = load_settings({})
    assert s.is_sqlite
    assert s.sandbox
    assert s.redis_url is None
    assert s.issuer == "http://127.0.0.1:8000"


def test_environment_variables_are_read_and_typed() -> None:
    s = load_settings(
        {
            "PUHUI_PORT": "9001",
            "PUHUI_SANDBOX": "false",
            "PUHUI_ISSUER": "https://bank.example",
            "PUHUI_REDIS_URL": "redis://127.0.0.1:6379/0",
            "PUHUI_DATABASE_URL": "postgresql+asyncpg://u@h/db",
        }
    )
    assert s.port == 9001
    assert s.sandbox is False
    assert not s.is_sqlite
    assert s.redis_url


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PUHUI_PORT": "eighty"}, "PUHUI_PORT"),
        ({"PUHUI_PORT": "70000"}, "PUHUI_PORT"),
        ({"PUHUI_DATABASE_URL": "mysql://x/y"}, "PUHUI_DATABASE_URL"),
        ({"PUHUI_REDIS_URL": "http://x"}, "PUHUI_REDIS_URL"),
        ({"PUHUI_ISSUER": "ftp://x"}, "PUHUI_ISSUER"),
        ({"PUHUI_ISSUER": "https://x/"}, "PUHUI_ISSUER"),
        ({"PUHUI_SANDBOX": "false"}, "PUHUI_ISSUER"),  # production needs https
        ({"PUHUI_SANDBOX": "perhaps"}, "PUHUI_SANDBOX"),
        ({"PUHUI_LOG_LEVEL": "LOUD"}, "PUHUI_LOG_LEVEL"),
        ({"PUHUI_BANK_CODE": "x"}, "PUHUI_BANK_CODE"),
    ],
)
def test_bad_values_get_a_clear_error_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(env)
