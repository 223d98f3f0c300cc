-- 03_master: master data.  Writable by erp_admin, readable by erp_reader.
-- Rows that the ledger refers to are retired (active = false), never deleted.

CREATE TABLE erp.item (
    item_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku                 text NOT NULL UNIQUE CHECK (sku <> ''),
    gtin                erp.gtin UNIQUE,
    title               text NOT NULL DEFAULT '',
    category            text,
    unit_cost           numeric(14,2) NOT NULL DEFAULT 0 CHECK (unit_cost >= 0),
    unit_price          numeric(14,2) NOT NULL DEFAULT 0 CHECK (unit_price >= 0),
    lot_tracked         boolean NOT NULL DEFAULT false,
    min_shelf_life_days integer NOT NULL DEFAULT 0 CHECK (min_shelf_life_days >= 0),
    allow_backorder     boolean NOT NULL DEFAULT false,
    allow_preorder      boolean NOT NULL DEFAULT false,
    high_value          boolean NOT NULL DEFAULT false,
    requires_qc         boolean NOT NULL DEFAULT false,
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE erp.item IS 'A stock-keeping unit: what is sold, counted and moved';
COMMENT ON COLUMN erp.item.sku IS 'Business key of the item, used by every public function';
COMMENT ON COLUMN erp.item.gtin IS 'GS1 barcode (GTIN-8/12/13/14, stored in 14-digit form); a scan of it identifies the item';
COMMENT ON COLUMN erp.item.unit_cost IS 'What one unit costs the business; values counts and adjustments';
COMMENT ON COLUMN erp.item.unit_price IS 'List price of one unit';
COMMENT ON COLUMN erp.item.lot_tracked IS 'Stock is kept per lot (batch) with an expiry date and allocated first-expiry-first-out';
COMMENT ON COLUMN erp.item.min_shelf_life_days IS 'Lots with fewer days left before expiry are not promised to customers';
COMMENT ON COLUMN erp.item.allow_backorder IS 'An order line that cannot be filled waits as a backorder instead of being short';
COMMENT ON COLUMN erp.item.allow_preorder IS 'Incoming stock due by the promise date counts towards available-to-promise';
COMMENT ON COLUMN erp.item.high_value IS 'Refunds for this item always wait for an approver';
COMMENT ON COLUMN erp.item.requires_qc IS 'Purchase receipts of this item go to quarantine for a quality check';
COMMENT ON COLUMN erp.item.active IS 'Retired items keep their history but take no new orders';

CREATE TABLE erp.item_component (
    item_component_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kit_item_id         bigint NOT NULL REFERENCES erp.item,
    component_item_id   bigint NOT NULL REFERENCES erp.item,
    qty                 bigint NOT NULL CHECK (qty > 0),
    UNIQUE (kit_item_id, component_item_id),
    CHECK (kit_item_id <> component_item_id)
);
COMMENT ON TABLE erp.item_component IS 'Bill of materials of a kit or bundle: how many of each component one kit consumes';

CREATE TABLE erp.node (
    node_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code <> ''),
    name        text NOT NULL DEFAULT '',
    kind        erp.node_kind NOT NULL DEFAULT 'warehouse',
    latitude    double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude   double precision CHECK (longitude BETWEEN -180 AND 180),
    active      boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE erp.node IS 'A fulfilment node: warehouse, store, 3PL site or drop-ship supplier';
COMMENT ON COLUMN erp.node.active IS 'Inactive nodes keep their stock picture but are not allocated from';

CREATE TABLE erp.channel (
    channel_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code <> ''),
    name        text NOT NULL DEFAULT '',
    kind        erp.channel_kind NOT NULL DEFAULT 'storefront',
    priority    integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE erp.channel IS 'A sales channel orders come from: storefront, marketplace, wholesale portal, social shop or point of sale';
COMMENT ON COLUMN erp.channel.priority IS 'Higher priority channels'' orders are allocated first by erp.allocate_pending';

CREATE TABLE erp.channel_node (
    channel_node_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id      bigint NOT NULL REFERENCES erp.channel,
    node_id         bigint NOT NULL REFERENCES erp.node,
    rank            integer NOT NULL DEFAULT 1,
    UNIQUE (channel_id, node_id)
);
COMMENT ON TABLE erp.channel_node IS 'Which nodes may fulfil a channel''s orders; lower rank is preferred';

CREATE TABLE erp.supplier (
    supplier_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code <> ''),
    name            text NOT NULL DEFAULT '',
    lead_time_days  integer NOT NULL DEFAULT 7 CHECK (lead_time_days >= 0)
);
COMMENT ON TABLE erp.supplier IS 'A vendor that stock is bought from and defective units go back to';

CREATE TABLE erp.stock_policy (
    stock_policy_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    safety_stock    bigint NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    reorder_point   bigint NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    order_up_to     bigint NOT NULL DEFAULT 0 CHECK (order_up_to >= 0),
    lead_time_days  integer CHECK (lead_time_days >= 0),
    supplier_id     bigint REFERENCES erp.supplier,
    UNIQUE (item_id, node_id)
);
COMMENT ON TABLE erp.stock_policy IS 'Per item and node: the safety stock never promised, and the replenishment parameters';
COMMENT ON COLUMN erp.stock_policy.safety_stock IS 'Available units kept back from available-to-promise';
COMMENT ON COLUMN erp.stock_policy.reorder_point IS 'When available + inbound - backordered falls below this, replenish';
COMMENT ON COLUMN erp.stock_policy.order_up_to IS 'Replenishment brings the position up to this quantity';

CREATE TABLE erp.channel_reserve (
    channel_reserve_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id             bigint NOT NULL REFERENCES erp.item,
    channel_id          bigint NOT NULL REFERENCES erp.channel,
    qty                 bigint NOT NULL CHECK (qty > 0),
    UNIQUE (item_id, channel_id)
);
COMMENT ON TABLE erp.channel_reserve IS 'Units of an item ring-fenced for one channel (e.g. a wholesale contract): other channels can neither see nor take them';

CREATE TABLE erp.lot (
    lot_id      bigint GENERATED ALWAYS AS IDENTITY,
    item_id     bigint NOT NULL REFERENCES erp.item,
    lot_code    text NOT NULL CHECK (lot_code <> ''),
    expires_on  date,
    CONSTRAINT lot_pkey PRIMARY KEY (item_id, lot_id),
    UNIQUE (item_id, lot_code)
);
COMMENT ON TABLE erp.lot IS 'A batch of a lot-tracked item with its expiry date';

CREATE TABLE erp.reason_code (
    reason_code_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code <> ''),
    description     text NOT NULL DEFAULT '',
    builtin         boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE erp.reason_code IS 'Why stock moved or came back: return reasons, adjustment reasons';
COMMENT ON COLUMN erp.reason_code.builtin IS 'Shipped with the extension (not dumped: CREATE EXTENSION recreates it)';

INSERT INTO erp.reason_code (code, description, builtin) VALUES
    ('too_small', 'Customer: the item is too small', true),
    ('too_large', 'Customer: the item is too large', true),
    ('not_as_described', 'Customer: the item is not as described', true),
    ('changed_mind', 'Customer: no longer wanted', true),
    ('defective', 'Customer: the item does not work', true),
    ('damaged_in_transit', 'Customer: arrived damaged', true),
    ('wrong_item', 'Customer: a different item was delivered', true),
    ('cycle_count', 'Stock count variance', true),
    ('shrinkage', 'Lost, stolen or not found', true);

CREATE TABLE erp.approval_policy (
    approval_policy_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                text NOT NULL UNIQUE CHECK (kind IN ('adjustment', 'refund')),
    max_auto_value      numeric(14,2) NOT NULL CHECK (max_auto_value >= 0)
);
COMMENT ON TABLE erp.approval_policy IS 'Value up to which an adjustment or refund is applied without a human; above it a member of erp_approver must approve';
COMMENT ON COLUMN erp.approval_policy.max_auto_value IS 'Largest value (at unit cost for adjustments, refund amount for refunds) applied automatically';

-- Partner access ------------------------------------------------------------

CREATE TABLE erp.node_access (
    node_access_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name       name NOT NULL,
    node_id         bigint NOT NULL REFERENCES erp.node,
    UNIQUE (role_name, node_id),
    role_oid        oid
);
COMMENT ON TABLE erp.node_access IS 'Partner roles (a 3PL''s, a store''s) and the nodes they may see and act at: a session whose login (or the role a superuser''s session SETs) is a member of a listed role, inheriting or not, sees and acts at those nodes only; every other session sees everything';
COMMENT ON COLUMN erp.node_access.role_oid IS 'Set by a trigger: the oid of the role role_name named when the row was written, so that the role stays a partner when it is renamed (NULL: no such role then; update the row once the role exists)';
-- A partner role stays a partner when it is renamed: each row keeps the oid
-- of the role its name named when the row was written (and again when the name
-- changes), and src/access.c restricts a member of either.  A role created
-- again under a listed name is restricted by the name.  Restored rows (another
-- cluster's oids) take the oid of their name here.
CREATE FUNCTION erp.node_access_role() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.role_name IS DISTINCT FROM OLD.role_name THEN
        NEW.role_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role_name);
    ELSE
        NEW.role_oid := OLD.role_oid;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION erp.node_access_role() IS
    'Trigger: erp.node_access.role_oid is the oid of the role role_name named when the row was written (NULL when no such role existed then), so that a renamed partner role stays a partner';
CREATE TRIGGER node_access_role BEFORE INSERT OR UPDATE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.node_access_role();

-- The nodes the session may see when it is a partner, NULL when it sees every
-- node: the one partner rule of src/access.c (the session's login, or the role
-- a superuser's session SETs; membership inheriting or not), the same the C
-- checks of every function apply.  Row level security policies and views call
-- it; it reads erp.node_access itself, so it works for any caller and no
-- search_path or operator of the caller's can change its answer.
CREATE FUNCTION erp.visible_nodes() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'ierp_access_visible_nodes'
    LANGUAGE C STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.visible_nodes() IS 'Nodes the session may see and act at when it is a partner (its login, or the role a superuser SETs, is a member of a role listed in erp.node_access), NULL when it sees every node';

-- Whether the session may see and act on an order, or a return: the rule the
-- document functions check (AccessCheckOrder, AccessCheckRma).  They run as the
-- extension owner so that they see the document's other nodes too.
CREATE FUNCTION erp.order_visible(order_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_order_visible'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.order_visible(bigint) IS 'Whether the session may see and act on the order: always for a session that is no partner; for a partner, when every node where the order holds or shipped stock is one of its nodes, or, while it holds and shipped nothing, when one of its nodes fulfils the order''s channel';

CREATE FUNCTION erp.rma_visible(rma_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_rma_visible'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.rma_visible(bigint) IS 'Whether the session may see and act on the return: always for a session that is no partner; for a partner, when every node of its lines (expected and received) is one of its nodes';
