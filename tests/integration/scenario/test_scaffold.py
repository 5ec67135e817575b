"""`puhui connector new NAME` writes a connector package whose own tests pass as generated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from connectors.scaffold import scaffold

from puhui.cli import main


def test_the_scaffolded_package_passes_its_own_tests(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["connector", "new", "market_sales", "--into", str(tmp_path), "--title", "Market"]
    )
    assert result.exit_code == 0, result.output
    package = tmp_path / "market_sales"
    assert {p.name for p in package.iterdir()} >= {
        "__init__.py",
        "connector.py",
        "features.py",
        "normalise.py",
        "schemas.py",
        "simulator.py",
        "tests",
    }
    run = subprocess.run(  # noqa: S603 - our own interpreter on our own generated files
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            "/dev/null",
            str(package / "tests"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "10 passed" in run.stdout


def test_the_scaffold_never_overwrites_and_refuses_bad_names(tmp_path: Path) -> None:
    scaffold("shop_sales", tmp_path)
    again = CliRunner().invoke(main, ["connector", "new", "shop_sales", "--into", str(tmp_path)])
    bad = CliRunner().invoke(main, ["connector", "new", "Bad-Name", "--into", str(tmp_path)])
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert bad.exit_code != 0
    assert "must match" in bad.output
