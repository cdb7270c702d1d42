#!/usr/bin/env bash
# A PostgreSQL server for the Prefect server tests (Debian's package), with an empty aisci_test database.
# Prints the SQLAlchemy URL. Safe to run again.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed"; then
  echo "==> apt: installing postgresql" >&2
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi
read -r version cluster port _ < <(pg_lsclusters --no-header | head -n 1)
if ! pg_lsclusters --no-header | grep -q online; then
  $SUDO pg_ctlcluster "$version" "$cluster" start >&2
fi
as_postgres() { $SUDO -u postgres "$@"; }
if [ "$(id -u)" -eq 0 ]; then as_postgres() { su postgres -c "$(printf '%q ' "$@")"; }; fi
if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='aisci'")" != "1" ]; then
  as_postgres psql -q -c "CREATE ROLE aisci LOGIN PASSWORD 'aisci'" >&2
fi
as_postgres dropdb --if-exists aisci_test >&2
as_postgres createdb -O aisci aisci_test >&2
echo "postgresql+asyncpg://aisci:aisci@127.0.0.1:${port}/aisci_test"
