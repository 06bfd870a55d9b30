"""docs/documents.md stays true: every action, every id-document column and every field with its kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_tencent_ocr.actions.registry import ACTIONS
from airflow_provider_tencent_ocr.actions.spec import ActionSpec
from airflow_provider_tencent_ocr.rows.id_document import OUTPUT_COLUMNS

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "documents.md").read_text()


def test_every_action_is_in_the_actions_table() -> None:
    table = PAGE.split("## The actions", 1)[1].split("\n## ", 1)[0]
    for name, spec in ACTIONS.items():
        line = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"{spec.default_rps:g}/s" in line, name
        assert ("(stated)" in line) is spec.rps_stated, name
        assert ("**no**" in line) is (not spec.image_url_supported), name
        assert f"`{spec.head_image_param}`" in line, name


def test_every_column_is_documented() -> None:
    table = PAGE.split("## The id-document table", 1)[1].split("\n## ", 1)[0]
    for column in OUTPUT_COLUMNS:
        assert f"`{column}`" in table, column


@pytest.mark.parametrize("spec", list(ACTIONS.values()), ids=list(ACTIONS))
def test_every_field_is_listed_with_its_kind(spec: ActionSpec) -> None:
    section = PAGE.split(f"#### `{spec.name}`", 1)[1].split("####", 1)[0].split("\n## ", 1)[0]
    for name in spec.output_fields:
        kind = spec.kind(name)
        assert f"`{name}` ({kind})" in section if kind else f"`{name}`" in section, name
    for name in spec.image_fields:
        assert f"`{name}`" in section.split("Images", 1)[1], name
