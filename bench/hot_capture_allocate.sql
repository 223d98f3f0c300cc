-- Flash sale: every client orders one unit of the same SKU.
SELECT * FROM erp.allocate(erp.capture_order('WEB', gen_random_uuid()::text,
    '[{"sku": "HOT-1", "qty": 1}]'));
