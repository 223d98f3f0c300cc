/*-------------------------------------------------------------------------
 *
 * bins.c
 *	  The public functions of bins (issue 16, doc/warehouse.md):
 *	  erp.putaway moves available units from a node's stock outside bins
 *	  into a bin, erp.bin_move between two bins of a node, erp.suggest_bin
 *	  says where to put an item away, and the guard of erp.bin keeps a bin
 *	  with history from being deleted or moved to another node.  The moves
 *	  go through the stock kernel (stock/kernel.c), which books them per bin.
 *
 *	  Refuses: a missing or over-long sku, node, bin or lot (IE004), unknown
 *	  ones (IE003), a quantity out of bounds (IE004), the same bin twice
 *	  (IE004), an inactive destination bin (IE010), a node a partner may not
 *	  act at (IE009), fewer available units than asked (IE001).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "bins.h"
#include "stock/kernel.h"

IERP_OWNER_ENTRY(ierp_bins_putaway);
IERP_OWNER_ENTRY(ierp_bins_move);
PG_FUNCTION_INFO_V1(ierp_bins_suggest);
PG_FUNCTION_INFO_V1(ierp_bins_guard);

/*
 * IerpCalledAs: whether the SQL function running fcinfo's C body is erp.<name>
 * (a C body bound to two SQL functions, as erp.pick and erp.pick_bin).
 */
bool
IerpCalledAs(FunctionCallInfo fcinfo, const char *name)
{
	char	   *fname;
	bool		is;

	if (fcinfo->flinfo == NULL || !OidIsValid(fcinfo->flinfo->fn_oid))
		return false;
	fname = get_func_name(fcinfo->flinfo->fn_oid);
	is = fname != NULL && strcmp(fname, name) == 0;
	if (fname)
		pfree(fname);
	return is;
}

/*
 * BinsLookup: the bin_id of bin code at node (IE003 when the node has no
 * such bin: a bin of another node is unknown here); *active says whether it
 * takes new units.  Inside SPI.
 */
int64
BinsLookup(int64 node_id, const char *code, bool *active, bool missing_ok)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;

	if (code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no bin given at node \"%s\"", IerpNodeCode(node_id)),
				 errdetail("The bin is the code on its label (erp.bin.code).")));
	IerpCheckText(code, "bin code", IERP_MAX_KEY_LEN);
	IerpPlan(&plan, "SELECT bin_id, active FROM erp.bin WHERE node_id = $1 AND code = $2", 2, argtypes);
	values[0] = Int64GetDatum(node_id);
	values[1] = CStringGetTextDatum(code);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: bin lookup failed");
	if (SPI_processed != 1 && missing_ok)
		return 0;
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown bin \"%s\" at node \"%s\"", code, IerpNodeCode(node_id)),
				 errhint("Bins are listed in erp.bin, each at one node.")));
	if (active)
		*active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* BinsUnitsIn: the units of one state of an item in one bin (all lots), as this transaction sees them. */
int64
BinsUnitsIn(int64 item_id, int64 node_id, int64 bin_id, StockState state)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3];
	int64		qty[NUM_STOCK_STATES];
	int64		total = 0;
	uint64		i;
	uint64		nlots;
	int64	   *lots;

	IerpPlan(&plan,
			 "SELECT DISTINCT lot_id FROM erp.stock_slot WHERE item_id = $1 AND node_id = $2 AND bin_id = $3",
			 3, argtypes);
	values[0] = Int64GetDatum(item_id);
	values[1] = Int64GetDatum(node_id);
	values[2] = Int64GetDatum(bin_id);
	if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the lots of a bin");
	nlots = SPI_processed;
	lots = palloc(sizeof(int64) * Max(nlots, 1));
	for (i = 0; i < nlots; i++)
	{
		bool		isnull;

		lots[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (i = 0; i < nlots; i++)
	{
		StockKey	key = {item_id, node_id, bin_id, lots[i]};

		StockRead(&key, qty);
		total += qty[state];
	}
	pfree(lots);
	return total;
}

/* One state of a balance key, summed over its slots. */
static int64
BinsKeyQty(int64 item_id, int64 node_id, int64 bin_id, int64 lot_id, StockState state)
{
	StockKey	key = {item_id, node_id, bin_id, lot_id};
	int64		qty[NUM_STOCK_STATES];

	StockRead(&key, qty);
	return qty[state];
}

/* BinsPickable: the units of an item's lot in a bin that a pick may take: reserved and available. */
int64
BinsPickable(int64 item_id, int64 node_id, int64 lot_id, int64 bin_id)
{
	return BinsKeyQty(item_id, node_id, bin_id, lot_id, STATE_RESERVED) +
		BinsKeyQty(item_id, node_id, bin_id, lot_id, STATE_AVAILABLE);
}

/* A document move of an order between two states, from and to exact bins; returns the units taken. */
static int64
BinsOrderMove(int64 order_id, int64 item_id, int64 node_id, int64 lot_id, int64 qty, int64 from_bin,
			  StockState from, int64 to_bin, StockState to, const char *event, StockTakeKind take,
			  bool *contended)
{
	StockMove	m;

	memset(&m, 0, sizeof(m));
	m.item_id = item_id;
	m.lot_id = lot_id;
	m.qty = qty;
	m.from_node_id = m.to_node_id = node_id;
	m.from_bin_id = from_bin;
	m.to_bin_id = to_bin;
	m.from_state = from;
	m.to_state = to;
	m.event = event;
	m.ref = psprintf("order:" INT64_FORMAT, order_id);
	m.take = take;
	m.exact_bin = true;
	StockApply(&m, 1, STOCK_DOCUMENT);
	if (contended)
		*contended = m.contended;
	return m.taken;
}

/*
 * BinsPickFrom: qty reserved units of the order's item and lot at node leave
 * bin bin_id as picked (they go to the node's stock outside bins: a tote is
 * no bin).  Reservations are the node's: when the bin holds fewer reserved
 * units than qty, the reservation moves into it first - its available units
 * become reserved, and as many reserved units elsewhere at the node (outside
 * bins first, then the other bins in bin id order) become available - so the
 * node's reserved and available totals stay what they were.  The caller has
 * checked that the bin holds qty reserved and available units (BinsPickable),
 * reading the books without waiting; the take of the bin's available units
 * waits for a transaction that owns them (a count of the bin) and may find
 * fewer after it: then it returns the units the bin gave (fewer than qty) and
 * the caller refuses the pick as a short bin (its error undoes the moves).
 * Returns qty when picked.
 */
int64
BinsPickFrom(int64 order_id, int64 item_id, int64 node_id, int64 lot_id, int64 bin_id, int64 qty)
{
	int64		reserved = BinsKeyQty(item_id, node_id, bin_id, lot_id, STATE_RESERVED);
	int64		need = qty - Max(reserved, 0);

	if (need > 0)
	{
		int64		left = need;
		int64	   *bins;
		int			nbins = StockBinsOfBalance(item_id, node_id, lot_id, &bins);
		int			b;
		int64		got;
		bool		contended = false;

		/* release first, from the keys other than bin_id that hold reserved units */
		for (b = -1; b < nbins && left > 0; b++)
		{
			int64		other = b < 0 ? 0 : bins[b];
			int64		there;
			int64		part;

			if (other == bin_id)
				continue;
			there = BinsKeyQty(item_id, node_id, other, lot_id, STATE_RESERVED);
			part = Min(there, left);
			if (part <= 0)
				continue;
			BinsOrderMove(order_id, item_id, node_id, lot_id, part, other, STATE_RESERVED, other,
						  STATE_AVAILABLE, "release", STOCK_TAKE_ALL, NULL);
			left -= part;
		}
		if (left > 0)
			elog(ERROR, "inventory_erp: the node holds fewer reserved units than order " INT64_FORMAT " does",
				 order_id);
		pfree(bins);
		/* up to need: after waiting for a count of the bin, what it left */
		got = BinsOrderMove(order_id, item_id, node_id, lot_id, need, bin_id, STATE_AVAILABLE, bin_id,
							STATE_RESERVED, "allocate", STOCK_TAKE_UP_TO, &contended);
		/* fewer because others own slots the lock order forbids waiting for: refused as before (55P03) */
		if (got < need && contended)
			got += BinsOrderMove(order_id, item_id, node_id, lot_id, need - got, bin_id, STATE_AVAILABLE, bin_id,
								 STATE_RESERVED, "allocate", STOCK_TAKE_ALL, NULL);
		if (got < need)
			return Max(reserved, 0) + got;
	}
	BinsOrderMove(order_id, item_id, node_id, lot_id, qty, bin_id, STATE_RESERVED, 0, STATE_PICKED, "pick",
				  STOCK_TAKE_ALL, NULL);
	return qty;
}

/* The lot of a bin move: none for an item without lots, required (and known) for a lot-tracked one. */
static int64
BinsLot(const ItemInfo *item, const char *sku, const char *lot)
{
	if (!item->lot_tracked)
	{
		if (lot != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("sku \"%s\" is not lot-tracked, but lot \"%s\" was given", sku, lot),
					 errhint("Leave the lot out for this item.")));
		return 0;
	}
	if (lot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("sku \"%s\" is lot-tracked: a lot is required", sku),
				 errhint("Pass the lot code printed on the units.")));
	return IerpLookupLot(item->item_id, sku, lot);
}

/*
 * One move of available units of sku at node from bin from_bin (NULL: the
 * node's stock outside bins) to bin to_bin, under event; returns its move id.
 */
static int64
BinsMoveUnits(FunctionCallInfo fcinfo, const char *sku, const char *node, const char *from_bin,
			  const char *to_bin, int64 qty, bool qty_null, const char *lot, const char *event)
{
	ItemInfo	item;
	StockMove	m;
	int64		node_id;
	bool		active = true;
	char	   *ref;

	if (sku == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no sku given"),
				 errdetail("A putaway or bin move names the sku of the units it moves.")));
	if (node == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no node given"),
				 errdetail("A putaway or bin move names the node of its bins.")));
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node code", IERP_MAX_KEY_LEN);
	IerpCheckText(lot, "lot code", IERP_MAX_KEY_LEN);
	IerpLookupItem(sku, &item);
	node_id = IerpLookupNode(node);
	/* a partner learns nothing about the bins of a node it may not act at */
	AccessCheckNode(node_id);
	IerpCheckQuantity(qty_null ? 0 : qty, sku);
	if (item.is_kit)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("sku \"%s\" is a kit and holds no stock of its own", sku),
				 errhint("Put its components away.")));
	memset(&m, 0, sizeof(m));
	m.item_id = item.item_id;
	m.qty = qty;
	m.from_node_id = m.to_node_id = node_id;
	m.from_state = m.to_state = STATE_AVAILABLE;
	m.from_bin_id = from_bin ? BinsLookup(node_id, from_bin, NULL, false) : 0;
	m.to_bin_id = BinsLookup(node_id, to_bin, &active, false);
	if (m.from_bin_id == m.to_bin_id)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("bin \"%s\" is both the source and the destination", to_bin),
				 errhint("Name two different bins of node \"%s\".", node)));
	if (!active)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("bin \"%s\" at node \"%s\" is inactive", to_bin, node),
				 errdetail("An inactive bin takes no new units."),
				 errhint("Choose an active bin (erp.suggest_bin), or set erp.bin.active.")));
	m.lot_id = BinsLot(&item, sku, lot);
	m.event = event;
	ref = psprintf("bin:" INT64_FORMAT, m.to_bin_id);
	m.ref = ref;
	m.take = STOCK_TAKE_ALL;
	m.exact_bin = true;			/* a putaway takes from the stock outside bins only */
	StockApply(&m, 1, STOCK_DOCUMENT);
	return m.move_id;
}

/*
 * erp.putaway(sku, node, bin, qty, lot): qty available units from the
 * node's stock outside bins into bin; returns the move id.
 */
static Datum
ierp_bins_putaway_body(PG_FUNCTION_ARGS)
{
	int64		move_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	move_id = BinsMoveUnits(fcinfo, IerpTextArg(fcinfo, 0), IerpTextArg(fcinfo, 1), NULL,
							IerpTextArg(fcinfo, 2), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3), PG_ARGISNULL(3),
							IerpTextArg(fcinfo, 4), "putaway");
	SPI_finish();
	PG_RETURN_INT64(move_id);
}

/*
 * erp.bin_move(sku, node, from_bin, to_bin, qty, lot): qty available units
 * from one bin of node to another; returns the move id.
 */
static Datum
ierp_bins_move_body(PG_FUNCTION_ARGS)
{
	char	   *from_bin = IerpTextArg(fcinfo, 2);
	int64		move_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (from_bin == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no from_bin given"),
				 errhint("Put units from outside bins away with erp.putaway().")));
	move_id = BinsMoveUnits(fcinfo, IerpTextArg(fcinfo, 0), IerpTextArg(fcinfo, 1), from_bin,
							IerpTextArg(fcinfo, 3), PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4), PG_ARGISNULL(4),
							IerpTextArg(fcinfo, 5), "bin_move");
	SPI_finish();
	PG_RETURN_INT64(move_id);
}

/*
 * erp.suggest_bin(sku, node): the active bin that holds the item's
 * available units (lowest pick sequence, then bin id), else the empty
 * active bin (no units of any item) whose zone is the item's category,
 * else an empty active bin without a zone; NULL when none.  Runs as its
 * caller: a partner sees (and is suggested) only the bins of its nodes.
 */
Datum
ierp_bins_suggest(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID};
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	ItemInfo	item;
	int64		node_id;
	Datum		values[2];
	text	   *result = NULL;

	if (sku == NULL || node == NULL)
		PG_RETURN_NULL();
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node code", IERP_MAX_KEY_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	node_id = IerpLookupNode(node);
	IerpPlan(&plan,
			 "WITH occupied AS (SELECT DISTINCT s.bin_id FROM erp.stock_slot s"
			 "                   WHERE s.node_id = $2 AND s.bin_id <> 0"
			 "                     AND (s.available <> 0 OR s.reserved <> 0 OR s.picked <> 0 OR s.packed <> 0"
			 "                          OR s.quarantined <> 0 OR s.damaged <> 0)),"
			 "     holding AS (SELECT s.bin_id FROM erp.stock_slot s"
			 "                  WHERE s.item_id = $1 AND s.node_id = $2 AND s.bin_id <> 0"
			 "                  GROUP BY s.bin_id HAVING sum(s.available) > 0)"
			 "SELECT b.code FROM erp.bin b, erp.item i"
			 " WHERE i.item_id = $1 AND b.node_id = $2 AND b.active"
			 "   AND (b.bin_id IN (SELECT bin_id FROM holding)"
			 "        OR (b.bin_id NOT IN (SELECT bin_id FROM occupied) AND (b.zone = i.category OR b.zone IS NULL)))"
			 " ORDER BY b.bin_id IN (SELECT bin_id FROM holding) DESC,"
			 "          (b.zone IS NOT NULL AND b.zone = i.category) DESC, b.pick_sequence, b.bin_id"
			 " LIMIT 1",
			 2, argtypes);
	values[0] = Int64GetDatum(item.item_id);
	values[1] = Int64GetDatum(node_id);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot suggest a bin");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		code = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		/* copied out of SPI's memory into the caller's before SPI_finish frees it */
		if (!isnull)
			result = DatumGetTextPP(SPI_datumTransfer(code, false, -1));
	}
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/*
 * ierp_bins_guard: BEFORE INSERT OR UPDATE OR DELETE row trigger on
 * erp.bin.  A new bin names a node of erp.node (IE003: no foreign key, so
 * that erp.distribute() need not know the table); a bin the ledger names,
 * or that holds units, is not deleted (retire it: active = false), and no
 * bin changes node (IE010).
 */
Datum
ierp_bins_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	bool		isnull;
	int64		bin_id;
	int64		node_id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_bins_guard must be a BEFORE row trigger");
	desc = trigdata->tg_relation->rd_att;
	bin_id = DatumGetInt64(heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "bin_id"), desc, &isnull));
	node_id = DatumGetInt64(heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "node_id"), desc, &isnull));
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		static SPIPlanPtr plan = NULL;
		static const Oid argtypes[] = {INT8OID};
		bool		known;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		IerpPlan(&plan, "SELECT EXISTS (SELECT 1 FROM erp.node WHERE node_id = $1)", 1, argtypes);
		if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(node_id)}, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "inventory_erp: cannot read the nodes");
		known = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("unknown node " INT64_FORMAT " for bin %s", node_id,
							SPI_getvalue(trigdata->tg_trigtuple, desc, SPI_fnumber(desc, "code"))),
					 errhint("A bin belongs to a node of erp.node.")));
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		int64		new_node = DatumGetInt64(heap_getattr(trigdata->tg_newtuple, SPI_fnumber(desc, "node_id"),
														  desc, &isnull));
		int64		new_bin = DatumGetInt64(heap_getattr(trigdata->tg_newtuple, SPI_fnumber(desc, "bin_id"),
														 desc, &isnull));

		if (new_node != node_id || new_bin != bin_id)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("bin %s cannot move to another node",
							SPI_getvalue(trigdata->tg_trigtuple, desc, SPI_fnumber(desc, "code"))),
					 errdetail("Its stock and ledger rows are booked at its node."),
					 errhint("Create a bin at the other node and move the units with erp.transfer().")));
		return PointerGetDatum(trigdata->tg_newtuple);
	}
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		static SPIPlanPtr plan = NULL;
		static const Oid argtypes[] = {INT8OID, INT8OID};
		bool		used;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		IerpPlan(&plan,
				 "SELECT EXISTS (SELECT 1 FROM erp.stock_slot WHERE node_id = $2 AND bin_id = $1)"
				 "    OR EXISTS (SELECT 1 FROM erp.stock_move WHERE from_bin_id = $1 OR to_bin_id = $1)",
				 2, argtypes);
		if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(bin_id), Int64GetDatum(node_id)}, NULL, true, 1)
			!= SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "inventory_erp: cannot read the history of a bin");
		used = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
		if (used)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("bin %s has stock or history and cannot be deleted",
							SPI_getvalue(trigdata->tg_trigtuple, desc, SPI_fnumber(desc, "code"))),
					 errdetail("The ledger names it; deleting it would leave its moves pointing nowhere."),
					 errhint("Retire it: UPDATE erp.bin SET active = false.")));
	}
	return PointerGetDatum(trigdata->tg_trigtuple);
}
