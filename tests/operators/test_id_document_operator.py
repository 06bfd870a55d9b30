"""TencentOcrIdDocumentOperator over real HTTP against the emulator (which serves every action).

Images the emulator's fixture table does not know get a valid synthetic card of the action asked,
so any PNG stands for a card here. What is checked: one row per manifest row in manifest order,
an ``UnsupportedAction`` error row (never a task failure) for an empty or unknown action, each
action paced at its own per-account limit at the same time, the action in the cache key, and the
personal-data modes on the common columns and the ``fields`` map.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException
from helpers import execute, image_file

from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator
from airflow_provider_tencent_ocr.rows.id_document import OUTPUT_COLUMNS
from tencent_ocr_emulator.server import EmulatorServer

SG, MY, TH, ID, PASSPORT = (
    "RecognizeSingaporeIDCardOCR",
    "MLIDCardOCR",
    "RecognizeThaiIDCardOCR",
    "RecognizeIndonesiaIDCardOCR",
    "MLIDPassportOCR",
)


def operator(tmp_path: Path, **kwargs) -> TencentOcrIdDocumentOperator:
    kwargs.setdefault("output", str(tmp_path / "out" / "documents.parquet"))
    kwargs.setdefault("progress_interval", 60.0)
    return TencentOcrIdDocumentOperator(task_id="documents", **kwargs)


def mixed_manifest(tmp_path: Path, actions: list[str], *, extra: str = "") -> tuple[str, list[str]]:
    """A CSV manifest with one image per row and its action in the ``document_type`` column."""
    images = [image_file(tmp_path / "img", seed) for seed in range(len(actions))]
    lines = ["record_id,image_uri,document_type,branch"]
    lines += [f"r{i},{uri},{action},north{extra}" for i, (uri, action) in enumerate(zip(images, actions, strict=True))]
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path), images


def read(op: TencentOcrIdDocumentOperator) -> list[dict]:
    return pq.read_table(op.output_uri).to_pylist()


def test_a_mixed_manifest_keeps_order_and_turns_unknown_or_empty_actions_into_error_rows(
    tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id
):
    actions = [SG, MY, "NoSuchOCR", TH, "", ID, PASSPORT, " RecognizeSingaporeIDCardOCR "]
    path, images = mixed_manifest(tmp_path, actions)
    op = operator(
        tmp_path, manifest=path, id_column="record_id", action_column="document_type", carry_columns=["branch"]
    )
    result, _ = execute(op)
    rows = read(op)
    assert [r["record_id"] for r in rows] == [f"r{i}" for i in range(len(actions))]
    assert [r["image_uri"] for r in rows] == images
    assert [(r["status"], r["error_code"]) for r in rows] == [
        ("ok", None),
        ("ok", None),
        ("error", "UnsupportedAction"),
        ("ok", None),
        ("error", "UnsupportedAction"),
        ("ok", None),
        ("ok", None),
        ("ok", None),
    ]
    assert [r["action"] for r in rows] == [SG, MY, "NoSuchOCR", TH, None, ID, PASSPORT, SG]
    assert "'NoSuchOCR' is not one this provider serves" in rows[2]["error_message"]
    assert rows[2]["attempts"] == 0 and rows[4]["attempts"] == 0
    assert result["errors_by_code"] == {"UnsupportedAction": 2} and result["ok"] == 6
    assert tencent_ocr_emulator.stats.actions == {SG: 2, MY: 1, TH: 1, ID: 1, PASSPORT: 1}
    # The id-document table, then the carried column; the action column is read, not carried.
    table = pq.read_table(op.output_uri)
    assert table.column_names == [*OUTPUT_COLUMNS, "branch"]
    assert all(r["branch"] == "north" for r in rows)
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["document_number"] and r["fields"] for r in ok)
    assert all(r["fields"] is None and r["document_number"] is None for r in rows if r["status"] == "error")


def test_each_action_runs_at_its_own_limit_at_the_same_time(tmp_path, monkeypatch):
    # The emulator enforces each action's own default limit (Singapore 20/s, Malaysia 5/s).
    actions = [SG, MY] * 20
    path, _ = mixed_manifest(tmp_path, actions)
    with EmulatorServer() as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
        op = operator(tmp_path, manifest=path, action_column="document_type", carry_columns=["document_type"])
        result, _ = execute(op)
    rows = read(op)
    assert result["ok"] == 40 and [r["document_type"] for r in rows] == actions  # manifest order
    assert emulator.stats.actions == {SG: 20, MY: 20}  # (throttles, if jitter causes any, are retried)
    # 20 Singapore calls at 20/s take ~1 s; 20 Malaysian ones at 5/s ~4 s. Paced apart, every Singapore
    # call reaches the service before the 10th Malaysian one (~1.9 s); held to one pace, the calls would
    # alternate as the manifest does. Judged by the order the emulator accepted them, not by clock time
    # (recognition time under a loaded machine says nothing about pacing).
    accepted = emulator.stats.accepted
    last_singapore = max(i for i, action in enumerate(accepted) if action == SG)
    tenth_malaysian = [i for i, action in enumerate(accepted) if action == MY][9]
    assert last_singapore < tenth_malaysian, accepted


def test_the_same_image_under_two_actions_is_two_results(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    uri = image_file(tmp_path / "img", 7)
    path = tmp_path / "m.csv"
    path.write_text(f"image_uri,kind\n{uri},{SG}\n{uri},{MY}\n{uri},{SG}\n")
    op = operator(tmp_path, manifest=str(path), action_column="kind")
    execute(op)
    rows = read(op)
    assert [r["action"] for r in rows] == [SG, MY, SG]
    assert tencent_ocr_emulator.stats.billed == 2  # one per action; the third row reuses the first's
    assert rows[0]["fields"] == rows[2]["fields"] != rows[1]["fields"]
    # A second run is served from the cache under both actions.
    execute(operator(tmp_path, manifest=str(path), action_column="kind"))
    assert tencent_ocr_emulator.stats.billed == 2


def test_one_action_for_every_row_from_a_list_of_images(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    images = [image_file(tmp_path / "img", seed) for seed in range(3)]
    op = operator(tmp_path, images=images, action=TH, max_requests_per_second={TH: 3.0})
    result, context = execute(op)
    rows = read(op)
    assert [r["action"] for r in rows] == [TH] * 3 and result["ok"] == 3
    assert pq.read_metadata(op.output_uri).metadata[b"tencent_ocr.actions"] == TH.encode()
    assert context["outlet_events"][op.outlets[0]].extra == {"uri": op.output_uri, "rows": 3}


def test_personal_data_modes_protect_common_columns_and_every_field(tmp_path, tencent_ocr_conn_id):
    images = [image_file(tmp_path / "img", seed) for seed in range(2)]
    plain = operator(tmp_path, images=images, action=MY, output=str(tmp_path / "plain.parquet"))
    masked = operator(tmp_path, images=images, action=MY, output=str(tmp_path / "masked.parquet"), pii="mask")
    execute(plain)
    execute(masked)
    for clear, hidden in zip(read(plain), read(masked), strict=True):
        assert clear["document_number"] and hidden["document_number"] != clear["document_number"]
        assert hidden["full_name"] != clear["full_name"]
        assert hidden["birth_date"] is None or hidden["birth_date"].month == 1  # cut to the year
        identifiers = [name for name, value in dict(clear["fields"]).items() if value == clear["document_number"]]
        assert identifiers and all(clear["document_number"] not in v for v in dict(hidden["fields"]).values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of action="),
        ({"action": SG, "action_column": "kind"}, "exactly one of action="),
        ({"action": "MyKadOCR"}, "'MyKadOCR' is not one this provider serves"),
        ({"action": SG, "max_requests_per_second": {"Singapore": 5}}, "does not serve: Singapore"),
        ({"action_column": "kind", "images": ["/a.png"], "manifest": None}, "action_column= reads the manifest"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(tmp_path, kwargs, message):
    kwargs.setdefault("manifest", "/m.csv")
    with pytest.raises(ValueError, match=message):
        operator(tmp_path, **kwargs)


def test_a_templated_action_rendering_unknown_fails_without_retry(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    op = operator(tmp_path, images=[image_file(tmp_path / "img", 1)], action="{{ params.action }}")
    op.render_template_fields({"params": {"action": "Nope"}})
    with pytest.raises(AirflowFailException, match="'Nope' is not one this provider serves"):
        execute(op)
    assert tencent_ocr_emulator.stats.requests == 0


def test_execute_of_every_operator_is_at_most_25_lines():
    import inspect

    from airflow_provider_tencent_ocr.operators import base, id_document, singapore_id_card

    for module in (base, id_document, singapore_id_card):
        for cls in vars(module).values():
            if isinstance(cls, type) and "execute" in vars(cls):
                assert len(inspect.getsource(cls.execute).splitlines()) <= 25, cls


def test_a_missing_action_column_is_named_as_such(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    path = tmp_path / "m.csv"
    path.write_text(f"image_uri\n{image_file(tmp_path / 'img', 1)}\n")
    with pytest.raises(AirflowFailException, match=r"has no action_column 'document_type'.* Pass action_column="):
        execute(operator(tmp_path, manifest=str(path), action_column="document_type"))
    assert tencent_ocr_emulator.stats.requests == 0


def test_a_mixed_files_metadata_lists_the_actions_present(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    actions = [SG, MY, "NoSuchOCR", TH, "", SG]
    path, _ = mixed_manifest(tmp_path, actions)
    op = operator(tmp_path, manifest=path, action_column="document_type")
    execute(op)
    present = ",".join(sorted({SG, MY, TH})).encode()  # served actions only, each once, sorted
    assert pq.read_metadata(op.output_uri).metadata[b"tencent_ocr.actions"] == present
    metadata = pq.read_schema(op.output_uri).metadata
    assert metadata[b"tencent_ocr.actions"] == present
    assert metadata[b"tencent_ocr.schema"] == b"id_document" and b"tencent_ocr.package_version" in metadata
    # Shard parts: each part lists the actions of its own rows.
    folder = tmp_path / "parts"
    for index in (0, 1):
        execute(
            operator(
                tmp_path,
                manifest=path,
                action_column="document_type",
                output=str(folder),
                shard_index=index,
                shard_count=2,
            )
        )
    parts = sorted(folder.glob("part-*.parquet"))
    assert [pq.read_schema(p).metadata[b"tencent_ocr.actions"] for p in parts] == [
        ",".join(sorted({SG, MY})).encode(),
        ",".join(sorted({SG, TH})).encode(),
    ]
