"""``puhui connector new NAME``: a working connector package from the templates in ``_scaffold``.

The package has the whole contract (schemas, normaliser, features, simulator, connector) and
its own tests, which pass as generated; a product team then swaps the example stream for the
real upstream's, keeping the tests green (docs/connectors.md walks through it).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from connectors.spec import ScenarioCategory

__all__ = ["TEMPLATES", "ScaffoldError", "scaffold"]

TEMPLATES = Path(__file__).with_name("_scaffold")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ScaffoldError(ValueError):
    """The name is unusable or the target already exists."""


def scaffold(
    name: str,
    into: Path,
    *,
    title: str | None = None,
    category: ScenarioCategory = ScenarioCategory.PRODUCTION_OPERATION,
) -> Path:
    """Write the package ``into/name`` and return its path; never overwrites anything."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(f"connector name {name!r} must match {_NAME.pattern}")
    target = into / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    values = {
        "name": name,
        "Name": "".join(part.capitalize() for part in name.split("_")),
        "title": title or name.replace("_", " ").title(),
        "category": category.value,
        "CATEGORY": category.name,
    }
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES).with_suffix("")
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), "utf-8")
    return target
