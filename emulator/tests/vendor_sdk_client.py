"""Runs INSIDE a throwaway venv holding the vendor's international SDK; never imported by the tests.

``python vendor_sdk_client.py CONFIG_JSON`` calls each case's action (default
RecognizeSingaporeIDCardOCR) through ``tencentcloud.ocr.v20181119.OcrClient`` with its typed request
model and prints ``{case: outcome}`` as JSON, where an outcome is ``{"code": None, "response": {...},
"types": {field: type of the parsed attribute}, "model_fields": [...]}`` or ``{"code": ..., "message":
..., "request_id": ...}``. ``model_fields`` lists the typed response model's attributes, so the test
can compare them with the emulator's facts.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ocr.v20181119 import models, ocr_client


def run_case(config: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    http = HttpProfile(endpoint=config["endpoint"], protocol="http", reqMethod=case.get("req_method", "POST"))
    http.reqTimeout = 30
    profile = ClientProfile(signMethod=case.get("sign_method"), httpProfile=http)
    credential = Credential(config["secret_id"], case.get("secret_key", config["secret_key"]))
    client = ocr_client.OcrClient(credential, "ap-singapore", profile)
    action = case.get("action", "RecognizeSingaporeIDCardOCR")
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(case["params"]))
    try:
        response = getattr(client, action)(request)
    except TencentCloudSDKException as err:
        return {"code": err.get_code(), "message": err.get_message(), "request_id": err.get_request_id()}
    names = [name.lstrip("_") for name in vars(getattr(models, f"{action}Response")())]
    return {
        "code": None,
        "response": json.loads(response.to_json_string()),
        "types": {name: type(getattr(response, name)).__name__ for name in names},
        "model_fields": names,
    }


def main() -> None:
    config = json.loads(sys.argv[1])
    print(json.dumps({name: run_case(config, case) for name, case in config["cases"].items()}))


if __name__ == "__main__":
    main()
