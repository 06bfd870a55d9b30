"""DocumentResult: answers of every action flattened to text fields, portrait and warn codes; bad shapes refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from document_responses import PORTRAIT, PORTRAIT_B64, REQUEST_ID, RESPONSES

from airflow_provider_tencent_ocr.actions.registry import ACTIONS, require_action
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError


def result_of(action: str, response: dict[str, Any]) -> DocumentResult:
    return DocumentResult.from_response(require_action(action), response)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_text_field_and_no_image_field(action: str) -> None:
    spec = ACTIONS[action]
    result = result_of(action, RESPONSES[action])
    assert result.action == action and result.request_id == REQUEST_ID
    assert not set(result.fields) & set(spec.image_fields)
    assert not any(PORTRAIT_B64 in value for value in result.fields.values() if PORTRAIT_B64)
    assert all(isinstance(value, str) for value in result.fields.values())
    assert set(result.fields) <= set(spec.output_fields)
    # Every documented text field the answer holds is in the map.
    assert set(result.fields) == {name for name in spec.output_fields if _lookup(RESPONSES[action], name) is not None}


def _lookup(response: dict[str, Any], name: str) -> Any:
    node: Any = response
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@pytest.mark.parametrize("action", list(ACTIONS))
def test_round_trip(action: str) -> None:
    result = result_of(action, RESPONSES[action])
    again = DocumentResult.from_response(ACTIONS[action], result.to_response())
    assert again == result
    assert result.to_response() == again.to_response()


def test_value_objects_are_flattened() -> None:
    result = result_of("RecognizePhilippinesVoteIDOCR", RESPONSES["RecognizePhilippinesVoteIDOCR"])
    assert result.fields["VIN"] == "7604-0123A-B4567JDC20000"
    assert "HeadPortrait" not in result.fields
    assert result.photo == PORTRAIT
    assert result.to_response()["VIN"] == {"Value": "7604-0123A-B4567JDC20000"}
    assert result.warn_codes == () and "WarnCardInfos" not in result.to_response()


def test_nested_passport_fields_numbers_and_flags() -> None:
    result = result_of("MLIDPassportOCR", RESPONSES["MLIDPassportOCR"])
    assert result.fields["PassportRecognizeInfos.DateOfBirth"] == "12 AUG 1974"
    assert (result.fields["CardCount"], result.fields["IsComplete"]) == ("1", "true")
    assert result.to_response()["PassportRecognizeInfos"]["PassportID"] == "L898902C3"


def test_hkid_primary_portrait_and_numbers() -> None:
    result = result_of("HKIDCardOCR", RESPONSES["HKIDCardOCR"])
    assert result.photo == PORTRAIT
    assert (result.fields["Permanent"], result.fields["FakeDetectResult"]) == ("1", "2")
    assert result.warn_codes == (-9102,)
    assert result.warn_flags()["warn_photocopy"] is True


def test_warn_flags_are_null_without_warn_codes() -> None:
    result = result_of("RecognizePhilippinesUMIDOCR", RESPONSES["RecognizePhilippinesUMIDOCR"])
    assert set(result.warn_flags().values()) == {None}


def test_indonesia_extra_warn_codes_are_kept() -> None:
    result = result_of("RecognizeIndonesiaIDCardOCR", RESPONSES["RecognizeIndonesiaIDCardOCR"])
    assert result.warn_codes == (-8102,)
    assert not any(result.warn_flags().values())
    assert result.photo is None  # empty Photo: no portrait asked for


def test_repr_shows_no_personal_data() -> None:
    result = result_of("MLIDCardOCR", RESPONSES["MLIDCardOCR"])
    assert "880412" not in repr(result) and "AISYAH" not in str(result)


def _refused(action: str, response: Any) -> TencentCloudAPIError:
    with pytest.raises(TencentCloudAPIError) as err:
        DocumentResult.from_response(require_action(action), response)
    assert err.value.code == "InvalidResponse" and err.value.kind is ErrorKind.PER_IMAGE
    assert err.value.may_have_been_billed
    return err.value


@pytest.mark.parametrize(
    ("action", "change", "named"),
    [
        ("MLIDCardOCR", {"Name": 12}, "Name"),
        ("HKIDCardOCR", {"Permanent": "1"}, "Permanent"),
        ("HKIDCardOCR", {"Permanent": True}, "Permanent"),  # a bool is not the documented integer
        ("RecognizeThaiIDCardOCR", {"IsComplete": "true"}, "IsComplete"),
        ("RecognizePhilippinesVoteIDOCR", {"VIN": "7604"}, "VIN"),  # a bare string, not {"Value": ...}
        ("RecognizePhilippinesVoteIDOCR", {"VIN": {"Value": 7604}}, "VIN"),
        ("MLIDPassportOCR", {"PassportRecognizeInfos": "P"}, "PassportRecognizeInfos"),
        ("MLIDPassportOCR", {"Image": 5}, "Image"),
        ("RecognizeThaiIDCardOCR", {"WarnCardInfos": [-9101, "x"]}, "WarnCardInfos"),
        ("RecognizeThaiIDCardOCR", {"WarnCardInfos": [2**31]}, "WarnCardInfos"),
        ("RecognizeThaiIDCardOCR", {"WarnCardInfos": [-(2**31) - 1]}, "WarnCardInfos"),
        ("RecognizeThaiIDCardOCR", {"WarnCardInfos": -9101}, "WarnCardInfos"),
        ("RecognizeThaiIDCardOCR", {"RequestId": 5}, "RequestId"),
    ],
)
def test_wrong_types_are_refused(action: str, change: dict[str, Any], named: str) -> None:
    response = copy.deepcopy(RESPONSES[action])
    response.update(change)
    err = _refused(action, response)
    assert named in err.message and action in err.message
    for value in ("880412", "NUR AISYAH", "Somchai", "7604-0123A"):
        assert value not in str(err)


def test_int32_limits_are_accepted() -> None:
    response = copy.deepcopy(RESPONSES["RecognizeThaiIDCardOCR"])
    response["WarnCardInfos"] = [-(2**31), 2**31 - 1]
    assert result_of("RecognizeThaiIDCardOCR", response).warn_codes == (-(2**31), 2**31 - 1)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_an_answer_without_any_card_field_is_refused(action: str) -> None:
    err = _refused(action, {"RequestId": REQUEST_ID})
    assert err.request_id == REQUEST_ID and "none of the action's card fields" in err.message


def test_only_numbers_and_warn_codes_is_no_card() -> None:
    _refused("RecognizeThaiIDCardOCR", {"CardCount": 0, "IsComplete": False, "WarnCardInfos": [], "RequestId": "r"})


def test_a_response_that_is_not_an_object() -> None:
    _refused("MLIDCardOCR", ["ID"])


def test_blank_fields_are_a_card() -> None:
    # A card read with every field blank is an answer (the fields are there), not a malformed one.
    result = result_of("MLIDCardOCR", {"ID": "", "Name": "", "RequestId": "r"})
    assert result.fields == {"ID": "", "Name": ""}


def test_broken_portrait_base64_is_no_portrait() -> None:
    response = copy.deepcopy(RESPONSES["MLIDCardOCR"])
    response["Image"] = "not base64!"
    assert result_of("MLIDCardOCR", response).photo is None
