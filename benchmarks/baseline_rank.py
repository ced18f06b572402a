"""The plain-Python baseline of ``edqueue rank``: ``json.loads`` of every line, a dict of
buckets of key tuples, ``sorted()`` per bucket, the same JSON Lines out.

No validation: it trusts the file (edqueue checks every field and every eligibility rule).
Standard library only, so that it measures Python, not edqueue. The order is edqueue's
standard one: verified extraordinary benefits (categories 1-4), verified first-priority
ones (5-11), the rest; each by submission instant, then by number; queues sorted by
organization id, birth year, language and queue kind, as ``edqueue rank`` writes them.

    python -m benchmarks.baseline_rank ORGANIZATIONS.json APPLICATIONS.jsonl > ranked.jsonl
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EXTRAORDINARY_CATEGORIES = 4  # categories 1-4; 5-11 are first-priority

QueueKey = tuple[str, int, str, str]


def _tier(benefit: dict[str, object] | None) -> int:
    if benefit is None or benefit["status"] != "verified":
        return 3
    category = benefit["category"]
    assert isinstance(category, int)  # noqa: S101 - the file is trusted here
    return 1 if category <= _EXTRAORDINARY_CATEGORIES else 2


def rank(lines: list[bytes]) -> dict[QueueKey, list[tuple[int, int, int, str]]]:
    """Each queue's members as sorted (tier, instant, number, number text) tuples."""
    buckets: dict[QueueKey, list[tuple[int, int, int, str]]] = {}
    for line in lines:
        if not line.strip():
            continue
        data = json.loads(line)
        if data["status"] != "active":
            continue
        moment = (datetime.fromisoformat(data["submitted_at"]) - _EPOCH) // _MICROSECOND
        number = data["number"]
        key = (_tier(data["benefit"]), moment, int(number), number)
        year = int(data["child"]["birth_date"][:4])
        kind = data["queue"]
        for choice in data["choices"]:
            queue = (choice["organization"], year, choice["language"], kind)
            bucket = buckets.get(queue)
            if bucket is None:
                buckets[queue] = [key]
            else:
                bucket.append(key)
    return {queue: sorted(keys) for queue, keys in buckets.items()}


def main(argv: list[str]) -> int:
    organizations_path, applications_path = argv
    with open(organizations_path, encoding="utf-8") as handle:
        json.load(handle)  # read as edqueue does; the queues come from the applications
    with open(applications_path, "rb") as handle:
        lines = handle.readlines()
    write = sys.stdout.write
    ranked = rank(lines)
    for queue in sorted(ranked):
        organization, year, language, kind = queue
        fields = {"organization": organization, "birth_year": year}
        fields |= {"language": language, "queue": kind}
        for position, key in enumerate(ranked[queue], start=1):
            record = {**fields, "position": position, "number": key[3]}
            write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
