/*-------------------------------------------------------------------------
 *
 * order_reservations.c
 *	  An order's reservations as its steps see them (order_reservations.h):
 *	  read in the global lock order, moved through the stock kernel one by
 *	  one or as one batch, kept in step with erp.reservation, and given back
 *	  to available by line (an edit, order_edit.c), by order (a hold,
 *	  order_hold.c) or by item (a cancel or short pick, orders.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"

#include "ierp.h"
#include "order_document.h"
#include "order_reservations.h"
#include "stock/kernel.h"

static const Oid id_argtypes[] = {INT8OID, INT8OID, INT8OID, INT8OID};

/*
 * Reads the order's reservations (of one item when item_id is not 0) in the
 * global lock order of balances (item, node, lot), the order allocation
 * takes them in too.
 */
int
LoadHeld(int64 order_id, int64 item_id, HeldUnits **out)
{
	static SPIPlanPtr order_plan = NULL;
	static SPIPlanPtr item_plan = NULL;
	Datum		values[2];
	uint64		i;
	HeldUnits  *h;
	int			ret;

	values[0] = Int64GetDatum(order_id);
	values[1] = Int64GetDatum(item_id);
	if (item_id != 0)
	{
		/* one item: the statement names it */
		IerpPlan(&item_plan,
				 "SELECT reservation_id, line_no, item_id, node_id, COALESCE(lot_id, 0),"
				 "       qty - qty_picked, qty_picked - qty_packed, qty_packed"
				 "  FROM erp.reservation WHERE item_id = $2 AND order_id = $1 AND qty > 0"
				 " ORDER BY node_id, COALESCE(lot_id, 0), reservation_id",
				 2, id_argtypes);
		ret = SPI_execute_plan(item_plan, values, NULL, false, 0);
	}
	else
	{
		/* the whole order: its reservations of every item */
		IerpPlan(&order_plan,
				 "SELECT reservation_id, line_no, item_id, node_id, COALESCE(lot_id, 0),"
				 "       qty - qty_picked, qty_picked - qty_packed, qty_packed"
				 "  FROM erp.reservation WHERE order_id = $1 AND qty > 0"
				 " ORDER BY item_id, node_id, COALESCE(lot_id, 0), reservation_id",
				 1, id_argtypes);
		ret = SPI_execute_plan(order_plan, values, NULL, false, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read reservations");
	h = palloc0(sizeof(HeldUnits) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		h[i].reservation_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		h[i].line_no = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		h[i].item_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		h[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		h[i].lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		h[i].unpicked = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		h[i].picked = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		h[i].packed = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	}
	*out = h;
	return (int) SPI_processed;
}

/*
 * Records a move of held units of the order.  The units are the order's own
 * (its reservation holds them), so a take from reserved, picked or packed
 * is a held take: it never waits for slots out of the global lock order.
 */
int64
MoveHeld(int64 order_id, const HeldUnits *h, int64 qty, StockState from, StockState to,
		 const char *event)
{
	bool		held = from == STATE_RESERVED || from == STATE_PICKED || from == STATE_PACKED;

	return StockDocumentMove(psprintf("order:" INT64_FORMAT, order_id), h->item_id, h->lot_id, qty,
							 h->node_id, from, h->node_id, to, event, held ? STOCK_TAKE_HELD : STOCK_TAKE_ALL);
}

void
HeldBatchInit(HeldBatch *b, int64 order_id, int nheld)
{
	b->moves = palloc0(sizeof(StockMove) * Max(2 * nheld, 1));
	b->n = 0;
	b->ref = psprintf("order:" INT64_FORMAT, order_id);
}

/* Adds a move of qty held units of h from one state to another (STATE_OUTSIDE: they leave). */
void
HeldBatchAdd(HeldBatch *b, const HeldUnits *h, int64 qty, StockState from, StockState to, const char *event)
{
	StockMove  *m = &b->moves[b->n++];

	m->item_id = h->item_id;
	m->lot_id = h->lot_id;
	m->qty = qty;
	m->from_node_id = h->node_id;
	m->from_state = from;
	m->to_node_id = h->node_id;
	m->to_state = to;
	m->event = event;
	m->ref = b->ref;
	m->take = STOCK_TAKE_HELD;
}

/* Hands the batch to the kernel: one call for the whole step. */
void
HeldBatchApply(HeldBatch *b)
{
	StockApply(b->moves, b->n, STOCK_DOCUMENT);
}

/* Adds to a reservation's held, picked and packed counts (deltas may be negative). */
void
ReservationChange(const HeldUnits *h, int64 d_qty, int64 d_picked, int64 d_packed)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[5];

	IerpPlan(&plan,
			 "UPDATE erp.reservation SET qty = qty + $3, qty_picked = qty_picked + $4,"
			 "       qty_packed = qty_packed + $5 WHERE item_id = $1 AND reservation_id = $2",
			 5, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID});
	values[0] = Int64GetDatum(h->item_id);
	values[1] = Int64GetDatum(h->reservation_id);
	values[2] = Int64GetDatum(d_qty);
	values[3] = Int64GetDatum(d_picked);
	values[4] = Int64GetDatum(d_packed);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: reservation update failed");
}

/*
 * Deletes the order's reservations that hold nothing any more, of the items
 * of the n held units h (LoadHeld's): the statement names those items.
 */
void
DeleteEmptyReservations(int64 order_id, const HeldUnits *h, int n)
{
	static SPIPlanPtr plan = NULL;
	Datum	   *items;
	int			nitems = 0;
	int			i;

	if (n == 0)
		return;
	/* h is sorted by item: one array element per item */
	items = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		if (nitems == 0 || DatumGetInt64(items[nitems - 1]) != h[i].item_id)
			items[nitems++] = Int64GetDatum(h[i].item_id);
	IerpPlan(&plan,
			 "DELETE FROM erp.reservation WHERE item_id = ANY ($2) AND order_id = $1 AND qty = 0",
			 2, (Oid[]) {INT8OID, INT8ARRAYOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id),
						 PointerGetDatum(construct_array(items, nitems, INT8OID, sizeof(int64),
														 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))},
						 NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "inventory_erp: reservation cleanup failed");
}

/*
 * Gives qty held units of item on a line back to available: reserved units
 * first (release), then picked ones (putback).
 */
void
HeldGiveBack(int64 order_id, int32 line_no, int64 item_id, int64 qty)
{
	HeldUnits  *h;
	int			n = LoadHeld(order_id, item_id, &h);
	int			i;

	for (i = 0; i < n && qty > 0; i++)
	{
		int64		part;

		if (h[i].line_no != line_no)
			continue;
		part = Min(qty, h[i].unpicked);
		if (part > 0)
		{
			MoveHeld(order_id, &h[i], part, STATE_RESERVED, STATE_AVAILABLE, "release");
			ReservationChange(&h[i], -part, 0, 0);
			qty -= part;
		}
		part = Min(qty, h[i].picked);
		if (part > 0)
		{
			MoveHeld(order_id, &h[i], part, STATE_PICKED, STATE_AVAILABLE, "putback");
			ReservationChange(&h[i], -part, -part, 0);
			qty -= part;
		}
	}
	DeleteEmptyReservations(order_id, h, n);
}

/*
 * OrderLineRelease: gives up to qty reserved (unpicked) units of one line
 * of an order the caller owns back to available (qty < 0: all of them; a
 * kit line's are its components'), and deletes the reservations left
 * empty.  The line's numbers are the caller's to write.  Returns the units
 * released.
 */
int64
OrderLineRelease(int64 order_id, int32 line_no, int64 qty)
{
	HeldUnits  *h;
	int			n = LoadHeld(order_id, 0, &h);
	int64		released = 0;
	int			i;

	for (i = 0; i < n && (qty < 0 || released < qty); i++)
	{
		int64		part;

		if (h[i].line_no != line_no || h[i].unpicked == 0)
			continue;
		part = qty < 0 ? h[i].unpicked : Min(qty - released, h[i].unpicked);
		MoveHeld(order_id, &h[i], part, STATE_RESERVED, STATE_AVAILABLE, "release");
		ReservationChange(&h[i], -part, 0, 0);
		released += part;
	}
	DeleteEmptyReservations(order_id, h, n);
	return released;
}

/*
 * OrderReleaseReserved: gives every reserved (unpicked) unit of an order
 * the caller owns back to available, and takes them off its lines: an order
 * put on hold (order_hold.c) waits with nothing reserved.  Only for an order
 * before picking (the caller checks its status), so the lines hold nothing
 * else: each line that held units is open again (partially allocated when
 * part of it shipped, backordered when units wait for stock) and erp.allocate
 * fills it once the hold is released.  Returns the units released.
 */
int64
OrderReleaseReserved(const OrderHeader *order)
{
	static SPIPlanPtr lines_plan = NULL;
	HeldBatch	batch;
	HeldUnits  *h;
	int64		units = 0;
	int			n,
				i;

	n = LoadHeld(order->order_id, 0, &h);
	HeldBatchInit(&batch, order->order_id, n);
	for (i = 0; i < n; i++)
	{
		if (h[i].picked > 0 || h[i].packed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("order " INT64_FORMAT " has picked units", order->order_id),
					 errdetail("Only an order whose units are all still reserved can release them.")));
		if (h[i].unpicked > 0)
			HeldBatchAdd(&batch, &h[i], h[i].unpicked, STATE_RESERVED, STATE_AVAILABLE, "release");
		units += h[i].unpicked;
	}
	if (n == 0)
		return 0;
	HeldBatchApply(&batch);
	for (i = 0; i < n; i++)
		ReservationChange(&h[i], -h[i].unpicked, 0, 0);
	DeleteEmptyReservations(order->order_id, h, n);
	IerpPlan(&lines_plan,
			 "UPDATE erp.order_line SET qty_allocated = qty_shipped,"
			 "       status = CASE WHEN qty_backordered > 0 THEN 'backordered'::erp.line_status"
			 "                     WHEN qty_shipped > 0 THEN 'partially_allocated'::erp.line_status"
			 "                     ELSE 'open'::erp.line_status END"
			 " WHERE order_id = $1 AND qty_allocated > qty_shipped AND status NOT IN ('cancelled', 'shipped')",
			 1, id_argtypes);
	if (SPI_execute_plan(lines_plan, (Datum[]) {Int64GetDatum(order->order_id)}, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: cannot release order " INT64_FORMAT "'s lines", order->order_id);
	OrderRefreshStatus(order, false, NULL, 0);
	return units;
}
