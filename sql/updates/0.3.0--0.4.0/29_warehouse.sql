-- 29_warehouse (issue 16): as sql/install/26_warehouse.sql.

CREATE TABLE erp.bin (
    bin_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         bigint NOT NULL,
    code            text NOT NULL CHECK (code <> '' AND pg_catalog.octet_length(code) <= 64),
    zone            text CHECK (zone <> '' AND pg_catalog.octet_length(zone) <= 64),
    pick_sequence   integer NOT NULL DEFAULT 0 CHECK (pick_sequence >= 0),
    active          boolean NOT NULL DEFAULT true,
    UNIQUE (node_id, code)
);
CREATE INDEX bin_node_sequence_idx ON erp.bin (node_id, pick_sequence, bin_id);
COMMENT ON TABLE erp.bin IS 'A place inside a node (shelf, pallet position) that holds stock: code unique per node, the zone that decides which items are put away there, the pick sequence a picker walks the node in (lowest first), active (an inactive bin takes no new units)';
COMMENT ON COLUMN erp.bin.zone IS 'Zone of the bin: erp.suggest_bin puts an item away in an empty bin whose zone is the item''s category; NULL = no zone';
COMMENT ON COLUMN erp.bin.pick_sequence IS 'Position of the bin on the pick walk through the node, lowest first (ties by bin_id)';
COMMENT ON COLUMN erp.bin.active IS 'An inactive bin takes no new units (putaway, bin_move into it: IE010); its stock can still be moved out and picked';

-- a partner sees the bins of its nodes only (the one partner rule, as in 85_access.sql)
ALTER TABLE erp.bin ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.bin
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- a bin with history is retired (active = false), not deleted; it never changes node
CREATE FUNCTION erp.guard_bin() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_bins_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_bin() IS 'Trigger on erp.bin: refuses a bin of an unknown node (IE003), to delete a bin that holds stock or that the ledger names, or to move a bin to another node (IE010)';
CREATE TRIGGER bin_guard BEFORE INSERT OR UPDATE OR DELETE ON erp.bin
    FOR EACH ROW EXECUTE FUNCTION erp.guard_bin();
-- the stock kernel caches which nodes have bins (src/stock/bins.c)
CREATE TRIGGER bin_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.bin
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
-- also for changes a logical-replication subscriber or a data-only restore writes
ALTER TABLE erp.bin ENABLE ALWAYS TRIGGER bin_changed;

-- (units that change bin inside a node keep their state: the ledger records them
-- with the events putaway and bin_move, which no erp.state_transition row lists
-- and only the warehouse functions use; src/stock/kernel.c)

CREATE VIEW erp.bin_stock WITH (security_barrier = true) AS
SELECT s.item_id, i.sku, s.node_id, n.code AS node, s.bin_id, b.code AS bin, b.zone, b.pick_sequence,
       NULLIF(s.lot_id, 0) AS lot_id, q.state, sum(q.qty)::bigint AS qty
  FROM erp.stock_slot s
  JOIN erp.item i ON i.item_id = s.item_id
  JOIN erp.node n ON n.node_id = s.node_id
  JOIN erp.bin b ON b.bin_id = s.bin_id
 CROSS JOIN LATERAL (VALUES ('available'::erp.stock_state, s.available), ('reserved', s.reserved),
                            ('picked', s.picked), ('packed', s.packed), ('quarantined', s.quarantined),
                            ('damaged', s.damaged)) AS q(state, qty)
 WHERE s.bin_id <> 0
   AND ((SELECT erp.visible_nodes()) IS NULL
        OR s.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r
             WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER))
 GROUP BY s.item_id, i.sku, s.node_id, n.code, s.bin_id, b.code, b.zone, b.pick_sequence, s.lot_id, q.state
HAVING sum(q.qty) <> 0;
COMMENT ON VIEW erp.bin_stock IS 'Units per item, node, bin, lot and state inside bins (states with units only), summed over the slots of erp.stock_slot; the node''s stock outside bins is the rest of erp.stock_balance';

CREATE FUNCTION erp.putaway(sku text, node text, bin text, qty bigint, lot text DEFAULT NULL,
                            idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_bins_putaway'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.putaway(text, text, text, bigint, text, text) IS
    'Puts qty available units of sku away at node: from the node''s stock outside bins (where receiving puts them) into an active bin of that node (event putaway); returns the move id';

CREATE FUNCTION erp.bin_move(sku text, node text, from_bin text, to_bin text, qty bigint, lot text DEFAULT NULL,
                             idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_bins_move'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.bin_move(text, text, text, text, bigint, text, text) IS
    'Moves qty available units of sku at node from one bin to another active bin of the same node (event bin_move); returns the move id';

CREATE FUNCTION erp.suggest_bin(sku text, node text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ierp_bins_suggest'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.suggest_bin(text, text) IS
    'Where to put sku away at node: the active bin that already holds its available units (lowest pick sequence), else an empty active bin whose zone is the item''s category, else an empty active bin without a zone; NULL when there is none';

CREATE FUNCTION erp.pick_bin(order_id bigint, scan text, qty bigint, bin text, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick_bin(bigint, text, bigint, text, text) IS
    'erp.pick with the bin scanned as well as the item: the units are taken from that bin of the order''s node; a bin that is not of that node, or that holds too few units of the item, is refused (IE007) and recorded as a pick_exception event';

SELECT pg_catalog.pg_extension_config_dump('erp.bin', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('erp.bin', 'bin_id')::regclass, '');
