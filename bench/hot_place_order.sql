-- Flash sale through erp.place_order: every client orders one unit of the same SKU.
SELECT * FROM erp.place_order('WEB', gen_random_uuid()::text, '[{"sku": "HOT-1", "qty": 1}]');
