#!/usr/bin/env bash
# Installs what the tests need, then runs lint and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The Prefect server tests run on PostgreSQL, as a deployment at scale would.
AISCI_TEST_DATABASE_URL="$(scripts/postgres.sh)"
export AISCI_TEST_DATABASE_URL
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/pytest "$@"
