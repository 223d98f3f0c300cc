#!/usr/bin/env bash
# definer_group_owned_audit (found by the second break-it pass of issue 9): who is recorded.
# doc-notes: "The ledger's actor records the login; created_by, decided_by,
# ... likewise"; erp.policy_change.changed_by is "the login that made the
# change".  Inside a SECURITY DEFINER function the recorded name is the
# function's owner, and a member of an extension group role can make that
# role the owner of a temporary function (SET ROLE erp_admin; CREATE
# FUNCTION pg_temp.f() SECURITY DEFINER ...; RESET ROLE; SELECT pg_temp.f()).
# The record then names the shared group role, which no login is: the person
# is gone from the audit.  Expected: changed_by / actor name the login
# (brk2u_admin); actual: 'erp_admin' / 'erp_operator'.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_audit
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk2u_admin" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 100);
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 100);
CREATE ROLE brk2u_admin LOGIN IN ROLE erp_admin, erp_operator;
SQL
"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U brk2u_admin -d "$DB" >/dev/null <<'SQL' || exit 1
SET ROLE erp_admin;
CREATE FUNCTION pg_temp.raise_limit() RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ UPDATE erp.approval_policy SET max_auto_value = 1000000 WHERE kind = 'adjustment' $$;
SET ROLE erp_operator;
CREATE FUNCTION pg_temp.damage() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage') $$;
RESET ROLE;
SELECT pg_temp.raise_limit();
SELECT pg_temp.damage();
SQL
check "the threshold change names the login that made it" "brk2u_admin" \
      "$(admin -c "SELECT changed_by FROM erp.policy_change WHERE table_name LIKE '%approval_policy' AND operation = 'UPDATE'")"
check "the move names the login that made it" "brk2u_admin" \
      "$(admin -c "SELECT actor FROM erp.stock_move WHERE event = 'damage'")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
