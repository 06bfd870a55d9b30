"""Test-wide setup: an isolated AIRFLOW_HOME, and small helpers shared by the test modules."""

from __future__ import annotations

import os
import tempfile

# Airflow reads its home at import time: point it at a throwaway folder before anything imports it.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="tencent-ocr-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
for _name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"):
    os.environ.pop(_name, None)
