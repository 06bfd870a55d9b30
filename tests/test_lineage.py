"""OpenLineage: the manifest and the images' folders are the inputs, the Parquet output (with its
column schema) the output; names follow the OpenLineage naming spec and carry no credentials.

Needs ``apache-airflow-providers-openlineage`` (the ``openlineage`` extra). The last test runs a DAG
with ``airflow dags test`` and OpenLineage's file transport, and reads the events it emitted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import execute, image_file, operator, write_manifest

from airflow_provider_tencent_ocr.io.parquet import output_schema
from airflow_provider_tencent_ocr.lineage import MAX_IMAGE_FOLDERS, RunLineage, dataset_id, folder_of
from tencent_ocr_emulator.server import EmulatorServer


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/data/m.csv", ("file", "/data/m.csv")),
        ("file:///data/out/cards.parquet", ("file", "/data/out/cards.parquet")),
        ("s3://bucket/kyc/m.csv", ("s3://bucket", "kyc/m.csv")),
        ("s3://aws_conn@bucket/kyc/out.parquet", ("s3://bucket", "kyc/out.parquet")),
        ("gcs://bucket/a/b.png", ("gs://bucket", "a/b.png")),
        (
            "https://user:pw@img.example.com:8443/cards/a.png?X-Amz-Signature=abc",
            ("https://img.example.com:8443", "/cards/a.png"),
        ),
    ],
)
def test_dataset_names_follow_the_naming_spec_without_credentials(uri, expected):
    assert dataset_id(uri) == expected


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert dataset_id("m.csv") == ("file", str(tmp_path / "m.csv"))


def test_images_are_reported_by_folder_never_by_file_name():
    assert folder_of("/cards/S1234567D.png") == "/cards"
    assert folder_of("s3://conn@bucket/cards/S1234567D.png?token=x") == "s3://bucket/cards"
    lineage = RunLineage(manifest=None, output="/out.parquet")
    for i in range(MAX_IMAGE_FOLDERS + 5):
        lineage.add_image(f"/cards/{i}/S1234567D.png")
    assert len(lineage.image_folders) == MAX_IMAGE_FOLDERS and lineage.more_folders
    names = [d.name for d in lineage.operator_lineage().inputs]
    assert names[0] == "/cards/0" and not any("S1234567D" in n for n in names)


def _facet_fields(dataset):
    return [(f.name, f.type) for f in dataset.facets["schema"].fields]


def _written(path: str) -> list[tuple[str, str]]:
    """Columns of the Parquet file, typed as the writer's schema (Parquet renames list items)."""
    assert pq.read_schema(path).names == output_schema().names
    return [(f.name, str(f.type)) for f in output_schema()]


def test_operator_reports_manifest_image_folders_and_parquet_with_its_schema(tmp_path, tencent_ocr_conn_id):
    front = image_file(tmp_path / "front", 1)
    back = image_file(tmp_path / "back", 2)
    manifest = write_manifest(
        tmp_path / "m.csv", [("a", front), ("b", back), ("c", image_file(tmp_path / "front", 3))], "record_id,image_uri"
    )
    op = operator(tmp_path, manifest=manifest)
    execute(op)
    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("file", manifest),
        ("file", str(tmp_path / "front")),
        ("file", str(tmp_path / "back")),
    ]
    (output,) = lineage.outputs
    assert (output.namespace, output.name) == ("file", op.output_uri)
    assert _facet_fields(output) == _written(op.output_uri)


def test_images_list_has_no_manifest_input(tmp_path, tencent_ocr_conn_id):
    op = operator(tmp_path, images=[image_file(tmp_path / "in", 1), image_file(tmp_path / "in", 2)])
    execute(op)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(tmp_path / "in"))]
    assert [d.name for d in lineage.outputs] == [op.output_uri]


def test_before_execute_the_arguments_still_name_the_datasets(tmp_path):
    op = operator(tmp_path, manifest="s3://bucket/m.csv", output="s3://bucket/out/cards.parquet")
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://bucket", "m.csv")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("s3://bucket", "out/cards.parquet")]
    assert "schema" not in lineage.outputs[0].facets


def test_sharded_task_reports_the_dataset_folder(tmp_path, tencent_ocr_conn_id):
    manifest = write_manifest(tmp_path / "m.csv", [(str(i), image_file(tmp_path / "img", i)) for i in range(4)])
    folder = str(tmp_path / "dataset")
    op = operator(tmp_path, manifest=manifest, output=folder, shard_index=1, shard_count=2)
    execute(op)
    (output,) = op.get_openlineage_facets_on_complete(None).outputs
    assert (output.namespace, output.name) == ("file", folder)
    assert _facet_fields(output)[0] == ("record_id", "string")


_DAG = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

with DAG("lineage_probe", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    TencentOcrSingaporeIdCardOperator(task_id="ocr", manifest={manifest!r}, output={output!r}, cache="none")
"""


@pytest.mark.slow
def test_openlineage_listener_emits_the_datasets(tmp_path):
    """A real DAG run: the OpenLineage provider's listener calls the operator and writes the events."""
    images = [image_file(tmp_path / "cards", i) for i in range(2)]
    manifest = write_manifest(tmp_path / "m.csv", [(str(i), uri) for i, uri in enumerate(images)])
    output = str(tmp_path / "out" / "cards.parquet")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "lineage_probe.py").write_text(textwrap.dedent(_DAG.format(manifest=manifest, output=output)))
    events = tmp_path / "events.jsonl"
    airflow = Path(sys.executable).with_name("airflow")
    with EmulatorServer(rate_limit=1000) as server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE"))},
            "AIRFLOW_HOME": str(tmp_path / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT": server.connection_json(),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "tencent-ocr-test",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events), "append": True}
            ),
        }
        for args in (["db", "migrate"], ["dags", "test", "lineage_probe"]):
            done = subprocess.run([str(airflow), *args], env=env, capture_output=True, text=True, timeout=240)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert pq.read_table(output).num_rows == 2

    emitted = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    (complete,) = [e for e in emitted if e["eventType"] == "COMPLETE" and e["job"]["name"] == "lineage_probe.ocr"]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        ("file", manifest),
        ("file", str(tmp_path / "cards")),
    ]
    (out,) = complete["outputs"]
    assert (out["namespace"], out["name"]) == ("file", output)
    fields = [(f["name"], f["type"]) for f in out["facets"]["schema"]["fields"]]
    assert fields == _written(output)
