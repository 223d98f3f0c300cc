#!/usr/bin/env bash
# break11a_ok_concurrent_redelivery: five sessions deliver the same thing at once.
#   - the same idempotency key on erp.receive from 5 sessions while the first
#     holds it in an open transaction: one receipt, every session the same move id;
#   - the same with the first session rolling back: one waiter runs, the others replay it;
#   - the same key on erp.allocate (an SRF) from 5 sessions: one reservation, 5 identical row sets;
#   - erp.place_order of one external_ref from 5 sessions (no key): one order, one
#     allocation, exactly one created = true, every session the same order id;
#   - 5 different contents under one external_ref at once: one order, four IE010;
#   - the same, after the order shipped: a redelivery creates nothing and moves nothing.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break11a_conc
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
cleanup() { "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC', 10);
SQL
OUT=$(mktemp -d)

echo "== 5 sessions, one key on erp.receive, the first one slow"
q -c "BEGIN" -c "SELECT erp.receive('TEE', 'DC', 3, idempotency_key => 'conc-1')" -c "SELECT pg_sleep(2)" -c "COMMIT" >"$OUT/r0" &
sleep 0.5
for i in 1 2 3 4; do q -c "SELECT erp.receive('TEE', 'DC', 3, idempotency_key => 'conc-1')" >"$OUT/r$i" 2>&1 & done
wait
check "one receipt of 3" "1" "$(q -c "SELECT count(*) FROM erp.stock_move WHERE event = 'receive' AND qty = 3")"
check "all 5 sessions got the same move id" "1" "$(for i in 0 1 2 3 4; do grep -E '^[0-9]+$' "$OUT/r$i"; done | sort -u | wc -l)"
check "and none failed" "5" "$(for i in 0 1 2 3 4; do grep -E '^[0-9]+$' "$OUT/r$i"; done | wc -l)"

echo "== 5 sessions, one key, the first one rolls back"
q -c "BEGIN" -c "SELECT erp.receive('TEE', 'DC', 13, idempotency_key => 'conc-rb')" -c "SELECT pg_sleep(2)" -c "ROLLBACK" >/dev/null &
sleep 0.5
for i in 1 2 3 4; do q -c "SELECT erp.receive('TEE', 'DC', 13, idempotency_key => 'conc-rb')" >"$OUT/b$i" 2>&1 & done
wait
check "one receipt of 13 (the rolled-back one left none, one waiter ran, three replayed)" "1" \
    "$(q -c "SELECT count(*) FROM erp.stock_move WHERE event = 'receive' AND qty = 13")"
check "the four waiters got one move id" "4:1" \
    "$(cat "$OUT"/b? | grep -cE '^[0-9]+$'):$(cat "$OUT"/b? | sort -u | wc -l)"

echo "== 5 sessions, one key on erp.allocate"
o=$(q -c "SELECT erp.capture_order('WEB', 'A-1', '[{\"sku\": \"TEE\", \"qty\": 2}]')")
for i in 0 1 2 3 4; do q -c "SELECT a::text FROM erp.allocate($o, idempotency_key => 'conc-2') a ORDER BY 1" >"$OUT/a$i" 2>&1 & done
wait
check "the order holds 2 units once" "2" "$(q -c "SELECT sum(qty) FROM erp.reservation WHERE order_id = $o")"
check "all 5 got the same rows" "1" "$(md5sum "$OUT"/a? | awk '{print $1}' | sort -u | wc -l)"
check "the rows are an allocation" "1" "$(grep -c 'allocated' "$OUT/a0")"

echo "== 5 sessions, one webhook redelivered (place_order, no key)"
for i in 0 1 2 3 4; do
    q -c "SELECT order_id || ':' || created FROM erp.place_order('WEB', 'P-1', '[{\"sku\": \"TEE\", \"qty\": 4}]')" >"$OUT/p$i" 2>&1 &
done
wait
check "one order P-1" "1" "$(q -c "SELECT count(*) FROM erp.sales_order WHERE external_ref = 'P-1'")"
p=$(q -c "SELECT order_id FROM erp.sales_order WHERE external_ref = 'P-1'")
check "it holds 4 units, not 4 per delivery" "4" "$(q -c "SELECT sum(qty) FROM erp.reservation WHERE order_id = $p")"
check "exactly one delivery says created" "1" "$(cat "$OUT"/p? | grep -c ':true$')"
check "every delivery names the order" "5" "$(cat "$OUT"/p? | grep -c "^$p:")"

echo "== 5 sessions, one external_ref, 5 different contents"
for i in 1 2 3 4 5; do
    q -v VERBOSITY=sqlstate -c "SELECT order_id || ':' || created FROM erp.place_order('WEB', 'RACE', '[{\"sku\": \"TEE\", \"qty\": $i}]')" >"$OUT/c$i" 2>&1 &
done
wait
check "one order RACE with one line" "1/1" "$(q -c "SELECT count(DISTINCT o.order_id) || '/' || count(*) FROM erp.sales_order o JOIN erp.order_line l USING (order_id) WHERE o.external_ref = 'RACE'")"
check "one delivery created it, the other four were refused with IE010" "1:4" \
    "$(cat "$OUT"/c? | grep -c ':true$'):$(cat "$OUT"/c? | grep -c 'IE010')"

echo "== the order ships; 5 more redeliveries"
q -c "SELECT erp.pick($p, 'TEE', 4)" -c "SELECT erp.pack($p)" -c "SELECT erp.ship($p)" >/dev/null || exit 1
before=$(q -c "SELECT count(*) || '/' || sum(qty) FROM erp.stock_move")
for i in 0 1 2 3 4; do
    q -c "SELECT order_id || ':' || created || ':' || order_status FROM erp.place_order('WEB', 'P-1', '[{\"sku\": \"TEE\", \"qty\": 4}]')" >"$OUT/s$i" 2>&1 &
done
wait
check "every redelivery of the shipped order says shipped, not created" "5" "$(cat "$OUT"/s? | grep -c "^$p:false:shipped$")"
check "nothing moved" "$before" "$(q -c "SELECT count(*) || '/' || sum(qty) FROM erp.stock_move")"
check "still one order P-1" "1" "$(q -c "SELECT count(*) FROM erp.sales_order WHERE external_ref = 'P-1'")"
rm -rf "$OUT"
[ $failures -eq 0 ]
