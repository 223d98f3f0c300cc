-- A storefront checkout of one unit of a random SKU from the 1,000-SKU catalogue:
-- the cart's hold (erp.hold, its own transaction, as while the shopper pays), then
-- the order captured with the hold's id (capture_order(..., hold_ref) takes over the
-- held unit and allocates the order), then erp.allocate, which reports what it holds.
-- Beside bench/capture_allocate.sql (capture + allocate without a hold).
\set sku random(1, 1000)
SELECT erp.hold('WEB', gen_random_uuid()::text, ('[{"sku": "SKU-' || :sku || '", "qty": 1}]')::jsonb) AS hold_id \gset
SELECT * FROM erp.allocate(erp.capture_order('WEB', gen_random_uuid()::text,
    ('[{"sku": "SKU-' || :sku || '", "qty": 1}]')::jsonb, hold_ref => :hold_id));
