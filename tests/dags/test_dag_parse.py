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


_CACHES = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag({dags!r})
assert not bag.import_errors, bag.import_errors
caches = {{}}
for dag_id in ("example_tencent_ocr_sharded", "example_tencent_ocr_singapore_id_cards"):
    for task in bag.dags[dag_id].tasks:
        kwargs = getattr(task, "partial_kwargs", None)
        if kwargs is not None and "cache" in kwargs:
            caches[dag_id] = kwargs["cache"]
        elif hasattr(task, "output_uri"):
            caches[dag_id] = task.cache
        if caches.get(dag_id) == "{{{{ params.cache }}}}":  # a Trigger-form parameter: its default
            caches[dag_id] = bag.dags[dag_id].params["cache"]
print(json.dumps(caches))
"""


def test_the_single_and_sharded_producers_share_one_cache(tmp_path: Path) -> None:
    """The demo runs both producers over the same images: one cache means each image is paid for once."""
    import json

    env = {"AIRFLOW_HOME": str(tmp_path), "TENCENT_OCR_DEMO_OUTPUT_DIR": str(tmp_path / "demo"), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", _CACHES.format(dags=str(DAGS))], env=env, capture_output=True, text=True, check=True
    )
    caches = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(caches) == {"example_tencent_ocr_sharded", "example_tencent_ocr_singapore_id_cards"}, caches
    assert len(set(caches.values())) == 1 and None not in caches.values(), caches
