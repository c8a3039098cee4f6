#!/usr/bin/env bash
# Makes sure Redis (6379), a 3-master Redis Cluster (7000-7002) and
# PostgreSQL (5432, trust auth on loopback, database "test") run locally.
# Installs missing servers from Debian packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=
install_pkgs() { # install_pkgs PACKAGE...
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
need_pkg() { # need_pkg COMMAND PACKAGE...: install PACKAGEs unless COMMAND exists
  command -v "$1" >/dev/null 2>&1 || install_pkgs "${@:2}"
}

# Redis
need_pkg redis-server redis-server redis-tools
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
echo "redis: $(redis-cli -p 6379 ping)"

# Redis Cluster
if [ -f .ci/redis-cluster.sh ]; then bash .ci/redis-cluster.sh; fi

# PostgreSQL
# (the client tools may be installed without the server, so look for it)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || install_pkgs postgresql
version=$(ls /etc/postgresql | sort -V | tail -1)
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.1; done
fi
if ! psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qtAc 'select 1' >/dev/null 2>&1; then
  # A fresh install asks for a password on TCP: trust loopback, as the tests expect.
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi
if ! psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qtAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qc 'create database test'
fi
echo "postgres: $(pg_isready -h 127.0.0.1 -p 5432)"

# Python with Flask, Starlette and uvicorn, for the interop tests of
# compat/itsdangerous (they run Debian's /usr/bin/python3, not the first
# python3 on PATH)
if ! /usr/bin/python3 -c 'import flask, starlette, uvicorn, itsdangerous' >/dev/null 2>&1; then
  install_pkgs python3 python3-flask python3-starlette python3-uvicorn
fi
echo "python: $(/usr/bin/python3 -c 'from importlib.metadata import version as v; print(*(m + " " + v(m) for m in ("flask", "starlette", "uvicorn", "itsdangerous")))')"
