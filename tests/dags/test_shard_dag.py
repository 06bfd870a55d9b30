"""The sharded example DAG run by Airflow (``dag.test()``): mapped instances from ``.expand()``, one part
each, then ``publish`` checks the parts and emits the dataset folder's Asset event; every manifest
row lands exactly once. Also: the DAG file parses without heavy imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.shards import part_name
from tencent_ocr_emulator.server import EmulatorServer

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "example_tencent_ocr_sharded"
SHARDS = 3
ROWS = 20

_PROBE = """
import sys
sys.path.insert(0, {dags!r})
import airflow.sdk
import example_tencent_ocr_sharded
heavy = [m for m in ("pandas", "pyarrow", "tencentcloud", "duckdb", "matplotlib", "requests") if m in sys.modules]
print(",".join(heavy))
"""


def test_sharded_dag_file_imports_no_heavy_library(tmp_path):
    env = {"AIRFLOW_HOME": str(tmp_path), "TENCENT_OCR_DEMO_OUTPUT_DIR": str(tmp_path / "nothing-here"), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(dags=str(DAGS))], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"imported at parse time: {out.stdout.strip()}"
    assert not (tmp_path / "nothing-here").exists()


@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory):
    demo = tmp_path_factory.mktemp("demo")
    env = {
        "TENCENT_OCR_DEMO_OUTPUT_DIR": str(demo),
        "TENCENT_OCR_SHARDS": str(SHARDS),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    }
    saved = {k: os.environ.get(k) for k in [*env, "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"]}
    os.environ.update(env)
    from airflow import settings

    saved_folder, settings.DAGS_FOLDER = settings.DAGS_FOLDER, str(DAGS)
    cards = demo / "cards"
    cards.mkdir()
    for i in range(ROWS):
        (cards / f"{i}.png").write_bytes(make_png(5, 5, seed=100 + i))
    (cards / "manifest.csv").write_text(
        "record_id,image_uri,side\n" + "".join(f"c{i},{cards / f'{i}.png'},front\n" for i in range(ROWS))
    )
    airflow = Path(sys.executable).with_name("airflow")
    migrate = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=dict(os.environ))
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    try:
        with EmulatorServer(rate_limit=1000) as emulator:
            os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(str(DAGS))
            assert bag.import_errors == {}
            dag = bag.get_dag(DAG_ID)
            # Register this run's dataset Asset: Airflow 3.2's dag.test() keeps the DAG's assets from an
            # earlier sync (another module's output folder), and drops events for an unknown Asset.
            from airflow.dag_processing.dagbag import sync_bag_to_db

            sync_bag_to_db(bag, "dags-folder", None)
            run = dag.test()
            yield {"run": run, "demo": demo, "emulator": emulator, "dag": dag}
    finally:
        settings.DAGS_FOLDER = saved_folder
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.mark.slow
def test_mapped_shards_write_every_row_once(sharded_run):
    assert str(sharded_run["run"].state) == "success"
    folder = sharded_run["demo"] / "singapore_id_cards_sharded"
    assert sorted(p.name for p in folder.glob("*.parquet")) == [part_name(i, SHARDS) for i in range(SHARDS)]
    ids = duckdb.execute(
        "SELECT record_id, status FROM read_parquet(?) ORDER BY CAST(substr(record_id, 2) AS INT)",
        [str(folder / "*.parquet")],
    ).fetchall()
    assert ids == [(f"c{i}", "ok") for i in range(ROWS)]
    assert sharded_run["emulator"].stats.billed == ROWS


@pytest.mark.slow
def test_one_asset_event_for_the_dataset_after_all_parts(sharded_run):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run = sharded_run["run"]
    with create_session() as session:
        instances = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run.run_id)
        ).all()
        mapped = sorted(ti.map_index for ti in instances if ti.task_id == "recognise_shard")
        assert mapped == list(range(SHARDS))
        events = session.execute(
            select(AssetModel.uri, AssetEvent.extra, AssetEvent.source_task_id)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_dag_id == DAG_ID, AssetEvent.source_run_id == run.run_id)
        ).all()
    folder = sharded_run["demo"] / "singapore_id_cards_sharded"
    assert [(uri, task) for uri, _, task in events] == [(f"file://{folder}", "publish")]
    assert events[0][1]["rows"] == ROWS and events[0][1]["parts"] == SHARDS
