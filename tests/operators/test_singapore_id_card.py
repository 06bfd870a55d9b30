"""TencentOcrSingaporeIdCardOperator against the emulator: every bad input, re-runs, URL mode, XCom.

``execute`` is called with a minimal context (what Airflow passes it: ``outlet_events`` and the
template values); the full Airflow path is covered by ``test_example_dags.py``. Requests are real
signed HTTP calls to the in-process emulator on loopback.
"""

from __future__ import annotations

import collections
import functools
import http.server
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException
from helpers import execute, image_file, make_context, make_png, operator, write_manifest

from airflow_provider_tencent_ocr.io.manifest import ManifestError
from airflow_provider_tencent_ocr.io.parquet import OUTPUT_COLUMNS, output_schema
from airflow_provider_tencent_ocr.operators.assembly import open_manifest
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator, output_asset
from airflow_provider_tencent_ocr.run.runner import ErrorRateExceeded

FIELDS = {
    "EnName": "TAN AH KOW",
    "Sex": "M",
    "CountryOfBirth": "SINGAPORE",
    "Birthday": "01-02-1980",
    "ID": "S1234567D",
    "Race": "CHINESE",
}


def read(path) -> list[dict]:
    return pq.read_table(path).to_pylist()


@pytest.fixture
def http_dir(tmp_path):
    """A loopback HTTP server over a folder: missing files answer 404."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# -- construction --------------------------------------------------------------------------------
def test_construction_does_no_io_and_templates_the_paths(tmp_path):
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", manifest="/does/not/exist/manifest.csv", output="/nowhere/at/all/{{ ds }}/cards.parquet"
    )
    assert op.output_uri == "/nowhere/at/all/{{ ds }}/cards.parquet"
    assert not Path("/nowhere").exists()
    for field in ("manifest", "images", "output_uri", "photo_dir", "cache", "storage_conn_id"):
        assert field in op.template_fields
    assert [a.uri for a in op.outlets] == [output_asset("/nowhere/at/all/{{ ds }}/cards.parquet").uri]
    assert op.outlets[0].uri.rstrip("/") == "file:///nowhere/at/all"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"manifest": "m.csv", "images": ["a.png"]},
        {"manifest": "m.csv", "send_as": "bytes"},
        {"manifest": "m.csv", "photo_output": "both"},
        {"manifest": "m.csv", "pii": "hash"},
    ],
)
def test_bad_arguments_fail_at_construction(kwargs):
    with pytest.raises(ValueError):
        TencentOcrSingaporeIdCardOperator(task_id="ocr", output="o.parquet", **kwargs)


def test_templated_output_is_rendered_and_written(tmp_path, tencent_ocr_conn_id):
    manifest = write_manifest(tmp_path / "m.csv", [("a", image_file(tmp_path / "img", 1))])
    op = operator(tmp_path, manifest=manifest, output=str(tmp_path / "out" / "ds={{ ds }}" / "cards.parquet"))
    context = make_context(ds="2024-05-06")
    op.render_template_fields(context)
    assert op.output_uri == str(tmp_path / "out" / "ds=2024-05-06" / "cards.parquet")
    result = op.execute(context)
    assert result["output"] == op.output_uri
    assert read(op.output_uri)[0]["status"] == "ok"
    asset = op.outlets[0]
    assert asset.uri.rstrip("/") == f"file://{tmp_path}/out"
    assert context["outlet_events"][asset].extra == {"uri": op.output_uri, "rows": 1}


# -- one test per bad input ---------------------------------------------------------------------------
def _single_row(tmp_path, uri, **kwargs):
    manifest = write_manifest(tmp_path / "m.csv", [("only", uri)])
    op = operator(tmp_path, manifest=manifest, **kwargs)
    result, _ = execute(op)
    rows = read(op.output_uri)
    assert len(rows) == 1 and result["rows"] == 1
    return rows[0], result


def test_blank_uri(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    manifest = tmp_path / "m.csv"
    manifest.write_text('record_id,image_uri\nblank,""\nspaces,"   "\nnull,\n')
    op = operator(tmp_path, manifest=str(manifest), id_column="record_id")
    result, _ = execute(op)
    rows = read(op.output_uri)
    assert [(r["record_id"], r["status"], r["error_code"]) for r in rows] == [
        ("blank", "error", "InvalidManifestRow"),
        ("spaces", "error", "InvalidManifestRow"),
        ("null", "error", "InvalidManifestRow"),
    ]
    assert result["errors_by_code"] == {"InvalidManifestRow": 3}
    assert tencent_ocr_emulator.stats.requests == 0


def test_missing_file(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    row, _ = _single_row(tmp_path, str(tmp_path / "nope.png"))
    assert (row["status"], row["error_code"]) == ("error", "ImageNotFound")
    assert "nope.png" in row["error_message"] and row["image_sha256"] is None
    assert tencent_ocr_emulator.stats.requests == 0


def test_http_404_is_a_download_failure(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, http_dir):
    _, base = http_dir
    row, _ = _single_row(tmp_path, f"{base}/missing.png")
    assert (row["status"], row["error_code"]) == ("error", "ImageDownloadFailed")
    assert "404" in row["error_message"]
    assert tencent_ocr_emulator.stats.requests == 0


def test_unsupported_format(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    path = tmp_path / "card.gif"
    path.write_bytes(b"GIF89a" + bytes(200))
    row, _ = _single_row(tmp_path, str(path))
    assert (row["status"], row["error_code"]) == ("error", "UnsupportedImageFormat")
    assert row["image_sha256"] is not None
    assert tencent_ocr_emulator.stats.requests == 0


def test_too_large_after_base64_is_never_sent(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    path = tmp_path / "huge.png"
    # 5.6 MB of bytes is 7.47 MB in Base64, over the 7 MB (7 * 1024 * 1024) limit.
    path.write_bytes(make_png(4, 4, seed=1) + bytes(5_600_000))
    row, _ = _single_row(tmp_path, str(path))
    assert (row["status"], row["error_code"]) == ("error", "ImageTooLarge")
    assert tencent_ocr_emulator.stats.requests == 0


def test_just_under_the_size_limit_is_sent(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    path = tmp_path / "big.png"
    path.write_bytes(make_png(4, 4, seed=2) + bytes(5_400_000))  # 7.2e6 chars < 7,340,032
    row, _ = _single_row(tmp_path, str(path))
    assert row["status"] == "ok", row["error_message"]
    assert tencent_ocr_emulator.stats.billed == 1


def test_tencent_error_code_and_message(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image_file(tmp_path / "img", 3)
    digest = tencent_ocr_emulator.recogniser.add(Path(uri).read_bytes(), {})
    tencent_ocr_emulator.recogniser.table[digest] = {
        "Error": {"Code": "FailedOperation.OcrFailed", "Message": "OCR recognition failed."}
    }
    row, result = _single_row(tmp_path, uri)
    assert (row["status"], row["error_code"]) == ("error", "FailedOperation.OcrFailed")
    assert row["error_message"] == "OCR recognition failed."
    assert row["request_id"] and row["attempts"] == 1 and row["image_sha256"] == digest
    assert row["warn_covered"] is None and row["id_number"] is None
    assert result["errors_by_code"] == {"FailedOperation.OcrFailed": 1}


# -- manifest problems fail the task ----------------------------------------------------------------
def test_missing_manifest_fails_naming_the_file(tmp_path, tencent_ocr_conn_id):
    path = tmp_path / "nowhere" / "manifest.csv"
    with pytest.raises(AirflowFailException, match="manifest.csv") as raised:
        execute(operator(tmp_path, manifest=str(path)))
    assert isinstance(raised.value.__context__, ManifestError)
    assert not (tmp_path / "out" / "cards.parquet").exists()


def test_unreadable_manifest_fails_naming_the_file(tmp_path, tencent_ocr_conn_id):
    path = tmp_path / "manifest.parquet"
    path.write_bytes(b"this is not parquet at all" * 10)
    with pytest.raises(AirflowFailException) as raised:
        execute(operator(tmp_path, manifest=str(path)))
    assert isinstance(raised.value.__context__, ManifestError)
    assert "manifest.parquet" in str(raised.value)
    assert not (tmp_path / "out" / "cards.parquet").exists()


def test_missing_image_column_names_the_file_and_the_columns_found(tmp_path, tencent_ocr_conn_id):
    path = write_manifest(tmp_path / "cards.csv", [("a", "x.png")], header="record_id,picture")
    with pytest.raises(AirflowFailException) as raised:
        execute(operator(tmp_path, manifest=path))
    assert isinstance(raised.value.__context__, ManifestError)
    message = str(raised.value)
    assert "cards.csv" in message and "image_uri" in message
    assert "record_id" in message and "picture" in message


def test_empty_manifest_gives_an_empty_table_with_the_full_schema(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    path = tmp_path / "m.csv"
    path.write_text("record_id,image_uri,side\n")
    op = operator(tmp_path, manifest=str(path), id_column="record_id", carry_columns=["side"])
    result, context = execute(op)
    table = pq.read_table(op.output_uri)
    assert table.num_rows == 0
    assert table.column_names == [*OUTPUT_COLUMNS, "side"]
    expected = output_schema([pa.field("side", pa.string())])
    assert [(f.name, f.type) for f in table.schema] == [(f.name, f.type) for f in expected]
    assert result["rows"] == 0 and result["errors"] == 0
    assert context["outlet_events"][op.outlets[0]].extra == {"uri": op.output_uri, "rows": 0}
    assert tencent_ocr_emulator.stats.requests == 0


# -- rows, order, duplicates, re-runs -------------------------------------------------------------
def test_order_duplicates_and_summary(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    images = [image_file(tmp_path / "img", s) for s in range(4)]
    uris = [images[i] for i in (0, 1, 0, 2, 3, 0, 1, 2)] + [str(tmp_path / "missing.png")]
    ids = [f"id-{n:02d}" for n in range(len(uris))][::-1]  # ids in reverse: order must follow rows
    path = write_manifest(tmp_path / "m.csv", list(zip(ids, uris, strict=True)))
    op = operator(tmp_path, manifest=path, id_column="record_id", batch_rows=3, max_in_flight=4)
    result, context = execute(op)
    rows = read(op.output_uri)
    assert [r["record_id"] for r in rows] == ids
    assert [r["image_uri"] for r in rows] == uris
    assert tencent_ocr_emulator.stats.billed == 4 and set(tencent_ocr_emulator.stats.images.values()) == {1}
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 8 and all(r["id_number"] and r["request_id"] for r in ok)
    by_sha = collections.defaultdict(set)
    for r in ok:
        by_sha[r["image_sha256"]].add((r["id_number"], r["en_name"]))
    assert len(by_sha) == 4 and all(len(v) == 1 for v in by_sha.values())
    assert sum(r["attempts"] for r in rows) == 4
    assert result == {
        "output": op.output_uri,
        "rows": 9,
        "ok": 8,
        "errors": 1,
        "errors_by_code": {"ImageNotFound": 1},
        "warnings_by_code": {},
        "api_calls": 4,
        "connect_failures": 0,
        "cache_hits": result["cache_hits"],
        "credentials_used": True,
        "retries": {"throttled": 0, "timeout": 0, "server_error": 0, "network": 0},
        "seconds": result["seconds"],
    }
    # The repeats came from the cache, or joined the identical call while it was in flight.
    assert sum(1 for r in ok if r["attempts"] == 0) == 4 and 0 <= result["cache_hits"] <= 4
    assert isinstance(result["seconds"], float)
    assert context["outlet_events"][op.outlets[0]].extra == {"uri": op.output_uri, "rows": 9}


def test_warnings_are_counted_in_the_summary(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image_file(tmp_path / "img", 9)
    tencent_ocr_emulator.recogniser.add(Path(uri).read_bytes(), FIELDS, [-9101, -9108])
    row, result = _single_row(tmp_path, uri)
    assert row["warn_codes"] == [-9101, -9108]
    assert (row["warn_covered"], row["warn_blurry"], row["warn_edited"]) == (True, True, False)
    assert result["warnings_by_code"] == {"-9101": 1, "-9108": 1}


def test_rerun_replaces_the_output_and_uses_the_cache(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    images = [image_file(tmp_path / "img", s) for s in range(3)]
    first = write_manifest(tmp_path / "a.csv", [(f"a{i}", u) for i, u in enumerate(images)])
    second = write_manifest(tmp_path / "b.csv", [("b0", images[2]), ("b1", images[0])])
    out = str(tmp_path / "out" / "cards.parquet")
    execute(operator(tmp_path, manifest=first, output=out, id_column="record_id"))
    assert len(read(out)) == 3
    result, _ = execute(operator(tmp_path, manifest=second, output=out, id_column="record_id"))
    rows = read(out)
    assert [r["record_id"] for r in rows] == ["b0", "b1"]
    assert [r["attempts"] for r in rows] == [0, 0]
    assert result["api_calls"] == 0 and tencent_ocr_emulator.stats.billed == 3
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_images_list_input(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    images = [image_file(tmp_path / "img", s) for s in range(3)]
    op = operator(tmp_path, images=[*images, images[0]], cache="none", max_in_flight=1)
    result, _ = execute(op)
    rows = read(op.output_uri)
    assert [(r["record_id"], r["image_uri"], r["status"]) for r in rows] == [
        ("0", images[0], "ok"),
        ("1", images[1], "ok"),
        ("2", images[2], "ok"),
        ("3", images[0], "ok"),
    ]
    assert rows[3]["id_number"] == rows[0]["id_number"] and rows[3]["attempts"] == 0
    # Even without a cache, the repeated image is not paid for twice within the run.
    assert result["rows"] == 4 and result["api_calls"] == 3 and tencent_ocr_emulator.stats.billed == 3
    assert not list((tmp_path / "out").glob("*.sqlite*"))  # cache="none": nothing kept


def test_send_as_url_passes_image_url(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, http_dir):
    folder, base = http_dir
    data = make_png(5, 5, seed=42)
    (folder / "card.png").write_bytes(data)
    digest = tencent_ocr_emulator.recogniser.add(data, FIELDS)
    url = f"{base}/card.png"
    row, result = _single_row(tmp_path, url, send_as="url")
    assert row["status"] == "ok" and row["id_number"] == "S1234567D"
    assert row["image_sha256"] is None  # the bytes were never read by the client
    assert tencent_ocr_emulator.stats.images == {digest: 1}  # the emulator fetched the URL itself


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://[fe80::1]/c.png"]
)
def test_send_as_url_never_sends_a_link_local_url_to_the_service(
    tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, url
):
    """It used to go out as ImageUrl: a billed call asking the service to fetch a metadata address."""
    row, result = _single_row(tmp_path, url, send_as="url")
    assert row["error_code"] == "ImageAddressRefused" and "allow_link_local_images=True" in row["error_message"]
    assert result["api_calls"] == 0 and tencent_ocr_emulator.stats.requests == 0


def test_send_as_url_still_reads_local_files(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image_file(tmp_path / "img", 5)
    row, _ = _single_row(tmp_path, uri, send_as="url")
    assert row["status"] == "ok" and row["image_sha256"]


def test_error_rate_fails_the_task_without_replacing_the_output(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image_file(tmp_path / "img", 1)
    path = write_manifest(tmp_path / "m.csv", [("a", uri), ("b", str(tmp_path / "x.png")), ("c", "")])
    op = operator(tmp_path, manifest=path, max_error_rate=0.5)
    published = Path(op.output_uri)
    published.parent.mkdir(parents=True)
    published.write_bytes(b"yesterday's good table")
    context = make_context()
    with pytest.raises(ErrorRateExceeded) as raised:
        op.execute(context)
    assert "2 of 3 rows" in str(raised.value)
    assert "ImageNotFound: 1" in str(raised.value) and "InvalidManifestRow: 1" in str(raised.value)
    assert published.read_bytes() == b"yesterday's good table"  # a failed run publishes nothing
    aside = published.parent / "_failed_cards.parquet"
    assert str(aside) in str(raised.value)  # the error says where the failed run's rows are
    assert [r["error_code"] for r in read(aside)] == [None, "ImageNotFound", "InvalidManifestRow"]
    assert not [p for p in published.parent.iterdir() if p.name.endswith(".tmp")]
    assert "extra" not in vars(context["outlet_events"][op.outlets[0]])  # no Asset event for a failed run


def test_output_readable_with_pandas_and_duckdb(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    import pandas as pd

    images = [image_file(tmp_path / "img", s) for s in range(3)]
    op = operator(tmp_path, images=images)
    execute(op)
    frame = pd.read_parquet(op.output_uri)
    assert list(frame.columns) == OUTPUT_COLUMNS and len(frame) == 3
    count, ok = (
        duckdb.connect()
        .execute("SELECT count(*), count(*) FILTER (WHERE status = 'ok') FROM read_parquet(?)", [op.output_uri])
        .fetchone()
    )
    assert (count, ok) == (3, 3)


@pytest.mark.parametrize("output", ["{{ var.value.out }}", "relative/cards.parquet", "s3://{{ ds }}/x.parquet"])
def test_an_output_without_a_fixed_folder_needs_explicit_outlets(output):
    with pytest.raises(ValueError, match="outlets="):
        TencentOcrSingaporeIdCardOperator(task_id="ocr", manifest="/m.csv", output=output)
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr2", manifest="/m.csv", output=output, outlets=[Asset("s3://bucket/ocr/")]
    )
    assert [a.uri.rstrip("/") for a in op.outlets] == ["s3://bucket/ocr"]


def test_images_rendered_to_the_text_of_a_list_is_refused():
    op = TencentOcrSingaporeIdCardOperator(task_id="ocr", images="['/a.png', '/b.png']", output="/tmp/x.parquet")
    with pytest.raises(ValueError, match="render_template_as_native_obj"):
        open_manifest(op)
