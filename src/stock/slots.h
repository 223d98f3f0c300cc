/*-------------------------------------------------------------------------
 *
 * slots.h
 *	  Which slots a take or an add uses, and reading balances (slots.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_SLOTS_H
#define STOCK_SLOTS_H

#include "stock/move.h"

extern int64 StockGet(int64 item_id, int64 node_id, int64 lot_id, StockState state);
extern int64 StockOwnBalance(int64 item_id, int64 node_id, int64 lot_id, StockState state);

/* the per-state quantities of a key, summed over its slots (as committed, or this transaction's) */
extern void StockRead(const StockKey *key, int64 *qty_by_state);

/*
 * Per lot, the units of one state of an item at a node, summed over the
 * node's stock outside bins and its bins, read after owning every slot of
 * those (bin, lot) balances in the global lock order (waiting where it
 * allows): only owned slots count, so the quantities are exact or smaller
 * (contended is set when an unowned slot had units).  For a lot-tracked
 * item's exact first-expiry take; the caller then takes with
 * STOCK_TAKE_ALL and names no bin (the kernel spreads the take over the
 * lot's bins, stock/bins.c).
 */
extern int	StockLockLots(int64 item_id, int64 node_id, StockState state, StockLotQty **lots, bool *contended);

/* one lot's part of a first-expiry take (StockLotsFefo) */
typedef struct StockLotTake
{
	int64		lot_id;
	char	   *lot_code;
	int64		qty;
} StockLotTake;

/*
 * The first-expiry-first-out take of up to want available units of a
 * lot-tracked item at a node, keeping floor units back: owns the item's
 * lots at the node over its bins (StockLockLots), leaves out lots with
 * fewer than min_shelf_days days to their expiry, and plans the take from
 * the earliest expiry on (lots without one last).  Returns the units
 * planned (0 to want) and the parts per lot; moves nothing.  The caller
 * takes each part with STOCK_TAKE_ALL, naming no bin, in this
 * transaction (the slots stay owned); contended as StockLockLots.  For
 * allocation (allocate.c) and checkout holds (holds.c), which reserve
 * lots alike.
 */
extern int64 StockLotsFefo(int64 item_id, int64 node_id, int32 min_shelf_days, int64 want, int64 floor,
						   StockLotTake **parts, int *nparts, bool *contended);

/* the takes and adds of a batch's moves (StockApply's steps) */
extern bool StockSlotsTake(const StockMove *m, int64 *taken, bool *contended, int64 *held);
extern void StockSlotsAdd(const StockMove *m, int64 qty);

#endif							/* STOCK_SLOTS_H */
