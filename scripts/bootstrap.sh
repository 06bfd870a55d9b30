#!/usr/bin/env bash
# Create (or reuse) .venv in the repository root and install, from the pinned resolution in
# requirements/lock.txt, the provider (editable, every extra) and beside it the emulator distribution
# in ./emulator (editable, with its offline OCR engine). Sourced by scripts/demo.sh and
# scripts/test.sh; safe to run again (it only installs what changed).
#   VENV=.venv-oldest LOCK=requirements/lock-oldest.txt bash scripts/bootstrap.sh
# sets up the oldest supported Airflow instead (CI does; see scripts/test.sh).
# Python files are compiled to bytecode at install time: the first import of Airflow in a fresh
# environment otherwise costs seconds (and is not cached where PYTHONDONTWRITEBYTECODE is set).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
LOCK="${LOCK:-requirements/lock.txt}"
cd "$ROOT"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
  "$PYTHON" -m venv "$VENV"
fi
# Every extra the provider declares (report, openlineage, dev, ...), so a new extra needs no edit here.
EXTRAS="$("$VENV/bin/python" -c 'import tomllib; print(",".join(tomllib.load(open("pyproject.toml", "rb"))["project"].get("optional-dependencies", {})))')"
# uv installs Airflow's ~250 packages in seconds; its own version comes from the lock too. pip is the
# fallback when uv cannot be installed.
UV_PIN="$(grep -m1 -E '^uv==' "$LOCK" | cut -d' ' -f1 || true)"
if [[ ! -x "$VENV/bin/uv" ]] || [[ -n "$UV_PIN" && "$("$VENV/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "${UV_PIN#uv==}" ]]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${UV_PIN:-uv}" || true
fi
if [[ -x "$VENV/bin/uv" ]]; then
  "$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" \
    -r "$LOCK" -e ".[$EXTRAS]" -e "./emulator[local]"
else
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$LOCK" -e ".[$EXTRAS]" -e "./emulator[local]"
fi
