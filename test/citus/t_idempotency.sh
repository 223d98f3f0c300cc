#!/usr/bin/env bash
# t_idempotency: idempotency keys across the nodes of a Citus cluster.  A login's
# call made with a key through the coordinator, retried through worker 1 and
# through worker 2, runs once (the retries return the first call's result and
# change nothing); other content under the key is refused (IE010) through any
# node, with nothing changed; another login's same key is its own; a login reads
# only its own keys, on every node; two calls with one key through two nodes at
# the same time run once: the second is refused 40001 or replays, and its retry
# replays.  erp.undistribute() keeps the keys, and keys are per login oid again.
# Catches: keys kept per node (the coordinator-only table of 0.4.0's first Citus
# layout, keyed by the login's oid, which differs per node), a key table whose
# row level security Citus refuses, a concurrent call through another node that
# runs twice.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_idem
citus_db "$DB" || exit 1
read -r -a ports <<<"$CITUS_PORT_LIST"
c() { citus_psql 0 -d "$DB" "$@"; }
# as login $1 through node $2 (0 coordinator, 1 and 2 workers), errors as their SQLSTATE
as() {
    local who=$1 node=$2
    shift 2
    "$PGBIN/psql" -X -q -At -h localhost -p "${ports[$node]}" -U "$who" -d "$DB" -v VERBOSITY=sqlstate "$@" 2>&1 |
        sed -e 's/^psql:[^:]*:[0-9]*: //' -e 's/^ERROR:  //'
}
c -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS ierp_idem_a" -c "DROP ROLE IF EXISTS ierp_idem_b" \
  -c "CREATE ROLE ierp_idem_a LOGIN IN ROLE erp_operator, erp_reader" \
  -c "CREATE ROLE ierp_idem_b LOGIN IN ROLE erp_operator, erp_reader" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 1, 10);
SQL
# a key used before erp.distribute() is kept and shared afterwards
first=$(as ierp_idem_a 0 -c "SELECT erp.receive('TEE', 'DC1', 5, idempotency_key => 'k0')")
check "erp.distribute() lays out the idempotency keys as a reference table" "t" \
    "$(c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute() > 0" \
         -c "SELECT partmethod = 'n' AND repmodel = 't' FROM pg_dist_partition WHERE logicalrelid = 'erp.idempotency_key'::regclass" | tail -1)"
books() { c -c "SELECT count(*) || ' moves, on hand ' || COALESCE(sum(qty) FILTER (WHERE event = 'receive'), 0) FROM erp.stock_move"; }
check "the key of a call before erp.distribute() replays through worker 2" "$first | 1 moves, on hand 5" \
    "$(as ierp_idem_a 2 -c "SELECT erp.receive('TEE', 'DC1', 5, idempotency_key => 'k0')") | $(books)"

id=$(as ierp_idem_a 0 -c "SELECT erp.receive('TEE', 'DC1', 7, idempotency_key => 'k1')")
check "(the first call with key k1, through the coordinator, runs)" "2 moves, on hand 12" "$(books)"
for n in 1 2; do
    check "its retry through worker $n returns the first call's move and changes nothing" "$id | 2 moves, on hand 12" \
        "$(as ierp_idem_a $n -c "SELECT erp.receive('TEE', 'DC1', 7, idempotency_key => 'k1')") | $(books)"
    check "other content under the key through worker $n: IE010, nothing changed" "IE010 | 2 moves, on hand 12" \
        "$(as ierp_idem_a $n -c "SELECT erp.receive('TEE', 'DC1', 8, idempotency_key => 'k1')") | $(books)"
done
# a set-returning function: allocate an order through worker 1, retry through the coordinator
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.capture_order('WEB', 'I-1', '[{"sku": "TEE", "qty": 3}]');
SQL
oid=$(c -c "SELECT order_id FROM erp.sales_order WHERE external_ref = 'I-1'")
a1=$(as ierp_idem_a 1 -c "SELECT line_no, sku, node, qty, order_status FROM erp.allocate($oid, idempotency_key => 'k2')")
check "(the allocation through worker 1 reserves 3 units)" "1|TEE|DC1|3|allocated" "$a1"
check "its retry through the coordinator returns the same rows and reserves nothing more" "$a1 | 3" \
    "$(as ierp_idem_a 0 -c "SELECT line_no, sku, node, qty, order_status FROM erp.allocate($oid, idempotency_key => 'k2')") | $(c -c "SELECT sum(qty) FROM erp.reservation")"
# keys are per login: the other login's k1 is its own call
as ierp_idem_b 1 -c "SELECT erp.receive('TEE', 'DC1', 7, idempotency_key => 'k1')" >/dev/null
check "another login's key k1 through worker 1 runs (keys are per login)" "4 moves, on hand 19" "$(books)"
for n in 0 1 2; do
    check "through node $n a login reads its own keys only" "k0,k1,k2 | k1" \
        "$(as ierp_idem_a $n -c "SELECT string_agg(key, ',' ORDER BY key) FROM erp.idempotency_key") | $(as ierp_idem_b $n -c "SELECT string_agg(key, ',' ORDER BY key) FROM erp.idempotency_key")"
done
# two calls with one key through two nodes at once: the coordinator's holds its
# transaction open; worker 2's, meanwhile, cannot see the key, runs, and finds it
# committed when it records its own: refused 40001 (nothing of it stays)
as ierp_idem_a 0 -c "BEGIN" -c "SELECT erp.receive('TEE', 'DC1', 2, idempotency_key => 'k3')" -c "SELECT pg_sleep(3)" -c "COMMIT" \
    >"$CITUS_LOG_DIR/idem-k3-coord.out" &
sleep 1
second=$(as ierp_idem_a 2 -c "SELECT erp.receive('TEE', 'DC1', 2, idempotency_key => 'k3')")
wait
check "the same key through worker 2 during the coordinator's call: refused 40001 or replayed" "yes" \
    "$(case "$second" in 40001|"$(sed -n 1p "$CITUS_LOG_DIR/idem-k3-coord.out")") echo yes ;; *) echo "no: $second" ;; esac)"
check "the key ran once" "5 moves, on hand 21" "$(books)"
check "the retry through worker 2 replays the coordinator's call" "$(sed -n 1p "$CITUS_LOG_DIR/idem-k3-coord.out") | 5 moves, on hand 21" \
    "$(as ierp_idem_a 2 -c "SELECT erp.receive('TEE', 'DC1', 2, idempotency_key => 'k3')") | $(books)"
check "one key row per login and key, on every node's copy" "4|1 4|1 4|1" \
    "$(for n in 0 1 2; do citus_psql $n -d "$DB" -c "SELECT count(*) FILTER (WHERE role_name = 'ierp_idem_a') || '|' || count(*) FILTER (WHERE role_name = 'ierp_idem_b') FROM erp.idempotency_key"; done | tr '\n' ' ' | sed 's/ $//')"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
# back to one node: the keys stay, by login oid again
c -c "SET client_min_messages = warning" -c "SELECT erp.undistribute()" >/dev/null || exit 1
check "after erp.undistribute() a retry on the coordinator still replays" "$id | 5 moves, on hand 21" \
    "$(as ierp_idem_a 0 -c "SELECT erp.receive('TEE', 'DC1', 7, idempotency_key => 'k1')") | $(books)"
check "and erp.distribute()'s session_preload_libraries setting of the database is gone" "" \
    "$(c -c "SHOW session_preload_libraries")"
check "and the name index erp.distribute() added is gone" "0" \
    "$(c -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'erp' AND indexname = 'idempotency_key_role_name_key'")"
c -c "SET client_min_messages = warning" -c "DROP OWNED BY ierp_idem_a, ierp_idem_b" -c "DROP ROLE ierp_idem_a" -c "DROP ROLE ierp_idem_b" >/dev/null 2>&1
[ "$failures" -eq 0 ] && echo "== t_idempotency: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
