"""The city as files: :func:`write_city`, behind ``edqueue generate``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from edqueue.models import require_aware
from edqueue.rules.policy import policy_date
from edqueue.schemas import dump_application, dump_organization
from edqueue.testing.city._applications import generate_applications
from edqueue.testing.city._organizations import generate_organizations


def write_city(
    directory: Path,
    *,
    applications: int,
    organizations: int,
    seed: int,
    as_of: datetime,
    localities: int = 1,
    broken_share: float = 0.0,
) -> tuple[Path, Path]:
    """Write a synthetic city into ``directory``: ``organizations.json`` and
    ``applications.jsonl``; return their paths.

    ``organizations.json`` is a JSON array of :func:`~edqueue.schemas.dump_organization`
    objects, one organization a line; ``applications.jsonl`` holds one
    :func:`~edqueue.schemas.dump_application` object a line, written as the applications
    are made (memory stays flat however many). Both are UTF-8 with ``\\n`` line ends and
    the same bytes for the same arguments. Organizations are made by
    :func:`~edqueue.testing.city.generate_organizations` on the day of ``as_of`` in
    Kazakhstan, applications by :func:`~edqueue.testing.city.generate_applications` (with
    ``broken_share``), both with ``seed``. Arguments are checked before anything is
    written; the directory is created if needed and existing files are replaced.
    """
    as_of = require_aware(as_of, "as_of")
    made = generate_organizations(
        organizations, seed=seed, as_of=policy_date(as_of), localities=localities
    )
    stream = generate_applications(
        applications, made, seed=seed, as_of=as_of, broken_share=broken_share
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    organizations_path = directory / "organizations.json"
    applications_path = directory / "applications.jsonl"
    with organizations_path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("[\n")
        for i, organization in enumerate(made):
            out.write(",\n" if i else "")
            out.write(json.dumps(dump_organization(organization), ensure_ascii=False))
        out.write("\n]\n")
    with applications_path.open("w", encoding="utf-8", newline="\n") as out:
        for application in stream:
            out.write(json.dumps(dump_application(application), ensure_ascii=False))
            out.write("\n")
    return organizations_path, applications_path
