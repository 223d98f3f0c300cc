-- Available-to-promise of a random SKU at a random node for the storefront.
\set sku random(1, 1000)
\set node random(1, 3)
SELECT erp.atp('SKU-' || :sku, 'DC-' || :node, 'WEB');
