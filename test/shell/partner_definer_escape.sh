#!/usr/bin/env bash
# partner_definer_escape (found by the break-it pass of issue 9): on 1ccb86a the
# partner rule decided by the session's login only, while the rights came from
# the current user.  A partner login that owns a schema writes
# a SECURITY DEFINER function calling erp.*; any other login (here one with no
# erp role at all) calls it: the identity is then that login - no partner - and
# the rights are the partner's erp_operator/erp_approver rights.  Expected: the
# partner's function acts as the partner (IE009 at the shop's node, only its
# rows visible) and four eyes holds; actual (1ccb86a): the move at DC1 is done
# (actor = the bystander), every order is readable, and the partner approves
# an adjustment it made itself.  Now the public functions know their caller
# (IerpCallAsOwner) and refuse to act inside another role's SECURITY DEFINER
# function; row level security shows nothing there.
# Exit 0 = pass (the escape is closed).
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break_definer
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
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk_def_app, brk_def_bystander" \
        -c "DROP ROLE IF EXISTS brk_def_3pl" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n
 WHERE c.code = 'WEB' AND n.code = 'DC1';
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 100), erp.receive('TEE', '3PL', 100);
SELECT erp.capture_order('WEB', 'W1', '[{"sku": "TEE", "qty": 1}]');
CREATE ROLE brk_def_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'brk_def_3pl', node_id FROM erp.node WHERE code = '3PL';
-- the 3PL's application login, as doc/governance.md sets it up, with a schema of its own
CREATE ROLE brk_def_app LOGIN IN ROLE brk_def_3pl, erp_operator, erp_approver;
CREATE SCHEMA brk_def_own AUTHORIZATION brk_def_app;
-- any other login of the cluster: no erp role at all
CREATE ROLE brk_def_bystander LOGIN;
SQL
as brk_def_app "GRANT USAGE ON SCHEMA brk_def_own TO PUBLIC" >/dev/null
as brk_def_app "CREATE FUNCTION brk_def_own.damage_dc1() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage') \$\$" >/dev/null
as brk_def_app "CREATE FUNCTION brk_def_own.orders() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ SELECT count(*) FROM erp.sales_order \$\$" >/dev/null
as brk_def_app "CREATE FUNCTION brk_def_own.write_off() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ SELECT erp.adjust('TEE', '3PL', -40, 'shrinkage') \$\$" >/dev/null

check "(the partner itself is refused at DC1)" "ERROR:  IE009" \
      "$(as brk_def_app "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage')")"
check "(the partner itself sees no order of DC1)" "0" "$(as brk_def_app "SELECT count(*) FROM erp.sales_order")"
check "(the bystander has no right of its own)" "ERROR:  42501" "$(as brk_def_bystander "SELECT count(*) FROM erp.sales_order")"
SUM=$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")
check "the partner's SECURITY DEFINER function, called by another login, is refused at DC1 (IE009)" "ERROR:  IE009" \
      "$(as brk_def_bystander "SELECT brk_def_own.damage_dc1()")"
check "and no stock moved" "$SUM" "$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")"
check "the partner's function, called by another login, reads no order of DC1" "0" \
      "$(as brk_def_bystander "SELECT brk_def_own.orders()")"
check "four eyes: an adjustment through the partner's function, in another login's name, is refused (IE009)" \
      "ERROR:  IE009" "$(as brk_def_bystander "SELECT brk_def_own.write_off()")"
check "and none was recorded for the partner to approve" "0" "$(admin -c "SELECT count(*) FROM erp.adjustment")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
