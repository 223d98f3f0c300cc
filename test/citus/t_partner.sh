#!/usr/bin/env bash
# t_partner: partner access on the distributed layout, logged in as the partner (a
# login role with erp.node_access to DC2 only): test/citus/partner.sql gives the
# one-node output on Citus - it sees its node's stock, moves and orders only, works
# at DC2, and is refused (IE009, 42501) at DC1 and on other orders, with nothing
# changed; the same reads through a worker give the same rows; a partner reading
# a shard on a worker directly sees its node's rows only.
# Catches: policies Citus refuses or evaluates differently on shards, a document
# rule that errors (Citus's nested distributed query) or shows more inside a
# query on a shard, a refusal on Citus that differs from one node or changes
# something, node_access not read on the workers.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_partner
ONE=ierp_citus_partner_one
P=ierp_citus_3pl
citus_db "$DB" || exit 1
citus_psql 0 -d postgres -c "DROP DATABASE IF EXISTS $ONE WITH (FORCE)" -c "CREATE DATABASE $ONE" || exit 1
citus_psql 0 -d "$ONE" -c "CREATE EXTENSION inventory_erp" || exit 1
# the partner: a login of the cluster (Citus creates it on the workers too)
citus_psql 0 -d "$DB" -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $P" \
    -c "CREATE ROLE $P LOGIN IN ROLE erp_operator" || exit 1
for d in "$ONE" "$DB"; do
    citus_psql 0 -d "$d" -v ON_ERROR_STOP=1 -f "$REPO_ROOT/test/citus/partner-setup.sql" >/dev/null || exit 1
done
check "erp.distribute()" "$(citus_psql 0 -d "$DB" -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" \
    "$(citus_psql 0 -d "$DB" -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()")"
# the reads of partner.sql, through worker N
reads() { sed -n '/^-- what it sees: /,/^-- what it does/p' "$REPO_ROOT/test/citus/partner.sql" | grep -v '^--'; }
run() { # run PORT DB [file]
    "$PGBIN/psql" -X -h localhost -p "$1" -U "$P" -d "$2" -f "${3:-$REPO_ROOT/test/citus/partner.sql}" 2>&1 | sed 's/^psql:[^:]*:[0-9]*: //'
}
books() { citus_psql 0 -d "$1" -c "SELECT string_agg(format('%s %s %s %s>%s %s', move_id, item_id, qty, from_node_id, to_node_id, event), '; ' ORDER BY move_id) FROM erp.stock_move" \
                               -c "SELECT string_agg(format('%s %s %s', order_id, status, channel_id), '; ' ORDER BY order_id) FROM erp.sales_order" \
                               -c "SELECT count(*) FROM erp.verify()"; }
read -r -a ports <<<"$CITUS_PORT_LIST"
reads >"$CITUS_LOG_DIR/partner-reads.sql"
run "${ports[0]}" "$DB" "$CITUS_LOG_DIR/partner-reads.sql" >"$CITUS_LOG_DIR/partner-reads-coord.out"
run "${ports[2]}" "$DB" "$CITUS_LOG_DIR/partner-reads.sql" >"$CITUS_LOG_DIR/partner-reads-w2.out"
check "the partner's reads through worker 2 give the coordinator's rows" "" \
    "$(diff "$CITUS_LOG_DIR/partner-reads-coord.out" "$CITUS_LOG_DIR/partner-reads-w2.out")"
run "${ports[0]}" "$ONE" >"$CITUS_LOG_DIR/partner-one.out"
run "${ports[0]}" "$DB" >"$CITUS_LOG_DIR/partner-citus.out"
check "the partner's session on Citus gives the one-node output" "" \
    "$(diff "$CITUS_LOG_DIR/partner-one.out" "$CITUS_LOG_DIR/partner-citus.out")"
check "the books after the partner's session are the one-node books" "$(books "$ONE")" "$(books "$DB")"
# what the one-node output says (so that the comparison cannot pass on two empty runs)
check "(one node: it sees orders 2 and 3 only, DC2's stock only)" "2 O-2 3 O-3 | CAP DC2 TEE DC2" \
    "$(grep -E '^ +[0-9]+ \| O-[0-9]' "$CITUS_LOG_DIR/partner-one.out" | head -2 | awk '{printf "%s %s ", $1, $3}')| $(sed -n '/^ sku | node | available | reserved | on_hand/,/^(/p' "$CITUS_LOG_DIR/partner-one.out" | grep -E '^ [A-Z]+ +\|' | awk '{printf "%s %s ", $1, $3}' | sed 's/ $//')"
check "(one node: refused at DC1 and on other orders: IE009 x7, and by privilege: 42501 x2)" "7 2" \
    "$(grep -c '^ERROR:  IE009' "$CITUS_LOG_DIR/partner-one.out") $(grep -c '^ERROR:  42501' "$CITUS_LOG_DIR/partner-one.out")"
check "(one node: its order 2 picked, order 3 allocated at DC2)" "2 picking 3 allocated" \
    "$(tail -6 "$CITUS_LOG_DIR/partner-one.out" | grep -E '^ +[23] \|' | tr -d '|' | tr -s ' ' | sed 's/^ //' | tr '\n' ' ' | sed 's/ $//')"
check "(one node: it sees purchase order 2 at DC2 only, its 2 lines and its landed cost)" "2 | 2 1, 2 2 | 2 duty" \
    "$(sed -n '/^ purchase_order_id | node_id | status/,/^(/p' "$CITUS_LOG_DIR/partner-one.out" | grep -E '^ +[0-9]+ \|' | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//') | $(sed -n '/^ purchase_order_id | line_no | qty/,/^(/p' "$CITUS_LOG_DIR/partner-one.out" | grep -E '^ +[0-9]+ \|' | awk '{print $1, $3}' | paste -sd, | sed 's/,/, /g') | $(sed -n '/^ purchase_order_id | kind | amount/,/^(/p' "$CITUS_LOG_DIR/partner-one.out" | grep -E '^ +[0-9]+ \|' | awk '{print $1, $3}')"
# Inside Citus's query on a shard the order rule cannot read the reservations of
# other nodes: it reads erp.order_node there (kept by the backend that changes an
# order, src/access.c).  A partner's joins of its orders with stock rows show the
# one-node orders, through the coordinator and through either worker, also after
# the administrator splits an order over DC1 and DC2 (not the partner's) and then
# cancels it (then its channel decides: WEB is fulfilled by DC2 too).
jr="SELECT COALESCE(string_agg(DISTINCT o.external_ref, ',' ORDER BY o.external_ref), '-') FROM erp.sales_order o JOIN erp.reservation r USING (order_id)"
js="SELECT COALESCE(string_agg(DISTINCT o.external_ref, ',' ORDER BY o.external_ref), '-') FROM erp.sales_order o JOIN erp.order_line l USING (order_id) JOIN erp.stock_slot s ON s.item_id = l.item_id"
joins() { # joins PORT DB
    printf '%s | %s' "$("$PGBIN/psql" -X -q -At -h localhost -p "$1" -U "$P" -d "$2" -c "$jr" 2>&1)" \
                     "$("$PGBIN/psql" -X -q -At -h localhost -p "$1" -U "$P" -d "$2" -c "$js" 2>&1)"
}
joins_everywhere() { # joins_everywhere STEP EXPECTED_ONE_NODE
    local one
    one=$(joins "${ports[0]}" "$ONE")
    check "(one node, $1: the partner's joins of orders with reservations | with stock)" "$2" "$one"
    check "on Citus through the coordinator, $1: the same orders" "$one" "$(joins "${ports[0]}" "$DB")"
    check "through worker 1, $1: the same orders" "$one" "$(joins "${ports[1]}" "$DB")"
    check "through worker 2, $1: the same orders" "$one" "$(joins "${ports[2]}" "$DB")"
}
joins_everywhere "after its session" "O-2,O-3 | O-2,O-3"
for d in "$ONE" "$DB"; do
    citus_psql 0 -d "$d" -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'O-6', '[{\"sku\": \"TEE\", \"qty\": 60}]'))" >/dev/null || exit 1
done
check "(the administrator's order O-6 holds TEE at DC1 and DC2, on both layouts)" "1:50,2:10" \
    "$(citus_psql 0 -d "$ONE" -c "SELECT string_agg(node_id || ':' || qty, ',' ORDER BY node_id) FROM erp.reservation WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-6')")"
check "(and the same on Citus)" \
    "$(citus_psql 0 -d "$ONE" -c "SELECT string_agg(node_id || ':' || qty, ',' ORDER BY node_id) FROM erp.reservation WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-6')")" \
    "$(citus_psql 0 -d "$DB" -c "SELECT string_agg(node_id || ':' || qty, ',' ORDER BY node_id) FROM erp.reservation WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-6')")"
check "(its nodes in erp.order_node on Citus; none on one node)" "1,2 | 0" \
    "$(citus_psql 0 -d "$DB" -c "SELECT string_agg(node_id::text, ',' ORDER BY node_id) FROM erp.order_node WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-6')") | $(citus_psql 0 -d "$ONE" -c "SELECT count(*) FROM erp.order_node")"
joins_everywhere "after an order split over DC1 and DC2" "O-2,O-3 | O-2,O-3"
for d in "$ONE" "$DB"; do
    citus_psql 0 -d "$d" -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "SELECT erp.cancel_order(order_id) FROM erp.sales_order WHERE external_ref = 'O-6'" >/dev/null || exit 1
done
joins_everywhere "after that order is cancelled" "O-2,O-3 | O-2,O-3,O-6"
# a shard read directly on a worker: the partner's rows only
shard=$(citus_psql 0 -d "$DB" -c "SELECT 'erp.stock_slot_' || shardid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid) WHERE logicalrelid = 'erp.stock_slot'::regclass AND n.nodeport = ${ports[1]} AND shardid = get_shard_id_for_distribution_column('erp.stock_slot', (SELECT item_id FROM erp.item WHERE sku = 'TEE'))")
if [ -n "$shard" ]; then
    check "a shard of erp.stock_slot read directly on worker 1 as the partner: DC2's rows only" \
        "$(citus_psql 1 -d "$DB" -c "SELECT count(*) FROM $shard WHERE node_id = 2 AND available <> 0")|0" \
        "$(citus_psql 1 -d "$DB" -U "$P" -c "SELECT count(*) FILTER (WHERE node_id = 2 AND available <> 0) || '|' || count(*) FILTER (WHERE node_id <> 2) FROM $shard" 2>&1)"
else
    shard=$(citus_psql 0 -d "$DB" -c "SELECT 'erp.stock_slot_' || get_shard_id_for_distribution_column('erp.stock_slot', (SELECT item_id FROM erp.item WHERE sku = 'TEE'))")
    check "a shard of erp.stock_slot read directly on worker 2 as the partner: DC2's rows only" \
        "$(citus_psql 2 -d "$DB" -c "SELECT count(*) FROM $shard WHERE node_id = 2 AND available <> 0")|0" \
        "$(citus_psql 2 -d "$DB" -U "$P" -c "SELECT count(*) FILTER (WHERE node_id = 2 AND available <> 0) || '|' || count(*) FILTER (WHERE node_id <> 2) FROM $shard" 2>&1)"
fi
citus_psql 0 -d postgres -c "DROP DATABASE IF EXISTS $ONE WITH (FORCE)"
[ "$failures" -eq 0 ] && echo "== t_partner: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
