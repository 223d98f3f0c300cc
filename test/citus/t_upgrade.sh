#!/usr/bin/env bash
# t_upgrade: ALTER EXTENSION inventory_erp UPDATE on a Citus cluster, from the released
# 0.3.0 with a day of data in it (test/citus/upgrade-day.sql, written by 0.3.0's own
# module, built from the release commit), then erp.distribute(): every row, balance and
# order is still there and erp.verify() is empty on the distributed layout, and stock
# and orders still move.  Then the procedure doc/scaling.md gives for later updates
# (erp.undistribute(), ALTER EXTENSION ... UPDATE, erp.distribute()) keeps the books.
# 0.3.0's module cannot run in a database where Citus is installed (it registers more
# relcache callbacks than PostgreSQL has room for beside Citus: FATAL), so the 0.3.0
# database has no citus extension until it is updated: that is the documented order.
# Catches: an update fragment that fails or loses rows on a database Citus will
# distribute, a 0.4.0 table erp.distribute() cannot lay out after an update, workers
# without the extension, verify() problems after the move into shards.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_upgrade
RELEASE_COMMIT=ef548ff        # "Release 0.3.0" (scripts/cut-release.sh)
read -r -a ports <<<"$CITUS_PORT_LIST"
LIB=$(dirname "$PGBIN")/lib
OLD=$CITUS_LOG_DIR/release-0.3.0
c() { citus_psql 0 -d "$DB" "$@"; }

# 0.3.0's module, from git history
git -C "$REPO_ROOT" rev-parse -q --verify "$RELEASE_COMMIT^{commit}" >/dev/null 2>&1 ||
    { echo "FAIL: commit $RELEASE_COMMIT (the 0.3.0 release) is not in the git history"; exit 1; }
rm -rf "$OLD" && mkdir -p "$OLD" && git -C "$REPO_ROOT" archive "$RELEASE_COMMIT" | tar -x -C "$OLD" || exit 1
make -s -C "$OLD" PG_CONFIG="$SYS_PGBIN/pg_config" >"$OLD.log" 2>&1 || { tail -20 "$OLD.log"; exit 1; }
# swapped in by rename (a running backend keeps the file it mapped), swapped back on exit
cp "$LIB/inventory_erp.so" "$CITUS_LOG_DIR/current.so" || exit 1
swap() { cp "$1" "$LIB/.inventory_erp.so.new" && mv "$LIB/.inventory_erp.so.new" "$LIB/inventory_erp.so"; }
trap 'swap "$CITUS_LOG_DIR/current.so"' EXIT
swap "$OLD/inventory_erp.so" || exit 1

for port in "${ports[@]}"; do
    "$PGBIN/dropdb" -h localhost -p "$port" -U postgres --if-exists --force "$DB" >/dev/null 2>&1
done
"$PGBIN/createdb" -h localhost -p "${ports[0]}" -U postgres "$DB" || exit 1
c -c "CREATE EXTENSION inventory_erp VERSION '0.3.0'" || exit 1
c -f "$REPO_ROOT/test/citus/upgrade-day.sql" >/dev/null || exit 1
books() {
    c -c "SELECT string_agg(format('%s/%s/%s=%s', i.sku, n.code, b.state, b.qty), ' ' ORDER BY i.sku, n.code, b.state)
            FROM (SELECT item_id, node_id, state, sum(qty) AS qty FROM erp.stock_balance GROUP BY 1, 2, 3 HAVING sum(qty) <> 0) b
            JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id)" \
      -c "SELECT count(*) || ' moves ' || sum(qty) || ' units ' || max(move_id) FROM erp.stock_move" \
      -c "SELECT string_agg(order_id || ':' || status, ' ' ORDER BY order_id) FROM erp.sales_order" \
      -c "SELECT string_agg(rma_id || ':' || status, ' ' ORDER BY rma_id) FROM erp.rma" \
      -c "SELECT string_agg(purchase_order_id || ':' || status, ' ' ORDER BY purchase_order_id) FROM erp.purchase_order"
}
BEFORE=$(books)
check "(0.3.0: the day's books)" \
    "CAP/DC2/available=18 MUG/DC1/available=4 MUG/DC1/reserved=4 MUG/DC2/available=12 TEE/DC1/available=42 TEE/DC1/inspection=1 TEE/DC2/available=5|21 moves|1:shipped 2:allocated 3:cancelled|1:received|1:received" \
    "$(sed -e 's/ [0-9]* units [0-9]*$//' <<<"$BEFORE" | tr '\n' '|' | sed 's/|$//')"

# the current package; no backend keeps 0.3.0's module
swap "$CITUS_LOG_DIR/current.so" || exit 1
c -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
check "ALTER EXTENSION inventory_erp UPDATE (one node's layout)" \
    "$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$REPO_ROOT/inventory_erp.control")" \
    "$(c -c "SET client_min_messages = warning" -c "ALTER EXTENSION inventory_erp UPDATE" -c "SELECT extversion FROM pg_extension WHERE extname = 'inventory_erp'" 2>&1)"
check "after the update: the same books, erp.verify() empty" "$BEFORE
0" "$(books; c -c "SELECT count(*) FROM erp.verify()")"

# Citus (doc/scaling.md, "Updating the extension"): citus on every node; a worker
# that has no inventory_erp refuses erp.distribute() (IE010) and nothing moves; each
# worker's database gets the extension (worker 1 once added, worker 2 before); then
# erp.distribute()
for port in "${ports[@]:1}"; do
    "$PGBIN/createdb" -h localhost -p "$port" -U postgres "$DB" || exit 1
done
for port in "${ports[@]}"; do
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$DB" \
        -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION citus' || exit 1
done
c -c "SELECT citus_set_coordinator_host('localhost', ${ports[0]})" -c "SELECT citus_add_node('localhost', ${ports[1]})" >/dev/null || exit 1
check "erp.distribute() with a worker that has no inventory_erp: refused (IE010)" "IE010" \
    "$(c -v VERBOSITY=sqlstate -c "SELECT erp.distribute()" 2>&1 | grep -o IE010)"
check "the refusal distributed nothing" "0" "$(c -c "SELECT count(*) FROM pg_dist_partition")"
for n in 1 2; do   # worker 1 is a worker already: Citus refuses DDL there unless told not to propagate
    citus_psql $n -d "$DB" -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "SET citus.enable_ddl_propagation = off" -c "CREATE EXTENSION inventory_erp" || exit 1
done
c -c "SELECT citus_add_node('localhost', ${ports[2]})" >/dev/null || exit 1
for n in 1 2; do
    check "worker $n has the extension at the updated version" \
        "$(c -c "SELECT extversion FROM pg_extension WHERE extname = 'inventory_erp'")" \
        "$(citus_psql $n -d "$DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'inventory_erp'")"
done
check "erp.distribute() after the update" "$(c -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" \
    "$(c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" 2>&1)"
check "distributed: the same books, erp.verify() empty" "$BEFORE
0" "$(books; c -c "SELECT count(*) FROM erp.verify()")"
check "stock and orders still move: an order allocated and picked, a receipt" "allocated|picking|0" \
    "$(c -c "SET client_min_messages = warning" \
         -c "SELECT order_status FROM erp.allocate(erp.capture_order('WEB', 'U-4', '[{\"sku\": \"CAP\", \"qty\": 2}]'))" \
         -c "SELECT erp.pick(4, 'CAP', 2)" -c "SELECT erp.receive('MUG', 'DC1', 3)" \
         -c "SELECT status FROM erp.sales_order WHERE order_id = 4" -c "SELECT count(*) FROM erp.verify()" 2>&1 | grep -v '^$' | grep -v '^[0-9]*$' | head -2 | tr '\n' '|')$(c -c "SELECT count(*) FROM erp.verify()")"
AFTER=$(books)
# a later update: back to one node's layout, update, distribute again (doc/scaling.md)
check "the update procedure: undistribute, ALTER EXTENSION ... UPDATE, distribute" \
    "$(c -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'") $(c -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" \
    "$(c -c "SET client_min_messages = warning" -c "SELECT erp.undistribute()" -c "ALTER EXTENSION inventory_erp UPDATE" \
         -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check "after it: the same books, erp.verify() empty" "$AFTER
0" "$(books; c -c "SELECT count(*) FROM erp.verify()")"
c -c "SET client_min_messages = warning" -c "SELECT erp.undistribute()" -c "DROP EXTENSION inventory_erp" >/dev/null
[ "$failures" -eq 0 ] && echo "== t_upgrade: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
