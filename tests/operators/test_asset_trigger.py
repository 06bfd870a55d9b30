"""A consumer DAG scheduled on the documented Asset is queued when the operator's task succeeds.

End to end through Airflow's metadata database: the producer (a templated output, so the Asset is
the folder above the template) runs with ``dag.test()`` against the emulator; the consumer only
names the Asset as the README documents it. Airflow must queue a run of the consumer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import make_png

from tencent_ocr_emulator.server import EmulatorServer

# Slow: airflow db migrate in a subprocess, then a DAG run through the metadata database.
pytestmark = pytest.mark.slow

PRODUCER = "tencent_ocr_e_asset_producer"
CONSUMER = "tencent_ocr_e_asset_consumer"


@pytest.fixture
def dags_folder(tmp_path, monkeypatch):
    """A dags folder with the two DAGs, a migrated database, and Airflow pointed at both."""
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    from airflow import settings

    monkeypatch.setattr(settings, "DAGS_FOLDER", str(folder))
    airflow = Path(sys.executable).with_name("airflow")
    migrate = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=dict(os.environ))
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return folder


def test_consumer_on_the_documented_asset_is_queued(tmp_path, dags_folder, monkeypatch):
    image = tmp_path / "card.png"
    data = make_png(5, 5, seed=11)
    image.write_bytes(data)
    out = tmp_path / "ocr"
    documented = f"file://{out}"  # README: the folder above the first template, no trailing slash
    (dags_folder / "producer.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import datetime
            from airflow.sdk import DAG
            from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

            with DAG("{PRODUCER}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
                TencentOcrSingaporeIdCardOperator(
                    task_id="ocr", images=["{image}"], output="{out}/ds={{{{ ds }}}}/cards.parquet"
                )
            """
        )
    )
    (dags_folder / "consumer.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import datetime
            from airflow.sdk import DAG, Asset, task

            with DAG("{CONSUMER}", schedule=[Asset("{documented}")], start_date=datetime(2024, 1, 1)):
                @task
                def report():
                    return None

                report()
            """
        )
    )
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with EmulatorServer(rate_limit=1000) as emulator:
        emulator.recogniser.add(data, {"EnName": "TAN AH KOW", "ID": "S1234567D"})
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
        bag = DagBag(str(dags_folder))
        assert bag.import_errors == {}
        run = bag.get_dag(PRODUCER).test()
    assert str(run.state) == "success"
    with create_session() as session:
        events = session.execute(
            select(AssetModel.name, AssetModel.uri).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        ).all()
        queued = session.scalars(select(AssetDagRunQueue.target_dag_id)).all()
    assert (documented, documented) in [tuple(e) for e in events]
    assert CONSUMER in queued
