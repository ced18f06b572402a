"""A griffe extension that lets mkdocstrings render edqueue's reST-style docstrings.

edqueue's docstrings are prose in the Sphinx manner: ``:class:`~edqueue.errors.PortError```
roles, ``>>>`` doctest blocks, double-backtick literals. mkdocstrings renders docstrings as
Markdown, where a role shows up as raw text and the lines of a doctest block run together
into one paragraph (and ``[1, 1]`` after ``[...]`` reads as a Markdown link). This extension
rewrites each docstring once, after griffe has loaded the package, and leaves src/ alone:

- ``:class:`~a.b.C``` becomes a cross-reference, ``[`C`][a.b.C]``, when the target is a
  public object of edqueue (mkdocs-autorefs then links it, and ``--strict`` fails if the
  target is not rendered on any page); any other target (the standard library, a private
  helper) becomes plain code.
- A doctest block (``>>>`` lines and their output, up to a blank line) becomes a fenced
  ``pycon`` block.
- An indented paragraph after unindented prose (a reST block quote, such as the text of the
  application quoted in :mod:`edqueue.rules.ordering`) becomes a Markdown block quote,
  where Markdown would read it as code.
- A ``#`` or ``>`` at the start of a prose line (``#1292601 has ...``, ``>= 0``) is escaped,
  so it is not read as a Markdown heading or block quote.

Loaded by mkdocs.yml (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|func|meth|mod|data|attr|exc|obj|const):`([^`]+)`")
_EXPLICIT_TITLE = re.compile(r"^(.*?)\s*<([^<>]+)>$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_PACKAGE = "edqueue"


class RstDocstrings(griffe.Extension):
    """Rewrite every docstring of the package (see the module's docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj.docstring.value, obj)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if member.is_alias:
            continue
        found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def _rewrite(text: str, obj: griffe.Object) -> str:
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        if in_fence:
            out.append(line)
            i += 1
            continue
        stripped = line.lstrip()
        if stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        if _is_block_quote(lines, i, out):
            while i < len(lines) and lines[i].strip():
                out.append("> " + _ROLE.sub(lambda m: _reference(m, obj), lines[i].strip()))
                i += 1
            continue
        if stripped.startswith(("#", ">")):
            line = line.replace(stripped[0], "\\" + stripped[0], 1)
        out.append(_ROLE.sub(lambda m: _reference(m, obj), line))
        i += 1
    return "\n".join(out)


def _is_block_quote(lines: list[str], i: int, out: list[str]) -> bool:
    """Whether line ``i`` starts a reST block quote: an indented paragraph after a blank line
    that follows unindented prose (not a list item, not a ``::`` literal block)."""
    line = lines[i]
    if not line.startswith("    ") or i == 0 or lines[i - 1].strip():
        return False
    previous = next((text for text in reversed(out) if text.strip()), "")
    return (
        bool(previous)
        and not previous.startswith((" ", "\t"))
        and not _LIST_ITEM.match(previous)
        and not previous.rstrip().endswith("::")
        and not _FENCE.match(previous)
    )


def _reference(match: re.Match[str], obj: griffe.Object) -> str:
    role, content = match.group(1), match.group(2).strip()
    explicit = _EXPLICIT_TITLE.match(content)
    if explicit:
        title, target = explicit.group(1), explicit.group(2)
    else:
        short = content.startswith("~")
        target = content.lstrip("~.")
        title = target.rsplit(".", 1)[-1] if short else target
        if role in {"func", "meth"}:
            title += "()"
    path = _resolve(target, obj)
    if path is None:
        return f"`{title}`"
    return f"[`{title}`][{path}]"


def _resolve(target: str, obj: griffe.Object) -> str | None:
    """The full path of ``target`` seen from ``obj``, if it is a public edqueue object."""
    head, _, rest = target.partition(".")
    if head == _PACKAGE:
        path = target
    else:
        try:
            path = obj.resolve(head)
        except griffe.NameResolutionError:
            return None
        if rest:
            path = f"{path}.{rest}"
    if not path.startswith(_PACKAGE + ".") and path != _PACKAGE:
        return None
    if any(part.startswith("_") for part in path.split(".")):
        return None
    try:
        obj.modules_collection[path]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return path
