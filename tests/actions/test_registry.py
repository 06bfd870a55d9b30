"""The action registry: every action of issue 15, its stated or assumed facts, complete personal-data kinds."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_tencent_ocr.actions.registry import ACTIONS, UnsupportedActionError, get_action, require_action
from airflow_provider_tencent_ocr.actions.spec import ActionSpec
from airflow_provider_tencent_ocr.exceptions import TencentOcrError
from airflow_provider_tencent_ocr.rows.pii import known_kind

ISSUE_ACTIONS = {
    # action: (default requests per second, stated by the reference, ImageUrl outside the mainland)
    "RecognizeSingaporeIDCardOCR": (20.0, True, True),
    "MLIDCardOCR": (5.0, False, False),
    "HKIDCardOCR": (5.0, False, False),
    "RecognizeThaiIDCardOCR": (10.0, True, True),
    "RecognizeIndonesiaIDCardOCR": (5.0, True, True),
    "RecognizePhilippinesVoteIDOCR": (20.0, True, True),
    "RecognizePhilippinesDrivingLicenseOCR": (5.0, False, True),
    "RecognizePhilippinesUMIDOCR": (5.0, False, True),
    "RecognizePhilippinesSssIDOCR": (5.0, False, True),
    "RecognizePhilippinesTinIDOCR": (5.0, False, True),
    "MLIDPassportOCR": (5.0, False, False),
}


def test_every_action_of_the_issue() -> None:
    assert set(ACTIONS) == set(ISSUE_ACTIONS)
    for name, spec in ACTIONS.items():
        assert spec.name == name
        assert (spec.default_rps, spec.rps_stated, spec.image_url_supported) == ISSUE_ACTIONS[name], name


@pytest.mark.parametrize("spec", list(ACTIONS.values()), ids=list(ACTIONS))
def test_declaration_is_complete(spec: ActionSpec) -> None:
    assert spec.text_fields and spec.documents and spec.notes
    assert len(spec.country) == 2 or (spec.name == "MLIDPassportOCR" and spec.country == "")
    # Every output field and image has a known kind (None = not personal): nothing falls to "unknown".
    assert set(spec.field_kinds) == set(spec.output_fields) | set(spec.image_fields)
    assert all(known_kind(kind) for kind in spec.field_kinds.values())
    assert all(spec.kind(name) == "portrait" for name in spec.image_fields)
    assert not set(spec.image_fields) & set(spec.output_fields)
    assert spec.head_image_param
    # The identifying fields are personal data.
    assert any(kind == "identifier" for kind in spec.field_kinds.values())
    assert any(kind == "name" for kind in spec.field_kinds.values())


def test_passport_mrz_lines_are_their_own_kind() -> None:
    spec = ACTIONS["MLIDPassportOCR"]
    assert (spec.kind("CodeSet"), spec.kind("CodeCrc")) == ("mrz", "mrz")
    assert spec.kind("PassportRecognizeInfos.PassportID") == "identifier"


def test_request_uses_each_actions_portrait_parameter() -> None:
    assert ACTIONS["RecognizeThaiIDCardOCR"].build_request(image_base64="x", return_head_image=True) == {
        "ImageBase64": "x",
        "CropPortrait": True,
    }
    assert ACTIONS["MLIDPassportOCR"].build_request(image_url="u", image_base64="x", return_head_image=True) == {
        "ImageUrl": "u",
        "RetImage": True,
    }
    assert ACTIONS["MLIDCardOCR"].build_request(image_base64="x") == {"ImageBase64": "x"}


def test_image_url_outside_the_mainland() -> None:
    assert not ACTIONS["HKIDCardOCR"].accepts_image_url("ap-singapore")
    assert ACTIONS["HKIDCardOCR"].accepts_image_url("ap-guangzhou")
    assert ACTIONS["RecognizeThaiIDCardOCR"].accepts_image_url("ap-bangkok")


def test_indonesia_takes_smaller_images() -> None:
    assert ACTIONS["RecognizeIndonesiaIDCardOCR"].max_image_base64_bytes == 2 * 1024 * 1024


def test_lookup() -> None:
    assert get_action(" MLIDCardOCR ") is ACTIONS["MLIDCardOCR"]
    assert get_action("mlidcardocr") is None and get_action("") is None and get_action(None) is None
    with pytest.raises(UnsupportedActionError, match="'NoSuchOCR' is not one this provider serves") as err:
        require_action("NoSuchOCR")
    assert err.value.code == "UnsupportedAction" and isinstance(err.value, TencentOcrError)
    with pytest.raises(UnsupportedActionError, match="an empty value"):
        require_action("  ")


def test_assumptions_can_be_overridden() -> None:
    spec = dataclasses.replace(ACTIONS["RecognizePhilippinesUMIDOCR"], date_order="DMY", default_rps=2.0)
    assert spec.common({"Birthday": "03/04/1992"}).birth_date is not None
    assert spec.common({"Birthday": "03/04/1992"}).birth_date.month == 4  # type: ignore[union-attr]
    assert ACTIONS["RecognizePhilippinesUMIDOCR"].common({"Birthday": "03/04/1992"}).birth_date.month == 3  # type: ignore[union-attr]


def test_a_kind_for_a_field_the_action_does_not_return_is_refused() -> None:
    with pytest.raises(ValueError, match="does not return"):
        dataclasses.replace(ACTIONS["MLIDCardOCR"], field_kinds={"Nope": "name"})


def test_the_kinds_are_the_personal_data_kinds() -> None:
    from typing import get_args

    from airflow_provider_tencent_ocr.actions.spec import PiiKind as DeclaredKind
    from airflow_provider_tencent_ocr.rows.pii import PiiKind

    assert set(get_args(DeclaredKind)) == {kind.value for kind in PiiKind}


def test_image_formats_as_the_reference_states() -> None:
    with_bmp = {name for name, spec in ACTIONS.items() if "BMP" in spec.image_formats}
    assert with_bmp == {"RecognizeSingaporeIDCardOCR", "RecognizeThaiIDCardOCR", "MLIDPassportOCR"}
    assert all({"PNG", "JPEG"} <= spec.image_formats for spec in ACTIONS.values())


def test_one_concept_one_root() -> None:
    from airflow_provider_tencent_ocr.exceptions import UnsupportedAction

    with pytest.raises(UnsupportedAction) as err:
        require_action("Nope")
    assert err.value.code == "UnsupportedAction"
