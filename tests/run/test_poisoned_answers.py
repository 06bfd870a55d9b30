"""One odd answer never poisons a run: it is that row's error, never cached, and paid results are kept.

A loopback server answers each image as the test says (real signed HTTP through the hook); the
runner writes real Parquet and uses a real cache folder, twice, to show what a rerun pays for.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import make_png
from hostile_http import hostile_server, send_json

from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.io.cache import ResultCache, cache_key
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

CONN_ID = "tencentcloud_poison"
GOOD = {"EnName": "TAN AH KOW", "ID": "S1234567D", "Sex": "M", "WarnCardInfos": [-9103]}


class ByImage:
    """Answers by the image sent: ``answers[seed]`` is the Response object for the image of that seed."""

    def __init__(self, answers: dict[int, dict]) -> None:
        self.by_digest = {hashlib.sha256(make_png(5, 5, seed=s)).hexdigest(): a for s, a in answers.items()}
        self.calls: collections.Counter[int] = collections.Counter()
        self.seed_of = {hashlib.sha256(make_png(5, 5, seed=s)).hexdigest(): s for s in answers}

    def __call__(self, handler) -> None:
        image = base64.b64decode(json.loads(handler.body)["ImageBase64"])
        digest = hashlib.sha256(image).hexdigest()
        self.calls[self.seed_of[digest]] += 1
        send_json(handler, {"Response": {**self.by_digest[digest], "RequestId": f"req-{digest[:8]}"}})


def run(tmp_path: Path, seeds: list[int]) -> tuple[list[dict], dict]:
    folder = tmp_path / "img"
    folder.mkdir(exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"card_{seed}.png"
        path.write_bytes(make_png(5, 5, seed=seed))
        paths.append(str(path))
    out = tmp_path / "out" / "cards.parquet"
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr",
        images=paths,
        output=str(out),
        cache=str(tmp_path / "cache"),
        tencentcloud_conn_id=CONN_ID,
        max_in_flight=2,
        max_attempts=1,
        progress_interval=60.0,
    )
    summary = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    return pq.read_table(out).to_pylist(), summary


@pytest.fixture
def server(monkeypatch):
    def start(answers: dict[int, dict]):
        handler = ByImage(answers)
        context = hostile_server(handler)
        srv = context.__enter__()
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", srv.connection())
        started.append(context)
        return handler

    started: list = []
    yield start
    for context in started:
        context.__exit__(None, None, None)


def test_an_oversized_warn_code_is_that_rows_error_and_never_cached(tmp_path, server):
    answers = server({0: {**GOOD, "WarnCardInfos": [1099511627776]}, 1: GOOD, 2: GOOD})
    rows, summary = run(tmp_path, [0, 1, 2])
    assert [r["status"] for r in rows] == ["error", "ok", "ok"]  # the run went on and wrote every row
    assert rows[0]["error_code"] == "InvalidResponse" and "WarnCardInfos" in rows[0]["error_message"]
    assert rows[0]["request_id"] == f"req-{hashlib.sha256(make_png(5, 5, seed=0)).hexdigest()[:8]}"
    assert len(ResultCache(str(tmp_path / "cache"))) == 2  # the bad answer was not stored
    rows, summary = run(tmp_path, [0, 1, 2])  # a rerun asks again for the bad one only
    assert answers.calls == {0: 2, 1: 1, 2: 1}
    assert rows[0]["error_code"] == "InvalidResponse" and rows[1]["status"] == "ok"


def test_a_lone_surrogate_keeps_the_paid_result_and_is_not_billed_again(tmp_path, server):
    answers = server({0: {**GOOD, "EnName": "A\ud800B"}, 1: GOOD})
    rows, _ = run(tmp_path, [0, 1])
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert rows[0]["en_name"] == "A\ufffdB" and rows[0]["id_number"] == "S1234567D"
    assert len(ResultCache(str(tmp_path / "cache"))) == 2  # paid for, so kept
    rows, summary = run(tmp_path, [0, 1])
    assert answers.calls == {0: 1, 1: 1} and summary["cache_hits"] == 2  # never billed again
    assert rows[0]["en_name"] == "A\ufffdB"


def test_an_answer_without_card_fields_is_an_invalid_response(tmp_path, server):
    answers = server({0: {}, 1: GOOD})  # {"Response": {"RequestId": ...}} and nothing else
    rows, summary = run(tmp_path, [0, 1])
    assert rows[0]["status"] == "error" and rows[0]["error_code"] == "InvalidResponse"
    assert "none of the RecognizeSingaporeIDCardOCR fields" in rows[0]["error_message"]
    assert rows[1]["status"] == "ok"
    assert summary["errors_by_code"] == {"InvalidResponse": 1}
    assert len(ResultCache(str(tmp_path / "cache"))) == 1
    run(tmp_path, [0, 1])
    assert answers.calls == {0: 2, 1: 1}


def test_a_cached_answer_that_does_not_fit_is_asked_again_and_replaced(tmp_path, server):
    answers = server({0: GOOD})
    digest = hashlib.sha256(make_png(5, 5, seed=0)).hexdigest()
    key = cache_key(sg.ACTION, digest, {"return_head_image": False})
    with ResultCache(str(tmp_path / "cache")) as cache:  # what an earlier version stored
        cache.put(key, {**GOOD, "WarnCardInfos": [1099511627776], "RequestId": "old"}, 1.0)
    rows, _ = run(tmp_path, [0])
    assert rows[0]["status"] == "ok" and rows[0]["warn_codes"] == [-9103]
    assert answers.calls == {0: 1}
    run(tmp_path, [0])
    assert answers.calls == {0: 1}  # the good answer replaced the bad one


def test_the_cache_stores_any_text_exactly(tmp_path):
    with ResultCache(str(tmp_path / "c")) as cache:
        cache.put("k" * 64, {"EnName": "A\ud800B", "ChName": "陈"}, 5.0)
        assert cache.get("k" * 64) == ({"EnName": "A\ud800B", "ChName": "陈"}, 5.0)


def test_an_answer_arrow_refuses_at_write_time_is_that_rows_error_and_not_served_again(tmp_path, server, monkeypatch):
    """The write-time safety net: a row Arrow cannot convert becomes ``InvalidResponse``, never a failed task.

    No real answer is known to pass today's read checks and still be refused by Arrow (that is what
    those checks are for), so the read check is loosened here to let an int64 warn code through:
    it stands for any shape a future answer might take that the read checks do not know yet.
    """
    monkeypatch.setattr(sg, "_INT32_MAX", 2**62)  # the gap: the read check now accepts 2**40
    answers = server({0: {**GOOD, "WarnCardInfos": [1099511627776]}, 1: GOOD, 2: GOOD})
    seeds = [0, 1, 0, 2]  # the bad image twice: the repeat is served from memory and must fail the same way
    rows, summary = run(tmp_path, seeds)
    assert len(rows) == len({r["record_id"] for r in rows}) == len(seeds)  # every manifest row exactly once
    assert [r["status"] for r in rows] == ["error", "ok", "error", "ok"]
    for bad in (rows[0], rows[2]):
        assert bad["error_code"] == "InvalidResponse" and "could not be written" in bad["error_message"]
        assert bad["en_name"] is None and bad["id_number"] is None and bad["warn_codes"] is None  # identity only
        assert bad["image_sha256"] == hashlib.sha256(make_png(5, 5, seed=0)).hexdigest()
    assert summary["ok"] == 2 and summary["errors"] == 2 and summary["errors_by_code"] == {"InvalidResponse": 2}
    assert summary["warnings_by_code"] == {"-9103": 2}  # the refused rows' warnings are not counted
    assert len(ResultCache(str(tmp_path / "cache"))) == 2  # the refused answer is not kept
    rows, summary = run(tmp_path, seeds)  # a rerun asks again for the refused answer only
    assert answers.calls == {0: 2, 1: 1, 2: 1}
    assert [r["status"] for r in rows] == ["error", "ok", "error", "ok"]
