#!/usr/bin/env bash
# The main job on the embedded defaults: local model, ephemeral Prefect, Docker sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/aisci doctor
.venv/bin/aisci llm "In one sentence, what is a denoising diffusion model?"
