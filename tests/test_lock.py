"""requirements.lock (tools/lock.py) pins every runtime dependency, within pyproject's ranges,
with a hash: what `make audit` gives pip-audit and a host installs with --require-hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+) \\\n    --hash=sha256:([0-9a-f]{64})$", re.M)


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = {canonicalize_name(name): version for name, version, _ in PIN.findall(text)}
    entries = [line for line in text.splitlines() if "==" in line]
    assert len(pins) == len(entries), "every pin has exactly one sha256 hash"
    return pins


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def test_the_lock_holds_no_tool_of_the_extras() -> None:
    pins = _pins()
    for tool in ("pytest", "hypothesis", "ruff", "mypy", "numpy", "mkdocs"):
        assert tool not in pins
