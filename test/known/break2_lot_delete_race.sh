#!/usr/bin/env bash
# break2_lot_delete_race (issue 10, second break-it pass): since 66042c8 a
# receipt of an EXISTING lot only reads erp.lot (src/lookup.c IerpEnsureLot:
# "an existing lot is only read"), and nothing in the ledger references the lot
# row (erp.stock_move / erp.stock_slot have no foreign key to erp.lot).  The
# only guard against deleting a lot with history, erp.refuse_delete_used('lot')
# (src/ledger.c), asks the ledger under its own snapshot -- where a receipt
# still in progress is invisible.  So an erp_admin deleting a lot that has no
# history yet (one created ahead of its first receipt, as master data) while
# that first receipt runs succeeds, and both commit:
#
#   setup: lot PRE of VIT created by the admin (INSERT INTO erp.lot), no history
#   s1: BEGIN; erp.receive('VIT', 'N', 5, 'PRE', <its expiry>)   (reads the lot, no lock)
#   s2: DELETE FROM erp.lot WHERE lot_code = 'PRE'  -> DELETE 1, nothing waits
#   s1: COMMIT
#
# Result: 5 units on hand in a lot that no longer exists -- orphan ledger and
# balance rows (erp.availability's shelf-life join, erp.lot lookups and
# every lot report lose them).  Passes when, after both ended, every lot the
# ledger and the balances name exists in erp.lot (and erp.verify() is empty);
# either session may be refused (IE010 for the delete, or 55P03/40001 for the
# receipt), as long as no orphan is left.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_lot_delete
WORKDIR=$(mktemp -d /tmp/break2_lot_delete_race.XXXXXX)
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
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked) VALUES ('VIT', 1, 1, true);
INSERT INTO erp.node (code) VALUES ('N');
INSERT INTO erp.lot (item_id, lot_code, expires_on) SELECT item_id, 'PRE', DATE '2099-01-01' FROM erp.item WHERE sku = 'VIT';
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
echo "SET application_name = 'bk_s1'; BEGIN; SELECT erp.receive('VIT', 'N', 5, 'PRE', '2099-01-01') > 0 AS received;" >&3
wait_for bk_s1 idle || echo "s1 did not finish its receipt"
echo "SET application_name = 'bk_s2'; DELETE FROM erp.lot WHERE lot_code = 'PRE';" >&4
wait_for bk_s2 idle || wait_for bk_s2 lock || echo "(s2's delete neither finished nor waits)"
echo "COMMIT;" >&3
exec 3>&- 4>&-
wait
echo "--- s1"; cat "$WORKDIR/s1.log"; echo "--- s2"; cat "$WORKDIR/s2.log"

failures=0
orphans=$(psql_ -c "SELECT (SELECT count(*) FROM erp.stock_move m WHERE m.lot_id IS NOT NULL AND m.lot_id <> 0
                              AND NOT EXISTS (SELECT 1 FROM erp.lot l WHERE l.item_id = m.item_id AND l.lot_id = m.lot_id))
                          + (SELECT count(*) FROM erp.stock_balance b WHERE b.lot_id IS NOT NULL
                              AND NOT EXISTS (SELECT 1 FROM erp.lot l WHERE l.item_id = b.item_id AND l.lot_id = b.lot_id))")
if [ "$orphans" = 0 ]; then
    echo "ok       every lot the ledger and the balances name exists"
else
    echo "FAILED   $orphans ledger/balance rows name a lot that was deleted"
    psql_ -c "SELECT 'lots: ' || count(*) FROM erp.lot" -c "SELECT 'on hand: ' || coalesce(sum(qty), 0) FROM erp.stock_balance"
    failures=$((failures + 1))
fi
problems=$(psql_ -c "SELECT count(*) FROM erp.verify()")
if [ "$problems" = 0 ]; then echo "ok       erp.verify() is empty"; else echo "MISMATCH erp.verify(): $problems problems"; failures=$((failures + 1)); fi
exit $((failures > 0))
