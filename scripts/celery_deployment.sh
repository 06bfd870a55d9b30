#!/usr/bin/env bash
# A distributed Airflow deployment on this machine, loopback only: PostgreSQL + Redis (Debian packages),
# Airflow with the CeleryExecutor (api-server, scheduler, dag-processor, two Celery workers), the OCR
# emulator at 20 requests/s, and the sharded example DAG over generated images. Installs what is
# missing, then runs scripts/celery_deployment.py, which stops everything it started on the way out.
#   bash scripts/celery_deployment.sh                      # 2000 images
#   bash scripts/celery_deployment.sh --kill-worker        # SIGKILL one Celery worker half-way
#   bash scripts/celery_deployment.sh --images 300         # the CI smoke run
# Exit status 0 only when every manifest row is in the dataset exactly once and ok.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
[[ -x "$VENV/bin/python" ]] || bash scripts/bootstrap.sh

# PostgreSQL and Redis from Debian (root, as on CI). Their packaged services are not used: the run
# starts its own private instances on free loopback ports.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install ${missing[*]} first (apt-get install ${missing[*]})" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Celery provider and the PostgreSQL driver (the provider's [celery] extra).
if ! "$VENV/bin/python" -c 'import airflow.providers.celery.executors.celery_executor, psycopg2, asyncpg' >/dev/null 2>&1; then
  if [[ -x "$VENV/bin/uv" ]]; then
    "$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -e ".[celery]"
  else
    "$VENV/bin/python" -m pip install --quiet -e ".[celery]"
  fi
fi

"$VENV/bin/python" scripts/celery_deployment.py "$@" &
pid=$!
# The Python side stops everything it started on SIGTERM/SIGINT; pass them on and wait for it.
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' INT TERM
wait "$pid"
