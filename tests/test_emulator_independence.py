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


def test_every_actions_facts_agree() -> None:
    """Names, limits, ImageUrl availability, portrait switch and every response field, by type."""
    from airflow_provider_tencent_ocr.actions.registry import ACTIONS as PROVIDER
    from tencent_ocr_emulator.actions import ACTIONS as EMULATOR

    assert set(EMULATOR) == set(PROVIDER)
    for name, facts in EMULATOR.items():
        spec = PROVIDER[name]
        assert (facts.rate_limit, facts.rate_stated) == (spec.default_rps, spec.rps_stated), name
        assert facts.image_url_outside_mainland == spec.image_url_supported, name
        assert facts.head_image_parameter == spec.head_image_param, name
        assert facts.max_image_base64_bytes == spec.max_image_base64_bytes, name
        assert set(facts.image_fields) == set(spec.image_fields), name
        assert facts.warn_codes == spec.warn_supported, name
        assert bool(facts.value_fields) == spec.value_objects, name
        nested = {f"{obj}.{n}" for obj, names in facts.object_fields.items() for n in names}
        assert {*facts.text_fields, *facts.value_fields, *nested} == set(spec.text_fields), name
        ints = {k for k, kind in facts.typed_fields.items() if kind == "int"}
        ints |= {k for k, constant in facts.deprecated_fields.items() if type(constant) is int}
        assert ints == set(spec.number_fields), name
        assert {k for k, kind in facts.typed_fields.items() if kind == "bool"} == set(spec.flag_fields), name


def test_document_check_digits_agree() -> None:
    from airflow_provider_tencent_ocr.rows import checkdigits
    from tencent_ocr_emulator import numbers

    rng = random.Random(5)
    for _ in range(300):
        letters = "".join(rng.choices("ABCDEFGHKMPRZ", k=rng.choice([1, 2])))
        digits = "".join(rng.choices("0123456789", k=6))
        assert numbers.hkid_check_digit(letters, digits) == checkdigits.hkid_check_digit(letters, digits)
        first12 = "".join(rng.choices("0123456789", k=12))
        assert numbers.thai_check_digit(first12) == checkdigits.thai_id_check_digit(first12)
        field = "".join(rng.choices("ABCXYZ0123456789<", k=rng.randint(6, 14)))
        assert numbers.mrz_check_digit(field) == checkdigits.mrz_check_digit(field)


def test_synthetic_answers_parse_in_the_provider_as_valid_consistent_documents() -> None:
    """The emulator's answer for every action, as it goes over the wire, is accepted by the provider's
    reader; the provider decodes its dates, and its numbers pass the provider's own checks."""
    from airflow_provider_tencent_ocr.actions.registry import ACTIONS as PROVIDER
    from airflow_provider_tencent_ocr.actions.result import DocumentResult
    from tencent_ocr_emulator import actions, synthetic
    from tencent_ocr_emulator.server import respond

    for name, spec in PROVIDER.items():
        for seed in range(20):
            fields = synthetic.answer(name, f"{seed * 104729 + 17:064x}")
            response = respond(actions.ACTIONS[name], fields, [], b"portrait")
            result = DocumentResult.from_response(spec, {**response, "RequestId": "r"})
            common = spec.common(result.fields)
            assert common.document_number, name
            assert common.number_valid in (True, None), (name, seed)
            assert common.number_consistent in (True, None), (name, seed)
            if name not in ("RecognizePhilippinesTinIDOCR",):  # every synthetic card prints a birth date
                assert common.birth_date is not None, (name, seed)
            assert result.photo == b"portrait", name


def test_generated_documents_read_as_valid_in_the_provider(tmp_path: pathlib.Path) -> None:
    """Passports and MyKads from the card generator: the provider's MRZ and MyKad checks hold."""
    import json

    from airflow_provider_tencent_ocr.actions.registry import ACTIONS as PROVIDER

    manifest = cards.generate_cards(tmp_path, 8, 31, degraded_fraction=0.0, documents=("passport", "mykad"))
    for row in cards.read_manifest(manifest):
        common = PROVIDER[row["action"]].common(json.loads(row["truth_fields"]))
        assert common.number_valid is True, row["record_id"]
        # A passport's truth is its MRZ alone (no printed date beside it to compare with).
        assert common.number_consistent is (None if row["action"] == "MLIDPassportOCR" else True)
        assert common.birth_date is not None and common.sex in ("M", "F")
