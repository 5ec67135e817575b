"""The `puhui` command: help everywhere, migrate and seed idempotently, export the contract."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from puhui.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


@pytest.mark.parametrize("path", _commands(main))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    cmd: click.Command = main
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    assert cmd.help, f"`puhui {' '.join(path)}` has no help text"


@pytest.fixture(autouse=True)
def _isolated_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUHUI_KEY_DIR", str(tmp_path / "keys"))


def test_migrate_seed_twice_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUHUI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(main, ["seed"])
    second = runner.invoke(main, ["seed"])
    assert first.exit_code == second.exit_code == 0, second.output
    listed = runner.invoke(main, ["tenants", "list", "--json"])
    codes = [t["code"] for t in __import__("json").loads(listed.output)]
    assert sorted(codes) == sorted(set(codes))
    assert {
        "puhui-bank",
        "gov-procure",
        "payroll-cloud",
    } <= set(codes)
    changed = runner.invoke(
        main, ["tenants", "set-status", "shop-app", "active", "--reason", "cli test"]
    )
    assert changed.exit_code == 0, changed.output
    refused = runner.invoke(
        main, ["tenants", "set-status", "puhui-bank", "suspended", "--reason", "no"]
    )
    assert refused.exit_code == 1
    assert "cannot become" in refused.output


def test_bad_settings_give_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUHUI_DATABASE_URL", "mysql://nope")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "PUHUI_DATABASE_URL" in result.output
    assert "Traceback" not in result.output


def test_seed_refuses_outside_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUHUI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("PUHUI_SANDBOX", "false")
    monkeypatch.setenv("PUHUI_ISSUER", "https://open.bank.example")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["seed"])
    assert result.exit_code == 1
    assert "PUHUI_SANDBOX" in result.output


def test_openapi_check_detects_a_stale_file(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    runner = CliRunner()
    assert runner.invoke(main, ["openapi", "export", "--out", str(target)]).exit_code == 0
    assert (
        runner.invoke(main, ["openapi", "export", "--out", str(target), "--check"]).exit_code == 0
    )
    target.write_text("{}")
    assert (
        runner.invoke(main, ["openapi", "export", "--out", str(target), "--check"]).exit_code == 1
    )
