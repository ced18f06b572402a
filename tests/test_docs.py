"""Code in the README runs, and prints what its comments say; docs list every error code."""

import contextlib
import io
import re
from pathlib import Path

import pytest

from edqueue.errors import all_codes

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


# Every page with Python examples: the README and each page of docs/.
PAGES = [
    page
    for page in [
        "README.md",
        *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/**/*.md")),
    ]
    if "```python" in (ROOT / page).read_text(encoding="utf-8")
]


@pytest.mark.parametrize("page", PAGES)
def test_examples_print_what_they_say(
    page: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(ROOT / page)
    assert blocks
    if any("EDQUEUE_DSN" in block for block in blocks):  # the page's example needs a server
        monkeypatch.setenv("EDQUEUE_DSN", request.getfixturevalue("postgres_dsn"))
    for block in blocks:
        expected = [
            m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", block, re.MULTILINE)
        ]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, page, "exec"), {})  # noqa: S102 - our own docs
        assert out.getvalue().splitlines() == expected


def test_every_error_code_is_documented() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", text, re.MULTILINE))
    assert documented == set(all_codes())


def test_every_policy_parameter_is_in_the_rules_reference() -> None:
    from edqueue.rules import PARAMETER_NAMES

    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    assert set(PARAMETER_NAMES) <= documented
