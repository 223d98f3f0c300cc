#!/usr/bin/env bash
# Installs what inventory_erp needs to build, test and demo, when it is missing:
# a C toolchain, PostgreSQL 15 server and headers, pgTAP and pg_prove. Debian 12 only;
# needs root for apt-get. Does nothing when everything is already there.
set -euo pipefail

PGVER=15
missing=()
command -v gcc  >/dev/null 2>&1 || missing+=(build-essential)
command -v make >/dev/null 2>&1 || missing+=(build-essential)
[ -x /usr/lib/postgresql/$PGVER/bin/postgres ]        || missing+=(postgresql-$PGVER)
[ -f /usr/include/postgresql/$PGVER/server/postgres.h ] || missing+=(postgresql-server-dev-$PGVER)
[ -f /usr/share/postgresql/$PGVER/extension/pgtap.control ] || missing+=(postgresql-$PGVER-pgtap)
command -v pg_prove >/dev/null 2>&1 || missing+=(postgresql-$PGVER-pgtap)
command -v runuser  >/dev/null 2>&1 || missing+=(util-linux)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; install these Debian packages first: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's postgresql-common would create and start a "main" cluster as a system
# service; the project runs clusters of its own, so keep the package from doing that.
mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
fi
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
echo "deps: done"
