#!/usr/bin/env bash
# breakops_unschedule_dba_job: erp.unschedule_jobs() must remove only the
# extension's jobs (the names erp.maintenance_jobs() lists), never a job the
# DBA scheduled under a similar name.  It removes every job of the caller whose
# name matches LIKE 'inventory\_erp.%': a DBA's own nightly export named
# 'inventory_erp.nightly_export' (a natural name for a shop's job about this
# extension) is unscheduled with them, silently.  Also checked (these hold):
# an admin without USAGE on schema cron gets 42501 and nothing is scheduled;
# an operator gets 42501; two concurrent schedule_jobs() calls register each
# job once; a job named 'inventory_erpXnightly' stays.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
DIR=$WORK/breakops_cron/data
cleanup() { pg_stop "$DIR"; }
trap cleanup EXIT
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
PORT=$(pg_free_port)
( pg_start "$DIR" "$PORT" fsync=off shared_preload_libraries=pg_cron cron.database_name=shop \
      cron.use_background_workers=on max_worker_processes=16 ) || exit 1
SOCK=$WORK/breakops_cron
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d shop "$@"; }
as() { local r=$1; shift; "$PGBIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -U "$r" -d shop "$@"; }
"$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U postgres shop || exit 1
q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_cron;
CREATE EXTENSION inventory_erp;
CREATE ROLE bo_admin LOGIN IN ROLE erp_admin;
CREATE ROLE bo_admin_nocron LOGIN IN ROLE erp_admin;
CREATE ROLE bo_ops LOGIN IN ROLE erp_operator;
GRANT USAGE ON SCHEMA cron TO bo_admin, bo_ops;
SQL
sqlstate() { sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' <<<"$1" | head -1; }

check "an operator may not schedule (42501)" 42501 \
    "$(sqlstate "$(as bo_ops -c '\set VERBOSITY sqlstate' -c 'SELECT erp.schedule_jobs()' 2>&1)")"
check "an admin without USAGE on schema cron: 42501" 42501 \
    "$(sqlstate "$(as bo_admin_nocron -c '\set VERBOSITY sqlstate' -c 'SELECT erp.schedule_jobs()' 2>&1)")"
check "... and nothing was scheduled" 0 "$(q -c 'SELECT count(*) FROM cron.job')"

# two concurrent calls
as bo_admin -c 'SELECT count(*) FROM erp.schedule_jobs()' >"$WORK/bo1.out" 2>&1 &
p1=$!
as bo_admin -c 'SELECT count(*) FROM erp.schedule_jobs()' >"$WORK/bo2.out" 2>&1 &
p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
check "two concurrent schedule_jobs() both succeed" "0 0" "$r1 $r2"
check "... and register each job once" "$(q -c 'SELECT count(*) FROM erp.maintenance_jobs()')" \
    "$(q -c "SELECT count(DISTINCT jobname) || CASE WHEN count(*) = count(DISTINCT jobname) THEN '' ELSE ' (duplicates)' END FROM cron.job")"

# the DBA's own jobs, as the same login
as bo_admin -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SELECT cron.schedule('inventory_erp.nightly_export', '0 1 * * *', 'SELECT 1');
SELECT cron.schedule('inventory_erpXnightly', '0 2 * * *', 'SELECT 2');
SQL
n=$(as bo_admin -v ON_ERROR_STOP=1 -c 'SELECT erp.unschedule_jobs()')
check "unschedule_jobs() removed the extension's jobs only" "$(q -c 'SELECT count(*) FROM erp.maintenance_jobs()')" "$n"
check "the DBA's jobs with similar names stay" "inventory_erp.nightly_export,inventory_erpXnightly" \
    "$(q -c "SELECT string_agg(jobname, ',' ORDER BY jobname) FROM cron.job")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
