"""The operator's input checks (issue 10): refused paths, no pointless retries, the Asset consumers see.

Real signed HTTP calls to the in-process emulator on loopback; ``execute`` gets the minimal context
Airflow passes it.
"""

from __future__ import annotations

import collections
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from airflow.sdk import Asset
from airflow.sdk.definitions.asset import AssetUniqueKey
from airflow.sdk.exceptions import AirflowFailException
from helpers import make_png

from airflow_provider_tencent_ocr.io.manifest import ManifestError
from airflow_provider_tencent_ocr.operators.singapore_id_card import (
    OutputPathRefused,
    TencentOcrSingaporeIdCardOperator,
    output_asset,
)
from airflow_provider_tencent_ocr.run.runner import ErrorRateExceeded, RunAborted

FIELDS = {"EnName": "TAN AH KOW", "ID": "S1234567D", "Sex": "M", "Birthday": "01-02-1980"}


def execute(op):
    context = {"outlet_events": collections.defaultdict(types.SimpleNamespace)}
    return op.execute(context)


def operator(tmp_path, **kwargs):
    kwargs.setdefault("output", str(tmp_path / "out" / "cards.parquet"))
    kwargs.setdefault("max_in_flight", 2)
    kwargs.setdefault("progress_interval", 60.0)
    return TencentOcrSingaporeIdCardOperator(task_id="ocr", **kwargs)


def image(tmp_path, seed: int = 1) -> str:
    path = tmp_path / "img" / f"card_{seed}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_png(5, 5, seed=seed))
    return str(path)


def manifest(tmp_path, rows: list[str], name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text("record_id,image_uri\n" + "".join(f"r{i},{uri}\n" for i, uri in enumerate(rows)))
    return path


# -- output and cache paths --------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "dotted", "file_uri", "symlink"])
def test_output_equal_to_the_manifest_is_refused_before_any_call(
    tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, spelling
):
    path = manifest(tmp_path, [image(tmp_path)], name="cards.parquet.csv")
    before = path.read_bytes()
    output = {
        "same": str(path),
        "dotted": str(tmp_path / "." / "img" / ".." / path.name),
        "file_uri": f"file://{path}",
        "symlink": str(tmp_path / "link.csv"),
    }[spelling]
    if spelling == "symlink":
        Path(output).symlink_to(path)
    op = operator(tmp_path, manifest=str(path), manifest_format="csv", output=output, outlets=[])
    with pytest.raises(AirflowFailException, match="is the manifest itself") as info:  # no retry can fix it
        execute(op)
    assert isinstance(info.value.__context__, OutputPathRefused)
    assert path.read_bytes() == before
    assert tencent_ocr_emulator.stats.requests == 0


def test_cache_equal_to_the_output_is_refused_and_leaves_no_files(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    output = tmp_path / "out" / "cards.parquet"
    op = operator(tmp_path, manifest=str(manifest(tmp_path, [image(tmp_path)])), output=str(output), cache=str(output))
    with pytest.raises(AirflowFailException, match="cache .* is the output path") as info:
        execute(op)
    assert isinstance(info.value.__context__, OutputPathRefused)
    assert tencent_ocr_emulator.stats.requests == 0
    assert not list(tmp_path.rglob("*-wal")) and not list(tmp_path.rglob("*-shm")) and not output.exists()


def test_cache_equal_to_the_manifest_is_refused(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    path = manifest(tmp_path, [image(tmp_path)])
    with pytest.raises(AirflowFailException, match="is the manifest itself") as info:
        execute(operator(tmp_path, manifest=str(path), cache=str(path)))
    assert isinstance(info.value.__context__, OutputPathRefused)
    assert tencent_ocr_emulator.stats.requests == 0


def test_distinct_paths_still_run(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image(tmp_path)
    tencent_ocr_emulator.recogniser.add(Path(uri).read_bytes(), FIELDS)
    path = manifest(tmp_path, [uri])
    result = execute(operator(tmp_path, manifest=str(path), cache=str(tmp_path / "c.sqlite")))
    assert result["ok"] == 1


# -- failures no retry can fix -----------------------------------------------------------------


def test_a_bad_manifest_fails_without_retry_and_keeps_its_cause(tmp_path, tencent_ocr_conn_id):
    with pytest.raises(AirflowFailException, match="ManifestError: .*does not exist") as info:
        execute(operator(tmp_path, manifest=str(tmp_path / "nowhere.csv")))
    assert type(info.value) is AirflowFailException  # raised explicitly, no class built at run time
    assert isinstance(info.value.__context__, ManifestError)
    # Printed once: no chained copy of the same message ("the above exception was the direct cause").
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value.__traceback__ is not None  # where it was raised is still shown


def test_a_missing_connection_fails_without_retry(tmp_path, tencent_ocr_emulator):
    path = manifest(tmp_path, [image(tmp_path)])
    with pytest.raises(AirflowFailException):
        execute(operator(tmp_path, manifest=str(path), tencentcloud_conn_id="no_such_connection"))
    assert tencent_ocr_emulator.stats.requests == 0


def test_a_fatal_api_code_fails_without_retry(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image(tmp_path)
    digest = tencent_ocr_emulator.recogniser.add(Path(uri).read_bytes(), {})
    tencent_ocr_emulator.recogniser.table[digest] = {
        "Error": {"Code": "FailedOperation.UnOpenError", "Message": "service not opened"}
    }
    with pytest.raises(AirflowFailException, match="FailedOperation.UnOpenError") as info:
        execute(operator(tmp_path, manifest=str(manifest(tmp_path, [uri]))))
    assert isinstance(info.value.__context__, RunAborted)
    assert info.value.__context__.error.code == "FailedOperation.UnOpenError"  # the cause keeps its attributes


def test_a_string_carry_columns_is_refused_at_construction(tmp_path):
    with pytest.raises(ValueError, match=r"carry_columns must be a list of column names, e\.g\. \['side'\]"):
        operator(tmp_path, manifest="m.csv", carry_columns="side")


def test_a_carry_columns_template_rendered_to_a_string_is_refused_clearly(tmp_path, tencent_ocr_conn_id):
    path = tmp_path / "m.csv"
    path.write_text("image_uri,side\nx.png,front\n")
    op = operator(tmp_path, manifest=str(path), carry_columns="{{ params.columns }}")
    op.carry_columns = "side"  # what rendering without native objects gives
    with pytest.raises(AirflowFailException, match="not the string 'side'") as info:
        execute(op)
    assert isinstance(info.value.__context__, ManifestError)
    assert "'s'" not in str(info.value)


def test_transient_failures_stay_retryable(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image(tmp_path)
    path = manifest(tmp_path, [uri, str(tmp_path / "missing.png")])
    # Over the error rate: the images may appear later, so Airflow may retry.
    with pytest.raises(ErrorRateExceeded) as info:
        execute(operator(tmp_path, manifest=str(path), max_error_rate=0.1))
    assert not isinstance(info.value, AirflowFailException)
    # An output folder that cannot be created (a file is in the way) is an OSError: left to retries too.
    (tmp_path / "blocked").write_text("")
    with pytest.raises(OSError) as os_info:
        execute(operator(tmp_path, manifest=str(path), output=str(tmp_path / "blocked" / "x" / "o.parquet")))
    assert not isinstance(os_info.value, AirflowFailException)


def test_a_nul_byte_in_a_uri_is_an_invalid_manifest_row(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    op = operator(tmp_path, images=[image(tmp_path) + "\x00.png"])
    result = execute(op)
    row = pq.read_table(op.output_uri).to_pylist()[0]
    assert row["error_code"] == "InvalidManifestRow" and result["errors_by_code"] == {"InvalidManifestRow": 1}
    assert tencent_ocr_emulator.stats.requests == 0


# -- the Asset a consumer schedules on ---------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "documented"),
    [
        ("s3://kyc/ocr/ds={{ ds }}/cards.parquet", "s3://kyc/ocr"),
        ("s3://kyc/ocr/{{ ds }}/cards.parquet", "s3://kyc/ocr"),
        ("S3://kyc/ocr/ds={{ ds }}/cards.parquet", "s3://kyc/ocr"),
        ("/data/ocr/ds={{ ds }}/cards.parquet", "file:///data/ocr"),
        ("/data/./ocr/cards.parquet", "file:///data/ocr/cards.parquet"),
        ("s3://kyc/ocr/cards.parquet", "s3://kyc/ocr/cards.parquet"),
    ],
)
def test_the_emitted_asset_is_the_documented_one(output, documented):
    emitted = output_asset(output)
    consumer = Asset(documented)  # what a consumer DAG writes, from the README
    # Airflow matches producer and consumer by (name, uri): both must be equal, not just the uri.
    assert AssetUniqueKey.from_asset(emitted) == AssetUniqueKey.from_asset(consumer)
    assert emitted.name == emitted.uri == documented


def test_a_connection_id_in_the_output_uri_is_not_part_of_the_asset():
    assert output_asset("s3://minio_s3@kyc/ocr/{{ ds }}/c.parquet").uri == "s3://kyc/ocr"
