
-- 60: the public C functions run as their owner through their C entry, which records
-- the caller, instead of SECURITY DEFINER, which hid a caller's own SECURITY DEFINER
-- function from the partner and four-eyes rules.
ALTER FUNCTION erp.order_visible(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.rma_visible(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text) SECURITY INVOKER;
ALTER FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text) SECURITY INVOKER;
ALTER FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer) SECURITY INVOKER;
ALTER FUNCTION erp.allocate(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.allocate_pending(integer) SECURITY INVOKER;
ALTER FUNCTION erp.atp(text, text, text, timestamptz) SECURITY INVOKER;
ALTER FUNCTION erp.cancel_order(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.pick(bigint, text, bigint) SECURITY INVOKER;
ALTER FUNCTION erp.short_pick(bigint, text, bigint) SECURITY INVOKER;
ALTER FUNCTION erp.pack(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.ship(bigint, text, text) SECURITY INVOKER;
ALTER FUNCTION erp.authorize_return(bigint, jsonb, integer) SECURITY INVOKER;
ALTER FUNCTION erp.receive_return(bigint, text, jsonb) SECURITY INVOKER;
ALTER FUNCTION erp.inspect_return(bigint, erp.item_condition) SECURITY INVOKER;
ALTER FUNCTION erp.approve_refund(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.complete_refurbish(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.return_to_vendor(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.expire_returns() SECURITY INVOKER;
ALTER FUNCTION erp.create_po(text, text, jsonb, timestamptz) SECURITY INVOKER;
ALTER FUNCTION erp.receive_po(bigint, jsonb) SECURITY INVOKER;
ALTER FUNCTION erp.delay_po(bigint, timestamptz) SECURITY INVOKER;
ALTER FUNCTION erp.transfer(text, text, text, bigint, text) SECURITY INVOKER;
ALTER FUNCTION erp.receive_transfer(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.create_replenishment_pos() SECURITY INVOKER;
ALTER FUNCTION erp.count(text, text, bigint, text) SECURITY INVOKER;
ALTER FUNCTION erp.approve_adjustment(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.adjust(text, text, bigint, text, text) SECURITY INVOKER;
ALTER FUNCTION erp.record_policy_change() SECURITY INVOKER;
ALTER FUNCTION erp.verify() SECURITY INVOKER;
