#!/usr/bin/env bash
# Create (or reuse) .venv in the repository root and install the provider (with its report and dev
# extras) and, beside it, the emulator distribution in ./emulator (with its offline OCR engine).
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it only installs what changed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
  "$PYTHON" -m venv .venv
fi
# uv resolves and installs Airflow's ~200 packages in seconds; pip is the fallback.
if [[ ! -x .venv/bin/uv ]]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv || true
fi
if [[ -x .venv/bin/uv ]]; then
  .venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[report,dev]" -e "./emulator[local]"
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[report,dev]" -e "./emulator[local]"
fi
