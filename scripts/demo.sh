#!/usr/bin/env bash
# The demo behind `make demo`: a small fashion and beauty retailer's day, told through
# inventory_erp on a throwaway PostgreSQL 15 cluster.
#
# Installs this build into a private copy of PostgreSQL under /tmp, starts a cluster
# of its own, creates the extension, loads a distribution centre, a store, a 3PL and
# ten items, walks receipts, a quality hold and its release, transfers, damage and a
# refused move, and prints the stock picture before and after. The cluster is
# stopped and the work directory removed at the end, whatever happens.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh

WORK=$(pg_workdir demo)
DATA=$WORK/data

# The cleanup may run inside a helper whose output goes to a log file; keep its
# message on the demo's own stderr (fd 3).
exec 3>&2
cleanup() {
    local rc=$?
    if [ -n "${PGBIN:-}" ]; then
        pg_stop "$DATA"
    fi
    rm -rf "$WORK"
    if [ $rc -ne 0 ]; then
        echo "demo: failed (exit $rc); the cluster is stopped and $WORK removed" >&3
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

heading() {
    printf '\n== %s\n\n' "$*"
}

# sql: run SQL (stdin, or -c) in the demo database, stopping at the first error.
sql() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d demo \
        -P border=2 -P null='' -P footer=off "$@"
}

# picture TITLE: the stock picture, one line per sku and node that holds or expects stock.
picture() {
    sql -P title="$1" <<'SQL'
SELECT a.node, a.sku, i.title,
       a.available, a.quarantined, a.damaged, a.in_transit AS "in transit",
       a.on_hand AS "on hand", a.inbound, a.atp AS "ATP"
  FROM erp.availability a
  JOIN erp.item i ON i.item_id = a.item_id
 WHERE a.on_hand > 0 OR a.inbound > 0
 ORDER BY a.node, a.sku;
SQL
    sql -P title="Totals per node" <<'SQL'
SELECT a.node, n.name, sum(a.on_hand) AS "units on hand", sum(a.inbound) AS "units inbound",
       sum(a.atp) AS "units ATP", sum(a.on_hand * i.unit_cost) AS "on hand at cost"
  FROM erp.availability a
  JOIN erp.node n ON n.node_id = a.node_id
  JOIN erp.item i ON i.item_id = a.item_id
 GROUP BY a.node, n.name
 ORDER BY a.node;
SQL
}

# calls: run the SQL on stdin (the day's calls) without printing their results.
calls() {
    sql -o /dev/null
}

# ledger: the ledger rows written since the last call of ledger.
LAST_MOVE=0
ledger() {
    sql -P title="${1:-Written to the ledger}" <<SQL
SELECT m.move_id AS move, i.sku, m.qty, m.event,
       coalesce(f.code || ' ' || m.from_state, 'outside') AS "from",
       coalesce(t.code || ' ' || m.to_state, 'outside') AS "to",
       coalesce(l.lot_code, '') AS lot, coalesce(m.ref, '') AS ref
  FROM erp.stock_move m
  JOIN erp.item i ON i.item_id = m.item_id
  LEFT JOIN erp.node f ON f.node_id = m.from_node_id
  LEFT JOIN erp.node t ON t.node_id = m.to_node_id
  LEFT JOIN erp.lot l ON l.lot_id = m.lot_id
 WHERE m.move_id > $LAST_MOVE
 ORDER BY m.move_id;
SQL
    LAST_MOVE=$(sql -At -c 'SELECT coalesce(max(move_id), 0) FROM erp.stock_move')
}

heading "1. A throwaway PostgreSQL 15 cluster"
pg_private_install "$WORK"
PORT=$(pg_free_port)
pg_start "$DATA" "$PORT" fsync=off
export PGAPPNAME=inventory_erp-demo
"$PGBIN/createdb" demo
sql -c 'CREATE EXTENSION inventory_erp'
echo "Cluster on port $PORT under $WORK; extension $(sql -At -c \
    "SELECT extversion FROM pg_extension WHERE extname = 'inventory_erp'") created in database \"demo\"."

heading "2. Master data: three sites, ten items"
sql <<'SQL'
INSERT INTO erp.node (code, name, kind, latitude, longitude) VALUES
    ('DC-MAN',    'Manchester distribution centre', 'warehouse', 53.48, -2.24),
    ('STORE-LDN', 'London Oxford Street store',     'store',     51.52, -0.14),
    ('3PL-RTM',   'Rotterdam 3PL (EU orders)',      '3pl',       51.92,  4.48);

INSERT INTO erp.item (sku, gtin, title, category, unit_cost, unit_price,
                      lot_tracked, min_shelf_life_days) VALUES
    ('TEE-BLK-S',    '5012345000015', 'Classic tee, black, S',      'apparel',  4.10, 19.90, false, 0),
    ('TEE-BLK-M',    '5012345000022', 'Classic tee, black, M',      'apparel',  4.10, 19.90, false, 0),
    ('TEE-BLK-L',    '5012345000039', 'Classic tee, black, L',      'apparel',  4.10, 19.90, false, 0),
    ('HOODIE-GRY-M', '5012345000114', 'Hoodie, grey marl, M',       'apparel', 14.50, 54.00, false, 0),
    ('HOODIE-GRY-L', '5012345000121', 'Hoodie, grey marl, L',       'apparel', 14.50, 54.00, false, 0),
    ('JEANS-SLIM-32','5012345000213', 'Slim jeans, indigo, W32',    'apparel', 17.00, 69.00, false, 0),
    ('JEANS-SLIM-34','5012345000220', 'Slim jeans, indigo, W34',    'apparel', 17.00, 69.00, false, 0),
    ('SNKR-WHT-42',  '5012345000312', 'Court sneaker, white, EU 42','footwear',22.00, 89.00, false, 0),
    ('CAP-NAVY',     '5012345000411', 'Baseball cap, navy',         'accessories', 3.20, 24.00, false, 0),
    ('CREAM-50ML',   '5012345000510', 'Day face cream, 50 ml',      'beauty',   6.80, 32.00, true, 60);

-- Keep five medium tees at the DC back from what is promised online.
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 5 FROM erp.item i, erp.node n
 WHERE i.sku = 'TEE-BLK-M' AND n.code = 'DC-MAN';
SQL
sql -P title="Sites" -c "SELECT code, name, kind FROM erp.node ORDER BY node_id"
sql -P title="Items" <<'SQL'
SELECT sku, gtin, title, unit_cost AS cost, unit_price AS price,
       CASE WHEN lot_tracked THEN 'yes, ' || min_shelf_life_days || ' days min. shelf life' ELSE '' END AS "lots"
  FROM erp.item ORDER BY item_id;
SQL

heading "3. Morning: the inbound trucks are received"
echo "Three sneakers arrive with crushed boxes and are booked straight into 'damaged'."
echo "The face cream comes in two lots: a fresh one, and one that expires in 30 days."
calls <<'SQL'
SELECT erp.receive('TEE-BLK-S',     'DC-MAN',    60,  ref => 'po:4711');
SELECT erp.receive('TEE-BLK-M',     'DC-MAN',    120, ref => 'po:4711');
SELECT erp.receive('TEE-BLK-L',     'DC-MAN',    80,  ref => 'po:4711');
SELECT erp.receive('HOODIE-GRY-M',  'DC-MAN',    40,  ref => 'po:4712');
SELECT erp.receive('HOODIE-GRY-L',  'DC-MAN',    30,  ref => 'po:4712');
SELECT erp.receive('JEANS-SLIM-32', 'DC-MAN',    50,  ref => 'po:4713');
SELECT erp.receive('JEANS-SLIM-34', 'DC-MAN',    45,  ref => 'po:4713');
SELECT erp.receive('SNKR-WHT-42',   'STORE-LDN', 6,   ref => 'po:4714');
SELECT erp.receive('SNKR-WHT-42',   'STORE-LDN', 3,   state => 'damaged', ref => 'po:4714');
SELECT erp.receive('CAP-NAVY',      'STORE-LDN', 25,  ref => 'po:4714');
SELECT erp.receive('CAP-NAVY',      '3PL-RTM',   40,  ref => 'po:4715');
SELECT erp.receive('CREAM-50ML',    '3PL-RTM',   48,  lot => 'L-A117',
                   expires_on => CURRENT_DATE + 540, ref => 'po:4716');
SELECT erp.receive('CREAM-50ML',    '3PL-RTM',   12,  lot => 'L-A093',
                   expires_on => CURRENT_DATE + 30, ref => 'po:4716');
SQL
ledger "Receipts written to the ledger"
echo "In the picture below, ATP (available-to-promise) leaves out the 12 short-dated jars"
echo "(30 days left, 60 required) and the DC's safety stock of 5 medium tees."
echo
picture "Stock picture BEFORE the day's moves"

heading "4. Quality hold: a stitching fault on grey hoodies"
echo "QC puts 6 medium hoodies on hold. Held units stay on hand but are not promised."
calls <<'SQL'
SELECT erp.move('HOODIE-GRY-M', 'DC-MAN', 6, 'available', 'quarantined', 'hold', ref => 'qc:118');
SQL
ledger
sql -P title="During the hold" -c \
    "SELECT sku, node, available, quarantined, on_hand AS \"on hand\", atp AS \"ATP\"
       FROM erp.availability WHERE sku = 'HOODIE-GRY-M'"
echo "After checking, 4 are fine and go back on sale; 2 are faulty and scrapped."
calls <<'SQL'
SELECT erp.move('HOODIE-GRY-M', 'DC-MAN', 4, 'quarantined', 'available', 'release_hold', ref => 'qc:118');
SELECT erp.move('HOODIE-GRY-M', 'DC-MAN', 2, 'quarantined', NULL, 'dispose', ref => 'qc:118');
SQL
ledger

heading "5. Transfers: restocking the London store, sending jeans to the 3PL"
echo "Units leave the DC at once and are 'in transit' (inbound) at the receiving site."
calls <<'SQL'
SELECT erp.move('TEE-BLK-M', 'DC-MAN', 24, 'available', 'in_transit', 'transfer_out',
                to_node => 'STORE-LDN', ref => 'xfer:301');
SELECT erp.move('TEE-BLK-L', 'DC-MAN', 16, 'available', 'in_transit', 'transfer_out',
                to_node => 'STORE-LDN', ref => 'xfer:301');
SELECT erp.move('JEANS-SLIM-32', 'DC-MAN', 20, 'available', 'in_transit', 'transfer_out',
                to_node => '3PL-RTM', ref => 'xfer:302');
SQL
ledger
echo "The van reaches London and the store books the tees in; the jeans are still on the ferry."
calls <<'SQL'
SELECT erp.move('TEE-BLK-M', 'STORE-LDN', 24, 'in_transit', 'available', 'transfer_in', ref => 'xfer:301');
SELECT erp.move('TEE-BLK-L', 'STORE-LDN', 16, 'in_transit', 'available', 'transfer_in', ref => 'xfer:301');
SQL
ledger

heading "6. Damage: a shop-floor accident"
echo "A cap is torn on the shop floor."
calls <<'SQL'
SELECT erp.move('CAP-NAVY', 'STORE-LDN', 1, 'available', 'damaged', 'damage', ref => 'incident:57');
SQL
ledger

heading "7. A move the database refuses"
echo "The store tries to send 30 sneakers back to the DC. It has 6 sellable pairs."
echo
refusal=$("$PGBIN/psql" -X -q -d demo \
    -c "SELECT erp.move('SNKR-WHT-42', 'STORE-LDN', 30, 'available', 'in_transit', 'transfer_out', to_node => 'DC-MAN', ref => 'xfer:303')" \
    -c '\echo SQLSTATE :LAST_ERROR_SQLSTATE' 2>&1 || true)
printf '%s\n' "$refusal" | sed 's/^/    /'
if ! grep -q '^SQLSTATE IE001$' <<<"$refusal"; then
    echo "demo: expected the move to be refused with IE001" >&2
    exit 1
fi
echo
echo "IE001 is \"insufficient stock\" (doc/errors.md). A refused call changes nothing:"
sql -P title="Sneakers after the refusal" -c \
    "SELECT sku, node, available, damaged, on_hand AS \"on hand\" FROM erp.availability WHERE sku = 'SNKR-WHT-42'"

heading "8. End of day"
picture "Stock picture AFTER the day's moves"
sql -P title="The day in the ledger (erp.stock_move)" <<'SQL'
SELECT m.event, count(*) AS moves, sum(m.qty) AS units
  FROM erp.stock_move m
 GROUP BY m.event
 ORDER BY min(m.move_id);
SQL

heading "9. Consistency check: erp.verify()"
sql -P title="Problems found (none expected)" -P footer=on -c 'SELECT * FROM erp.verify()'
problems=$(sql -At -c 'SELECT count(*) FROM erp.verify()')
if [ "$problems" != "0" ]; then
    echo "demo: erp.verify() found $problems problem(s)" >&2
    exit 1
fi
echo "0 problems: every balance equals the sum of the ledger."

heading "Done"
echo "The demo cluster is stopped and its directory removed. Next: README.md for the SQL tour,"
echo "doc/ for the reference, and 'make test' for the test suite."
