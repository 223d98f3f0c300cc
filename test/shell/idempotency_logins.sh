#!/usr/bin/env bash
# idempotency_logins: idempotency keys belong to the login that used them
# (doc/idempotency.md), and a retry after a lost COMMIT reply does not book twice.
#   - two 3PL partners log in as themselves (LOGIN roles, psql -U) and use the
#     same key string: each gets its own effect; a partner repeating the other's
#     exact call with the other's key string never gets the other's result: its
#     own key of that name refuses it (IE010), or it runs as itself (IE009 at
#     the other's node);
#   - each partner reads its own keys only and writes none;
#   - a client whose connection dies right after COMMIT (the reply is lost)
#     retries on a new connection with the same key: one receipt, the same move
#     id; a connection that dies before COMMIT leaves no key: the retry runs;
#   - inventory_erp.idempotency_retention set by ALTER DATABASE holds in a
#     login's session, which cannot change it, and expires keys.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_idempotency_logins
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
# as LOGIN SQL...: statements as a login; the last line of output ("ERROR:  <SQLSTATE>" for an error)
as() {
    local login=$1 args=()
    shift
    for s in "$@"; do args+=(-c "$s"); done
    "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$login" -d "$DB" "${args[@]}" </dev/null 2>&1 | tail -1
}
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS idem_p1, idem_p2, idem_app" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1

echo "== two partners (P1 at N1, P2 at N2) and an application login"
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('N1', '3pl'), ('N2', '3pl');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
CREATE ROLE idem_p1 LOGIN;
CREATE ROLE idem_p2 LOGIN;
CREATE ROLE idem_app LOGIN;
GRANT erp_operator, erp_reader TO idem_p1, idem_p2, idem_app;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'idem_p1', node_id FROM erp.node WHERE code = 'N1';
INSERT INTO erp.node_access (role_name, node_id) SELECT 'idem_p2', node_id FROM erp.node WHERE code = 'N2';
SQL
receipts() { admin -c "SELECT count(*) || '/' || coalesce(sum(m.qty), 0) FROM erp.stock_move m JOIN erp.node n ON n.node_id = m.to_node_id WHERE n.code = '$1' AND m.event = 'receive'"; }

echo "== one key string, two partners"
m1=$(as idem_p1 "SELECT erp.receive('TEE', 'N1', 10, idempotency_key => 'delivery-1')")
m1_retry=$(as idem_p1 "SELECT erp.receive('TEE', 'N1', 10, idempotency_key => 'delivery-1')")
check "P1's receipt returns a move id" "yes" "$([[ "$m1" =~ ^[0-9]+$ ]] && echo yes || echo "no: $m1")"
check "P1's retry replays its move id" "$m1" "$m1_retry"
m2=$(as idem_p2 "SELECT erp.receive('TEE', 'N2', 7, idempotency_key => 'delivery-1')")
check "P2 with P1's key string runs its own receipt (another move id)" "yes" "$([ -n "$m2" ] && [ "$m2" != "$m1" ] && [[ "$m2" =~ ^[0-9]+$ ]] && echo yes || echo "no: $m2")"
check "N1 got one receipt of 10" "1/10" "$(receipts N1)"
check "N2 got one receipt of 7" "1/7" "$(receipts N2)"
check "P2 repeating P1's exact call with P1's key is not a replay of P1's result: P2's key is its own (IE010)" \
    "ERROR:  IE010" "$(as idem_p2 "SELECT erp.receive('TEE', 'N1', 10, idempotency_key => 'delivery-1')")"
as idem_p1 "SELECT erp.receive('TEE', 'N1', 3, idempotency_key => 'p1-only')" >/dev/null
check "P2 using a key only P1 has used runs as P2 (no access to N1: IE009), never P1's stored result" \
    "ERROR:  IE009" "$(as idem_p2 "SELECT erp.receive('TEE', 'N1', 3, idempotency_key => 'p1-only')")"
check "nothing more was booked at N1" "2/13" "$(receipts N1)"

echo "== reading and writing the keys"
check "P2 sees its own key only" "idem_p2:delivery-1" \
    "$(as idem_p2 "SELECT string_agg(role_name || ':' || key, ',' ORDER BY key) FROM erp.idempotency_key")"
check "P1 sees its two keys, not P2's" "delivery-1,p1-only" \
    "$(as idem_p1 "SELECT string_agg(key, ',' ORDER BY key) FROM erp.idempotency_key")"
check "P1 cannot forge a key for P2" "ERROR:  42501" \
    "$(as idem_p1 "INSERT INTO erp.idempotency_key (role_name, key, function, content_hash, result, result_rows, created_at) VALUES ('idem_p2', 'x', 'erp.receive()', '\\x00', '1', NULL, now())")"
check "P1 cannot delete its keys (a replay would run twice)" "ERROR:  42501" \
    "$(as idem_p1 "DELETE FROM erp.idempotency_key")"
check "P1 may prune expired keys (none are)" "0" "$(as idem_p1 "SELECT erp.prune_idempotency_keys()")"

echo "== the COMMIT reply is lost: the connection dies right after COMMIT"
as idem_app "BEGIN" "SELECT erp.receive('TEE', 'N1', 4, ref => 'po:77', idempotency_key => 'po-77')" "COMMIT" \
    "SELECT pg_terminate_backend(pg_backend_pid())" >/dev/null
first=$(admin -c "SELECT max(move_id) FROM erp.stock_move WHERE ref = 'po:77'")
retry=$(as idem_app "SELECT erp.receive('TEE', 'N1', 4, ref => 'po:77', idempotency_key => 'po-77')")
check "the retry on a new connection returns the committed move id" "$first" "$retry"
check "po:77 is booked once" "1" "$(admin -c "SELECT count(*) FROM erp.stock_move WHERE ref = 'po:77'")"

echo "== the connection dies before COMMIT: nothing committed, no key"
as idem_app "BEGIN" "SELECT erp.receive('TEE', 'N1', 4, ref => 'po:78', idempotency_key => 'po-78')" \
    "SELECT pg_terminate_backend(pg_backend_pid())" >/dev/null
check "no receipt and no key survive the lost transaction" "0/0" \
    "$(admin -c "SELECT (SELECT count(*) FROM erp.stock_move WHERE ref = 'po:78') || '/' || (SELECT count(*) FROM erp.idempotency_key WHERE key = 'po-78')")"
as idem_app "SELECT erp.receive('TEE', 'N1', 4, ref => 'po:78', idempotency_key => 'po-78')" >/dev/null
check "the retry runs: po:78 is booked once" "1" "$(admin -c "SELECT count(*) FROM erp.stock_move WHERE ref = 'po:78'")"
echo "== retention set per database by a superuser"
admin -c "ALTER DATABASE $DB SET inventory_erp.idempotency_retention = '1min'" >/dev/null
check "a login's session (after the library loads) has the database's retention" "1min" \
    "$(as idem_app "SELECT erp.prune_idempotency_keys()" "SHOW inventory_erp.idempotency_retention")"
check "a login cannot change the retention" "ERROR:  42501" \
    "$(as idem_app "SELECT erp.prune_idempotency_keys()" "SET inventory_erp.idempotency_retention = '1s'")"
admin -c "UPDATE erp.idempotency_key SET created_at = created_at - interval '2 minutes' WHERE key = 'po-78'" >/dev/null
as idem_app "SELECT erp.receive('TEE', 'N1', 4, ref => 'po:78', idempotency_key => 'po-78')" >/dev/null
check "a key older than the database's 1-minute retention runs again" "2" \
    "$(admin -c "SELECT count(*) FROM erp.stock_move WHERE ref = 'po:78'")"
check "and the fresh key replays" "2" \
    "$(as idem_app "SELECT erp.receive('TEE', 'N1', 4, ref => 'po:78', idempotency_key => 'po-78')" >/dev/null; admin -c "SELECT count(*) FROM erp.stock_move WHERE ref = 'po:78'")"
check "erp.verify finds nothing" "0" "$(admin -c "SELECT count(*) FROM erp.verify()")"

[ "$failures" -eq 0 ]
