"""Write ``requirements.lock``: every runtime dependency of edqueue, resolved by pip, pinned
to one version with the sha256 of the file pip would install (pip's hash-checking mode).

    .venv/bin/python tools/lock.py        # or: make lock

``make audit`` gives the lock to pip-audit. Standard library only; pip resolves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# The runtime dependencies of edqueue, resolved and pinned by tools/lock.py (make lock).
# Install exactly these with: pip install --require-hashes -r requirements.lock
# Audit them with: make audit (pip-audit; it needs the network to read the advisories).
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        subprocess.run(  # noqa: S603 - our own interpreter's pip, fixed arguments
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                str(report),
                str(ROOT),
            ],
            check=True,
        )
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    lines = [HEADER]
    for item in sorted(resolved, key=lambda i: i["metadata"]["name"].lower()):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if name == "edqueue":
            continue
        digest = item["download_info"]["archive_info"]["hashes"]["sha256"]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{digest}\n")
    (ROOT / "requirements.lock").write_text("".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
