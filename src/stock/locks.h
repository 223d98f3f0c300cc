/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  Ownership locks and the one global lock order (locks.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_LOCKS_H
#define STOCK_LOCKS_H

#include "postgres.h"

#include "storage/lock.h"

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

#endif							/* STOCK_LOCKS_H */
