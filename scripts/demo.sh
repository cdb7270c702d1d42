#!/usr/bin/env bash
# The main job on the embedded defaults: the local model, Prefect's ephemeral API, the Docker sandbox.
# Templates run at smoke size so a CPU finishes in minutes; pass AISCI_SMOKE=0 for full-size runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export AISCI_SMOKE="${AISCI_SMOKE:-1}"
.venv/bin/aisci doctor
.venv/bin/aisci run --template "${AISCI_DEMO_TEMPLATE:-2d_diffusion}" --num-ideas 2 --top-k 1 --reflections 1 --max-runs 2
