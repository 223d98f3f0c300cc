#!/usr/bin/env bash
# bench/maint_partition.sh: what time partitioning would cost the ledger's and
# the outbox's write path (doc/maintenance.md, "Partitioning").  On a throwaway
# cluster: tables shaped like erp.stock_move and erp.event (same columns, same
# indexes), one plain and one partitioned by month on "at" (12 monthly
# partitions around today, as pg_partman would keep them), filled with 200,000
# rows of history each; then pgbench inserts single rows (the shape of a move
# or an event) into each for DURATION seconds with CLIENTS clients, ROUNDS
# times, alternating A and B.  Prints transactions per second per round.
# Not part of make test (timings).  Usage: bench/maint_partition.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO_ROOT/scripts/pgenv.sh"
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-2}
ROUNDS=${ROUNDS:-3}
WORK=$(pg_workdir partbench)
DATA=$WORK/data
trap 'pg_stop "$DATA"; rm -rf "$WORK"' EXIT
PGBIN=$SYS_PGBIN
PORT=$(pg_free_port)
pg_start "$DATA" "$PORT" shared_buffers=256MB synchronous_commit=off
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }
q <<'SQL'
CREATE TABLE move_plain (
    move_id bigint GENERATED ALWAYS AS IDENTITY, item_id bigint NOT NULL, lot_id bigint, qty bigint NOT NULL,
    from_node_id bigint, from_state text, to_node_id bigint, to_state text, event text NOT NULL, ref text,
    actor name NOT NULL DEFAULT current_user, application_name text,
    at timestamptz NOT NULL DEFAULT now(), txid xid8 DEFAULT pg_current_xact_id(),
    PRIMARY KEY (item_id, move_id));
CREATE INDEX ON move_plain USING brin (at);
CREATE TABLE move_part (LIKE move_plain INCLUDING DEFAULTS INCLUDING IDENTITY, PRIMARY KEY (item_id, move_id, at))
    PARTITION BY RANGE (at);
CREATE INDEX ON move_part USING brin (at);
CREATE TABLE event_plain (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(), item_id bigint, node_id bigint, order_id bigint,
    rma_id bigint, payload jsonb NOT NULL DEFAULT '{}', txn_id bigint NOT NULL DEFAULT 0);
CREATE INDEX ON event_plain (kind, event_id);
CREATE INDEX ON event_plain (txn_id, event_id);
CREATE TABLE event_part (LIKE event_plain INCLUDING DEFAULTS INCLUDING IDENTITY, PRIMARY KEY (event_id, at))
    PARTITION BY RANGE (at);
CREATE INDEX ON event_part (kind, event_id);
CREATE INDEX ON event_part (txn_id, event_id);
DO $$
DECLARE m date;
BEGIN
    FOR i IN -10..1 LOOP
        m := date_trunc('month', now())::date + make_interval(months => i);
        EXECUTE format('CREATE TABLE %I PARTITION OF move_part FOR VALUES FROM (%L) TO (%L)',
                       'move_p' || to_char(m, 'YYYYMM'), m, m + interval '1 month');
        EXECUTE format('CREATE TABLE %I PARTITION OF event_part FOR VALUES FROM (%L) TO (%L)',
                       'event_p' || to_char(m, 'YYYYMM'), m, m + interval '1 month');
    END LOOP;
END $$;
INSERT INTO move_plain (item_id, qty, to_node_id, to_state, event, at)
SELECT g % 5000, 1, 1, 'available', 'receive', now() - (g % 300) * interval '1 day' FROM generate_series(1, 200000) g;
INSERT INTO move_part (item_id, qty, to_node_id, to_state, event, at)
SELECT g % 5000, 1, 1, 'available', 'receive', now() - (g % 300) * interval '1 day' FROM generate_series(1, 200000) g;
INSERT INTO event_plain (kind, at) SELECT 'low_stock', now() - (g % 300) * interval '1 day' FROM generate_series(1, 200000) g;
INSERT INTO event_part (kind, at) SELECT 'low_stock', now() - (g % 300) * interval '1 day' FROM generate_series(1, 200000) g;
VACUUM ANALYZE;
SQL
for t in move_plain move_part; do
    printf '%s\n' '\set item random(1, 5000)' \
        "INSERT INTO $t (item_id, qty, from_node_id, from_state, to_node_id, to_state, event, ref) VALUES (:item, 1, 1, 'available', 1, 'reserved', 'reserve', 'order:1');" > "$WORK/$t.sql"
done
for t in event_plain event_part; do
    printf '%s\n' '\set item random(1, 5000)' \
        "INSERT INTO $t (kind, item_id, node_id, payload) VALUES ('low_stock', :item, 1, '{\"qty\": 3}');" > "$WORK/$t.sql"
done
tps() { "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -f "$WORK/$1.sql" postgres 2>"$WORK/pgbench.err" |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p'; grep -m1 -i error "$WORK/pgbench.err" >&2 || true; }
printf '%-6s %12s %12s %12s %12s\n' round move_plain move_part event_plain event_part
for r in $(seq 1 "$ROUNDS"); do
    printf '%-6s %12s %12s %12s %12s\n' "$r" "$(tps move_plain)" "$(tps move_part)" "$(tps event_plain)" "$(tps event_part)"
done
