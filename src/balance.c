/*-------------------------------------------------------------------------
 *
 * balance.c
 *	  The balances behind erp.stock_balance: adding units to and taking units
 *	  from a (item, node, lot, state) balance, and the guard that refuses
 *	  every other write to the table (IE005).
 *
 *	  A balance is the sum of one or more slot rows.  One slot is the norm.
 *	  When sessions contend for one balance (a flash sale of one SKU), writers
 *	  pick a slot no other transaction owns instead of queueing on one row
 *	  lock until the holder's commit is flushed.  A slot is owned through a
 *	  transaction-scoped lock on a tag of its own, taken before its row is
 *	  touched, so no slot statement ever waits for a row lock; ownership
 *	  locks (of slots, orders and captured external_refs) are waited for only
 *	  in one global order, else only tried, so order transactions cannot
 *	  deadlock (doc/concurrency.md, "Deadlocks").  An add never waits out of
 *	  order (it opens a slot of its own); a taker that finds no slot with
 *	  enough owns them all in slot order, takes what it needs exactly, and may
 *	  spread what remains over up to inventory_erp.balance_slots slots;
 *	  doc/concurrency.md explains why this never oversells.
 *
 *	  Only this file writes erp.stock_balance; it raises its write flag around
 *	  its own statements and the guard trigger refuses everything else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"

#include "access/transam.h"
#include "access/xact.h"

#include "ierp.h"
#include "orders_internal.h"

PG_FUNCTION_INFO_V1(ierp_balance_guard_write);

/* > 0 while this file runs one of its own writes of erp.stock_balance */
static int	balance_write_depth = 0;

/*
 * True while an order function moves units its order holds (orders.c,
 * BalanceSetTakesBacked): a take from reserved, picked or packed is then
 * covered by the order's own units and may book a shortfall in the slots it
 * owns as a negative overflow slot instead of waiting (BalanceTake).
 */
static bool balance_takes_backed = false;

/*
 * Set when an allocation's take got less than it asked for while slots of
 * the balance were owned by transactions it could not wait for (the global
 * order forbade it): the stock may be there, only held.  allocate.c then
 * leaves the line open for erp.allocate_pending instead of short.
 */
static bool balance_contended = false;

/* BalanceContended: whether a take was cut short by slots others owned since the last reset; resets when asked. */
bool
BalanceContended(bool reset)
{
	bool		was = balance_contended;

	if (reset)
		balance_contended = false;
	return was;
}

/* BalanceNoteContended: an allocation got less than it asked because of slots others owned. */
void
BalanceNoteContended(void)
{
	balance_contended = true;
}

/* BalanceSetTakesBacked: sets whether the takes that follow move a document's own units; returns the old value. */
bool
BalanceSetTakesBacked(bool backed)
{
	bool		old = balance_takes_backed;

	balance_takes_backed = backed;
	return old;
}

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
 * tag only when every tag it may hold is smaller (IerpTagMayWait); otherwise
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
 * The tag of one slot: (item, node, lot, state, slot), each cut to its
 * field (item 32 bits; node 16, lot 12 and state 4 bits; slot 16 bits).
 * Two slots that share a tag (ids beyond those widths) share one lock,
 * which only serialises them; the wait rule compares tags, so it holds
 * whatever the ids are.  Item 0's field is shared with order tags.
 */
static void
SlotTag(LOCKTAG *tag, const BalanceKey *key, int32 slot)
{
	uint32		f3 = ((uint32) (key->node_id & 0xFFFF) << 16) |
		((uint32) (key->lot_id & 0xFFF) << 4) | ((uint32) key->state & 0xF);

	SetTag(tag, (uint32) key->item_id, f3,
		   (uint16) (slot < 0 ? 0 : (slot > 0xFFFF ? 0xFFFF : slot)));
}

/* IerpOrderTag: the tag of an order; before every slot tag. */
void
IerpOrderTag(LOCKTAG *tag, int64 order_id)
{
	SetTag(tag, 0, (uint32) order_id, 0);
}

/* IerpExternalRefTag: the tag of a (channel, external_ref) being captured; before every slot tag. */
void
IerpExternalRefTag(LOCKTAG *tag, int64 channel_id, const char *external_ref)
{
	uint32		h = hash_bytes((const unsigned char *) external_ref, (int) strlen(external_ref));

	SetTag(tag, 0, h ^ (uint32) (channel_id * 2654435761u), 1);
}

/* IerpTagMayWait: whether waiting for tag keeps the global order (every tag held is smaller). */
bool
IerpTagMayWait(const LOCKTAG *tag)
{
	return tag_lxid != MyProc->lxid || TagCmpMax(tag) > 0;
}

/*
 * IerpTagLock: takes tag for this transaction; true when it holds it.
 * With may_wait, it waits for another holder when the global order allows
 * (IerpTagMayWait), else it only tries.  With force it waits whatever the
 * order (the one residual case, doc/concurrency.md).
 */
bool
IerpTagLock(const LOCKTAG *tag, bool may_wait, bool force)
{
	bool		wait = force || (may_wait && IerpTagMayWait(tag));

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

/* IerpTagRelease: gives back a tag this transaction took and did not use. */
void
IerpTagRelease(const LOCKTAG *tag)
{
	LockRelease(tag, ExclusiveLock, false);
}

/* SlotLock: takes the ownership lock of a slot (see IerpTagLock). */
static bool
SlotLock(const BalanceKey *key, int32 slot, bool may_wait, bool force)
{
	LOCKTAG		tag;

	SlotTag(&tag, key, slot);
	return IerpTagLock(&tag, may_wait, force);
}

/* BalanceMayWait: whether this transaction may wait for slot 0 of key (the smallest tag of that balance). */
bool
BalanceMayWait(const BalanceKey *key)
{
	LOCKTAG		tag;

	SlotTag(&tag, key, 0);
	return IerpTagMayWait(&tag);
}

/* BalanceLockSlot: takes the ownership lock of one slot; see IerpTagLock. */
bool
BalanceLockSlot(const BalanceKey *key, int32 slot, bool may_wait)
{
	return SlotLock(key, slot, may_wait, false);
}

#define KEY_WHERE \
	" b.item_id = $1 AND b.node_id = $2 AND COALESCE(b.lot_id, 0) = $3" \
	" AND b.state = $4::erp.stock_state"

static const Oid key_argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT4OID};

/* Fills the first four plan arguments from key. */
static void
KeyValues(const BalanceKey *key, Datum *values)
{
	values[0] = Int64GetDatum(key->item_id);
	values[1] = Int64GetDatum(key->node_id);
	values[2] = Int64GetDatum(key->lot_id);
	values[3] = CStringGetTextDatum(StockStateName(key->state));
}

/* Where a session starts looking among the slots, so sessions spread out. */
static int32
SlotOffset(void)
{
	return (int32) (MyProcPid % 64);
}

/* Runs a writing plan of this file on slots this transaction owns, with the guard's permission. */
static int
BalanceWrite(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount)
{
	int			ret;

	balance_write_depth++;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, tcount);
	}
	PG_FINALLY();
	{
		balance_write_depth--;
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "inventory_erp: balance write failed: %s", SPI_result_code_string(ret));
	return ret;
}

/* A slot row copied out of SPI's tuptable; held: this transaction owns it. */
typedef struct SlotRow
{
	int64		id;
	int64		qty;
	int32		slot;
	bool		held;
} SlotRow;

/*
 * The slot rows of a balance in slot order, read without row locks from a
 * fresh snapshot (*n of them).  Read after taking a slot's ownership lock,
 * its row is the newest version: its previous owner has ended.
 */
static SlotRow *
ReadSlots(const BalanceKey *key, uint64 *n)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	SlotRow    *rows;
	uint64		i;

	IerpPlan(&plan,
			 "SELECT b.stock_balance_id, b.qty, b.slot FROM erp.stock_balance b WHERE" KEY_WHERE
			 " ORDER BY b.slot",
			 4, key_argtypes);
	KeyValues(key, values);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: balance slot read failed");
	*n = SPI_processed;
	rows = palloc(sizeof(SlotRow) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		rows[i].id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		rows[i].qty = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		rows[i].slot = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		rows[i].held = false;
	}
	return rows;
}

/* Sets one owned slot row to qty. */
static void
SlotSet(int64 stock_balance_id, int64 qty)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID};
	Datum		values[2];

	IerpPlan(&plan, "UPDATE erp.stock_balance SET qty = $2 WHERE stock_balance_id = $1",
			 2, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	values[1] = Int64GetDatum(qty);
	BalanceWrite(plan, values, NULL, 0);
}

/* Deletes an owned overflow slot when empty. */
static void
SlotDelete(int64 stock_balance_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	Datum		values[1];

	IerpPlan(&plan, "DELETE FROM erp.stock_balance WHERE stock_balance_id = $1 AND qty = 0", 1, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	BalanceWrite(plan, values, NULL, 0);
}

/*
 * Takes qty from an owned slot row when it holds at least need; true when
 * it did.  An overflow slot that this empties is deleted.
 */
static bool
SlotTakeIf(int64 stock_balance_id, int64 qty, int64 need)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3];
	bool		isnull;
	int32		slot;
	int64		left;

	IerpPlan(&plan,
			 "UPDATE erp.stock_balance SET qty = qty - $2 WHERE stock_balance_id = $1 AND qty >= $3"
			 " RETURNING slot, qty",
			 3, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	values[1] = Int64GetDatum(qty);
	values[2] = Int64GetDatum(need);
	BalanceWrite(plan, values, NULL, 0);
	if (SPI_processed != 1)
		return false;
	slot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	left = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (left == 0 && slot >= ierp_balance_slots)
		SlotDelete(stock_balance_id);
	return true;
}

/* Adds qty to slot number slot (owned), creating the slot row when it does not exist. */
static void
SlotAdd(const BalanceKey *key, int32 slot, int64 qty)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];

	IerpPlan(&plan,
			 "INSERT INTO erp.stock_balance AS b (item_id, node_id, lot_id, state, slot, qty)"
			 " VALUES ($1, $2, NULLIF($3, 0), $4::erp.stock_state, $6, $5)"
			 " ON CONFLICT (item_id, node_id, (COALESCE(lot_id, 0)), state, slot)"
			 " DO UPDATE SET qty = b.qty + EXCLUDED.qty",
			 6, key_argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(slot);
	BalanceWrite(plan, values, NULL, 0);
}

/* Whether slot number s is among rows. */
static bool
SlotPresent(const SlotRow *rows, uint64 n, int32 s)
{
	uint64		i;

	for (i = 0; i < n; i++)
		if (rows[i].slot == s)
			return true;
	return false;
}

/*
 * Opens (or adds to) an overflow slot (numbered balance_slots or above) of
 * this session for an add that found every regular slot owned by others:
 * balance_slots + pgprocno first, so no other live session normally wants
 * that number, and its ownership lock is only tried: the add never waits.
 */
static void
SlotAddOverflow(const BalanceKey *key, int64 qty)
{
	int			k;

	for (k = 0; k < 64; k++)
	{
		int32		slot = ierp_balance_slots + MyProc->pgprocno + k * 1024;

		if (SlotLock(key, slot, false, false))
		{
			SlotAdd(key, slot, qty);
			return;
		}
	}
	elog(ERROR, "inventory_erp: no overflow slot free for item " INT64_FORMAT " at node " INT64_FORMAT,
		 key->item_id, key->node_id);
}

/*
 * Folds one overflow slot nobody owns into the owned regular slot
 * stock_balance_id: the overflow row is deleted and its units added.
 */
static void
MergeOverflow(const BalanceKey *key, int64 stock_balance_id, const SlotRow *rows, uint64 n)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr add_plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID};
	Datum		values[2];
	bool		isnull;
	int64		moved;
	uint64		i;

	for (i = 0; i < n; i++)
		if (rows[i].slot >= ierp_balance_slots && SlotLock(key, rows[i].slot, false, false))
			break;
	if (i == n)
		return;
	IerpPlan(&plan, "DELETE FROM erp.stock_balance WHERE stock_balance_id = $1 RETURNING qty", 1, argtypes);
	values[0] = Int64GetDatum(rows[i].id);
	BalanceWrite(plan, values, NULL, 0);
	if (SPI_processed != 1)
		return;
	moved = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (moved == 0)
		return;
	IerpPlan(&add_plan, "UPDATE erp.stock_balance SET qty = qty + $2 WHERE stock_balance_id = $1",
			 2, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	values[1] = Int64GetDatum(moved);
	BalanceWrite(add_plan, values, NULL, 0);
}

/*
 * BalanceAdd: adds qty units to a balance: to the first regular slot
 * (numbered below inventory_erp.balance_slots) whose ownership lock it gets
 * at once; else to the first free regular number it gets; else, when the
 * global order allows waiting, to one regular slot chosen by backend, after
 * waiting for it; else to an overflow slot of its own, which never waits.
 * An add also folds one unowned overflow slot back into the slot it used.
 */
void
BalanceAdd(const BalanceKey *key, int64 qty)
{
	static SPIPlanPtr add_plan = NULL;
	static const Oid add_types[] = {INT8OID, INT8OID};
	Datum		values[2];
	uint64		n,
				i;
	SlotRow    *rows = ReadSlots(key, &n);
	int32		s;

	IerpPlan(&add_plan, "UPDATE erp.stock_balance SET qty = qty + $2 WHERE stock_balance_id = $1",
			 2, add_types);
	for (i = 0; i < n; i++)
	{
		if (rows[i].slot >= ierp_balance_slots || !SlotLock(key, rows[i].slot, false, false))
			continue;
		values[0] = Int64GetDatum(rows[i].id);
		values[1] = Int64GetDatum(qty);
		BalanceWrite(add_plan, values, NULL, 0);
		if (SPI_processed == 1)
		{
			MergeOverflow(key, rows[i].id, rows, n);
			pfree(rows);
			return;
		}
		/* the row went away meanwhile (only overflow rows do): go on */
	}
	for (s = 0; s < ierp_balance_slots; s++)
		if (!SlotPresent(rows, n, s) && SlotLock(key, s, false, false))
		{
			SlotAdd(key, s, qty);
			pfree(rows);
			return;
		}
	pfree(rows);
	if (ierp_balance_slots > 0)
	{
		s = SlotOffset() % ierp_balance_slots;
		if (SlotLock(key, s, true, false))
		{
			SlotAdd(key, s, qty);
			return;
		}
	}
	SlotAddOverflow(key, qty);
}

/* BalanceOwnsSlot: whether this transaction owns slot number slot of key. */
bool
BalanceOwnsSlot(const BalanceKey *key, int32 slot)
{
	LOCKTAG		tag;

	SlotTag(&tag, key, slot);
	return LockHeldByMe(&tag, ExclusiveLock);
}

/*
 * Takes the ownership lock of every slot of a balance, in slot order:
 * waiting where the global order allows (may_wait), or whatever the order
 * (force), else trying.  Then reads the rows again (fresh snapshot: the
 * owners it waited for have ended) and tries the slots created meanwhile;
 * when it got one, it reads again, so that every owned row's quantity is
 * read after it was owned (a quantity read before could be stale, and the
 * exact take sets quantities).  Returns the rows (*nslots) with held set;
 * *total is the sum of the held rows: what this session can count on,
 * never more than is there.
 */
static SlotRow *
LockAllSlots(const BalanceKey *key, bool may_wait, bool force, uint64 *nslots, int64 *total)
{
	uint64		n,
				i;
	SlotRow    *rows = ReadSlots(key, &n);
	int			round;

	for (i = 0; i < n; i++)
		(void) SlotLock(key, rows[i].slot, may_wait, force);
	for (round = 0;; round++)
	{
		bool		more = false;

		pfree(rows);
		rows = ReadSlots(key, &n);
		for (i = 0; i < n; i++)
		{
			rows[i].held = BalanceOwnsSlot(key, rows[i].slot);
			if (!rows[i].held && round < 16 && SlotLock(key, rows[i].slot, false, false))
				more = true;
		}
		if (!more)
			break;
	}
	*total = 0;
	for (i = 0; i < n; i++)
		if (rows[i].held)
			*total += rows[i].qty;
	*nslots = n;
	return rows;
}

/*
 * Takes take units out of the owned rows, overflow slots first (rows come
 * in slot order, so from the end); an overflow slot that this empties is
 * deleted.
 */
static void
TakeFromRows(SlotRow *rows, uint64 n, int64 take)
{
	int64		left = take;
	uint64		k;

	for (k = n; k > 0 && left > 0; k--)
	{
		SlotRow    *r = &rows[k - 1];
		int64		part;

		if (!r->held || r->slot < ierp_balance_slots || r->qty <= 0)
			continue;
		part = Min(r->qty, left);
		SlotSet(r->id, r->qty - part);
		if (r->qty == part)
			SlotDelete(r->id);
		r->qty -= part;
		left -= part;
	}
	for (k = 0; k < n && left > 0; k++)
	{
		SlotRow    *r = &rows[k];
		int64		part = Min(r->qty, left);

		if (!r->held || part <= 0 || r->slot >= ierp_balance_slots)
			continue;
		SlotSet(r->id, r->qty - part);
		r->qty -= part;
		left -= part;
	}
	Assert(left == 0);
}

/* Orders rows[] candidates for a single-slot take: overflow slots first, then from the backend's offset. */
static int
FastOrderCmp(const void *a, const void *b)
{
	const SlotRow *x = (const SlotRow *) a;
	const SlotRow *y = (const SlotRow *) b;
	int32		off = SlotOffset();
	bool		xo = x->slot >= ierp_balance_slots;
	bool		yo = y->slot >= ierp_balance_slots;
	int32		xk,
				yk;

	if (xo != yo)
		return xo ? -1 : 1;
	xk = (x->slot + off) % 64;
	yk = (y->slot + off) % 64;
	if (xk != yk)
		return xk < yk ? -1 : 1;
	return x->slot < y->slot ? -1 : (x->slot > y->slot ? 1 : 0);
}

/*
 * The single-slot take: tries the slots that hold at least need (as read),
 * overflow first, then from the backend's offset; takes qty from the first
 * one it owns at once and that still holds need.  Never waits.
 */
static bool
TakeFast(const BalanceKey *key, int64 qty, int64 need)
{
	uint64		n,
				i;
	SlotRow    *rows = ReadSlots(key, &n);
	bool		done = false;

	qsort(rows, n, sizeof(SlotRow), FastOrderCmp);
	for (i = 0; i < n && !done; i++)
		if (rows[i].qty >= need && SlotLock(key, rows[i].slot, false, false))
			done = SlotTakeIf(rows[i].id, qty, need);
	pfree(rows);
	return done;
}

/*
 * BalanceTake: takes qty units out of a balance; false (and no change) when
 * the balance holds fewer, with *held set to what it holds once every slot
 * is owned.  Never leaves a slot below zero.  Waits for other sessions'
 * slots only where the global order allows it or, failing that, when the
 * slots it owns do not have qty (doc/concurrency.md: the one case left where
 * a wait may go against the order).
 */
bool
BalanceTake(const BalanceKey *key, int64 qty, int64 *held)
{
	int64		total;
	uint64		n,
				i;
	SlotRow    *rows;
	bool		all;

	if (TakeFast(key, qty, qty))
		return true;

	/* no single slot it could own at once holds enough: take exactly, as owner */
	rows = LockAllSlots(key, true, false, &n, &total);
	all = true;
	for (i = 0; i < n; i++)
		all = all && rows[i].held;
	if (total < qty && !all && balance_takes_backed &&
		(key->state == STATE_RESERVED || key->state == STATE_PICKED || key->state == STATE_PACKED))
	{
		/*
		 * A document's own units (an order's reserved, picked or packed
		 * units): they are in this balance, but in slots other transactions
		 * own.  Take what the owned slots have and book the rest as a
		 * negative quantity in an overflow slot of this session, instead of
		 * waiting against the order.  The balance (the sum) stays what the
		 * documents say, and never below zero: the units are there.
		 */
		int64		positive = 0,
					got;

		for (i = 0; i < n; i++)
			if (rows[i].held && rows[i].qty > 0)
				positive += rows[i].qty;
		got = Min(qty, positive);
		if (got > 0)
			TakeFromRows(rows, n, got);
		if (got < qty)
			SlotAddOverflow(key, -(qty - got));
		pfree(rows);
		return true;
	}
	if (total < qty && !all)
	{
		pfree(rows);
		rows = LockAllSlots(key, true, true, &n, &total);
	}
	*held = total;
	if (total < qty)
	{
		pfree(rows);
		return false;
	}
	TakeFromRows(rows, n, qty);
	pfree(rows);
	return true;
}

/*
 * BalanceTakeUpTo: takes as many of qty units out of a balance as it can
 * while leaving at least floor units in it, and returns how many (0..qty).
 * Either one slot it owns at once has qty + floor and gives qty, or (flash
 * sale) it waits for one such slot where the global order allows, or it
 * owns every slot it can and the exact total of those decides.  While it
 * holds them it may spread a large remainder over more slots, so the next
 * sessions find one of their own.  It never takes more than is there; under
 * contention, when the order forbids waiting, perhaps less.
 */
int64
BalanceTakeUpTo(const BalanceKey *key, int64 qty, int64 floor)
{
	int64		need = qty + floor;
	int64		total,
				take,
				target_slots,
				well_filled = 0;
	uint64		n,
				i;
	SlotRow    *rows;

	if (TakeFast(key, qty, need))
		return qty;

	/*
	 * No slot it could own at once holds enough.  When the balance is far
	 * above the floor (a flash sale in full swing), wait for one slot that
	 * holds need, chosen by backend so that waiting sessions form as many
	 * queues as there are slots, if the global order allows; near the floor,
	 * decide on the exact total of the slots it owns instead.
	 */
	rows = ReadSlots(key, &n);
	total = 0;
	for (i = 0; i < n; i++)
		total += rows[i].qty;
	if (total >= floor + qty * ((int64) ierp_balance_slots + 1))
	{
		SlotRow    *pick = NULL;

		qsort(rows, n, sizeof(SlotRow), FastOrderCmp);
		for (i = 0; i < n && pick == NULL; i++)
			if (rows[i].slot < ierp_balance_slots && rows[i].qty >= need)
				pick = &rows[i];
		if (pick && SlotLock(key, pick->slot, true, false) && SlotTakeIf(pick->id, qty, need))
		{
			int64		keep = pick->qty - qty;
			int64		add = 0;
			int32		s;
			int32	   *free = palloc(sizeof(int32) * Max(ierp_balance_slots, 1));
			int			nfree = 0;

			/*
			 * Too few slots for the sessions queueing here: move shares of
			 * this slot into free regular numbers it can own at once, as
			 * many as can each serve this request twice.  keep is as read;
			 * the row is re-read for the exact value below.
			 */
			for (s = 0; s < ierp_balance_slots; s++)
				if (!SlotPresent(rows, n, s))
					free[nfree++] = s;
			if (nfree > 0)
			{
				static SPIPlanPtr plan = NULL;
				static const Oid argtypes[] = {INT8OID};
				Datum		values[1];
				bool		isnull;

				IerpPlan(&plan, "SELECT qty FROM erp.stock_balance WHERE stock_balance_id = $1", 1, argtypes);
				values[0] = Int64GetDatum(pick->id);
				if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
					elog(ERROR, "inventory_erp: balance slot read failed");
				keep = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
				add = Min(nfree, keep / (2 * need) - 1);
			}
			if (add > 0)
			{
				int64		share = keep / (add + 1);
				int64		moved = 0;
				int			k;

				for (k = 0; k < add; k++)
					if (SlotLock(key, free[k], false, false))
					{
						SlotAdd(key, free[k], share);
						moved += share;
					}
				if (moved > 0)
					SlotSet(pick->id, keep - moved);
			}
			pfree(free);
			pfree(rows);
			return qty;
		}
	}
	pfree(rows);

	rows = LockAllSlots(key, true, false, &n, &total);
	take = Min(qty, total - floor);
	if (take < qty)
		for (i = 0; i < n; i++)
			if (!rows[i].held && rows[i].qty > 0)
				balance_contended = true;
	if (take <= 0)
	{
		pfree(rows);
		return 0;
	}

	/*
	 * Contention or fragmentation brought us here.  Spread what remains over
	 * as many slots as can each serve this request twice, when fewer than
	 * half of them can today and it owns every slot; otherwise take from the
	 * owned slots in order.  Overflow slots are emptied and deleted by either.
	 */
	target_slots = Min((int64) ierp_balance_slots, (total - take) / Max(2 * need, 1));
	for (i = 0; i < n; i++)
		if (rows[i].held && rows[i].qty >= need)
			well_filled++;
	{
		bool		all = true;
		int32		s;

		for (i = 0; i < n; i++)
			all = all && rows[i].held;
		/* the missing regular numbers below target_slots must be ownable too */
		for (s = 0; all && s < target_slots; s++)
			if (!SlotPresent(rows, n, s) && !SlotLock(key, s, false, false))
				all = false;
		if (all && target_slots >= 2 && well_filled * 2 < target_slots)
		{
			int64		remain = total - take;
			int64		share = remain / target_slots;
			int64		extra = remain % target_slots;

			for (s = 0; s < target_slots; s++)
			{
				int64		want = share + (s < extra ? 1 : 0);
				bool		found = false;

				for (i = 0; i < n; i++)
					if (rows[i].slot == s)
					{
						SlotSet(rows[i].id, want);
						found = true;
					}
				if (!found)
					SlotAdd(key, s, want);
			}
			for (i = 0; i < n; i++)
				if (rows[i].slot >= target_slots)
				{
					if (rows[i].qty != 0)
						SlotSet(rows[i].id, 0);
					if (rows[i].slot >= ierp_balance_slots)
						SlotDelete(rows[i].id);
				}
			pfree(rows);
			return take;
		}
	}
	TakeFromRows(rows, n, take);
	pfree(rows);
	return take;
}

/* BalanceGet: the committed-or-own balance (sum over its slots), without locking. */
int64
BalanceGet(const BalanceKey *key)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	bool		isnull;

	IerpPlan(&plan,
			 "SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b WHERE" KEY_WHERE,
			 4, key_argtypes);
	KeyValues(key, values);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: balance read failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * ierp_balance_guard_write: trigger on erp.stock_balance refusing INSERT
 * (row level), UPDATE, DELETE and TRUNCATE (statement level) unless the
 * ledger itself is writing.  Rows reloaded by pg_restore (history: their id
 * was never issued here) are let in.
 */
Datum
ierp_balance_guard_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_balance_guard_write must be called as a trigger");
	if (balance_write_depth > 0 && !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event)
			? PointerGetDatum(trigdata->tg_trigtuple) : PointerGetDatum(NULL);
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) && TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		bool		history;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		history = IerpRowIsHistory(trigdata->tg_relation, trigdata->tg_trigtuple, "stock_balance_id");
		SPI_finish();
		if (history)
			return PointerGetDatum(trigdata->tg_trigtuple);
	}
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("erp.stock_balance is derived from the ledger and cannot be written directly"),
			 errdetail("Balances change only when a move is recorded in erp.stock_move."),
			 errhint("Use erp.receive() or erp.move() to change stock.")));
	PG_RETURN_NULL();
}
