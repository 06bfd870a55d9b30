"""DAG files parse fast: no heavy import and no hook, file or network access at parse time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DAGS = Path(__file__).resolve().parents[2] / "dags"

_PROBE = """
import sys
sys.path.insert(0, {dags!r})
import airflow.sdk
import example_tencent_ocr_singapore_id_cards, example_tencent_ocr_warn_report
heavy = [m for m in ("pandas", "pyarrow", "tencentcloud", "duckdb", "matplotlib", "requests", "rapidocr")
         if m in sys.modules]
print(",".join(heavy))
"""


def test_dag_files_import_no_heavy_library(tmp_path: Path) -> None:
    env = {"AIRFLOW_HOME": str(tmp_path), "TENCENT_OCR_DEMO_OUTPUT_DIR": str(tmp_path / "nothing-here"), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(dags=str(DAGS))], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"imported at parse time: {out.stdout.strip()}"
    assert not (tmp_path / "nothing-here").exists(), "parsing must not create or read output folders"
