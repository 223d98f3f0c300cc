#!/usr/bin/env bash
# breakdirect_ok_two_phase: a new order placed by erp.place_order's direct path
# inside a prepared (two-phase) transaction, redelivered by another session
# meanwhile (issue 10: the reference's lock tag and the dirty-snapshot probe of
# src/order_rows.c).  The redelivery waits for the prepared transaction:
#   - COMMIT PREPARED: it gets the order (created false), nothing more is held;
#   - ROLLBACK PREPARED: it creates the order itself (created true), once.
# (The isolation tester cannot wait on a prepared transaction, hence a shell
# test.)  Run by scripts/test.sh with PGHOST, PGPORT, PGBIN and WORK set and the
# main test cluster running (max_prepared_transactions > 0).  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
: "${WORK:?}"
DB=ierp_breakdirect_2pc
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s [%s]\n' "$1" "$3"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
cleanup() {
    "$PGBIN/psql" -X -q -d "$DB" -c "ROLLBACK PREPARED 'breakdirect_2pc'" >/dev/null 2>&1
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    rm -f "$WORK/breakdirect_2pc.out"
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" "$DB" || exit 1
q "CREATE EXTENSION inventory_erp;
   INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse');
   INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
   INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
   INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
   SELECT erp.receive('TEE', 'DC', 100);" >/dev/null || exit 1
PLACE="SELECT created || ':' || order_status FROM erp.place_order('WEB', 'TWO-PHASE', '[{\"sku\": \"TEE\", \"qty\": 3}]')"

for end in COMMIT ROLLBACK; do
    echo "== $end PREPARED while a redelivery waits"
    q "BEGIN; $PLACE; PREPARE TRANSACTION 'breakdirect_2pc';" >/dev/null || { check "prepare" ok failed; continue; }
    "$PGBIN/psql" -X -q -At -d "$DB" -c "$PLACE" >"$WORK/breakdirect_2pc.out" 2>&1 &
    waiter=$!
    waiting=no
    for _ in $(seq 1 200); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND wait_event_type = 'Lock' AND query LIKE '%TWO-PHASE%'")" = 1 ] &&
            { waiting=yes; break; }
        sleep 0.05
    done
    check "the redelivery waits for the prepared transaction" "yes" "$waiting"
    q "$end PREPARED 'breakdirect_2pc'" >/dev/null
    wait "$waiter"
    if [ "$end" = COMMIT ]; then
        check "after COMMIT PREPARED the redelivery gets the order" "false:allocated" "$(cat "$WORK/breakdirect_2pc.out")"
    else
        check "after ROLLBACK PREPARED the redelivery creates it" "true:allocated" "$(cat "$WORK/breakdirect_2pc.out")"
    fi
    check "one order, 3 units held" "1 3" \
        "$(q "SELECT count(*) || ' ' || (SELECT sum(qty) FROM erp.reservation) FROM erp.sales_order WHERE external_ref = 'TWO-PHASE'")"
    check "erp.verify() is empty" "0" "$(q "SELECT count(*) FROM erp.verify()")"
    q "SELECT erp.cancel_order(order_id) FROM erp.sales_order WHERE external_ref = 'TWO-PHASE'" >/dev/null
    q "UPDATE erp.sales_order SET external_ref = 'TWO-PHASE-done-$end' WHERE external_ref = 'TWO-PHASE'" >/dev/null
done
[ $failures -eq 0 ]
