-- One-line order of a random SKU from the 1,000-SKU catalogue, captured and allocated in
-- one call (erp.place_order: a webhook's work), as the hand-written baseline does it.
\set sku random(1, 1000)
SELECT * FROM erp.place_order('WEB', gen_random_uuid()::text,
    ('[{"sku": "SKU-' || :sku || '", "qty": 1}]')::jsonb);
