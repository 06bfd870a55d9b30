"""An answer field of the wrong type is named in a sentence: "the answer's ID is not ...", never its value."""

from __future__ import annotations

import pytest

from airflow_provider_tencent_ocr.actions.registry import ACTIONS
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.actions.singapore_id_card import SingaporeIdCardResult
from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"ID": 900101145678, "Name": "ALI"}, "the answer's ID is not of the documented type"),
        ({"ID": ["x"], "Name": {"a": 1}}, "the answer's ID, Name are not of the documented type"),
    ],
)
def test_the_message_names_the_fields_in_a_sentence(response, expected):
    with pytest.raises(TencentCloudAPIError) as caught:
        DocumentResult.from_response(ACTIONS["MLIDCardOCR"], response)
    assert expected in str(caught.value) and "900101145678" not in str(caught.value)
    with pytest.raises(TencentCloudAPIError) as caught:
        SingaporeIdCardResult.from_response({"ID": 5, "EnName": "TAN"})
    assert "the answer's ID is not of the documented type" in str(caught.value)
