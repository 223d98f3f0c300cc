#!/usr/bin/env bash
# pg_cron_jobs: erp.schedule_jobs() registers the extension's periodic work with
# pg_cron (Debian: postgresql-15-cron) and one job really runs (issue 13,
# deliverable 4; doc/maintenance.md).  A cluster of its own preloads pg_cron
# (shared_preload_libraries, cron.database_name = shop; jobs run in background
# workers, so no password or TCP is needed).  An administrator login - not a
# superuser - schedules the jobs: they run as it.  Checks: every job of
# erp.maintenance_jobs() is registered once, also after a second call; an
# operator may not schedule (42501); a waiting order is allocated by the
# allocate_pending job, and cron.job_run_details shows the run succeeded;
# erp.unschedule_jobs() removes them; a database without pg_cron gets a NOTICE
# listing what to run and changes nothing.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
DIR=$WORK/pg_cron/data
cleanup() { pg_stop "$DIR"; }
trap cleanup EXIT
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
SHARE=$("$PGBIN/pg_config" --sharedir)
if [ ! -f "$SHARE/extension/pg_cron.control" ]; then
    echo "pg_cron is not installed ($SHARE/extension/pg_cron.control missing): apt-get install postgresql-15-cron (scripts/deps.sh)"
    exit 1
fi
PORT=$(pg_free_port)
( pg_start "$DIR" "$PORT" fsync=off shared_preload_libraries=pg_cron cron.database_name=shop \
      cron.use_background_workers=on max_worker_processes=16 ) || exit 1
SOCK=$WORK/pg_cron
q() { local db=$1; shift; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d "$db" "$@"; }
as_admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U ierp_cron_admin -d shop "$@"; }
"$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U postgres shop || exit 1
"$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U postgres nocron || exit 1

echo "== a shop with an order waiting for stock"
q shop >/dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_cron;
CREATE EXTENSION inventory_erp;
CREATE ROLE ierp_cron_admin LOGIN IN ROLE erp_admin;
CREATE ROLE ierp_cron_ops LOGIN IN ROLE erp_operator;
GRANT USAGE ON SCHEMA cron TO ierp_cron_admin, ierp_cron_ops;
INSERT INTO erp.item (sku, title) VALUES ('TEE', 'tee');
INSERT INTO erp.node (code) VALUES ('DC-1');
INSERT INTO erp.channel (code, name, kind, priority) VALUES ('WEB', 'Web shop', 'storefront', 10);
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.capture_order('WEB', 'WEB-1', '[{"sku": "TEE", "qty": 2}]');
SQL
# stock arrives after the order was captured: only allocate_pending will reserve it
q shop -c "SELECT erp.receive('TEE', 'DC-1', 5)" >/dev/null || exit 1
check "before any job ran, the order holds nothing" 0 \
    "$(q shop -c "SELECT coalesce(sum(qty), 0) FROM erp.reservation")"

echo "== scheduling"
check "an operator may not schedule the jobs (42501)" 42501 \
    "$("$PGBIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -U ierp_cron_ops -d shop -c '\set VERBOSITY sqlstate' \
        -c "SELECT erp.schedule_jobs()" 2>&1 | grep -Eo '42501|IE[0-9]+' | head -1)"
expected_jobs=$(q shop -c "SELECT string_agg(job_name || ' ' || schedule || ' ' || command, '; ' ORDER BY job_name) FROM erp.maintenance_jobs()")
check "the forecasts and the anomaly detection are among the jobs (their functions exist)" \
    "inventory_erp.detect_anomalies,inventory_erp.refresh_forecasts" \
    "$(q shop -c "SELECT string_agg(job_name, ',' ORDER BY job_name) FROM erp.maintenance_jobs()
                  WHERE job_name IN ('inventory_erp.refresh_forecasts', 'inventory_erp.detect_anomalies')")"
check "without Citus, no job collects worker events" 0 \
    "$(q shop -c "SELECT count(*) FROM erp.maintenance_jobs() WHERE job_name = 'inventory_erp.citus_collect_events'")"
first=$(as_admin -c "SELECT count(*) FROM erp.schedule_jobs() WHERE jobid IS NOT NULL")
check "erp.schedule_jobs() registered every job of erp.maintenance_jobs()" \
    "$(q shop -c "SELECT count(*) FROM erp.maintenance_jobs()")" "$first"
as_admin -c "SELECT count(*) FROM erp.schedule_jobs()" >/dev/null
check "a second call registers no job twice" "$expected_jobs" \
    "$(q shop -c "SELECT string_agg(jobname || ' ' || schedule || ' ' || command, '; ' ORDER BY jobname) FROM cron.job")"
check "the jobs run as the administrator who scheduled them, in this database" "ierp_cron_admin shop" \
    "$(q shop -c "SELECT string_agg(DISTINCT username || ' ' || database, ',') FROM cron.job")"

echo "== the allocate_pending job runs (every minute: waiting up to 100 s)"
ran=no
for _ in $(seq 1 100); do
    if [ "$(q shop -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                        WHERE j.jobname = 'inventory_erp.allocate_pending' AND d.status IN ('succeeded', 'failed')")" -gt 0 ]; then
        ran=yes; break
    fi
    sleep 1
done
check "cron.job_run_details shows a finished run of inventory_erp.allocate_pending" yes "$ran"
check "... and it succeeded" "succeeded" \
    "$(q shop -c "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                  WHERE j.jobname = 'inventory_erp.allocate_pending' ORDER BY d.runid LIMIT 1")"
check "the waiting order now holds its 2 units" 2 \
    "$(q shop -c "SELECT coalesce(sum(qty), 0) FROM erp.reservation")"
check "erp.verify() is empty" 0 "$(q shop -c "SELECT count(*) FROM erp.verify()")"

echo "== unscheduling"
check "erp.unschedule_jobs() removes every job" "$first/0" \
    "$(as_admin -c "SELECT erp.unschedule_jobs()")/$(q shop -c "SELECT count(*) FROM cron.job")"

echo "== a database without pg_cron"
q nocron -c "CREATE EXTENSION inventory_erp" >/dev/null || exit 1
out=$("$PGBIN/psql" -X -At -h "$SOCK" -p "$PORT" -U postgres -d nocron -c "SELECT count(*) FROM erp.schedule_jobs() WHERE jobid IS NULL" 2>&1)
echo "$out" | sed 's/^/         | /'
check "a NOTICE says nothing was scheduled" yes \
    "$(grep -q 'pg_cron is not installed in database "nocron": nothing was scheduled' <<<"$out" && echo yes || echo no)"
check "... and lists what to run and how often" yes \
    "$(grep -q "40 3 \* \* \* *SELECT erp.prune_events('30 days')" <<<"$out" && echo yes || echo no)"
check "... and the rows come back without job ids" "$(q nocron -c "SELECT count(*) FROM erp.maintenance_jobs()")" "$(tail -1 <<<"$out")"

echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
