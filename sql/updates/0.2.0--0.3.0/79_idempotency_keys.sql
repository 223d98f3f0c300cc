-- 79: every function that changes state takes an optional idempotency key as
-- its last argument (doc/integration.md): a function's arguments are part of
-- its identity, so each is dropped and created again with the key.

DROP FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text);
CREATE FUNCTION erp.receive(sku text, node text, qty bigint, lot text DEFAULT NULL,
                            expires_on date DEFAULT NULL,
                            state erp.stock_state DEFAULT 'available', ref text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_receive'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text, text) IS
    'Unplanned receipt or opening balance: qty units of sku enter node in state (available, quarantined or damaged); creates the lot if needed; returns the move id';

DROP FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text);
CREATE FUNCTION erp.move(sku text, node text, qty bigint, from_state erp.stock_state,
                         to_state erp.stock_state, event text, lot text DEFAULT NULL,
                         ref text DEFAULT NULL, to_node text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_move'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text, text) IS
    'Moves qty units of sku at node from one state to another under event (NULL state = outside), between available, quarantined, damaged and outside (the other states belong to documents: IE002); to_node for a transition of your own that changes node; returns the move id';

DROP FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer);
CREATE FUNCTION erp.capture_order(channel text, external_ref text, lines jsonb,
                                  ship_to jsonb DEFAULT NULL, priority integer DEFAULT 0, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_capture'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer, text) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}] (at most 1,000), ship_to = {"lat": .., "lon": ..} (real degrees); a redelivered (channel, external_ref) with the same content returns the same order id and changes nothing, with other content it is refused (IE010)';

DROP FUNCTION erp.allocate(bigint);
CREATE FUNCTION erp.allocate(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS TABLE (line_no integer, sku text, node text, lot text, qty bigint)
    AS 'MODULE_PATHNAME', 'ierp_allocate'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate(bigint, text) IS
    'Reserves stock for every open line of an order by the allocation rules (one node when possible, lowest rank, nearest, else fewest nodes; FEFO lots; never into safety stock or another channel''s ring-fence); returns what it reserved';

DROP FUNCTION erp.allocate_pending(integer);
CREATE FUNCTION erp.allocate_pending(max_orders integer DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_allocate_pending'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate_pending(integer, text) IS
    'Allocates waiting orders (open, backordered, partially allocated) by priority then age; an order that fails is skipped with a WARNING and the batch goes on; returns how many orders received stock';

DROP FUNCTION erp.cancel_order(bigint);
CREATE FUNCTION erp.cancel_order(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_cancel'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.cancel_order(bigint, text) IS
    'Cancels an order that has not been packed: reserved units are released and picked units put back to available';

DROP FUNCTION erp.pick(bigint, text, bigint);
CREATE FUNCTION erp.pick(order_id bigint, scan text, qty bigint DEFAULT 1, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick(bigint, text, bigint, text) IS
    'Confirms picking qty units of the scanned sku or GTIN for an order; a scan that is not on the order is refused (IE007) and recorded as a pick_exception event';

DROP FUNCTION erp.short_pick(bigint, text, bigint);
CREATE FUNCTION erp.short_pick(order_id bigint, sku text, missing bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_short_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.short_pick(bigint, text, bigint, text) IS
    'Reports missing reserved units; their write-off is an adjustment (reason short_pick): applied at once within the adjustment threshold, else the units move to quarantined and the adjustment waits for erp.approve_adjustment by another person; the line is re-allocated at another node';

DROP FUNCTION erp.pack(bigint);
CREATE FUNCTION erp.pack(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pack'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pack(bigint, text) IS 'Packs every picked unit of an order once nothing reserved is left to pick';

DROP FUNCTION erp.ship(bigint, text, text);
CREATE FUNCTION erp.ship(order_id bigint, carrier text DEFAULT NULL, tracking text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_ship'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.ship(bigint, text, text, text) IS 'Ships a packed order: the packed units leave the business; returns the shipment id (IE010 when the order is not packed)';

DROP FUNCTION erp.authorize_return(bigint, jsonb, integer);
CREATE FUNCTION erp.authorize_return(order_id bigint, lines jsonb, return_window_days integer DEFAULT 30, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_returns_authorize'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.authorize_return(bigint, jsonb, integer, text) IS
    'Authorises the return of shipped units of an order (lines = [{"sku": "A-1", "qty": 1, "reason": "too_small"}]); never more than shipped and not yet returned, only within return_window_days (1 to 3650, IE004) of shipment (IE008); a kit comes back as its components; the units become return_pending at the node that shipped them; at most 1,000 lines (IE004)';

DROP FUNCTION erp.receive_return(bigint, text, jsonb);
CREATE FUNCTION erp.receive_return(rma_id bigint, node text DEFAULT NULL, lines jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_receive'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_return(bigint, text, jsonb, text) IS
    'Records returned units arriving (all that is expected, or lines = [{"sku": .., "qty": ..}]) at node (default: the node that shipped them); they go to inspection; a sku not on the RMA is refused (IE007) and recorded as a return_discrepancy event; at most 1,000 lines (IE004)';

DROP FUNCTION erp.inspect_return(bigint, erp.item_condition);
CREATE FUNCTION erp.inspect_return(rma_line_id bigint, condition erp.item_condition, idempotency_key text DEFAULT NULL)
    RETURNS erp.disposition
    AS 'MODULE_PATHNAME', 'ierp_returns_inspect'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.inspect_return(bigint, erp.item_condition, text) IS
    'Records the condition of received units, routes them by the first matching erp.disposition_rule and moves them; returns the disposition; refunds due on inspection are computed (and wait for approval when high-value or above the refund threshold)';

DROP FUNCTION erp.approve_refund(bigint);
CREATE FUNCTION erp.approve_refund(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'ierp_returns_approve_refund'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_refund(bigint, text) IS
    'Releases a refund that waits for approval; only members of erp_approver other than the person who made the refund due (refund_requested_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009); returns the amount';

DROP FUNCTION erp.complete_refurbish(bigint);
CREATE FUNCTION erp.complete_refurbish(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_complete_refurbish'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.complete_refurbish(bigint, text) IS 'Refurbished units of a return line are sellable again (refurbish -> available)';

DROP FUNCTION erp.return_to_vendor(bigint);
CREATE FUNCTION erp.return_to_vendor(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_to_vendor'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.return_to_vendor(bigint, text) IS 'Units of a return line routed to the vendor leave for the vendor (vendor_return -> outside)';

DROP FUNCTION erp.expire_returns();
CREATE FUNCTION erp.expire_returns(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_returns_expire'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.expire_returns(text) IS
    'Expires authorisations whose window passed with nothing received: return_pending units leave the books (rma_expired); returns how many RMAs expired';

DROP FUNCTION erp.create_po(text, text, jsonb, timestamptz);
CREATE FUNCTION erp.create_po(supplier text, node text, lines jsonb, expected_at timestamptz, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_create_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_po(text, text, jsonb, timestamptz, text) IS
    'Records a supplier-confirmed purchase order (lines = [{"sku": .., "qty": .., "unit_cost": ..}]); its units become incoming at node; at most 1,000 lines (IE004); returns the purchase order id';

DROP FUNCTION erp.receive_po(bigint, jsonb);
CREATE FUNCTION erp.receive_po(po_id bigint, lines jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb, text) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}]; lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered, or more than 1,000 lines, is refused (IE004)';

DROP FUNCTION erp.delay_po(bigint, timestamptz);
CREATE FUNCTION erp.delay_po(po_id bigint, new_expected_at timestamptz, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_delay_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.delay_po(bigint, timestamptz, text) IS
    'Moves a purchase order''s expected date and emits a supplier_delay event naming the backordered orders of its items now at risk';

DROP FUNCTION erp.transfer(text, text, text, bigint, text);
CREATE FUNCTION erp.transfer(sku text, from_node text, to_node text, qty bigint, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_transfer'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.transfer(text, text, text, bigint, text, text) IS
    'Sends available units from one node to another: in transit, inbound at the destination; returns the transfer id';

DROP FUNCTION erp.receive_transfer(bigint);
CREATE FUNCTION erp.receive_transfer(transfer_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_transfer'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_transfer(bigint, text) IS 'The units of a transfer arrived: available at the destination';

DROP FUNCTION erp.create_replenishment_pos();
CREATE FUNCTION erp.create_replenishment_pos(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_supply_create_replenishment_pos'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_replenishment_pos(text) IS
    'Turns every suggestion of erp.replenishment into purchase orders, one per supplier and node, expected after the lead time; returns how many were created';

DROP FUNCTION erp.count(text, text, bigint, text);
CREATE FUNCTION erp.count(sku text, node text, counted bigint, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_count'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.count(text, text, bigint, text, text) IS
    'Records a cycle count of available units (counted 0 to 1,000,000,000, IE004); a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment by another person; returns the cycle count id';

DROP FUNCTION erp.approve_adjustment(bigint);
CREATE FUNCTION erp.approve_adjustment(adjustment_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_counts_approve_adjustment'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_adjustment(bigint, text) IS
    'Applies an adjustment that waits for approval; only members of erp_approver other than its creator (created_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009)';

DROP FUNCTION erp.adjust(text, text, bigint, text, text);
CREATE FUNCTION erp.adjust(sku text, node text, qty_delta bigint, reason text, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_adjust'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.adjust(text, text, bigint, text, text, text) IS
    'Adjusts available stock by hand (qty_delta > 0 adds, < 0 writes off; at most 1,000,000,000 units) for a reason; applied at once when |qty_delta| x unit_cost is within the adjustment threshold of erp.approval_policy, else pending_approval until another person in erp_approver runs erp.approve_adjustment; returns the adjustment id';
