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
