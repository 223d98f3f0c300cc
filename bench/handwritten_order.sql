-- Baseline: the hand-written PL/pgSQL version (bench/handwritten.sql) of one-line
-- capture+allocate of a random SKU from the 1,000-SKU catalogue, as capture_allocate.sql.
\set sku random(1, 1000)
SELECT handwritten.capture_allocate('WEB', gen_random_uuid()::text, 'SKU-' || :sku, 1);
