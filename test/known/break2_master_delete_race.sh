#!/usr/bin/env bash
# break2_master_delete_race (issue 10, second break-it pass): the same hole as
# break2_lot_delete_race for items and nodes.  erp.stock_move and erp.stock_slot
# have no foreign key to erp.item or erp.node, a receipt reads both through the
# master cache (no row lock), and erp.refuse_delete_used('item'/'node')
# (src/ledger.c) asks the ledger under the deleting statement's snapshot, where
# a receipt in progress is invisible.  So an item and a node that have no
# history yet can be deleted while their first receipt runs, and both commit:
#
#   s1: BEGIN; erp.receive('NEW', 'NEWN', 5)
#   s2: DELETE FROM erp.item WHERE sku = 'NEW'; DELETE FROM erp.node WHERE code = 'NEWN'  -> both DELETE 1
#   s1: COMMIT
#
# Result: units on hand of an item that does not exist at a node that does not
# exist.  Passes when, after both ended, every item and node the ledger and the
# balances name exists (and erp.verify() is empty); either side may be refused.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_master_delete
WORKDIR=$(mktemp -d /tmp/break2_master_delete_race.XXXXXX)
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
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('NEW', 1, 1);
INSERT INTO erp.node (code) VALUES ('NEWN');
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
echo "SET application_name = 'bk_s1'; BEGIN; SELECT erp.receive('NEW', 'NEWN', 5) > 0 AS received;" >&3
wait_for bk_s1 idle || echo "s1 did not finish its receipt"
echo "SET application_name = 'bk_s2'; DELETE FROM erp.item WHERE sku = 'NEW'; DELETE FROM erp.node WHERE code = 'NEWN';" >&4
wait_for bk_s2 idle || wait_for bk_s2 lock || echo "(s2's delete neither finished nor waits)"
echo "COMMIT;" >&3
exec 3>&- 4>&-
wait
echo "--- s1"; cat "$WORKDIR/s1.log"; echo "--- s2"; cat "$WORKDIR/s2.log"

failures=0
orphans=$(psql_ -c "SELECT (SELECT count(*) FROM erp.stock_move m
                           WHERE NOT EXISTS (SELECT 1 FROM erp.item i WHERE i.item_id = m.item_id)
                              OR (m.to_node_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM erp.node n WHERE n.node_id = m.to_node_id)))
                          + (SELECT count(*) FROM erp.stock_balance b
                              WHERE NOT EXISTS (SELECT 1 FROM erp.item i WHERE i.item_id = b.item_id)
                                 OR NOT EXISTS (SELECT 1 FROM erp.node n WHERE n.node_id = b.node_id))")
if [ "$orphans" = 0 ]; then
    echo "ok       every item and node the ledger and the balances name exists"
else
    echo "FAILED   $orphans ledger/balance rows name an item or node that was deleted"
    psql_ -c "SELECT 'items: ' || count(*) || ', nodes: ' || (SELECT count(*) FROM erp.node) FROM erp.item" -c "SELECT 'on hand: ' || coalesce(sum(qty), 0) FROM erp.stock_balance"
    failures=$((failures + 1))
fi
problems=$(psql_ -c "SELECT count(*) FROM erp.verify()")
if [ "$problems" = 0 ]; then echo "ok       erp.verify() is empty"; else echo "MISMATCH erp.verify(): $problems problems"; failures=$((failures + 1)); fi
exit $((failures > 0))
