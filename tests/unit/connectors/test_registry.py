"""Connector discovery: built-ins load; a broken entry point stops start-up, naming itself."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from connectors.registry import ENTRY_POINT_GROUP, ConnectorLoadError, load_connectors

BUILT_IN_LINES = {
    "procurement": "connectors.procurement:connector",
    "utilities": "connectors.utilities:connector",
    "tax": "connectors.tax:connector",
    "payroll": "connectors.payroll:connector",
}


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def built_ins() -> list[EntryPoint]:
    return [ep(name, value) for name, value in BUILT_IN_LINES.items()]


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("puhui_test_plugin")]:
        del sys.modules[name]


def test_built_ins_load_into_an_immutable_registry() -> None:
    registry = load_connectors(built_ins())
    assert sorted(registry) == sorted(BUILT_IN_LINES)
    assert registry["tax"].spec().name == "tax"
    assert len(registry.specs()) == 4
    with pytest.raises(TypeError):
        registry["evil"] = registry["tax"]  # type: ignore[index]


def test_missing_module_names_the_entry_point() -> None:
    with pytest.raises(ConnectorLoadError, match=r"'ghost' = 'connectors.ghost:connector'.*import"):
        load_connectors([*built_ins(), ep("ghost", "connectors.ghost:connector")])


def test_object_that_is_not_a_connector_is_refused() -> None:
    with pytest.raises(ConnectorLoadError, match=r"'spec_only'.*does not implement"):
        load_connectors([ep("spec_only", "connectors.tax.connector:SPEC")])


def test_entry_point_name_must_match_the_spec() -> None:
    with pytest.raises(ConnectorLoadError, match="differs from the entry point name"):
        load_connectors([ep("taxes", "connectors.tax:connector")])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConnectorLoadError, match="same name"):
        load_connectors([ep("tax", "connectors.tax:connector")] * 2)


def test_invalid_manifest_and_failing_import_stop_loading(plugin_dir: Path) -> None:
    (plugin_dir / "puhui_test_plugin_bad.py").write_text(
        "from connectors.tax.connector import SPEC, connector as _tax\n"
        "import msgspec\n"
        "class Broken:\n"
        "    def spec(self): return msgspec.structs.replace(SPEC, name='broken', version='one')\n"
        "    async def check(self, config): ...\n"
        "    async def discover(self, config): ...\n"
        "    def read(self, config, consent, streams, state): ...\n"
        "    def features(self): return ()\n"
        "connector = Broken()\n"
    )
    (plugin_dir / "puhui_test_plugin_boom.py").write_text("raise RuntimeError('no licence key')\n")
    with pytest.raises(ConnectorLoadError, match=r"'broken'.*invalid manifest: version 'one'"):
        load_connectors([ep("broken", "puhui_test_plugin_bad:connector")])
    with pytest.raises(ConnectorLoadError, match=r"'boom'.*no licence key"):
        load_connectors([ep("boom", "puhui_test_plugin_boom:connector")])
