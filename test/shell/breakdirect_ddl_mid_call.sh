#!/usr/bin/env bash
# breakdirect_ddl_mid_call: DDL on erp.reservation or erp.order_line that
# commits while erp.place_order is in the middle of a new order (issue 10,
# the direct path).
#
# The direct path decides from what it learnt of the order tables (their
# columns, their INSERT triggers) before it allocates, and holds no lock on
# erp.order_line or erp.reservation until it writes them at the end.  Here the
# call is made to wait in the middle (another session holds erp.event in SHARE
# mode, so the call's backorder event waits) while a third session adds an
# INSERT trigger to erp.reservation, or a column with a default to
# erp.order_line, and commits.  When the call goes on, the table it writes is
# no longer the table it decided on.  What a user must see: the server stays
# up, the call returns its rows, and the rows it writes obey the tables as they
# are when it writes them: the new trigger fires for the order's reservation,
# the new column holds its default.  (A call that locks the tables it will write
# before it decides makes the DDL wait for its commit instead: then the trigger
# need not fire for that order, only from the next one on; the test accepts
# both and says which happened.)
#
# Own cluster (a failure here is a backend crash that restarts the server).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO_ROOT/scripts/pgenv.sh"

failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
DIR=$(pg_workdir breakdirect_ddl)
DATA=$DIR/data
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    exec 7>&- 8>&- 2>/dev/null
    pg_stop "$DATA"
    if [ "$failures" -eq 0 ]; then rm -rf "$DIR"; else echo "(kept $DIR)"; fi
}
trap cleanup EXIT
PORT=$(pg_free_port)
pg_start "$DATA" "$PORT" max_connections=20 log_min_messages=warning restart_after_crash=on || exit 1
DB=ierp_breakdirect_ddl
"$PGBIN/createdb" "$DB" || exit 1
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
up() { for _ in $(seq 1 300); do q "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
# waits until backend $1 waits for a lock
blocked() {
    for _ in $(seq 1 300); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'")" = 1 ] && return 0
        sleep 0.05
    done
    return 1
}
q "CREATE EXTENSION inventory_erp" || exit 1
q "INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse');
   INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
   INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
   INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder) VALUES ('TEE', 5, 20, false), ('RARE', 5, 20, true);
   SELECT erp.receive('TEE', 'DC', 100);
   CREATE TABLE public.audit (order_id bigint, qty bigint);
   CREATE FUNCTION public.audit_reservation() RETURNS trigger LANGUAGE plpgsql
       AS \$\$BEGIN INSERT INTO public.audit VALUES (NEW.order_id, NEW.qty); RETURN NEW; END\$\$;" >/dev/null || exit 1

# run_case NAME DDL: a warmed-up session A places an order of TEE (reserved) and
# RARE (none in stock: backordered, an event) while session C holds erp.event;
# DDL commits meanwhile; then C lets A go on.  Leaves A's output in $DIR/NAME.a.
run_case() {
    local name=$1 ddl=$2 apid
    rm -f "$DIR/fa" "$DIR/fc"
    mkfifo "$DIR/fa" "$DIR/fc"
    "$PGBIN/psql" -X -q -At -d "$DB" <"$DIR/fc" >"$DIR/$name.c" 2>&1 &
    PIDS+=($!)
    "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -d "$DB" <"$DIR/fa" >"$DIR/$name.a" 2>&1 &
    PIDS+=($!)
    exec 7>"$DIR/fa" 8>"$DIR/fc"
    # A learns the order tables on a first order (as a busy backend has)
    echo "SELECT 'pid:' || pg_backend_pid();" >&7
    echo "SELECT count(*) FROM erp.place_order('WEB', '$name-warm', '[{\"sku\": \"TEE\", \"qty\": 1}]');" >&7
    for _ in $(seq 1 100); do grep -q '^pid:' "$DIR/$name.a" && [ "$(wc -l <"$DIR/$name.a")" -ge 2 ] && break; sleep 0.05; done
    apid=$(sed -n 's/^pid://p' "$DIR/$name.a")
    echo "BEGIN; LOCK TABLE erp.event IN SHARE MODE; SELECT 'locked';" >&8
    for _ in $(seq 1 100); do grep -q '^locked' "$DIR/$name.c" && break; sleep 0.05; done
    echo "SELECT 'placed:' || order_id || ':' || created || ':' || order_status || ':' || sku || ':' || qty
            FROM erp.place_order('WEB', '$name', '[{\"sku\": \"TEE\", \"qty\": 2}, {\"sku\": \"RARE\", \"qty\": 1}]');" >&7
    blocked "$apid" || echo "session A did not wait for erp.event"
    # the DDL either commits now (the call holds no lock it needs) or waits for
    # the call's transaction (a call that locks the tables it will write)
    q "$ddl" >"$DIR/$name.ddl" 2>&1 &
    ddl_pid=$!
    DDL_FIRST=no
    for _ in $(seq 1 100); do
        if ! kill -0 "$ddl_pid" 2>/dev/null; then DDL_FIRST=yes; break; fi
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid <> $apid AND wait_event_type = 'Lock'
                  AND (query LIKE 'CREATE TRIGGER%' OR query LIKE 'ALTER TABLE%')")" = 1 ] && break
        sleep 0.05
    done
    echo "   (the DDL $([ $DDL_FIRST = yes ] && echo committed while the call waited || echo waited for the call))"
    echo "COMMIT;" >&8
    exec 7>&- 8>&-
    wait
    PIDS=()
    [ -s "$DIR/$name.ddl" ] && { echo "the DDL failed:"; cat "$DIR/$name.ddl"; }
    up || { echo "the server did not come back"; exit 1; }
}

echo "== an INSERT trigger added to erp.reservation while place_order waits in the middle"
run_case mid_trigger "CREATE TRIGGER audit_reservation AFTER INSERT ON erp.reservation
                      FOR EACH ROW EXECUTE FUNCTION public.audit_reservation()"
check "place_order returned its rows (no crash, no error)" "2" "$(grep -c '^placed:' "$DIR/mid_trigger.a")"
# a trigger committed before the reservation was written fires for it; one that
# waited for the call's commit does not, and fires from the next call on
check "the trigger fired for the order's reservation if it was committed before it was written" \
    "$([ "$DDL_FIRST" = yes ] && echo 2 || echo 0)" \
    "$(q "SELECT coalesce(sum(a.qty), 0) FROM public.audit a JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'mid_trigger'")"
q "SELECT count(*) FROM erp.place_order('WEB', 'mid_trigger_next', '[{\"sku\": \"TEE\", \"qty\": 3}]')" >/dev/null
check "... and it fires for the next order" "3" \
    "$(q "SELECT coalesce(sum(a.qty), 0) FROM public.audit a JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'mid_trigger_next'")"
check "erp.verify() is empty" "0" "$(q "SELECT count(*) FROM erp.verify()")"
q "DROP TRIGGER audit_reservation ON erp.reservation" >/dev/null

echo "== a column with a default added to erp.order_line while place_order waits in the middle"
run_case mid_column "ALTER TABLE erp.order_line ADD COLUMN gift_wrap text NOT NULL DEFAULT 'no'"
check "place_order returned its rows (no crash, no error)" "2" "$(grep -c '^placed:' "$DIR/mid_column.a")"
check "the order's two lines hold the new column's default" "no,no" \
    "$(q "SELECT string_agg(l.gift_wrap, ',' ORDER BY l.line_no) FROM erp.order_line l JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'mid_column'")"
check "erp.verify() is empty" "0" "$(q "SELECT count(*) FROM erp.verify()")"

if grep -q 'TRAP\|terminated by signal' "$DATA/server.log"; then
    echo "the server log shows a crash:"
    grep -E 'TRAP|terminated by signal' "$DATA/server.log" | head -5
    failures=$((failures + 1))
fi
[ $failures -eq 0 ]
