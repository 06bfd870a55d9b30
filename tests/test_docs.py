"""The docs stay true: a short README front door, links that resolve, snippets that match the example DAGs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "emulator" / "README.md", *ROOT.glob("docs/*.md")])
README_LIMIT = 25_000  # characters: the README is a front door, the manual lives in docs/

_SNIPPET = re.compile(r"<!-- snippet: (?P<file>[^ ]+) -->\n```python\n(?P<code>.*?)\n```", re.S)
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    assert len(text) <= README_LIMIT, f"README.md has {len(text)} characters; move sections into docs/"
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "bash scripts/demo.sh" in quick_start and "bash scripts/test.sh" in quick_start


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    missing = [
        m["target"]
        for m in _LINK.finditer(page.read_text())
        if "://" not in m["target"] and not (page.parent / m["target"]).exists()
    ]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def _snippets() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        found += [(m["file"], m["code"]) for m in _SNIPPET.finditer(page.read_text())]
    return found


def test_the_operator_guide_has_snippets_from_the_example_dags():
    files = {file for file, _ in _snippets()}
    assert {"dags/example_tencent_ocr_singapore_id_cards.py", "dags/example_tencent_ocr_sharded.py"} <= files


@pytest.mark.parametrize(("file", "code"), _snippets(), ids=lambda v: v if v.startswith("dags/") else "")
def test_snippet_matches_its_dag_file(file: str, code: str):
    """The snippet is a contiguous run of the file's lines, at any indentation."""
    wanted = textwrap.dedent(code).splitlines()
    lines = (ROOT / file).read_text().splitlines()
    windows = (textwrap.dedent("\n".join(lines[i : i + len(wanted)])) for i in range(len(lines) - len(wanted) + 1))
    assert "\n".join(wanted) in windows, f"the snippet from {file} no longer matches the file: copy it again"


def test_architecture_names_every_module_of_the_package():
    """ARCHITECTURE.md describes the layout on main: a module added or moved must be placed there too."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    package = ROOT / "airflow_provider_tencent_ocr"
    missing = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "__init__.py" and f"`{path.name}`" not in text and f"{path.relative_to(package)}`" not in text
    )
    assert not missing, f"ARCHITECTURE.md does not name these modules (say which layer each belongs to): {missing}"
