#!/usr/bin/env bash
# Set everything up (.venv from the pinned resolution, the project with its extras) and run the
# linters and the test suite; extra arguments go to pytest.
# With CI=true (or TEST_OLDEST=1) the suite then runs again on the oldest supported Airflow, in
# .venv-oldest installed from requirements/lock-oldest.txt, so the floor in pyproject.toml is proven.
# With CI=true (or TEST_CELERY=1) a 300-image run of the sharded DAG on a real CeleryExecutor
# deployment (PostgreSQL, Redis, two workers; scripts/celery_deployment.sh) keeps the distributed path
# from rotting, and the vendor-SDK test must install its SDK rather than skip.
# With CI=true (or TEST_UI=1) the UI's Test Connection button is clicked in Debian's Chromium
# (scripts/ui_connection_test.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (the provider package, configured in pyproject.toml)"
.venv/bin/mypy
if [[ "${CI:-}" == "true" ]]; then
  export TENCENT_OCR_REQUIRE_VENDOR_SDK=1
fi
echo "== tests on $(.venv/bin/python -c 'import airflow; print("Airflow", airflow.__version__)')"
.venv/bin/python -m pytest "$@"
if [[ "${CI:-}" == "true" || "${TEST_UI:-}" == "1" ]]; then
  echo "== the UI's Test Connection button in Chromium (api-server, emulator, Selenium; screenshots in ui-connection-test/)"
  bash "$ROOT/scripts/ui_connection_test.sh"
fi
if [[ "${CI:-}" == "true" || "${TEST_CELERY:-}" == "1" ]]; then
  echo "== distributed smoke run: CeleryExecutor, PostgreSQL, Redis, 300 images"
  bash "$ROOT/scripts/celery_deployment.sh" --images 300
fi
if [[ "${CI:-}" == "true" || "${TEST_OLDEST:-}" == "1" ]]; then
  VENV=.venv-oldest LOCK=requirements/lock-oldest.txt bash "$ROOT/scripts/bootstrap.sh"
  echo "== tests on $(.venv-oldest/bin/python -c 'import airflow; print("Airflow", airflow.__version__)') (oldest supported)"
  .venv-oldest/bin/python -m pytest "$@"
fi
