/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  Ownership locks and the one global lock order of the stock kernel
 *	  (doc/concurrency.md, "Deadlocks"): the tags of orders, of captured
 *	  external_refs and of balance slots, and the rule that a transaction
 *	  waits for a tag only when every tag it holds is smaller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"

#include "stock/locks.h"

/*
 * Ownership locks (doc/concurrency.md, "Deadlocks").  Every slot row is
 * owned through a transaction-scoped lock on a tag of its own (the item,
 * node, lot, state and slot number packed into a LOCKTAG_USERLOCK tag, a
 * tag type no PostgreSQL code uses), taken BEFORE the row is read for
 * writing, inserted, changed or deleted.  So no two transactions ever write
 * one slot at once, and a slot statement never waits for a row lock (nor
 * follows an update chain to a running transaction, as FOR UPDATE SKIP
 * LOCKED can).  Orders and captured external_refs have tags too, ordered
 * before every slot.
 *
 * The one global order is the order of the tags.  A transaction waits for a
 * tag only when every tag it may hold is smaller (StockTagMayWait); otherwise
 * it only tries (LockAcquire with dontWait) and decides on what it got.  The
 * largest tag this transaction took (tag_max, for transaction tag_lxid) is
 * an upper bound of what it holds: locks released early or by a rolled-back
 * subtransaction only make the rule stricter than needed.
 */
static LocalTransactionId tag_lxid = InvalidLocalTransactionId;
static uint32 tag_max2;
static uint32 tag_max3;
static uint16 tag_max4;

/* Compares tag a with the largest tag this transaction took. */
static int
TagCmpMax(const LOCKTAG *a)
{
	if (a->locktag_field2 != tag_max2)
		return a->locktag_field2 < tag_max2 ? -1 : 1;
	if (a->locktag_field3 != tag_max3)
		return a->locktag_field3 < tag_max3 ? -1 : 1;
	if (a->locktag_field4 != tag_max4)
		return a->locktag_field4 < tag_max4 ? -1 : 1;
	return 0;
}

static void
SetTag(LOCKTAG *tag, uint32 f2, uint32 f3, uint16 f4)
{
	tag->locktag_field1 = MyDatabaseId;
	tag->locktag_field2 = f2;
	tag->locktag_field3 = f3;
	tag->locktag_field4 = f4;
	tag->locktag_type = LOCKTAG_USERLOCK;
	tag->locktag_lockmethodid = USER_LOCKMETHOD;
}

/*
 * The tag of one slot row: (item, node, bin, lot, slot), each cut to its
 * field (item 32 bits; node 16 bits; lot and bin folded into 16 bits; slot
 * 16 bits).  Two slots that share a tag (ids beyond those widths) share one
 * lock, which only serialises them; the wait rule compares tags, so it
 * holds whatever the ids are.  Item 0's field is shared with order tags.
 */
void
StockSlotTag(LOCKTAG *tag, int64 item_id, int64 node_id, int64 bin_id, int64 lot_id, int32 slot)
{
	uint32		f3 = ((uint32) (node_id & 0xFFFF) << 16) |
		((uint32) ((lot_id ^ (bin_id << 8)) & 0xFFFF));

	SetTag(tag, (uint32) item_id, f3, (uint16) (slot < 0 ? 0 : (slot > 0xFFFF ? 0xFFFF : slot)));
}

/* StockOrderTag: the tag of an order; before every slot tag. */
void
StockOrderTag(LOCKTAG *tag, int64 order_id)
{
	SetTag(tag, 0, (uint32) order_id, 0);
}

/* StockExternalRefTag: the tag of a (channel, external_ref) being captured; before every slot tag. */
void
StockExternalRefTag(LOCKTAG *tag, int64 channel_id, const char *external_ref)
{
	uint32		h = hash_bytes((const unsigned char *) external_ref, (int) strlen(external_ref));

	SetTag(tag, 0, h ^ (uint32) (channel_id * 2654435761u), 1);
}

/* StockTagMayWait: whether waiting for tag keeps the global order (every tag held is smaller). */
bool
StockTagMayWait(const LOCKTAG *tag)
{
	return tag_lxid != MyProc->lxid || TagCmpMax(tag) > 0;
}

/*
 * StockTagLock: takes tag for this transaction; true when it holds it.
 * With may_wait, it waits for another holder when the global order allows
 * (StockTagMayWait), else it only tries.  With force it waits whatever the
 * order (no caller does any more: a take that would need it is refused
 * with 55P03 instead).
 */
bool
StockTagLock(const LOCKTAG *tag, bool may_wait, bool force)
{
	bool		wait = force || (may_wait && StockTagMayWait(tag));

	if (LockAcquire(tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	if (tag_lxid != MyProc->lxid || TagCmpMax(tag) > 0)
	{
		tag_lxid = MyProc->lxid;
		tag_max2 = tag->locktag_field2;
		tag_max3 = tag->locktag_field3;
		tag_max4 = tag->locktag_field4;
	}
	return true;
}

/* StockTagRelease: gives back a tag this transaction took and did not use. */
void
StockTagRelease(const LOCKTAG *tag)
{
	LockRelease(tag, ExclusiveLock, false);
}

/* StockTagHeld: whether this transaction holds tag. */
bool
StockTagHeld(const LOCKTAG *tag)
{
	return LockHeldByMe(tag, ExclusiveLock);
}

/*
 * StockDocumentTag: the tag of a document other than an order (a purchase
 * order, a transfer, a return, an adjustment) or of a new lot
 * being created (kind STOCK_TAG_LOT, id a hash of item and lot code); like
 * an order's, before every slot tag.
 */
void
StockDocumentTag(LOCKTAG *tag, StockTagKind kind, int64 id)
{
	SetTag(tag, 0, (uint32) id ^ (uint32) (id >> 32), (uint16) kind);
}

/*
 * StockOwnTag: owns tag for this transaction before its document is
 * touched: waits where the global lock order allows; otherwise tries for a
 * moment (a holder that only looks gives it back at once) and then refuses
 * with 55P03, so that no wait can close a deadlock.  what names the object
 * in the refusal ("transfer 12"); hint, when not NULL, replaces the
 * refusal's "Retry the transaction.".
 */
void
StockOwnTag(const LOCKTAG *tag, const char *what, const char *hint)
{
	int			tries;

	if (StockTagLock(tag, true, false))
		return;
	for (tries = 0; tries < 200; tries++)
	{
		CHECK_FOR_INTERRUPTS();
		pg_usleep(500L);
		if (StockTagLock(tag, false, false))
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("%s is being changed by another transaction", what),
			 errdetail("This transaction already holds stock or documents that come later in the lock order; waiting could deadlock."),
			 errhint("%s", hint ? hint : "Retry the transaction.")));
}

/* StockOwnDocument: owns a document (or a new lot) through its tag (StockDocumentTag, StockOwnTag). */
void
StockOwnDocument(StockTagKind kind, int64 id, const char *what)
{
	LOCKTAG		tag;

	StockDocumentTag(&tag, kind, id);
	StockOwnTag(&tag, what, NULL);
}
