-- One-line order of a random SKU from the 1,000-SKU catalogue, captured and allocated.
\set sku random(1, 1000)
SELECT * FROM erp.allocate(erp.capture_order('WEB', gen_random_uuid()::text,
    ('[{"sku": "SKU-' || :sku || '", "qty": 1}]')::jsonb));
