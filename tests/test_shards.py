"""Sharded runs: slices cover the manifest exactly once; mapped shard operators over real HTTP write a
folder that reads as one dataset; ``check_parts`` refuses a folder that is not one whole run.

The operator is called the way each mapped instance is (one instance per ``shard_index``, with
the arguments ``.partial()`` gives them); the scheduler path is in ``test_shard_dag.py``.
"""

from __future__ import annotations

import collections
import types
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.io.manifest import manifest_from_images, open_manifest
from airflow_provider_tencent_ocr.io.parquet import OUTPUT_COLUMNS
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
from airflow_provider_tencent_ocr.shards import (
    PartsIncomplete,
    ShardManifest,
    check_parts,
    parse_shard,
    part_name,
    part_uri,
    shard_bounds,
)
from tencent_ocr_emulator.server import EmulatorServer


def write_csv(path: Path, rows: int) -> str:
    path.write_text("image_uri,side\n" + "".join(f"/img/{i}.png,{'front' if i % 2 else 'back'}\n" for i in range(rows)))
    return str(path)


@pytest.mark.parametrize("rows", [0, 1, 7, 23])
@pytest.mark.parametrize("count", [1, 3, 8])
@pytest.mark.parametrize("batch_rows", [1, 4, 5000])
def test_slices_cover_every_row_once_in_order(tmp_path, rows, count, batch_rows):
    source = write_csv(tmp_path / "m.csv", rows)
    seen: list[tuple[int, str, str | None]] = []
    for index in range(count):
        shard = ShardManifest(open_manifest(source, carry_columns=["side"], batch_rows=batch_rows), index, count)
        got = [row for batch in shard.iter_batches() for row in batch]
        assert all(len(batch) <= batch_rows for batch in shard.iter_batches())
        assert len(got) == shard.count_rows()
        assert [row.index for row in got] == list(range(*shard_bounds(rows, index, count)))  # contiguous
        seen.extend((row.index, row.record_id, row.image_uri) for row in got)
    # Every row exactly once, with its global row number as record id (so ids stay distinct).
    assert seen == [(i, str(i), f"/img/{i}.png") for i in range(rows)]


def test_shard_sizes_differ_by_at_most_one():
    sizes = [stop - start for start, stop in (shard_bounds(2000, i, 7) for i in range(7))]
    assert sum(sizes) == 2000 and max(sizes) - min(sizes) <= 1


def test_more_shards_than_rows_gives_empty_shards():
    shards = [ShardManifest(manifest_from_images(["a", "b"]), i, 5) for i in range(5)]
    assert [s.count_rows() for s in shards] == [0, 0, 1, 0, 1]
    assert [[r.record_id for b in s.iter_batches() for r in b] for s in shards] == [[], [], ["0"], [], ["1"]]


def test_parse_shard_accepts_rendered_templates_and_refuses_nonsense():
    assert parse_shard("3", " 8 ") == (3, 8)
    for index, count in [(8, 8), (-1, 8), (0, 0), ("x", 2), (None, 2)]:
        with pytest.raises(ValueError, match="shard"):
            parse_shard(index, count)


def test_operator_needs_both_shard_arguments(tmp_path):
    with pytest.raises(ValueError, match="both shard_index= and shard_count="):
        TencentOcrSingaporeIdCardOperator(task_id="t", images=["a"], output=str(tmp_path), shard_count=2)


def test_sharded_operator_emits_no_asset_event_of_its_own(tmp_path):
    op = TencentOcrSingaporeIdCardOperator(
        task_id="t", images=["a"], output=str(tmp_path / "ds") + "/", shard_index=0, shard_count=2
    )
    assert op.outlets == []
    assert {"shard_index", "shard_count"} <= set(op.template_fields)


@pytest.fixture
def emulator():
    with EmulatorServer(rate_limit=1000) as server:
        yield server


def test_a_sharded_run_leaves_the_operator_arguments_as_they_were(tmp_path, emulator, monkeypatch):
    """The part file and shared cache are derived per run; running the same task again writes the same part."""
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
    images = [str(tmp_path / f"{i}.png") for i in range(3)]
    for i, path in enumerate(images):
        Path(path).write_bytes(make_png(5, 5, seed=i))
    folder = str(tmp_path / "dataset") + "/"
    op = TencentOcrSingaporeIdCardOperator(
        task_id="t", images=images, output=folder, shard_index=1, shard_count=2, progress_interval=60.0
    )
    before = dict(vars(op))
    outputs = [op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})["output"] for _ in (1, 2)]
    assert (op.output_uri, op.cache) == (folder, None)
    changed = {k for k, v in vars(op).items() if k in before and before[k] is not v and before[k] != v}
    assert not changed & {"output_uri", "cache", "manifest", "images", "shard_index", "shard_count"}
    assert outputs == [str(tmp_path / "dataset" / part_name(1, 2))] * 2  # not a part inside the part
    start, stop = shard_bounds(3, 1, 2)
    assert emulator.stats.billed == stop - start  # the second run read the shared cache: nothing paid twice


def test_mapped_shards_over_http_write_every_row_once(tmp_path, emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
    images = tmp_path / "images"
    images.mkdir()
    rows = 37
    for i in range(rows):
        (images / f"{i}.png").write_bytes(make_png(5, 5, seed=i))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("image_uri,side\n" + "".join(f"{images / f'{i}.png'},s{i % 3}\n" for i in range(rows)))
    folder = tmp_path / "dataset"
    count = 4
    for index in range(count):  # what .partial(...).expand(shard_index=range(4)) runs, one instance each
        op = TencentOcrSingaporeIdCardOperator(
            task_id="recognise_shard",
            manifest=str(manifest),
            carry_columns=["side"],
            output=str(folder) + "/",
            shard_index=str(index),  # as rendered from a template
            shard_count=count,
            max_in_flight=4,
            batch_rows=5,
            progress_interval=60.0,
        )
        result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
        start, stop = shard_bounds(rows, index, count)
        assert result["rows"] == stop - start and result["ok"] == stop - start
        assert result["output"] == str(folder / part_name(index, count))

    parts = sorted(p.name for p in folder.glob("*.parquet"))
    assert parts == [part_name(i, count) for i in range(count)]
    con = duckdb.connect()
    table = con.execute(
        "SELECT record_id, image_uri, side, status FROM read_parquet(?) ORDER BY CAST(record_id AS INT)",
        [str(folder / "*.parquet")],
    ).fetchall()
    assert [r[0] for r in table] == [str(i) for i in range(rows)]  # every row once, global ids
    assert [r[1] for r in table] == [str(images / f"{i}.png") for i in range(rows)]
    assert [r[2] for r in table] == [f"s{i % 3}" for i in range(rows)]
    assert {r[3] for r in table} == {"ok"}
    # One schema across the parts: pyarrow reads the folder's parts as one table.
    import pyarrow.dataset as ds

    whole = ds.dataset(str(folder), format="parquet", exclude_invalid_files=True).to_table()
    assert whole.column_names == [*OUTPUT_COLUMNS, "side"] and whole.num_rows == rows
    # Each image billed once; one cache shared by the parts, beside the dataset folder, not in it.
    assert emulator.stats.billed == rows and set(emulator.stats.images.values()) == {1}
    assert sorted(p.name for p in folder.iterdir()) == parts
    assert (tmp_path / "dataset.ocr-cache").is_dir()

    assert check_parts(str(folder), count, expected_rows=rows) == {
        "folder": str(folder),
        "parts": count,
        "rows": rows,
        "ok": rows,
        "errors": 0,
        "glob": str(folder / "part-*-of-*.parquet"),
    }

    from airflow_provider_tencent_ocr.report import build_warn_report

    report = build_warn_report(str(folder), tmp_path / "report")
    assert report["rows"] == rows and report["ok"] == rows

    # A rerun of one shard (a retried task) pays nothing: its cache has every result.
    billed = emulator.stats.billed
    op = TencentOcrSingaporeIdCardOperator(
        task_id="recognise_shard", manifest=str(manifest), output=str(folder), shard_index=1, shard_count=count
    )
    op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    assert emulator.stats.billed == billed


def _write_part(folder: Path, index: int, count: int, rows: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"status": ["ok"] * rows}), folder / part_name(index, count))


def test_check_parts_refuses_missing_foreign_and_short_parts(tmp_path):
    folder = tmp_path / "ds"
    _write_part(folder, 0, 3, 3)
    _write_part(folder, 2, 3, 4)
    with pytest.raises(PartsIncomplete, match=r"1 of 3 parts missing \(first: part-00001-of-00003.parquet\)"):
        check_parts(str(folder), 3, expected_rows=10)
    _write_part(folder, 1, 3, 3)
    assert check_parts(str(folder), 3, expected_rows=10)["rows"] == 10
    with pytest.raises(PartsIncomplete, match="parts hold 10 rows, the manifest 11"):
        check_parts(str(folder), 3, expected_rows=11)
    _write_part(folder, 0, 2, 5)  # left over from a run with another shard count
    with pytest.raises(PartsIncomplete, match="another shard count"):
        check_parts(str(folder), 3, expected_rows=10)
    with pytest.raises(PartsIncomplete, match="3 of 3 parts missing"):
        check_parts(str(tmp_path / "nothing"), 3)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_slices_of_parquet_and_jsonl_manifests_keep_global_ids(tmp_path, fmt):
    rows = 11
    uris = [f"/img/{i}.png" for i in range(rows)]
    path = tmp_path / f"m.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.table({"image_uri": uris}), path, row_group_size=3)
    else:
        path.write_text("".join(f'{{"image_uri": "{u}"}}\n' for u in uris))
    seen = []
    for index in range(4):
        shard = ShardManifest(open_manifest(str(path), batch_rows=2), index, 4)
        seen.extend((row.record_id, row.image_uri) for batch in shard.iter_batches() for row in batch)
    assert seen == [(str(i), uris[i]) for i in range(rows)]


def test_check_parts_reads_a_dataset_folder_on_object_storage(tmp_path, monkeypatch):
    import io

    from s3_server import s3_server

    from airflow_provider_tencent_ocr.io import storage

    with s3_server() as s3:
        for name, value in s3.env.items():
            monkeypatch.setenv(name, value)
        folder = s3.uri("ds/cards/")
        for index, rows in enumerate((3, 4)):
            buffer = io.BytesIO()
            pq.write_table(pa.table({"status": ["ok"] * rows}), buffer)
            storage.write_bytes(part_uri(folder, index, 2), buffer.getvalue(), conn_id=s3.conn_id)
        storage.write_bytes(s3.uri("ds/cards/nested/part-00000-of-00002.parquet"), b"x", conn_id=s3.conn_id)
        summary = check_parts(folder, 2, expected_rows=7, storage_conn_id=s3.conn_id)
        assert summary["rows"] == 7
        with pytest.raises(PartsIncomplete, match="parts hold 7 rows, the manifest 8"):
            check_parts(folder, 2, expected_rows=8, storage_conn_id=s3.conn_id)
        with pytest.raises(PartsIncomplete, match="2 of 2 parts missing"):
            check_parts(s3.uri("elsewhere/"), 2, storage_conn_id=s3.conn_id)
