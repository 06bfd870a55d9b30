"""Every ID-document action is served as the reference describes it, each with its own limit per account.

Requests are signed by ``emulator_client.py`` (written from the published algorithms), over real HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_client import Client, code
from sample_images import make_png

from tencent_ocr_emulator import actions, numbers, synthetic
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer, rate_limits

ALL = sorted(actions.ACTIONS)
NO_CARD = {
    "MLIDCardOCR": "FailedOperation.NoMASIDCard",
    "HKIDCardOCR": "FailedOperation.NoHKIDCard",
    "MLIDPassportOCR": "FailedOperation.NoPassport",
}


def _image(action: str) -> bytes:
    return make_png(24, 16, seed=ALL.index(action) + 1)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """One fixture card per action (its synthetic answer as the truth), nothing else known."""
    recogniser = FixtureRecogniser(unknown="reject")
    for action in ALL:
        recogniser.add(_image(action), synthetic.answer(action, f"{ALL.index(action):064x}"), [], action=action)
    with EmulatorServer(recogniser=recogniser, rate_limit=1000) as emulator:
        yield emulator


def _call(server: EmulatorServer, action: str, params: dict[str, Any]) -> dict[str, Any]:
    status, answer = Client(server.endpoint, server.secret_id, server.secret_key, action=action).tc3_post(params)
    assert status == 200
    return answer


@pytest.mark.parametrize("action", ALL)
def test_each_action_answers_with_its_reference_fields_and_types(server: EmulatorServer, action: str) -> None:
    facts = actions.ACTIONS[action]
    params: dict[str, Any] = {"ImageBase64": base64.b64encode(_image(action)).decode()}
    if facts.head_image_parameter:
        params[facts.head_image_parameter] = True
    answer = _call(server, action, params)
    assert code(answer) is None, answer
    response = answer["Response"]
    truth = synthetic.answer(action, f"{ALL.index(action):064x}")
    for key in facts.text_fields:
        assert isinstance(response[key], str) and response[key] == truth.get(key, ""), key
    for key in facts.value_fields:
        assert response[key] == {"Value": truth.get(key, "")}, key
    for key, kind in facts.typed_fields.items():
        assert type(response[key]).__name__ == kind, key
    for obj, names in facts.object_fields.items():
        assert set(response[obj]) == set(names)
        assert all(response[obj][name] == truth.get(f"{obj}.{name}", "") for name in names)
    for key in facts.image_fields:
        photo = response[key]["Value"] if facts.value_fields else response[key]
        assert base64.b64decode(photo) == _image(action)[:64], key  # the portrait, because it was asked
    assert ("WarnCardInfos" in response) == facts.warn_codes
    assert all(response[key] == constant for key, constant in facts.deprecated_fields.items())
    expected = {
        *facts.text_fields,
        *facts.value_fields,
        *facts.typed_fields,
        *facts.object_fields,
        *facts.deprecated_fields,
    }
    expected |= {*facts.image_fields, "RequestId"} | ({"WarnCardInfos"} if facts.warn_codes else set())
    assert set(response) == expected


@pytest.mark.parametrize("action", ALL)
def test_portraits_only_when_asked(server: EmulatorServer, action: str) -> None:
    facts = actions.ACTIONS[action]
    response = _call(server, action, {"ImageBase64": base64.b64encode(_image(action)).decode()})["Response"]
    for key in facts.image_fields:
        assert response[key] in ("", {"Value": ""}), key


@pytest.mark.parametrize("action", ALL)
def test_another_documents_card_or_an_unknown_image_is_not_found(server: EmulatorServer, action: str) -> None:
    other = ALL[(ALL.index(action) + 1) % len(ALL)]
    expected = NO_CARD.get(action, "FailedOperation.ImageNoIdCard")
    billed = server.stats.billed
    for image in (_image(other), make_png(24, 16, seed=99)):
        answer = _call(server, action, {"ImageBase64": base64.b64encode(image).decode()})
        assert code(answer) == expected
    assert server.stats.billed == billed


def test_parameters_belong_to_their_action(server: EmulatorServer) -> None:
    b64 = base64.b64encode(_image("RecognizeThaiIDCardOCR")).decode()
    thai = "RecognizeThaiIDCardOCR"
    assert code(_call(server, thai, {"ImageBase64": b64, "ReturnHeadImage": True})) == "UnknownParameter"
    assert code(_call(server, "RecognizeSingaporeIDCardOCR", {"ImageBase64": b64, "CropPortrait": True})) == (
        "UnknownParameter"
    )
    # The back side is checked as an image (here: not one), and only taken by the actions that have it.
    assert code(_call(server, thai, {"ImageBase64": b64, "BackImageBase64": "bm90IGFuIGltYWdl"})) == (
        "FailedOperation.ImageDecodeFailed"
    )
    assert code(_call(server, thai, {"ImageBase64": b64, "BackImageBase64": b64})) is None
    assert code(_call(server, "HKIDCardOCR", {"ImageBase64": b64, "BackImageBase64": b64})) == "UnknownParameter"


@pytest.mark.parametrize("action", ["MLIDCardOCR", "HKIDCardOCR", "MLIDPassportOCR"])
def test_image_url_is_refused_where_the_reference_says_it_is_unavailable(server: EmulatorServer, action: str) -> None:
    answer = _call(server, action, {"ImageUrl": f"{server.endpoint}/image.png"})
    assert code(answer) == "InvalidParameter"
    assert "ImageBase64" in answer["Response"]["Error"]["Message"]


def test_indonesia_takes_at_most_2_mb_of_base64(server: EmulatorServer) -> None:
    too_big = "A" * (2 * 1024 * 1024 + 4)
    answer = _call(server, "RecognizeIndonesiaIDCardOCR", {"ImageBase64": too_big})
    assert code(answer) == "FailedOperation.ImageSizeTooLarge"


def test_each_action_has_its_own_limit_per_account() -> None:
    """Indonesia (5/s stated) throttles its sixth request in a second; Singapore (20/s) and another
    account are untouched by it."""
    with EmulatorServer(credentials=None) as emulator:
        assert emulator.rate_limits["RecognizeIndonesiaIDCardOCR"] == 5
        assert emulator.rate_limits["RecognizeSingaporeIDCardOCR"] == 20
        b64 = base64.b64encode(make_png(8, 8, seed=3)).decode()
        indonesia = [code(_call(emulator, "RecognizeIndonesiaIDCardOCR", {"ImageBase64": b64})) for _ in range(7)]
        singapore = [code(_call(emulator, "RecognizeSingaporeIDCardOCR", {"ImageBase64": b64})) for _ in range(7)]
    assert indonesia.count(None) == 5 and indonesia.count("RequestLimitExceeded") == 2
    assert singapore == [None] * 7


def test_limits_per_account() -> None:
    from tencent_ocr_emulator.signature import Credentials

    creds = {"AKIDone": Credentials("key-one", None), "AKIDtwo": Credentials("key-two", None)}
    with EmulatorServer(credentials=creds, rate_limit={"MLIDCardOCR": 2}) as emulator:
        b64 = base64.b64encode(make_png(8, 8, seed=4)).decode()
        one = Client(emulator.endpoint, "AKIDone", "key-one", action="MLIDCardOCR")
        two = Client(emulator.endpoint, "AKIDtwo", "key-two", action="MLIDCardOCR")
        first = [code(one.tc3_post({"ImageBase64": b64})[1]) for _ in range(3)]
        second = [code(two.tc3_post({"ImageBase64": b64})[1]) for _ in range(2)]
    assert first == [None, None, "RequestLimitExceeded"] and second == [None, None]


def test_rate_limit_settings() -> None:
    defaults = rate_limits(None)
    assert defaults == {name: facts.rate_limit for name, facts in actions.ACTIONS.items()}
    stated = {name: rate for name, rate in defaults.items() if actions.ACTIONS[name].rate_stated}
    assert stated == {
        "RecognizeSingaporeIDCardOCR": 20,
        "RecognizeThaiIDCardOCR": 10,
        "RecognizeIndonesiaIDCardOCR": 5,
        "RecognizePhilippinesVoteIDOCR": 20,
    }
    assert {rate for name, rate in defaults.items() if name not in stated} == {actions.UNSTATED_RATE_LIMIT}
    assert set(rate_limits(7).values()) == {7}
    assert rate_limits({"HKIDCardOCR": 1})["HKIDCardOCR"] == 1
    with pytest.raises(ValueError, match="unknown action 'Nope'"):
        rate_limits({"Nope": 1})


@pytest.mark.parametrize("action", ALL)
def test_synthetic_answers_are_valid_documents(action: str) -> None:
    """Load tests over arbitrary images get cards whose numbers pass their public checks."""
    for seed in range(30):
        fields = synthetic.answer(action, f"{seed * 7919:064x}")
        assert any(fields.values())
        if action == "HKIDCardOCR":
            match = re.fullmatch(r"([A-Z]{1,2})(\d{6})\(([0-9A])\)", fields["IdNum"])
            assert match and numbers.hkid_check_digit(match[1], match[2]) == match[3]
        elif action == "RecognizeThaiIDCardOCR":
            digits = fields["ID"].replace(" ", "")
            assert numbers.thai_check_digit(digits[:12]) == digits[12]
        elif action == "MLIDPassportOCR":
            assert numbers.td3_valid(fields["CodeCrc"]) and len(fields["CodeSet"]) == 44
        elif action == "MLIDCardOCR":
            born = dt.datetime.strptime(fields["Birthday"], "%d/%m/%Y").date()
            assert fields["ID"][:6] == f"{born:%y%m%d}"
            assert (int(fields["ID"][-1]) % 2 == 1) == (fields["Sex"] == "LELAKI")
        elif action == "RecognizeIndonesiaIDCardOCR":
            day = int(fields["NIK"][6:8])
            assert (day > 40) == (fields["JenisKelamin"] == "PEREMPUAN")


def test_published_check_digit_examples() -> None:
    assert numbers.hkid_check_digit("A", "123456") == "3"  # A123456(3), the usual published example
    assert numbers.mrz_check_digit("L898902C3") == "6"  # ICAO 9303 part 4 specimen
    line1, line2 = numbers.td3_lines(
        issuing="UTO",
        surname="ERIKSSON",
        given="ANNA MARIA",
        number="L898902C3",
        nationality="UTO",
        birth=dt.date(1974, 8, 12),
        sex="F",
        expiry=dt.date(2012, 4, 15),
        personal="ZE184226B",
    )
    assert line1 == "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
    assert line2 == "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    assert numbers.td3_valid(line2)
    assert not numbers.td3_valid(line2[:27] + "5" + line2[28:])  # a wrong expiry check digit
    assert not numbers.td3_valid(line2[:43] + "1")  # a wrong composite
    # 1*13 + 1*12 + 0*11 + 1*10 + 7*9 + 0*8 + 0*7 + 2*6 + 0*5 + 3*4 + 4*3 + 5*2 = 144; (11 - 144 % 11) % 10 = 0
    assert numbers.thai_check_digit("110170020345") == "0"
    assert numbers.thai_check_digit("110170020346") == "8"  # 146 % 11 = 3 -> 8
