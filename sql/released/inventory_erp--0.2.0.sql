\echo Use "CREATE EXTENSION inventory_erp" to load this file. \quit
-- 01_schema: the erp schema, the roles, and the enum types every later file uses.

COMMENT ON SCHEMA erp IS 'inventory_erp: the governed inventory, allocation and returns ledger';

-- Roles are cluster-wide and outlive the extension: create them only when missing.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['erp_reader', 'erp_operator', 'erp_approver', 'erp_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;
-- operators read what readers read; approvers and admins operate too
GRANT erp_reader TO erp_operator;
GRANT erp_operator TO erp_approver;
GRANT erp_operator TO erp_admin;

GRANT USAGE ON SCHEMA erp TO erp_reader;

CREATE TYPE erp.stock_state AS ENUM (
    'incoming', 'in_transit', 'return_pending',
    'available', 'reserved', 'picked', 'packed',
    'inspection', 'quarantined', 'damaged', 'refurbish', 'vendor_return'
);
COMMENT ON TYPE erp.stock_state IS
    'Where a unit stands: inbound (incoming, in_transit, return_pending), sellable (available), committed to an order (reserved, picked, packed) or held (inspection, quarantined, damaged, refurbish, vendor_return)';

CREATE TYPE erp.node_kind AS ENUM ('warehouse', 'store', '3pl', 'dropship');
COMMENT ON TYPE erp.node_kind IS 'What kind of place a fulfilment node is';

CREATE TYPE erp.channel_kind AS ENUM ('storefront', 'marketplace', 'wholesale', 'social', 'pos');
COMMENT ON TYPE erp.channel_kind IS 'What kind of sales channel orders come from';
\echo Use "CREATE EXTENSION inventory_erp" to load this file. \quit

-- 02_gtin.sql: the erp.gtin base type, a GS1 GTIN-8, -12, -13 or -14 with a
-- verified check digit, stored as its 14-digit number (src/gtin.c).  Text and
-- binary I/O, comparison operators, btree and hash operator classes, casts
-- from text and bigint and back to bigint, and erp.gtin_is_valid(text).

CREATE TYPE erp.gtin;

-- I/O ----------------------------------------------------------------------

CREATE FUNCTION erp.gtin_in(cstring) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_out(erp.gtin) RETURNS cstring
    AS 'MODULE_PATHNAME', 'gtin_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_recv(internal) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_send(erp.gtin) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gtin_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE erp.gtin (
    INPUT          = erp.gtin_in,
    OUTPUT         = erp.gtin_out,
    RECEIVE        = erp.gtin_recv,
    SEND           = erp.gtin_send,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT      = double,
    STORAGE        = plain
);

COMMENT ON TYPE erp.gtin IS
    'A GS1 barcode number (GTIN-8, -12, -13 or -14) with a verified check digit, always shown as 14 digits.';
COMMENT ON FUNCTION erp.gtin_in(cstring) IS
    'Reads a GTIN of 8, 12, 13 or 14 digits and refuses it (IE006) unless its check digit is right.';
COMMENT ON FUNCTION erp.gtin_out(erp.gtin) IS
    'Shows a GTIN as its canonical 14 digits, zero-padded on the left.';
COMMENT ON FUNCTION erp.gtin_recv(internal) IS
    'Reads a GTIN in binary form (a big-endian 8-byte integer) and refuses it (IE006) unless it is a valid GTIN.';
COMMENT ON FUNCTION erp.gtin_send(erp.gtin) IS
    'Writes a GTIN in binary form, its 14-digit number as a big-endian 8-byte integer.';

-- Comparison ---------------------------------------------------------------

CREATE FUNCTION erp.gtin_lt(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_lt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_le(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_le'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_eq(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_eq'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_ne(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_ne'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_ge(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_ge'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_gt(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_gt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_cmp(erp.gtin, erp.gtin) RETURNS integer
    AS 'MODULE_PATHNAME', 'gtin_cmp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_sortsupport(internal) RETURNS void
    AS 'MODULE_PATHNAME', 'gtin_sortsupport'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_hash(erp.gtin) RETURNS integer
    AS 'MODULE_PATHNAME', 'gtin_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_hash_extended(erp.gtin, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'gtin_hash_extended'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION erp.gtin_lt(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts before the second (the < operator).';
COMMENT ON FUNCTION erp.gtin_le(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts before or equals the second (the <= operator).';
COMMENT ON FUNCTION erp.gtin_eq(erp.gtin, erp.gtin) IS
    'True when both GTINs are the same number, whatever length each was written in (the = operator).';
COMMENT ON FUNCTION erp.gtin_ne(erp.gtin, erp.gtin) IS
    'True when the GTINs are different numbers (the <> operator).';
COMMENT ON FUNCTION erp.gtin_ge(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts after or equals the second (the >= operator).';
COMMENT ON FUNCTION erp.gtin_gt(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts after the second (the > operator).';
COMMENT ON FUNCTION erp.gtin_cmp(erp.gtin, erp.gtin) IS
    'Orders two GTINs (-1, 0 or 1) for btree indexes and sorting.';
COMMENT ON FUNCTION erp.gtin_sortsupport(internal) IS
    'Lets sorts and index builds compare GTINs without a function call per comparison.';
COMMENT ON FUNCTION erp.gtin_hash(erp.gtin) IS
    'Hashes a GTIN for hash indexes, hash joins and hash aggregation; equal GTINs hash alike.';
COMMENT ON FUNCTION erp.gtin_hash_extended(erp.gtin, bigint) IS
    'Hashes a GTIN with a seed, for hash partitioning.';

CREATE OPERATOR erp.< (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_lt,
    COMMUTATOR = OPERATOR(erp.>), NEGATOR = OPERATOR(erp.>=),
    RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);

CREATE OPERATOR erp.<= (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_le,
    COMMUTATOR = OPERATOR(erp.>=), NEGATOR = OPERATOR(erp.>),
    RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);

CREATE OPERATOR erp.= (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_eq,
    COMMUTATOR = OPERATOR(erp.=), NEGATOR = OPERATOR(erp.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
    MERGES, HASHES
);

CREATE OPERATOR erp.<> (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_ne,
    COMMUTATOR = OPERATOR(erp.<>), NEGATOR = OPERATOR(erp.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);

CREATE OPERATOR erp.>= (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_ge,
    COMMUTATOR = OPERATOR(erp.<=), NEGATOR = OPERATOR(erp.<),
    RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);

CREATE OPERATOR erp.> (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_gt,
    COMMUTATOR = OPERATOR(erp.<), NEGATOR = OPERATOR(erp.<=),
    RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);

COMMENT ON OPERATOR erp.< (erp.gtin, erp.gtin) IS 'GTIN sorts before';
COMMENT ON OPERATOR erp.<= (erp.gtin, erp.gtin) IS 'GTIN sorts before or equals';
COMMENT ON OPERATOR erp.= (erp.gtin, erp.gtin) IS 'same GTIN, whatever length each was written in';
COMMENT ON OPERATOR erp.<> (erp.gtin, erp.gtin) IS 'different GTINs';
COMMENT ON OPERATOR erp.>= (erp.gtin, erp.gtin) IS 'GTIN sorts after or equals';
COMMENT ON OPERATOR erp.> (erp.gtin, erp.gtin) IS 'GTIN sorts after';

-- Operator classes ---------------------------------------------------------

CREATE OPERATOR CLASS erp.gtin_ops
    DEFAULT FOR TYPE erp.gtin USING btree AS
        OPERATOR 1 erp.< ,
        OPERATOR 2 erp.<= ,
        OPERATOR 3 erp.= ,
        OPERATOR 4 erp.>= ,
        OPERATOR 5 erp.> ,
        FUNCTION 1 erp.gtin_cmp(erp.gtin, erp.gtin),
        FUNCTION 2 erp.gtin_sortsupport(internal);

CREATE OPERATOR CLASS erp.gtin_hash_ops
    DEFAULT FOR TYPE erp.gtin USING hash AS
        OPERATOR 1 erp.= ,
        FUNCTION 1 erp.gtin_hash(erp.gtin),
        FUNCTION 2 erp.gtin_hash_extended(erp.gtin, bigint);

COMMENT ON OPERATOR CLASS erp.gtin_ops USING btree IS
    'Default btree operator class for GTINs: unique constraints, range scans and ORDER BY on erp.gtin columns.';
COMMENT ON OPERATOR CLASS erp.gtin_hash_ops USING hash IS
    'Default hash operator class for GTINs: hash indexes, hash joins, hash aggregation and hash partitioning.';

-- Casts and helpers --------------------------------------------------------

CREATE FUNCTION erp.gtin_from_text(text) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_from_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_from_bigint(bigint) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_from_bigint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_to_bigint(erp.gtin) RETURNS bigint
    AS 'MODULE_PATHNAME', 'gtin_to_bigint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_is_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_is_valid'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION erp.gtin_from_text(text) IS
    'Converts text to a GTIN (the text::erp.gtin cast, also used when storing text into a gtin column); refuses what input refuses (IE006).';
COMMENT ON FUNCTION erp.gtin_from_bigint(bigint) IS
    'Converts a number to a GTIN (the bigint::erp.gtin cast); refuses (IE006) a number outside 1 to 99999999999999 or with a wrong check digit.';
COMMENT ON FUNCTION erp.gtin_to_bigint(erp.gtin) IS
    'Gives a GTIN''s 14-digit number as a bigint (the erp.gtin::bigint cast).';
COMMENT ON FUNCTION erp.gtin_is_valid(text) IS
    'True when the text is a GTIN that erp.gtin would accept; false, never an error, otherwise.';

CREATE CAST (text AS erp.gtin)
    WITH FUNCTION erp.gtin_from_text(text) AS ASSIGNMENT;

CREATE CAST (bigint AS erp.gtin)
    WITH FUNCTION erp.gtin_from_bigint(bigint);

CREATE CAST (erp.gtin AS bigint)
    WITH FUNCTION erp.gtin_to_bigint(erp.gtin);

COMMENT ON CAST (text AS erp.gtin) IS
    'Reads text as a GTIN; implicit on assignment, so text can be stored into a gtin column.';
COMMENT ON CAST (bigint AS erp.gtin) IS
    'Reads a number as a GTIN (explicit); refuses a number that is not one (IE006).';
COMMENT ON CAST (erp.gtin AS bigint) IS
    'Gives a GTIN''s 14-digit number (explicit).';
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
    lot_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES erp.item,
    lot_code    text NOT NULL CHECK (lot_code <> ''),
    expires_on  date,
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
    UNIQUE (role_name, node_id)
);
COMMENT ON TABLE erp.node_access IS 'Partner roles (a 3PL''s, a store''s) and the nodes they may see and move stock at; a role listed here sees and moves only those nodes, roles not listed see everything';

-- The nodes the current role may see: NULL when it is no partner (it sees all).
-- Runs as the querying role (row level security policies call it); a role
-- name that no longer exists grants nothing.
CREATE FUNCTION erp.visible_nodes() RETURNS bigint[]
    LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN count(*) = 0 THEN NULL ELSE array_agg(a.node_id) END
      FROM pg_catalog.pg_roles r
      JOIN erp.node_access a ON a.role_name = r.rolname
     WHERE pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'MEMBER')
       AND NOT (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname = CURRENT_USER)
$$;
COMMENT ON FUNCTION erp.visible_nodes() IS 'Nodes the current role may see when it is a partner (a member of a role listed in erp.node_access), NULL when it sees every node';
-- 04_ledger: the state machine, the append-only ledger and the balances derived from it.

CREATE TABLE erp.state_transition (
    state_transition_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_state          erp.stock_state,
    to_state            erp.stock_state,
    event               text NOT NULL CHECK (event ~ '^[a-z_]+$'),
    cross_node          boolean NOT NULL DEFAULT false,
    engine              text,
    builtin             boolean NOT NULL DEFAULT false,
    UNIQUE NULLS NOT DISTINCT (from_state, to_state, event),
    CHECK (from_state IS NOT NULL OR to_state IS NOT NULL)
);
COMMENT ON TABLE erp.state_transition IS 'The stock state machine: a move is allowed only when (from_state, to_state, event) is listed here; NULL is outside the business';
COMMENT ON COLUMN erp.state_transition.from_state IS 'State the units leave; NULL when they enter from outside';
COMMENT ON COLUMN erp.state_transition.to_state IS 'State the units enter; NULL when they leave the business';
COMMENT ON COLUMN erp.state_transition.cross_node IS 'The move may end at another node (a transfer, a return received at another node than the one that shipped it)';
COMMENT ON COLUMN erp.state_transition.engine IS 'The function family that owns this transition (orders, returns, purchasing); erp.move() refuses it so the documents behind the stock stay consistent; NULL = any move';
COMMENT ON COLUMN erp.state_transition.builtin IS 'Shipped with the extension (not dumped: CREATE EXTENSION recreates it)';

INSERT INTO erp.state_transition (from_state, to_state, event, cross_node, builtin)
SELECT f::erp.stock_state, t::erp.stock_state, e, x, true
FROM (VALUES
    (NULL, 'incoming', 'po_confirmed', false),
    ('incoming', 'available', 'receive', false),
    ('incoming', 'quarantined', 'receive', false),
    ('incoming', 'damaged', 'receive', false),
    ('incoming', NULL, 'po_cancelled', false),
    ('available', 'reserved', 'allocate', false),
    ('reserved', 'available', 'release', false),
    ('reserved', 'picked', 'pick', false),
    ('picked', 'packed', 'pack', false),
    ('picked', 'available', 'putback', false),
    ('packed', NULL, 'ship', false),
    ('available', 'in_transit', 'transfer_out', true),
    ('in_transit', 'available', 'transfer_in', false),
    (NULL, 'available', 'receive', false),
    (NULL, 'quarantined', 'receive', false),
    (NULL, 'damaged', 'receive', false),
    (NULL, 'return_pending', 'rma_authorized', false),
    ('return_pending', 'inspection', 'return_received', false),
    ('return_pending', NULL, 'rma_expired', false),
    ('inspection', 'available', 'disposition', false),
    ('inspection', 'refurbish', 'disposition', false),
    ('inspection', 'quarantined', 'disposition', false),
    ('inspection', 'vendor_return', 'disposition', false),
    ('inspection', 'damaged', 'disposition', false),
    ('inspection', NULL, 'dispose', false),
    ('damaged', NULL, 'dispose', false),
    ('refurbish', NULL, 'dispose', false),
    ('quarantined', NULL, 'dispose', false),
    ('refurbish', 'available', 'refurbished', false),
    ('quarantined', 'available', 'release_hold', false),
    ('available', 'quarantined', 'hold', false),
    ('available', 'damaged', 'damage', false),
    ('vendor_return', NULL, 'returned_to_vendor', false),
    (NULL, 'available', 'adjust', false),
    ('available', NULL, 'adjust', false),
    ('reserved', NULL, 'adjust', false),
    ('picked', NULL, 'adjust', false),
    ('packed', NULL, 'adjust', false),
    ('inspection', NULL, 'adjust', false),
    ('quarantined', NULL, 'adjust', false),
    ('damaged', NULL, 'adjust', false),
    ('refurbish', NULL, 'adjust', false),
    ('vendor_return', NULL, 'adjust', false),
    ('in_transit', NULL, 'adjust', false)
) AS v(f, t, e, x);

CREATE TABLE erp.stock_move (
    move_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id             bigint NOT NULL,
    lot_id              bigint,
    qty                 bigint NOT NULL,
    from_node_id        bigint,
    from_state          erp.stock_state,
    to_node_id          bigint,
    to_state            erp.stock_state,
    event               text NOT NULL,
    ref                 text,
    actor               name NOT NULL DEFAULT CURRENT_USER,
    application_name    text,
    at                  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT stock_move_shape CHECK (qty > 0
        AND (from_node_id IS NULL) = (from_state IS NULL)
        AND (to_node_id IS NULL) = (to_state IS NULL)
        AND (from_state IS NOT NULL OR to_state IS NOT NULL))
);
CREATE INDEX stock_move_item_idx ON erp.stock_move (item_id, move_id);
COMMENT ON TABLE erp.stock_move IS 'The append-only stock ledger: every unit that enters, changes state, changes node or leaves; balances are derived from it';
COMMENT ON COLUMN erp.stock_move.from_state IS 'State the units left; NULL when they came from outside';
COMMENT ON COLUMN erp.stock_move.to_state IS 'State the units entered; NULL when they left the business';
COMMENT ON COLUMN erp.stock_move.event IS 'Business event of the move, one of erp.state_transition.event';
COMMENT ON COLUMN erp.stock_move.ref IS 'Business document the move belongs to (order:42, po:7, rma:3, ...)';
COMMENT ON COLUMN erp.stock_move.actor IS 'Role that called the function that moved the stock';
COMMENT ON COLUMN erp.stock_move.application_name IS 'application_name of the session that moved the stock';

-- A balance is the sum of its slots.  One slot is the norm; under contention
-- the ledger spreads a hot balance over a few slots (inventory_erp.balance_slots)
-- so concurrent orders of one SKU do not queue on a single row lock.
CREATE TABLE erp.stock_balance (
    stock_balance_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id             bigint NOT NULL,
    node_id             bigint NOT NULL,
    lot_id              bigint,
    state               erp.stock_state NOT NULL,
    slot                integer NOT NULL DEFAULT 0,
    qty                 bigint NOT NULL CHECK (qty >= 0)
);
CREATE UNIQUE INDEX stock_balance_key ON erp.stock_balance
    (item_id, node_id, (COALESCE(lot_id, 0)), state, slot);
COMMENT ON TABLE erp.stock_balance IS 'Quantity per item, node, lot and state, derived from erp.stock_move by the ledger trigger in the same transaction; sum qty over slot for the balance';
COMMENT ON COLUMN erp.stock_balance.slot IS 'Part of a balance that is split across rows to spread lock contention; the balance is the sum over slots';
COMMENT ON COLUMN erp.stock_balance.qty IS 'Units in this slot; never negative';

-- The ledger trigger: validates the transition and applies the move to the balances.
CREATE FUNCTION erp.ledger_apply_move() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_apply_move' LANGUAGE C;
COMMENT ON FUNCTION erp.ledger_apply_move() IS 'Trigger: checks a new ledger row against the state machine and applies it to erp.stock_balance';

CREATE FUNCTION erp.refuse_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_refuse_write' LANGUAGE C;
COMMENT ON FUNCTION erp.refuse_write() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE of the append-only ledger (IE005)';

CREATE FUNCTION erp.guard_balance_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_balance_guard_write' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_balance_write() IS 'Trigger: refuses any write of erp.stock_balance that does not come from the ledger (IE005)';

CREATE FUNCTION erp.reload_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_reload_rules' LANGUAGE C;
COMMENT ON FUNCTION erp.reload_rules() IS 'Trigger: tells every session, at commit, to reload the rules it caches from this table (state machine, disposition rules)';

CREATE TRIGGER stock_move_apply BEFORE INSERT ON erp.stock_move
    FOR EACH ROW EXECUTE FUNCTION erp.ledger_apply_move();
CREATE TRIGGER stock_move_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON erp.stock_move
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
CREATE TRIGGER stock_balance_derived BEFORE UPDATE OR DELETE OR TRUNCATE ON erp.stock_balance
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_balance_derived_insert BEFORE INSERT ON erp.stock_balance
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();

-- History keeps meaning what it meant: master rows the ledger refers to are retired, not deleted.
CREATE FUNCTION erp.refuse_delete_used() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_refuse_delete_used' LANGUAGE C;
COMMENT ON FUNCTION erp.refuse_delete_used() IS 'Trigger: refuses to delete an item, node or lot that the ledger refers to (IE010)';
CREATE TRIGGER item_keep_history BEFORE DELETE ON erp.item
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('item');
CREATE TRIGGER node_keep_history BEFORE DELETE ON erp.node
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('node');
CREATE TRIGGER lot_keep_history BEFORE DELETE ON erp.lot
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('lot');
CREATE FUNCTION erp.protect_builtin() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_protect_builtin' LANGUAGE C;
COMMENT ON FUNCTION erp.protect_builtin() IS 'Trigger: refuses to change or delete rows shipped with the extension (IE010); they are recreated by CREATE EXTENSION, not dumped';
CREATE TRIGGER state_transition_builtin BEFORE INSERT OR UPDATE OR DELETE ON erp.state_transition
    FOR EACH ROW EXECUTE FUNCTION erp.protect_builtin();
CREATE TRIGGER reason_code_builtin BEFORE INSERT OR UPDATE OR DELETE ON erp.reason_code
    FOR EACH ROW EXECUTE FUNCTION erp.protect_builtin();
CREATE TRIGGER state_transition_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.state_transition
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();

CREATE FUNCTION erp.receive(sku text, node text, qty bigint, lot text DEFAULT NULL,
                            expires_on date DEFAULT NULL,
                            state erp.stock_state DEFAULT 'available', ref text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_receive'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text) IS
    'Unplanned receipt or opening balance: qty units of sku enter node in state (available, quarantined or damaged); creates the lot if needed; returns the move id';

CREATE FUNCTION erp.move(sku text, node text, qty bigint, from_state erp.stock_state,
                         to_state erp.stock_state, event text, lot text DEFAULT NULL,
                         ref text DEFAULT NULL, to_node text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_move'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text) IS
    'Moves qty units of sku at node from one state to another under event (NULL state = outside); to_node for transfers; returns the move id';
-- 06_events: the outbox integrations follow.  Each row is also announced with
-- NOTIFY erp_event (payload: the event id) when its transaction commits.

CREATE TABLE erp.event (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    item_id     bigint,
    node_id     bigint,
    order_id    bigint,
    rma_id      bigint,
    payload     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX event_kind_idx ON erp.event (kind, event_id);
COMMENT ON TABLE erp.event IS 'Outbox of business events (stockout, backorder_created, pick_exception, ...); read it from the last event_id you processed, and LISTEN erp_event to be woken';
COMMENT ON COLUMN erp.event.kind IS 'low_stock, stockout, backorder_created, pick_exception, return_discrepancy, refund_approval_needed, adjustment_approval_needed, supplier_delay';
COMMENT ON COLUMN erp.event.payload IS 'Facts of the event (quantities, skus, codes) as JSON';

CREATE FUNCTION erp.event_notify() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_event_notify' LANGUAGE C;
COMMENT ON FUNCTION erp.event_notify() IS 'Trigger: NOTIFY erp_event with the new event id, delivered when the transaction commits';
CREATE TRIGGER event_notify AFTER INSERT ON erp.event
    FOR EACH ROW EXECUTE FUNCTION erp.event_notify();
-- 07_orders: sales orders, their lines, the stock reserved for them, shipments,
-- and the functions that capture, promise, allocate, pick, pack and ship.

UPDATE erp.state_transition SET engine = 'orders'
 WHERE event IN ('allocate', 'release', 'pick', 'pack', 'putback', 'ship')
    OR (event = 'adjust' AND from_state IN ('reserved', 'picked', 'packed'));

-- No foreign key leads from an order or its lines to erp.channel or erp.item: every
-- order of a channel, and every order of a flash-sale SKU, would take a KEY SHARE
-- lock on the same master row.  The functions resolve the keys, and a channel or
-- item that orders refer to cannot be deleted (erp.refuse_delete_used).  Orders
-- and their lines are written together by erp.capture_order and never deleted
-- (cancelled instead), so lines carry no foreign key to their order either: the
-- check would cost a statement per line on the busiest path.
CREATE TRIGGER channel_keep_history BEFORE DELETE ON erp.channel
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('channel');

CREATE TYPE erp.order_status AS ENUM (
    'open', 'allocated', 'partially_allocated', 'backordered', 'picking', 'packed', 'shipped', 'cancelled');
COMMENT ON TYPE erp.order_status IS 'Where an order stands, from capture (open) to shipped or cancelled';

CREATE TYPE erp.line_status AS ENUM (
    'open', 'allocated', 'partially_allocated', 'backordered', 'picking', 'packed', 'shipped', 'cancelled', 'short');
COMMENT ON TYPE erp.line_status IS 'Where an order line stands; short = could not be filled and the item does not allow backorders';

CREATE TABLE erp.sales_order (
    order_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id      bigint NOT NULL,
    external_ref    text NOT NULL CHECK (external_ref <> ''),
    status          erp.order_status NOT NULL DEFAULT 'open',
    priority        integer NOT NULL DEFAULT 0,
    ship_to         jsonb,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (channel_id, external_ref)
);
CREATE TRIGGER sales_order_keep_history BEFORE DELETE OR TRUNCATE ON erp.sales_order
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
CREATE INDEX sales_order_pending_idx ON erp.sales_order (priority DESC, created_at, order_id)
    WHERE status IN ('open', 'backordered', 'partially_allocated');
COMMENT ON TABLE erp.sales_order IS 'A customer order captured from a channel; (channel, external_ref) identifies it, so redelivered webhooks do not duplicate it';
COMMENT ON COLUMN erp.sales_order.external_ref IS 'The channel''s own order number';
COMMENT ON COLUMN erp.sales_order.priority IS 'Higher is allocated first by erp.allocate_pending';
COMMENT ON COLUMN erp.sales_order.ship_to IS 'Delivery address; {"lat": .., "lon": ..} makes allocation prefer the nearest node';

CREATE TABLE erp.order_line (
    order_line_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         bigint NOT NULL,
    qty             bigint NOT NULL,
    unit_price      numeric(14,2) NOT NULL,
    qty_allocated   bigint NOT NULL DEFAULT 0,
    qty_backordered bigint NOT NULL DEFAULT 0,
    qty_shipped     bigint NOT NULL DEFAULT 0,
    status          erp.line_status NOT NULL DEFAULT 'open',
    UNIQUE (order_id, line_no),
    -- one constraint, not six: each is re-read from the catalog at every statement
    CONSTRAINT order_line_quantities CHECK (qty > 0 AND unit_price >= 0 AND qty_backordered >= 0
        AND qty_shipped >= 0 AND qty_shipped <= qty_allocated AND qty_allocated <= qty)
);
CREATE INDEX order_line_item_idx ON erp.order_line (item_id);
CREATE TRIGGER order_line_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_line
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_line IS 'What an order asks for, and how much of it is allocated, backordered and shipped';
COMMENT ON COLUMN erp.order_line.qty_allocated IS 'Units committed to the line so far (reserved, picked, packed or shipped)';
COMMENT ON COLUMN erp.order_line.qty_backordered IS 'Units waiting for stock (items that allow backorders)';
COMMENT ON COLUMN erp.order_line.qty_shipped IS 'Units shipped to the customer';

CREATE TABLE erp.reservation (
    reservation_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint,
    qty             bigint NOT NULL,
    qty_picked      bigint NOT NULL DEFAULT 0,
    qty_packed      bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT reservation_quantities CHECK (0 <= qty_packed AND qty_packed <= qty_picked AND qty_picked <= qty)
);
CREATE UNIQUE INDEX reservation_key ON erp.reservation (order_id, line_no, item_id, node_id, (COALESCE(lot_id, 0)));
CREATE INDEX reservation_item_idx ON erp.reservation (item_id, node_id);
COMMENT ON TABLE erp.reservation IS 'Units held for an order line at a node (and lot): reserved = qty - qty_picked, picked = qty_picked - qty_packed, packed = qty_packed; a kit line holds its components';

CREATE TABLE erp.shipment (
    shipment_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES erp.sales_order,
    carrier         text,
    tracking        text,
    shipped_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX shipment_order_idx ON erp.shipment (order_id);
COMMENT ON TABLE erp.shipment IS 'A parcel (or set of parcels) that left for the customer';

CREATE TABLE erp.shipment_line (
    shipment_line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id     bigint NOT NULL REFERENCES erp.shipment,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint,
    qty             bigint NOT NULL CHECK (qty > 0)
);
CREATE INDEX shipment_line_order_idx ON erp.shipment_line (order_id, item_id);
CREATE INDEX shipment_line_item_idx ON erp.shipment_line (item_id, shipment_id);
COMMENT ON TABLE erp.shipment_line IS 'Which units of which order line left from which node (and lot) in a shipment; returns go back to that node';

CREATE FUNCTION erp.capture_order(channel text, external_ref text, lines jsonb,
                                  ship_to jsonb DEFAULT NULL, priority integer DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_capture'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}]; a redelivered (channel, external_ref) returns the same order id and changes nothing';

CREATE FUNCTION erp.allocate(order_id bigint)
    RETURNS TABLE (line_no integer, sku text, node text, lot text, qty bigint)
    AS 'MODULE_PATHNAME', 'ierp_allocate'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate(bigint) IS
    'Reserves stock for every open line of an order by the allocation rules (one node when possible, lowest rank, nearest, else fewest nodes; FEFO lots; never into safety stock or another channel''s ring-fence); returns what it reserved';

CREATE FUNCTION erp.allocate_pending(max_orders integer DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_allocate_pending'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate_pending(integer) IS
    'Allocates waiting orders (open, backordered, partially allocated) by priority then age; returns how many orders received stock';

CREATE FUNCTION erp.atp(sku text, node text DEFAULT NULL, channel text DEFAULT NULL,
                        at timestamptz DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_atp'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.atp(text, text, text, timestamptz) IS
    'Available-to-promise of a sku at a node (or all nodes) for a channel: available in lots with enough shelf life - safety stock - other channels'' ring-fences, never below 0; a kit''s is its scarcest component''s';

CREATE FUNCTION erp.cancel_order(order_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_cancel'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.cancel_order(bigint) IS
    'Cancels an order that has not been packed: reserved units are released and picked units put back to available';

CREATE FUNCTION erp.pick(order_id bigint, scan text, qty bigint DEFAULT 1)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick(bigint, text, bigint) IS
    'Confirms picking qty units of the scanned sku or GTIN for an order; a scan that is not on the order is refused (IE007) and recorded as a pick_exception event';

CREATE FUNCTION erp.short_pick(order_id bigint, sku text, missing bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_short_pick'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.short_pick(bigint, text, bigint) IS
    'The picker did not find missing reserved units: they are adjusted out as a variance and the line is re-allocated at another node';

CREATE FUNCTION erp.pack(order_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pack'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pack(bigint) IS 'Packs every picked unit of an order once nothing reserved is left to pick';

CREATE FUNCTION erp.ship(order_id bigint, carrier text DEFAULT NULL, tracking text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_ship'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.ship(bigint, text, text) IS 'Ships a packed order: the packed units leave the business; returns the shipment id (IE010 when the order is not packed)';
-- 08_returns: return merchandise authorisations, their lines, the rules that route
-- returned units, and the refunds that go with them.

UPDATE erp.state_transition SET engine = 'returns'
 WHERE event IN ('rma_authorized', 'return_received', 'rma_expired', 'disposition',
                 'refurbished', 'returned_to_vendor')
    OR (event IN ('dispose', 'adjust') AND from_state = 'inspection');
-- a customer may send a return to another node than the one that shipped it
UPDATE erp.state_transition SET cross_node = true
 WHERE from_state = 'return_pending' AND to_state = 'inspection';

CREATE TYPE erp.item_condition AS ENUM (
    'new', 'opened', 'used', 'damaged', 'defective', 'missing_parts', 'wrong_item');
COMMENT ON TYPE erp.item_condition IS 'What the inspector found when a returned unit was opened';

CREATE TYPE erp.disposition AS ENUM ('restock', 'refurbish', 'quarantine', 'vendor_return', 'dispose');
COMMENT ON TYPE erp.disposition IS 'Where inspected returns go: back to available, to refurbishment, on hold, back to the vendor, or out';

CREATE TYPE erp.refund_policy AS ENUM ('on_receipt', 'on_inspection', 'manual');
COMMENT ON TYPE erp.refund_policy IS 'When a return is refunded: as soon as it arrives, once inspected, or when a person decides';

CREATE TYPE erp.rma_status AS ENUM (
    'authorized', 'partially_received', 'received', 'inspected', 'closed', 'expired');
COMMENT ON TYPE erp.rma_status IS 'Where a return authorisation stands, from authorised to closed (or expired when nothing came back)';

CREATE TYPE erp.refund_status AS ENUM ('pending', 'awaiting_approval', 'approved');
COMMENT ON TYPE erp.refund_status IS 'pending: not due yet; awaiting_approval: due, a member of erp_approver must approve; approved: refunded';

CREATE TABLE erp.disposition_rule (
    disposition_rule_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    priority            integer NOT NULL,
    reason              text,
    condition           erp.item_condition,
    category            text,
    min_unit_value      numeric(14,2),
    max_unit_value      numeric(14,2),
    disposition         erp.disposition NOT NULL,
    refund_policy       erp.refund_policy NOT NULL DEFAULT 'on_inspection',
    restocking_fee_pct  numeric(5,2) NOT NULL DEFAULT 0 CHECK (restocking_fee_pct BETWEEN 0 AND 100),
    builtin             boolean NOT NULL DEFAULT false,
    CHECK (min_unit_value IS NULL OR max_unit_value IS NULL OR min_unit_value <= max_unit_value)
);
CREATE INDEX disposition_rule_priority_idx ON erp.disposition_rule (priority, disposition_rule_id);
COMMENT ON TABLE erp.disposition_rule IS 'Routing of inspected returns: the first rule (lowest priority) whose reason, condition, category and unit value band match decides the disposition, the refund policy and the restocking fee; NULL matches anything';
COMMENT ON COLUMN erp.disposition_rule.priority IS 'Lower is tried first; shipped rules use 100-900, leaving room before, between and after them';
COMMENT ON COLUMN erp.disposition_rule.reason IS 'Return reason code (erp.reason_code.code) the rule applies to; NULL: any';
COMMENT ON COLUMN erp.disposition_rule.condition IS 'Condition found at inspection; NULL: any (such rules also decide refunds on receipt)';
COMMENT ON COLUMN erp.disposition_rule.category IS 'Item category (erp.item.category); NULL: any';
COMMENT ON COLUMN erp.disposition_rule.min_unit_value IS 'Lowest unit price the rule applies to; NULL: no lower bound';
COMMENT ON COLUMN erp.disposition_rule.max_unit_value IS 'Highest unit price the rule applies to; NULL: no upper bound';
COMMENT ON COLUMN erp.disposition_rule.restocking_fee_pct IS 'Percentage of the price kept back from the refund';
CREATE TRIGGER disposition_rule_builtin BEFORE INSERT OR UPDATE OR DELETE ON erp.disposition_rule
    FOR EACH ROW EXECUTE FUNCTION erp.protect_builtin();
CREATE TRIGGER disposition_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.disposition_rule
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();

INSERT INTO erp.disposition_rule (priority, reason, condition, category, disposition, refund_policy,
                                  restocking_fee_pct, builtin) VALUES
    (100, 'damaged_in_transit', NULL, NULL, 'dispose', 'on_receipt', 0, true),
    (200, NULL, 'new', NULL, 'restock', 'on_inspection', 0, true),
    (300, NULL, 'opened', 'apparel', 'restock', 'on_inspection', 10, true),
    (400, NULL, 'defective', NULL, 'vendor_return', 'on_inspection', 0, true),
    (500, NULL, 'damaged', NULL, 'dispose', 'manual', 0, true),
    (600, NULL, 'used', NULL, 'refurbish', 'on_inspection', 15, true),
    (900, NULL, NULL, NULL, 'quarantine', 'manual', 0, true);

CREATE TABLE erp.rma (
    rma_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES erp.sales_order,
    status          erp.rma_status NOT NULL DEFAULT 'authorized',
    authorized_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE INDEX rma_order_idx ON erp.rma (order_id);
CREATE INDEX rma_open_idx ON erp.rma (expires_at) WHERE status = 'authorized';
COMMENT ON TABLE erp.rma IS 'A return merchandise authorisation: the customer may send back these units of this order until expires_at';
COMMENT ON COLUMN erp.rma.expires_at IS 'Units not received by then are no longer expected (erp.expire_returns)';

CREATE TABLE erp.rma_line (
    rma_line_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rma_id              bigint NOT NULL REFERENCES erp.rma,
    item_id             bigint NOT NULL REFERENCES erp.item,
    node_id             bigint NOT NULL REFERENCES erp.node,
    lot_id              bigint REFERENCES erp.lot,
    qty                 bigint NOT NULL CHECK (qty > 0),
    qty_received        bigint NOT NULL DEFAULT 0,
    qty_inspected       bigint NOT NULL DEFAULT 0,
    qty_expired         bigint NOT NULL DEFAULT 0,
    received_node_id    bigint REFERENCES erp.node,
    reason              text NOT NULL,
    condition           erp.item_condition,
    disposition         erp.disposition,
    unit_price          numeric(14,2) NOT NULL,
    restocking_fee_pct  numeric(5,2),
    refund_policy       erp.refund_policy,
    refund_amount       numeric(14,2),
    refund_status       erp.refund_status NOT NULL DEFAULT 'pending',
    received_at         timestamptz,
    inspected_at        timestamptz,
    available_at        timestamptz,
    refunded_at         timestamptz,
    vendor_returned_at  timestamptz,
    approved_by         name,
    CHECK (0 <= qty_inspected AND qty_inspected <= qty_received AND 0 <= qty_expired
           AND qty_received + qty_expired <= qty)
);
CREATE INDEX rma_line_rma_idx ON erp.rma_line (rma_id);
CREATE INDEX rma_line_item_idx ON erp.rma_line (item_id);
COMMENT ON TABLE erp.rma_line IS 'Units of one sku (and node, lot) authorised for return, and what became of them: receipt, inspection, disposition, refund';
COMMENT ON COLUMN erp.rma_line.node_id IS 'Node that shipped the units; the return is expected there';
COMMENT ON COLUMN erp.rma_line.unit_price IS 'Price the customer paid for one unit (from the order line)';
COMMENT ON COLUMN erp.rma_line.refund_amount IS 'unit_price x qty x (1 - restocking_fee_pct / 100), set when the refund becomes due';
COMMENT ON COLUMN erp.rma_line.qty_expired IS 'Units that never came back before the RMA expired';
COMMENT ON COLUMN erp.rma_line.received_node_id IS 'Node where the units arrived (may differ from node_id)';
COMMENT ON COLUMN erp.rma_line.received_at IS 'When the first units of the line arrived';
COMMENT ON COLUMN erp.rma_line.available_at IS 'When the units were sellable again (restocked, or refurbished); NULL if they never are';
COMMENT ON COLUMN erp.rma_line.refunded_at IS 'When the refund was approved, automatically or by an approver';
COMMENT ON COLUMN erp.rma_line.approved_by IS 'Approver who released a refund that waited for approval';

CREATE FUNCTION erp.authorize_return(order_id bigint, lines jsonb, return_window_days integer DEFAULT 30)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_returns_authorize'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.authorize_return(bigint, jsonb, integer) IS
    'Authorises the return of shipped units of an order (lines = [{"sku": "A-1", "qty": 1, "reason": "too_small"}]); never more than shipped and not yet returned, only within return_window_days of shipment (IE008); the units become return_pending at the node that shipped them';

CREATE FUNCTION erp.receive_return(rma_id bigint, node text DEFAULT NULL, lines jsonb DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_receive'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_return(bigint, text, jsonb) IS
    'Records returned units arriving (all that is expected, or lines = [{"sku": .., "qty": ..}]) at node (default: the node that shipped them); they go to inspection; a sku not on the RMA is refused (IE007) and recorded as a return_discrepancy event';

CREATE FUNCTION erp.inspect_return(rma_line_id bigint, condition erp.item_condition)
    RETURNS erp.disposition
    AS 'MODULE_PATHNAME', 'ierp_returns_inspect'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.inspect_return(bigint, erp.item_condition) IS
    'Records the condition of received units, routes them by the first matching erp.disposition_rule and moves them; returns the disposition; refunds due on inspection are computed (and wait for approval when high-value or above the refund threshold)';

CREATE FUNCTION erp.approve_refund(rma_line_id bigint)
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'ierp_returns_approve_refund'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_refund(bigint) IS
    'Releases a refund that waits for approval; only members of erp_approver (IE009); returns the amount';

CREATE FUNCTION erp.complete_refurbish(rma_line_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_complete_refurbish'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.complete_refurbish(bigint) IS 'Refurbished units of a return line are sellable again (refurbish -> available)';

CREATE FUNCTION erp.return_to_vendor(rma_line_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_to_vendor'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.return_to_vendor(bigint) IS 'Units of a return line routed to the vendor leave for the vendor (vendor_return -> outside)';

CREATE FUNCTION erp.expire_returns()
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_returns_expire'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.expire_returns() IS
    'Expires authorisations whose window passed with nothing received: return_pending units leave the books (rma_expired); returns how many RMAs expired';
-- 09_supply: purchase orders, transfers between nodes, and the replenishment view.

UPDATE erp.state_transition SET engine = 'purchasing'
 WHERE event IN ('po_confirmed', 'po_cancelled') OR (event = 'receive' AND from_state = 'incoming');
-- a lot-tracked item's incoming units have no lot yet: its receipt closes the
-- expectation (incoming -> outside) and receives the lot (outside -> available)
INSERT INTO erp.state_transition (from_state, to_state, event, engine, builtin)
VALUES ('incoming', NULL, 'po_received', 'purchasing', true);

CREATE TYPE erp.po_status AS ENUM ('open', 'partially_received', 'received', 'cancelled');
COMMENT ON TYPE erp.po_status IS 'Where a purchase order stands';

CREATE TABLE erp.purchase_order (
    purchase_order_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    supplier_id         bigint NOT NULL REFERENCES erp.supplier,
    node_id             bigint NOT NULL REFERENCES erp.node,
    status              erp.po_status NOT NULL DEFAULT 'open',
    expected_at         timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    received_at         timestamptz
);
CREATE INDEX purchase_order_open_idx ON erp.purchase_order (node_id, expected_at)
    WHERE status IN ('open', 'partially_received');
COMMENT ON TABLE erp.purchase_order IS 'Stock a supplier confirmed it will deliver to a node by expected_at; its units are incoming until received';
COMMENT ON COLUMN erp.purchase_order.expected_at IS 'When the supplier will deliver; erp.delay_po moves it';

CREATE TABLE erp.purchase_order_line (
    purchase_order_line_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_order_id       bigint NOT NULL REFERENCES erp.purchase_order,
    line_no                 integer NOT NULL,
    item_id                 bigint NOT NULL REFERENCES erp.item,
    qty                     bigint NOT NULL CHECK (qty > 0),
    qty_received            bigint NOT NULL DEFAULT 0,
    unit_cost               numeric(14,2) NOT NULL CHECK (unit_cost >= 0),
    UNIQUE (purchase_order_id, line_no),
    CHECK (0 <= qty_received AND qty_received <= qty)
);
CREATE INDEX purchase_order_line_item_idx ON erp.purchase_order_line (item_id);
COMMENT ON TABLE erp.purchase_order_line IS 'What a purchase order brings, and how much of it arrived';

CREATE TYPE erp.transfer_status AS ENUM ('in_transit', 'received');
COMMENT ON TYPE erp.transfer_status IS 'Where a transfer between nodes stands';

CREATE TABLE erp.transfer (
    transfer_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    lot_id          bigint REFERENCES erp.lot,
    from_node_id    bigint NOT NULL REFERENCES erp.node,
    to_node_id      bigint NOT NULL REFERENCES erp.node,
    qty             bigint NOT NULL CHECK (qty > 0),
    status          erp.transfer_status NOT NULL DEFAULT 'in_transit',
    shipped_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    received_at     timestamptz,
    CHECK (from_node_id <> to_node_id)
);
COMMENT ON TABLE erp.transfer IS 'Units sent from one node to another; in transit (inbound at the destination) until received';

CREATE FUNCTION erp.create_po(supplier text, node text, lines jsonb, expected_at timestamptz)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_create_po'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_po(text, text, jsonb, timestamptz) IS
    'Records a supplier-confirmed purchase order (lines = [{"sku": .., "qty": .., "unit_cost": ..}]); its units become incoming at node; returns the purchase order id';

CREATE FUNCTION erp.receive_po(po_id bigint, lines jsonb DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_po'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}]; lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered is refused (IE004)';

CREATE FUNCTION erp.delay_po(po_id bigint, new_expected_at timestamptz)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_delay_po'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.delay_po(bigint, timestamptz) IS
    'Moves a purchase order''s expected date and emits a supplier_delay event naming the backordered orders of its items now at risk';

CREATE FUNCTION erp.transfer(sku text, from_node text, to_node text, qty bigint, lot text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_transfer'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.transfer(text, text, text, bigint, text) IS
    'Sends available units from one node to another: in transit, inbound at the destination; returns the transfer id';

CREATE FUNCTION erp.receive_transfer(transfer_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_transfer'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_transfer(bigint) IS 'The units of a transfer arrived: available at the destination';

CREATE VIEW erp.replenishment WITH (security_invoker = true) AS
WITH stock AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state IN ('available', 'reserved', 'picked', 'packed', 'inspection',
                                                'quarantined', 'damaged', 'refurbish', 'vendor_return')) AS on_hand,
           sum(b.qty) FILTER (WHERE b.state = 'available') AS available,
           sum(b.qty) FILTER (WHERE b.state IN ('incoming', 'in_transit', 'return_pending')) AS inbound
      FROM erp.stock_balance b GROUP BY b.item_id, b.node_id
), demand AS (
    SELECT sl.item_id, sl.node_id, sum(sl.qty) AS shipped
      FROM erp.shipment_line sl JOIN erp.shipment s ON s.shipment_id = sl.shipment_id
     WHERE s.shipped_at >= pg_catalog.now() - interval '28 days'
     GROUP BY sl.item_id, sl.node_id
), waiting AS (
    -- a backorder waits at the best-ranked node of its order's channel
    SELECT ol.item_id, first_node.node_id, sum(ol.qty_backordered) AS qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
      CROSS JOIN LATERAL (SELECT cn.node_id FROM erp.channel_node cn
                           WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1) first_node
     WHERE ol.qty_backordered > 0   -- a line keeps its backorder while its allocated part is picked
     GROUP BY ol.item_id, first_node.node_id
), position AS (
    SELECT p.item_id, p.node_id, p.reorder_point, p.order_up_to,
           COALESCE(p.lead_time_days, s.lead_time_days, 7) AS lead_time_days,
           COALESCE(st.on_hand, 0) AS on_hand, COALESCE(st.available, 0) AS available,
           COALESCE(st.inbound, 0) AS inbound, COALESCE(w.qty, 0) AS backordered,
           COALESCE(d.shipped, 0) / 28.0 AS daily_demand
      FROM erp.stock_policy p
      LEFT JOIN erp.supplier s ON s.supplier_id = p.supplier_id
      LEFT JOIN stock st ON st.item_id = p.item_id AND st.node_id = p.node_id
      LEFT JOIN demand d ON d.item_id = p.item_id AND d.node_id = p.node_id
      LEFT JOIN waiting w ON w.item_id = p.item_id AND w.node_id = p.node_id
)
SELECT i.sku, n.code AS node,
       x.on_hand::bigint, x.available::bigint, x.inbound::bigint, x.backordered::bigint,
       round(x.daily_demand, 2) AS avg_daily_demand, x.reorder_point, x.order_up_to,
       CASE WHEN x.available + x.inbound - x.backordered < x.reorder_point
            THEN greatest(x.order_up_to - (x.available + x.inbound - x.backordered), 0) ELSE 0 END::bigint AS suggested_qty,
       CASE WHEN x.daily_demand > 0 THEN round(x.available / x.daily_demand, 1) END AS days_of_cover,
       CASE WHEN x.available = 0 AND (x.backordered > 0 OR x.daily_demand > 0) THEN 'stockout'
            WHEN x.daily_demand > 0 AND (x.available + x.inbound) / x.daily_demand < x.lead_time_days THEN 'high'
            WHEN x.available + x.inbound - x.backordered < x.reorder_point THEN 'medium'
            ELSE 'low' END AS stockout_risk,
       x.lead_time_days, x.item_id, x.node_id
  FROM position x
  JOIN erp.item i ON i.item_id = x.item_id
  JOIN erp.node n ON n.node_id = x.node_id
 -- stock policies carry no row security of their own: partners see their nodes only
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR x.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.replenishment IS
    'Per item and node with a stock policy: position = available + inbound - backordered; suggested_qty = order_up_to - position when position < reorder_point, else 0; avg_daily_demand = units shipped from the node in the last 28 days / 28; days_of_cover = available / avg_daily_demand; stockout_risk: stockout (nothing available and demand waiting), high (available + inbound lasts less than the lead time), medium (below the reorder point), low';
COMMENT ON COLUMN erp.replenishment.backordered IS 'Units backordered by orders whose channel''s best-ranked node is this node';
COMMENT ON COLUMN erp.replenishment.suggested_qty IS 'Units to order to bring the position back to order_up_to';

CREATE FUNCTION erp.create_replenishment_pos()
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_supply_create_replenishment_pos'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_replenishment_pos() IS
    'Turns every suggestion of erp.replenishment into purchase orders, one per supplier and node, expected after the lead time; returns how many were created';
-- 05_availability: the stock picture per sku and node, for people and BI tools.

CREATE VIEW erp.availability WITH (security_invoker = true) AS
WITH per_state AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state = 'available')      AS available,
           sum(b.qty) FILTER (WHERE b.state = 'available'
                              AND (i.min_shelf_life_days = 0 OR b.lot_id IS NULL
                                   OR l.expires_on IS NULL
                                   OR l.expires_on >= CURRENT_DATE + i.min_shelf_life_days)) AS promisable,
           sum(b.qty) FILTER (WHERE b.state = 'reserved')       AS reserved,
           sum(b.qty) FILTER (WHERE b.state = 'picked')         AS picked,
           sum(b.qty) FILTER (WHERE b.state = 'packed')         AS packed,
           sum(b.qty) FILTER (WHERE b.state = 'inspection')     AS inspection,
           sum(b.qty) FILTER (WHERE b.state = 'quarantined')    AS quarantined,
           sum(b.qty) FILTER (WHERE b.state = 'damaged')        AS damaged,
           sum(b.qty) FILTER (WHERE b.state = 'refurbish')      AS refurbish,
           sum(b.qty) FILTER (WHERE b.state = 'vendor_return')  AS vendor_return,
           sum(b.qty) FILTER (WHERE b.state = 'incoming')       AS incoming,
           sum(b.qty) FILTER (WHERE b.state = 'in_transit')     AS in_transit,
           sum(b.qty) FILTER (WHERE b.state = 'return_pending') AS return_pending
      FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id
      LEFT JOIN erp.lot l ON l.lot_id = b.lot_id
     GROUP BY b.item_id, b.node_id
), fenced AS (
    -- each channel's ring-fence, less what that channel's orders hold now (as erp.atp)
    SELECT r.item_id,
           sum(greatest(r.qty - coalesce((SELECT sum(v.qty) FROM erp.reservation v
                                            JOIN erp.sales_order o ON o.order_id = v.order_id
                                           WHERE v.item_id = r.item_id AND o.channel_id = r.channel_id), 0), 0)) AS qty
      FROM erp.channel_reserve r GROUP BY r.item_id
)
SELECT i.sku, n.code AS node,
       coalesce(s.available, 0)::bigint      AS available,
       coalesce(s.reserved, 0)::bigint       AS reserved,
       coalesce(s.picked, 0)::bigint         AS picked,
       coalesce(s.packed, 0)::bigint         AS packed,
       coalesce(s.inspection, 0)::bigint     AS inspection,
       coalesce(s.quarantined, 0)::bigint    AS quarantined,
       coalesce(s.damaged, 0)::bigint        AS damaged,
       coalesce(s.refurbish, 0)::bigint      AS refurbish,
       coalesce(s.vendor_return, 0)::bigint  AS vendor_return,
       coalesce(s.incoming, 0)::bigint       AS incoming,
       coalesce(s.in_transit, 0)::bigint     AS in_transit,
       coalesce(s.return_pending, 0)::bigint AS return_pending,
       (coalesce(s.available, 0) + coalesce(s.reserved, 0) + coalesce(s.picked, 0)
        + coalesce(s.packed, 0) + coalesce(s.inspection, 0) + coalesce(s.quarantined, 0)
        + coalesce(s.damaged, 0) + coalesce(s.refurbish, 0) + coalesce(s.vendor_return, 0))::bigint AS on_hand,
       (coalesce(s.incoming, 0) + coalesce(s.in_transit, 0) + coalesce(s.return_pending, 0))::bigint AS inbound,
       coalesce(p.safety_stock, 0)::bigint AS safety_stock,
       greatest(coalesce(s.promisable, 0) - coalesce(p.safety_stock, 0) - coalesce(f.qty, 0), 0)::bigint AS atp,
       i.item_id, n.node_id
  FROM per_state s
  JOIN erp.item i ON i.item_id = s.item_id
  JOIN erp.node n ON n.node_id = s.node_id
  LEFT JOIN erp.stock_policy p ON p.item_id = s.item_id AND p.node_id = s.node_id
  LEFT JOIN fenced f ON f.item_id = s.item_id;
COMMENT ON VIEW erp.availability IS
    'One row per sku and node that has ever held stock: units in each state, on_hand = available + reserved + picked + packed + inspection + quarantined + damaged + refurbish + vendor_return, inbound = incoming + in_transit + return_pending, and atp = promisable available - safety stock - every channel''s ring-fence (never below 0)';
COMMENT ON COLUMN erp.availability.atp IS 'Available-to-promise with no channel given: available in lots with enough shelf life, less safety stock and all ring-fenced units';
COMMENT ON COLUMN erp.availability.on_hand IS 'Units physically at the node, whatever their state';
COMMENT ON COLUMN erp.availability.inbound IS 'Units on their way to the node: incoming from suppliers, in transit from other nodes, returns authorised';
-- 11_governance: cycle counts, adjustments and their approval, and partner access.

CREATE TYPE erp.adjustment_status AS ENUM ('pending_approval', 'applied', 'rejected');
COMMENT ON TYPE erp.adjustment_status IS 'An adjustment waits for an approver when its value is above the adjustment threshold';

CREATE TABLE erp.adjustment (
    adjustment_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    lot_id          bigint REFERENCES erp.lot,
    qty_delta       bigint NOT NULL CHECK (qty_delta <> 0),
    value           numeric(14,2) NOT NULL,
    reason          text NOT NULL,
    status          erp.adjustment_status NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by      name NOT NULL,
    decided_at      timestamptz,
    decided_by      name,
    move_id         bigint
);
CREATE INDEX adjustment_pending_idx ON erp.adjustment (created_at) WHERE status = 'pending_approval';
COMMENT ON TABLE erp.adjustment IS 'A correction of available stock (from a count or by hand): applied at once when its value is within erp.approval_policy, else pending_approval until an approver applies it';
COMMENT ON COLUMN erp.adjustment.qty_delta IS 'Units added (> 0) or written off (< 0)';
COMMENT ON COLUMN erp.adjustment.value IS '|qty_delta| x the item''s unit_cost';
COMMENT ON COLUMN erp.adjustment.move_id IS 'The ledger move that applied it';

CREATE TABLE erp.cycle_count (
    cycle_count_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    lot_id          bigint REFERENCES erp.lot,
    system_qty      bigint NOT NULL,
    counted_qty     bigint NOT NULL CHECK (counted_qty >= 0),
    variance        bigint GENERATED ALWAYS AS (counted_qty - system_qty) STORED,
    unit_cost       numeric(14,2) NOT NULL,
    counted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    counted_by      name NOT NULL,
    adjustment_id   bigint REFERENCES erp.adjustment
);
CREATE INDEX cycle_count_item_idx ON erp.cycle_count (item_id, node_id, counted_at);
COMMENT ON TABLE erp.cycle_count IS 'A count of the available units of an item at a node (and lot): what the books said, what was found, and the adjustment it caused';
COMMENT ON COLUMN erp.cycle_count.variance IS 'counted_qty - system_qty: units found (> 0) or missing (< 0)';

CREATE FUNCTION erp.count(sku text, node text, counted bigint, lot text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_count'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.count(text, text, bigint, text) IS
    'Records a cycle count of available units (counted may be 0); a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment; returns the cycle count id';

CREATE FUNCTION erp.approve_adjustment(adjustment_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_counts_approve_adjustment'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_adjustment(bigint) IS
    'Applies an adjustment that waits for approval; only members of erp_approver (IE009)';

-- Partner access: erp.node_access and erp.visible_nodes() are in 03_master.sql
-- (views before this file use them); every session reloads the cache of it.
CREATE TRIGGER node_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.node_access
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
-- 12_intelligence: what operations leads, analysts and channel feeds read.
-- Every view runs as the querying role (partners see their nodes only) and has
-- plain column types; doc/kpis.md gives each formula with a worked example.

CREATE VIEW erp.channel_availability WITH (security_invoker = true) AS
SELECT c.code AS channel, i.sku, erp.atp(i.sku, NULL, c.code) AS atp, c.channel_id, i.item_id
  FROM erp.channel c
 CROSS JOIN erp.item i
 WHERE i.active;
COMMENT ON VIEW erp.channel_availability IS
    'What to publish to each channel''s feed: erp.atp(sku, NULL, channel) for every active item, the sum over the channel''s nodes of available in lots with enough shelf life - safety stock - other channels'' ring-fences (a kit: whole kits at one node)';

CREATE VIEW erp.kpi_inventory_accuracy WITH (security_invoker = true) AS
SELECT n.code AS node,
       count(*)::bigint AS counts,
       count(*) FILTER (WHERE cc.variance = 0)::bigint AS exact_counts,
       round(100.0 * count(*) FILTER (WHERE cc.variance = 0) / count(*), 2) AS count_accuracy_pct,
       sum(cc.system_qty)::bigint AS system_units,
       sum(abs(cc.variance))::bigint AS variance_units,
       round(100.0 * (1 - sum(abs(cc.variance))::numeric / NULLIF(sum(greatest(cc.system_qty, cc.counted_qty)), 0)), 2)
           AS unit_accuracy_pct,
       sum(abs(cc.variance) * cc.unit_cost)::numeric(14,2) AS variance_value
  FROM erp.cycle_count cc JOIN erp.node n ON n.node_id = cc.node_id
 GROUP BY n.code;
COMMENT ON VIEW erp.kpi_inventory_accuracy IS
    'Per node, from cycle counts: count_accuracy_pct = counts with no variance / counts x 100; unit_accuracy_pct = (1 - sum |variance| / sum max(system, counted)) x 100; variance_value = sum |variance| x unit_cost';

CREATE VIEW erp.kpi_fill_rate WITH (security_invoker = true) AS
SELECT c.code AS channel,
       count(DISTINCT o.order_id)::bigint AS orders,
       count(*)::bigint AS lines,
       sum(ol.qty)::bigint AS units_ordered,
       sum(ol.qty_allocated)::bigint AS units_allocated,
       sum(ol.qty_shipped)::bigint AS units_shipped,
       sum(ol.qty_backordered)::bigint AS units_backordered,
       count(*) FILTER (WHERE ol.status = 'short')::bigint AS short_lines,
       round(100.0 * sum(ol.qty_allocated) / NULLIF(sum(ol.qty), 0), 2) AS unit_fill_rate_pct,
       round(100.0 * count(*) FILTER (WHERE ol.qty_allocated = ol.qty) / count(*), 2) AS line_fill_rate_pct
  FROM erp.sales_order o
  JOIN erp.order_line ol ON ol.order_id = o.order_id
  JOIN erp.channel c ON c.channel_id = o.channel_id
 WHERE o.status <> 'cancelled'
 GROUP BY c.code;
COMMENT ON VIEW erp.kpi_fill_rate IS
    'Per channel, orders not cancelled: unit_fill_rate_pct = units allocated (from stock, shipped or not) / units ordered x 100; line_fill_rate_pct = lines allocated in full / lines x 100';

CREATE VIEW erp.kpi_order_aging WITH (security_invoker = true) AS
SELECT o.status::text AS status,
       count(*)::bigint AS orders,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at < interval '24 hours')::bigint AS under_24h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '24 hours'
                          AND pg_catalog.now() - o.created_at < interval '48 hours')::bigint AS from_24h_to_48h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '48 hours'
                          AND pg_catalog.now() - o.created_at < interval '72 hours')::bigint AS from_48h_to_72h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '72 hours')::bigint AS over_72h,
       round((extract(epoch FROM avg(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS avg_age_hours,
       round((extract(epoch FROM max(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS oldest_age_hours
  FROM erp.sales_order o
 WHERE o.status NOT IN ('shipped', 'cancelled')
 GROUP BY o.status;
COMMENT ON VIEW erp.kpi_order_aging IS
    'Orders not yet shipped or cancelled, per status: how many, by age since capture (< 24 h, 24-48 h, 48-72 h, > 72 h), average and oldest age in hours';

CREATE VIEW erp.kpi_backorder_exposure WITH (security_invoker = true) AS
SELECT i.sku,
       count(DISTINCT ol.order_id)::bigint AS orders,
       sum(ol.qty_backordered)::bigint AS units_backordered,
       sum(ol.qty_backordered * ol.unit_price)::numeric(14,2) AS revenue_at_risk,
       round((extract(epoch FROM max(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS oldest_age_hours,
       COALESCE((SELECT sum(b.qty) FROM erp.stock_balance b
                  WHERE b.item_id = i.item_id AND b.state IN ('incoming', 'in_transit')), 0)::bigint AS inbound,
       (SELECT min(po.expected_at) FROM erp.purchase_order po
          JOIN erp.purchase_order_line pl ON pl.purchase_order_id = po.purchase_order_id
         WHERE pl.item_id = i.item_id AND pl.qty > pl.qty_received
           AND po.status IN ('open', 'partially_received')) AS next_expected_at
  FROM erp.order_line ol
  JOIN erp.sales_order o ON o.order_id = ol.order_id
  JOIN erp.item i ON i.item_id = ol.item_id
 WHERE ol.qty_backordered > 0   -- also while the allocated part of the line is being picked
 GROUP BY i.sku, i.item_id;
COMMENT ON VIEW erp.kpi_backorder_exposure IS
    'Per item with backorders: orders and units waiting, revenue_at_risk = sum backordered x unit price, oldest wait in hours, units inbound (incoming + in transit) and the next purchase order due';

CREATE VIEW erp.kpi_return_cycle_time WITH (security_invoker = true) AS
SELECT COALESCE(i.category, '(none)') AS category,
       count(*)::bigint AS lines_available_again,
       round((extract(epoch FROM avg(l.available_at - l.received_at)) / 3600)::numeric, 2) AS avg_hours,
       round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY l.available_at - l.received_at)) / 3600)::numeric, 2) AS median_hours,
       round((extract(epoch FROM percentile_cont(0.9) WITHIN GROUP (ORDER BY l.available_at - l.received_at)) / 3600)::numeric, 2) AS p90_hours
  FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id
 WHERE l.received_at IS NOT NULL AND l.available_at IS NOT NULL
 GROUP BY 1;
COMMENT ON VIEW erp.kpi_return_cycle_time IS
    'Per item category: time from a return''s receipt to its units being sellable again (restocked, or refurbished), in hours: average, median, 90th percentile';

CREATE VIEW erp.kpi_refund_latency WITH (security_invoker = true) AS
SELECT count(*) FILTER (WHERE l.refunded_at IS NOT NULL)::bigint AS refunds,
       count(*) FILTER (WHERE l.refund_status = 'awaiting_approval')::bigint AS awaiting_approval,
       count(*) FILTER (WHERE l.received_at IS NOT NULL AND l.refund_status = 'pending')::bigint AS received_not_refunded,
       sum(l.refund_amount) FILTER (WHERE l.refunded_at IS NOT NULL)::numeric(14,2) AS refunded_amount,
       round((extract(epoch FROM avg(l.refunded_at - l.received_at)) / 3600)::numeric, 2) AS avg_hours,
       round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY l.refunded_at - l.received_at)) / 3600)::numeric, 2) AS median_hours,
       round((extract(epoch FROM percentile_cont(0.9) WITHIN GROUP (ORDER BY l.refunded_at - l.received_at)) / 3600)::numeric, 2) AS p90_hours
  FROM erp.rma_line l
 WHERE l.received_at IS NOT NULL;
COMMENT ON VIEW erp.kpi_refund_latency IS
    'Returns received: how many were refunded and how long from receipt to refund in hours (average, median, 90th percentile); refunds waiting for an approver; received but not refunded yet';

CREATE VIEW erp.kpi_split_shipments WITH (security_invoker = true) AS
WITH per_order AS (
    SELECT sl.order_id, count(DISTINCT sl.node_id) AS nodes
      FROM erp.shipment_line sl GROUP BY sl.order_id
)
SELECT c.code AS channel,
       count(*)::bigint AS orders_shipped,
       count(*) FILTER (WHERE p.nodes > 1)::bigint AS split_orders,
       round(100.0 * count(*) FILTER (WHERE p.nodes > 1) / count(*), 2) AS split_rate_pct,
       round(avg(p.nodes), 2) AS avg_nodes_per_order
  FROM per_order p
  JOIN erp.sales_order o ON o.order_id = p.order_id
  JOIN erp.channel c ON c.channel_id = o.channel_id
 GROUP BY c.code;
COMMENT ON VIEW erp.kpi_split_shipments IS
    'Per channel, orders that shipped: split_rate_pct = orders shipped from more than one node / orders shipped x 100';

CREATE VIEW erp.kpi_adjustment_rate WITH (security_invoker = true) AS
SELECT n.code AS node,
       sum(m.qty)::bigint AS units_moved,
       COALESCE(sum(m.qty) FILTER (WHERE m.event = 'adjust'), 0)::bigint AS units_adjusted,
       round(100.0 * COALESCE(sum(m.qty) FILTER (WHERE m.event = 'adjust'), 0) / NULLIF(sum(m.qty), 0), 3) AS adjustment_rate_pct,
       (SELECT count(*) FROM erp.adjustment a WHERE a.node_id = n.node_id AND a.status = 'pending_approval')::bigint
           AS pending_approval,
       (SELECT COALESCE(sum(a.value), 0) FROM erp.adjustment a WHERE a.node_id = n.node_id AND a.status = 'applied')::numeric(14,2)
           AS applied_value
  FROM erp.stock_move m
  JOIN erp.node n ON n.node_id = COALESCE(m.from_node_id, m.to_node_id)
 -- a partner sees moves that reach its node from elsewhere, but only its own node's row
 WHERE (SELECT erp.visible_nodes()) IS NULL OR n.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
 GROUP BY n.code, n.node_id;
COMMENT ON VIEW erp.kpi_adjustment_rate IS
    'Per node: adjustment_rate_pct = units moved by adjust events (counts, short picks, write-offs) / all units moved x 100; adjustments waiting for approval; value of the applied ones';

CREATE VIEW erp.dashboard WITH (security_invoker = true) AS
SELECT
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance
      WHERE state NOT IN ('incoming', 'in_transit', 'return_pending'))::bigint AS units_on_hand,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available')::bigint AS units_available,
    (SELECT COALESCE(sum(b.qty * i.unit_cost), 0) FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id
      WHERE b.state NOT IN ('incoming', 'in_transit', 'return_pending'))::numeric(14,2) AS inventory_value,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state IN ('incoming', 'in_transit', 'return_pending'))::bigint
        AS units_inbound,
    (SELECT count(*) FROM erp.sales_order WHERE created_at >= date_trunc('day', pg_catalog.now()))::bigint AS orders_today,
    (SELECT count(*) FROM erp.sales_order WHERE status NOT IN ('shipped', 'cancelled'))::bigint AS orders_open,
    (SELECT count(*) FROM erp.shipment WHERE shipped_at >= date_trunc('day', pg_catalog.now()))::bigint AS shipments_today,
    (SELECT round(100.0 * sum(ol.qty_allocated) / NULLIF(sum(ol.qty), 0), 2)
       FROM erp.order_line ol JOIN erp.sales_order o ON o.order_id = ol.order_id
      WHERE o.status <> 'cancelled') AS unit_fill_rate_pct,
    (SELECT COALESCE(sum(qty_backordered), 0) FROM erp.order_line)::bigint AS units_backordered,
    (SELECT round(100.0 * count(*) FILTER (WHERE p.nodes > 1) / NULLIF(count(*), 0), 2)
       FROM (SELECT count(DISTINCT node_id) AS nodes FROM erp.shipment_line GROUP BY order_id) p) AS split_rate_pct,
    (SELECT count(*) FROM erp.rma WHERE status NOT IN ('closed', 'expired'))::bigint AS returns_open,
    (SELECT count(*) FROM erp.rma_line WHERE refund_status = 'awaiting_approval')::bigint AS refunds_awaiting_approval,
    (SELECT count(*) FROM erp.adjustment WHERE status = 'pending_approval')::bigint AS adjustments_awaiting_approval,
    (SELECT round(100.0 * count(*) FILTER (WHERE variance = 0) / NULLIF(count(*), 0), 2) FROM erp.cycle_count)
        AS count_accuracy_pct,
    (SELECT round((extract(epoch FROM avg(available_at - received_at)) / 3600)::numeric, 2)
       FROM erp.rma_line WHERE available_at IS NOT NULL AND received_at IS NOT NULL) AS return_cycle_hours,
    (SELECT count(*) FROM erp.event WHERE at >= pg_catalog.now() - interval '24 hours')::bigint AS events_24h;
COMMENT ON VIEW erp.dashboard IS
    'One row for the operations lead: stock on hand, available, inbound and its value at cost; orders today and open; shipments today; unit fill rate; backordered units; split shipment rate; open returns; refunds and adjustments waiting for approval; count accuracy; return cycle time; events of the last 24 hours';

-- Logical replication -------------------------------------------------------

-- Announce on logical replication subscribers too, so integrations can LISTEN on a replica.
ALTER TABLE erp.event ENABLE ALWAYS TRIGGER event_notify;

CREATE FUNCTION erp.create_publication(name text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format(
        'CREATE PUBLICATION %I FOR TABLE erp.item, erp.item_component, erp.node, erp.channel, '
        'erp.channel_node, erp.supplier, erp.lot, erp.stock_policy, erp.channel_reserve, '
        'erp.stock_move, erp.stock_balance, '
        'erp.sales_order, erp.order_line, erp.reservation, erp.shipment, erp.shipment_line, '
        'erp.rma, erp.rma_line, erp.purchase_order, erp.purchase_order_line, erp.transfer, '
        'erp.cycle_count, erp.adjustment, erp.event', name);
END
$$;
COMMENT ON FUNCTION erp.create_publication(text) IS
    'Creates a logical replication publication of the master data, the ledger, the balances, orders, shipments, returns, purchasing, counts and events (not of the shipped rule tables, which every install has); a subscriber installs the extension and subscribes';
-- publications are created by administrators
REVOKE EXECUTE ON FUNCTION erp.create_publication(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erp.create_publication(text) TO erp_admin;
-- 80_verify: erp.verify(), the consistency check of everything the ledger derives.

CREATE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH ledger AS (
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    )
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0)
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty
      FROM erp.stock_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0)
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger, negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database';
-- 85_access: row level security.  A partner role sees only the rows of its
-- nodes; every other role sees everything.  The functions run as the extension
-- owner and check partners themselves (IE009 at another node).

ALTER TABLE erp.stock_balance ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_balance
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.stock_move ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_move
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.reservation ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.reservation
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.shipment_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment_line
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- an order is a partner's when it holds or shipped stock at one of its nodes
ALTER TABLE erp.sales_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.sales_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.reservation r WHERE r.order_id = sales_order.order_id)
           OR EXISTS (SELECT 1 FROM erp.shipment_line s WHERE s.order_id = sales_order.order_id));

ALTER TABLE erp.order_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id = order_line.order_id));

ALTER TABLE erp.shipment ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.shipment_line s WHERE s.shipment_id = shipment.shipment_id));

ALTER TABLE erp.transfer ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.transfer
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.purchase_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.purchase_order
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.rma_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.rma_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR received_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.cycle_count ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cycle_count
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.adjustment ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.adjustment
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- events about a node are its partner's; events about no node (a backorder, a
-- supplier delay) are the business's
ALTER TABLE erp.event ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.event
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- a return is a partner's when one of its lines is (rma_line has its own policy)
ALTER TABLE erp.rma ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.rma
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.rma_line l WHERE l.rma_id = rma.rma_id));

ALTER TABLE erp.purchase_order_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.purchase_order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order p WHERE p.purchase_order_id = purchase_order_line.purchase_order_id));

-- erp.node_access itself stays readable: erp.visible_nodes() reads it for every
-- policy, and a policy on it would call itself.
-- 90_grants: who may do what.  Readers read; operators call the functions (which
-- run as the extension owner and keep the rules); approvers approve; admins keep
-- master data.  Nobody but the ledger writes the ledger or the balances.

REVOKE ALL ON ALL TABLES IN SCHEMA erp FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA erp TO erp_reader;

GRANT INSERT, UPDATE, DELETE ON
    erp.item, erp.item_component, erp.node, erp.channel, erp.channel_node, erp.supplier,
    erp.stock_policy, erp.channel_reserve, erp.lot, erp.reason_code, erp.approval_policy,
    erp.state_transition, erp.disposition_rule, erp.node_access
TO erp_admin;

-- Functions: nothing for PUBLIC but the erp.gtin type's own functions (its
-- operators call them); readers promise and check; operators run the rest.
-- Approvals check erp_approver membership themselves (IE009).
-- (Administrators' functions, such as erp.create_publication, are granted
-- where they are created, to erp_admin only.)
DO $grants$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, p.proname
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.fn);
        IF f.proname LIKE 'gtin%' THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f.fn);
        ELSIF f.proname NOT IN ('create_publication') THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO erp_operator', f.fn);
        END IF;
    END LOOP;
END
$grants$;
GRANT EXECUTE ON FUNCTION erp.verify(), erp.atp(text, text, text, timestamptz) TO erp_reader;
-- row level security policies call it as the querying role
GRANT EXECUTE ON FUNCTION erp.visible_nodes() TO PUBLIC;
-- 99_dump: pg_dump keeps every business row.  Each table of the extension (and the
-- sequence behind its identity key) is marked as configuration; rows shipped with
-- the extension (builtin) are left out, since CREATE EXTENSION recreates them.
DO $dump$
DECLARE
    t record;
    seq text;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel,
               EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = 'builtin' AND NOT a.attisdropped) AS has_builtin
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t.rel,
                    CASE WHEN t.has_builtin THEN 'WHERE NOT builtin' ELSE '' END);
        FOR seq IN
            SELECT s.oid::regclass::text
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             WHERE d.refobjid = t.rel AND d.deptype IN ('a', 'i')
        LOOP
            PERFORM pg_catalog.pg_extension_config_dump(seq, '');
        END LOOP;
    END LOOP;
END
$dump$;
