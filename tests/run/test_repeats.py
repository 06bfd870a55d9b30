"""Repeated rows need no I/O: a seen image is not read again, its result is not rebuilt, and nothing changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io import images
from airflow_provider_tencent_ocr.io.cache import ResultCache
from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
from airflow_provider_tencent_ocr.run.repeats import Bounded, FileDigests, stat_signature
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions
from tencent_ocr_emulator.server import EmulatorServer

CONN_ID = "tencentcloud_repeats_test"


class ListSink:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def write_rows(self, rows: list[dict]) -> None:
        self.rows.extend(rows)


def _images(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"card_{i}.png"
        path.write_bytes(make_png(6, 6, seed=i))
        paths.append(str(path))
    return paths


@pytest.fixture
def hook(monkeypatch):
    with EmulatorServer(rate_limit=1000) as emulator:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emulator.connection_json())
        yield TencentOcrHook(CONN_ID), emulator


def test_a_repeated_image_is_read_once_and_its_rows_match_the_first(tmp_path, hook, monkeypatch):
    ocr, emulator = hook
    paths = _images(tmp_path / "img", 3)
    manifest = [paths[i % 3] for i in range(300)]
    reads: list[str] = []
    real_load = images.load_image

    def counting_load(uri, **kwargs):
        reads.append(uri)
        return real_load(uri, **kwargs)

    monkeypatch.setattr("airflow_provider_tencent_ocr.run.worker.load_image", counting_load)
    sink = ListSink()
    with ResultCache(str(tmp_path / "cache")) as cache:
        summary = OcrRunner(ocr, RunOptions(max_in_flight=2, progress_interval=60), cache=cache).run(
            manifest_from_images(manifest, batch_rows=50), sink
        )
    assert emulator.stats.billed == 3 and summary.api_calls == 3
    assert len(reads) < 30  # the first rows of each image, while its call was in flight; not one per row
    assert summary.rows == summary.ok == 300 and summary.cache_hits + 3 <= 300
    assert [r["record_id"] for r in sink.rows] == [str(i) for i in range(300)]
    first = {}
    for row in sink.rows:
        content = {k: v for k, v in row.items() if k not in ("record_id", "attempts", "request_id", "ocr_at")}
        first.setdefault(row["image_uri"], content)
        assert content == first[row["image_uri"]]
    assert sum(r["attempts"] for r in sink.rows) == 3


def test_a_file_changed_between_runs_is_read_again(tmp_path, hook):
    ocr, emulator = hook
    path = _images(tmp_path / "img", 1)[0]
    runner = OcrRunner(ocr, RunOptions(progress_interval=60))
    first, second = ListSink(), ListSink()
    runner.run(manifest_from_images([path, path]), first)
    Path(path).write_bytes(make_png(7, 7, seed=99))  # another card under the same name
    runner.run(manifest_from_images([path, path]), second)
    assert emulator.stats.billed == 2
    assert first.rows[0]["image_sha256"] != second.rows[0]["image_sha256"] == second.rows[1]["image_sha256"]


def test_file_digests_trust_a_path_only_while_its_stat_is_unchanged(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"one")
    digests = FileDigests()
    digests.remember(str(path), stat_signature(str(path)), "digest-one")
    assert digests.lookup(str(path)) == "digest-one"
    path.write_bytes(b"three")  # size and mtime change
    assert digests.lookup(str(path)) is None
    os.utime(path, ns=(1, 1))
    assert digests.lookup(str(path)) is None
    digests.remember("s3://bucket/a.png", stat_signature("s3://bucket/a.png"), "remote")
    assert digests.lookup("s3://bucket/a.png") is None  # object storage is not remembered


def test_the_memory_is_bounded():
    memo: Bounded[str, int] = Bounded(3)
    for i in range(10):
        memo.put(str(i), i)
    assert len(memo) == 3 and memo.get("0") is None and memo.get("9") == 9
    memo.put("10", 10)
    assert memo.get("7") is None and memo.get("8") == 8  # the oldest goes first


def test_repeated_rows_keep_their_own_carried_columns(tmp_path, hook):
    ocr, _ = hook
    path = _images(tmp_path / "img", 1)[0]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"image_uri": path, "batch": f"b{i}"}) + "\n" for i in range(20)))
    from airflow_provider_tencent_ocr.io.manifest import open_manifest

    sink = ListSink()
    OcrRunner(ocr, RunOptions(progress_interval=60)).run(open_manifest(str(manifest), carry_columns=["batch"]), sink)
    assert [r["batch"] for r in sink.rows] == [f"b{i}" for i in range(20)]
