#!/usr/bin/env bash
# t_tour: the README's 5-minute tour (every ```sql block of its "A 5-minute tour"
# section, read from README.md) gives the same output on the distributed layout as
# on one node: the same ids, balances, ATP, refusals and their messages, order and
# return statuses, events, ledger rows (actor included) and an empty erp.verify().
# The one-node run is a database of the coordinator without Citus.  Then
# erp.undistribute() brings the books back unchanged, and DROP EXTENSION works.
# Catches: a statement Citus cannot plan (generic plans, correlated subqueries next to
# reference tables, now() in CASE in an UPDATE, ...), a guard that refuses the
# kernel's own writes on a shard, anything the distributed run computes differently.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_tour
ONE=ierp_citus_tour_one
TOUR=$CITUS_LOG_DIR/tour.sql
awk '/^## A 5-minute tour/{f=1; next} /^## /{if (f) exit} f' "$REPO_ROOT/README.md" |
    awk '/^```sql/{c=1; next} /^```/{c=0} c' | grep -v '^CREATE EXTENSION inventory_erp;' >"$TOUR"
check "the tour has its statements (README.md)" "yes" "$([ "$(grep -c 'SELECT erp\.' "$TOUR")" -ge 15 ] && echo yes)"

citus_db "$DB" || exit 1
citus_psql 0 -d postgres -c "DROP DATABASE IF EXISTS $ONE WITH (FORCE)" -c "CREATE DATABASE $ONE" || exit 1
citus_psql 0 -d "$ONE" -c "CREATE EXTENSION inventory_erp" || exit 1
check "erp.distribute()" "$(citus_psql 0 -d "$DB" -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" "$(citus_psql 0 -d "$DB" -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()")"

run() { "$PGBIN/psql" -X -h localhost -p "${CITUS_PORT_LIST%% *}" -U postgres -d "$1" -f "$TOUR" 2>&1 | sed 's/^psql:[^:]*:[0-9]*: //'; }
run "$ONE" >"$CITUS_LOG_DIR/tour-one.out"
run "$DB" >"$CITUS_LOG_DIR/tour-citus.out"
check "the tour's output on Citus is the one-node output" "" "$(diff "$CITUS_LOG_DIR/tour-one.out" "$CITUS_LOG_DIR/tour-citus.out")"
check "(the one-node tour shipped the order and restocked the return)" "2" \
    "$(grep -cE '^ +1 \| W-5001 +\| shipped|^ +1 \| new +\| restock' "$CITUS_LOG_DIR/tour-one.out")"
check "(and its refusals are there: IE001 IE002 IE007)" "IE001 IE002 IE007" "$(grep -E '^IE0' "$CITUS_LOG_DIR/tour-one.out" | sort | tr '\n' ' ' | sed 's/ $//')"

books() {
    citus_psql 0 -d "$1" <<'SQL'
SELECT string_agg(format('%s/%s/%s/%s/%s/%s/%s/%s/%s', m.move_id, i.sku, m.qty, m.from_node_id, m.from_state,
                         m.to_node_id, m.to_state, m.event, m.actor), ' ' ORDER BY m.move_id) FROM erp.stock_move m JOIN erp.item i USING (item_id);
SELECT string_agg(format('%s/%s/%s/%s=%s', item_id, node_id, lot_id, state, qty), ' ' ORDER BY item_id, node_id, lot_id, state) FROM erp.stock_balance;
SELECT string_agg(format('%s/%s', order_id, status), ' ' ORDER BY order_id) FROM erp.sales_order;
SELECT string_agg(format('%s/%s/%s', event_id, kind, order_id), ' ' ORDER BY event_id) FROM erp.event;
SQL
}
BEFORE=$(books "$DB")
check "the distributed books are the one-node books" "$(books "$ONE")" "$BEFORE"
check "erp.undistribute()" "$(citus_psql 0 -d "$DB" -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" "$(citus_psql 0 -d "$DB" -c "SET client_min_messages = warning" -c "SELECT erp.undistribute()")"
check "the books are unchanged after erp.undistribute()" "$BEFORE" "$(books "$DB")"
check "erp.verify() is empty after erp.undistribute()" "0" "$(citus_psql 0 -d "$DB" -c "SELECT count(*) FROM erp.verify()")"
check "DROP EXTENSION works" "0" \
    "$(citus_psql 0 -d "$DB" -c "DROP EXTENSION inventory_erp" -c "SELECT count(*) FROM pg_extension WHERE extname = 'inventory_erp'" 2>&1)"
citus_psql 0 -d postgres -c "DROP DATABASE IF EXISTS $ONE WITH (FORCE)"
[ "$failures" -eq 0 ] && echo "== t_tour: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
