"""The oldest Airflow the provider supports, for scripts/lock.sh.

``pin`` prints the requirement pinning it (``apache-airflow==3.2.0``), read from the lower bound in
pyproject.toml so the floor is declared once. ``released`` prints the day after that release was
uploaded (from the package index's JSON API), the cut-off for resolving the oldest lock.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
import tomllib
import urllib.request
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def floor_version() -> str:
    """``3.2.0`` for ``apache-airflow>=3.2,<4``."""
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    spec = next(d for d in deps if re.match(r"apache-airflow\s*[<>=!~]", d))
    low = re.search(r">=\s*([\d.]+)", spec)
    if low is None:
        raise SystemExit(f"no lower bound in {spec!r}: the provider must declare its oldest Airflow")
    parts = low.group(1).split(".")
    return ".".join((parts + ["0", "0"])[:3])


def released(version: str) -> str:
    """The day after ``apache-airflow-core==version`` was uploaded, as an RFC 3339 timestamp."""
    index = os.environ.get("UV_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(
        f"{index}/apache-airflow-core/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        files = json.load(answer)["files"]
    prefix = f"apache_airflow_core-{version}-"
    uploaded = min(f["upload-time"] for f in files if f["filename"].startswith(prefix))
    day = datetime.datetime.fromisoformat(uploaded.replace("Z", "+00:00")).date() + datetime.timedelta(days=1)
    return f"{day.isoformat()}T00:00:00Z"


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "pin"
    print(f"apache-airflow=={floor_version()}" if what == "pin" else released(floor_version()))
