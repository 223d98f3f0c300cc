-- 26_warehouse: bins inside a node (issue 16, doc/warehouse.md).  A bin is a
-- dimension of stock: the balances (erp.stock_slot.bin_id) and the ledger
-- (erp.stock_move.from_bin_id / to_bin_id) name it, so bin stock cannot
-- disagree with the node's balances, which are the sums over its bins.
-- Bin 0 / NULL is the node's stock outside bins (where receiving puts units);
-- a node without bins works exactly as before.

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

-- Waves (issue 16): allocated orders at a node grouped for one walk through its
-- bins.  A wave is a grouping only: the orders keep their reservations, and the
-- picks of a wave are the orders' own picks (erp.pick_bin / erp.pick).
CREATE TABLE erp.wave (
    wave_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         bigint NOT NULL,
    cutoff          timestamptz,
    max_orders      integer,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by      name NOT NULL DEFAULT erp.current_actor()
);
COMMENT ON TABLE erp.wave IS 'A pick wave: orders allocated at one node, picked in one walk through its bins (erp.create_wave, erp.pick_list, erp.pick_wave)';
COMMENT ON COLUMN erp.wave.cutoff IS 'Only orders captured up to this time were taken (the carrier''s cut-off); NULL = any';
CREATE TABLE erp.wave_order (
    wave_id         bigint NOT NULL,
    order_id        bigint NOT NULL,
    seq             integer NOT NULL,
    PRIMARY KEY (wave_id, order_id)
);
CREATE INDEX wave_order_order_idx ON erp.wave_order (order_id);
COMMENT ON TABLE erp.wave_order IS 'The orders of a wave, seq = their order in it (priority, then age)';
ALTER TABLE erp.wave ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.wave
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER TABLE erp.wave_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.wave_order
    USING (EXISTS (SELECT 1 FROM erp.wave w WHERE w.wave_id OPERATOR(pg_catalog.=) wave_order.wave_id));

CREATE FUNCTION erp.create_wave(node text, max_orders integer DEFAULT NULL, cutoff timestamptz DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nid bigint;
    wid bigint;
    n integer;
BEGIN
    IF node IS NULL OR node = '' OR octet_length(node) > 64 THEN
        RAISE EXCEPTION 'invalid node code "%"', coalesce(left(node, 64), 'NULL')
            USING ERRCODE = 'IE004', DETAIL = 'A node code is 1 to 64 bytes.';
    END IF;
    SELECT x.node_id INTO nid FROM erp.node x WHERE x.code = node;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown node "%"', node USING ERRCODE = 'IE003';
    END IF;
    IF (SELECT erp.visible_nodes()) IS NOT NULL AND NOT nid = ANY (erp.visible_nodes()) THEN
        RAISE EXCEPTION 'no access to node "%"', node
            USING ERRCODE = 'IE009', DETAIL = 'A partner creates waves at its own nodes only.';
    END IF;
    IF max_orders IS NOT NULL AND (max_orders < 1 OR max_orders > 10000) THEN
        RAISE EXCEPTION 'invalid max_orders %', max_orders
            USING ERRCODE = 'IE004', DETAIL = 'A wave takes 1 to 10000 orders (NULL: up to 10000).';
    END IF;
    IF cutoff IS NOT NULL AND (NOT isfinite(cutoff) OR cutoff < '1970-01-01 00:00:00+00'
                               OR cutoff >= '10000-01-01 00:00:00+00') THEN
        RAISE EXCEPTION 'invalid cutoff %', cutoff
            USING ERRCODE = 'IE004', DETAIL = 'A cut-off is a time in the years 1970 to 9999.';
    END IF;
    -- one wave at a time per node: an order joins one wave
    PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('erp.wave'), nid::integer);
    INSERT INTO erp.wave (node_id, cutoff, max_orders) VALUES (nid, cutoff, max_orders) RETURNING wave_id INTO wid;
    INSERT INTO erp.wave_order (wave_id, order_id, seq)
    SELECT wid, o.order_id, (row_number() OVER (ORDER BY o.priority DESC, o.created_at, o.order_id))::integer
      FROM (SELECT s.order_id, s.priority, s.created_at
              FROM erp.sales_order s
             WHERE s.status IN ('allocated', 'partially_allocated')
               AND (cutoff IS NULL OR s.created_at <= cutoff)
               AND EXISTS (SELECT 1 FROM erp.reservation r
                            WHERE r.order_id = s.order_id AND r.node_id = nid AND r.qty > r.qty_picked)
               AND NOT EXISTS (SELECT 1 FROM erp.wave_order x JOIN erp.wave y ON y.wave_id = x.wave_id
                                WHERE x.order_id = s.order_id AND y.node_id = nid)
             ORDER BY s.priority DESC, s.created_at, s.order_id
             LIMIT coalesce(max_orders, 10000)) o;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'no allocated orders to pick at node "%"', node
            USING ERRCODE = 'IE010',
                  DETAIL = 'A wave takes allocated orders holding units at the node that are in no wave there yet'
                           || CASE WHEN cutoff IS NULL THEN '.' ELSE ', captured up to the cut-off.' END;
    END IF;
    RETURN wid;
END
$$;
COMMENT ON FUNCTION erp.create_wave(text, integer, timestamptz) IS
    'Groups the allocated orders that hold unpicked units at node and are in no wave there yet (captured up to cutoff when given; highest priority, then oldest first; at most max_orders) into a new wave; returns its id';

CREATE FUNCTION erp.pick_list(wave_id bigint)
    RETURNS TABLE (seq integer, bin text, sku text, qty bigint, order_ids bigint[], lot text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH w AS (
        SELECT x.wave_id, x.node_id FROM erp.wave x WHERE x.wave_id = pick_list.wave_id
    ), demand AS (
        -- per order, item and lot (0: none): the units it still has to pick at the node
        SELECT wo.seq, r.order_id, r.item_id, coalesce(r.lot_id, 0) AS lot_id, sum(r.qty - r.qty_picked) AS qty
          FROM w JOIN erp.wave_order wo ON wo.wave_id = w.wave_id
          JOIN erp.reservation r ON r.order_id = wo.order_id AND r.node_id = w.node_id
         GROUP BY 1, 2, 3, 4 HAVING sum(r.qty - r.qty_picked) > 0
    ), d AS (
        SELECT dm.*, sum(dm.qty) OVER (PARTITION BY dm.item_id, dm.lot_id ORDER BY dm.seq, dm.order_id) - dm.qty AS lo
          FROM demand dm
    ), supply AS (
        -- what each bin may give a pick of the item's lot (reserved and available units), in walk
        -- order; the stock outside bins last
        SELECT s.item_id, s.lot_id, s.bin_id, b.code, coalesce(b.pick_sequence, 2147483647) AS ps,
               sum(s.reserved + s.available) AS qty
          FROM w JOIN erp.stock_slot s ON s.node_id = w.node_id
          LEFT JOIN erp.bin b ON b.bin_id = s.bin_id
         WHERE (s.item_id, s.lot_id) IN (SELECT dm.item_id, dm.lot_id FROM demand dm)
         GROUP BY 1, 2, 3, 4, 5 HAVING sum(s.reserved + s.available) > 0
    ), su AS (
        SELECT sp.*, sum(sp.qty) OVER (PARTITION BY sp.item_id, sp.lot_id ORDER BY sp.ps, sp.bin_id) - sp.qty AS lo
          FROM supply sp
    ), stop AS (
        SELECT su.bin_id, su.code, su.ps, d.item_id, d.lot_id, d.order_id,
               least(d.lo + d.qty, su.lo + su.qty) - greatest(d.lo, su.lo) AS qty
          FROM d JOIN su ON su.item_id = d.item_id AND su.lot_id = d.lot_id
                        AND su.lo < d.lo + d.qty AND d.lo < su.lo + su.qty
    )
    SELECT (row_number() OVER (ORDER BY st.ps, st.bin_id, i.sku, l.lot_code))::integer, st.code, i.sku,
           sum(st.qty)::bigint, array_agg(DISTINCT st.order_id ORDER BY st.order_id), l.lot_code
      FROM stop st JOIN erp.item i ON i.item_id = st.item_id
      LEFT JOIN erp.lot l ON l.item_id = st.item_id AND l.lot_id = st.lot_id
     GROUP BY st.ps, st.bin_id, st.code, i.sku, l.lot_code
     ORDER BY 1
$$;
COMMENT ON FUNCTION erp.pick_list(bigint) IS
    'The walk of a wave: one row per bin, sku and lot, in the bins'' pick sequence (the stock outside bins last, bin NULL), with the units to pick there, the orders they are for and the lot (NULL for an item without lots: a lot-tracked item is picked from the lots reserved for the orders); units of the wave''s orders still to pick, taken from the bins that hold reserved or available units of the item and lot in walk order';

CREATE FUNCTION erp.pick_wave(wave_id bigint, bin text, scan text, qty bigint)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w record;
    v_item bigint;
    left_qty bigint := qty;
    part bigint;
    r record;
BEGIN
    IF qty IS NULL OR qty < 1 OR qty > 1000000000 THEN
        RAISE EXCEPTION 'invalid quantity % for wave %', coalesce(qty::text, 'NULL'), wave_id
            USING ERRCODE = 'IE004', DETAIL = 'A quantity is 1 to 1000000000 units.';
    END IF;
    IF scan IS NULL OR scan = '' OR octet_length(scan) > 64 THEN
        RAISE EXCEPTION 'invalid scan for wave %', wave_id
            USING ERRCODE = 'IE004', DETAIL = 'A scan is the sku or GTIN read from the unit, 1 to 64 bytes.';
    END IF;
    SELECT x.wave_id, x.node_id INTO w FROM erp.wave x WHERE x.wave_id = pick_wave.wave_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown wave %', coalesce(wave_id::text, 'NULL') USING ERRCODE = 'IE003';
    END IF;
    SELECT i.item_id INTO v_item FROM erp.item i WHERE i.sku = scan;
    IF NOT FOUND AND scan ~ '^[0-9]{8,14}$' AND erp.gtin_is_valid(scan) THEN
        SELECT i.item_id INTO v_item FROM erp.item i WHERE i.gtin OPERATOR(erp.=) scan::erp.gtin;
    END IF;
    FOR r IN
        SELECT wo.order_id, sum(res.qty - res.qty_picked) AS open
          FROM erp.wave_order wo
          JOIN erp.reservation res ON res.order_id = wo.order_id AND res.node_id = w.node_id
         WHERE wo.wave_id = w.wave_id AND res.item_id = v_item
         GROUP BY wo.seq, wo.order_id HAVING sum(res.qty - res.qty_picked) > 0
         ORDER BY wo.seq
    LOOP
        EXIT WHEN left_qty = 0;
        part := least(left_qty, r.open);
        IF bin IS NULL THEN
            PERFORM erp.pick(r.order_id, scan, part);
        ELSE
            PERFORM erp.pick_bin(r.order_id, scan, part, bin);
        END IF;
        left_qty := left_qty - part;
    END LOOP;
    IF left_qty = qty THEN
        RAISE EXCEPTION 'scan "%" is no item left to pick in wave %', scan, wave_id
            USING ERRCODE = 'IE007', HINT = 'Scan an item of the wave''s pick list (erp.pick_list).';
    END IF;
    IF left_qty > 0 THEN
        RAISE EXCEPTION 'cannot pick % of "%" in wave %: % left to pick', qty, scan, wave_id, qty - left_qty
            USING ERRCODE = 'IE004';
    END IF;
    RETURN qty;
END
$$;
COMMENT ON FUNCTION erp.pick_wave(bigint, text, text, bigint) IS
    'Picks qty units of the scanned sku or GTIN from bin (NULL: the stock outside bins) for the orders of a wave, in the wave''s order, each up to what it has left to pick (erp.pick_bin per order); returns qty';

-- Units of measure (issue 16): the packs an item comes in, each with its units and
-- its own GTIN; a pack's GTIN scanned at erp.pick counts as its units.
CREATE TABLE erp.item_uom (
    item_id         bigint NOT NULL,
    item_uom_id     bigint GENERATED ALWAYS AS IDENTITY,
    uom             text NOT NULL CHECK (uom IN ('each', 'inner', 'case', 'pallet')),
    units           bigint NOT NULL CHECK (units BETWEEN 1 AND 1000000 AND (uom <> 'each' OR units = 1)),
    gtin            erp.gtin UNIQUE,
    PRIMARY KEY (item_id, item_uom_id),
    UNIQUE (item_id, uom)
);
COMMENT ON TABLE erp.item_uom IS 'The packs an item comes in (each, inner, case, pallet): how many units one holds and its own GTIN; a pack''s GTIN scanned at erp.pick counts as its units';
COMMENT ON COLUMN erp.item_uom.units IS 'Units of the item in one pack (1 for each; at most 1,000,000)';
COMMENT ON COLUMN erp.item_uom.gtin IS 'The pack''s GTIN (a case''s GTIN-14); an item''s own GTIN (erp.item.gtin) is its each';

CREATE FUNCTION erp.uom_units(item_id bigint, uom text)
    RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF uom = 'each' AND EXISTS (SELECT 1 FROM erp.item i WHERE i.item_id = uom_units.item_id) THEN
        RETURN 1;
    END IF;
    SELECT u.units INTO n FROM erp.item_uom u WHERE u.item_id = uom_units.item_id AND u.uom = uom_units.uom;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown unit of measure "%" of item %', coalesce(left(uom, 64), 'NULL'), coalesce(item_id::text, 'NULL')
            USING ERRCODE = 'IE003', HINT = 'The packs of an item are listed in erp.item_uom.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.uom_units(bigint, text) IS
    'Units of item_id in one uom (each: 1; inner, case, pallet: as erp.item_uom says); IE003 for a uom the item has no row for. For converting order lines given in cases';

-- Counts per bin (issue 16): a count names the bin it counted, and its
-- adjustment the bin it corrects, so an approval later writes off from (or
-- adds to) that bin.  NULL: the stock outside bins / the node as before.
ALTER TABLE erp.cycle_count ADD COLUMN bin_id bigint;
COMMENT ON COLUMN erp.cycle_count.bin_id IS 'The bin counted (erp.count_bin); NULL: a count of the stock outside bins (erp.count)';
ALTER TABLE erp.adjustment ADD COLUMN bin_id bigint;
COMMENT ON COLUMN erp.adjustment.bin_id IS 'The bin the adjustment adds to or writes off from (a count of a bin, erp.count_bin); NULL: the node''s stock';
COMMENT ON FUNCTION erp.count(text, text, bigint, text, text) IS
    'Records a cycle count of available units outside bins (counted 0 to 1,000,000,000, IE004); sku may be a pack''s GTIN (erp.item_uom): counted then counts packs; a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment by another person; returns the cycle count id';

CREATE FUNCTION erp.count_bin(sku text, node text, bin text, counted bigint, lot text DEFAULT NULL,
                              uom text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_count_bin'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.count_bin(text, text, text, bigint, text, text, text) IS
    'Records a cycle count of the available units of sku in one bin of node (counted in packs of uom, or of the pack whose GTIN is sku, else in units; 0 to 1,000,000,000 units, IE004); the variance is adjusted in that bin at once within the adjustment threshold, else waits for erp.approve_adjustment; satisfies the bin''s entries in erp.bin_count_worklist; returns the cycle count id';

CREATE VIEW erp.bin_count_worklist WITH (security_barrier = true) AS
SELECT f.node_id, n.code AS node, b.bin_id, b.code AS bin, f.item_id, i.sku,
       min(f.at) AS flagged_at, count(*) AS flags, array_agg(DISTINCT f.order_id) AS order_ids
  FROM (SELECT e.at, coalesce(e.node_id, (e.payload->>'uncommitted_node_id')::bigint) AS node_id,
               coalesce(e.item_id, (e.payload->>'uncommitted_item_id')::bigint) AS item_id,
               coalesce(e.order_id, (e.payload->>'uncommitted_order_id')::bigint) AS order_id,
               e.payload->>'bin' AS bin
          FROM erp.event e
         WHERE e.kind = 'pick_exception' AND e.payload->>'count_bin' = 'true') f
  JOIN erp.bin b ON b.node_id = f.node_id AND b.code = f.bin
  JOIN erp.node n ON n.node_id = f.node_id
  JOIN erp.item i ON i.item_id = f.item_id
 WHERE NOT EXISTS (SELECT 1 FROM erp.cycle_count c
                    WHERE c.item_id = f.item_id AND c.node_id = f.node_id AND c.bin_id = b.bin_id
                      AND c.counted_at >= f.at)
   AND ((SELECT erp.visible_nodes()) IS NULL
        OR f.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
 GROUP BY f.node_id, n.code, b.bin_id, b.code, f.item_id, i.sku;
COMMENT ON VIEW erp.bin_count_worklist IS 'Bins to count: a short bin at erp.pick_bin (a pick_exception event with "count_bin": true) per node, bin and sku, until a count of that bin and sku (erp.count_bin) after the first flag; flags = short picks since, order_ids = the orders that found the bin short';
