/*-------------------------------------------------------------------------
 *
 * slot_rows.h
 *	  The slot rows of erp.stock_slot as the kernel's take and add logic
 *	  (slots.c) sees them, read and written by slot_rows.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_SLOT_ROWS_H
#define STOCK_SLOT_ROWS_H

#include "storage/itemptr.h"

#include "access/htup.h"
#include "utils/relcache.h"

#include "stock/move.h"

/* One slot row as read: its number, where its version lives, its quantity per state. */
typedef struct SlotRow
{
	int32		slot;
	bool		present;		/* the row exists (else it would be inserted) */
	bool		held;			/* this transaction owns it */
	ItemPointerData tid;		/* direct access: the version read */
	int64		qty[NUM_STOCK_STATES];
} SlotRow;

extern int	SlotsRead(const StockKey *key, SlotRow **rows);
extern int	SlotsReadRecent(const StockKey *key, SlotRow **rows);
extern void SlotReadOne(const StockKey *key, int32 slot, SlotRow *row);
extern void SlotChange(const StockKey *key, SlotRow *row, const int64 *delta);

/* the per-node quantities of an item; the relations' setup; index upkeep; direct or routed */
extern int	StockItemByNode(int64 item_id, StockNodeQty **out);
extern void StockSlotsInit(void);
extern void StockIndexInsert(Relation rel, HeapTuple tup);	/* index_insert.c */
/* whether the kernel reads and writes its tables directly (one node) or through routed SQL (Citus) */
extern bool StockDirectAccess(void);	/* access_path.c */
extern void StockAccessPathInit(void);
extern bool StockShardWriteRouted(Relation rel);

#endif							/* STOCK_SLOT_ROWS_H */
