#!/usr/bin/env bash
# Installs what inventory_erp needs to build, test, demo and bench, when it is
# missing.  Debian 12 only; needs root for apt-get.  Does nothing when
# everything is already there.
#
# Every check below is for a file or command a script of this project really
# runs (not a proxy for it), mapped to the Debian package that ships it.  The
# install uses --no-install-recommends, so every package needed is named here
# explicitly (pg_prove, for one, is only a Recommends of postgresql-15-pgtap).
#
#   scripts/deps.sh            what `make`, `make test`, `make demo` and `make bench` run
#   scripts/deps.sh valgrind   the same plus valgrind (scripts/valgrind.sh only)
set -euo pipefail

PGVER=15
PGBIN=/usr/lib/postgresql/$PGVER/bin
PGXS_DIR=/usr/lib/postgresql/$PGVER/lib/pgxs
missing=()
absent=()

# need_cmd COMMAND PACKAGE: COMMAND must be on the PATH.
need_cmd() { command -v "$1" >/dev/null 2>&1 || { missing+=("$2"); absent+=("$1"); }; }
# need_file PATH PACKAGE: PATH must exist (executables: must be executable).
need_file() {
    if [ -e "$1" ] && { [ "${1#*/bin/}" = "$1" ] || [ -x "$1" ]; }; then return 0; fi
    missing+=("$2"); absent+=("$1")
}
# need_perl MODULE PACKAGE: perl must load MODULE.
need_perl() { perl -M"$1" -e 1 >/dev/null 2>&1 || { missing+=("$2"); absent+=("perl:$1"); }; }
# need_python MODULE PACKAGE: Debian's python3 (/usr/bin/python3, not whatever
# python3 comes first on the PATH: a pyenv or venv one does not see Debian's
# packages) must import MODULE.
need_python() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1 || { missing+=("$2"); absent+=("python3:$1"); }; }

check_all() {
    missing=()
    absent=()
    # building the module (PGXS): the compiler, libc headers, make, the server
    # headers and pg_config; Debian's PGXS also emits LLVM bitcode for JIT
    # (with_llvm = yes), which runs clang-14 and llvm-lto.
    need_cmd  gcc                                   gcc
    need_file /usr/include/stdio.h                  libc6-dev
    need_cmd  make                                  make
    need_file /usr/include/postgresql/$PGVER/server/postgres.h postgresql-server-dev-$PGVER
    need_file $PGXS_DIR/src/makefiles/pgxs.mk       postgresql-server-dev-$PGVER
    need_file $PGBIN/pg_config                      postgresql-client-$PGVER
    need_file /usr/bin/clang-14                     clang-14
    need_file /usr/lib/llvm-14/bin/llvm-lto         llvm-14
    # the server programs run by scripts/pgenv.sh and bench/run.sh
    need_file $PGBIN/postgres                       postgresql-$PGVER
    need_file $PGBIN/initdb                         postgresql-$PGVER
    need_file $PGBIN/pg_ctl                         postgresql-$PGVER
    need_file $PGBIN/pgbench                        postgresql-$PGVER
    # the clients run by scripts/test.sh, scripts/demo.sh and test/shell/*.sh
    need_file $PGBIN/psql                           postgresql-client-$PGVER
    need_file $PGBIN/createdb                       postgresql-client-$PGVER
    need_file $PGBIN/dropdb                         postgresql-client-$PGVER
    need_file $PGBIN/pg_dump                        postgresql-client-$PGVER
    need_file $PGBIN/pg_restore                     postgresql-client-$PGVER
    # the test drivers scripts/test.sh runs from PGXS
    need_file $PGXS_DIR/src/test/regress/pg_regress postgresql-client-$PGVER
    need_file $PGXS_DIR/src/test/isolation/pg_isolation_regress postgresql-client-$PGVER
    # pgTAP: the extension's files, and pg_prove with the perl modules it loads
    need_file /usr/share/postgresql/$PGVER/extension/pgtap.control postgresql-$PGVER-pgtap
    need_cmd  perl                                  perl
    need_cmd  pg_prove                              libtap-parser-sourcehandler-pgtap-perl
    need_perl TAP::Parser::SourceHandler::pgTAP     libtap-parser-sourcehandler-pgtap-perl
    need_perl TAP::Harness                          perl
    # the example client (examples/connector.py) that test/shell/integration_client.sh
    # runs: Python 3 and psycopg 3 (Debian ships psycopg 3 as python3-psycopg)
    need_file /usr/bin/python3                      python3
    need_python psycopg                             python3-psycopg
    # test/shell/pg_cron_jobs.sh: erp.schedule_jobs registers its jobs with pg_cron
    need_file /usr/share/postgresql/$PGVER/extension/pg_cron.control postgresql-$PGVER-cron
    # test/shell/prometheus_exporter.sh: the exporter it starts and scrapes
    need_file /usr/bin/prometheus-postgres-exporter prometheus-postgres-exporter
    # the owner of the throwaway clusters (created by postgresql-common), and the
    # way root runs commands as it
    getent passwd postgres >/dev/null 2>&1 || { missing+=(postgresql-common); absent+=("user postgres"); }
    need_cmd  runuser                               util-linux
    # the shell tools the scripts use (all in a Debian minbase; checked anyway)
    need_cmd  awk                                   mawk
    need_cmd  sed                                   sed
    need_cmd  grep                                  grep
    need_cmd  diff                                  diffutils
    need_cmd  xargs                                 findutils
    need_cmd  timeout                               coreutils
    need_cmd  mktemp                                coreutils
    need_cmd  nproc                                 coreutils

    if [ "$WANT" = valgrind ]; then
        need_cmd valgrind                           valgrind
    fi
    if [ "$WANT" = check-forecast ]; then
        # scripts/check-forecast.sh: the reference implementation it compares with
        need_python statsmodels                     python3-statsmodels
    fi
    if [ "$WANT" = report ]; then
        # scripts/check-report.sh: headless Chromium and a font to lay the page out with
        need_file /usr/bin/chromium                 chromium
        need_file /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core
    fi
}

WANT=${1:-}
check_all

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "deps: missing ${absent[*]}"
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; install these Debian packages first: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# another apt run (a second `make test` starting at the same time, unattended
# upgrades) holds dpkg's lock: wait for it rather than fail
APT_WAIT=(-o DPkg::Lock::Timeout=600)
apt-get "${APT_WAIT[@]}" update -qq
# Debian's postgresql-common would create and start a "main" cluster as a system
# service; the project runs clusters of its own, so keep the package from doing that.
mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
fi
apt-get "${APT_WAIT[@]}" install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null

# the exporter's package enables and starts its own service where systemd runs;
# the project starts the exporter itself, on a throwaway cluster
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus-postgres-exporter >/dev/null 2>&1 || true
fi

# check again: a package that does not ship what we expected is a bug here
check_all
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: still missing after the install: ${absent[*]}" >&2
    exit 1
fi
echo "deps: done"
