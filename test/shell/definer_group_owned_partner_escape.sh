#!/usr/bin/env bash
# break2_group_owned_definer_partner_escape (break-it pass 2 of issue 9): the fix of
# partner_definer_escape.sh holds a partner's own SECURITY DEFINER function
# to the partner's nodes when another login calls it.  But the partner can
# make the function's owner one of its group roles that is no partner:
#   GRANT CREATE ON SCHEMA own TO erp_operator; SET ROLE erp_operator;
#   CREATE FUNCTION own.damage_dc1() SECURITY DEFINER ... erp.move(... 'DC1' ...)
# Called by any other login (here one with no erp role at all), the acting
# identity is erp_operator (no partner) and the login is no partner either:
# the function acts at DC1 and reads every node's rows.  Expected: IE009 at
# DC1 and the partner's rows only (what a function the partner owns gets);
# actual: the move at DC1 is done (actor erp_operator), every balance read.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_groupesc
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
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk2e_app, brk2e_bystander" \
        -c "DROP ROLE IF EXISTS brk2e_3pl" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('3PL', '3pl');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 100), erp.receive('TEE', '3PL', 100);
CREATE ROLE brk2e_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'brk2e_3pl', node_id FROM erp.node WHERE code = '3PL';
CREATE ROLE brk2e_app LOGIN IN ROLE brk2e_3pl, erp_operator, erp_approver;
CREATE SCHEMA brk2e_own AUTHORIZATION brk2e_app;
CREATE ROLE brk2e_bystander LOGIN;
SQL
"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U brk2e_app -d "$DB" >/dev/null <<'SQL' || exit 1
GRANT USAGE ON SCHEMA brk2e_own TO PUBLIC;
GRANT CREATE ON SCHEMA brk2e_own TO erp_operator;
SET ROLE erp_operator;
CREATE FUNCTION brk2e_own.damage_dc1() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage') $$;
CREATE FUNCTION brk2e_own.balances() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT count(*) FROM erp.stock_balance $$;
SQL
check "(the partner itself is refused at DC1)" "ERROR:  IE009" \
      "$(as brk2e_app "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage')")"
check "(the partner itself reads its one balance)" "1" "$(as brk2e_app "SELECT count(*) FROM erp.stock_balance")"
check "(the bystander has no right of its own)" "ERROR:  42501" "$(as brk2e_bystander "SELECT count(*) FROM erp.stock_balance")"
SUM=$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")
check "the partner's function (owned by erp_operator), called by another login, is refused at DC1 (IE009)" "ERROR:  IE009" \
      "$(as brk2e_bystander "SELECT brk2e_own.damage_dc1()")"
check "and no stock moved" "$SUM" "$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")"
check "the partner's function (owned by erp_operator), called by another login, reads nothing: inside another role's SECURITY DEFINER function no row is shown" "0" \
      "$(as brk2e_bystander "SELECT brk2e_own.balances()")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
