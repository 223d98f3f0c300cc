/*-------------------------------------------------------------------------
 *
 * kernel.h
 *	  The stock kernel: the one write path of stock.  A document (an order,
 *	  a return, a purchase order, a transfer, a count, a generic move)
 *	  decides its moves and hands them to StockApply() in one batch; the
 *	  kernel checks them against the state machine and the partner rule,
 *	  takes and adds the units in the balances in one global lock order and
 *	  appends the ledger rows.  Nothing else writes erp.stock_slot or
 *	  erp.stock_move; their triggers refuse every other write (IE005).
 *
 *	  doc/architecture.md describes the API, the document skeleton and the
 *	  path of one order through it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_KERNEL_H
#define STOCK_KERNEL_H

#include "postgres.h"

#include "access/htup.h"
#include "storage/lock.h"
#include "utils/relcache.h"

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
 * are the places inside a node (the warehouse issue): 0 is the node's
 * stock outside any bin, and the only value the kernel accepts today.
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

	/* answers */
	int64		taken;			/* units moved (qty unless STOCK_TAKE_UP_TO) */
	int64		move_id;		/* the ledger row, 0 when nothing moved */
	bool		contended;		/* UP_TO got less while others owned slots that had units */
} StockMove;

/* flags of StockApply */
#define STOCK_DOCUMENT		0x01	/* a document's moves: may use the transitions and states documents own */

extern void StockApply(StockMove *moves, int nmoves, int flags);
extern void StockValidate(const StockMove *move, bool document);
extern bool StockMoveInPlace(const StockMove *move);
extern int64 StockDocumentMove(const char *ref, int64 item_id, int64 lot_id, int64 qty, int64 from_node_id,
							   StockState from, int64 to_node_id, StockState to, const char *event,
							   StockTakeKind take);
extern int64 StockGet(int64 item_id, int64 node_id, int64 lot_id, StockState state);
extern int64 StockOwnBalance(int64 item_id, int64 node_id, int64 lot_id, StockState state);

/* the state machine (state.c) */
typedef struct StockTransition
{
	StockState	from;
	StockState	to;
	bool		cross_node;
	char	   *event;
	char	   *engine;			/* "" when any move may use it */
} StockTransition;

extern const StockTransition *StockTransitionFind(StockState from, StockState to, const char *event);
extern char *StockTransitionsFrom(StockState from);
extern const char *StockDocumentOf(StockState state, const char **hint);
extern void StockStateInit(void);

/*
 * Ownership locks and the one global lock order (locks.c,
 * doc/concurrency.md "Deadlocks").  Tags of orders and of captured
 * external_refs come before every slot tag.  StockTagLock takes a tag:
 * waiting only where the order allows (may_wait, and every tag held is
 * smaller), else only trying; force waits whatever the order.
 */
/* kinds of document tags (the 16-bit field of the tag; 0 and 1 are orders and external refs) */
typedef enum StockTagKind
{
	STOCK_TAG_PURCHASE_ORDER = 2,
	STOCK_TAG_TRANSFER,
	STOCK_TAG_RMA,
	STOCK_TAG_ADJUSTMENT,
	STOCK_TAG_LOT
} StockTagKind;

extern void StockOrderTag(LOCKTAG *tag, int64 order_id);
extern void StockDocumentTag(LOCKTAG *tag, StockTagKind kind, int64 id);
extern void StockOwnTag(const LOCKTAG *tag, const char *what, const char *hint);
extern void StockOwnDocument(StockTagKind kind, int64 id, const char *what);
extern void StockExternalRefTag(LOCKTAG *tag, int64 channel_id, const char *external_ref);
extern void StockSlotTag(LOCKTAG *tag, int64 item_id, int64 node_id, int64 bin_id, int64 lot_id, int32 slot);
extern bool StockTagMayWait(const LOCKTAG *tag);
extern bool StockTagLock(const LOCKTAG *tag, bool may_wait, bool force);
extern bool StockTagHeld(const LOCKTAG *tag);
extern void StockTagRelease(const LOCKTAG *tag);

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

extern int	StockItemByNode(int64 item_id, StockNodeQty **out);

/* the per-state quantities of a key, summed over its slots (as committed, or this transaction's) */
extern void StockRead(const StockKey *key, int64 *qty_by_state);

/*
 * Per lot, the units of one state of an item at a node, read after owning
 * every slot of those lots (waiting where the lock order allows): only
 * owned slots count, so the quantities are exact or smaller (contended is
 * set when an unowned slot had units).  For a lot-tracked item's exact
 * first-expiry take; the caller then takes with STOCK_TAKE_ALL.
 */
typedef struct StockLotQty
{
	int64		lot_id;
	int64		qty;
} StockLotQty;

extern int	StockLockLots(int64 item_id, int64 node_id, StockState state, StockLotQty **lots, bool *contended);

/* slots.c internals shared with kernel.c */
extern bool StockSlotsTake(const StockMove *m, int64 *taken, bool *contended, int64 *held);
extern void StockSlotsAdd(const StockMove *m, int64 qty);
extern void StockSlotsInit(void);

/* the ledger (journal.c) */
extern void StockJournalAppend(StockMove *moves, int nmoves);
extern void StockJournalInit(void);

extern void StockIndexInsert(Relation rel, HeapTuple tup);

/* whether the kernel reads and writes its tables directly (one node) or through routed SQL (Citus) */
extern bool StockDirectAccess(void);

#endif							/* STOCK_KERNEL_H */
