/*-------------------------------------------------------------------------
 *
 * cost.h
 *	  Perpetual costing of the stock kernel (cost.c): every move of a batch
 *	  that changes the value on hand at a node posts erp.cost_entry rows and
 *	  updates erp.cost_balance (and, for fifo items, erp.cost_layer) in the
 *	  move's transaction.  Landed costs (cost_landed.c) post through the
 *	  same balance functions.
 *
 *	  Valued states: every state but incoming and return_pending (and
 *	  outside).  A move between two valued states of one node changes no
 *	  value and costs nothing (allocation, picking, packing, holds,
 *	  inspection dispositions that stay in the node).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_COST_H
#define STOCK_COST_H

#include "postgres.h"

#include "stock/move.h"

/* whether a state carries value (all but incoming, return_pending and outside) */
extern bool CostValuedState(StockState s);

/* whether a move that took its units changes the value on hand of some node */
extern bool CostMoveCosts(const StockMove *m);

/* owns the cost tag of an item at a node, waiting only in the lock order, else 55P03 */
extern void CostOwnBalance(int64 item_id, int64 node_id);

/* StockApply, right after an issuing move's slots: owns the cost tag if the order allows or it is free */
extern bool CostTryBalance(int64 item_id, int64 node_id);

/* costs the moves of an applied batch, in the given order (the batch's lock order) */
extern void CostApply(StockMove *moves, int nmoves, const int *order);

/*
 * A landed cost's share of units already received of one purchase order
 * line at node: the part still on hand revalues the stock, the rest follows
 * what left the node since the receipt (COGS of the orders that shipped,
 * write-offs, the nodes transfers went to).  share is numeric; received the
 * units received so far.
 */
extern void CostPostLanded(int64 item_id, int64 node_id, int64 line_id, int64 landed_cost_id,
						   const char *ref, Datum share, int64 received);

/*
 * A refurbishment's cost on an item's units at a node (erp.add_refurbishment_cost):
 * average items raise the node's value, fifo items its newest open layer; one
 * refurbishment entry of 0 units; returns its cost_entry_id.
 */
extern int64 CostPostRefurbishment(int64 item_id, int64 node_id, Datum amount, int64 units, const char *ref);

/* cost tables are written only between CostWriteBegin and CostWriteEnd (the guard trigger) */
extern void CostWriteBegin(void);
extern void CostWriteEnd(void);
extern bool CostWriting(void);

#endif							/* STOCK_COST_H */
