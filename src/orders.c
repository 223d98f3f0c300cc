/*-------------------------------------------------------------------------
 *
 * orders.c
 *	  The order documents and their warehouse steps: erp.capture_order(),
 *	  erp.cancel_order(), erp.pick(), erp.short_pick(), erp.pack(),
 *	  erp.ship(), and the rules that derive an order's and its lines' status
 *	  from what is allocated, held, picked, packed and shipped.
 *
 *	  Every function owns the order first (OrderLock, order_document.c), so
 *	  the steps of one order never interleave, computes its moves and hands
 *	  them to the stock kernel; allocation itself lives in allocate.c.
 *
 *	  Refuses: an unknown channel, sku or order (IE003), a bad quantity or an
 *	  order with no lines (IE004), a scan of an item that is not on the order
 *	  (IE007, recorded as a pick_exception event), a step the order's status
 *	  does not allow (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "ierp.h"
#include "bins.h"
#include "counts.h"
#include "governance.h"
#include "holds.h"
#include "b2b.h"
#include "order_document.h"
#include "order_input.h"
#include "order_reservations.h"
#include "order_rows.h"
#include "master_cache.h"
#include "pick_scan.h"
#include "substitute.h"
#include "stock/kernel.h"

/* bytes of a channel's order number: marketplaces' global ids run long */
#define ORDER_MAX_EXTERNAL_REF	255
/* an order's priority lies within +-ORDER_MAX_PRIORITY */
#define ORDER_MAX_PRIORITY	1000000

IERP_OWNER_ENTRY(ierp_orders_capture);
IERP_OWNER_ENTRY(ierp_orders_place);
IERP_OWNER_ENTRY(ierp_orders_cancel);
IERP_OWNER_ENTRY(ierp_orders_pick);
IERP_OWNER_ENTRY(ierp_orders_short_pick);
IERP_OWNER_ENTRY(ierp_orders_pack);
IERP_OWNER_ENTRY(ierp_orders_ship);

static const Oid id_argtypes[] = {INT8OID, INT8OID, INT8OID, INT8OID};

/* Refuses (IE010) a step when the order's status is not one of allowed (NULL-terminated). */
static void
RequireStatus(const OrderHeader *order, const char *step, const char *const *allowed)
{
	const char *const *s;

	for (s = allowed; *s; s++)
		if (strcmp(order->status, *s) == 0)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("cannot %s order " INT64_FORMAT ": it is %s", step, order->order_id, order->status),
			 strcmp(step, "ship") == 0 && strcmp(order->status, "picking") == 0
			 ? errhint("Pack the order first with erp.pack(" INT64_FORMAT ").", order->order_id)
			 : strcmp(step, "pack") == 0 && strcmp(order->status, "shipped") != 0 &&
			 strcmp(order->status, "cancelled") != 0
			 ? errhint("Pick the order's units first with erp.pick().")
			 : 0));
}


/* The order id of (channel, external_ref); 0 when there is none. */
static int64
FindOrder(int64 channel_id, const char *external_ref)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;

	IerpPlan(&plan, "SELECT order_id FROM erp.sales_order WHERE channel_id = $1 AND external_ref = $2",
			 2, argtypes);
	values[0] = Int64GetDatum(channel_id);
	values[1] = CStringGetTextDatum(external_ref);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: order lookup failed");
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Two prices as numeric(14,2) would hold them: equal? */
static bool
PricesEqual(const char *a, const char *b)
{
	Datum		x = DirectFunctionCall3(numeric_in, CStringGetDatum(a), ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1));
	Datum		y = DirectFunctionCall3(numeric_in, CStringGetDatum(b), ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1));

	return DatumGetBool(DirectFunctionCall2(numeric_eq, x, y));
}

/*
 * A redelivery of (channel, external_ref): refuses it (IE010) unless it asks
 * for what the stored order asked for: the same lines (sku, qty, and the
 * unit_price when one is given) in the same order, the same ship_to and the
 * same priority.
 */
static void
CheckRedelivery(FunctionCallInfo fcinfo, int64 order_id, const char *channel, const char *external_ref,
				const CaptureLine *lines, int nlines, int32 priority)
{
	static SPIPlanPtr head_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	static const Oid head_types[] = {INT8OID, JSONBOID, INT4OID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	const char *differs = NULL;
	bool		isnull;
	int			i;

	IerpPlan(&head_plan,
			 "SELECT o.ship_to IS NOT DISTINCT FROM $2, o.priority = $3 FROM erp.sales_order o"
			 " WHERE o.order_id = $1",
			 3, head_types);
	values[0] = Int64GetDatum(order_id);
	values[1] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[1] = PG_ARGISNULL(3) ? 'n' : ' ';
	values[2] = Int32GetDatum(priority);
	if (SPI_execute_plan(head_plan, values, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read order " INT64_FORMAT, order_id);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		differs = "ship_to";
	else if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		differs = "priority";
	else
	{
		IerpPlan(&lines_plan,
				 "SELECT item_id, qty, unit_price::text FROM erp.order_line WHERE order_id = $1 ORDER BY line_no",
				 1, id_argtypes);
		if (SPI_execute_plan(lines_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read order lines");
		if (SPI_processed != (uint64) nlines)
			differs = "number of lines";
		for (i = 0; differs == NULL && i < nlines; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];

			if (DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)) != lines[i].item_id)
				differs = "sku";
			else if (DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull)) != lines[i].qty)
				differs = "qty";
			else if (lines[i].price != NULL &&
					 !PricesEqual(SPI_getvalue(tup, SPI_tuptable->tupdesc, 3), lines[i].price))
				differs = "unit_price";
		}
	}
	if (differs)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("order \"%s\" from channel \"%s\" was captured before as order " INT64_FORMAT
						" with a different %s", external_ref, channel, order_id, differs),
				 errdetail("A redelivered order must ask for what the first delivery asked for; nothing was changed."),
				 errhint("Send a changed order under a new external_ref, or cancel order " INT64_FORMAT " first.",
						 order_id)));
}

/*
 * The direct path of OrderCapture for a new (channel, external_ref) on one
 * node: the order's id, and its rows written (or, with defer and no kit
 * among the lines, kept in *defer for the caller to write).  False, with
 * nothing done, when the SQL path must run: Citus, a reference seen before
 * (a redelivery), a price that is no plain price.  Retired items are
 * refused here (IE010) as the SQL path refuses them after its insert.
 */
static bool
CaptureDirect(FunctionCallInfo fcinfo, int64 channel_id, const char *external_ref, int32 priority,
			  const CaptureLine *lines, int nlines, const B2bTerms *terms, NewOrder *defer, int64 *order_id)
{
	NewOrder	plan;
	bool		kit = false;
	int			i;

	if (!OrderRowsDirect() || OrderRefTaken(channel_id, external_ref))
		return false;
	memset(&plan, 0, sizeof(plan));
	plan.nlines = nlines;
	plan.lines = palloc0(sizeof(NewLineRow) * Max(nlines, 1));
	for (i = 0; i < nlines; i++)
	{
		NewLineRow *l = &plan.lines[i];
		const char *sku;
		const MasterItem *item;

		if (!OrderRowsPrice(lines[i].price ? lines[i].price : lines[i].item_price, &l->unit_price))
			return false;
		l->line_no = i + 1;
		l->item_id = lines[i].item_id;
		l->qty = lines[i].qty;
		l->status = "open";
		item = MasterItemById(lines[i].item_id, &sku);
		kit |= item == NULL || item->info.is_kit;
	}
	for (i = 0; i < nlines; i++)
		if (lines[i].retired)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("sku \"%s\" is retired and takes no new orders", lines[i].sku)));

	plan.order.order_id = OrderRowsNextOrderId();
	plan.order.channel_id = channel_id;
	plan.order.external_ref = external_ref;
	plan.order.priority = priority;
	plan.order.ship_to_null = PG_ARGISNULL(3);
	plan.order.ship_to = plan.order.ship_to_null ? (Datum) 0
		: PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(3)));
	plan.order.status = "open";
	plan.order.customer_id = terms->customer_id;
	plan.order.ship_complete = terms->ship_complete;
	*order_id = plan.order.order_id;
	/* a partner's order is checked against its rows (AccessCheckOrder): written first */
	if (defer != NULL && !kit && !AccessRestricted())
	{
		plan.deferred = true;
		*defer = plan;
		return true;
	}
	OrderRowsInsert(&plan.order, plan.lines, plan.nlines);
	return true;
}

/* A new order that arrives on hold: its hold and the order_held event. */
static void
CaptureHeld(int64 order_id, const char *reason, const char *note)
{
	int64		hold_id = OrderHoldInsert(order_id, reason, note);

	EventRecord("order_held", 0, 0, order_id, 0,
				psprintf("{\"reason\": %s, \"order_hold_id\": " INT64_FORMAT ", \"units_released\": 0}",
						 IerpJsonQuote(reason), hold_id));
}

/* The holds a new order arrives with: ship_to's, and a credit hold over its customer's limit. */
static void
CaptureHolds(int64 order_id, const char *hold, const char *credit_note)
{
	if (hold != NULL && (credit_note == NULL || strcmp(hold, "credit") != 0))
		CaptureHeld(order_id, hold, "on capture");
	if (credit_note != NULL)
		CaptureHeld(order_id, "credit", credit_note);
}

/*
 * OrderCapture: records the order of capture_order's arguments (fcinfo's
 * first five: channel, external_ref, lines, ship_to, priority; place_order
 * has the same) within the caller's SPI connection, and returns its id;
 * *created says whether this call created it.  Every argument is checked
 * first (IE003 unknown channel or sku, IE004 a bad value or shape, IE009 a
 * partner's channel it does not serve).  A (channel, external_ref) seen
 * before returns that order's id and changes nothing when the content is the
 * same, and is refused (IE010) when it is not.  A new order whose ship_to
 * carries {"hold": reason} arrives on hold (order_hold.c).
 */
static int64
OrderCapture(FunctionCallInfo fcinfo, bool *created, NewOrder *defer)
{
	static SPIPlanPtr order_plan = NULL;
	static const Oid order_types[] = {INT8OID, TEXTOID, INT4OID, JSONBOID, INT8ARRAYOID, INT8ARRAYOID,
	TEXTARRAYOID, INT8OID, BOOLOID};
	char	   *channel = IerpTextArg(fcinfo, 0);
	char	   *external_ref = IerpTextArg(fcinfo, 1);
	int32		priority = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	int64		channel_id;
	int64		order_id;
	Datum		values[9];
	char		nulls[9];
	bool		isnull;
	int			nlines,
				i;
	CaptureLine *lines;
	LOCKTAG		ref_tag;
	const char *hold;
	const char *service;
	B2bTerms	terms;
	char	   *credit_note;

	*created = false;
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	if (external_ref == NULL || external_ref[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("an order from channel \"%s\" needs an external_ref", channel ? channel : ""),
				 errhint("Pass the channel's own order number; it makes redelivery safe.")));
	IerpCheckText(external_ref, "external_ref", ORDER_MAX_EXTERNAL_REF);
	if (priority < -ORDER_MAX_PRIORITY || priority > ORDER_MAX_PRIORITY)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid priority %d for order \"%s\"", priority, external_ref),
				 errdetail("A priority lies between %d and %d.", -ORDER_MAX_PRIORITY, ORDER_MAX_PRIORITY)));
	channel_id = IerpLookupChannel(channel);
	AccessCheckChannel(channel_id);
	nlines = OrderReadCapture(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2),
							  PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3),
							  channel, external_ref, &lines);
	/* {"hold": reason} in ship_to: the order arrives on hold (order_hold.c), its rows written at once */
	hold = OrderHoldRequested(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));
	/* {"service": level}: its ship_by is recorded with the order (service_level.c) */
	service = OrderServiceRequested(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));
	/* lines that allow substitutes are recorded with the new order (substitute.c) */
	if (hold != NULL || service != NULL || SubstituteAnyLine(lines, nlines))
		defer = NULL;

	/*
	 * Own the (channel, external_ref) first: a second capture of the same new
	 * reference would otherwise wait in the unique index for the first one's
	 * commit, whatever it holds.  Waited for only where the global lock order
	 * allows, else refused (55P03) at once.
	 */
	StockExternalRefTag(&ref_tag, channel_id, external_ref);
	if (!StockTagLock(&ref_tag, true, false))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("order \"%s\" from channel \"%s\" is being captured by another transaction", external_ref, channel),
				 errdetail("This transaction already holds stock or orders that come later in the lock order; waiting could deadlock."),
				 errhint("Retry the transaction; a redelivery then returns the order the other transaction captured.")));

	/*
	 * On one node a new order's rows are written directly: no statement to
	 * start, no CHECK constraint to re-read.  With defer (place_order), the
	 * rows of an order of plain items are not written yet: the caller
	 * allocates it first and writes them once, with their final numbers.
	 */
	/* a B2B customer's terms: its price breaks, ship-complete, and a credit hold over its limit */
	B2bReadTerms(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), &terms);
	B2bApplyPrices(&terms, lines, nlines);
	credit_note = B2bCreditNote(&terms, lines, nlines);
	if (credit_note != NULL)
		defer = NULL;

	if (CaptureDirect(fcinfo, channel_id, external_ref, priority, lines, nlines, &terms, defer, &order_id))
	{
		*created = true;
		CaptureHolds(order_id, hold, credit_note);
		SubstituteRecordLines(order_id, lines, nlines);
		if (service != NULL)
			OrderServiceRecord(order_id, channel_id, service);
		return order_id;
	}

	/*
	 * The order and its lines in one statement.  A (channel, external_ref)
	 * captured before inserts nothing: then it is a redelivery.
	 */
	IerpPlan(&order_plan,
			 "WITH o AS (INSERT INTO erp.sales_order (channel_id, external_ref, priority, ship_to, customer_id, ship_complete)"
			 "           VALUES ($1, $2, $3, $4, NULLIF($8, 0), $9)"
			 "           ON CONFLICT (channel_id, external_ref) DO NOTHING RETURNING order_id)"
			 " INSERT INTO erp.order_line (order_id, line_no, item_id, qty, unit_price)"
			 " SELECT o.order_id, l.n, l.item_id, l.qty, l.price::numeric"
			 "   FROM o, unnest($5::bigint[], $6::bigint[], $7::text[]) WITH ORDINALITY AS l(item_id, qty, price, n)"
			 " RETURNING order_id",
			 9, order_types);
	{
		Datum	   *items = palloc(sizeof(Datum) * nlines);
		Datum	   *qtys = palloc(sizeof(Datum) * nlines);
		Datum	   *prices = palloc(sizeof(Datum) * nlines);

		for (i = 0; i < nlines; i++)
		{
			items[i] = Int64GetDatum(lines[i].item_id);
			qtys[i] = Int64GetDatum(lines[i].qty);
			prices[i] = CStringGetTextDatum(lines[i].price ? lines[i].price : lines[i].item_price);
		}
		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(channel_id);
		values[1] = CStringGetTextDatum(external_ref);
		values[2] = Int32GetDatum(priority);
		values[3] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
		nulls[3] = PG_ARGISNULL(3) ? 'n' : ' ';
		values[4] = PointerGetDatum(construct_array(items, nlines, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[5] = PointerGetDatum(construct_array(qtys, nlines, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[6] = PointerGetDatum(construct_array(prices, nlines, TEXTOID, -1, false, TYPALIGN_INT));
		values[7] = Int64GetDatum(terms.customer_id);
		values[8] = BoolGetDatum(terms.ship_complete);
	}
	if (SPI_execute_plan(order_plan, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: order insert failed");
	if (SPI_processed == 0)
	{
		/* captured before: the same content returns the same id and changes nothing */
		order_id = FindOrder(channel_id, external_ref);
		if (order_id == 0)
			elog(ERROR, "inventory_erp: order \"%s\" vanished", external_ref);
		CheckRedelivery(fcinfo, order_id, channel, external_ref, lines, nlines, priority);
		return order_id;
	}
	order_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* a new order only: a redelivery of one captured before the item retired is no new order */
	for (i = 0; i < nlines; i++)
		if (lines[i].retired)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("sku \"%s\" is retired and takes no new orders", lines[i].sku)));
	*created = true;
	CaptureHolds(order_id, hold, credit_note);
	SubstituteRecordLines(order_id, lines, nlines);
	if (service != NULL)
		OrderServiceRecord(order_id, channel_id, service);
	return order_id;
}

/*
 * erp.capture_order(channel, external_ref, lines, ship_to, priority,
 * idempotency_key, hold_ref): see OrderCapture.  With hold_ref (the 7th
 * argument) a new order takes over the checkout hold's reserved units and
 * is allocated for the rest (HoldsConvert, holds.c); a redelivery changes
 * nothing and is refused (IE010) unless the hold became this order.
 */
static Datum
ierp_orders_capture_body(PG_FUNCTION_ARGS)
{
	bool		created;
	int64		order_id;
	bool		has_hold = PG_NARGS() > 6 && !PG_ARGISNULL(6);
	int64		hold_id = has_hold ? IerpIdArg(fcinfo, 6, "hold") : 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	order_id = OrderCapture(fcinfo, &created, NULL);
	if (has_hold && created)
		HoldsConvert(hold_id, order_id, IerpLookupChannel(IerpTextArg(fcinfo, 0)));
	else if (has_hold)
		HoldsCheckConverted(hold_id, order_id);
	SPI_finish();
	PG_RETURN_INT64(order_id);
}

/*
 * erp.place_order(channel, external_ref, lines, ship_to, priority): a
 * webhook's whole work in one call: captures the order as capture_order does
 * (a redelivery with other content: IE010), then allocates it as
 * erp.allocate does, and returns what the order holds, each row led by the
 * order id and whether this call created the order.  A redelivery of an
 * order that is allocated, packed, shipped or cancelled returns what it
 * holds, no error.
 */
static Datum
ierp_orders_place_body(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrderHeader order;
	AllocResult result;
	NewOrder	fresh;
	int64		order_id;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	memset(&fresh, 0, sizeof(fresh));
	order_id = OrderCapture(fcinfo, &result.created, &fresh);
	result.store = rsinfo->setResult;
	result.desc = rsinfo->setDesc;
	result.with_order = true;
	if (fresh.deferred)
	{
		/* a new order of plain items on one node: allocated, then written once */
		OrderOwnNew(order_id, fresh.order.channel_id,
					fresh.order.ship_to_null ? NULL : DatumGetJsonbP(fresh.order.ship_to), &order);
		order.ship_complete = fresh.order.ship_complete;
		AllocateNewOrder(&order, &fresh, &result);
	}
	else
	{
		OrderLock(order_id, &order);
		AccessCheckOrder(order.order_id);
		AllocateAndReport(&order, &result);
	}
	SPI_finish();
	return (Datum) 0;
}

/* erp.cancel_order(order_id): releases everything held; refused once packed (IE010). */
static Datum
ierp_orders_cancel_body(PG_FUNCTION_ARGS)
{
	HeldBatch	batch;
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr order_plan = NULL;
	static const char *const allowed[] = {"open", "allocated", "partially_allocated", "backordered",
	"picking", NULL};
	OrderHeader order;
	HeldUnits  *h;
	int			n,
				i;
	Datum		values[1];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	OrderLock(IerpIdArg(fcinfo, 0, "order"), &order);
	AccessCheckOrder(order.order_id);
	RequireStatus(&order, "cancel", allowed);
	n = LoadHeld(order.order_id, 0, &h);
	HeldBatchInit(&batch, order.order_id, n);
	for (i = 0; i < n; i++)
	{
		if (h[i].unpicked > 0)
			HeldBatchAdd(&batch, &h[i], h[i].unpicked, STATE_RESERVED, STATE_AVAILABLE, "release");
		if (h[i].picked > 0)
			HeldBatchAdd(&batch, &h[i], h[i].picked, STATE_PICKED, STATE_AVAILABLE, "putback");
	}
	HeldBatchApply(&batch);
	for (i = 0; i < n; i++)
		ReservationChange(&h[i], -(h[i].unpicked + h[i].picked), -h[i].picked, 0);
	DeleteEmptyReservations(order.order_id, h, n);
	IerpPlan(&lines_plan,
			 "UPDATE erp.order_line SET status = 'cancelled', qty_allocated = qty_shipped,"
			 "       qty_backordered = 0 WHERE order_id = $1 AND status <> 'shipped'",
			 1, id_argtypes);
	IerpPlan(&order_plan,
			 "UPDATE erp.sales_order SET status = 'cancelled', updated_at = pg_catalog.now()"
			 " WHERE order_id = $1",
			 1, id_argtypes);
	values[0] = Int64GetDatum(order.order_id);
	if (SPI_execute_plan(lines_plan, values, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_execute_plan(order_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: cancel failed");
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * OrderPickNode: the node a pick of order_id happens at, for its exception
 * event (so that the node's partner reads it, and alerts can group by node):
 * the node holding the scanned item's reservations (item_id; 0 when the scan
 * named no item of the order), else the node holding the order's; the
 * lowest when several do; 0 when the order holds nothing.
 */
static int64
OrderPickNode(int64 order_id, int64 item_id)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		node;

	IerpPlan(&plan,
			 "SELECT COALESCE(min(r.node_id) FILTER (WHERE r.item_id = $2), min(r.node_id))"
			 "  FROM erp.reservation r WHERE r.order_id = $1",
			 2, id_argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id), Int64GetDatum(item_id)}, NULL, false, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read an order's reservations");
	node = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(node);
}

/* a pick exception's payload lists at most this many of the order's lines */
#define PICK_EVENT_MAX_LINES	100

/*
 * OrderLinesJson: the order's lines as a pick exception's payload shows them,
 * the members "lines": [{"line_no", "sku", "qty", "qty_picked"}, ...] (at
 * most PICK_EVENT_MAX_LINES, in line order; then "lines_truncated": true),
 * to go inside a JSON object.  qty_picked: units picked or packed and not
 * shipped (a kit line: whole kits whose components are all picked).
 */
static char *
OrderLinesJson(int64 order_id)
{
	static SPIPlanPtr plan = NULL;
	StringInfoData buf;
	uint64		i;

	IerpPlan(&plan,
			 "SELECT l.line_no, i.sku, l.qty, COALESCE(k.picked, 0)::bigint"
			 "  FROM erp.order_line l JOIN erp.item i ON i.item_id = l.item_id"
			 "  LEFT JOIN (SELECT p.line_no, min(p.picked / p.per) AS picked"
			 "               FROM (SELECT r.line_no, sum(r.qty_picked) AS picked, COALESCE(max(c.qty), 1) AS per"
			 "                       FROM erp.reservation r"
			 "                       JOIN erp.order_line ol ON ol.order_id = r.order_id AND ol.line_no = r.line_no"
			 "                       LEFT JOIN erp.item_component c"
			 "                         ON c.kit_item_id = ol.item_id AND c.component_item_id = r.item_id"
			 "                      WHERE r.order_id = $1"
			 "                      GROUP BY r.line_no, r.item_id) p"
			 "              GROUP BY p.line_no) k ON k.line_no = l.line_no"
			 " WHERE l.order_id = $1 ORDER BY l.line_no LIMIT $2",
			 2, (Oid[]) {INT8OID, INT4OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(PICK_EVENT_MAX_LINES + 1)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order lines");
	initStringInfo(&buf);
	appendStringInfoString(&buf, "\"lines\": [");
	for (i = 0; i < SPI_processed && i < PICK_EVENT_MAX_LINES; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		appendStringInfo(&buf, "%s{\"line_no\": %d, \"sku\": %s, \"qty\": " INT64_FORMAT
						 ", \"qty_picked\": " INT64_FORMAT "}",
						 i > 0 ? ", " : "",
						 DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)),
						 IerpJsonQuote(SPI_getvalue(tup, desc, 2)),
						 DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)),
						 DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)));
	}
	appendStringInfoChar(&buf, ']');
	if (SPI_processed > PICK_EVENT_MAX_LINES)
		appendStringInfoString(&buf, ", \"lines_truncated\": true");
	return buf.data;
}

/* ShownScan: a scan as an error message shows it: its first 64 bytes, cut at a character. */
static const char *
ShownScan(const char *scan)
{
	return pnstrdup(scan, pg_mbcliplen(scan, strlen(scan), IERP_MAX_KEY_LEN));
}

/*
 * PickException: records a pick exception of order_id (its scan, qty and
 * the item the scan named, 0 for none) so that it outlives the refusal that
 * follows: at the node of the scanned line, else the order's first, with the
 * order's lines.  extra: more payload members (the lots expected and
 * scanned), or NULL.
 */
static void
PickException(int64 order_id, int64 item_id, const char *scan, int64 qty, const char *extra)
{
	char	   *lines = OrderLinesJson(order_id);

	/* the event writer keeps the scan up to its limit, cut at a character */
	EventRecordDetachedWith("pick_exception", item_id, OrderPickNode(order_id, item_id), order_id, 0,
							"scan", scan, qty, extra ? psprintf("%s, %s", lines, extra) : lines);
}

/*
 * A pick's scan that names no item the order holds: recorded, then refused
 * (IE007), saying why (a malformed GS1 string, a GS1 string without a
 * GTIN, an unknown item, an item the order does not hold).
 */
static void
pg_attribute_noreturn()
PickWrongScan(const OrderHeader *order, const char *scan, const PickScan *ps, int64 qty)
{
	char		shown[IERP_MAX_KEY_LEN * 3 + 8];

	PickException(order->order_id, ps->item_id, scan, qty, NULL);
	/* a GS1 string may hold group separators: quoted as <GS> */
	if (ps->gs1_result == GS1_NOT_GS1)
		strlcpy(shown, ShownScan(scan), sizeof(shown));
	else
		Gs1Show(scan, strlen(scan), shown, sizeof(shown));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_SCAN_MISMATCH),
			 errmsg("scan \"%s\" does not match any item to pick for order " INT64_FORMAT,
					shown, order->order_id),
			 ps->item_id ? errdetail("Sku \"%s\" is not held for this order.", ps->sku)
			 : ps->gs1_result == GS1_MALFORMED ? errdetail("The scan is a malformed GS1 element string: %s.", ps->why)
			 : ps->gs1_result == GS1_PARSED ? errdetail("The GS1 element string names no item of the catalogue (no GTIN, or a GTIN no item has).")
			 : errdetail("No sku or GTIN \"%s\" is known.", ShownScan(scan)),
			 errhint("Put the unit back and scan an item of the order; the exception is recorded in erp.event.")));
}

/* The lot codes of held units h[0..n) that have units left to pick, as text and as a JSON array. */
static void
PickExpectedLots(const HeldUnits *h, int n, const PickLot *lots, int nlots, char **text, char **json)
{
	StringInfoData t,
				j;
	int			i;

	initStringInfo(&t);
	initStringInfo(&j);
	appendStringInfoChar(&j, '[');
	for (i = 0; i < n; i++)
	{
		const PickLot *lot = PickLotFind(lots, nlots, h[i].lot_id);

		if (h[i].unpicked == 0 || lot == NULL)
			continue;
		appendStringInfo(&t, "%s\"%s\"%s%s", t.len > 0 ? ", " : "", lot->lot_code,
						 lot->has_expiry ? " expiring " : "",
						 lot->has_expiry ? PickDateText(lot->expires_on) : "");
		appendStringInfo(&j, "%s%s", j.len > 1 ? ", " : "", IerpJsonQuote(lot->lot_code));
	}
	appendStringInfoChar(&j, ']');
	*text = t.data;
	*json = j.data;
}

/* Whether lot (NULL: units held in no lot) is what a GS1 scan names: its lot (AI 10) and expiry (AI 17). */
static bool
PickLotMatches(const PickScan *ps, const PickLot *lot)
{
	if (ps->gs1.lot[0] != '\0' && (lot == NULL || strcmp(lot->lot_code, ps->gs1.lot) != 0))
		return false;
	if (ps->gs1.has_expiry && (lot == NULL || !lot->has_expiry || lot->expires_on != ps->gs1.expiry))
		return false;
	return true;
}

/*
 * Narrows a GS1 pick to the held units h[0..n) of the scanned lot (AI 10)
 * and expiry (AI 17): sets unpicked to 0 on the others.  Only for a
 * lot-tracked item (units held in lots); another item's label may carry a
 * lot and dates that the books do not keep.  A lot the order does not hold
 * for the item, or an expiry that is not the lot's, is recorded and refused
 * (IE007), naming what is reserved (first-expiry-first-out chose it) and
 * what was scanned.
 */
static void
PickMatchLot(const OrderHeader *order, const char *scan, const PickScan *ps, int64 qty, HeldUnits *h, int n)
{
	int64	   *lot_ids = palloc(sizeof(int64) * Max(n, 1));
	PickLot    *lots;
	int			nlots,
				i;
	int64		matching = 0;
	bool		lot_seen = false;
	char	   *expected,
			   *expected_json;

	if (ps->gs1.lot[0] == '\0' && !ps->gs1.has_expiry)
		return;
	for (i = 0; i < n; i++)
		lot_ids[i] = h[i].lot_id;
	nlots = PickLotsOf(ps->item_id, lot_ids, n, &lots);
	if (nlots == 0)
		return;					/* not held in lots: nothing to compare */
	for (i = 0; i < n; i++)
	{
		const PickLot *lot = PickLotFind(lots, nlots, h[i].lot_id);

		if (lot && h[i].unpicked > 0 && strcmp(lot->lot_code, ps->gs1.lot) == 0)
			lot_seen = true;
		if (PickLotMatches(ps, lot))
			matching += h[i].unpicked;
	}
	if (matching > 0)
	{
		for (i = 0; i < n; i++)
			if (!PickLotMatches(ps, PickLotFind(lots, nlots, h[i].lot_id)))
				h[i].unpicked = 0;
		return;
	}
	PickExpectedLots(h, n, lots, nlots, &expected, &expected_json);
	PickException(order->order_id, ps->item_id, scan, qty,
				  psprintf("\"expected_lots\": %s, \"scanned_lot\": %s, \"scanned_expiry\": %s", expected_json,
						   ps->gs1.lot[0] ? IerpJsonQuote(ps->gs1.lot) : "null",
						   ps->gs1.has_expiry ? IerpJsonQuote(PickDateText(ps->gs1.expiry)) : "null"));
	if (ps->gs1.lot[0] != '\0' && !lot_seen)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_SCAN_MISMATCH),
				 errmsg("lot \"%s\" scanned for sku \"%s\" is not the lot reserved for order " INT64_FORMAT,
						ps->gs1.lot, ps->sku, order->order_id),
				 errdetail("The order holds lot %s of this sku (first expiry, first out).", expected),
				 errhint("Put the unit back and pick from the reserved lot; the exception is recorded in erp.event.")));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_SCAN_MISMATCH),
			 errmsg("expiry %s scanned for sku \"%s\" does not match the lot reserved for order " INT64_FORMAT,
					PickDateText(ps->gs1.expiry), ps->sku, order->order_id),
			 errdetail("The order holds lot %s of this sku.", expected),
			 errhint("Check the label; the exception is recorded in erp.event.")));
}

/*
 * A short bin at erp.pick_bin: the bin gives fewer units of the order's
 * item (and lots) than picked.  Recorded first (a detached pick_exception
 * event with "count_bin": true, so the bin is on erp.bin_count_worklist
 * whatever becomes of this transaction), then refused (IE007).
 */
static void
pg_attribute_noreturn()
PickShortBin(const OrderHeader *order, const PickScan *ps, const char *scan, int64 qty, const char *bin,
			 int64 node_id, int64 bin_units, bool lots)
{
	PickException(order->order_id, ps->item_id, scan, qty,
				  psprintf("\"bin\": %s, \"bin_units\": " INT64_FORMAT ", \"count_bin\": true",
						   IerpJsonQuote(bin), bin_units));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_SCAN_MISMATCH),
			 errmsg("bin \"%s\" at node \"%s\" holds " INT64_FORMAT " units of sku \"%s\", "
					INT64_FORMAT " picked for order " INT64_FORMAT,
					bin, IerpNodeCode(node_id), bin_units, ps->sku, qty, order->order_id),
			 errdetail("The books hold " INT64_FORMAT " reserved or available units of the sku%s in that bin.",
					   bin_units, lots ? " and the order's lots" : ""),
			 errhint("Pick from another bin that holds the item (erp.bin_stock), or report the units "
					 "missing with erp.short_pick(); the bin is flagged for a count in erp.event.")));
}

/*
 * erp.pick(order_id, scan, qty): confirms qty units of the scanned item
 * picked.  The scan is a sku, a GTIN, or a GS1 element string: then its
 * lot (AI 10) must be a lot reserved for the order and its expiry (AI 17)
 * that lot's, and qty defaults to its count (AI 30/37).  qty NULL (the
 * default) is 1 unit, or a GS1 scan's count.  A scan of an item the order
 * does not hold, a malformed GS1 string, a wrong lot or expiry: refused
 * (IE007) and kept as a pick_exception event; picking more than is left to
 * pick: IE004.
 */
static Datum
ierp_orders_pick_body(PG_FUNCTION_ARGS)
{
	static const char *const allowed[] = {"allocated", "partially_allocated", "picking", NULL};
	char	   *scan = IerpTextArg(fcinfo, 1);
	/* erp.pick_bin(order_id, scan, qty, bin), bound to this body too: the scanned bin */
	bool		by_bin = IerpCalledAs(fcinfo, "pick_bin");
	char	   *bin = by_bin ? IerpTextArg(fcinfo, 3) : NULL;
	int64		bin_id = 0;
	int64		bin_node = 0;
	int64		qty;
	OrderHeader order;
	PickScan	ps;
	HeldUnits  *h;
	int			n,
				i;
	int64		left = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	OrderLock(IerpIdArg(fcinfo, 0, "order"), &order);
	AccessCheckOrder(order.order_id);
	RequireStatus(&order, "pick", allowed);
	if (by_bin && (bin == NULL || *bin == '\0'))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no bin scanned for order " INT64_FORMAT, order.order_id),
				 errdetail("erp.pick_bin takes the code on the bin's label as well as the item's scan.")));
	if (by_bin && strlen(bin) > IERP_MAX_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_SCAN_MISMATCH),
				 errmsg("bin scan for order " INT64_FORMAT " is %zu bytes long", order.order_id, strlen(bin)),
				 errdetail("A bin code is at most %d bytes.", IERP_MAX_KEY_LEN)));

	if (scan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no scan given for order " INT64_FORMAT, order.order_id),
				 errdetail("A scan is the sku, GTIN or GS1 element string read from the unit.")));
	if (*scan == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("empty scan for order " INT64_FORMAT, order.order_id),
				 errdetail("A scan is the sku, GTIN or GS1 element string read from the unit.")));
	PickScanRead(scan, &ps);
	if (!PG_ARGISNULL(2))
		qty = PG_GETARG_INT64(2);
	else
		qty = ps.gs1_result == GS1_PARSED && ps.gs1.has_count ? ps.gs1.count : 1;
	IerpCheckQuantity(qty, ps.sku ? ps.sku : "(scan)");
	/* a case's GTIN (erp.item_uom): qty counts cases */
	if (ps.units > 1)
	{
		if (qty > IERP_MAX_MOVE_QTY / ps.units)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("cannot pick " INT64_FORMAT " packs of " INT64_FORMAT " units of sku \"%s\"",
							qty, ps.units, ps.sku),
					 errdetail("A pick moves at most " INT64_FORMAT " units.", IERP_MAX_MOVE_QTY)));
		qty *= ps.units;
	}
	n = ps.item_id ? LoadHeld(order.order_id, ps.item_id, &h) : 0;
	if (n == 0)
		PickWrongScan(&order, scan, &ps, qty);
	if (ps.gs1_result == GS1_PARSED)
		PickMatchLot(&order, scan, &ps, qty, h, n);
	for (i = 0; i < n; i++)
		left += h[i].unpicked;
	if (qty > left)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("cannot pick " INT64_FORMAT " of sku \"%s\" for order " INT64_FORMAT ": "
						INT64_FORMAT " left to pick", qty, ps.sku, order.order_id, left),
				 ps.gs1_result == GS1_PARSED && (ps.gs1.lot[0] || ps.gs1.has_expiry)
				 ? errdetail("Units of the scanned lot only.") : 0));
	if (by_bin)
	{
		/* the bin is one of the node that holds the units: pick only the units held there */
		int64		there = 0;

		for (i = 0; i < n && bin_id == 0; i++)
			if (h[i].unpicked > 0)
			{
				bin_id = BinsLookup(h[i].node_id, bin, NULL, true);
				bin_node = h[i].node_id;
			}
		for (i = 0; i < n; i++)
			if (h[i].node_id != bin_node)
				h[i].unpicked = 0;
			else
				there += h[i].unpicked;
		if (bin_id == 0 || qty > there)
		{
			PickException(order.order_id, ps.item_id, scan, qty,
						  psprintf("\"bin\": %s, \"expected_node\": %s", IerpJsonQuote(bin),
								   IerpJsonQuote(IerpNodeCode(bin_node))));
			ereport(ERROR,
					(errcode(ERRCODE_IERP_SCAN_MISMATCH),
					 errmsg("bin \"%s\" scanned for sku \"%s\" of order " INT64_FORMAT " is not a bin of node \"%s\"",
							bin, ps.sku, order.order_id, IerpNodeCode(bin_node)),
					 errdetail("The order holds the units at node \"%s\".", IerpNodeCode(bin_node)),
					 errhint("Go to a bin of that node that holds the item (erp.bin_stock); the exception is recorded in erp.event.")));
		}
	}
	if (bin_id != 0)
	{
		/*
		 * What the bin gives each reservation: a lot-tracked order may hold
		 * several lots and a bin only some of them, so each reservation may
		 * take what its lot has left in the bin (h is in lot order) and a lot
		 * the bin lacks is passed over.  A bin that gives fewer than qty is a
		 * short bin: recorded (the bin wants a count), then refused.
		 */
		int64		fits = 0,
					bin_units = 0,
					lot_left = 0,
					lot = -1;
		int64		node_id = bin_node;

		for (i = 0; i < n; i++)
		{
			if (h[i].unpicked == 0)
				continue;
			if (h[i].lot_id != lot)
			{
				lot = h[i].lot_id;
				lot_left = Max(BinsPickable(h[i].item_id, h[i].node_id, h[i].lot_id, bin_id), 0);
				bin_units += lot_left;
			}
			h[i].unpicked = Min(h[i].unpicked, lot_left);
			lot_left -= h[i].unpicked;
			fits += h[i].unpicked;
		}
		if (fits < qty)
			PickShortBin(&order, &ps, scan, qty, bin, node_id, bin_units, lot > 0);
	}
	for (i = 0; i < n && qty > 0; i++)
	{
		int64		part = Min(qty, h[i].unpicked);

		if (part == 0)
			continue;
		if (bin_id != 0)
		{
			int64		gave = BinsPickFrom(order.order_id, h[i].item_id, h[i].node_id, h[i].lot_id, bin_id, part);

			/* a count of the bin committed while the take waited for it, and left too few */
			if (gave < part)
				PickShortBin(&order, &ps, scan, qty, bin, h[i].node_id, gave, h[i].lot_id > 0);
		}
		else
			MoveHeld(order.order_id, &h[i], part, STATE_RESERVED, STATE_PICKED, "pick");
		ReservationChange(&h[i], 0, part, 0);
		qty -= part;
	}
	OrderRefreshStatus(&order, false, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * After missing units of item left a line's reservations: the line gives up
 * what it can no longer fill.  A plain line loses the missing units; a kit
 * line loses whole kits (missing component units rounded up to kits) and
 * gives the rest of those kits' components back to available.
 */
static void
LineLosesShortUnits(int64 order_id, int32 line_no, int64 item_id, int64 missing)
{
	static SPIPlanPtr kit_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT4OID, INT8OID};
	int64		lost = missing;
	uint64		ncomp,
				c;
	int64	   *comp_item,
			   *comp_qty;
	bool		isnull;

	IerpPlan(&kit_plan,
			 "SELECT c.component_item_id, c.qty FROM erp.order_line ol"
			 "  JOIN erp.item_component c ON c.kit_item_id = ol.item_id"
			 " WHERE ol.order_id = $1 AND ol.line_no = $2",
			 2, argtypes);
	if (SPI_execute_plan(kit_plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(line_no)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read kit");
	ncomp = SPI_processed;
	comp_item = palloc(sizeof(int64) * Max(ncomp, 1));
	comp_qty = palloc(sizeof(int64) * Max(ncomp, 1));
	for (c = 0; c < ncomp; c++)
	{
		comp_item[c] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[c], SPI_tuptable->tupdesc, 1, &isnull));
		comp_qty[c] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[c], SPI_tuptable->tupdesc, 2, &isnull));
		if (comp_item[c] == item_id)
			lost = (missing + comp_qty[c] - 1) / comp_qty[c];
	}
	for (c = 0; c < ncomp; c++)
	{
		int64		back = lost * comp_qty[c] - (comp_item[c] == item_id ? missing : 0);

		if (back > 0)
			HeldGiveBack(order_id, line_no, comp_item[c], back);
	}
	IerpPlan(&line_plan,
			 "UPDATE erp.order_line SET qty_allocated = qty_allocated - $3"
			 " WHERE order_id = $1 AND line_no = $2",
			 3, argtypes);
	if (SPI_execute_plan(line_plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(line_no), Int64GetDatum(lost)},
						 NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: order line update failed");
}

/*
 * erp.short_pick(order_id, sku, missing): missing reserved units were not on
 * the shelf.  Their write-off is an adjustment like any other on-hand change
 * outside a count (erp.adjustment, reason 'short_pick', created_by the
 * picker), under the one adjustment threshold valued on all the missing
 * units: within it they leave the books at once (event adjust, the
 * adjustment applied); above it they move from reserved to quarantined
 * (release, then hold: on hand, no longer promisable) and the adjustment
 * waits for an approver other than the picker (erp.approve_adjustment writes
 * them off from quarantined).  The picker is never blocked.  A kit line gives
 * back the rest of the kits it can no longer make, a pick_exception event is
 * recorded, and the line is re-allocated at another node.
 */
static Datum
ierp_orders_short_pick_body(PG_FUNCTION_ARGS)
{
	static const char *const allowed[] = {"allocated", "partially_allocated", "picking", NULL};
	char	   *sku = IerpTextArg(fcinfo, 1);
	int64		missing = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	OrderHeader order;
	ItemInfo	item;
	HeldUnits  *h;
	int			n,
				i;
	int64		unpicked = 0;
	int64		left;
	int64		short_node = 0;
	int32		line_no;
	bool		waits;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	OrderLock(IerpIdArg(fcinfo, 0, "order"), &order);
	AccessCheckOrder(order.order_id);
	RequireStatus(&order, "short-pick", allowed);
	IerpLookupItem(sku, &item);
	IerpCheckQuantity(missing, sku);
	n = LoadHeld(order.order_id, item.item_id, &h);
	for (i = 0; i < n; i++)
		unpicked += h[i].unpicked;
	if (missing > unpicked)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("cannot short-pick " INT64_FORMAT " of sku \"%s\" for order " INT64_FORMAT
						": " INT64_FORMAT " reserved and not picked", missing, sku, order.order_id, unpicked)));

	/* the missing units leave the books, or wait in quarantine, from the first reservations */
	waits = CountsWriteOffWaits(item.item_id, missing, sku);
	left = missing;
	line_no = h[0].line_no;
	for (i = 0; i < n && left > 0; i++)
	{
		int64		part = Min(left, h[i].unpicked);

		if (part == 0 || h[i].line_no != line_no)
			continue;
		if (short_node == 0)
			short_node = h[i].node_id;
		if (!waits)
			CountsRecordShortPick(item.item_id, sku, h[i].node_id, h[i].lot_id, part,
								  MoveHeld(order.order_id, &h[i], part, STATE_RESERVED, STATE_OUTSIDE, "adjust"));
		else
		{
			int64		adjustment_id;

			MoveHeld(order.order_id, &h[i], part, STATE_RESERVED, STATE_AVAILABLE, "release");
			adjustment_id = CountsRecordShortPick(item.item_id, sku, h[i].node_id, h[i].lot_id, part, 0);
			StockDocumentMove(psprintf("adjustment:" INT64_FORMAT, adjustment_id), item.item_id, h[i].lot_id,
							   part, h[i].node_id, STATE_AVAILABLE, h[i].node_id, STATE_QUARANTINED, "hold", STOCK_TAKE_ALL);
		}
		ReservationChange(&h[i], -part, 0, 0);
		left -= part;
	}
	if (left > 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("cannot short-pick " INT64_FORMAT " of sku \"%s\" on one line of order " INT64_FORMAT,
						missing, sku, order.order_id)));

	LineLosesShortUnits(order.order_id, line_no, item.item_id, missing);
	DeleteEmptyReservations(order.order_id, h, n);
	EventRecord("pick_exception", item.item_id, short_node, order.order_id, 0,
				psprintf("{\"sku\": %s, \"short\": " INT64_FORMAT ", %s}", IerpJsonQuote(sku), missing,
						 OrderLinesJson(order.order_id)));

	/* try elsewhere */
	AllocateOrder(&order, short_node, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/* erp.pack(order_id): packs every picked unit, once nothing reserved is left to pick. */
static Datum
ierp_orders_pack_body(PG_FUNCTION_ARGS)
{
	HeldBatch	batch;
	static const char *const allowed[] = {"picking", NULL};
	OrderHeader order;
	HeldUnits  *h;
	int			n,
				i;
	int64		unpicked = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	OrderLock(IerpIdArg(fcinfo, 0, "order"), &order);
	AccessCheckOrder(order.order_id);
	RequireStatus(&order, "pack", allowed);
	OrderHoldRefuseStep(&order, "pack");
	n = LoadHeld(order.order_id, 0, &h);
	for (i = 0; i < n; i++)
		unpicked += h[i].unpicked;
	if (unpicked > 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot pack order " INT64_FORMAT ": " INT64_FORMAT " reserved units are not picked yet",
						order.order_id, unpicked),
				 errhint("Pick them with erp.pick(), or report them missing with erp.short_pick().")));
	HeldBatchInit(&batch, order.order_id, n);
	for (i = 0; i < n; i++)
		if (h[i].picked > 0)
			HeldBatchAdd(&batch, &h[i], h[i].picked, STATE_PICKED, STATE_PACKED, "pack");
	HeldBatchApply(&batch);
	for (i = 0; i < n; i++)
		if (h[i].picked > 0)
			ReservationChange(&h[i], 0, 0, h[i].picked);
	OrderRefreshStatus(&order, false, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * erp.ship(order_id, carrier, tracking): the packed units leave; returns the
 * shipment id.  Refused unless the order is packed (IE010).
 */
static Datum
ierp_orders_ship_body(PG_FUNCTION_ARGS)
{
	HeldBatch	batch;
	static SPIPlanPtr shipment_plan = NULL;
	static SPIPlanPtr sline_plan = NULL;
	static SPIPlanPtr shipped_plan = NULL;
	static const Oid shipment_types[] = {INT8OID, TEXTOID, TEXTOID};
	static const Oid sline_types[] = {INT8OID, INT8OID, INT4OID, INT8OID, INT8OID, INT8OID, INT8OID};
	static const char *const allowed[] = {"packed", NULL};
	OrderHeader order;
	HeldUnits  *h;
	int			n,
				i;
	Datum		values[9];
	char		nulls[9];
	bool		isnull;
	int64		shipment_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpCheckText(IerpTextArg(fcinfo, 1), "carrier", IERP_MAX_KEY_LEN);
	IerpCheckText(IerpTextArg(fcinfo, 2), "tracking", IERP_MAX_TEXT_LEN);
	OrderLock(IerpIdArg(fcinfo, 0, "order"), &order);
	AccessCheckOrder(order.order_id);
	RequireStatus(&order, "ship", allowed);
	OrderHoldRefuseStep(&order, "ship");

	IerpPlan(&shipment_plan,
			 "INSERT INTO erp.shipment (order_id, carrier, tracking) VALUES ($1, $2, $3) RETURNING shipment_id",
			 3, shipment_types);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(order.order_id);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	values[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[1] = PG_ARGISNULL(1) ? 'n' : ' ';
	nulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';
	if (SPI_execute_plan(shipment_plan, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: shipment insert failed");
	shipment_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	IerpPlan(&sline_plan,
			 "INSERT INTO erp.shipment_line (shipment_id, order_id, line_no, item_id, node_id, lot_id, qty)"
			 " VALUES ($1, $2, $3, $4, $5, NULLIF($6, 0), $7)",
			 7, sline_types);
	n = LoadHeld(order.order_id, 0, &h);
	HeldBatchInit(&batch, order.order_id, n);
	for (i = 0; i < n; i++)
		if (h[i].packed > 0)
			HeldBatchAdd(&batch, &h[i], h[i].packed, STATE_PACKED, STATE_OUTSIDE, "ship");
	HeldBatchApply(&batch);
	for (i = 0; i < n; i++)
	{
		if (h[i].packed == 0)
			continue;
		ReservationChange(&h[i], -h[i].packed, -h[i].packed, -h[i].packed);
		values[0] = Int64GetDatum(shipment_id);
		values[1] = Int64GetDatum(order.order_id);
		values[2] = Int32GetDatum(h[i].line_no);
		values[3] = Int64GetDatum(h[i].item_id);
		values[4] = Int64GetDatum(h[i].node_id);
		values[5] = Int64GetDatum(h[i].lot_id);
		values[6] = Int64GetDatum(h[i].packed);
		if (SPI_execute_plan(sline_plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inventory_erp: shipment line insert failed");
	}
	DeleteEmptyReservations(order.order_id, h, n);

	/* lines shipped: units, or whole kits for a kit line */
	IerpPlan(&shipped_plan,
			 "UPDATE erp.order_line ol SET qty_shipped = ol.qty_shipped + s.units"
			 "  FROM (SELECT sl.line_no, min(sl.qty / COALESCE(c.qty, 1)) AS units"
			 "          FROM (SELECT line_no, item_id, sum(qty) AS qty FROM erp.shipment_line"
			 "                 WHERE shipment_id = $1 GROUP BY line_no, item_id) sl"
			 "          JOIN erp.order_line l ON l.order_id = $2 AND l.line_no = sl.line_no"
			 "          LEFT JOIN erp.item_component c ON c.kit_item_id = l.item_id"
			 "                                        AND c.component_item_id = sl.item_id"
			 "         GROUP BY sl.line_no) s"
			 " WHERE ol.order_id = $2 AND ol.line_no = s.line_no",
			 2, id_argtypes);
	values[0] = Int64GetDatum(shipment_id);
	values[1] = Int64GetDatum(order.order_id);
	if (SPI_execute_plan(shipped_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: shipped quantities update failed");
	OrderRefreshStatus(&order, false, NULL, 0);
	SPI_finish();
	PG_RETURN_INT64(shipment_id);
}
