"""The emulator is written from the API reference, not from the provider: where both need the same
fact they keep their own copies, and these tests compare them so neither drifts unnoticed."""

from __future__ import annotations

import ast
import itertools
import pathlib
import random

import tencent_ocr_emulator
from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.io import images
from airflow_provider_tencent_ocr.rows import nric
from tencent_ocr_emulator import api as emulator_api
from tencent_ocr_emulator import cards
from tencent_ocr_emulator import nric as emulator_nric


def test_check_letters_agree_on_every_prefix():
    rng = random.Random(11)
    digit_strings = ["0000000", "9999999", "1234567"] + ["".join(rng.choices("0123456789", k=7)) for _ in range(400)]
    for prefix, digits in itertools.product("STFGM", digit_strings):
        assert emulator_nric.check_letter(prefix, digits) == nric.check_letter(prefix, digits), (prefix, digits)


def test_published_check_letter_example():
    # S1234567D is the documented example of a valid NRIC.
    assert emulator_nric.check_letter("S", "1234567") == "D"


def test_action_facts_agree():
    assert emulator_api.ACTION == sg.ACTION
    assert emulator_api.SERVICE == sg.SERVICE
    assert emulator_api.VERSION == sg.VERSION
    assert emulator_api.MAX_IMAGE_BASE64_BYTES == sg.MAX_IMAGE_BASE64_BYTES
    assert set(emulator_api.RESPONSE_FIELDS) == set(sg.RESPONSE_FIELDS)
    assert set(emulator_api.FRONT_FIELDS) == set(sg.FRONT_FIELDS)
    assert set(emulator_api.BACK_FIELDS) == set(sg.BACK_FIELDS)
    # The generator's truth columns line up with the provider's output columns.
    assert cards.TRUTH_NAMES == sg.RESPONSE_FIELDS


def test_image_rules_agree():
    samples = [b"\x89PNG\r\n\x1a\nrest", b"\xff\xd8\xff\xe0", b"BM\x00", b"GIF89a", b"", b"RIFF....WEBP"]
    for data in samples:
        assert emulator_api.image_format(data) == images.sniff_format(data)
    for n in (0, 1, 2, 3, 4, 5, 5_505_024, 7 * 1024 * 1024):
        assert emulator_api.encoded_length(n) == images.base64_length(n)


def test_emulator_imports_nothing_from_the_provider():
    root = pathlib.Path(tencent_ocr_emulator.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in ("airflow_provider_tencent_ocr", "tencentcloud", "airflow")
            ]
    assert offenders == []
