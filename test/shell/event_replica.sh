#!/usr/bin/env bash
# event_replica: the exact consumer on a logical replica (issue 11).  A
# subscriber stamps the events it receives itself (the erp.event trigger fires
# in the apply worker, ENABLE ALWAYS): the initial copy of a subscription
# brings many transactions' events in one transaction (each gets its stamp),
# and later transactions are applied, and stamped, in the publisher's commit
# order - also when they committed out of event_id order there.  A consumer
# on the subscriber reads every event once, in the publisher's commit order.
# Runs a publisher and a subscriber cluster of its own.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
PUB_DIR=$WORK/evrepl_pub/data
SUB_DIR=$WORK/evrepl_sub/data
cleanup() { pg_stop "$SUB_DIR"; pg_stop "$PUB_DIR"; }
trap cleanup EXIT
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
PUB_PORT=$(pg_free_port)
( pg_start "$PUB_DIR" "$PUB_PORT" fsync=off wal_level=logical max_wal_senders=10 max_replication_slots=10 ) || exit 1
SUB_PORT=$(pg_free_port)
( pg_start "$SUB_DIR" "$SUB_PORT" fsync=off max_logical_replication_workers=8 max_worker_processes=16 ) || exit 1
pub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/evrepl_pub" -p "$PUB_PORT" -U postgres -d shop "$@"; }
sub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/evrepl_sub" -p "$SUB_PORT" -U postgres -d shop "$@"; }
"$PGBIN/createdb" -h "$WORK/evrepl_pub" -p "$PUB_PORT" -U postgres shop || exit 1
"$PGBIN/createdb" -h "$WORK/evrepl_sub" -p "$SUB_PORT" -U postgres shop || exit 1

echo "== the publisher: events of four transactions before the subscription"
pub >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.event (kind) VALUES ('before-1');
INSERT INTO erp.event (kind) VALUES ('before-2');
BEGIN; INSERT INTO erp.event (kind) VALUES ('before-3'); INSERT INTO erp.event (kind) VALUES ('before-4'); COMMIT;
INSERT INTO erp.event (kind) VALUES ('before-5');
SELECT erp.create_publication('erp_pub');
SQL
sub -c "CREATE EXTENSION inventory_erp" >/dev/null || exit 1
sub -c "CREATE SUBSCRIPTION erp_sub CONNECTION 'host=$WORK/evrepl_pub port=$PUB_PORT dbname=shop user=postgres' PUBLICATION erp_pub" >/dev/null || exit 1

# wait_for SQL EXPECTED: poll the subscriber until SQL returns EXPECTED (30 s at most)
wait_for() {
    for _ in $(seq 1 150); do
        [ "$(sub -c "$1" 2>/dev/null)" == "$2" ] && return 0
        sleep 0.2
    done
    return 1
}
wait_for "SELECT count(*) FROM erp.event" 5 || echo "   (the initial copy of erp.event did not arrive in time)"
check "the initial copy brought the five events" 5 "$(sub -c "SELECT count(*) FROM erp.event")"
check "... each of its four transactions stamped once on the subscriber" "4/4" \
    "$(sub -c "SELECT count(*) || '/' || count(DISTINCT txn_id) FROM erp.event_commit")"

echo "== two publisher transactions commit out of event_id order"
# slow inserts first (event 6) and commits only once fast (event 7) is committed
"$PGBIN/psql" -X -q -h "$WORK/evrepl_pub" -p "$PUB_PORT" -U postgres -d shop >/dev/null <<'SQL' &
BEGIN;
INSERT INTO erp.event (kind) VALUES ('slow');
DO $$ BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM erp.event WHERE kind = 'fast');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
COMMIT;
SQL
SLOW=$!
for _ in $(seq 1 300); do
    [ "$(pub -c "SELECT last_value >= 6 FROM erp.event_event_id_seq")" = t ] && break
    sleep 0.05
done
pub -c "INSERT INTO erp.event (kind) VALUES ('fast')" >/dev/null
wait "$SLOW"
check "on the publisher, fast committed first though slow has the lower id" "fast,slow" \
    "$(pub -c "SELECT string_agg(kind, ',' ORDER BY c.commit_seq) FROM erp.event e JOIN erp.event_commit c USING (txn_id) WHERE kind IN ('fast', 'slow')")"
wait_for "SELECT count(*) FROM erp.event" 7 || echo "   (the new events did not arrive in time)"
check "the subscriber's consumer reads every event once, in the publisher's commit order" \
    "before-1,before-2,before-3,before-4,before-5,fast,slow" \
    "$(sub -c "SELECT string_agg(kind, ',' ORDER BY commit_seq, event_id) FROM erp.read_events('replica', 100)")"
check "no stamp on the subscriber without its events" 0 \
    "$(sub -c "SELECT count(*) FROM erp.event_commit c WHERE NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.txn_id = c.txn_id)")"
check "erp.verify() is empty on the subscriber" 0 "$(sub -c "SELECT count(*) FROM erp.verify()")"
sub -c "DROP SUBSCRIPTION erp_sub" >/dev/null
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
