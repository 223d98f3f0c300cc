/*-------------------------------------------------------------------------
 *
 * order_edit.c
 *	  Order edits before fulfilment (issue 17, doc/orchestration.md):
 *	  erp.change_line(), erp.cancel_line(), erp.add_line(),
 *	  erp.release_line().  Each owns the order (OrderLock), changes one line,
 *	  releases or allocates exactly what changed, derives the statuses again
 *	  and records the edit in erp.order_edit (and an order_edited event).
 *
 *	  - change_line: a smaller quantity releases the reserved units above
 *	    it; a larger one is allocated by the usual rules (unless the order is
 *	    held); a kit line's quantity counts kits: a smaller one releases
 *	    exactly the kits above it, each component by its units per kit;
 *	  - cancel_line: releases the line's reserved units, the line is
 *	    cancelled (not the order's last open line: cancel the order);
 *	  - add_line: a new line (price given, else the B2B price break, else the
 *	    item's), allocated at once unless the order is held;
 *	  - release_line: gives qty reserved units of the line back to
 *	    available; erp.allocate_pending fills the line again in its turn.
 *
 *	  Refuses: no or an unknown order, line or sku (IE003), a bad quantity
 *	  or price, an order at 1,000 lines, more units released than reserved
 *	  (IE004), a partner's edit of an order not its own (IE009), an order
 *	  packed, shipped or cancelled, a cancelled line, a line with picked,
 *	  packed or shipped units, a kit line's partial release (release_line),
 *	  a retired item, the last open line's cancel (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "governance.h"
#include "ierp.h"
#include "order_document.h"
#include "order_reservations.h"
#include "stock/kernel.h"

IERP_OWNER_ENTRY(ierp_change_line);
IERP_OWNER_ENTRY(ierp_cancel_line);
IERP_OWNER_ENTRY(ierp_add_line);
IERP_OWNER_ENTRY(ierp_release_line);

/* One line as an edit reads it. */
typedef struct EditLine
{
	int32		line_no;
	int64		item_id;
	int64		qty;
	int64		qty_allocated;
	int64		qty_backordered;
	int64		reserved;		/* units held and not picked (component units for a kit) */
	bool		is_kit;
} EditLine;

/* Owns the order and checks it may be edited (SPI connected by the caller). */
static void
EditOrder(int64 order_id, OrderHeader *order)
{
	OrderLock(order_id, order);
	AccessCheckOrder(order->order_id);
	if (strcmp(order->status, "packed") == 0 || strcmp(order->status, "shipped") == 0 ||
		strcmp(order->status, "cancelled") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot edit order " INT64_FORMAT ": it is %s", order->order_id, order->status),
				 errdetail("Orders are edited before they are packed.")));
}

/* Reads a line of the owned order and checks it may be edited. */
static void
EditReadLine(const OrderHeader *order, int32 line_no, EditLine *line)
{
	static SPIPlanPtr plan = NULL;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	IerpPlan(&plan,
			 "SELECT l.item_id, l.qty, l.qty_allocated, l.qty_backordered, l.qty_shipped, l.status::text,"
			 "       COALESCE(r.picked, 0), COALESCE(r.reserved, 0),"
			 "       EXISTS (SELECT 1 FROM erp.item_component k WHERE k.kit_item_id = l.item_id)"
			 "  FROM erp.order_line l"
			 "  LEFT JOIN (SELECT sum(v.qty_picked)::bigint AS picked, sum(v.qty - v.qty_picked)::bigint AS reserved"
			 "               FROM erp.reservation v WHERE v.order_id = $1 AND v.line_no = $2) r ON true"
			 " WHERE l.order_id = $1 AND l.line_no = $2",
			 2, (Oid[]) {INT8OID, INT4OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order->order_id), Int32GetDatum(line_no)},
						 NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order lines");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("order " INT64_FORMAT " has no line %d", order->order_id, line_no)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	line->line_no = line_no;
	line->item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	line->qty = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	line->qty_allocated = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	line->qty_backordered = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	line->reserved = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	line->is_kit = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
	if (strcmp(SPI_getvalue(tup, desc, 6), "cancelled") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("line %d of order " INT64_FORMAT " is cancelled", line_no, order->order_id)));
	if (DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull)) > 0 ||
		DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("line %d of order " INT64_FORMAT " has picked units", line_no, order->order_id),
				 errdetail("A line is edited before its units are picked."),
				 errhint("Put the units back first, or ship what was picked.")));
}

/* Writes a line's numbers with the status they give before any new allocation. */
static void
EditWriteLine(int64 order_id, const EditLine *line)
{
	static SPIPlanPtr plan = NULL;

	IerpPlan(&plan,
			 "UPDATE erp.order_line SET qty = $3, qty_allocated = $4, qty_backordered = $5,"
			 "       status = CASE WHEN $4 = $3 THEN 'allocated'::erp.line_status"
			 "                     WHEN $5 > 0 THEN 'backordered'::erp.line_status"
			 "                     WHEN $4 > 0 THEN 'partially_allocated'::erp.line_status"
			 "                     ELSE 'open'::erp.line_status END"
			 " WHERE order_id = $1 AND line_no = $2",
			 5, (Oid[]) {INT8OID, INT4OID, INT8OID, INT8OID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(line->line_no),
						 Int64GetDatum(line->qty), Int64GetDatum(line->qty_allocated),
						 Int64GetDatum(line->qty_backordered)}, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: cannot edit line %d of order " INT64_FORMAT, line->line_no, order_id);
}

/*
 * The statuses after an edit; with allocate, the order's open units are
 * allocated (unless a hold keeps it from it).  Returns the units reserved.
 */
static int64
EditSettle(const OrderHeader *order, bool allocate)
{
	if (allocate && !OrderHoldBlocks(order))
		return AllocateOrder(order, 0, NULL);
	OrderRefreshStatus(order, false, NULL, 0);
	return 0;
}

/* Records the edit and its event; returns its id. */
static int64
EditRecord(int64 order_id, int32 line_no, const char *kind, int64 old_qty, int64 new_qty,
		   int64 released, int64 reserved)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	int64		edit_id;

	IerpPlan(&plan,
			 "INSERT INTO erp.order_edit (order_id, line_no, kind, old_qty, new_qty, units_released, units_reserved, edited_by)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING order_edit_id",
			 8, (Oid[]) {INT8OID, INT4OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(line_no), CStringGetTextDatum(kind),
						 Int64GetDatum(old_qty), Int64GetDatum(new_qty), Int64GetDatum(released),
						 Int64GetDatum(reserved), CStringGetTextDatum(IerpActorName())},
						 NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot record the edit of order " INT64_FORMAT, order_id);
	edit_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	EventRecord("order_edited", 0, 0, order_id, 0,
				psprintf("{\"order_edit_id\": " INT64_FORMAT ", \"kind\": \"%s\", \"line_no\": %d, \"old_qty\": "
						 INT64_FORMAT ", \"new_qty\": " INT64_FORMAT ", \"units_released\": " INT64_FORMAT
						 ", \"units_reserved\": " INT64_FORMAT "}",
						 edit_id, kind, line_no, old_qty, new_qty, released, reserved));
	return edit_id;
}

/* A line number argument: IE003 when missing. */
static int32
LineArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("an order edit needs a line number")));
	return PG_GETARG_INT32(argno);
}

/* A quantity argument: IE004 when missing or outside 1..IERP_MAX_MOVE_QTY. */
static int64
QtyArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	int64		qty;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("%s needs a quantity", what)));
	qty = PG_GETARG_INT64(argno);
	if (qty <= 0 || qty > IERP_MAX_MOVE_QTY)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid quantity " INT64_FORMAT " for %s", qty, what),
				 errdetail("A quantity is 1 to " INT64_FORMAT "; cancel a line with erp.cancel_line.",
						   IERP_MAX_MOVE_QTY)));
	return qty;
}

/* Refuses (IE010) a partial release of a kit line. */
static void
RefuseKit(const OrderHeader *order, const EditLine *line)
{
	if (line->is_kit)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("line %d of order " INT64_FORMAT " is a kit: its reserved units are not released in part",
						line->line_no, order->order_id),
				 errhint("Lower its quantity with erp.change_line, or cancel it with erp.cancel_line.")));
}

/* A reservation of a kit line's component, copied out of SPI. */
typedef struct KitHeld
{
	int64		reservation_id;
	int64		item_id;
	int64		node_id;
	int64		lot_id;
	int64		unpicked;
	int64		per_kit;
} KitHeld;

/*
 * Gives back the reserved components of kits whole kits of a kit line (none
 * of its units is picked: EditReadLine), each component by its units per
 * kit, in the balances' order (item, then node); returns kits, and in
 * *units the component units released (what erp.order_edit counts, as
 * allocation counts the units it reserves).
 */
static int64
KitLineRelease(const OrderHeader *order, int32 line_no, int64 kits, int64 *units)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr less_plan = NULL;
	static SPIPlanPtr drop_plan = NULL;
	char	   *ref = psprintf("order:" INT64_FORMAT, order->order_id);
	KitHeld    *h;
	uint64		i,
				n;
	int64		need = 0;

	*units = 0;
	IerpPlan(&plan,
			 "SELECT r.reservation_id, r.item_id, r.node_id, COALESCE(r.lot_id, 0), r.qty - r.qty_picked, c.qty"
			 "  FROM erp.reservation r"
			 "  JOIN erp.order_line l ON l.order_id = r.order_id AND l.line_no = r.line_no"
			 "  JOIN erp.item_component c ON c.kit_item_id = l.item_id AND c.component_item_id = r.item_id"
			 " WHERE r.order_id = $1 AND r.line_no = $2 AND r.qty > r.qty_picked"
			 " ORDER BY r.item_id, r.node_id, r.reservation_id DESC",
			 2, (Oid[]) {INT8OID, INT4OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order->order_id), Int32GetDatum(line_no)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the reservations of order " INT64_FORMAT, order->order_id);
	n = SPI_processed;
	h = palloc(sizeof(KitHeld) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		h[i].reservation_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		h[i].item_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		h[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		h[i].lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		h[i].unpicked = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		h[i].per_kit = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	IerpPlan(&less_plan,
			 "UPDATE erp.reservation SET qty = qty - $3 WHERE item_id = $1 AND reservation_id = $2"
			 " RETURNING qty = 0 AND qty_picked = 0",
			 3, (Oid[]) {INT8OID, INT8OID, INT8OID});
	IerpPlan(&drop_plan, "DELETE FROM erp.reservation WHERE item_id = $1 AND reservation_id = $2",
			 2, (Oid[]) {INT8OID, INT8OID});
	for (i = 0; i < n; i++)
	{
		StockMove	m;
		int64		part;
		bool		isnull;
		Datum		key[3];

		/* a new component: kits times its units per kit to give back */
		if (i == 0 || h[i].item_id != h[i - 1].item_id)
		{
			if (need > 0)
				elog(ERROR, "inventory_erp: line %d of order " INT64_FORMAT " holds too few components of its kits",
					 line_no, order->order_id);
			if (pg_mul_s64_overflow(kits, h[i].per_kit, &need))
				elog(ERROR, "inventory_erp: kit release overflows");
		}
		part = Min(need, h[i].unpicked);
		if (part == 0)
			continue;
		memset(&m, 0, sizeof(m));
		m.item_id = h[i].item_id;
		m.lot_id = h[i].lot_id;
		m.qty = part;
		m.from_node_id = m.to_node_id = h[i].node_id;
		m.from_state = STATE_RESERVED;
		m.to_state = STATE_AVAILABLE;
		m.event = "release";
		m.ref = ref;
		m.take = STOCK_TAKE_HELD;
		StockApply(&m, 1, STOCK_DOCUMENT);
		key[0] = Int64GetDatum(h[i].item_id);
		key[1] = Int64GetDatum(h[i].reservation_id);
		key[2] = Int64GetDatum(part);
		if (SPI_execute_plan(less_plan, key, NULL, false, 0) != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
			elog(ERROR, "inventory_erp: reservation " INT64_FORMAT " vanished", h[i].reservation_id);
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
			SPI_execute_plan(drop_plan, key, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "inventory_erp: reservation cleanup failed");
		need -= part;
		*units += part;
	}
	if (need > 0)
		elog(ERROR, "inventory_erp: line %d of order " INT64_FORMAT " holds too few components of its kits",
			 line_no, order->order_id);
	return kits;
}

/* erp.change_line(order_id, line_no, qty): returns the edit id (0: the line already had that quantity). */
static Datum
ierp_change_line_body(PG_FUNCTION_ARGS)
{
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	int32		line_no = LineArg(fcinfo, 1);
	int64		qty = QtyArg(fcinfo, 2, "a line");
	OrderHeader order;
	EditLine	line;
	int64		old_qty,
				released = 0,
				reserved,
				edit_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	EditOrder(order_id, &order);
	EditReadLine(&order, line_no, &line);
	if (qty == line.qty)
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}
	old_qty = line.qty;
	if (qty < line.qty_allocated)
	{
		/* a kit line: whole kits, each component by its units per kit */
		if (line.is_kit)
			line.qty_allocated -= KitLineRelease(&order, line_no, line.qty_allocated - qty, &released);
		else
		{
			released = OrderLineRelease(order.order_id, line_no, line.qty_allocated - qty);
			line.qty_allocated -= released;
		}
	}
	line.qty = qty;
	line.qty_backordered = Min(line.qty_backordered, qty - line.qty_allocated);
	EditWriteLine(order.order_id, &line);
	reserved = EditSettle(&order, qty > old_qty);
	edit_id = EditRecord(order.order_id, line_no, "change_qty", old_qty, qty, released, reserved);
	SPI_finish();
	PG_RETURN_INT64(edit_id);
}

/* erp.cancel_line(order_id, line_no): returns the edit id. */
static Datum
ierp_cancel_line_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr others_plan = NULL;
	static SPIPlanPtr cancel_plan = NULL;
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	int32		line_no = LineArg(fcinfo, 1);
	OrderHeader order;
	EditLine	line;
	int64		released,
				edit_id;
	Datum		values[2];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	EditOrder(order_id, &order);
	EditReadLine(&order, line_no, &line);
	IerpPlan(&others_plan,
			 "SELECT 1 FROM erp.order_line WHERE order_id = $1 AND line_no <> $2 AND status <> 'cancelled' LIMIT 1",
			 2, (Oid[]) {INT8OID, INT4OID});
	values[0] = Int64GetDatum(order.order_id);
	values[1] = Int32GetDatum(line_no);
	if (SPI_execute_plan(others_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order lines");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("line %d is the last open line of order " INT64_FORMAT, line_no, order.order_id),
				 errhint("Cancel the order with erp.cancel_order(" INT64_FORMAT ").", order.order_id)));
	released = OrderLineRelease(order.order_id, line_no, -1);
	IerpPlan(&cancel_plan,
			 "UPDATE erp.order_line SET status = 'cancelled', qty_allocated = qty_shipped, qty_backordered = 0"
			 " WHERE order_id = $1 AND line_no = $2",
			 2, (Oid[]) {INT8OID, INT4OID});
	if (SPI_execute_plan(cancel_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: cannot cancel line %d of order " INT64_FORMAT, line_no, order.order_id);
	(void) EditSettle(&order, false);
	edit_id = EditRecord(order.order_id, line_no, "cancel_line", line.qty, 0, released, 0);
	SPI_finish();
	PG_RETURN_INT64(edit_id);
}

/*
 * erp.add_line(order_id, sku, qty, unit_price): a new line, allocated at
 * once unless the order is held; returns its line number.
 */
static Datum
ierp_add_line_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr item_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	char	   *sku = IerpTextArg(fcinfo, 1);
	int64		qty = QtyArg(fcinfo, 2, "a new line");
	OrderHeader order;
	ItemInfo	item;
	int32		line_no;
	int64		reserved;
	bool		isnull;
	Datum		price;
	char		price_null;

	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	if (!PG_ARGISNULL(3))
	{
		Datum		p = PG_GETARG_DATUM(3);
		Datum		zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
		Datum		top = DirectFunctionCall1(int8_numeric, Int64GetDatum(INT64CONST(1000000000000)));

		if (numeric_is_nan(DatumGetNumeric(p)) || numeric_is_inf(DatumGetNumeric(p)) ||
			DatumGetBool(DirectFunctionCall2(numeric_lt, p, zero)) ||
			DatumGetBool(DirectFunctionCall2(numeric_ge, p, top)))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid unit_price %s for sku \"%s\"",
							DatumGetCString(DirectFunctionCall1(numeric_out, p)), sku ? sku : ""),
					 errdetail("A unit price is a number from 0 up to numeric(14,2).")));
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	EditOrder(order_id, &order);

	/* the item's state, the next line number, the lines so far, the price to write */
	IerpPlan(&item_plan,
			 "SELECT i.active, COALESCE(max(l.line_no), 0) + 1, count(l.line_no),"
			 "       COALESCE($3, (SELECT b.unit_price FROM erp.sales_order o JOIN erp.customer c USING (customer_id)"
			 "                      JOIN erp.price_break b ON b.price_list_id = c.price_list_id"
			 "                     WHERE o.order_id = $1 AND b.item_id = i.item_id AND b.min_qty <= $4"
			 "                     ORDER BY b.min_qty DESC LIMIT 1), i.unit_price)::numeric(14,2)"
			 "  FROM erp.item i LEFT JOIN erp.order_line l ON l.order_id = $1"
			 " WHERE i.item_id = $2 GROUP BY i.item_id, i.active, i.unit_price",
			 4, (Oid[]) {INT8OID, INT8OID, NUMERICOID, INT8OID});
	if (SPI_execute_plan(item_plan, (Datum[]) {Int64GetDatum(order.order_id), Int64GetDatum(item.item_id),
						 PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), Int64GetDatum(qty)},
						 PG_ARGISNULL(3) ? "  n " : "    ", false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read sku \"%s\"", sku);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("sku \"%s\" is retired and takes no new orders", sku)));
	line_no = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)) >= GOVERNANCE_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("order " INT64_FORMAT " has %d lines already", order.order_id, GOVERNANCE_MAX_LINES),
				 errdetail("An order has at most %d lines.", GOVERNANCE_MAX_LINES)));
	price = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	price_null = isnull ? 'n' : ' ';
	price = isnull ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(price));

	IerpPlan(&insert_plan,
			 "INSERT INTO erp.order_line (order_id, line_no, item_id, qty, unit_price) VALUES ($1, $2, $3, $4, $5)",
			 5, (Oid[]) {INT8OID, INT4OID, INT8OID, INT8OID, NUMERICOID});
	if (SPI_execute_plan(insert_plan, (Datum[]) {Int64GetDatum(order.order_id), Int32GetDatum(line_no),
						 Int64GetDatum(item.item_id), Int64GetDatum(qty), price},
						 (char[]) {' ', ' ', ' ', ' ', price_null}, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cannot add a line to order " INT64_FORMAT, order.order_id);
	reserved = EditSettle(&order, true);
	(void) EditRecord(order.order_id, line_no, "add_line", 0, qty, 0, reserved);
	SPI_finish();
	PG_RETURN_INT32(line_no);
}

/* erp.release_line(order_id, line_no, qty): returns the edit id. */
static Datum
ierp_release_line_body(PG_FUNCTION_ARGS)
{
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	int32		line_no = LineArg(fcinfo, 1);
	int64		qty = QtyArg(fcinfo, 2, "a release");
	OrderHeader order;
	EditLine	line;
	int64		released,
				edit_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	EditOrder(order_id, &order);
	EditReadLine(&order, line_no, &line);
	RefuseKit(&order, &line);
	if (qty > line.reserved)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("line %d of order " INT64_FORMAT " holds " INT64_FORMAT " reserved units, " INT64_FORMAT
						" asked to release", line_no, order.order_id, line.reserved, qty)));
	released = OrderLineRelease(order.order_id, line_no, qty);
	line.qty_allocated -= released;
	EditWriteLine(order.order_id, &line);
	(void) EditSettle(&order, false);
	edit_id = EditRecord(order.order_id, line_no, "release", line.qty, line.qty, released, 0);
	SPI_finish();
	PG_RETURN_INT64(edit_id);
}
