#!/usr/bin/env bash
# pick_exception_cancel (found by the break-it pass, issue 9 follow-up): 0.3.0 makes a wrong
# scan wait for a background-worker slot so that no pick exception is lost
# (inventory_erp.event_wait_timeout, default 5 min).  But the wait ends on any
# query cancel: a client's statement_timeout (handhelds and web apps set a few
# seconds), or pg_cancel_backend.  Then the picker gets 57014, not IE007, and the
# pick_exception is never written - lost while every worker slot is busy, which
# is exactly when 0.3.0 promised to keep it.
# Setup as test/shell/pick_exception_slots.sh: a cluster of its own with 4
# worker slots, all held by a parallel report; one wrong scan with
# statement_timeout = 2s; the report is cancelled once the scan has waited 3 s.
# Expected: the exception recorded (whatever the picker is told).
# Actual (1ccb86a): 57014, no event.  Exit 0 = pass.
# (events2: the picker now runs in the background and the report is cancelled
# once the scan has waited 3 s, as said above; before, the report was only cancelled
# after the picker returned, so a fixed picker would have waited for the whole
# report.  Also covered: a pg_cancel_backend of the waiting picker, and a
# pg_terminate_backend, whose error says the event may not be recorded.)
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO_ROOT/scripts/pgenv.sh"
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
DIR=$(pg_workdir brkcancel)
DATA=$DIR/data
HOG_PID=
cleanup() {
    [ -n "$HOG_PID" ] && kill "$HOG_PID" 2>/dev/null
    pg_stop "$DATA"
    rm -rf "$DIR"
}
trap cleanup EXIT
pg_start "$DATA" "$(pg_free_port)" fsync=off max_worker_processes=4 max_parallel_workers=4 \
    max_parallel_workers_per_gather=4 max_logical_replication_workers=0 log_min_messages=warning || exit 1
DB=ierp_brk_cancel
"$PGBIN/createdb" "$DB" || exit 1
q() { "$PGBIN/psql" -X -q -At -d "$DB" -c "$1"; }
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id) VALUES (1, 1);
INSERT INTO erp.item (sku, unit_price) VALUES ('TEE', 10), ('CAP', 5);
SELECT erp.receive('TEE', 'DC1', 10);
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'W1', '[{"sku": "TEE", "qty": 1}]'));
CREATE TABLE public.report_rows AS SELECT g AS n FROM generate_series(1, 20000) g;
ALTER TABLE public.report_rows SET (parallel_workers = 4);
ANALYZE public.report_rows;
SQL
"$PGBIN/psql" -X -q -At -d "$DB" >/dev/null 2>&1 <<'SQL' &
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET application_name = 'slot_hog';
SELECT count(*) FROM public.report_rows WHERE pg_catalog.pg_sleep(0.04) IS NOT NULL;
SQL
HOG_PID=$!
for _ in $(seq 1 300); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")" = 4 ] && break
    sleep 0.1
done
check "(every worker slot is held by the report)" "4" \
      "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")"
# the picker runs in the background: it waits for a slot, and the report is
# cancelled once the picker's statement has waited past its 2 s timeout
"$PGBIN/psql" -X -q -At -d "$DB" -v VERBOSITY=sqlstate -c "SET statement_timeout = '2s'" \
    -c "SELECT erp.pick(1, 'CAP', 1)" >"$DIR/picker.out" 2>&1 &
PICK_PID=$!
# poll (bounded, 30 s) until the scan waits for a slot and its statement is 3 s old
for _ in $(seq 1 300); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%erp.pick(1, ''CAP''%' AND wait_event_type = 'Extension' AND now() - query_start > interval '3 s'")" = 1 ] && break
    sleep 0.1
done
check "(the scan still waits for a slot, past its 2 s timeout)" "1" \
      "$(q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%erp.pick(1, ''CAP''%' AND wait_event_type = 'Extension'")"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'slot_hog' AND backend_type = 'client backend'" >/dev/null
wait "$HOG_PID" 2>/dev/null
HOG_PID=
wait "$PICK_PID"
res=$(tail -1 "$DIR/picker.out")
echo "         (the picker got: $res)"
check "the wrong scan's pick_exception is recorded although the picker's statement timed out" "1" \
      "$(q "SELECT count(*) FROM erp.event WHERE kind = 'pick_exception' AND payload->>'scan' = 'CAP'")"
check "the picker is told IE007 (the refusal, its event recorded), not a bare 57014" "ERROR:  IE007" "$res"
check "nothing was picked: the unit is still reserved" "1" \
      "$(q "SELECT sum(qty) FROM erp.stock_balance WHERE state = 'reserved'")"

# a pg_cancel_backend while the scan waits: the same
start_hog() {
    "$PGBIN/psql" -X -q -At -d "$DB" >/dev/null 2>&1 <<'SQL' &
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET application_name = 'slot_hog';
SELECT count(*) FROM public.report_rows WHERE pg_catalog.pg_sleep(0.04) IS NOT NULL;
SQL
    HOG_PID=$!
    for _ in $(seq 1 300); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")" = 4 ] && break
        sleep 0.1
    done
}
start_hog
"$PGBIN/psql" -X -q -At -d "$DB" -v VERBOSITY=sqlstate -c "SET application_name = 'picker2'" \
    -c "SELECT erp.pick(1, 'CAP-2', 1)" >"$DIR/picker2.out" 2>&1 &
PICK_PID=$!
for _ in $(seq 1 100); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'picker2' AND wait_event_type = 'Extension'")" = 1 ] && break
    sleep 0.1
done
check "(the second scan waits for a slot)" "t" \
      "$(q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'picker2'")"
sleep 1
check "the cancelled scan still waits (cancel held until its event is written)" "1" \
      "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'picker2' AND wait_event_type = 'Extension'")"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'slot_hog' AND backend_type = 'client backend'" >/dev/null
wait "$HOG_PID" 2>/dev/null
HOG_PID=
wait "$PICK_PID"
check "the cancelled scan's pick_exception is recorded" "1" \
      "$(q "SELECT count(*) FROM erp.event WHERE kind = 'pick_exception' AND payload->>'scan' = 'CAP-2'")"
check "the cancelled picker is told IE007" "ERROR:  IE007" "$(tail -1 "$DIR/picker2.out")"

# a termination still ends the wait; the error then says the event may not be recorded
start_hog
"$PGBIN/psql" -X -q -At -d "$DB" -c "SET application_name = 'picker3'" \
    -c "SELECT erp.pick(1, 'CAP-3', 1)" >"$DIR/picker3.out" 2>&1 &
PICK_PID=$!
for _ in $(seq 1 100); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'picker3' AND wait_event_type = 'Extension'")" = 1 ] && break
    sleep 0.1
done
check "(the third scan waits and is terminated)" "t" \
      "$(q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'picker3'")"
wait "$PICK_PID"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'slot_hog' AND backend_type = 'client backend'" >/dev/null
wait "$HOG_PID" 2>/dev/null
HOG_PID=
cat "$DIR/picker3.out" | sed 's/^/         | /'
check "the terminated picker is told its event may not have been recorded" "1" \
      "$(grep -c 'it may not have been recorded' "$DIR/picker3.out")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
