/*-------------------------------------------------------------------------
 *
 * move.h
 *	  What the kernel and its parts pass between them: a move of a batch,
 *	  a balance key, quantities per node and per lot.  Types only (and one
 *	  predicate), so that every part of the kernel can share them without
 *	  depending on another part.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_MOVE_H
#define STOCK_MOVE_H

#include "postgres.h"

#include "ierp.h"

/*
 * How a move takes its units from its source balance.
 *
 * STOCK_TAKE_ALL: exactly qty, or the whole batch is refused (IE001).
 * STOCK_TAKE_UP_TO: as many of qty as the balance holds above floor
 *   (allocation's take); taken says how many, perhaps 0.
 * STOCK_TAKE_HELD: units a document holds (an order's reserved, picked or
 *   packed units): the document vouches they are in the balance, so the
 *   kernel takes them from any slot it can own at once, booking a slot
 *   below zero when needed instead of waiting (doc/concurrency.md); the
 *   balance, the sum over slots, stays what the documents say.
 */
typedef enum StockTakeKind
{
	STOCK_TAKE_ALL = 0,
	STOCK_TAKE_UP_TO,
	STOCK_TAKE_HELD
} StockTakeKind;

/*
 * One move of a batch.  The caller fills the first block; the kernel
 * answers in the second.  A state of STATE_OUTSIDE means the units come
 * from, or go to, outside the business (its node is then ignored).  Bins
 * are the places inside a node (erp.bin): 0 is the node's stock outside
 * any bin.  A move from bin 0 at a node that has bins takes from the node
 * as a whole (stock/bins.c), unless exact_bin says bin 0 itself.
 */
typedef struct StockMove
{
	int64		item_id;
	int64		lot_id;			/* 0 when the item is not lot-tracked */
	int64		qty;
	int64		from_node_id;
	int64		from_bin_id;
	StockState	from_state;
	int64		to_node_id;
	int64		to_bin_id;
	StockState	to_state;
	const char *event;
	const char *ref;			/* the document: "order:42", "po:7"; may be NULL */
	StockTakeKind take;
	int64		floor;			/* STOCK_TAKE_UP_TO: units to leave in the balance */
	bool		exact_bin;		/* bin 0 is the stock outside bins only, not the node's (stock/bins.c) */

	/* answers */
	int64		taken;			/* units moved (qty unless STOCK_TAKE_UP_TO) */
	int64		move_id;		/* the ledger row, 0 when nothing moved */
	bool		contended;		/* UP_TO got less while others owned slots that had units */
} StockMove;

/*
 * StockMoveInPlace: whether a move changes state inside one balance (same
 * node and bin): its take adds the units to the destination state of the
 * same slot rows, and there is no separate add.  (Inline: the kernel and the
 * slot algorithms both ask, and neither owns the other.)
 */
static inline bool
StockMoveInPlace(const StockMove *m)
{
	return m->from_state != STATE_OUTSIDE && m->to_state != STATE_OUTSIDE &&
		m->from_node_id == m->to_node_id && m->from_bin_id == m->to_bin_id;
}

/*
 * The balances (slots.c).  A balance key is (item, node, bin, lot); its
 * stock is the sum of its slot rows in erp.stock_slot, one column per
 * state.
 */
typedef struct StockKey
{
	int64		item_id;
	int64		node_id;
	int64		bin_id;
	int64		lot_id;
} StockKey;

/* the per-state quantities of an item at one node, summed over bins, lots and slots */
typedef struct StockNodeQty
{
	int64		node_id;
	int64		qty[NUM_STOCK_STATES];
} StockNodeQty;

/* the units of one lot (StockLockLots' answer) */
typedef struct StockLotQty
{
	int64		lot_id;
	int64		qty;
} StockLotQty;

#endif							/* STOCK_MOVE_H */
