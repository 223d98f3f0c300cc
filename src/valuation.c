/*-------------------------------------------------------------------------
 *
 * valuation.c
 *	  erp.add_landed_cost, erp.add_refurbishment_cost (at the end of this
 *	  file), and the guards of the cost tables.
 *
 *	  erp.add_landed_cost(po_id, kind, amount, basis) spreads a bill over a
 *	  purchase order's lines by basis (value = qty x unit_cost, qty, weight
 *	  = qty x item weight, volume = qty x item volume): each line's share is
 *	  round(amount x weight / total weight, 2), the residue on the largest
 *	  share (the first line among equals).  A line's units already received
 *	  take round(share x received / qty, 2) now (CostPostLanded: still on
 *	  hand revalue, gone post COGS); the units received later take the rest
 *	  at their receipt (src/stock/cost.c).
 *
 *	  Refuses: an unknown purchase order (IE003), an unknown kind or basis
 *	  (IE003), an amount not > 0, not in cents or over 999,999,999,999.99
 *	  (IE004), a basis that weighs every line 0 or an item without the
 *	  weight or volume the basis needs (IE004), a cancelled purchase order
 *	  (IE010), a partner at another node (IE009).
 *
 *	  The guard: erp.cost_entry, erp.cost_balance, erp.cost_delta, erp.cost_layer,
 *	  erp.landed_cost and erp.landed_cost_line are written only by the
 *	  kernel's costing and this function (IE005), or reloaded in restore
 *	  mode.  An item's cost_method changes only while no node holds costed
 *	  units or value of it (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "ierp.h"
#include "stock/cost.h"
#include "stock/locks.h"
#include "stock/slot_rows.h"
#include "supply.h"

PG_FUNCTION_INFO_V1(ierp_cost_guard);
PG_FUNCTION_INFO_V1(ierp_cost_guard_any_node);
PG_FUNCTION_INFO_V1(ierp_cost_method_guard);
IERP_OWNER_ENTRY(ierp_add_landed_cost);
IERP_OWNER_ENTRY(ierp_add_refurbishment_cost);

Datum
ierp_cost_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_cost_guard must be called as a trigger");
	if (CostWriting() || ierp_restore_mode)
		return PointerGetDatum(NULL);
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("rows of erp.%s are written only by the stock kernel's costing",
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Costs are posted by the moves that change the value on hand, and landed costs by erp.add_landed_cost()."),
			 errhint("Move stock with the document functions; history is reloaded only in restore mode "
					 "(inventory_erp.restore_mode, superuser only).")));
	PG_RETURN_NULL();
}

Datum
ierp_cost_method_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	int64		item_id;
	bool		held;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_cost_method_guard must be an UPDATE trigger");
	item_id = DatumGetInt64(heap_getattr(trigdata->tg_trigtuple,
										 SPI_fnumber(RelationGetDescr(trigdata->tg_relation), "item_id"),
										 RelationGetDescr(trigdata->tg_relation), &isnull));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM erp.cost_balance WHERE item_id = $1"
							  " AND (qty <> 0 OR value <> 0))"
							  " OR EXISTS (SELECT 1 FROM erp.cost_delta WHERE item_id = $1)",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the cost balances");
	held = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (held)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot change the cost method of sku \"%s\": it has costed stock on hand", IerpItemSku(item_id)),
				 errdetail("Its cost entries and layers were kept by the method it has."),
				 errhint("Change the cost method before the first receipt, or once no node holds the item.")));
	return PointerGetDatum(trigdata->tg_newtuple);
}

static const char *const landed_kinds[] = {"freight", "duty", "insurance", "fees"};
static const char *const landed_bases[] = {"value", "qty", "weight", "volume"};

static bool
OneOf(const char *s, const char *const *list, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* whether amount is money a cost may add: > 0, in cents, at most 999,999,999,999.99 */
static bool
IsMoney(Datum amount)
{
	if (numeric_is_nan(DatumGetNumeric(amount)) || numeric_is_inf(DatumGetNumeric(amount)))
		return false;
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, amount, DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))) <= 0)
		return false;
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, amount,
										  DirectFunctionCall2(numeric_round, amount, Int32GetDatum(2)))) != 0)
		return false;
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, amount,
											 DirectFunctionCall3(numeric_in, CStringGetDatum("999999999999.99"),
																 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)))) <= 0;
}

/* erp.add_landed_cost(po_id, kind, amount, basis): see the header comment */
static Datum
ierp_add_landed_cost_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr head_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	int64		po_id = IerpIdArg(fcinfo, 0, "purchase order");
	char	   *kind = IerpTextArg(fcinfo, 1);
	char	   *basis = PG_ARGISNULL(3) ? "value" : IerpTextArg(fcinfo, 3);
	Datum		amount;
	char	   *amount_text;
	int64		node_id;
	char	   *status;
	char	   *ref;
	volatile int64 landed_cost_id = 0;
	SPITupleTable *tt;
	uint64		n,
				i;
	bool		isnull;

	if (kind == NULL || !OneOf(kind, landed_kinds, lengthof(landed_kinds)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown landed cost kind \"%s\"", kind ? (strlen(kind) > 40 ? "(too long)" : kind) : "(null)"),
				 errhint("Use freight, duty, insurance or fees.")));
	if (!OneOf(basis, landed_bases, lengthof(landed_bases)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown landed cost basis \"%s\"", strlen(basis) > 40 ? "(too long)" : basis),
				 errhint("Use value, qty, weight or volume.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("the amount of a landed cost of purchase order " INT64_FORMAT " is missing", po_id)));
	amount = PG_GETARG_DATUM(2);
	amount_text = DatumGetCString(DirectFunctionCall1(numeric_out, amount));
	if (!IsMoney(amount))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid landed cost amount %s for purchase order " INT64_FORMAT,
						strlen(amount_text) > 40 ? "(too long)" : amount_text, po_id),
				 errhint("The amount is money: > 0, in cents, at most 999999999999.99.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/* the purchase order's receipts wait while its units received are revalued */
	status = PurchaseOrderLock(po_id, false, &node_id);
	if (strcmp(status, "cancelled") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot add a landed cost to purchase order " INT64_FORMAT ": it is %s", po_id, status)));
	ref = psprintf("po:" INT64_FORMAT, po_id);

	/* the lines, their basis weight and share */
	IerpPlan(&lines_plan,
			 "WITH l AS ("
			 "  SELECT l.purchase_order_line_id, l.line_no, l.item_id, i.sku, l.qty, l.qty_received,"
			 "         CASE $2 WHEN 'value' THEN l.qty * l.unit_cost WHEN 'qty' THEN l.qty::numeric"
			 "                 WHEN 'weight' THEN l.qty * i.weight ELSE l.qty * i.volume END AS w"
			 "    FROM erp.purchase_order_line l JOIN erp.item i ON i.item_id = l.item_id"
			 "   WHERE l.purchase_order_id = $1"
			 "), s AS ("
			 "  SELECT l.*, round($3 * l.w / NULLIF(sum(l.w) OVER (), 0), 2) AS share,"
			 "         row_number() OVER (ORDER BY l.w DESC, l.line_no) AS rank"
			 "    FROM l"
			 ")"
			 "SELECT purchase_order_line_id, item_id, sku, qty, qty_received, w,"
			 "       share + CASE WHEN rank = 1 THEN $3 - sum(share) OVER () ELSE 0 END"
			 "  FROM s ORDER BY line_no",
			 3, (Oid[]) {INT8OID, TEXTOID, NUMERICOID});
	if (SPI_execute_plan(lines_plan, (Datum[]) {Int64GetDatum(po_id), CStringGetTextDatum(basis), amount},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read purchase order lines");
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		(void) SPI_getbinval(tt->vals[i], tt->tupdesc, 6, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("sku \"%s\" of purchase order " INT64_FORMAT " has no %s to spread a landed cost by",
							SPI_getvalue(tt->vals[i], tt->tupdesc, 3), po_id, basis),
					 errhint("Set erp.item.%s for every item of the purchase order, or spread by value or qty.", basis)));
		(void) SPI_getbinval(tt->vals[i], tt->tupdesc, 7, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("purchase order " INT64_FORMAT " weighs 0 by %s: a landed cost of %s cannot be spread",
							po_id, basis, amount_text),
					 errhint("Spread it by qty, or give the items their %s.", strcmp(basis, "value") == 0 ? "unit costs" : basis)));
	}
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("purchase order " INT64_FORMAT " has no lines to spread a landed cost over", po_id)));

	CostWriteBegin();
	PG_TRY();
	{
		IerpPlan(&head_plan,
				 "INSERT INTO erp.landed_cost (purchase_order_id, kind, amount, basis, added_by)"
				 " VALUES ($1, $2, $3, $4, $5) RETURNING landed_cost_id",
				 5, (Oid[]) {INT8OID, TEXTOID, NUMERICOID, TEXTOID, TEXTOID});
		if (SPI_execute_plan(head_plan, (Datum[]) {Int64GetDatum(po_id), CStringGetTextDatum(kind), amount,
				CStringGetTextDatum(basis), CStringGetTextDatum(IerpActorName())},
							 NULL, false, 0) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "inventory_erp: landed cost insert failed");
		landed_cost_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		IerpPlan(&line_plan,
				 "INSERT INTO erp.landed_cost_line (item_id, landed_cost_id, purchase_order_line_id, amount)"
				 " VALUES ($1, $2, $3, $4)",
				 4, (Oid[]) {INT8OID, INT8OID, INT8OID, NUMERICOID});
		for (i = 0; i < n; i++)
		{
			int64		line_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
			int64		item_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
			int64		qty = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
			int64		received = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 5, &isnull));
			Datum		share = SPI_getbinval(tt->vals[i], tt->tupdesc, 7, &isnull);
			Datum		now_part;

			if (SPI_execute_plan(line_plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(landed_cost_id),
					Int64GetDatum(line_id), share}, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "inventory_erp: landed cost line insert failed");
			if (received <= 0)
				continue;
			now_part = DirectFunctionCall2(numeric_round,
										   DirectFunctionCall2(numeric_div,
															   DirectFunctionCall2(numeric_mul, share,
																				   DirectFunctionCall1(int8_numeric, Int64GetDatum(received))),
															   DirectFunctionCall1(int8_numeric, Int64GetDatum(qty))),
										   Int32GetDatum(2));
			CostPostLanded(item_id, node_id, line_id, landed_cost_id, ref, now_part, received);
		}
	}
	PG_FINALLY();
	{
		CostWriteEnd();
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(landed_cost_id);
}

/*
 * erp.add_refurbishment_cost(sku, node, amount, ref): the cost of refurbishing
 * units of sku at node (parts, labour) lands on them while they are in
 * refurbishment (state refurbish, before erp.complete_refurbish): average
 * items raise the node's value and so its average, fifo items the newest open
 * layer at the node; one cost entry of kind refurbishment and 0 units;
 * returns its cost_entry_id.  Refuses: an unknown sku or node (IE003), an
 * amount not > 0, not in cents or over 999,999,999,999.99, a ref over 1024
 * bytes, a value on hand beyond numeric(14,2) (IE004), a partner at another
 * node (IE009), no units in refurbishment there (IE010).
 */
static Datum
ierp_add_refurbishment_cost_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr units_plan = NULL;
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *ref = IerpTextArg(fcinfo, 3);
	ItemInfo	item;
	int64		node_id;
	int64		units;
	Datum		amount;
	char	   *amount_text;
	volatile int64 entry_id = 0;
	bool		isnull;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("the amount of a refurbishment cost is missing")));
	amount = PG_GETARG_DATUM(2);
	amount_text = DatumGetCString(DirectFunctionCall1(numeric_out, amount));
	if (!IsMoney(amount))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid refurbishment cost amount %s", strlen(amount_text) > 40 ? "(too long)" : amount_text),
				 errhint("The amount is money: > 0, in cents, at most 999999999999.99.")));
	if (ref != NULL)
		IerpCheckText(ref, "ref", IERP_MAX_TEXT_LEN);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	node_id = IerpLookupNode(node);
	AccessCheckNode(node_id);
	IerpPlan(&units_plan,
			 "SELECT COALESCE(sum(qty), 0)::bigint FROM erp.stock_balance"
			 " WHERE item_id = $1 AND node_id = $2 AND state = 'refurbish'",
			 2, (Oid[]) {INT8OID, INT8OID});
	if (SPI_execute_plan(units_plan, (Datum[]) {Int64GetDatum(item.item_id), Int64GetDatum(node_id)},
						 NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the units in refurbishment");
	units = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (units <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("sku \"%s\" has no units in refurbishment at node \"%s\"", IerpItemSku(item.item_id), IerpNodeCode(node_id)),
				 errhint("A refurbishment cost lands on units in state refurbish, before erp.complete_refurbish().")));
	CostWriteBegin();
	PG_TRY();
	{
		entry_id = CostPostRefurbishment(item.item_id, node_id, amount, units, ref);
	}
	PG_FINALLY();
	{
		CostWriteEnd();
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(entry_id);
}

/*
 * ierp_cost_guard_any_node: erp.guard_cost_write(), the BEFORE statement
 * trigger of the cost tables (sql/install/22_distribute.sql): valuation.c's
 * guard, plus the kernel's costing statements that Citus brings to a shard
 * from another backend (StockShardWriteRouted).
 */
Datum
ierp_cost_guard_any_node(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (CALLED_AS_TRIGGER(fcinfo) && !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) &&
		StockShardWriteRouted(trigdata->tg_relation))
		return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event)
			? PointerGetDatum(trigdata->tg_trigtuple) : PointerGetDatum(NULL);
	return ierp_cost_guard(fcinfo);
}
