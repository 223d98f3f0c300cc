#!/usr/bin/env bash
# breakops_ok_exporter_queries_empty: every query of
# contrib/prometheus/inventory_erp_queries.yaml, run as a login that is
# erp_reader and pg_monitor only (as doc/monitoring.md sets the exporter up),
# on (1) a database with the extension and no data at all, (2) the same with a
# partner role, its node access and its event consumer present, and rows
# whose optional columns are NULL (an item without cost, price or category, an
# order without anything allocated): no query fails, no value is the numeric
# or float NaN, no label is NULL.  NULL gauges (a rate with nothing to divide
# by, exported as NaN by the exporter, as the yaml documents) are listed, not
# failed.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${PGHOST:?}" "${PGPORT:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
QUERIES=$REPO_ROOT/contrib/prometheus/inventory_erp_queries.yaml
DB=ierp_breakops_exporter
failures=0
cleanup() {
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -d postgres -c 'DROP ROLE IF EXISTS bo_exporter' -c 'DROP ROLE IF EXISTS bo_partner' >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
CREATE ROLE bo_exporter LOGIN IN ROLE erp_reader, pg_monitor;
SQL

run_all() { # run_all LABEL
    local name sql out
    while IFS=$'\t' read -r name sql; do
        # each row of the query as json; then look for NaN and NULL labels
        out=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U bo_exporter -d "$DB" \
              -c "SET jit = off" -c "SELECT row_to_json(r) FROM ($sql) r" 2>&1)
        if [ $? -ne 0 ]; then
            printf 'FAIL     %s: %s fails: %s\n' "$1" "$name" "$(head -1 <<<"$out")"; failures=$((failures + 1)); continue
        fi
        if grep -q '"NaN"\|NaN' <<<"$out"; then
            printf 'FAIL     %s: %s returns NaN: %s\n' "$1" "$name" "$(grep NaN <<<"$out" | head -1)"; failures=$((failures + 1)); continue
        fi
        printf 'ok       %s: %s (%d rows%s)\n' "$1" "$name" "$(grep -c . <<<"$out")" \
            "$(grep -o '"[a-z_0-9]*":null' <<<"$out" | sort -u | tr '\n' ' ' | sed 's/^./; NULL: &/;s/ $//')"
    done < <(/usr/bin/python3 - "$QUERIES" <<'PY'
import sys, yaml
for name, spec in yaml.safe_load(open(sys.argv[1])).items():
    q = " ".join(spec["query"].split())
    print(name + "\t" + q)
PY
)
    # labels: every LABEL column must be non-NULL
    while IFS=$'\t' read -r name col sql; do
        n=$("$PGBIN/psql" -X -q -At -U bo_exporter -d "$DB" -c "SELECT count(*) FROM ($sql) r WHERE r.$col IS NULL" 2>&1)
        if [ "$n" != 0 ]; then printf 'FAIL     %s: %s label %s is NULL in %s row(s)\n' "$1" "$name" "$col" "$n"; failures=$((failures + 1)); fi
    done < <(/usr/bin/python3 - "$QUERIES" <<'PY'
import sys, yaml
for name, spec in yaml.safe_load(open(sys.argv[1])).items():
    q = " ".join(spec["query"].split())
    for m in spec["metrics"]:
        for col, d in m.items():
            if d.get("usage") == "LABEL":
                print(name + "\t" + col + "\t" + q)
PY
)
}

echo "== no data at all"
run_all empty

echo "== a partner present, NULLs everywhere"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE ROLE bo_partner LOGIN IN ROLE erp_operator;
INSERT INTO erp.item (sku) VALUES ('BARE');
INSERT INTO erp.node (code) VALUES ('3PL');
INSERT INTO erp.node_access (role_name, node_id) SELECT 'bo_partner', node_id FROM erp.node;
INSERT INTO erp.channel (code, kind) VALUES ('MKT', 'marketplace');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.capture_order('MKT', 'MKT-1', '[{"sku": "BARE", "qty": 2}]');
SQL
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U bo_partner -d "$DB" -c "SELECT count(*) FROM erp.read_events('bo-feed')" >/dev/null || exit 1
run_all partner

echo "== $failures failure(s)"
[ "$failures" -eq 0 ]
