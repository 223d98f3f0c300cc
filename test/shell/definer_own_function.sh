#!/usr/bin/env bash
# definer_own_function (found by the third break-it pass of issue 9): AccessForeignDefiner
# compares the caller of an erp function with the role in effect.  A login that
# SETs one of its group roles (an ordinary application pattern: SET ROLE to a
# less privileged group) and calls a SECURITY DEFINER function IT owns is
# refused, although the function acts with the login's own rights in the
# login's own name - nobody else's rights and nobody else's name are involved:
#   login b3o_alice: CREATE FUNCTION a_atp() ... SECURITY DEFINER ... erp.atp('BBB','DC1')
#   SELECT a_atp()                      -> 9
#   SET ROLE b3o_grp; SELECT a_atp()    -> IE009 "does not act inside a SECURITY DEFINER function of role b3o_alice"
# Expected: 9 both times (a caller that is the session's login is no foreign definer).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break3_definer_own_function
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
run() {
    local login=$1 args=()
    shift
    for s in "$@"; do args+=(-c "$s"); done
    "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$login" -d "$DB" "${args[@]}" </dev/null 2>&1 | tr '\n' ' ' | sed 's/ $//'
}
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS b3o_alice" -c "DROP ROLE IF EXISTS b3o_grp" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BBB', 1, 2);
SELECT erp.receive('BBB', 'DC1', 9);
CREATE ROLE b3o_grp IN ROLE erp_operator;
CREATE ROLE b3o_alice LOGIN IN ROLE b3o_grp, erp_operator;
GRANT CREATE ON SCHEMA public TO b3o_alice;
SQL
run b3o_alice "CREATE FUNCTION public.a_atp() RETURNS bigint SECURITY DEFINER LANGUAGE sql AS \$\$ SELECT erp.atp('BBB', 'DC1') \$\$" >/dev/null
check "(the login calls its own definer function)" "9" "$(run b3o_alice "SELECT public.a_atp()")"
check "the login, with SET ROLE to its group, calls its own definer function" "9" \
      "$(run b3o_alice "SET ROLE b3o_grp" "SELECT public.a_atp()")"
exit $((failures > 0))
