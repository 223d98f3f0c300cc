/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The generic moves, erp.receive() and erp.move(), which hand one move
 *	  to the stock kernel (src/stock/kernel.h) as documents do, and the
 *	  guards that keep history: the append-only ledger (IE005), master data
 *	  the ledger refers to (IE010), rows shipped with the extension (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "commands/extension.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "gs1.h"
#include "ierp.h"
#include "master_cache.h"
#include "pick_scan.h"
#include "stock/kernel.h"

PG_FUNCTION_INFO_V1(ierp_ledger_refuse_write);
PG_FUNCTION_INFO_V1(ierp_ledger_refuse_delete_used);
PG_FUNCTION_INFO_V1(ierp_ledger_protect_builtin);
IERP_OWNER_ENTRY(ierp_ledger_receive);
IERP_OWNER_ENTRY(ierp_ledger_move);
PG_FUNCTION_INFO_V1(ierp_ledger_current_actor);

/*
 * ierp_ledger_refuse_write: statement trigger keeping the ledger append-only
 * (IE005), and orders from being deleted.
 */
Datum
ierp_ledger_refuse_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_ledger_refuse_write must be called as a trigger");
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		what = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		what = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		what = "TRUNCATE";
	else
		what = "INSERT";
	if (strcmp(RelationGetRelationName(trigdata->tg_relation), "stock_move") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPEND_ONLY),
				 errmsg("%s of %s is not allowed: history is never removed",
						what, RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Cancel an order with erp.cancel_order() instead.")));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("%s of %s is not allowed: the ledger is append-only",
					what, RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Recorded moves are never changed or removed."),
			 errhint("Correct a mistake with a new move, e.g. erp.move(..., event => 'adjust').")));
	PG_RETURN_NULL();
}

/*
 * ierp_ledger_refuse_delete_used: BEFORE DELETE row trigger on master data
 * (argument: item, node, lot or channel) refusing to delete a row that the
 * ledger or an order refers to (IE010): history must keep meaning what it
 * meant.
 */
Datum
ierp_ledger_refuse_delete_used(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plans[4] = {NULL, NULL, NULL, NULL};
	static const Oid argtypes[] = {INT8OID, INT8OID};
	static const char *const kinds[4] = {"item", "node", "lot", "channel"};
	static const char *const queries[4] = {
		/*
		 * An item is used when a ledger row or an order line names it.  The
		 * lines have an index by item only over the backordered ones
		 * (order_line_backordered_idx): the cheap proofs come first, and only an
		 * item that neither proves used is looked for in every line (a scan of
		 * erp.order_line; OR stops at the first true arm).
		 */
		"SELECT EXISTS (SELECT 1 FROM erp.stock_move WHERE item_id = $1)"
		"    OR EXISTS (SELECT 1 FROM erp.order_line WHERE item_id = $1 AND qty_backordered > 0)"
		"    OR EXISTS (SELECT 1 FROM erp.order_line WHERE item_id = $1)",
		"SELECT EXISTS (SELECT 1 FROM erp.stock_move WHERE from_node_id = $1 OR to_node_id = $1)",
		"SELECT EXISTS (SELECT 1 FROM erp.stock_move WHERE item_id = $2 AND lot_id = $1)",
		"SELECT EXISTS (SELECT 1 FROM erp.sales_order WHERE channel_id = $1)"
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const char *kind;
	Datum		values[2];
	bool		isnull;
	bool		used;
	int			k;

	if (!CALLED_AS_TRIGGER(fcinfo) || trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "inventory_erp: ierp_ledger_refuse_delete_used must be a trigger with one argument");
	kind = trigdata->tg_trigger->tgargs[0];
	for (k = 0; k < 4; k++)
		if (strcmp(kinds[k], kind) == 0)
			break;
	if (k == 4)
		elog(ERROR, "inventory_erp: unknown master data kind \"%s\"", kind);
	desc = trigdata->tg_relation->rd_att;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/* $1 is the row's id; $2 its item, for a lot (the ledger is keyed by item) */
	IerpPlan(&plans[k], queries[k], 2, argtypes);
	values[0] = heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, psprintf("%s_id", kind)),
							 desc, &isnull);
	values[1] = k == 2 ? heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "item_id"), desc, &isnull)
		: Int64GetDatum(0);
	if (SPI_execute_plan(plans[k], values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot check ledger references");
	used = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (used)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("%s " INT64_FORMAT " has history and cannot be deleted", kind,
						DatumGetInt64(values[0])),
				 errdetail("The ledger or an order refers to it; history is never removed."),
				 (strcmp(kind, "item") == 0 || strcmp(kind, "node") == 0)
				 ? errhint("Retire it instead: UPDATE erp.%s SET active = false.", kind)
				 : strcmp(kind, "channel") == 0
				 ? errhint("Keep the channel for its orders' history; to stop it being fulfilled, delete its rows in erp.channel_node.")
				 : 0));
	return PointerGetDatum(trigdata->tg_trigtuple);
}

/*
 * ierp_ledger_protect_builtin: BEFORE INSERT OR UPDATE OR DELETE row trigger
 * on tables with rows shipped by the extension (builtin = true): those rows
 * are recreated by CREATE EXTENSION and not dumped, so adding, changing or
 * removing one would be lost on restore (IE010).  Add a row of your own.
 */
Datum
ierp_ledger_protect_builtin(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	bool		isnull;
	Datum		builtin;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_ledger_protect_builtin must be a row trigger");
	desc = trigdata->tg_relation->rd_att;
	builtin = heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "builtin"), desc, &isnull);
	if (!isnull && !DatumGetBool(builtin) && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		builtin = heap_getattr(trigdata->tg_newtuple, SPI_fnumber(desc, "builtin"), desc, &isnull);
	if (!isnull && DatumGetBool(builtin) && !creating_extension)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("rows of %s shipped with inventory_erp cannot be added, changed or deleted",
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("CREATE EXTENSION recreates them and pg_dump leaves them out, so a change would be lost on restore."),
				 errhint("Add a row of your own.")));
	return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)
						   ? trigdata->tg_newtuple : trigdata->tg_trigtuple);
}

/*
 * A kit is made of its components and holds no stock of its own: units of a
 * kit sku never enter the business (IE010).  Receive the components.
 */
static void
RefuseKitEntry(const char *sku)
{
	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("sku \"%s\" is a kit and cannot be received", sku),
			 errdetail("A kit holds no stock of its own: its availability is that of its components (erp.item_component)."),
			 errhint("Receive the components instead.")));
}

/*
 * Resolves the lot argument of a move of item: required for lot-tracked
 * items, refused for others (IE003).  Creates the lot when create is true.
 */
static int64
ResolveLot(const ItemInfo *item, const char *sku, const char *lot, bool create,
		   DateADT expires_on, bool has_expiry)
{
	if (!item->lot_tracked)
	{
		if (has_expiry)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("sku \"%s\" is not lot-tracked, but an expiry date was given", sku),
					 errhint("Expiry dates belong to lots of lot-tracked items.")));
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
	if (create)
		return IerpEnsureLot(item->item_id, sku, lot, expires_on, has_expiry);
	return IerpLookupLot(item->item_id, sku, lot);
}

/*
 * Checks the texts every generic move takes (IE004): business keys up to
 * IERP_MAX_KEY_LEN bytes, the ref up to IERP_MAX_TEXT_LEN, none of them
 * empty; a missing sku or node is named (IE004).
 */
static void
CheckMoveTexts(const char *sku, const char *node, const char *lot, const char *ref)
{
	if (sku == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no sku given"),
				 errdetail("A move names the sku of the units it moves.")));
	if (node == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no node given for sku \"%s\"", sku),
				 errdetail("A move names the node where the units are.")));
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node code", IERP_MAX_KEY_LEN);
	IerpCheckText(lot, "lot code", IERP_MAX_KEY_LEN);
	IerpCheckText(ref, "ref", IERP_MAX_TEXT_LEN);
}

/*
 * The one threshold for on-hand changes outside a document: a generic move
 * that brings units in from outside or sends them out (a receipt, an adjust,
 * a disposal, ...) is valued and, above the adjustment threshold, refused
 * (IE009) unless the session is a superuser's (CountsCheckDirectAdjustment).
 */
static void
CheckDirectThreshold(const StockMove *m, const char *sku)
{
	if (m->from_state == STATE_OUTSIDE)
		CountsCheckDirectAdjustment(m->item_id, m->qty, sku);
	else if (m->to_state == STATE_OUTSIDE)
		CountsCheckDirectAdjustment(m->item_id, -m->qty, sku);
}

/*
 * erp.receive(sku, node, qty, lot, expires_on, state, ref): unplanned receipt
 * or opening balance from outside into available, quarantined or damaged.
 * sku may be a GS1 scan (Gs1ReceiptFromScan): the item, lot and expiry are
 * then the scan's (IE003 for a GTIN no item has, IE004 for a malformed scan
 * or a lot or expires_on that disagrees with it).
 * Refuses invalid input (IE004), a kit sku (IE010), a receipt valued above
 * the adjustment threshold (IE009), and what the ledger refuses.
 */
static Datum
ierp_ledger_receive_body(PG_FUNCTION_ARGS)
{
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *ref = IerpTextArg(fcinfo, 6);
	Gs1Receipt	what;
	ItemInfo	item;
	StockMove	m;
	int64		move_id;
	int64		pack_units = 1;
	int64		gtin;

	what.sku = sku;
	what.lot = IerpTextArg(fcinfo, 3);
	what.has_expiry = !PG_ARGISNULL(4);
	what.expiry = what.has_expiry ? PG_GETARG_DATEADT(4) : 0;
	if (what.has_expiry)
		IerpCheckDate(what.expiry, "expiry date");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/*
	 * a GS1 scan in place of the sku: item, lot and expiry come from it; a
	 * pack's GTIN (scanned or typed, erp.item_uom) names its item, and qty
	 * counts packs of its units
	 */
	if (sku != NULL &&
		!Gs1ReceiptFromScanPacks(sku, false, NULL, what.lot, what.has_expiry,
								 what.expiry, &what, &pack_units) &&
		MasterItemLookup(sku) == NULL && GtinParse(sku, &gtin, false))
	{
		char	   *pack_sku;

		(void) PackOfGtin(sku, &pack_sku, &pack_units);
		what.sku = pack_sku;
	}
	sku = unconstify(char *, what.sku);
	CheckMoveTexts(sku, node, what.lot, ref);
	if (what.has_expiry)
		IerpCheckDate(what.expiry, "expiry date");
	IerpLookupItem(sku, &item);
	memset(&m, 0, sizeof(m));
	m.to_node_id = IerpLookupNode(node);
	m.qty = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	IerpCheckQuantity(m.qty, sku);
	if (pack_units != 1)
		m.qty = PackTotal(m.qty, pack_units, sku, "a receipt");
	if (item.is_kit)
		RefuseKitEntry(sku);
	m.item_id = item.item_id;
	m.from_state = STATE_OUTSIDE;
	m.from_node_id = 0;
	m.to_state = PG_ARGISNULL(5) ? STATE_AVAILABLE : StockStateFromDatum(PG_GETARG_DATUM(5));
	m.event = "receive";
	m.ref = ref;
	m.lot_id = 0;
	/* refuse before creating the lot: a refused call changes nothing */
	StockValidate(&m, false);
	CheckDirectThreshold(&m, sku);
	m.lot_id = ResolveLot(&item, sku, what.lot, true, what.expiry, what.has_expiry);
	StockApply(&m, 1, 0);
	move_id = m.move_id;
	SPI_finish();
	PG_RETURN_INT64(move_id);
}

/*
 * erp.move(sku, node, qty, from_state, to_state, event, lot, ref, to_node):
 * the generic move.  A NULL state is outside; to_node (default: node) is
 * where the units end up.  Refuses invalid input (IE004), units of a kit
 * entering (IE010), an on-hand change from or to outside valued above the
 * adjustment threshold (IE009), and what the ledger refuses.
 */
static Datum
ierp_ledger_move_body(PG_FUNCTION_ARGS)
{
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *event = IerpTextArg(fcinfo, 5);
	char	   *lot = IerpTextArg(fcinfo, 6);
	char	   *ref = IerpTextArg(fcinfo, 7);
	char	   *to_node = IerpTextArg(fcinfo, 8);
	ItemInfo	item;
	StockMove	m;
	int64		node_id;
	int64		move_id;

	CheckMoveTexts(sku, node, lot, ref);
	IerpCheckText(to_node, "to_node code", IERP_MAX_KEY_LEN);
	IerpCheckText(event, "event", IERP_MAX_KEY_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	node_id = IerpLookupNode(node);
	memset(&m, 0, sizeof(m));
	m.qty = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	IerpCheckQuantity(m.qty, sku);
	if (event == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("a move needs an event"),
				 errhint("Events are listed in erp.state_transition.")));
	m.item_id = item.item_id;
	m.from_state = PG_ARGISNULL(3) ? STATE_OUTSIDE : StockStateFromDatum(PG_GETARG_DATUM(3));
	m.to_state = PG_ARGISNULL(4) ? STATE_OUTSIDE : StockStateFromDatum(PG_GETARG_DATUM(4));
	m.from_node_id = node_id;
	m.to_node_id = to_node ? IerpLookupNode(to_node) : node_id;
	if (m.to_node_id != node_id && (m.from_state == STATE_OUTSIDE || m.to_state == STATE_OUTSIDE))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("to_node \"%s\" applies only to moves between two nodes", to_node),
				 errdetail("Units entering or leaving the business stay at node \"%s\".", node),
				 errhint("Leave to_node out, or pass the receiving node as node.")));
	if (m.from_state == STATE_OUTSIDE && item.is_kit)
		RefuseKitEntry(sku);
	m.event = event;
	m.ref = ref;
	m.lot_id = 0;
	/* refuse before creating a lot: a refused call changes nothing */
	StockValidate(&m, false);
	CheckDirectThreshold(&m, sku);
	m.lot_id = ResolveLot(&item, sku, lot, m.from_state == STATE_OUTSIDE, 0, false);
	StockApply(&m, 1, 0);
	move_id = m.move_id;
	SPI_finish();
	PG_RETURN_INT64(move_id);
}

/*
 * erp.current_actor(): the name recorded as the actor of a move (and as
 * created_by, decided_by elsewhere): the session's login, not a role it SET.
 * The default of erp.stock_move.actor; the ledger trigger stamps it too.
 */
Datum
ierp_ledger_current_actor(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(IerpActorName())));
}
