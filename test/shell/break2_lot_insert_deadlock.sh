#!/usr/bin/env bash
# break2_lot_insert_deadlock (issue 10, second break-it pass): IerpEnsureLot
# (src/lookup.c) owns a new lot's tag and then INSERTs it ... ON CONFLICT DO
# NOTHING -- which still WAITS in erp.lot's unique index when the same lot was
# inserted by a transaction that does not take the tag: erp_admin creating lots
# as master data (INSERT INTO erp.lot, granted), e.g. an import that creates a
# delivery's lots with their expiry dates and then books stock.  That wait is
# outside the global order of the ownership locks:
#
#   s1 (import): BEGIN; INSERT INTO erp.lot (A, 'L-NEW', 2099-01-01)
#   s2: BEGIN; move Z (owns Z's slot); receive A lot L-NEW -> not visible, tag free,
#       INSERT ... ON CONFLICT waits for s1's transaction
#   s1: move Z -> waits, in order (it owns no tag), for Z's slot, owned by s2
#
# PostgreSQL breaks the cycle with 40P01.  Issue 10: no 40P01 (55P03 is an
# allowed refusal).  Passes when neither session gets 40P01 and erp.verify() is empty.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_lot_insert
WORKDIR=$(mktemp -d /tmp/break2_lot_insert_deadlock.XXXXXX)
psql_() { "$PGBIN/psql" -X -q -At -U postgres -d "$DB" "$@"; }
cleanup() {
    exec 3>&- 4>&- 2>/dev/null
    wait 2>/dev/null
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    rm -rf "$WORKDIR"
}
trap cleanup EXIT
"$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" -U postgres "$DB" || exit 1
psql_ -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked) VALUES ('A', 1, 1, true);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('Z', 1, 1);
INSERT INTO erp.node (code) VALUES ('N');
SELECT erp.receive('Z', 'N', 10);
SQL

# two sessions fed through FIFOs, so that each statement is sent when the other has reached its point
mkfifo "$WORKDIR/s1" "$WORKDIR/s2"
"$PGBIN/psql" -X -U postgres -d "$DB" -v VERBOSITY=verbose <"$WORKDIR/s1" >"$WORKDIR/s1.log" 2>&1 &
"$PGBIN/psql" -X -U postgres -d "$DB" -v VERBOSITY=verbose <"$WORKDIR/s2" >"$WORKDIR/s2.log" 2>&1 &
exec 3>"$WORKDIR/s1" 4>"$WORKDIR/s2"
# waits until the session whose application_name is $1 has finished its statement (idle in transaction)
# or waits for a lock (state active, wait_event_type Lock); gives up after 10 s
wait_for() {
    local app=$1 what=$2 i
    for i in $(seq 1 100); do
        case $what in
            idle) [ "$(psql_ -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app' AND state LIKE 'idle%'")" = 1 ] && return 0 ;;
            lock) [ "$(psql_ -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app' AND wait_event_type = 'Lock'")" = 1 ] && return 0 ;;
        esac
        sleep 0.1
    done
    return 1
}
echo "SET application_name = 'bk_s1'; BEGIN; INSERT INTO erp.lot (item_id, lot_code, expires_on) SELECT item_id, 'L-NEW', DATE '2099-01-01' FROM erp.item WHERE sku = 'A';" >&3
wait_for bk_s1 idle || echo "s1 did not finish its lot insert"
echo "SET application_name = 'bk_s2'; BEGIN; SELECT erp.move('Z', 'N', 1, 'available', 'damaged', 'damage');" >&4
wait_for bk_s2 idle || echo "s2 did not finish its move"
echo "SELECT erp.receive('A', 'N', 1, 'L-NEW', '2099-01-01');" >&4
wait_for bk_s2 lock || echo "(s2's receipt of the new lot did not wait)"
echo "SELECT erp.move('Z', 'N', 1, 'available', 'damaged', 'damage');" >&3
# let both finish: whatever each got, end its transaction
sleep 0.2
for i in $(seq 1 100); do
    [ "$(psql_ -c "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('bk_s1', 'bk_s2') AND wait_event_type = 'Lock'")" = 0 ] && break
    sleep 0.1
done
echo "COMMIT;" >&3
echo "COMMIT;" >&4
exec 3>&- 4>&-
wait
echo "--- s1"; cat "$WORKDIR/s1.log"; echo "--- s2"; cat "$WORKDIR/s2.log"

failures=0
if grep -q "40P01" "$WORKDIR/s1.log" "$WORKDIR/s2.log"; then
    echo "FAILED   a session got 40P01 (deadlock detected)"
    failures=$((failures + 1))
else
    echo "ok       no 40P01"
fi
problems=$(psql_ -c "SELECT count(*) FROM erp.verify()")
if [ "$problems" = 0 ]; then echo "ok       erp.verify() is empty"; else echo "MISMATCH erp.verify(): $problems problems"; failures=$((failures + 1)); fi
exit $((failures > 0))
