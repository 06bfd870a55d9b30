"""PII modes, the keyed hash, and HMAC key resolution outside a task."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from airflow_provider_tencent_ocr.actions.singapore_id_card import PII_COLUMNS
from airflow_provider_tencent_ocr.io.parquet import OUTPUT_COLUMNS
from airflow_provider_tencent_ocr.rows.pii import (
    PiiMode,
    PiiProtector,
    hash_value,
    mask_value,
    resolve_hmac_key,
)

ROW = {
    "record_id": "7",
    "id_number": "S1234567D",
    "ch_name": "夏明阳",
    "en_name": "XIA MING YANG",
    "address": "1 ORCHARD RD",
    "nric_code": "",
    "race": "CHINESE",
    "id_type": "NRIC",
    "id_checksum_valid": True,
}


def test_pii_columns():
    # Derived from the row definition (file order); the set is the documented contract.
    assert set(PII_COLUMNS) == {
        "id_number",
        "ch_name",
        "en_name",
        "address",
        "nric_code",
        "birthday",
        "post_code",
        "date_of_issue",
        "date_of_expiration",
        "photo",
        "birth_date",
        "date_of_issue_date",
        "date_of_expiration_date",
    }
    assert list(PII_COLUMNS) == [c for c in OUTPUT_COLUMNS if c in PII_COLUMNS]


@pytest.mark.parametrize(
    ("text", "mode"),
    [("plain", PiiMode.PLAIN), ("MASK", PiiMode.MASK), (" hash ", PiiMode.HASH), (None, PiiMode.PLAIN)],
)
def test_mode_parse(text, mode):
    assert PiiMode.parse(text) is mode
    assert PiiMode.parse(mode) is mode


def test_bad_mode_names_the_argument_and_allowed_values():
    with pytest.raises(ValueError, match=r"pii must be one of 'plain', 'mask', 'hash'; got 'sha256'"):
        PiiMode.parse("sha256")
    with pytest.raises(ValueError, match="pii"):
        PiiProtector("encrypt")


@pytest.mark.parametrize(
    ("value", "masked"),
    [("S1234567D", "S*****"), ("", ""), ("A", "******"), ("AB", "A*****"), ("ABC", "A*****"), ("夏明阳", "夏*****")],
)
def test_mask_value(value, masked):
    assert mask_value(value) == masked


def test_hash_is_keyed_hmac_sha256():
    digest = hash_value("S1234567D", b"k1" * 16)
    assert digest == hmac.new(b"k1" * 16, b"S1234567D", hashlib.sha256).hexdigest()
    assert digest != hashlib.sha256(b"S1234567D").hexdigest()
    assert len(digest) == 64
    assert hash_value("S1234567D", b"k1" * 16) == digest  # stable
    assert hash_value("S1234567D", b"k2" * 16) != digest  # keyed
    assert hash_value("", b"k1") == ""


def test_plain_mode_returns_an_equal_new_row():
    out = PiiProtector("plain").apply(ROW)
    assert out == ROW
    assert out is not ROW


def test_mask_mode_masks_only_pii_columns():
    row = dict(ROW)
    out = PiiProtector(PiiMode.MASK).apply(row)
    assert row == ROW  # input untouched
    assert out["id_number"] == "S*****"
    assert out["ch_name"] == "夏*****"
    assert out["en_name"] == "X*****"
    assert out["address"] == "1*****"
    assert out["nric_code"] == ""
    for column in ("record_id", "race", "id_type", "id_checksum_valid"):
        assert out[column] == ROW[column]


def test_hash_mode_hashes_pii_columns_with_the_key():
    key = b"0123456789abcdef0123456789abcdef"
    out = PiiProtector("hash", key=key).apply(ROW)
    for column in ("id_number", "ch_name", "en_name", "address", "nric_code"):
        assert out[column] == hash_value(ROW[column], key)
    assert out["nric_code"] == ""
    assert out["race"] == "CHINESE"
    other = PiiProtector("hash", key=b"another key of enough length!!!!").apply(ROW)
    assert other["id_number"] != out["id_number"]


def test_none_and_missing_columns_are_left_alone():
    row = {"record_id": "1", "id_number": None, "status": "error"}
    assert PiiProtector("mask").apply(row) == row
    assert PiiProtector("hash", key=b"k" * 32).apply(row) == row


def test_hash_mode_without_key_explains_how_to_provide_one():
    with pytest.raises(ValueError, match="resolve_hmac_key"):
        PiiProtector("hash")
    with pytest.raises(ValueError, match="HMAC key"):
        PiiProtector(PiiMode.HASH, key=b"")


def test_repr_never_shows_the_key():
    assert "topsecret" not in repr(PiiProtector("hash", key=b"topsecret-key"))


@pytest.fixture
def airflow_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    return tmp_path


def test_key_from_connection_password_env_json(airflow_home, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OCR_PII_KEY", json.dumps({"conn_type": "generic", "password": "conn-key-0123456789"})
    )
    assert resolve_hmac_key(conn_id="ocr_pii_key") == b"conn-key-0123456789"


def test_key_from_variable_env(airflow_home, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_OCR_PII_KEY", "var-key-0123456789")
    assert resolve_hmac_key(variable="ocr_pii_key") == b"var-key-0123456789"


def test_key_is_registered_with_the_secrets_masker(airflow_home, monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    monkeypatch.setenv("AIRFLOW_VAR_OCR_PII_KEY2", "masked-key-0123456789")
    resolve_hmac_key(variable="ocr_pii_key2")
    assert "masked-key-0123456789" not in str(redact("the key is masked-key-0123456789"))


def test_missing_connection_names_the_conn_id(airflow_home, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_PII_CONN", raising=False)
    with pytest.raises(ValueError, match="no_such_pii_conn"):
        resolve_hmac_key(conn_id="no_such_pii_conn")


def test_connection_without_password_is_an_error(airflow_home, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PII_EMPTY", json.dumps({"conn_type": "generic", "login": "x"}))
    with pytest.raises(ValueError, match="'pii_empty' password is missing or empty"):
        resolve_hmac_key(conn_id="pii_empty")


def test_missing_or_empty_variable_names_the_variable(airflow_home, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_NO_SUCH_PII_VAR", raising=False)
    with pytest.raises(ValueError, match="'no_such_pii_var'"):
        resolve_hmac_key(variable="no_such_pii_var")
    monkeypatch.setenv("AIRFLOW_VAR_PII_EMPTY_VAR", "")
    with pytest.raises(ValueError, match="'pii_empty_var' is missing or empty"):
        resolve_hmac_key(variable="pii_empty_var")


def test_exactly_one_source_is_required():
    with pytest.raises(ValueError, match="exactly one"):
        resolve_hmac_key()
    with pytest.raises(ValueError, match="exactly one"):
        resolve_hmac_key(conn_id="a", variable="b")


def test_malformed_connection_error_does_not_leak_the_secret(airflow_home, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PII_BAD", '{"conn_type": "generic", "password": "leaky-secret-value"')
    with pytest.raises(ValueError) as info:
        resolve_hmac_key(conn_id="pii_bad")
    assert "leaky-secret-value" not in str(info.value)
    assert info.value.__cause__ is None
