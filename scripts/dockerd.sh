#!/usr/bin/env bash
# Starts the Docker engine when it is not answering (no systemd needed) and waits until it does.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if $SUDO docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd not found: install docker.io (scripts/setup.sh does)" >&2
  exit 1
fi
log=/var/log/aisci-dockerd.log
echo "==> starting dockerd (log: $log)"
$SUDO setsid -f sh -c "exec dockerd >>$log 2>&1 </dev/null"
for _ in $(seq 1 60); do
  if $SUDO docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd did not answer within 30 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
