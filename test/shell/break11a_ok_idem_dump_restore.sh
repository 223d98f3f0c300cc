#!/usr/bin/env bash
# break11a_idem_dump_restore: a database restored from pg_dump still answers
# retries (doc/idempotency.md: "pg_dump keeps its rows ... a restored database
# still answers retries"): after pg_dump | pg_restore into a new database,
#   - a retried erp.receive replays its move id and books nothing;
#   - a retried erp.allocate (an SRF) replays its rows;
#   - a retried erp.place_order replays;
#   - a partner's key is still the partner's (the superuser's same key string runs on its own);
#   - the same key with other arguments is still refused (IE010).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_b11a_dump_src
DB2=ierp_b11a_dump_dst
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { local d=$1; shift; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$d" "$@"; }
last() { local d=$1; shift; "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U postgres -d "$d" "$@" 2>&1 </dev/null | tail -1; }
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/dropdb" -U postgres --if-exists "$DB2" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS b11a_dump_p1" >/dev/null 2>&1
    rm -f "${DUMP:-/nonexistent}"
}
trap cleanup EXIT
cleanup
DUMP=$(mktemp)
"$PGBIN/createdb" -U postgres "$DB" || exit 1
q "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse'), ('N1', '3pl');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE n.code = 'DC';
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
CREATE ROLE b11a_dump_p1;
GRANT erp_operator, erp_reader TO b11a_dump_p1;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'b11a_dump_p1', node_id FROM erp.node WHERE code = 'N1';
SQL
m=$(q "$DB" -c "SELECT erp.receive('TEE', 'DC', 10, idempotency_key => 'dump-receive')")
o=$(q "$DB" -c "SELECT erp.capture_order('WEB', 'D-1', '[{\"sku\": \"TEE\", \"qty\": 2}]')")
a=$(q "$DB" -c "SELECT string_agg(a::text, ';' ORDER BY a::text) FROM erp.allocate($o, idempotency_key => 'dump-allocate') a")
p=$(q "$DB" -c "SELECT string_agg(a::text, ';' ORDER BY a::text) FROM erp.place_order('WEB', 'D-2', '[{\"sku\": \"TEE\", \"qty\": 1}]', idempotency_key => 'dump-place') a")
pm=$(q "$DB" -c "SET ROLE b11a_dump_p1" -c "SELECT erp.receive('TEE', 'N1', 4, idempotency_key => 'dump-partner')")
keys=$(q "$DB" -c "SELECT count(*) FROM erp.idempotency_key")
check "four keys recorded before the dump" "4" "$keys"

"$PGBIN/pg_dump" -U postgres -Fc -f "$DUMP" "$DB" || exit 1
"$PGBIN/createdb" -U postgres "$DB2" || exit 1
"$PGBIN/pg_restore" -U postgres -d "$DB2" "$DUMP" >/dev/null 2>&1
check "the keys were restored" "$keys" "$(q "$DB2" -c "SELECT count(*) FROM erp.idempotency_key")"
moves=$(q "$DB2" -c "SELECT count(*) || '/' || sum(qty) FROM erp.stock_move")
res=$(q "$DB2" -c "SELECT count(*) || '/' || sum(qty) FROM erp.reservation")
check "receive replays its move id after restore" "$m" "$(last "$DB2" -c "SELECT erp.receive('TEE', 'DC', 10, idempotency_key => 'dump-receive')")"
check "allocate replays its rows after restore" "$a" \
    "$(last "$DB2" -c "SELECT string_agg(a::text, ';' ORDER BY a::text) FROM erp.allocate($o, idempotency_key => 'dump-allocate') a")"
check "place_order replays its rows after restore" "$p" \
    "$(last "$DB2" -c "SELECT string_agg(a::text, ';' ORDER BY a::text) FROM erp.place_order('WEB', 'D-2', '[{\"sku\": \"TEE\", \"qty\": 1}]', idempotency_key => 'dump-place') a")"
check "the partner's retry replays its own move id" "$pm" \
    "$(last "$DB2" -c "SET ROLE b11a_dump_p1" -c "SELECT erp.receive('TEE', 'N1', 4, idempotency_key => 'dump-partner')")"
check "other arguments under a restored key: IE010" "ERROR:  IE010" \
    "$(last "$DB2" -c "SELECT erp.receive('TEE', 'DC', 11, idempotency_key => 'dump-receive')")"
check "the replays booked nothing" "$moves" "$(q "$DB2" -c "SELECT count(*) || '/' || sum(qty) FROM erp.stock_move")"
check "and reserved nothing more" "$res" "$(q "$DB2" -c "SELECT count(*) || '/' || sum(qty) FROM erp.reservation")"
su=$(last "$DB2" -c "SELECT erp.receive('TEE', 'N1', 4, idempotency_key => 'dump-partner')")
check "the superuser's same key string is its own: it runs (a new move id)" "yes" \
    "$([[ "$su" =~ ^[0-9]+$ ]] && [ "$su" != "$pm" ] && echo yes || echo "no: $su")"
[ $failures -eq 0 ]
