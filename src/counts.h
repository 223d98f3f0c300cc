/*-------------------------------------------------------------------------
 *
 * counts.h
 *	  What counts.c offers orders.c: a short pick's write-off recorded as an
 *	  adjustment (reason 'short_pick') under the one adjustment threshold.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COUNTS_H
#define COUNTS_H

/*
 * Whether writing off qty units of an item needs an approver: its value
 * (qty x unit_cost, or unit_price without a cost) is above the 'adjustment'
 * threshold, as for erp.adjust.  More units than one move may move, or a
 * value numeric(14,2) cannot hold: IE004.
 */
extern bool CountsWriteOffWaits(int64 item_id, int64 qty, const char *sku);

/*
 * Records the write-off of qty units of a short pick at a node (and lot) as an
 * erp.adjustment row (reason 'short_pick', created_by IerpActorName()):
 * applied by move_id when move_id is not 0; else pending_approval against
 * quarantined units (from_state 'quarantined') with an
 * adjustment_approval_needed event.  Returns the adjustment id.  A part of
 * a write-off CountsWriteOffWaits has valued and decided as a whole.
 */
extern int64 CountsRecordShortPick(int64 item_id, const char *sku, int64 node_id, int64 lot_id,
								   int64 qty, int64 move_id);

#endif							/* COUNTS_H */
