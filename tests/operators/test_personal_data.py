"""Personal data on full operator runs against the emulator: pii modes, portraits, and a log scan.

Personal data may only ever reach the Parquet file (and the portrait files the user asked for):
never a log line at any level, never the XCom summary, whatever ``pii`` mode is chosen.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import hmac
import json
import logging
import stat
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException
from helpers import make_png

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

FRONT = {
    "ChName": "陈亚九",
    "EnName": "TAN AH KOW QUENTIN",
    "Sex": "M",
    "CountryOfBirth": "SINGAPORE",
    "Birthday": "01-02-1980",
    "ID": "S1234567D",
    "Race": "CHINESE",
}
BACK = {
    "Address": "BLK 987 ZEPHYRINE AVENUE 4 #05-321",
    "PostCode": "560987",
    "NRICCode": "S1234567D",
    "DateOfIssue": "15-03-2019",
}
PII_VALUES = ["陈亚九", "TAN AH KOW QUENTIN", "S1234567D", "BLK 987 ZEPHYRINE AVENUE 4 #05-321", "ZEPHYRINE"]


def execute(op):
    return op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})


@pytest.fixture
def cards(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    """A front, a back and a failing card on disk, known to the emulator's fixture recogniser."""
    folder = tmp_path / "cards"
    folder.mkdir()
    front, back, failing = make_png(24, 24, seed=11), make_png(24, 24, seed=12), make_png(24, 24, seed=13)
    tencent_ocr_emulator.recogniser.add(front, FRONT, [-9104])
    tencent_ocr_emulator.recogniser.add(back, BACK)
    digest = tencent_ocr_emulator.recogniser.add(failing, {})
    tencent_ocr_emulator.recogniser.table[digest] = {
        "Error": {"Code": "FailedOperation.OcrFailed", "Message": "OCR recognition failed."}
    }
    paths = []
    for name, data in (("front.png", front), ("back.png", back), ("failing.png", failing)):
        (folder / name).write_bytes(data)
        paths.append(str(folder / name))
    return types.SimpleNamespace(paths=paths, front=front, back=back, out=str(tmp_path / "out" / "cards.parquet"))


def run(cards, **kwargs):
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=cards.paths, output=cards.out, progress_interval=60.0, **kwargs
    )
    result = execute(op)
    rows = pq.read_table(cards.out).to_pylist()
    assert [r["status"] for r in rows] == ["ok", "ok", "error"]
    return rows, result


def _check_validation_columns(front: dict, *, protected: bool = False) -> None:
    # Computed from the clear values, before any masking or hashing; a protected birth date keeps its year.
    assert front["id_type"] == "NRIC"
    assert front["id_checksum_valid"] is True
    assert front["birth_date"] == (dt.date(1980, 1, 1) if protected else dt.date(1980, 2, 1))
    assert front["sex_normalised"] == "M"


def _check_coarsened(front: dict, back: dict) -> None:
    """The protected modes' rule: dates cut to the year, postcodes to their sector, no portrait."""
    assert (front["birthday"], back["date_of_issue"], back["post_code"]) == ("1980", "2019", "56")
    assert back["date_of_issue_date"] == dt.date(2019, 1, 1)
    assert front["photo"] is None and front["photo_path"] is None
    assert (front["race"], front["sex"], front["country_of_birth"]) == ("CHINESE", "M", "SINGAPORE")


def test_plain_keeps_the_values(cards):
    rows, _ = run(cards, pii="plain")
    front, back, _ = rows
    assert (front["id_number"], front["en_name"], front["ch_name"]) == ("S1234567D", FRONT["EnName"], "陈亚九")
    assert (back["address"], back["nric_code"]) == (BACK["Address"], "S1234567D")
    _check_validation_columns(front)


def test_mask(cards):
    rows, _ = run(cards, pii="mask")
    front, back, error = rows
    # First character and a fixed mask: the length of the value is not kept.
    assert front["id_number"] == "S*****"
    assert front["en_name"] == "T*****"
    assert front["ch_name"] == "陈*****"
    assert back["address"] == "B*****"
    assert back["nric_code"] == "S*****"
    _check_coarsened(front, back)
    _check_validation_columns(front, protected=True)
    assert error["id_number"] is None


def _expected_hash(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_hash_with_a_key_from_a_connection(cards, monkeypatch):
    key = "conn-key-0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("AIRFLOW_CONN_OCR_PII_KEY", json.dumps({"conn_type": "generic", "password": key}))
    rows, result = run(cards, pii="hash", pii_key_conn_id="ocr_pii_key")
    front, back, _ = rows
    assert front["id_number"] == _expected_hash(key, "S1234567D")
    assert front["en_name"] == _expected_hash(key, FRONT["EnName"])
    assert front["ch_name"] == _expected_hash(key, "陈亚九")
    assert back["address"] == _expected_hash(key, BACK["Address"])
    assert back["nric_code"] == front["id_number"]  # same value, same key: joinable
    assert front["id_number"] != hashlib.sha256(b"S1234567D").hexdigest()  # keyed, not a bare digest
    _check_coarsened(front, back)
    _check_validation_columns(front, protected=True)
    assert key not in json.dumps(result)


def test_hash_with_a_key_from_a_variable(cards, monkeypatch):
    key = "variable-key-fedcba9876543210fedcba9876543210"
    monkeypatch.setenv("AIRFLOW_VAR_OCR_PII_KEY", key)
    rows, _ = run(cards, pii="hash", pii_key_variable="ocr_pii_key")
    front, _, _ = rows
    assert front["id_number"] == _expected_hash(key, "S1234567D")
    _check_validation_columns(front, protected=True)


def test_hash_without_a_key_fails_before_any_call(cards, tencent_ocr_emulator, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_OCR_PII_KEY", raising=False)
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=cards.paths, output=cards.out, pii="hash", pii_key_variable="ocr_pii_key"
    )
    with pytest.raises(AirflowFailException, match="ocr_pii_key") as info:  # no retry can make the key appear
        execute(op)
    assert isinstance(info.value.__context__, ValueError)
    assert tencent_ocr_emulator.stats.requests == 0
    assert not Path(cards.out).exists()


# -- portraits -------------------------------------------------------------------------------------
def test_photo_inline(cards):
    rows, _ = run(cards, photo_output="inline")
    front, back, error = rows
    assert front["photo"] == cards.front[:64]  # the emulator's stand-in portrait
    assert back["photo"] == cards.back[:64]
    assert error["photo"] is None
    assert all(r["photo_path"] is None for r in rows)


def test_photo_files(cards, tmp_path):
    rows, _ = run(cards, photo_output="files")
    front, back, error = rows
    assert front["photo"] is None and error["photo_path"] is None
    for row, data in ((front, cards.front), (back, cards.back)):
        path = Path(row["photo_path"])
        assert path.parent == tmp_path / "out" / "photos"
        assert path.read_bytes() == data[:64]
        assert path.stem == hashlib.sha256(data[:64]).hexdigest()  # no personal data in the name
        assert stat.S_IMODE(path.stat().st_mode) == 0o640  # no access for others, by default
    assert stat.S_IMODE((tmp_path / "out" / "photos").stat().st_mode) == 0o750
    assert stat.S_IMODE(Path(cards.out).stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750


def test_photo_files_in_a_chosen_folder(cards, tmp_path):
    rows, _ = run(cards, photo_output="files", photo_dir=str(tmp_path / "portraits"))
    assert Path(rows[0]["photo_path"]).parent == tmp_path / "portraits"
    assert not (tmp_path / "out" / "photos").exists()


@pytest.mark.parametrize("pii", ["mask", "hash"])
def test_a_portrait_in_a_protected_mode_is_refused_when_the_dag_is_parsed(pii):
    with pytest.raises(ValueError, match=r"pii='(mask|hash)'.*photo_output.*allow_portrait=True"):
        TencentOcrSingaporeIdCardOperator(
            task_id="ocr",
            images=["/x.png"],
            output="/o.parquet",
            pii=pii,
            photo_output="inline",
            pii_key_variable="k",
        )


def test_a_portrait_in_a_protected_mode_when_explicitly_allowed(cards):
    rows, _ = run(cards, pii="mask", photo_output="inline", allow_portrait=True)
    front, back, _ = rows
    assert front["photo"] == cards.front[:64]
    assert front["id_number"] == "S*****" and back["post_code"] == "56"


def test_photo_none(cards, tmp_path):
    rows, _ = run(cards)
    assert all(r["photo"] is None and r["photo_path"] is None for r in rows)
    assert not (tmp_path / "out" / "photos").exists()


# -- nothing personal in logs or XCom --------------------------------------------------------------
@pytest.fixture
def debug_everywhere(caplog):
    """DEBUG on the root and on every logger, each one feeding caplog's handler."""
    caplog.set_level(logging.DEBUG)
    saved = []
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
    yield caplog
    for logger, level, _propagate in saved:
        logger.setLevel(level)
        if caplog.handler in logger.handlers:
            logger.removeHandler(caplog.handler)


@pytest.mark.parametrize("photo_output", ["inline", "files"])
def test_no_personal_data_in_logs_or_xcom(cards, debug_everywhere, capfd, photo_output, tencent_ocr_emulator):
    caplog = debug_everywhere
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr",
        images=[*cards.paths, cards.paths[0]],
        output=cards.out,
        pii="plain",
        photo_output=photo_output,
        progress_interval=0.05,
        max_in_flight=2,
    )
    logging.getLogger("airflow_provider_tencent_ocr").debug("scan marker: logging reaches caplog")
    result = execute(op)
    rows = pq.read_table(cards.out).to_pylist()
    assert rows[0]["id_number"] == "S1234567D"  # plain: the data is in the file...

    captured = capfd.readouterr()
    logs = "\n".join(
        [caplog.text, *(r.getMessage() for r in caplog.records), captured.out, captured.err]
        + [repr(r.args) for r in caplog.records]
    )
    assert "scan marker" in logs and "cards.parquet" in logs  # the capture does see our logs
    assert tencent_ocr_emulator.stats.requests >= 3

    needles = list(PII_VALUES)
    for data in (cards.front, cards.back):
        needles.append(base64.b64encode(data).decode())  # the image as sent
        needles.append(base64.b64encode(data[:64]).decode())  # the portrait as received
        needles.append(base64.b64encode(data[:64]).decode()[:40])
    summary = json.dumps(result, ensure_ascii=False)
    for needle in needles:
        assert needle not in logs, f"personal data {needle[:12]!r}... found in the logs"
        assert needle not in summary, f"personal data {needle[:12]!r}... found in the XCom summary"
    assert result["rows"] == 4 and result["errors_by_code"] == {"FailedOperation.OcrFailed": 1}
