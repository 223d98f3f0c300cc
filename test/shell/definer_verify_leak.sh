#!/usr/bin/env bash
# break2_definer_verify_leak (break-it pass 2 of issue 9): a partner's own
# SECURITY DEFINER function, called by another login, is meant to act as the
# partner (src/access.c, IerpSessionIdentity) - and it does for every C
# function and for row level security.  erp.verify() is still a SQL SECURITY
# DEFINER function owned by the (superuser) extension owner: inside it the
# current user is a superuser, so IerpSessionIdentity skips it and falls back
# to the session's login - the caller of the partner's function, not the
# partner.  Expected: the partner's function sees the verify() rows of its
# own nodes only (as its direct read of erp.stock_balance is held to them);
# actual: it receives (and can store in its own table) the problems of every
# node when an administrator calls it.
# Exit 0 = pass (no leak).
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_verify
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
as() {
    local login=$1 args=()
    shift
    for s in "$@"; do args+=(-c "$s"); done
    "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$login" -d "$DB" "${args[@]}" </dev/null 2>&1 | tail -1
}
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk2v_app, brk2v_admin" \
        -c "DROP ROLE IF EXISTS brk2v_3pl" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('3PL', '3pl');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 100), erp.receive('TEE', '3PL', 100);
CREATE ROLE brk2v_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'brk2v_3pl', node_id FROM erp.node WHERE code = '3PL';
CREATE ROLE brk2v_app LOGIN IN ROLE brk2v_3pl, erp_operator, erp_approver;
CREATE SCHEMA brk2v_own AUTHORIZATION brk2v_app;
GRANT USAGE ON SCHEMA brk2v_own TO PUBLIC;
CREATE ROLE brk2v_admin LOGIN IN ROLE erp_admin, erp_operator, erp_reader;
-- a problem at DC1 for erp.verify() to report (the superuser damages a balance:
-- a slot of erp.stock_slot, with its guard trigger off)
SET session_replication_role = replica;
UPDATE erp.stock_slot SET available = available + 7
 WHERE node_id = (SELECT node_id FROM erp.node WHERE code = 'DC1') AND available > 0;
SQL
as brk2v_app "CREATE TABLE brk2v_own.loot (problem text, node_id bigint, expected bigint, actual bigint)" >/dev/null
as brk2v_app "GRANT INSERT ON brk2v_own.loot TO PUBLIC" >/dev/null
as brk2v_app "CREATE FUNCTION brk2v_own.healthcheck() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ INSERT INTO brk2v_own.loot SELECT problem, node_id, expected, actual FROM erp.verify(); SELECT count(*) FROM brk2v_own.loot \$\$" >/dev/null
as brk2v_app "CREATE FUNCTION brk2v_own.balances() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ SELECT count(*) FROM erp.stock_balance \$\$" >/dev/null

# the slot's 7 units: one problem of the balances, one of the costs (no cost for them)
check "(the administrator sees the DC1 problem)" "1 1" "$(as brk2v_admin "SELECT count(*) FILTER (WHERE problem NOT LIKE '%cost%') || ' ' || count(*) FILTER (WHERE problem LIKE '%cost%') FROM erp.verify()")"
check "(the partner itself sees no problem of DC1)" "0" "$(as brk2v_app "SELECT count(*) FROM erp.verify()")"
check "(the partner's function, called by the administrator, reads nothing: no row is shown inside another role's SECURITY DEFINER function)" "0" \
      "$(as brk2v_admin "SELECT brk2v_own.balances()")"
check "(the partner's healthcheck runs for the administrator, inserting no row: the check below is not vacuous)" "0" \
      "$(as brk2v_admin "SELECT brk2v_own.healthcheck()")"
check "the partner's function, called by the administrator, gets no erp.verify() row of DC1" "0" \
      "$(as brk2v_app "SELECT count(*) FROM brk2v_own.loot")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
