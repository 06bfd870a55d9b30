#!/usr/bin/env bash
# Set everything up (.venv, the project with its extras), then run the main job: generated ID-card
# images -> local Tencent Cloud OCR emulator -> example producer DAG -> Parquet -> Asset-scheduled
# warn report DAG, then a mixed manifest (SG IC, passport, MyKad) through the id-document DAG, and print
# a short summary. Extra arguments go to scripts/demo.py (see --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/demo.py" "$@"
