/*-------------------------------------------------------------------------
 *
 * order_document.c
 *	  The skeleton every order step stands on: owning an order (its
 *	  ownership lock in the global lock order, then its row), reading its
 *	  header, and deriving its lines' and its own status from what is
 *	  allocated, held, picked, packed and shipped once the step's moves are
 *	  applied.  Used by orders.c, allocate.c and returns.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include <errno.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "ierp.h"
#include "order_document.h"
#include "stock/slot_rows.h"
#include "stock/kernel.h"

/*
 * The coordinates are read as text and parsed here: a value stored before
 * capture checked them (an old row, {"lat": 1e400}) must not make every
 * later step of the order fail on a cast.
 */
#define ORDER_HEADER_SQL \
	"SELECT channel_id, status::text," \
	"       CASE WHEN jsonb_typeof(ship_to) = 'object' AND jsonb_typeof(ship_to->'lat') = 'number'" \
	"            THEN ship_to->>'lat' END," \
	"       CASE WHEN jsonb_typeof(ship_to) = 'object' AND jsonb_typeof(ship_to->'lon') = 'number'" \
	"            THEN ship_to->>'lon' END," \
	"       ship_complete," \
	"       EXISTS (SELECT 1 FROM erp.order_service s WHERE s.order_id = $1)," \
	"       EXISTS (SELECT 1 FROM erp.order_hold h WHERE h.order_id = $1 AND h.released_at IS NULL)" \
	"  FROM erp.sales_order WHERE order_id = $1"

static const Oid id_argtypes[] = {INT8OID, INT8OID, INT8OID, INT8OID};

/* A JSON number as a finite double; false when it is none (or overflows). */
bool
OrderParseCoordinate(const char *text, double *out)
{
	char	   *end;

	if (text == NULL || *text == '\0')
		return false;
	errno = 0;
	*out = strtod(text, &end);
	return *end == '\0' && errno == 0 && isfinite(*out);
}

static void
ReadOrderHeader(int64 order_id, OrderHeader *order)
{
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	double		lat,
				lon;

	order->order_id = order_id;
	order->channel_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	order->status = SPI_getvalue(tup, desc, 2);
	/* a stored position that is no real one counts as none */
	order->has_ship_to = OrderParseCoordinate(SPI_getvalue(tup, desc, 3), &lat) &&
		OrderParseCoordinate(SPI_getvalue(tup, desc, 4), &lon) &&
		lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
	order->latitude = order->has_ship_to ? lat : 0;
	order->longitude = order->has_ship_to ? lon : 0;
	order->ship_complete = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)) && !isnull;
	order->has_service = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull)) && !isnull;
	order->held = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull)) && !isnull;
}

/*
 * OrderLock: locks the order for this transaction and reads it; IE003 when
 * unknown.  The order's ownership lock (locks.c: its tag comes before every
 * slot's) is taken first, waiting only where the global lock order allows:
 * this transaction holds no slot and no order with a larger tag.  Otherwise
 * it is only tried, and an order another transaction holds is refused
 * (55P03) instead of waited for.  The row lock after it (NOWAIT) never waits
 * for a transaction of this extension: they all own the order before they
 * lock its row.
 */
void
OrderLock(int64 order_id, OrderHeader *order)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[1];
	LOCKTAG		tag;

	/*
	 * Waited for only in the global lock order; otherwise tried for a moment
	 * (a transaction that holds an order's tag without its row only looks:
	 * erp.allocate_pending skips an order whose row a client locked and gives
	 * the tag back at once), then refused with 55P03.
	 */
	StockOrderTag(&tag, order_id);
	StockOwnTag(&tag, psprintf("order " INT64_FORMAT, order_id),
				"Retry the transaction, or lock the orders it works on first (SELECT ... FOR UPDATE SKIP LOCKED).");
	IerpPlan(&plan, ORDER_HEADER_SQL " FOR UPDATE NOWAIT", 1, id_argtypes);
	values[0] = Int64GetDatum(order_id);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock order");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown order " INT64_FORMAT, order_id)));
	ReadOrderHeader(order_id, order);
}

/*
 * OrderTryLock: as OrderLock, but false at once when another transaction
 * holds the order (its ownership lock or its row); never waits.
 */
bool
OrderTryLock(int64 order_id, OrderHeader *order)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[1];
	LOCKTAG		tag;
	bool		had = false;

	StockOrderTag(&tag, order_id);
	had = LockHeldByMe(&tag, ExclusiveLock);
	if (!StockTagLock(&tag, false, false))
		return false;
	IerpPlan(&plan, ORDER_HEADER_SQL " FOR UPDATE SKIP LOCKED", 1, id_argtypes);
	values[0] = Int64GetDatum(order_id);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock order");
	if (SPI_processed == 0)
	{
		/* a client holds the row itself: give the order back untouched */
		if (!had)
			StockTagRelease(&tag);
		return false;
	}
	ReadOrderHeader(order_id, order);
	return true;
}

/* A number member of a JSON object as text, or NULL (the SQL path's ship_to->>'lat' of a number). */
static char *
JsonNumberText(Jsonb *obj, const char *key)
{
	JsonbValue	v;

	if (obj == NULL || !JB_ROOT_IS_OBJECT(obj) ||
		getKeyJsonValueFromContainer(&obj->root, key, strlen(key), &v) == NULL || v.type != jbvNumeric)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
}

/*
 * OrderOwnNew: owns an order this call is creating (its ownership lock, as
 * OrderLock takes it; nobody else can know the order yet, so there is no
 * row to lock) and fills its header from what the call was given: a new
 * order is open.
 */
void
OrderOwnNew(int64 order_id, int64 channel_id, Jsonb *ship_to, OrderHeader *order)
{
	LOCKTAG		tag;
	double		lat,
				lon;

	StockOrderTag(&tag, order_id);
	StockOwnTag(&tag, psprintf("order " INT64_FORMAT, order_id),
				"Retry the transaction, or lock the orders it works on first (SELECT ... FOR UPDATE SKIP LOCKED).");
	order->order_id = order_id;
	order->channel_id = channel_id;
	order->status = pstrdup("open");
	order->ship_complete = false;
	order->has_service = false;
	order->held = false;
	order->has_ship_to = OrderParseCoordinate(JsonNumberText(ship_to, "lat"), &lat) &&
		OrderParseCoordinate(JsonNumberText(ship_to, "lon"), &lon) &&
		lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
	order->latitude = order->has_ship_to ? lat : 0;
	order->longitude = order->has_ship_to ? lon : 0;
}

/* The status rules of a line, in order. */
static const char *
LineStatus(const LineState *l, bool allocation_attempted)
{
	if (strcmp(l->status, "cancelled") == 0)
		return "cancelled";
	if (l->qty_shipped == l->qty)
		return "shipped";
	if (l->held > 0 && l->packed == l->held)
		return "packed";
	if (l->picked > 0)
		return "picking";
	if (l->qty_allocated == l->qty)
		return "allocated";
	if (l->qty_backordered > 0)
		return "backordered";
	/* not all of it could be allocated: once an allocation was tried, short for good */
	if (allocation_attempted ||
		(strcmp(l->status, "open") != 0 && strcmp(l->status, "partially_allocated") != 0))
		return "short";
	if (l->qty_allocated > 0)
		return "partially_allocated";
	return "open";
}

/*
 * OrderRefreshStatus: writes the given new line quantities and derives each
 * line's and the order's status from the numbers: what is allocated, held
 * (reserved + picked + packed), picked, packed, backordered and shipped.
 * Reads the lines and their reservations, then OrderWriteStatus.
 */
void
OrderRefreshStatus(const OrderHeader *order, bool allocation_attempted,
				   const LineQuantities *changes, int nchanges)
{
	static SPIPlanPtr read_plan = NULL;
	Datum		values[1];
	LineState  *lines;
	int			n,
				i,
				c;

	if (strcmp(order->status, "cancelled") == 0)
		return;
	IerpPlan(&read_plan,
			 "SELECT l.line_no, l.qty, l.qty_allocated, l.qty_backordered, l.qty_shipped, l.status::text,"
			 "       COALESCE(r.held, 0), COALESCE(r.picked, 0), COALESCE(r.packed, 0)"
			 "  FROM erp.order_line l"
			 "  LEFT JOIN (SELECT v.line_no, sum(v.qty)::bigint AS held, sum(v.qty_picked)::bigint AS picked,"
			 "                    sum(v.qty_packed)::bigint AS packed"
			 "               FROM erp.reservation v WHERE v.order_id = $1 GROUP BY v.line_no) r"
			 "    ON r.line_no = l.line_no"
			 " WHERE l.order_id = $1 ORDER BY l.line_no",
			 1, id_argtypes);
	values[0] = Int64GetDatum(order->order_id);
	if (SPI_execute_plan(read_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order lines");
	n = (int) SPI_processed;
	lines = palloc0(sizeof(LineState) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		lines[i].line_no = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		lines[i].qty = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		lines[i].qty_allocated = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		lines[i].qty_backordered = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		lines[i].qty_shipped = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		lines[i].status = SPI_getvalue(tup, desc, 6);
		lines[i].held = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		lines[i].picked = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
		lines[i].packed = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));
		for (c = 0; c < nchanges; c++)
			if (changes[c].line_no == lines[i].line_no &&
				(changes[c].qty_allocated != lines[i].qty_allocated ||
				 changes[c].qty_backordered != lines[i].qty_backordered))
			{
				lines[i].qty_allocated = changes[c].qty_allocated;
				lines[i].qty_backordered = changes[c].qty_backordered;
				lines[i].changed = true;
			}
	}
	OrderWriteStatus(order, allocation_attempted, lines, n);
}

/*
 * OrderDeriveStatus: derives each line's status (new_status) and the
 * order's from the lines' numbers (every line of the order, as they now
 * are), writing nothing; *nwrite gets how many lines change (their
 * quantities or their status).  A cancelled order keeps its status.
 */
const char *
OrderDeriveStatus(const OrderHeader *order, bool allocation_attempted, LineState *lines, int n, int *nwrite)
{
	int64		qty = 0,
				allocated = 0,
				shipped = 0,
				backordered = 0,
				held = 0,
				picked = 0,
				packed = 0;
	int			i;

	*nwrite = 0;
	if (strcmp(order->status, "cancelled") == 0)
	{
		for (i = 0; i < n; i++)
			lines[i].new_status = lines[i].status;
		return order->status;
	}
	for (i = 0; i < n; i++)
	{
		LineState  *l = &lines[i];

		l->new_status = LineStatus(l, allocation_attempted);
		if (strcmp(l->status, "cancelled") != 0)
		{
			qty += l->qty;
			allocated += l->qty_allocated;
			shipped += l->qty_shipped;
			backordered += l->qty_backordered;
		}
		held += l->held;
		picked += l->picked;
		packed += l->packed;
		if (l->changed || strcmp(l->new_status, l->status) != 0)
			(*nwrite)++;
	}

	/* the order's status, from its lines' totals */
	if (held > 0 && packed == held)
		return "packed";
	if (picked > 0)
		return "picking";
	if (held > 0)
		return allocated == qty ? "allocated" : "partially_allocated";
	if (backordered > 0)
		return "backordered";
	if (shipped > 0)
		return "shipped";
	return "open";
}

/*
 * OrderStatusWriteRouted: the write of OrderDeriveStatus on Citus, where the
 * order and its lines are reference tables: the lines' update, then the
 * order's, as two statements (Citus cannot run the data-modifying CTE of the
 * one-node statement once the transaction has used the workers' placements:
 * "relation order_line_... is not distributed"); the statuses cast as a
 * parameter, not per row (Citus refuses a STABLE cast of a column in an
 * UPDATE).
 */
static const char *
OrderStatusWriteRouted(int64 order_id, int nwrite, Datum *line_nos, Datum *allocated_v,
					   Datum *backordered_v, Datum *status_v, const char *status,
					   const char *result_status)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr order_plan = NULL;

	if (nwrite > 0)
	{
		IerpPlan(&lines_plan,
				 "UPDATE erp.order_line ol"
				 "   SET qty_allocated = c.qa, qty_backordered = c.qb, status = c.st"
				 "  FROM unnest($2::integer[], $3::bigint[], $4::bigint[], $5::text[]::erp.line_status[])"
				 "       AS c(line_no, qa, qb, st)"
				 " WHERE ol.order_id = $1 AND ol.line_no = c.line_no",
				 5, (Oid[]) {INT8OID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID});
		if (SPI_execute_plan(lines_plan,
							 (Datum[]) {Int64GetDatum(order_id),
										PointerGetDatum(construct_array(line_nos, nwrite, INT4OID, 4, true, TYPALIGN_INT)),
										PointerGetDatum(construct_array(allocated_v, nwrite, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
										PointerGetDatum(construct_array(backordered_v, nwrite, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
										PointerGetDatum(construct_array(status_v, nwrite, TEXTOID, -1, false, TYPALIGN_INT))},
							 NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "inventory_erp: order status update failed");
	}
	if (status != NULL)
	{
		IerpPlan(&order_plan,
				 "UPDATE erp.sales_order SET status = $2::erp.order_status, updated_at = $3 WHERE order_id = $1",
				 3, (Oid[]) {INT8OID, TEXTOID, TIMESTAMPTZOID});
		if (SPI_execute_plan(order_plan,
							 (Datum[]) {Int64GetDatum(order_id), CStringGetTextDatum(status),
										TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())},
							 NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "inventory_erp: order status update failed");
	}
	return result_status;
}

/*
 * OrderWriteStatus: derives each line's and the order's status
 * (OrderDeriveStatus) and writes the lines whose values change and the
 * order's status, in one statement.  Only rows whose values change are
 * written.  Each line's new_status is set; returns the order's status after
 * the call.
 */
const char *
OrderWriteStatus(const OrderHeader *order, bool allocation_attempted, LineState *lines, int n)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	Datum	   *line_nos;
	Datum	   *allocated_v;
	Datum	   *backordered_v;
	Datum	   *status_v;
	int			nchanged,
				nwrite = 0,
				i;
	const char *status;
	const char *result_status;

	result_status = OrderDeriveStatus(order, allocation_attempted, lines, n, &nchanged);
	if (strcmp(order->status, "cancelled") == 0)
		return result_status;
	status = result_status;
	if (strcmp(status, order->status) == 0)
	{
		if (nchanged == 0)
			return result_status;
		status = NULL;
	}
	line_nos = palloc(sizeof(Datum) * Max(n, 1));
	allocated_v = palloc(sizeof(Datum) * Max(n, 1));
	backordered_v = palloc(sizeof(Datum) * Max(n, 1));
	status_v = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		LineState  *l = &lines[i];

		if (!l->changed && strcmp(l->new_status, l->status) == 0)
			continue;
		line_nos[nwrite] = Int32GetDatum(l->line_no);
		allocated_v[nwrite] = Int64GetDatum(l->qty_allocated);
		backordered_v[nwrite] = Int64GetDatum(l->qty_backordered);
		status_v[nwrite] = CStringGetTextDatum(l->new_status);
		nwrite++;
	}
	if (!StockDirectAccess())
		return OrderStatusWriteRouted(order->order_id, nwrite, line_nos, allocated_v, backordered_v,
									  status_v, status, result_status);
	IerpPlan(&plan,
			 "WITH l AS (UPDATE erp.order_line ol"
			 "              SET qty_allocated = c.qa, qty_backordered = c.qb, status = c.st::erp.line_status"
			 "             FROM unnest($2::integer[], $3::bigint[], $4::bigint[], $5::text[]) AS c(line_no, qa, qb, st)"
			 "            WHERE ol.order_id = $1 AND ol.line_no = c.line_no RETURNING 1)"
			 " UPDATE erp.sales_order SET status = $6::erp.order_status, updated_at = pg_catalog.now()"
			 "  WHERE order_id = $1 AND $6 IS NOT NULL",
			 6, types);
	values[0] = Int64GetDatum(order->order_id);
	values[1] = PointerGetDatum(construct_array(line_nos, nwrite, INT4OID, 4, true, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(allocated_v, nwrite, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(backordered_v, nwrite, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(construct_array(status_v, nwrite, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = status ? CStringGetTextDatum(status) : (Datum) 0;
	nulls[5] = status ? ' ' : 'n';
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: order status update failed");
	return result_status;
}
