/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Cycle counts and the adjustments they cause, with approval: a count
 *	  records what the books said and what was found; a variance whose value
 *	  (|units| x unit_cost) is within the 'adjustment' threshold of
 *	  erp.approval_policy is adjusted at once, a larger one waits for a
 *	  member of erp_approver.
 *
 *	  Refuses: unknown sku, node or lot (IE003), a negative count (IE004),
 *	  an approval by a role outside erp_approver (IE009), approving an
 *	  adjustment that is not waiting (IE010), and - as any move - writing off
 *	  more than is there when the approval comes (IE001).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_counts_count);
PG_FUNCTION_INFO_V1(ierp_counts_approve_adjustment);

/* Adjustments up to this value need no approver when erp.approval_policy says nothing. */
#define DEFAULT_ADJUSTMENT_AUTO_LIMIT "100.00"

/*
 * CountsCheckDirectAdjustment: the threshold for every on-hand change made
 * outside a document: refuses (IE009) when |qty_delta| x unit_cost is above
 * the 'adjustment' threshold of erp.approval_policy, unless the session is a
 * superuser's (which no rule inside the database can hold anyway).
 */
void
CountsCheckDirectAdjustment(int64 item_id, int64 qty_delta, const char *sku)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	char	   *value;

	if (superuser_arg(IerpSessionIdentity()))
		return;
	IerpPlan(&plan,
			 "SELECT (abs($2::numeric) * i.unit_cost)::text,"
			 "       abs($2::numeric) * i.unit_cost > COALESCE((SELECT p.max_auto_value FROM erp.approval_policy p"
			 "                                   WHERE p.kind = 'adjustment'), " DEFAULT_ADJUSTMENT_AUTO_LIMIT "),"
			 "       COALESCE((SELECT p.max_auto_value FROM erp.approval_policy p WHERE p.kind = 'adjustment'), "
			 DEFAULT_ADJUSTMENT_AUTO_LIMIT ")::text"
			 "  FROM erp.item i WHERE i.item_id = $1",
			 2, (Oid[]) {INT8OID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(qty_delta)},
						 NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot value an adjustment");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		return;
	value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
			 errmsg("adjustment of " INT64_FORMAT " units of sku \"%s\" worth %s needs approval",
					qty_delta, sku ? sku : "?", value),
			 errdetail("On-hand changes outside a document above %s need an approver.",
					   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3)),
			 errhint("Record it with erp.count or erp.adjust; an erp_approver other than you applies it.")));
}

/* Applies an adjustment of qty_delta units of available stock: adjust in or out. */
static int64
ApplyAdjustment(int64 adjustment_id, int64 item_id, int64 node_id, int64 lot_id, int64 qty_delta)
{
	return LedgerRecordEngine(psprintf("adjustment:" INT64_FORMAT, adjustment_id), item_id, lot_id,
							  qty_delta > 0 ? qty_delta : -qty_delta,
							  node_id, qty_delta > 0 ? STATE_OUTSIDE : STATE_AVAILABLE,
							  node_id, qty_delta > 0 ? STATE_AVAILABLE : STATE_OUTSIDE, "adjust");
}

/*
 * erp.count(sku, node, counted, lot): a cycle count of the available units.
 * Returns the cycle count id.
 */
Datum
ierp_counts_count(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr adj_plan = NULL;
	static SPIPlanPtr count_plan = NULL;
	static SPIPlanPtr applied_plan = NULL;
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *lot = IerpTextArg(fcinfo, 3);
	ItemInfo	item;
	int64		node_id,
				lot_id = 0,
				counted,
				system_qty,
				variance,
				adjustment_id = 0,
				count_id;
	char	   *actor = GetUserNameFromId(GetOuterUserId(), false);
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	node_id = IerpLookupNode(node);
	AccessCheckNode(node_id);
	counted = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT64(2);
	if (counted < 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid count " INT64_FORMAT " for sku \"%s\"", counted, sku),
				 errdetail("A count is a number of units found, 0 or more.")));
	if (item.lot_tracked != (lot != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg(item.lot_tracked ? "sku \"%s\" is lot-tracked: a count names its lot"
						: "sku \"%s\" is not lot-tracked, but a lot was given", sku)));
	if (lot)
		lot_id = IerpLookupLot(item.item_id, sku, lot);
	{
		BalanceKey	key = {item.item_id, node_id, lot_id, STATE_AVAILABLE};

		system_qty = BalanceGet(&key);
	}
	variance = counted - system_qty;

	if (variance != 0)
	{
		/* the adjustment: at once when its value is within the threshold */
		IerpPlan(&adj_plan,
				 "INSERT INTO erp.adjustment (item_id, node_id, lot_id, qty_delta, value, reason, status, created_by)"
				 " SELECT i.item_id, $2, NULLIF($3, 0), $4, v.value, 'cycle_count',"
				 "        CASE WHEN v.value <= COALESCE((SELECT p.max_auto_value FROM erp.approval_policy p"
				 "                                        WHERE p.kind = 'adjustment'), " DEFAULT_ADJUSTMENT_AUTO_LIMIT ")"
				 "             THEN 'applied' ELSE 'pending_approval' END::erp.adjustment_status, $5"
				 "   FROM erp.item i, LATERAL (SELECT abs($4) * i.unit_cost AS value) v WHERE i.item_id = $1"
				 " RETURNING adjustment_id, status::text, value::text",
				 5, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID});
		if (SPI_execute_plan(adj_plan, (Datum[]) {Int64GetDatum(item.item_id), Int64GetDatum(node_id),
							 Int64GetDatum(lot_id), Int64GetDatum(variance), CStringGetTextDatum(actor)},
							 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "inventory_erp: adjustment insert failed");
		adjustment_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2), "applied") == 0)
		{
			int64		move_id = ApplyAdjustment(adjustment_id, item.item_id, node_id, lot_id, variance);

			IerpPlan(&applied_plan,
					 "UPDATE erp.adjustment SET move_id = $2, decided_at = pg_catalog.now() WHERE adjustment_id = $1",
					 2, (Oid[]) {INT8OID, INT8OID});
			if (SPI_execute_plan(applied_plan, (Datum[]) {Int64GetDatum(adjustment_id), Int64GetDatum(move_id)},
								 NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "inventory_erp: adjustment update failed");
		}
		else
			EventRecord("adjustment_approval_needed", item.item_id, node_id, 0, 0,
						psprintf("{\"adjustment_id\": " INT64_FORMAT ", \"sku\": %s, \"node\": %s,"
								 " \"qty_delta\": " INT64_FORMAT ", \"value\": %s}",
								 adjustment_id, IerpJsonQuote(sku), IerpJsonQuote(node), variance,
								 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3)));
	}

	IerpPlan(&count_plan,
			 "INSERT INTO erp.cycle_count (item_id, node_id, lot_id, system_qty, counted_qty, unit_cost,"
			 "                             counted_by, adjustment_id)"
			 " SELECT $1, $2, NULLIF($3, 0), $4, $5, i.unit_cost, $6, NULLIF($7, 0)"
			 "   FROM erp.item i WHERE i.item_id = $1 RETURNING cycle_count_id",
			 7, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID});
	if (SPI_execute_plan(count_plan, (Datum[]) {Int64GetDatum(item.item_id), Int64GetDatum(node_id),
						 Int64GetDatum(lot_id), Int64GetDatum(system_qty), Int64GetDatum(counted),
						 CStringGetTextDatum(actor), Int64GetDatum(adjustment_id)},
						 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: cycle count insert failed");
	count_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT64(count_id);
}

/* erp.approve_adjustment(adjustment_id): an approver applies a waiting adjustment. */
Datum
ierp_counts_approve_adjustment(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr done_plan = NULL;
	int64		adjustment_id = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	Oid			caller = GetOuterUserId();
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *status;
	int64		move_id;

	if (!has_privs_of_role(caller, get_role_oid("erp_approver", false)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" may not approve adjustments", GetUserNameFromId(caller, false)),
				 errdetail("Adjustments above the approval threshold are applied by members of erp_approver."),
				 errhint("Ask an approver, or GRANT erp_approver TO the role that approves.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&lock_plan,
			 "SELECT item_id, node_id, COALESCE(lot_id, 0), qty_delta, status::text FROM erp.adjustment"
			 " WHERE adjustment_id = $1 FOR UPDATE",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(lock_plan, (Datum[]) {Int64GetDatum(adjustment_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock adjustment");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown adjustment " INT64_FORMAT, adjustment_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	status = SPI_getvalue(tup, desc, 5);
	if (strcmp(status, "pending_approval") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("adjustment " INT64_FORMAT " is %s, not pending approval", adjustment_id, status)));
	move_id = ApplyAdjustment(adjustment_id,
							  DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
							  DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
							  DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)),
							  DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)));
	IerpPlan(&done_plan,
			 "UPDATE erp.adjustment SET status = 'applied', decided_at = pg_catalog.now(), decided_by = $2,"
			 "       move_id = $3 WHERE adjustment_id = $1",
			 3, (Oid[]) {INT8OID, TEXTOID, INT8OID});
	if (SPI_execute_plan(done_plan, (Datum[]) {Int64GetDatum(adjustment_id),
						 CStringGetTextDatum(GetUserNameFromId(caller, false)), Int64GetDatum(move_id)},
						 NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: adjustment update failed");
	SPI_finish();
	PG_RETURN_VOID();
}
