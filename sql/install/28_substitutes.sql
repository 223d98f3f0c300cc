-- 28_substitutes: substitutes (SPEC 12, issue 16 item 5; doc/warehouse.md "Substitutes").
-- An item may name substitutes, in rank order; an order line captured with
-- "substitutes": true is filled by the first of them that can fill it whole when its
-- own item cannot (allocate.c, substitute.c).  The line keeps its item, quantity and
-- price; its reservations, picks, shipment lines and returns are of the substitute, and
-- erp.order_line_substitution says which one.

-- No foreign keys (as erp.order_edit): erp.distribute() lays tables out by
-- erp.citus_layout(), and a table outside it with a key to a reference table stops it;
-- erp.set_substitute checks both skus, and allocation skips an item that is gone.
CREATE TABLE erp.item_substitute (
    item_id             bigint NOT NULL,
    substitute_item_id  bigint NOT NULL,
    rank                integer NOT NULL CHECK (rank BETWEEN 1 AND 99),
    PRIMARY KEY (item_id, substitute_item_id),
    CONSTRAINT item_substitute_rank UNIQUE (item_id, rank),
    CONSTRAINT item_substitute_not_self CHECK (item_id <> substitute_item_id)
);
COMMENT ON TABLE erp.item_substitute IS
    'Agreed substitutes of an item, tried in rank order (1 first) for order lines that allow substitutes; kept with erp.set_substitute';

-- One row per order line captured with "substitutes": true; substitute_item_id is set
-- when allocation fills the line with a substitute (and stays: the rest of the line
-- is filled with the same one).  Written only by capture and allocation; never deleted.
CREATE TABLE erp.order_line_substitution (
    order_id            bigint NOT NULL,
    line_no             integer NOT NULL,
    substitute_item_id  bigint,
    rank                integer,
    substituted_at      timestamptz,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_line_substitution_done CHECK ((substitute_item_id IS NULL) = (substituted_at IS NULL)
                                                   AND (substitute_item_id IS NULL) = (rank IS NULL))
);
CREATE TRIGGER order_line_substitution_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_line_substitution
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_line_substitution IS
    'Order lines that allow substitutes (capture line member "substitutes": true) and, once allocation filled one with a substitute, which one (its rank then) and when';
ALTER TABLE erp.order_line_substitution ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_line_substitution
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_line_substitution.order_id));

-- What every substituted line holds and shipped, by sku.
CREATE VIEW erp.substituted_lines WITH (security_invoker = true) AS
SELECT s.order_id, s.line_no, i.sku AS ordered_sku, si.sku AS substitute_sku, s.rank, l.qty,
       l.qty_allocated, l.qty_shipped, l.unit_price, s.substituted_at
  FROM erp.order_line_substitution s
  JOIN erp.order_line l ON l.order_id = s.order_id AND l.line_no = s.line_no
  JOIN erp.item i ON i.item_id = l.item_id
  JOIN erp.item si ON si.item_id = s.substitute_item_id
 WHERE s.substitute_item_id IS NOT NULL;
COMMENT ON VIEW erp.substituted_lines IS
    'Order lines filled by a substitute: the sku ordered, the substitute, its rank, the line''s quantities and price (the customer pays and is refunded the line''s price)';

CREATE FUNCTION erp.set_substitute(sku text, substitute_sku text, rank integer)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_item record;
    v_sub  record;
BEGIN
    SELECT i.item_id, i.sku INTO v_item FROM erp.item i WHERE i.sku = set_substitute.sku;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown sku "%"', left(set_substitute.sku, 64) USING ERRCODE = 'IE003';
    END IF;
    SELECT i.item_id, i.sku INTO v_sub FROM erp.item i WHERE i.sku = set_substitute.substitute_sku;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown sku "%"', left(set_substitute.substitute_sku, 64) USING ERRCODE = 'IE003';
    END IF;
    IF rank IS NULL THEN
        DELETE FROM erp.item_substitute s WHERE s.item_id = v_item.item_id AND s.substitute_item_id = v_sub.item_id;
        RETURN;
    END IF;
    IF v_item.item_id = v_sub.item_id THEN
        RAISE EXCEPTION 'sku "%" cannot substitute itself', v_item.sku USING ERRCODE = 'IE004';
    END IF;
    IF rank < 1 OR rank > 99 THEN
        RAISE EXCEPTION 'invalid rank % for substitute "%" of "%"', rank, v_sub.sku, v_item.sku
            USING ERRCODE = 'IE004', DETAIL = 'A rank is 1 (tried first) to 99; NULL removes the substitute.';
    END IF;
    IF EXISTS (SELECT 1 FROM erp.item_component c WHERE c.kit_item_id IN (v_item.item_id, v_sub.item_id)) THEN
        RAISE EXCEPTION 'kit "%" takes no substitutes',
            CASE WHEN EXISTS (SELECT 1 FROM erp.item_component c WHERE c.kit_item_id = v_item.item_id)
                 THEN v_item.sku ELSE v_sub.sku END
            USING ERRCODE = 'IE004', DETAIL = 'Substitutes are plain items for plain items; a kit line is never substituted.';
    END IF;
    IF EXISTS (SELECT 1 FROM erp.item_substitute s
                WHERE s.item_id = v_item.item_id AND s.rank = set_substitute.rank
                  AND s.substitute_item_id <> v_sub.item_id) THEN
        RAISE EXCEPTION 'sku "%" has another substitute at rank %', v_item.sku, rank
            USING ERRCODE = 'IE010', HINT = 'Remove it first (rank NULL) or choose another rank.';
    END IF;
    INSERT INTO erp.item_substitute AS s (item_id, substitute_item_id, rank)
    VALUES (v_item.item_id, v_sub.item_id, set_substitute.rank)
    ON CONFLICT (item_id, substitute_item_id) DO UPDATE SET rank = EXCLUDED.rank;
END
$$;
COMMENT ON FUNCTION erp.set_substitute(text, text, integer) IS
    'Sets substitute_sku as the substitute of sku at rank (1 tried first); rank NULL removes it.  Refuses unknown skus (IE003), the item itself, a rank outside 1..99 and kits (IE004), and a rank another substitute holds (IE010)';
