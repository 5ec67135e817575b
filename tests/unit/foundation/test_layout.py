"""The layout trap: `platform/` must never become a package shadowing the standard library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_platform_folder_is_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_is_the_standard_library_from_the_repo_root() -> None:
    code = "import platform, puhui; print(platform.__file__); print(platform.python_version())"
    out = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    first = out.stdout.splitlines()[0]
    assert "site-packages" not in first
    assert not first.startswith(str(ROOT))
    assert out.stdout.splitlines()[1].startswith("3.11")


def test_core_packages_import_under_their_names() -> None:
    import connectors
    import partner_portal

    import puhui

    assert Path(puhui.__file__).parent == ROOT / "platform" / "puhui"
    assert Path(connectors.__file__).parent == ROOT / "connectors"
    assert Path(partner_portal.__file__).parent == ROOT / "partner_portal"
