#!/usr/bin/env bash
# The main job on the embedded defaults: the local model, Prefect's ephemeral API, the Docker sandbox.
# Templates run at smoke size so a CPU finishes in minutes; pass AISCI_SMOKE=0 for full-size runs. One idea goes
# through experiments (parameter runs: the embedded model only sets the template's declared parameters), a
# paper and one review.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export AISCI_SMOKE="${AISCI_SMOKE:-1}"
workspace="${AISCI_WORKSPACE:-./workspace}"
.venv/bin/aisci doctor
.venv/bin/aisci run --template "${AISCI_DEMO_TEMPLATE:-2d_diffusion}" --num-ideas 1 --top-k 1 --reflections 0 \
  --max-runs 2 --max-attempts 3 --fix-rounds 1 --ensemble 1 --review-reflections 0 --workspace "$workspace"
sweep="$(ls -td "$workspace"/*-"${AISCI_DEMO_TEMPLATE:-2d_diffusion}" | head -1)"
for pdf in "$sweep"/*/paper.pdf; do
  [ -e "$pdf" ] || { echo "no paper this time: see $sweep/ideas.json and each idea's folder"; break; }
  echo "paper: $pdf (open it with any PDF viewer, e.g. xdg-open $pdf); its review: $(dirname "$pdf")/review.json"
done
echo "to browse the runs in the Prefect UI: .venv/bin/aisci up --workspace $workspace (it prints the address)"
