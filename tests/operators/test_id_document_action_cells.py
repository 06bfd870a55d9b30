"""An action column holding something else (names, ID numbers: the wrong column) leaks none of it.

The row is an ``UnsupportedAction`` error either way; the value is written back (``action`` column,
error message, warn report) only when it looks like an API action name (``...OCR``), so a typo such as
``MyKadOCR`` is shown, and a holder's name or NRIC from a wrongly chosen column is not.
"""

from __future__ import annotations

import collections
import json
import types

import pyarrow.parquet as pq
from helpers import image_file

from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator
from airflow_provider_tencent_ocr.report import build_warn_report

PERSONAL = ["TAN AH KOW", "S1234567D", "12/04/1988"]


def test_a_wrong_action_column_writes_no_personal_data(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    image = image_file(tmp_path / "img", 1)
    manifest = tmp_path / "m.csv"
    values = [*PERSONAL, "MyKadOCR"]
    manifest.write_text("image_uri,holder\n" + "".join(f"{image},{value}\n" for value in values))
    output = tmp_path / "out.parquet"
    op = TencentOcrIdDocumentOperator(
        task_id="ocr", manifest=str(manifest), output=str(output), action_column="holder", pii="mask"
    )
    op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    rows = pq.read_table(output).to_pylist()
    assert [r["error_code"] for r in rows] == ["UnsupportedAction"] * len(values)
    assert [r["action"] for r in rows] == [None, None, None, "MyKadOCR"]
    assert "'MyKadOCR' is not one this provider serves" in rows[3]["error_message"]
    assert all("not shown" in r["error_message"] and "action_column" in r["error_message"] for r in rows[:3])
    report = build_warn_report(str(output), str(tmp_path / "report"))
    written = json.dumps(rows, default=str) + json.dumps(report) + (tmp_path / "report" / "warn_report.md").read_text()
    assert not [value for value in PERSONAL if value in written]
    assert tencent_ocr_emulator.stats.requests == 0
