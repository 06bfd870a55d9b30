#!/usr/bin/env bash
# Re-resolve the pinned installs from the two pyproject.toml files (every extra of each):
#   requirements/lock.txt         the newest Airflow the ranges allow (demo, tests, CI)
#   requirements/lock-oldest.txt  the oldest supported Airflow (the floor in pyproject.toml, written
#                                 to requirements/airflow-floor.txt; CI tests it in .venv-oldest)
# The published package keeps its loose ranges; only these files pin. Upgrading the pin is one
# command, `bash scripts/lock.sh --upgrade` (then `bash scripts/test.sh` and commit requirements/).
# Without --upgrade, whatever is pinned stays pinned and only what a pyproject change needs moves:
# that is how to add a dependency (edit a pyproject.toml, run `bash scripts/lock.sh`). Other
# arguments go to `uv pip compile` too, e.g. `--upgrade-package pandas`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$(command -v .venv/bin/uv || command -v uv || true)}"
[[ -n "$UV" ]] || { echo "uv is needed: bash scripts/bootstrap.sh (or pip install uv)" >&2; exit 1; }
PYTHON="${PYTHON:-$(command -v .venv/bin/python || command -v python3)}"
mkdir -p requirements

compile() {  # compile <output> [extra uv args...]
  local out="$1"
  shift
  # --universal: one file for every platform and Python >= requires-python (markers where they differ).
  "$UV" pip compile --quiet --universal --python-version 3.11 --all-extras \
    --output-file "$out" --custom-compile-command "bash scripts/lock.sh" \
    pyproject.toml emulator/pyproject.toml "$@"
}

compile requirements/lock.txt "$@"

# The oldest supported Airflow: the floor of the provider's own requirement (">=3.2,<4" -> 3.2.0).
"$PYTHON" scripts/airflow_floor.py pin >requirements/airflow-floor.txt
# Resolved the way Airflow's own constraints for that release are: with the packages of its day
# (a later pydantic, fastapi or cadwyn breaks Airflow 3.2.0's API server). The emulator's
# exactly pinned OCR engine and its fonts are exempt from the date; nothing in Airflow uses them.
RELEASED="$("$PYTHON" scripts/airflow_floor.py released)"
LATER="2100-01-01T00:00:00Z"
compile requirements/lock-oldest.txt --constraint requirements/airflow-floor.txt --exclude-newer "$RELEASED" \
  --exclude-newer-package "rapidocr=$LATER" --exclude-newer-package "manimgx-fonts-cjk=$LATER" "$@"

echo "locked: $(grep -m1 '^apache-airflow==' requirements/lock.txt) (newest)," \
  "$(grep -m1 '^apache-airflow==' requirements/lock-oldest.txt) (oldest, packages before $RELEASED)"
