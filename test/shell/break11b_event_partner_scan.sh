#!/usr/bin/env bash
# Found by the break-it pass of issue 11; fixed in a4d0512: this test now guards the fix.
# break11b_event_partner_scan: a partner's consumer whose nodes have few events
# re-reads the whole outbox after its cursor on every poll, for ever.
# erp.read_events filters the partner's events inside the scan (EventReadBatch:
# every stamp after the acknowledged cursor, every event of it, then the node
# test), and the cursor can only move to an event the partner was given
# (ack_events refuses a cursor beyond what was read, and read_events only
# records the cursor of a returned row).  So a partner of a quiet node, after
# its last event, scans all the business's events written since, on every
# poll, and the scan grows with the outbox (here 20,000 events of another node:
# about 20,000 tuple fetches for a poll that returns nothing; with millions of
# events each poll reads millions of rows).  Measured as work done (tuples
# fetched from erp.event in the polling transaction), not time: a poll that
# returns nothing should not read them again.  Fixed: a read that finds
# nothing for the partner steps its consumer over the stamps it scanned.  Was:
# let a read move the consumer's read cursor over the stamps it scanned (the
# last stamp seen, even with no row returned) and accept that as an ack, or
# scan by node.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_b11b_partner_scan
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS b11b_scan_partner" >/dev/null 2>&1
}
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
cleanup
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code) VALUES ('PS-BUSY'), ('PS-QUIET');
CREATE ROLE b11b_scan_partner IN ROLE erp_operator;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'b11b_scan_partner', node_id FROM erp.node WHERE code = 'PS-QUIET';
INSERT INTO erp.event (kind, node_id) SELECT 'quiet', node_id FROM erp.node WHERE code = 'PS-QUIET';
SQL
# the partner reads and acknowledges its one event
q "SET ROLE b11b_scan_partner; SELECT erp.ack_events('ps-feed', (SELECT cursor FROM erp.read_events('ps-feed', 100) LIMIT 1))" >/dev/null || exit 1
# then the busy node writes 20,000 events, 200 transactions of 100
for i in $(seq 1 200); do
    echo "INSERT INTO erp.event (kind, node_id) SELECT 'busy', node_id FROM erp.node, generate_series(1, 100) WHERE code = 'PS-BUSY';"
done | "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null || exit 1
poll() {
    q "BEGIN;
       SET LOCAL ROLE b11b_scan_partner;
       CREATE TEMP TABLE got ON COMMIT DROP AS SELECT * FROM erp.read_events('ps-feed', 100);
       RESET ROLE;
       SELECT (SELECT count(*) FROM got) || ' ' || pg_stat_get_xact_tuples_fetched('erp.event'::regclass);
       COMMIT;"
}
first=$(poll); second=$(poll)
echo "   (poll: rows returned, tuples fetched from erp.event: '$first', then '$second')"
check "the partner's polls return nothing (no event at its node since)" "0 0" "${first%% *} ${second%% *}"
# The first poll after them reads the other node's events once (a read cannot
# know they are not the partner's without looking) and steps over them; the
# next poll must not read them again.  (A per-poll bound would make an empty
# poll ambiguous: "nothing for you" and "not looked yet" would look alike.)
check "the first poll reads the other node's events once, not more" yes \
    "$([ "${first##* }" -le 21000 ] && echo yes || echo no)"
check "the next poll does not read them again (at most 1,000 tuples)" yes "$([ "${second##* }" -le 1000 ] && echo yes || echo no)"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
