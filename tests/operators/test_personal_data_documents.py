"""The protected modes on the id-document table, for every action, over real HTTP against the emulator.

One manifest with a card of every action is run in the clear, masked and hashed. For each row, every
column and every field of the ``fields`` map must be exactly what its kind's protection makes of the
clear value, and no clear name, number, address, MRZ line, full date or postcode may appear anywhere
in the protected file.
"""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import execute, image_file

from airflow_provider_tencent_ocr.actions.registry import ACTIONS
from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator
from airflow_provider_tencent_ocr.rows.id_document import IdDocumentRow
from airflow_provider_tencent_ocr.rows.pii import FIELD_MAP, PiiProtector, column_kinds

KEY = "documents-key-0123456789abcdef0123456789abcdef"
# Kinds whose clear value must not survive anywhere in a protected file.
SECRET_KINDS = {"name", "identifier", "address", "mrz", "birth_date", "date", "postcode"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tencent_ocr_emulator_module):
    """The same manifest (one card per action) written plain, masked and hashed."""
    tmp = tmp_path_factory.mktemp("documents")
    actions = list(ACTIONS)
    lines = ["record_id,image_uri,document_type"]
    lines += [f"r{i},{image_file(tmp / 'img', 100 + i)},{action}" for i, action in enumerate(actions)]
    manifest = tmp / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    out = {}
    for mode in ("plain", "mask", "hash"):
        op = TencentOcrIdDocumentOperator(
            task_id=f"documents_{mode}",
            manifest=str(manifest),
            id_column="record_id",
            action_column="document_type",
            output=str(tmp / mode / "documents.parquet"),
            pii=mode,
            pii_key_variable="documents_pii_key" if mode == "hash" else None,
            cache="none",
            progress_interval=60.0,
        )
        execute(op)
        out[mode] = (Path(op.output_uri), pq.read_table(op.output_uri).to_pylist())
    return actions, out


@pytest.fixture(scope="module")
def tencent_ocr_emulator_module():
    import os

    from tencent_ocr_emulator.server import EmulatorServer

    with EmulatorServer(rate_limit=1000) as emulator:
        saved = {k: os.environ.get(k) for k in ("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", "AIRFLOW_VAR_DOCUMENTS_PII_KEY")}
        os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
        os.environ["AIRFLOW_VAR_DOCUMENTS_PII_KEY"] = KEY
        try:
            yield emulator
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _strings(value: object) -> list[str]:
    """Every text inside a cell: strings, map values and keys, list items."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("mode", ["mask", "hash"])
def test_every_column_and_field_is_its_kinds_protection_and_nothing_clear_is_left(runs, mode):
    actions, out = runs
    _, clear_rows = out["plain"]
    path, rows = out[mode]
    protector = PiiProtector(mode, KEY.encode() if mode == "hash" else None)
    kinds = column_kinds(IdDocumentRow)
    assert [r["action"] for r in clear_rows] == actions and all(r["status"] == "ok" for r in clear_rows)
    for clear, hidden in zip(clear_rows, rows, strict=True):
        spec = ACTIONS[clear["action"]]
        for column, value in clear.items():
            kind = kinds.get(column)
            if kind == FIELD_MAP:
                expected = protector.protect_fields(dict(value), spec.field_kinds)
                assert dict(hidden[column]) == expected, clear["action"]
            elif column in ("photo", "photo_path"):
                assert hidden[column] is None
            elif kind is not None:
                assert hidden[column] == protector.protect(value, kind), (clear["action"], column)
            elif column in ("request_id", "ocr_at"):
                continue  # differ from run to run
            else:
                assert hidden[column] == value, (clear["action"], column)
        # The rule, checked on the file itself: no clear personal value anywhere in the row.
        secrets = {column: clear[column] for column, kind in kinds.items() if kind in SECRET_KINDS}
        secrets.update(
            {name: v for name, v in dict(clear["fields"]).items() if spec.field_kinds.get(name) in SECRET_KINDS}
        )
        texts = [s for value in hidden.values() for s in _strings(value)]
        checked = 0
        for name, value in secrets.items():
            if isinstance(value, dt.date):
                continue  # typed dates: checked above (1 January of the year)
            if not value or len(value) < 5:
                continue  # too short to be told from a year or a sector
            assert not any(value in text for text in texts), f"{clear['action']} {name} is in the clear"
            checked += 1
        assert checked >= 3, f"{clear['action']}: the emulator's card should carry a name, a number and more"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
