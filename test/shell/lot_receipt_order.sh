#!/usr/bin/env bash
# lot_receipt_order (from break2_lot_receipt_deadlock, break-it pass 2 of issue 9): doc/concurrency.md
# lists the waits left outside the global lock order (takes that are not an
# order's own, row locks of RMAs, purchase orders, transfers, adjustments,
# the client's own locks).  One more is not listed: every receipt (or move or
# count) naming a lot runs INSERT INTO erp.lot ... ON CONFLICT DO UPDATE
# (src/lookup.c), which row-locks the existing lot row until the transaction
# ends, even when nothing changes.  So:
#   T1: BEGIN; erp.receive('AAA', 'DC1', 5, 'L1')       -- lot L1 row locked, AAA slots
#   T2: BEGIN; erp.allocate(order of BBB)                -- BBB slots (larger tags)
#   T2: erp.receive('AAA', 'DC1', 5, 'L1')               -- waits for T1's lot row
#   T1: erp.allocate(another order of BBB)               -- may wait for BBB (larger): waits for T2
# a cycle: PostgreSQL cancels one with 40P01.  Expected: no deadlock (the
# lot row not locked when it exists, or its wait in the order); actual: 40P01.
# The steps are sequenced by polling pg_stat_activity, not by sleeps.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_lot_receipt_order
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
OUT=$(mktemp -d)
cleanup() { "$PGBIN/dropdb" -U postgres --if-exists --force "$DB" >/dev/null 2>&1; rm -rf "$OUT"; }
trap cleanup EXIT
cleanup
OUT=$(mktemp -d); chmod 777 "$OUT"
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
CREATE EXTENSION dblink;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked) VALUES ('AAA', 1, 2, true);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BBB', 1, 2);
SELECT erp.receive('AAA', 'DC1', 10, 'L1');
SELECT erp.receive('BBB', 'DC1', 100);
SELECT erp.capture_order('WEB', 'OB1', '[{"sku": "BBB", "qty": 1}]');
SELECT erp.capture_order('WEB', 'OB2', '[{"sku": "BBB", "qty": 1}]');
SQL
OB1=$(admin -c "SELECT order_id FROM erp.sales_order WHERE external_ref = 'OB1'")
OB2=$(admin -c "SELECT order_id FROM erp.sales_order WHERE external_ref = 'OB2'")
P() { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U postgres -d "$DB" "$@"; }
# T1: receive lot L1, wait until another session waits for a lock, then allocate OB2
P -c "BEGIN" -c "SELECT erp.receive('AAA', 'DC1', 5, 'L1')" \
  -c "DO \$\$ BEGIN /* brk2_t1_holding */ FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid());
        PERFORM pg_sleep(0.05); END LOOP; END \$\$" \
  -c "SELECT count(*) FROM erp.allocate($OB2)" -c "COMMIT" >"$OUT/t1" 2>&1 &
T1=$!
# T2: once T1 holds the lot, allocate OB1 (slots of BBB), then receive lot L1
P -c "DO \$\$ BEGIN FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE '%brk2_t1_holding%' AND pid <> pg_backend_pid());
        PERFORM pg_sleep(0.05); END LOOP; END \$\$" \
  -c "BEGIN" -c "SELECT count(*) FROM erp.allocate($OB1)" -c "SELECT erp.receive('AAA', 'DC1', 5, 'L1')" -c "COMMIT" \
  >"$OUT/t2" 2>&1 &
T2=$!
wait "$T1" "$T2"
echo "T1: $(tr '\n' ' ' <"$OUT/t1")"
echo "T2: $(tr '\n' ' ' <"$OUT/t2")"
check "no deadlock between a lot receipt and an allocation in two transactions" "0" \
      "$(cat "$OUT/t1" "$OUT/t2" | grep -c 40P01)"
check "both orders allocated" "2" \
      "$(admin -c "SELECT count(*) FROM erp.sales_order WHERE external_ref IN ('OB1', 'OB2') AND status = 'allocated'")"
# The contract of a lot's expiry is kept (src/lookup.c IerpEnsureLot): a lot
# without an expiry takes the first one a receipt names; another expiry: IE010,
# nothing changed; the lot's own expiry or none: received.
Q() { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U postgres -d "$DB" -c "$1" 2>&1 | tail -1; }
Q "SELECT erp.receive('AAA', 'DC1', 1, 'L2')" >/dev/null
check "a receipt naming an expiry gives lot L2 (none yet) its first one" "2030-01-01" \
      "$(Q "SELECT erp.receive('AAA', 'DC1', 1, 'L2', '2030-01-01')" >/dev/null; admin -c "SELECT expires_on FROM erp.lot WHERE lot_code = 'L2'")"
LSUM=$(admin -c "SELECT md5(string_agg(l::text, '|' ORDER BY l::text)) || md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.lot l, erp.stock_balance b")
check "a receipt naming another expiry for L2 is refused (IE010)" "ERROR:  IE010" \
      "$(Q "SELECT erp.receive('AAA', 'DC1', 1, 'L2', '2031-01-01')")"
check "and nothing changed" "$LSUM" \
      "$(admin -c "SELECT md5(string_agg(l::text, '|' ORDER BY l::text)) || md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.lot l, erp.stock_balance b")"
check "a receipt naming L2's own expiry is received" "t" "$(Q "SELECT erp.receive('AAA', 'DC1', 1, 'L2', '2030-01-01') > 0")"
check "a receipt naming L2 without an expiry is received" "t" "$(Q "SELECT erp.receive('AAA', 'DC1', 1, 'L2') > 0")"
check "L2 holds the 4 units received" "4" "$(admin -c "SELECT sum(b.qty) FROM erp.stock_balance b JOIN erp.lot l USING (lot_id) WHERE l.lot_code = 'L2'")"
# A receipt naming an existing lot leaves the lot row unlocked: another
# session can lock it NOWAIT while the receipt's transaction is open.
check "an open receipt of existing lot L1 holds no lock on the lot row" "1" \
      "$(P -c "BEGIN" -c "SELECT erp.receive('AAA', 'DC1', 1, 'L1') > 0" \
           -c "SELECT count(*) FROM dblink('dbname=$DB user=postgres host=$PGHOST port=$PGPORT', 'SELECT lot_id FROM erp.lot WHERE lot_code = ''L1'' FOR UPDATE NOWAIT') AS t(lot_id bigint)" \
           -c "ROLLBACK" 2>&1 | tail -1)"
check "erp.verify() is empty" "0" "$(admin -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
