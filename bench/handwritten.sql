-- The hand-written baseline: what a competent team would write instead of installing
-- inventory_erp.  Plain tables (no triggers), primary keys and the indexes the one
-- write path needs, and one PL/pgSQL function that captures a one-line order and
-- allocates it:
--   * the stock is taken with ONE conditional UPDATE of a single balance row,
--         UPDATE balance SET qty = qty - n WHERE item_id = .. AND node_id = .. AND qty >= n
--     at the best-ranked node of the channel that has the units (nodes tried in rank
--     order, node id breaking ties), so no oversell is possible: the row lock and the
--     re-check of qty >= n after a concurrent update serialise the takers;
--   * then the order, its line, a reservation row and a ledger row are appended.
-- A line that no node can fill is recorded 'short' with nothing reserved.
--
-- Loaded by bench/run.sh after bench/setup.sql; the catalogue, the nodes, the channel's
-- node ranks and the available stock are copied from what setup.sql created through
-- the extension's public tables, so both sides start from the same 1,000 SKUs x 3 nodes.
CREATE SCHEMA handwritten;

CREATE TABLE handwritten.node (
    node_id     bigint PRIMARY KEY,
    code        text NOT NULL UNIQUE
);

CREATE TABLE handwritten.channel (
    channel_id  bigint PRIMARY KEY,
    code        text NOT NULL UNIQUE
);

-- lower rank is preferred; the primary key leads with the channel, so the rank-ordered
-- node list of a channel is one index range
CREATE TABLE handwritten.channel_node (
    channel_id  bigint NOT NULL REFERENCES handwritten.channel,
    node_id     bigint NOT NULL REFERENCES handwritten.node,
    rank        integer NOT NULL,
    PRIMARY KEY (channel_id, node_id)
);

CREATE TABLE handwritten.item (
    item_id     bigint PRIMARY KEY,
    sku         text NOT NULL UNIQUE
);

-- available units per (item, node): the one row an order's UPDATE takes from
CREATE TABLE handwritten.balance (
    item_id     bigint NOT NULL REFERENCES handwritten.item,
    node_id     bigint NOT NULL REFERENCES handwritten.node,
    qty         bigint NOT NULL CHECK (qty >= 0),
    PRIMARY KEY (item_id, node_id)
);

-- No foreign keys from the order tables to the master rows: every order of a hot SKU
-- would take a KEY SHARE lock on the same item row (the extension avoids them too).
CREATE TABLE handwritten.sales_order (
    order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id   bigint NOT NULL,
    external_ref text NOT NULL,
    status       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, external_ref)
);

CREATE TABLE handwritten.order_line (
    order_id      bigint NOT NULL,
    line_no       integer NOT NULL,
    item_id       bigint NOT NULL,
    qty           bigint NOT NULL CHECK (qty > 0),
    qty_allocated bigint NOT NULL CHECK (qty_allocated BETWEEN 0 AND qty),
    status        text NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE handwritten.reservation (
    reservation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id       bigint NOT NULL,
    line_no        integer NOT NULL,
    item_id        bigint NOT NULL,
    node_id        bigint NOT NULL,
    qty            bigint NOT NULL CHECK (qty > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservation_order_idx ON handwritten.reservation (order_id, line_no);
CREATE INDEX reservation_item_idx ON handwritten.reservation (item_id, node_id);

-- the append-only ledger: every move of units between states
CREATE TABLE handwritten.stock_move (
    move_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL,
    node_id     bigint NOT NULL,
    qty         bigint NOT NULL CHECK (qty > 0),
    from_state  text,
    to_state    text,
    event       text NOT NULL,
    ref         text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_move_item_idx ON handwritten.stock_move (item_id, move_id);

-- The same catalogue, nodes, channel ranks and available stock as the extension's.
INSERT INTO handwritten.node SELECT node_id, code FROM erp.node;
INSERT INTO handwritten.channel SELECT channel_id, code FROM erp.channel;
INSERT INTO handwritten.channel_node SELECT channel_id, node_id, rank FROM erp.channel_node;
INSERT INTO handwritten.item SELECT item_id, sku FROM erp.item;
INSERT INTO handwritten.balance
SELECT item_id, node_id, sum(qty) FROM erp.stock_balance WHERE state = 'available'
 GROUP BY item_id, node_id;
INSERT INTO handwritten.stock_move (item_id, node_id, qty, to_state, event, ref)
SELECT item_id, node_id, qty, 'available', 'receive', 'opening' FROM handwritten.balance;

-- Captures a one-line order and reserves its units at one node; returns the order id.
CREATE FUNCTION handwritten.capture_allocate(channel text, external_ref text, sku text, qty bigint)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v_channel bigint;
    v_item    bigint;
    v_node    bigint;
    v_taken   bigint := 0;
    v_order   bigint;
BEGIN
    IF qty IS NULL OR qty <= 0 THEN
        RAISE EXCEPTION 'quantity must be positive, not %', qty;
    END IF;
    SELECT c.channel_id INTO v_channel FROM handwritten.channel c WHERE c.code = capture_allocate.channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel %', channel;
    END IF;
    SELECT i.item_id INTO v_item FROM handwritten.item i WHERE i.sku = capture_allocate.sku;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown sku %', sku;
    END IF;

    -- the best-ranked node that has the units: one conditional UPDATE per node tried
    FOR v_node IN
        SELECT cn.node_id FROM handwritten.channel_node cn
         WHERE cn.channel_id = v_channel ORDER BY cn.rank, cn.node_id
    LOOP
        UPDATE handwritten.balance b SET qty = b.qty - capture_allocate.qty
         WHERE b.item_id = v_item AND b.node_id = v_node AND b.qty >= capture_allocate.qty;
        IF FOUND THEN
            v_taken := qty;
            EXIT;
        END IF;
    END LOOP;

    INSERT INTO handwritten.sales_order (channel_id, external_ref, status)
    VALUES (v_channel, capture_allocate.external_ref,
            CASE WHEN v_taken > 0 THEN 'allocated' ELSE 'short' END)
    RETURNING order_id INTO v_order;
    INSERT INTO handwritten.order_line (order_id, line_no, item_id, qty, qty_allocated, status)
    VALUES (v_order, 1, v_item, qty, v_taken,
            CASE WHEN v_taken > 0 THEN 'allocated' ELSE 'short' END);
    IF v_taken > 0 THEN
        INSERT INTO handwritten.reservation (order_id, line_no, item_id, node_id, qty)
        VALUES (v_order, 1, v_item, v_node, v_taken);
        INSERT INTO handwritten.stock_move (item_id, node_id, qty, from_state, to_state, event, ref)
        VALUES (v_item, v_node, v_taken, 'available', 'reserved', 'allocate', 'order:' || v_order);
    END IF;
    RETURN v_order;
END
$$;
COMMENT ON FUNCTION handwritten.capture_allocate(text, text, text, bigint) IS
    'Bench baseline: records a one-line order, takes qty units with one conditional UPDATE of the best-ranked node''s balance that has them, appends a reservation and a ledger row; returns the order id';

ANALYZE handwritten.node, handwritten.channel, handwritten.channel_node, handwritten.item,
        handwritten.balance, handwritten.stock_move;
