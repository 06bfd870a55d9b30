#!/usr/bin/env bash
# The Airflow UI's Test Connection button on tencentcloud connections, in a real browser (Debian's
# Chromium driven by Selenium) against a real `airflow api-server` and the emulator, all on loopback,
# all started and stopped by scripts/ui_connection_test.py. Screenshots go to ${OUT:-ui-connection-test}/.
# Installs chromium and chromium-driver from Debian's packages when missing (CI machines are fresh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "== installing chromium and chromium-driver (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
.venv/bin/python scripts/ui_connection_test.py --out "${OUT:-ui-connection-test}"
