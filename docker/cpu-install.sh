#!/bin/sh
# Runs inside the debootstrap base (as root, no network) to make the local CPU experiment image:
# a venv holding the experiment stack from the wheels mounted at /wheels, `python` on PATH, an unprivileged user.
set -eu
python3 -m venv /opt/venv
/opt/venv/bin/pip install --no-index --find-links=/wheels --no-cache-dir --disable-pip-version-check -q \
  -r /recipe/requirements-cpu.txt
ln -sf /opt/venv/bin/python /usr/local/bin/python
useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin experiment
mkdir -p /work
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /root/.cache
find /opt/venv -name __pycache__ -prune -exec rm -rf {} +
/opt/venv/bin/python -c "import torch, numpy, scipy, matplotlib, pandas, tqdm"
