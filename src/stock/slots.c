/*-------------------------------------------------------------------------
 *
 * slots.c
 *	  The balances of the stock kernel: erp.stock_slot, one row per
 *	  (item, node, bin, lot, slot) with one column per stock state, and the
 *	  takes and adds that moves make on them.  The balance of a state is the
 *	  sum of its column over the slots (the view erp.stock_balance).
 *
 *	  A move between two states of one balance (available -> reserved, the
 *	  move of every order) changes one slot row once.  One slot is the norm;
 *	  when sessions contend for one balance (a flash sale of one SKU),
 *	  writers pick a slot no other transaction owns instead of queueing on
 *	  one row until the holder's commit is flushed.  A slot is owned through
 *	  its ownership lock (locks.c), taken before its row is read for writing,
 *	  so no slot write ever waits for a row lock; ownership locks are waited
 *	  for only in the one global order, else only tried (doc/concurrency.md).
 *
 *	  A take of a state no document vouches for (available, quarantined,
 *	  ...) never leaves a slot below zero: it takes from one slot it owns at
 *	  once that holds enough, or it owns every slot and decides on their
 *	  exact total.  A take of units a document holds (STOCK_TAKE_HELD)
 *	  takes them from any slot it owns at once, booking that slot below zero
 *	  when the units sit in other slots.
 *
 *	  The rows themselves are read and written by slot_rows.c, directly or
 *	  routed; only the kernel writes erp.stock_slot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "stock/locks.h"
#include "stock/slots.h"
#include "stock/slot_rows.h"

static bool
SlotLock(const StockKey *key, int32 slot, bool may_wait, bool force)
{
	LOCKTAG		tag;

	StockSlotTag(&tag, key->item_id, key->node_id, key->bin_id, key->lot_id, slot);
	return StockTagLock(&tag, may_wait, force);
}

static bool
SlotOwned(const StockKey *key, int32 slot)
{
	LOCKTAG		tag;

	StockSlotTag(&tag, key->item_id, key->node_id, key->bin_id, key->lot_id, slot);
	return StockTagHeld(&tag);
}

/* Where a session starts looking among the slots, so sessions spread out. */
static int32
SlotOffset(void)
{
	return (int32) (MyProcPid % 64);
}

/*
 * Orders slot rows for a single-slot take: overflow slots first, then the
 * regular slots starting from the backend's own (its offset modulo
 * balance_slots), so that sessions start on different slots.  (Counting
 * from the offset modulo 64 sent every backend whose offset was at most
 * 64 - balance_slots to slot 0 first: half of them with 32 slots.)
 */
static int
SlotPreferenceCmp(const void *a, const void *b)
{
	const SlotRow *x = (const SlotRow *) a;
	const SlotRow *y = (const SlotRow *) b;
	int32		nreg = ierp_balance_slots;
	int32		start = SlotOffset() % nreg;
	bool		xo = x->slot >= nreg;
	bool		yo = y->slot >= nreg;
	int32		xk,
				yk;

	if (xo != yo)
		return xo ? -1 : 1;
	xk = (x->slot % nreg + nreg - start) % nreg;
	yk = (y->slot % nreg + nreg - start) % nreg;
	if (xk != yk)
		return xk < yk ? -1 : 1;
	return x->slot < y->slot ? -1 : (x->slot > y->slot ? 1 : 0);
}

static bool
SlotPresent(const SlotRow *rows, int n, int32 slot)
{
	int			i;

	for (i = 0; i < n; i++)
		if (rows[i].slot == slot)
			return true;
	return false;
}

/*
 * Owns one slot row of key for an add or a held take, never waiting out of
 * the global order: a slot it owns already or can own at once (regular
 * slots first), else a free regular number, else one regular slot chosen by
 * backend after waiting for it when the order allows, else an overflow slot
 * of its own (numbered balance_slots + pgprocno first).  *row is read after
 * owning it; *spilled says whether the balance has overflow slots.
 */
static void
OwnAnySlot(const StockKey *key, SlotRow *row, bool *spilled)
{
	SlotRow    *rows;
	int			n = SlotsRead(key, &rows);
	int			i,
				k;
	int32		s;

	*spilled = false;
	for (i = 0; i < n; i++)
		if (rows[i].slot >= ierp_balance_slots)
			*spilled = true;

	qsort(rows, n, sizeof(SlotRow), SlotPreferenceCmp);
	for (i = 0; i < n; i++)
		if (rows[i].slot < ierp_balance_slots && SlotLock(key, rows[i].slot, false, false))
			goto owned;
	for (s = 0; s < ierp_balance_slots; s++)
		if (!SlotPresent(rows, n, s) && SlotLock(key, s, false, false))
		{
			pfree(rows);
			SlotReadOne(key, s, row);
			return;
		}
	for (i = 0; i < n; i++)
		if (rows[i].slot >= ierp_balance_slots && SlotOwned(key, rows[i].slot))
			goto owned;
	pfree(rows);
	s = SlotOffset() % ierp_balance_slots;
	if (SlotLock(key, s, true, false))
	{
		SlotReadOne(key, s, row);
		return;
	}
	for (k = 0; k < 64; k++)
	{
		s = ierp_balance_slots + MyProc->pgprocno + k * 1024;
		if (SlotLock(key, s, false, false))
		{
			SlotReadOne(key, s, row);
			return;
		}
	}
	elog(ERROR, "inventory_erp: no slot free for item " INT64_FORMAT " at node " INT64_FORMAT,
		 key->item_id, key->node_id);

owned:
	s = rows[i].slot;
	pfree(rows);
	SlotReadOne(key, s, row);
}

/*
 * Owns every slot of key: waiting where the global order allows (may_wait)
 * or whatever the order (force), else trying.  Then reads the rows again
 * (the owners it waited for have ended) and tries the slots created
 * meanwhile, reading again when it got one, so that every owned row is read
 * after it was owned.  Returns the rows with held set.
 */
static int
OwnAllSlots(const StockKey *key, bool may_wait, bool force, SlotRow **out)
{
	SlotRow    *rows;
	int			n = SlotsRead(key, &rows);
	int			i,
				round;

	for (i = 0; i < n; i++)
		(void) SlotLock(key, rows[i].slot, may_wait, force);
	for (round = 0;; round++)
	{
		bool		more = false;

		pfree(rows);
		n = SlotsRead(key, &rows);
		for (i = 0; i < n; i++)
		{
			rows[i].held = SlotOwned(key, rows[i].slot);
			if (!rows[i].held && round < 16 && SlotLock(key, rows[i].slot, false, false))
				more = true;
		}
		if (!more)
			break;
	}
	*out = rows;
	return n;
}

/* ----------------------------------------------------------------
 * Takes and adds
 * ----------------------------------------------------------------
 */


/* Takes part units of m's source state from an owned row, adding them to its destination state when in place. */
static void
TakeFromRow(const StockMove *m, const StockKey *key, SlotRow *row, int64 part)
{
	int64		delta[NUM_STOCK_STATES];

	memset(delta, 0, sizeof(delta));
	delta[m->from_state] = -part;
	if (StockMoveInPlace(m))
		delta[m->to_state] += part;
	SlotChange(key, row, delta);
}

/*
 * Folds one overflow slot of key (numbered balance_slots or above) that it
 * can own at once into the owned regular row into: the overflow row goes
 * and its units join into.  rows are the slots as read.  The slots a
 * contended balance spilled into so do not pile up.
 */
static void
FoldOneOverflow(const StockKey *key, const SlotRow *rows, int n, SlotRow *into)
{
	int			i,
				s;

	if (into->slot >= ierp_balance_slots)
		return;
	for (i = 0; i < n; i++)
	{
		SlotRow		spill;
		int64		moved[NUM_STOCK_STATES];
		int64		minus[NUM_STOCK_STATES];

		if (rows[i].slot < ierp_balance_slots || !SlotLock(key, rows[i].slot, false, false))
			continue;
		SlotReadOne(key, rows[i].slot, &spill);
		if (!spill.present)
			continue;
		/* SlotChange updates the row it is given: keep what moves apart */
		for (s = 0; s < NUM_STOCK_STATES; s++)
		{
			moved[s] = spill.qty[s];
			minus[s] = -spill.qty[s];
		}
		SlotChange(key, &spill, minus);
		SlotChange(key, into, moved);
		return;
	}
}

/*
 * Folds every overflow slot of key into its first regular slot (creating
 * slot 0 when there is none and it can be owned at once), when this
 * transaction owns every slot (the exact take): the balance returns to its
 * regular rows, also when it has no units left to take.  Returns whether it
 * changed anything (the rows are then stale).
 */
static bool
FoldAllOverflow(const StockKey *key, SlotRow *rows, int n)
{
	SlotRow    *into = NULL;
	SlotRow		fresh;
	bool		changed = false;
	int			i,
				s;

	for (i = 0; i < n; i++)
		if (rows[i].slot >= ierp_balance_slots)
			break;
	if (i == n)
		return false;			/* no overflow slot */
	for (i = 0; i < n && into == NULL; i++)
		if (rows[i].slot < ierp_balance_slots)
			into = &rows[i];
	if (into == NULL)
	{
		if (!SlotLock(key, 0, false, false))
			return false;
		SlotReadOne(key, 0, &fresh);
		into = &fresh;
	}
	for (i = 0; i < n; i++)
	{
		int64		moved[NUM_STOCK_STATES];
		int64		minus[NUM_STOCK_STATES];

		if (rows[i].slot < ierp_balance_slots)
			continue;
		for (s = 0; s < NUM_STOCK_STATES; s++)
		{
			moved[s] = rows[i].qty[s];
			minus[s] = -rows[i].qty[s];
		}
		SlotChange(key, &rows[i], minus);
		SlotChange(key, into, moved);
		changed = true;
	}
	return changed;
}

/*
 * The single-slot take among rows (the slots as read): tries those that
 * hold at least need, overflow first, then from the backend's offset; takes
 * qty from the first one it owns at once and that, read again, still holds
 * need.  Never waits.  Frees rows.
 */
static bool
TakeFastFrom(const StockMove *m, const StockKey *key, int64 need, SlotRow *rows, int n)
{
	int			i;

	qsort(rows, n, sizeof(SlotRow), SlotPreferenceCmp);
	for (i = 0; i < n; i++)
	{
		SlotRow		row;

		if (rows[i].qty[m->from_state] < need || !SlotLock(key, rows[i].slot, false, false))
			continue;
		SlotReadOne(key, rows[i].slot, &row);
		if (row.qty[m->from_state] >= need)
		{
			TakeFromRow(m, key, &row, m->qty);
			FoldOneOverflow(key, rows, n, &row);
			pfree(rows);
			return true;
		}
	}
	pfree(rows);
	return false;
}

/*
 * The single-slot take: first among the rows allocation's availability
 * read just saw (SlotsReadRecent, no second scan), then, when none of them
 * served, among the rows read now.
 */
static bool
TakeFast(const StockMove *m, const StockKey *key, int64 need)
{
	SlotRow    *rows;
	int			n = SlotsReadRecent(key, &rows);

	if (n >= 0 && TakeFastFrom(m, key, need, rows, n))
		return true;
	n = SlotsRead(key, &rows);
	return TakeFastFrom(m, key, need, rows, n);
}

/*
 * Too few slots that can serve the sessions queueing on a balance: after a
 * take that had to wait, move half of what the owned slot keeps into one
 * other regular slot it can own at once, provided that half is at least
 * 2 x need: a free slot number first (the balance grows by one slot), else
 * a slot that no longer holds need (drained by the takes it served).  One
 * per wait, not up to balance_slots at once: two orders that meet once on a
 * balance under ordinary load would otherwise leave it spread over every
 * slot for good, and every read of the balance pays for each row; a real
 * crowd still reaches balance_slots after as many waits.  Refilling drained
 * slots keeps a long flash sale on as many slots as it has: halving a slot
 * per wait leaves the slots uneven, and without it the small ones run dry
 * one after the other while the large ones queue every session.  rows are
 * the slots as read before the wait.
 */
static void
ShareWithOneSlot(const StockMove *m, const StockKey *key, SlotRow *owned, int64 need,
				 const SlotRow *rows, int n)
{
	int64		share = owned->qty[m->from_state] / 2;
	int64		delta[NUM_STOCK_STATES];
	SlotRow		target;
	bool		found = false;
	int32		s;
	int			i;

	if (share < 2 * need)
		return;
	for (s = 0; s < ierp_balance_slots && !found; s++)
		if (!SlotPresent(rows, n, s) && SlotLock(key, s, false, false))
		{
			SlotReadOne(key, s, &target);
			found = true;
		}
	for (i = 0; i < n && !found; i++)
	{
		if (rows[i].slot >= ierp_balance_slots || rows[i].slot == owned->slot ||
			rows[i].qty[m->from_state] >= need || !SlotLock(key, rows[i].slot, false, false))
			continue;
		SlotReadOne(key, rows[i].slot, &target);
		found = target.qty[m->from_state] < need;
	}
	if (!found)
		return;
	memset(delta, 0, sizeof(delta));
	delta[m->from_state] = share;
	SlotChange(key, &target, delta);
	delta[m->from_state] = -share;
	SlotChange(key, owned, delta);
}

/*
 * A flash sale in full swing: the balance is far above the floor, but every
 * slot that holds enough is owned.  Waits for one such slot chosen by
 * backend (so that waiting sessions form as many queues as there are
 * slots) when the global order allows, takes qty, and moves a share of the
 * slot into one free regular number it can own at once, so that the
 * sessions that come next find more slots of their own.
 */
static bool
TakeWaitingForOne(const StockMove *m, const StockKey *key, int64 need)
{
	SlotRow    *rows;
	int			n = SlotsRead(key, &rows);
	int64		total = 0;
	int			i;
	SlotRow    *pick = NULL;
	SlotRow		row;

	for (i = 0; i < n; i++)
		total += rows[i].qty[m->from_state];
	if (total < m->floor + m->qty * ((int64) ierp_balance_slots + 1))
	{
		pfree(rows);
		return false;
	}
	qsort(rows, n, sizeof(SlotRow), SlotPreferenceCmp);
	for (i = 0; i < n && pick == NULL; i++)
		if (rows[i].slot < ierp_balance_slots && rows[i].qty[m->from_state] >= need)
			pick = &rows[i];
	if (pick == NULL || !SlotLock(key, pick->slot, true, false))
	{
		pfree(rows);
		return false;
	}
	SlotReadOne(key, pick->slot, &row);
	if (row.qty[m->from_state] < need)
	{
		pfree(rows);
		return false;
	}
	TakeFromRow(m, key, &row, m->qty);
	ShareWithOneSlot(m, key, &row, need, rows, n);
	pfree(rows);
	return true;
}

/*
 * Refuses (55P03) a take whose units may sit in slots other transactions own
 * while the global lock order forbids waiting for them: waiting could close
 * a deadlock; the caller retries the transaction.
 */
static void
RefuseOutOfOrder(int64 item_id, int64 node_id, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("stock of sku \"%s\" at node \"%s\" is being changed by another transaction",
					IerpItemSku(item_id), IerpNodeCode(node_id)),
			 errdetail("%s", detail),
			 errhint("Retry the transaction, or move the items of one transaction in item order.")));
}

/*
 * The exact take: owns every slot (OwnAllSlots, waiting only in the
 * global lock order), decides on the total of the owned rows, takes from
 * them (overflow slots first), and, under contention with a large
 * remainder, spreads the source state over as many slots as can each serve
 * this request twice.  Returns the units taken (-1 when fewer than
 * want_at_least are there); *held is the owned total.  An exact take
 * (want_at_least > 0) that owns too few units while others own the rest is
 * refused (55P03) rather than wait out of order.
 */
static int64
TakeExact(const StockMove *m, const StockKey *key, int64 want_at_least, bool *contended, int64 *held)
{
	SlotRow    *rows;
	int			n = OwnAllSlots(key, true, false, &rows);
	int64		total = 0;
	int64		take;
	int64		need = m->qty + m->floor;
	bool		all = true;
	int			i;
	StockState	st = m->from_state;

	for (i = 0; i < n; i++)
	{
		all = all && rows[i].held;
		if (rows[i].held)
			total += rows[i].qty[st];
	}
	if (all && FoldAllOverflow(key, rows, n))
	{
		/* owning every slot: the overflow slots went into a regular one; read them again */
		pfree(rows);
		n = SlotsRead(key, &rows);
		total = 0;
		for (i = 0; i < n; i++)
		{
			/* a slot another session opened meanwhile is not this transaction's */
			rows[i].held = SlotOwned(key, rows[i].slot);
			all = all && rows[i].held;
			if (rows[i].held)
				total += rows[i].qty[st];
		}
	}
	if (total < want_at_least && !all)
	{
		RefuseOutOfOrder(m->item_id, m->from_node_id,
						 psprintf("The slots this transaction owns hold " INT64_FORMAT " %s units of the " INT64_FORMAT
								  " asked for; this transaction already holds stock or orders that come later in the lock order, "
								  "so waiting for the others could deadlock.",
								  total, StockStateName(st), want_at_least));
	}
	*held = total;
	take = Min(m->qty, total - m->floor);
	if (take < m->qty)
		for (i = 0; i < n; i++)
			if (!rows[i].held && rows[i].qty[st] > 0)
				*contended = true;
	if (want_at_least > 0 && take < want_at_least)
	{
		pfree(rows);
		return -1;
	}
	if (take <= 0)
	{
		pfree(rows);
		return 0;
	}

	{
		/* one slot more than the balance has, as in TakeWaitingForOne */
		int64		target_slots = Min(Min((int64) ierp_balance_slots, (int64) n + 1),
									   (total - take) / Max(2 * need, 1));
		int64		well_filled = 0;
		int32		s;

		for (i = 0; i < n; i++)
			if (rows[i].held && rows[i].qty[st] >= need)
				well_filled++;
		for (s = 0; all && s < target_slots; s++)
			if (!SlotPresent(rows, n, s) && !SlotLock(key, s, false, false))
				all = false;
		if (all && target_slots >= 2 && well_filled * 2 < target_slots)
		{
			/* contention brought us here: the remainder, spread evenly over target_slots rows */
			int64		remain = total - take;
			int64		share = remain / target_slots;
			int64		extra = remain % target_slots;
			bool		in_place = StockMoveInPlace(m);
			bool		added = !in_place;

			for (i = 0; i < n; i++)
			{
				int64		delta[NUM_STOCK_STATES];

				memset(delta, 0, sizeof(delta));
				if (rows[i].slot < target_slots)
					delta[st] = share + (rows[i].slot < extra ? 1 : 0) - rows[i].qty[st];
				else
					delta[st] = -rows[i].qty[st];
				if (!added)
				{
					delta[m->to_state] += take;
					added = true;
				}
				SlotChange(key, &rows[i], delta);
			}
			for (s = 0; s < target_slots; s++)
				if (!SlotPresent(rows, n, s))
				{
					SlotRow		fresh;
					int64		delta[NUM_STOCK_STATES];

					SlotReadOne(key, s, &fresh);
					memset(delta, 0, sizeof(delta));
					delta[st] = share + (s < extra ? 1 : 0);
					if (!added)
					{
						delta[m->to_state] += take;
						added = true;
					}
					SlotChange(key, &fresh, delta);
				}
			pfree(rows);
			return take;
		}
	}

	/* take from the owned rows: overflow slots first (from the end), then regular ones */
	{
		int64		left = take;
		int			k;

		for (k = n - 1; k >= 0 && left > 0; k--)
		{
			int64		part;

			if (!rows[k].held || rows[k].slot < ierp_balance_slots || rows[k].qty[st] <= 0)
				continue;
			part = Min(rows[k].qty[st], left);
			TakeFromRow(m, key, &rows[k], part);
			left -= part;
		}
		for (k = 0; k < n && left > 0; k++)
		{
			int64		part;

			if (!rows[k].held || rows[k].slot >= ierp_balance_slots || rows[k].qty[st] <= 0)
				continue;
			part = Min(rows[k].qty[st], left);
			TakeFromRow(m, key, &rows[k], part);
			left -= part;
		}
		Assert(left == 0);
	}
	pfree(rows);
	return take;
}

/*
 * StockSlotsTake: takes the units of move m from its source balance (and,
 * for a change of state in place, adds them to the destination state of
 * the same rows).  Sets *taken; returns false, changing nothing, when a
 * STOCK_TAKE_ALL source holds fewer than qty (*held: what it holds).
 */
bool
StockSlotsTake(const StockMove *m, int64 *taken, bool *contended, int64 *held)
{
	StockKey	key = {m->item_id, m->from_node_id, m->from_bin_id, m->lot_id};
	int64		got;
	bool		spilled;

	*contended = false;
	*held = 0;
	if (m->take == STOCK_TAKE_HELD)
	{
		SlotRow		row;

		OwnAnySlot(&key, &row, &spilled);
		TakeFromRow(m, &key, &row, m->qty);
		if (spilled && row.slot < ierp_balance_slots)
		{
			SlotRow    *rows;
			int			n = SlotsRead(&key, &rows);

			FoldOneOverflow(&key, rows, n, &row);
			pfree(rows);
		}
		*taken = m->qty;
		return true;
	}
	if (TakeFast(m, &key, m->qty + m->floor))
	{
		*taken = m->qty;
		return true;
	}
	if (m->take == STOCK_TAKE_UP_TO && TakeWaitingForOne(m, &key, m->qty + m->floor))
	{
		*taken = m->qty;
		return true;
	}
	got = TakeExact(m, &key, m->take == STOCK_TAKE_ALL ? m->qty : 0, contended, held);
	if (got < 0)
		return false;
	*taken = got;
	return true;
}

/*
 * StockSlotsAdd: adds qty units to the destination state of m, in a slot it
 * owns at once where it can.  An add to a regular slot also folds one
 * overflow slot it can own at once into it (the overflow row goes), so that
 * the slots a contended balance spilled into do not pile up.
 */
void
StockSlotsAdd(const StockMove *m, int64 qty)
{
	StockKey	key = {m->item_id, m->to_node_id, m->to_bin_id, m->lot_id};
	SlotRow		row;
	int64		delta[NUM_STOCK_STATES];

	bool		spilled;

	OwnAnySlot(&key, &row, &spilled);
	memset(delta, 0, sizeof(delta));
	delta[m->to_state] = qty;
	SlotChange(&key, &row, delta);
	if (spilled && row.slot < ierp_balance_slots)
	{
		SlotRow    *rows;
		int			n = SlotsRead(&key, &rows);

		FoldOneOverflow(&key, rows, n, &row);
		pfree(rows);
	}
}

/* StockRead: the quantity per state of a balance key, summed over its slots, without locking. */
void
StockRead(const StockKey *key, int64 *qty_by_state)
{
	SlotRow    *rows;
	int			n = SlotsRead(key, &rows);
	int			i,
				s;

	memset(qty_by_state, 0, sizeof(int64) * NUM_STOCK_STATES);
	for (i = 0; i < n; i++)
		for (s = 0; s < NUM_STOCK_STATES; s++)
			qty_by_state[s] += rows[i].qty[s];
	pfree(rows);
}

/* StockGet: one state of a node's balance (the node's stock outside bins). */
int64
StockGet(int64 item_id, int64 node_id, int64 lot_id, StockState state)
{
	StockKey	key = {item_id, node_id, 0, lot_id};
	int64		qty[NUM_STOCK_STATES];

	StockRead(&key, qty);
	return qty[state];
}

/* Orders lot quantities by lot id. */
static int
LotQtyCmp(const void *a, const void *b)
{
	const StockLotQty *x = a,
			   *y = b;

	return x->lot_id < y->lot_id ? -1 : (x->lot_id > y->lot_id ? 1 : 0);
}

/* One (bin, lot) balance of an item at a node, with the tag its slot 0 has (StockLockLots). */
typedef struct BinLotKey
{
	int64		bin_id;
	int64		lot_id;
	uint32		tag3;			/* the tag field that bin and lot fold into (locks.c) */
} BinLotKey;

/* Orders (bin, lot) keys as their slots' tags are ordered (the global lock order), then by bin and lot. */
static int
BinLotKeyCmp(const void *a, const void *b)
{
	const BinLotKey *x = a,
			   *y = b;

	if (x->tag3 != y->tag3)
		return x->tag3 < y->tag3 ? -1 : 1;
	if (x->bin_id != y->bin_id)
		return x->bin_id < y->bin_id ? -1 : 1;
	return x->lot_id < y->lot_id ? -1 : (x->lot_id > y->lot_id ? 1 : 0);
}

/*
 * StockLockLots: see slots.h.  The lots of the item at the node are those
 * with a slot row, in any bin: stock outside bins (bin 0) and every bin of
 * the node, so that a lot put away into bins is allocated like one that
 * was not.  Every slot of each (bin, lot) key is owned, the keys in the
 * order of their tags (the global lock order: item, node, then bin and lot
 * as locks.c folds them, then slot), waiting only where that order allows
 * (decided once for the smallest tag of the node, then per tag by
 * StockTagLock); only owned slots count, and the units are summed per lot
 * over its bins.  The caller's take then names no bin: at a node with bins
 * the kernel spreads it over the lot's bins (StockBinsTake, stock/bins.c),
 * whose slots this transaction owns already.
 */
int
StockLockLots(int64 item_id, int64 node_id, StockState state, StockLotQty **out, bool *contended)
{
	static SPIPlanPtr plan = NULL;
	LOCKTAG		first;
	bool		wait;
	BinLotKey  *keys;
	int			nkeys = 0,
				nlots = 0,
				k;
	StockLotQty *lots;
	uint64		i;

	StockSlotTag(&first, item_id, node_id, 0, 0, 0);
	wait = StockTagMayWait(&first);
	*contended = false;
	IerpPlan(&plan,
			 "SELECT DISTINCT bin_id, lot_id FROM erp.stock_slot"
			 " WHERE item_id = $1 AND node_id = $2 ORDER BY bin_id, lot_id",
			 2, (Oid[]) {INT8OID, INT8OID});
	/* not read-only: a fresh snapshot, which sees the bins and lots of transactions committed meanwhile */
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the lots of a balance");
	keys = palloc(sizeof(BinLotKey) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		LOCKTAG		tag;

		keys[nkeys].bin_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		keys[nkeys].lot_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		StockSlotTag(&tag, item_id, node_id, keys[nkeys].bin_id, keys[nkeys].lot_id, 0);
		keys[nkeys].tag3 = tag.locktag_field3;
		nkeys++;
	}
	SPI_freetuptable(SPI_tuptable);
	if (nkeys > 1)
		qsort(keys, nkeys, sizeof(BinLotKey), BinLotKeyCmp);

	/* each key's owned units, then summed per lot over its bins */
	lots = palloc0(sizeof(StockLotQty) * Max(nkeys, 1));
	for (k = 0; k < nkeys; k++)
	{
		StockKey	key = {item_id, node_id, keys[k].bin_id, keys[k].lot_id};
		SlotRow    *rows;
		int			n = OwnAllSlots(&key, wait, false, &rows);
		int			r;

		lots[k].lot_id = keys[k].lot_id;
		for (r = 0; r < n; r++)
		{
			if (rows[r].held)
				lots[k].qty += rows[r].qty[state];
			else if (rows[r].qty[state] > 0)
				*contended = true;
		}
		pfree(rows);
	}
	if (nkeys > 1)
		qsort(lots, nkeys, sizeof(StockLotQty), LotQtyCmp);
	for (k = 0; k < nkeys; k++)
	{
		if (nlots > 0 && lots[nlots - 1].lot_id == lots[k].lot_id)
			lots[nlots - 1].qty += lots[k].qty;
		else
			lots[nlots++] = lots[k];
	}
	pfree(keys);
	*out = lots;
	return nlots;
}


/* A lot's owned available units, with what first-expiry-first-out orders it by. */
typedef struct FefoLot
{
	int64		lot_id;
	char	   *lot_code;
	bool		has_expiry;
	DateADT		expires_on;
	int64		qty;
} FefoLot;

/* First expiry first; lots without an expiry date last; then by lot id. */
static int
FefoLotCmp(const void *a, const void *b)
{
	const FefoLot *x = a,
			   *y = b;

	if (x->has_expiry != y->has_expiry)
		return x->has_expiry ? -1 : 1;
	if (x->has_expiry && x->expires_on != y->expires_on)
		return x->expires_on < y->expires_on ? -1 : 1;
	return x->lot_id < y->lot_id ? -1 : (x->lot_id > y->lot_id ? 1 : 0);
}

/*
 * StockLotsFefo: see slots.h.  The lots that count are those the
 * transaction owns units of (StockLockLots, over the node's bins) and that
 * are promisable: no expiry, no shelf-life floor, or an expiry at least
 * min_shelf_days from today (the rule erp.atp applies).
 */
int64
StockLotsFefo(int64 item_id, int64 node_id, int32 min_shelf_days, int64 want, int64 floor,
			  StockLotTake **parts, int *nparts, bool *contended)
{
	static SPIPlanPtr plan = NULL;
	StockLotQty *held;
	int			nheld,
				nlots = 0,
				n = 0,
				l,
				h;
	uint64		i;
	FefoLot    *lots;
	StockLotTake *out;
	int64		promisable = 0,
				take,
				left;

	Datum	   *held_ids;
	int			nheld_ids = 0;

	nheld = StockLockLots(item_id, node_id, STATE_AVAILABLE, &held, contended);
	/* only the lots this transaction owns units of: an item's old, empty lots are not read */
	held_ids = palloc(sizeof(Datum) * Max(nheld, 1));
	for (h = 0; h < nheld; h++)
		if (held[h].qty > 0)
			held_ids[nheld_ids++] = Int64GetDatum(held[h].lot_id);
	IerpPlan(&plan,
			 "SELECT lot_id, lot_code, expires_on,"
			 "       (expires_on IS NULL OR $2 = 0 OR expires_on >= CURRENT_DATE + $2)"
			 "  FROM erp.lot WHERE item_id = $1 AND lot_id = ANY ($3)",
			 3, (Oid[]) {INT8OID, INT4OID, INT8ARRAYOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int32GetDatum(min_shelf_days),
						 PointerGetDatum(construct_array(held_ids, nheld_ids, INT8OID, sizeof(int64),
														 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read lots");
	pfree(held_ids);
	lots = palloc0(sizeof(FefoLot) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		exp;

		/* held is in lot id order: a binary search would do, a scan is as fast for a few lots */
		for (h = 0; h < nheld; h++)
			if (held[h].lot_id == lot_id)
				break;
		if (h == nheld || held[h].qty <= 0)
			continue;
		if (!DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
			continue;			/* too little shelf life left: never promised */
		lots[nlots].lot_id = lot_id;
		lots[nlots].qty = held[h].qty;
		lots[nlots].lot_code = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		exp = SPI_getbinval(tup, desc, 3, &isnull);
		lots[nlots].has_expiry = !isnull;
		lots[nlots].expires_on = isnull ? 0 : DatumGetDateADT(exp);
		promisable += lots[nlots].qty;
		nlots++;
	}
	SPI_freetuptable(SPI_tuptable);
	if (nlots > 1)
		qsort(lots, nlots, sizeof(FefoLot), FefoLotCmp);
	take = Max(Min(want, promisable - floor), 0);
	out = palloc0(sizeof(StockLotTake) * Max(nlots, 1));
	left = take;
	for (l = 0; l < nlots && left > 0; l++)
	{
		out[n].lot_id = lots[l].lot_id;
		out[n].lot_code = lots[l].lot_code;
		out[n].qty = Min(left, lots[l].qty);
		left -= out[n].qty;
		n++;
	}
	pfree(held);
	pfree(lots);
	*parts = out;
	*nparts = n;
	return take;
}


/*
 * StockOwnBalance: one state of a node's balance (outside bins), read after
 * owning every slot of it for this transaction (waiting only in the global
 * lock order): exact, and no other transaction changes it until this one
 * ends.  Refuses with 55P03 when slots stay owned by transactions the lock
 * order forbids waiting for.  For a count, which sets the balance to what
 * was found.
 */
int64
StockOwnBalance(int64 item_id, int64 node_id, int64 lot_id, StockState state)
{
	StockKey	key = {item_id, node_id, 0, lot_id};
	SlotRow    *rows;
	int			n = OwnAllSlots(&key, true, false, &rows);
	int64		total = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!rows[i].held)
			RefuseOutOfOrder(item_id, node_id,
							 "This transaction already holds stock or orders that come later in the lock order; waiting could deadlock.");
		total += rows[i].qty[state];
	}
	pfree(rows);
	return total;
}
