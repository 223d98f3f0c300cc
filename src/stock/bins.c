/*-------------------------------------------------------------------------
 *
 * bins.c
 *	  Bins in the stock kernel.  A bin is a dimension of the balance key
 *	  (item, node, bin, lot): bin 0 is a node's stock outside bins, where
 *	  receiving, transfers and returns put units, and the only bin of a
 *	  node that has none.  Moves that name a bin take from or add to it
 *	  exactly.  A move that names no bin (bin 0) at a node that has bins
 *	  takes its units from the node as a whole: first from the stock
 *	  outside bins, then from the bins in bin id order (the global lock
 *	  order); a change of state in place (allocate, release, hold) keeps
 *	  the units in the bin they are in, any other move takes them out of
 *	  it.  Each bin a move took from gets its own ledger row, so the ledger
 *	  names every bin's units (doc/warehouse.md).
 *
 *	  A count of one bin owns that bin's balance before reading it
 *	  (StockOwnBinBalance), as a count of a node's stock outside bins does
 *	  (StockOwnBalance, slots.c).
 *
 *	  Which nodes have bins is cached per backend and dropped when erp.bin
 *	  changes (its statement trigger erp.reload_rules()); a node without
 *	  bins costs one lookup in that cache per move.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/memutils.h"

#include "stock/bins.h"
#include "stock/locks.h"
#include "stock/slot_rows.h"
#include "stock/slots.h"

/* the nodes with at least one bin, sorted; valid while bins_loaded */
static int64 *bin_nodes = NULL;
static int	nbin_nodes = 0;
static bool bins_loaded = false;
static Oid	bin_relid = InvalidOid;

static void
BinsRelcacheInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == bin_relid)
		bins_loaded = false;
}

/* Loads the sorted list of nodes that have bins (inside SPI). */
static void
BinsLoad(void)
{
	static SPIPlanPtr plan = NULL;
	uint64		i;
	int64	   *nodes;

	bin_relid = IerpRelid("bin");
	if (!OidIsValid(bin_relid))
	{
		nbin_nodes = 0;
		bins_loaded = true;
		return;
	}
	IerpPlan(&plan, "SELECT DISTINCT node_id FROM erp.bin ORDER BY node_id", 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the bins");
	nodes = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		nodes[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (bin_nodes)
		pfree(bin_nodes);
	bin_nodes = nodes;
	nbin_nodes = (int) SPI_processed;
	bins_loaded = true;
}

/* StockNodeHasBins: whether node has any bin (active or not).  Must run inside SPI. */
bool
StockNodeHasBins(int64 node_id)
{
	int			lo,
				hi;

	if (!bins_loaded)
		BinsLoad();
	lo = 0;
	hi = nbin_nodes - 1;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (bin_nodes[mid] == node_id)
			return true;
		if (bin_nodes[mid] < node_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* StockBinRead: the facts of bin bin_id; false when there is no such bin.  Inside SPI. */
bool
StockBinRead(int64 bin_id, StockBinInfo *info)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	HeapTuple	tup;

	IerpPlan(&plan, "SELECT node_id, active, code FROM erp.bin WHERE bin_id = $1", 1, argtypes);
	values[0] = Int64GetDatum(bin_id);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read bin " INT64_FORMAT, bin_id);
	if (SPI_processed != 1)
		return false;
	tup = SPI_tuptable->vals[0];
	info->bin_id = bin_id;
	info->node_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
	info->active = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
	info->code = SPI_getvalue(tup, SPI_tuptable->tupdesc, 3);
	return true;
}

/*
 * StockBinCheck: a move that names a bin names a bin of its node, and one
 * that puts units into a bin puts them into an active one.  The public
 * functions look bins up by code per node and refuse with IE003/IE010
 * first; this guards the kernel's own contract.
 */
void
StockBinCheck(const StockMove *m)
{
	StockBinInfo info;

	if (m->from_bin_id != 0)
	{
		if (m->from_state == STATE_OUTSIDE || !StockBinRead(m->from_bin_id, &info) ||
			info.node_id != m->from_node_id)
			elog(ERROR, "inventory_erp: bin " INT64_FORMAT " is not a bin of node " INT64_FORMAT,
				 m->from_bin_id, m->from_node_id);
	}
	if (m->to_bin_id != 0 && m->to_bin_id != m->from_bin_id)
	{
		if (m->to_state == STATE_OUTSIDE || !StockBinRead(m->to_bin_id, &info) ||
			info.node_id != m->to_node_id)
			elog(ERROR, "inventory_erp: bin " INT64_FORMAT " is not a bin of node " INT64_FORMAT,
				 m->to_bin_id, m->to_node_id);
		if (!info.active)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("bin \"%s\" at node \"%s\" is inactive", info.code, IerpNodeCode(m->to_node_id)),
					 errdetail("An inactive bin takes no new units."),
					 errhint("Choose an active bin (erp.suggest_bin), or set erp.bin.active.")));
	}
}

/* StockBinsOfBalance: the bins other than 0 with a slot row of the item, node and lot, in bin id order. */
int
StockBinsOfBalance(int64 item_id, int64 node_id, int64 lot_id, int64 **out)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3];
	int64	   *bins;
	uint64		i;

	IerpPlan(&plan,
			 "SELECT DISTINCT bin_id FROM erp.stock_slot"
			 " WHERE item_id = $1 AND node_id = $2 AND lot_id = $3 AND bin_id <> 0 ORDER BY bin_id",
			 3, argtypes);
	values[0] = Int64GetDatum(item_id);
	values[1] = Int64GetDatum(node_id);
	values[2] = Int64GetDatum(lot_id);
	/* not read-only: a fresh snapshot, which sees bins filled by transactions a take waited for */
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the bins of a balance");
	bins = palloc(sizeof(int64) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		bins[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	*out = bins;
	return (int) SPI_processed;
}

/* One part of a spread take: up to qty units from bin (as take), added where the move puts them. */
static int64
TakePart(const StockMove *m, int64 bin_id, int64 qty, StockTakeKind take, bool in_place,
		 StockMove *part, bool *contended)
{
	int64		got = 0;
	int64		held;
	bool		cont = false;

	*part = *m;
	part->from_bin_id = bin_id;
	part->to_bin_id = in_place ? bin_id : m->to_bin_id;
	part->qty = qty;
	part->take = take;
	part->floor = 0;
	part->move_id = 0;
	(void) StockSlotsTake(part, &got, &cont, &held);
	if (cont)
		*contended = true;
	part->taken = got;
	if (got > 0 && part->to_state != STATE_OUTSIDE && !StockMoveInPlace(part))
		StockSlotsAdd(part, got);
	return got;
}

/*
 * StockBinsTake: the take (and add) of move m, which names no bin, at a
 * node with bins: from the stock outside bins first, then from each bin
 * in bin id order.  Sets *parts to one move per bin that gave units (the
 * ledger rows), m->taken and m->contended.  STOCK_TAKE_ALL: false, with
 * *held the units the node holds, when it holds fewer than qty (the caller
 * refuses: its error undoes the parts).  STOCK_TAKE_UP_TO: the floor is
 * the node's (summed over its bins).  STOCK_TAKE_HELD: what no bin gives is
 * taken as held from the stock outside bins.
 */
bool
StockBinsTake(StockMove *m, StockMove **parts, int *nparts, int64 *held)
{
	int64	   *bins = NULL;
	int			nbins = 0;
	StockMove  *out;
	int			n = 0;
	bool		in_place = StockMoveInPlace(m);
	int64		limit = m->qty;
	int64		left;
	int			b;

	m->contended = false;
	if (m->take == STOCK_TAKE_UP_TO && m->floor > 0)
	{
		int64		total = 0;
		int64		qty[NUM_STOCK_STATES];
		StockKey	key = {m->item_id, m->from_node_id, 0, m->lot_id};

		nbins = StockBinsOfBalance(m->item_id, m->from_node_id, m->lot_id, &bins);
		StockRead(&key, qty);
		total = qty[m->from_state];
		for (b = 0; b < nbins; b++)
		{
			key.bin_id = bins[b];
			StockRead(&key, qty);
			total += qty[m->from_state];
		}
		limit = Min(m->qty, Max(total - m->floor, 0));
		pfree(bins);
	}
	left = limit;

	/*
	 * The stock outside bins first; then the bins as they are after that
	 * take (which may have waited for a transaction that filled a bin).
	 */
	out = palloc(sizeof(StockMove) * 2);
	if (left > 0 && TakePart(m, 0, left, STOCK_TAKE_UP_TO, in_place, &out[n], &m->contended) > 0)
		left -= out[n++].taken;
	nbins = StockBinsOfBalance(m->item_id, m->from_node_id, m->lot_id, &bins);
	out = repalloc(out, sizeof(StockMove) * (nbins + 2));
	for (b = 0; b < nbins && left > 0; b++)
	{
		int64		got = TakePart(m, bins[b], left, STOCK_TAKE_UP_TO, in_place, &out[n], &m->contended);

		if (got > 0)
		{
			n++;
			left -= got;
		}
	}
	if (left > 0 && m->take == STOCK_TAKE_HELD)
	{
		(void) TakePart(m, 0, left, STOCK_TAKE_HELD, in_place, &out[n], &m->contended);
		n++;
		left = 0;
	}
	m->taken = limit - left;
	*parts = out;
	*nparts = n;
	*held = m->taken;
	pfree(bins);
	return !(m->take == STOCK_TAKE_ALL && left > 0);
}

/* StockBinsInit: the relcache callback that forgets which nodes have bins. */
void
StockBinsInit(void)
{
	IerpRegisterRelcacheCallback(BinsRelcacheInvalidate, (Datum) 0);
}

/* Whether this transaction owns slot of key (its ownership lock). */
static bool
BinSlotOwned(const StockKey *key, int32 slot, bool take, bool may_wait)
{
	LOCKTAG		tag;

	StockSlotTag(&tag, key->item_id, key->node_id, key->bin_id, key->lot_id, slot);
	if (take)
		return StockTagLock(&tag, may_wait, false);
	return StockTagHeld(&tag);
}

/*
 * StockOwnBinBalance: one state of one bin's balance (item, node, bin,
 * lot), read after owning every slot of it for this transaction, waiting
 * only where the global lock order allows: exact, and no other transaction
 * changes the bin's units until this one ends.  For a count of a bin
 * (counts.c), which sets the bin to what was found; a pick from the bin
 * waits for the count, or the count for the pick.  Slots it cannot own
 * without waiting out of the lock order: 55P03 (retry the transaction).
 */
int64
StockOwnBinBalance(int64 item_id, int64 node_id, int64 bin_id, int64 lot_id, StockState state)
{
	StockKey	key = {item_id, node_id, bin_id, lot_id};
	LOCKTAG		first;
	SlotRow    *rows;
	int			n,
				i,
				round;
	bool		wait;
	int64		total = 0;

	StockSlotTag(&first, item_id, node_id, bin_id, lot_id, 0);
	wait = StockTagMayWait(&first);
	n = SlotsRead(&key, &rows);
	for (i = 0; i < n; i++)
		(void) BinSlotOwned(&key, rows[i].slot, true, wait);
	/* read again after owning (the owners waited for have ended); own slots created meanwhile */
	for (round = 0;; round++)
	{
		bool		more = false;

		pfree(rows);
		n = SlotsRead(&key, &rows);
		for (i = 0; i < n; i++)
		{
			rows[i].held = BinSlotOwned(&key, rows[i].slot, false, false);
			if (!rows[i].held && round < 16 && BinSlotOwned(&key, rows[i].slot, true, false))
				more = true;
		}
		if (!more)
			break;
	}
	for (i = 0; i < n; i++)
	{
		if (!rows[i].held)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("stock of sku \"%s\" in a bin at node \"%s\" is being changed by another transaction",
							IerpItemSku(item_id), IerpNodeCode(node_id)),
					 errdetail("This transaction already holds stock or orders that come later in the lock order; waiting could deadlock."),
					 errhint("Retry the transaction.")));
		total += rows[i].qty[state];
	}
	pfree(rows);
	return total;
}
