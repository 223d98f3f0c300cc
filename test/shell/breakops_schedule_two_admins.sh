#!/usr/bin/env bash
# breakops_schedule_two_admins: doc/maintenance.md says calling
# erp.schedule_jobs() again "registers nothing twice" and to call it again
# after an upgrade.  When the administrator who calls it again is another
# login than the first (a team of DBAs, a login rotated), cron.schedule keys
# the job by (name, caller): every job is registered a second time, so
# allocate_pending, prune_events, compact_slots... all run twice, concurrently,
# as two roles; and erp.unschedule_jobs() by either leaves the other's set
# running.  Expected: each job of erp.maintenance_jobs() registered once in
# the database, whoever calls: the second administrator is refused (IE010,
# naming the role that has the jobs) and changes nothing; after the first one
# unschedules, the second may schedule.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
DIR=$WORK/breakops_cron2/data
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
SOCK=$WORK/breakops_cron2
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d shop "$@"; }
as() { local r=$1; shift; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U "$r" -d shop "$@"; }
"$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U postgres shop || exit 1
q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_cron;
CREATE EXTENSION inventory_erp;
CREATE ROLE bo_dba_anna LOGIN IN ROLE erp_admin;
CREATE ROLE bo_dba_ben LOGIN IN ROLE erp_admin;
GRANT USAGE ON SCHEMA cron TO bo_dba_anna, bo_dba_ben;
SQL
jobs=$(q -c 'SELECT count(*) FROM erp.maintenance_jobs()')
as bo_dba_anna -c 'SELECT count(*) FROM erp.schedule_jobs()' >/dev/null || exit 1
check "a second administrator's erp.schedule_jobs() is refused (IE010), naming the role that has the jobs" \
    "IE010 bo_dba_anna" \
    "$(as bo_dba_ben -v VERBOSITY=verbose -c 'SELECT count(*) FROM erp.schedule_jobs()' 2>&1 | grep -Eo 'IE010|bo_dba_anna' | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "after two administrators called erp.schedule_jobs(), each job is registered once" \
    "$jobs jobs, each once" \
    "$(q -c "SELECT count(DISTINCT jobname) || ' jobs, ' || CASE WHEN count(*) = count(DISTINCT jobname) THEN 'each once' ELSE count(*) || ' registrations' END FROM cron.job WHERE jobname LIKE 'inventory\_erp.%'")"
as bo_dba_anna -c 'SELECT erp.unschedule_jobs()' >/dev/null || exit 1
check "erp.unschedule_jobs() by the role that has them leaves no extension job running" 0 \
    "$(q -c "SELECT count(*) FROM cron.job WHERE jobname LIKE 'inventory\_erp.%'")"
as bo_dba_ben -c 'SELECT count(*) FROM erp.schedule_jobs()' >/dev/null || exit 1
check "then the second administrator may schedule them" "$jobs bo_dba_ben" \
    "$(q -c "SELECT count(*) || ' ' || string_agg(DISTINCT username, ',') FROM cron.job WHERE jobname LIKE 'inventory\_erp.%'")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
