#!/usr/bin/env bash
# definer_matview (found by the third break-it pass of issue 9): the rule "the extension
# does not act inside another role's SECURITY DEFINER function (IE009) and row
# level security shows nothing there" (src/access.c AccessForeignDefiner:
# caller != role in effect and caller no superuser) also fires where PostgreSQL
# itself switches to an object's owner - REFRESH MATERIALIZED VIEW runs the
# query as the view's owner - although no definer function of anybody is
# involved and the owner is the one whose rights apply:
#   operator b3m_rep: CREATE MATERIALIZED VIEW mv AS SELECT erp.atp('BBB','DC1') ...
#   superuser (nightly job, pg_restore): REFRESH MATERIALIZED VIEW mv  -> IE009
#   ... AS SELECT sum(qty) FROM erp.stock_balance
#   superuser: REFRESH MATERIALIZED VIEW mv  -> succeeds, silently NULL (RLS shows nothing)
#   a login member of the group role that owns a matview: REFRESH -> IE009
# The owner refreshing its own view gets 9; anyone else allowed to refresh it
# gets an error or, worse, an empty report.  pg_restore of a database with such
# a view (it REFRESHes as the restoring superuser) fails or restores it empty.
# Expected: the same rows whoever refreshes (the owner's rights apply).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break3_definer_matview
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
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS b3m_rep" -c "DROP ROLE IF EXISTS b3m_reporting" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BBB', 1, 2);
SELECT erp.receive('BBB', 'DC1', 9);
CREATE ROLE b3m_reporting IN ROLE erp_operator;
CREATE ROLE b3m_rep LOGIN IN ROLE b3m_reporting, erp_operator;
GRANT CREATE ON SCHEMA public TO b3m_reporting, b3m_rep;
SQL
run b3m_rep "CREATE MATERIALIZED VIEW public.mv_atp AS SELECT erp.atp('BBB', 'DC1') AS atp" >/dev/null
run b3m_rep "CREATE MATERIALIZED VIEW public.mv_stock AS SELECT COALESCE(sum(qty), -1) AS on_hand FROM erp.stock_balance" >/dev/null
run b3m_rep "SET ROLE b3m_reporting" "CREATE MATERIALIZED VIEW public.mv_group AS SELECT erp.atp('BBB', 'DC1') AS atp" >/dev/null
check "(the owner refreshes its view of erp.atp)" "9" "$(run b3m_rep "REFRESH MATERIALIZED VIEW public.mv_atp" "TABLE public.mv_atp")"
check "(the owner refreshes its view of erp.stock_balance)" "9" "$(run b3m_rep "REFRESH MATERIALIZED VIEW public.mv_stock" "TABLE public.mv_stock")"
check "a superuser refreshes the operator's view of erp.atp" "9" \
      "$(run postgres "REFRESH MATERIALIZED VIEW public.mv_atp" "TABLE public.mv_atp")"
check "a superuser refreshes the operator's view of erp.stock_balance (not silently empty)" "9" \
      "$(run postgres "REFRESH MATERIALIZED VIEW public.mv_stock" "TABLE public.mv_stock")"
check "a member of the owning group role refreshes the group's view" "9" \
      "$(run b3m_rep "REFRESH MATERIALIZED VIEW public.mv_group" "TABLE public.mv_group")"
exit $((failures > 0))
