"""The architecture page (docs/architecture.md) stays true: every import of the package
is allowed by its table, and no module grows past about 500 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "edqueue"

LONG_MODULES: set[str] = set()
"""Modules over about 500 lines: none since issue 16 split them; none may join the list."""


def allowed() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## What each package may import", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \|([^|]*)\|$", table, re.MULTILINE)
    return {name: set(re.findall(r"`([a-z_]+)`", imports)) for name, imports in rows}


def layer(module: str) -> str:
    parts = module.split(".")
    return "edqueue" if len(parts) == 1 else parts[1]


def imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        names = found.setdefault(layer(module), set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            names.update(layer(t) for t in targets if t.split(".")[0] == "edqueue")
    return {name: targets - {name} for name, targets in found.items()}


def test_every_import_is_allowed_by_the_architecture_page() -> None:
    table = allowed()
    actual = imports()
    assert set(actual) <= set(table), "a package the page does not list"
    wrong = {name: sorted(targets - table[name]) for name, targets in actual.items()}
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_models_and_rules_know_nothing_of_storage_or_the_service() -> None:
    table = allowed()
    for inner in ("errors", "models", "rules"):
        assert not table[inner] & {"ports", "service", "adapters", "journal", "schemas"}


def test_no_module_grows_past_about_500_lines() -> None:
    lengths = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    long = {name for name, lines in lengths.items() if lines > 520}
    assert long == LONG_MODULES
