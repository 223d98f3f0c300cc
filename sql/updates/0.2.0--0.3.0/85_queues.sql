-- 85: the queues the apps read (sql/install/17_queues.sql): the pick queue's index and
-- erp.pick_queue, erp.returns_desk and erp.approval_queue.
CREATE INDEX sales_order_pick_idx ON erp.sales_order (priority DESC, created_at, order_id)
    WHERE status IN ('allocated', 'partially_allocated', 'picking');
COMMENT ON INDEX erp.sales_order_pick_idx IS 'The pick queue''s order (erp.pick_queue): orders with units to pick, most urgent first';

CREATE VIEW erp.pick_queue WITH (security_invoker = true) AS
SELECT n.code AS node, o.order_id, o.priority, o.created_at, p.lines, p.units,
       pg_catalog.now() - o.created_at AS age
  FROM erp.sales_order o
 CROSS JOIN LATERAL (
       SELECT r.node_id, count(DISTINCT r.line_no)::bigint AS lines, sum(r.qty - r.qty_picked)::bigint AS units
         FROM erp.reservation r
        WHERE r.order_id = o.order_id AND r.qty > r.qty_picked
        GROUP BY r.node_id) p
  JOIN erp.node n ON n.node_id = p.node_id
 WHERE o.status IN ('allocated', 'partially_allocated', 'picking')
 ORDER BY o.priority DESC, o.created_at, o.order_id, n.code;
COMMENT ON VIEW erp.pick_queue IS
    'Orders ready to pick, per node: orders (allocated, partially allocated or picking) with reserved units not yet picked at that node; lines and units still to pick there; most urgent first (priority descending, then oldest). A warehouse app reads SELECT * FROM erp.pick_queue WHERE node = ''DC1'' LIMIT 50';
COMMENT ON COLUMN erp.pick_queue.lines IS 'Order lines with units to pick at the node';
COMMENT ON COLUMN erp.pick_queue.units IS 'Units reserved at the node and not picked yet';
COMMENT ON COLUMN erp.pick_queue.age IS 'Time since the order was captured';

-- Returns desk: a return line waits for receipt at the node that shipped it,
-- and, once received, for inspection where it arrived.
CREATE VIEW erp.returns_desk WITH (security_invoker = true) AS
SELECT n.code AS node, r.rma_id, r.order_id, r.status, r.authorized_at, r.expires_at,
       sum(w.expected)::bigint AS units_expected, sum(w.to_inspect)::bigint AS units_to_inspect,
       pg_catalog.now() - r.authorized_at AS age
  FROM erp.rma r
  JOIN erp.rma_line l ON l.rma_id = r.rma_id
                     AND (l.qty_received + l.qty_expired < l.qty OR l.qty_inspected < l.qty_received)
 CROSS JOIN LATERAL (VALUES (l.node_id, l.qty - l.qty_received - l.qty_expired, 0::bigint),
                            (COALESCE(l.received_node_id, l.node_id), 0::bigint, l.qty_received - l.qty_inspected)
       ) AS w(node_id, expected, to_inspect)
  JOIN erp.node n ON n.node_id = w.node_id
 WHERE r.status IN ('authorized', 'partially_received', 'received')
   AND (w.expected > 0 OR w.to_inspect > 0)
 GROUP BY n.code, r.rma_id
 ORDER BY r.authorized_at, r.rma_id, n.code;
COMMENT ON VIEW erp.returns_desk IS
    'Returns awaiting receipt or inspection, per node, oldest authorisation first: units_expected (authorised, not received, not expired) at the node that shipped them, units_to_inspect (received, not inspected) where they arrived';
COMMENT ON COLUMN erp.returns_desk.units_expected IS 'Units authorised for return to this node and not received (nor expired) yet';
COMMENT ON COLUMN erp.returns_desk.units_to_inspect IS 'Units received at this node and not inspected yet';
COMMENT ON COLUMN erp.returns_desk.age IS 'Time since the return was authorised';

-- Approvers: refunds that wait for a member of erp_approver, and adjustments
-- pending approval (erp.adjustment's pending index, sql/install/11_governance.sql).
CREATE VIEW erp.approval_queue WITH (security_invoker = true) AS
SELECT q.kind, q.id, n.code AS node, q.requested_by, q.value, q.requested_at,
       pg_catalog.now() - q.requested_at AS age
  FROM (SELECT 'refund'::text AS kind, l.rma_line_id AS id, COALESCE(l.received_node_id, l.node_id) AS node_id,
               l.refund_requested_by AS requested_by, l.refund_amount AS value,
               COALESCE(l.inspected_at, l.received_at) AS requested_at
          FROM erp.rma_line l
         WHERE l.refund_status = 'awaiting_approval'
           -- a partner sees a refund only when the whole return is its own
           -- (erp.rma_visible: every node of its lines), not by one line's node
           AND erp.rma_visible(l.rma_id)
        UNION ALL
        SELECT 'adjustment', a.adjustment_id, a.node_id, a.created_by, a.value, a.created_at
          FROM erp.adjustment a
         WHERE a.status = 'pending_approval') q
  JOIN erp.node n ON n.node_id = q.node_id
 ORDER BY q.requested_at, q.kind, q.id;
COMMENT ON VIEW erp.approval_queue IS
    'What waits for an approver, oldest first: refunds awaiting approval (kind refund, id = the return line; approve with erp.approve_refund) and adjustments pending approval (kind adjustment, id = the adjustment; erp.approve_adjustment); the requester may not approve their own';
COMMENT ON COLUMN erp.approval_queue.requested_by IS 'Who asked: the login that made the refund due, or that created the adjustment; they may not approve it';
COMMENT ON COLUMN erp.approval_queue.value IS 'The refund amount, or the adjustment''s value';
COMMENT ON COLUMN erp.approval_queue.requested_at IS 'When it began to wait: the return''s inspection (or receipt), the adjustment''s creation';
GRANT SELECT ON erp.pick_queue, erp.returns_desk, erp.approval_queue TO erp_reader;
