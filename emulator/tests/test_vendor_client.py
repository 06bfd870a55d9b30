"""The vendor's own client against the emulator: ``tencentcloud-sdk-python-intl-en`` (OcrClient).

That SDK must never be installed next to the provider (it overwrites ``tencentcloud.common``), so
it lives in a separate venv, created on first use under pytest's cache directory (reused while it
still imports; delete ``.pytest_cache`` to rebuild it) and installed from the configured package
index. The client runs in a subprocess of that venv; the emulator runs here, in-process. Skipped,
saying why, only if the SDK cannot be installed (a failure instead with TENCENT_OCR_REQUIRE_VENDOR_SDK=1).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
from sample_images import make_png

from tencent_ocr_emulator import actions, synthetic
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer

SDK = "tencentcloud-sdk-python-intl-en"
CLIENT_SCRIPT = Path(__file__).with_name("vendor_sdk_client.py")
FIELDS = {"EnName": "TAN AH KOW", "Sex": "M", "Birthday": "01/02/1980", "ID": "S1234567D", "Race": "CHINESE"}


def _clean_env() -> dict[str, str]:
    """The environment for the venv's processes: no proxies, no user site, nothing from this venv."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONUSERBASE"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.lower().endswith("_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _imports(python: Path) -> bool:
    probe = [str(python), "-c", "import tencentcloud.ocr.v20181119.ocr_client"]
    return python.exists() and subprocess.run(probe, env=_clean_env(), capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def vendor_python(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)
    root = cache.mkdir("vendor-sdk-venv") if cache is not None else tmp_path_factory.mktemp("vendor-sdk-venv")
    python = root / "bin" / "python"
    if _imports(python):
        return python
    venv.EnvBuilder(clear=True, with_pip=True).create(root)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check", SDK],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    if install.returncode != 0 or not _imports(python):
        reason = f"{SDK} could not be installed into a throwaway venv: {install.stderr.strip()[-500:]}"
        if os.environ.get("TENCENT_OCR_REQUIRE_VENDOR_SDK") == "1":  # CI: a skip would prove nothing
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def _run_client(python: Path, server: EmulatorServer, cases: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    config = {
        "endpoint": server.endpoint.removeprefix("http://"),
        "secret_id": server.secret_id,
        "secret_key": server.secret_key,
        "cases": cases,
    }
    done = subprocess.run(
        [str(python), str(CLIENT_SCRIPT), json.dumps(config)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_vendor_sdk_calls_the_emulator_every_way_the_service_accepts(vendor_python: Path) -> None:
    image = make_png(40, 30, seed=5)  # small: a GET request is limited to 32 KB
    recogniser = FixtureRecogniser(unknown="reject")
    recogniser.add(image, FIELDS, [-9108])
    b64 = base64.b64encode(image).decode()
    cases = {
        "tc3_post": {"params": {"ImageBase64": b64, "ReturnHeadImage": True}},
        "wrong_key": {"params": {"ImageBase64": b64}, "secret_key": "not-the-key"},
        "missing_image": {"params": {}},
        "v1_hmac_sha256_post": {"params": {"ImageBase64": b64, "ReturnHeadImage": True}, "sign_method": "HmacSHA256"},
        "v1_hmac_sha1_post": {"params": {"ImageBase64": b64}, "sign_method": "HmacSHA1"},
        "tc3_get": {"params": {"ImageBase64": b64, "ReturnHeadImage": True}, "req_method": "GET"},
        "v1_hmac_sha256_get": {"params": {"ImageBase64": b64}, "sign_method": "HmacSHA256", "req_method": "GET"},
        "v1_wrong_key_get": {
            "params": {"ImageBase64": b64},
            "sign_method": "HmacSHA256",
            "req_method": "GET",
            "secret_key": "not-the-key",
        },
    }
    with EmulatorServer(recogniser=recogniser, rate_limit=1000) as server:
        outcomes = _run_client(vendor_python, server, cases)
        billed = server.stats.billed

    for name in ("tc3_post", "v1_hmac_sha256_post", "v1_hmac_sha1_post", "tc3_get", "v1_hmac_sha256_get"):
        outcome = outcomes[name]
        assert outcome["code"] is None, (name, outcome)
        response = outcome["response"]
        assert {k: response[k] for k in FIELDS} == FIELDS, name
        assert response["WarnCardInfos"] == [-9108] and response["RequestId"], name
    for name in ("tc3_post", "v1_hmac_sha256_post", "tc3_get"):  # ReturnHeadImage=True, sent three ways
        assert base64.b64decode(outcomes[name]["response"]["Photo"]) == image[:64], name
    assert outcomes["v1_hmac_sha1_post"]["response"]["Photo"] == ""
    assert outcomes["wrong_key"]["code"] == "AuthFailure.SignatureFailure"
    assert outcomes["v1_wrong_key_get"]["code"] == "AuthFailure.SignatureFailure"
    assert outcomes["missing_image"]["code"] == "MissingParameter"
    for name in ("wrong_key", "v1_wrong_key_get", "missing_image"):
        assert outcomes[name]["request_id"], name  # an API answer, not a ServerNetworkError
    assert billed == 5


@pytest.mark.slow
def test_vendor_sdk_calls_every_action_and_its_typed_models_parse(vendor_python: Path) -> None:
    """Each action through ``OcrClient.<Action>`` with its typed request; the typed response model
    parses every field (Value objects, nested passport info, int / bool), the portrait comes back
    when asked, and the model's attributes are exactly the fields the emulator's facts list. A card
    sent to another document's action gets that action's "no card" error through the SDK too."""
    recogniser = FixtureRecogniser(unknown="reject")
    cases: dict[str, dict[str, Any]] = {}
    truths: dict[str, dict[str, str]] = {}
    for index, (name, facts) in enumerate(sorted(actions.ACTIONS.items())):
        image = make_png(20, 12, seed=50 + index)
        truths[name] = synthetic.answer(name, f"{index + 77:064x}")
        recogniser.add(image, truths[name], [-9103] if facts.warn_codes else [], action=name)
        params: dict[str, Any] = {"ImageBase64": base64.b64encode(image).decode()}
        if facts.head_image_parameter:
            params[facts.head_image_parameter] = True
        cases[name] = {"action": name, "params": params}
        cases[f"{name}/wrong-card"] = {"action": name, "params": {"ImageBase64": base64.b64encode(make_png()).decode()}}
    with EmulatorServer(recogniser=recogniser, rate_limit=1000) as server:
        outcomes = _run_client(vendor_python, server, cases)

    for name, facts in actions.ACTIONS.items():
        outcome, truth = outcomes[name], truths[name]
        assert outcome["code"] is None, (name, outcome)
        response, types = outcome["response"], outcome["types"]
        expected = {
            *facts.text_fields,
            *facts.value_fields,
            *facts.typed_fields,
            *facts.object_fields,
            *facts.deprecated_fields,
        }
        expected |= {*facts.image_fields, "RequestId"} | ({"WarnCardInfos"} if facts.warn_codes else set())
        assert set(outcome["model_fields"]) == expected, name  # the emulator's facts = the SDK's model
        for key in facts.text_fields:
            assert types[key] == "str" and response[key] == truth.get(key, ""), (name, key)
        for key in facts.value_fields:
            assert types[key] == "TextDetectionResult" and response[key]["Value"] == truth.get(key, ""), (name, key)
        for key, kind in facts.typed_fields.items():
            assert types[key] == kind, (name, key)
        for obj, names in facts.object_fields.items():
            assert types[obj] == obj  # PassportRecognizeInfos, parsed into its model
            assert {n: response[obj][n] for n in names} == {n: truth.get(f"{obj}.{n}", "") for n in names}
        for key in facts.image_fields:
            photo = response[key]["Value"] if facts.value_fields else response[key]
            assert photo, (name, key)
        if facts.warn_codes:
            assert response["WarnCardInfos"] == [-9103]
        wrong = outcomes[f"{name}/wrong-card"]
        assert wrong["code"] == facts.no_card_code and wrong["request_id"], name


def test_the_vendor_sdk_is_not_in_this_environment() -> None:
    """The provider's environment keeps its own ``tencentcloud.common``; the OCR module is absent."""
    probe = subprocess.run([sys.executable, "-c", "import tencentcloud.ocr"], capture_output=True)
    assert probe.returncode != 0
