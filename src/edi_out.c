/*-------------------------------------------------------------------------
 *
 * edi_out.c
 *	  Outbound X12 (doc/edi.md): erp.edi_855_out (an order's
 *	  acknowledgement, line by line accepted, backordered or rejected),
 *	  erp.edi_856_out (a shipment's ship notice, HL levels shipment, order,
 *	  item) and erp.edi_846_out (a channel's inventory advice from
 *	  erp.channel_availability).  Each returns one complete interchange whose
 *	  control number is the next value of erp.edi_control_seq.
 *
 *	  The interchange ids: NULL arguments take the ones the order's 850 came
 *	  with (erp.edi_order: our id as sender, the partner's as receiver), else
 *	  sender 'INVENTORYERP' and the channel's code as receiver.
 *	  A partner sees only its own: the order's (IE009) or the channel's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "edi.h"
#include "edi_x12.h"
#include "ierp.h"

IERP_OWNER_ENTRY(ierp_edi_855_out);
IERP_OWNER_ENTRY(ierp_edi_856_out);
IERP_OWNER_ENTRY(ierp_edi_846_out);

#define EDI_DEFAULT_SENDER	"INVENTORYERP"

/* the next interchange control number (inside SPI) */
static int64
EdiNextControl(void)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	if (SPI_execute_plan(IerpPlan(&plan, "SELECT pg_catalog.nextval('erp.edi_control_seq'::pg_catalog.regclass)",
								  0, NULL), NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: nextval of erp.edi_control_seq failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* column n of row 0 of the last SPI result as a string copied to upper, or NULL */
static char *
EdiCol(int n, MemoryContext upper)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, n);

	return v ? MemoryContextStrdup(upper, v) : NULL;
}

/* the sender and receiver: the argument, else what the 850 carried, else the default */
static void
EdiIds(FunctionCallInfo fcinfo, int argno, const char *our_id, const char *partner_id,
	   const char *channel, const char **sender, const char **receiver)
{
	char	   *s = IerpTextArg(fcinfo, argno);
	char	   *r = IerpTextArg(fcinfo, argno + 1);

	*sender = s ? s : our_id ? our_id : EDI_DEFAULT_SENDER;
	*receiver = r ? r : partner_id ? partner_id : channel;
}

/* EdiSeg: appends one segment of up to 7 elements (NULL or "" = empty) */
static void
EdiSeg(X12Writer *w, const char *tag, const char *e1, const char *e2, const char *e3,
	   const char *e4, const char *e5, const char *e6, const char *e7)
{
	const char *elems[7] = {e1, e2, e3, e4, e5, e6, e7};

	X12WriteSegment(w, tag, 7, elems);
}

/* EdiInt: v as text, palloc'ed */
static char *
EdiInt(int64 v)
{
	return psprintf(INT64_FORMAT, v);
}

/*
 * erp.edi_855_out(order_id, sender, receiver): the acknowledgement of an
 * order: BAK (AT all accepted, AC with changes, RJ all rejected), then per
 * line PO1 (PO101 of the 850, qty, price, sku) and its ACKs: IA accepted,
 * IB backordered, IR rejected (see doc/edi.md for the arithmetic), CTT.
 * Refuses an unknown order (IE003) and a partner's look at another's
 * (IE009).
 */
static Datum
ierp_edi_855_out_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr head_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	static const Oid types[1] = {INT8OID};
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	MemoryContext upper = CurrentMemoryContext;
	MemoryContext rowctx;
	Datum		arg = Int64GetDatum(order_id);
	X12Writer	w;
	const char *sender,
			   *receiver;
	char	   *po,
			   *po_date;
	int			nlines;
	int			accepted = 0,
				rejected = 0;
	char	   *result;
	StringInfoData body;
	X12Writer	lines_w;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (SPI_execute_plan(IerpPlan(&head_plan,
								  "SELECT o.external_ref, c.code, e.our_id, e.partner_id,"
								  " pg_catalog.to_char(COALESCE(e.po_date, (o.created_at AT TIME ZONE 'UTC')::date), 'YYYYMMDD')"
								  " FROM erp.sales_order o JOIN erp.channel c ON c.channel_id OPERATOR(pg_catalog.=) o.channel_id"
								  " LEFT JOIN erp.edi_order e ON e.order_id OPERATOR(pg_catalog.=) o.order_id"
								  " WHERE o.order_id OPERATOR(pg_catalog.=) $1", 1, types),
						 &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: order look-up failed");
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_IERP_UNKNOWN_OBJECT), errmsg("unknown order " INT64_FORMAT, order_id)));
	po = EdiCol(1, upper);
	EdiIds(fcinfo, 1, EdiCol(3, upper), EdiCol(4, upper), EdiCol(2, upper), &sender, &receiver);
	po_date = EdiCol(5, upper);
	AccessCheckOrder(order_id);

	/* the lines first, into their own buffer: BAK02 depends on them */
	if (SPI_execute_plan(IerpPlan(&lines_plan,
								  "SELECT l.line_no, i.sku, l.qty, l.unit_price::text, l.qty_allocated,"
								  " l.qty_backordered, l.qty_shipped, l.status::text,"
								  " COALESCE(NULLIF(e.line_refs OPERATOR(pg_catalog.->>) (l.line_no - 1), ''), l.line_no::text)"
								  " FROM erp.order_line l JOIN erp.item i ON i.item_id OPERATOR(pg_catalog.=) l.item_id"
								  " LEFT JOIN erp.edi_order e ON e.order_id OPERATOR(pg_catalog.=) l.order_id"
								  " WHERE l.order_id OPERATOR(pg_catalog.=) $1 ORDER BY l.line_no", 1, types),
						 &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: order lines look-up failed");
	nlines = (int) SPI_processed;
	memset(&lines_w, 0, sizeof(lines_w));
	{
		MemoryContext old = MemoryContextSwitchTo(upper);

		initStringInfo(&lines_w.buf);
		MemoryContextSwitchTo(old);
	}
	rowctx = AllocSetContextCreate(CurrentMemoryContext, "edi_855 row", ALLOCSET_SMALL_SIZES);
	for (int r = 0; r < nlines; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(rowctx);
		int64		qty = pg_strtoint64(SPI_getvalue(tup, desc, 3));
		int64		alloc = pg_strtoint64(SPI_getvalue(tup, desc, 5));
		int64		back = pg_strtoint64(SPI_getvalue(tup, desc, 6));
		int64		shipped = pg_strtoint64(SPI_getvalue(tup, desc, 7));
		char	   *status = SPI_getvalue(tup, desc, 8);
		int64		ia,
					ib,
					ir;

		if (strcmp(status, "cancelled") == 0)
		{
			ia = shipped;
			ib = 0;
			ir = qty - shipped;
		}
		else if (strcmp(status, "short") == 0)
		{
			ia = alloc;
			ib = back;
			ir = Max(qty - alloc - back, 0);
		}
		else
		{
			ia = qty - back;
			ib = back;
			ir = 0;
		}
		accepted += (ib == 0 && ir == 0);
		rejected += (ia == 0 && ib == 0);
		EdiSeg(&lines_w, "PO1", SPI_getvalue(tup, desc, 9), EdiInt(qty), "EA", SPI_getvalue(tup, desc, 4), "",
			   "VP", SPI_getvalue(tup, desc, 2));
		if (ia > 0)
			EdiSeg(&lines_w, "ACK", "IA", EdiInt(ia), "EA", NULL, NULL, NULL, NULL);
		if (ib > 0)
			EdiSeg(&lines_w, "ACK", "IB", EdiInt(ib), "EA", NULL, NULL, NULL, NULL);
		if (ir > 0)
			EdiSeg(&lines_w, "ACK", "IR", EdiInt(ir), "EA", NULL, NULL, NULL, NULL);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowctx);
	}
	MemoryContextDelete(rowctx);

	{
		int64		control = EdiNextControl();
		MemoryContext old = MemoryContextSwitchTo(upper);

		X12WriteBegin(&w, sender, receiver, control, "PR", GetCurrentTransactionStartTimestamp());
		MemoryContextSwitchTo(old);
	}
	X12WriteSetBegin(&w, "855");
	EdiSeg(&w, "BAK", "00", accepted == nlines ? "AT" : rejected == nlines ? "RJ" : "AC", po, po_date,
		   NULL, NULL, NULL);
	/* the line segments, counted into the set */
	body = lines_w.buf;
	appendBinaryStringInfo(&w.buf, body.data, body.len);
	w.set_segments += lines_w.set_segments;
	EdiSeg(&w, "CTT", EdiInt(nlines), NULL, NULL, NULL, NULL, NULL, NULL);
	X12WriteSetEnd(&w);
	result = X12WriteEnd(&w);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * erp.edi_856_out(shipment_id, sender, receiver): the ship notice of a
 * shipment: BSN, HL shipment (TD5 carrier, REF*CN tracking, DTM*011 shipped
 * date), HL order (PRF the PO number), one HL item per order line and sku
 * (LIN with PO101 and sku, SN1 units), CTT the HL count.  Refuses an
 * unknown shipment (IE003) and a partner's look at another's (IE009).
 */
static Datum
ierp_edi_856_out_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr head_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	static const Oid types[1] = {INT8OID};
	int64		shipment_id = IerpIdArg(fcinfo, 0, "shipment");
	MemoryContext upper = CurrentMemoryContext;
	MemoryContext rowctx;
	Datum		arg = Int64GetDatum(shipment_id);
	X12Writer	w;
	const char *sender,
			   *receiver;
	char	   *carrier,
			   *tracking,
			   *date,
			   *time,
			   *po,
			   *sid;
	int64		order_id;
	int			hl = 2;
	char	   *result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (SPI_execute_plan(IerpPlan(&head_plan,
								  "SELECT s.order_id, s.carrier, s.tracking,"
								  " pg_catalog.to_char(s.shipped_at AT TIME ZONE 'UTC', 'YYYYMMDD'),"
								  " pg_catalog.to_char(s.shipped_at AT TIME ZONE 'UTC', 'HH24MI'),"
								  " o.external_ref, c.code, e.our_id, e.partner_id"
								  " FROM erp.shipment s JOIN erp.sales_order o ON o.order_id OPERATOR(pg_catalog.=) s.order_id"
								  " JOIN erp.channel c ON c.channel_id OPERATOR(pg_catalog.=) o.channel_id"
								  " LEFT JOIN erp.edi_order e ON e.order_id OPERATOR(pg_catalog.=) o.order_id"
								  " WHERE s.shipment_id OPERATOR(pg_catalog.=) $1", 1, types),
						 &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: shipment look-up failed");
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_IERP_UNKNOWN_OBJECT), errmsg("unknown shipment " INT64_FORMAT, shipment_id)));
	order_id = pg_strtoint64(EdiCol(1, upper));
	carrier = EdiCol(2, upper);
	tracking = EdiCol(3, upper);
	date = EdiCol(4, upper);
	time = EdiCol(5, upper);
	po = EdiCol(6, upper);
	EdiIds(fcinfo, 1, EdiCol(8, upper), EdiCol(9, upper), EdiCol(7, upper), &sender, &receiver);
	AccessCheckOrder(order_id);
	sid = EdiInt(shipment_id);

	{
		int64		control = EdiNextControl();
		MemoryContext old = MemoryContextSwitchTo(upper);

		X12WriteBegin(&w, sender, receiver, control, "SH", GetCurrentTransactionStartTimestamp());
		MemoryContextSwitchTo(old);
	}
	X12WriteSetBegin(&w, "856");
	EdiSeg(&w, "BSN", "00", sid, date, time, "0001", NULL, NULL);
	EdiSeg(&w, "HL", "1", "", "S", NULL, NULL, NULL, NULL);
	if (carrier)
		EdiSeg(&w, "TD5", "", "2", carrier, NULL, NULL, NULL, NULL);
	if (tracking)
		EdiSeg(&w, "REF", "CN", tracking, NULL, NULL, NULL, NULL, NULL);
	EdiSeg(&w, "DTM", "011", date, NULL, NULL, NULL, NULL, NULL);
	EdiSeg(&w, "HL", "2", "1", "O", NULL, NULL, NULL, NULL);
	EdiSeg(&w, "PRF", po, NULL, NULL, NULL, NULL, NULL, NULL);

	if (SPI_execute_plan(IerpPlan(&lines_plan,
								  "SELECT COALESCE(NULLIF(e.line_refs OPERATOR(pg_catalog.->>) (sl.line_no - 1), ''), sl.line_no::text),"
								  " i.sku, pg_catalog.sum(sl.qty)::bigint"
								  " FROM erp.shipment_line sl JOIN erp.item i ON i.item_id OPERATOR(pg_catalog.=) sl.item_id"
								  " LEFT JOIN erp.edi_order e ON e.order_id OPERATOR(pg_catalog.=) sl.order_id"
								  " WHERE sl.shipment_id OPERATOR(pg_catalog.=) $1"
								  " GROUP BY sl.line_no, 1, i.sku ORDER BY sl.line_no, i.sku", 1, types),
						 &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: shipment lines look-up failed");
	rowctx = AllocSetContextCreate(CurrentMemoryContext, "edi_856 row", ALLOCSET_SMALL_SIZES);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(rowctx);

		hl++;
		EdiSeg(&w, "HL", EdiInt(hl), "2", "I", NULL, NULL, NULL, NULL);
		EdiSeg(&w, "LIN", SPI_getvalue(tup, desc, 1), "VP", SPI_getvalue(tup, desc, 2), NULL, NULL, NULL, NULL);
		EdiSeg(&w, "SN1", "", SPI_getvalue(tup, desc, 3), "EA", NULL, NULL, NULL, NULL);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowctx);
	}
	MemoryContextDelete(rowctx);
	EdiSeg(&w, "CTT", EdiInt(hl), NULL, NULL, NULL, NULL, NULL, NULL);
	X12WriteSetEnd(&w);
	result = X12WriteEnd(&w);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * erp.edi_846_out(channel, sender, receiver): the inventory advice of a
 * channel: BIA, then per active item LIN (sku, GTIN-14 when it has one) and
 * QTY*33 its erp.channel_availability units (never below 0), CTT the item
 * count.  Refuses an unknown channel (IE003) and a partner's channel none
 * of its nodes fulfils (IE009).
 */
static Datum
ierp_edi_846_out_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr items_plan = NULL;
	static const Oid types[1] = {INT8OID};
	char	   *channel = IerpTextArg(fcinfo, 0);
	MemoryContext upper = CurrentMemoryContext;
	MemoryContext rowctx;
	X12Writer	w;
	const char *sender,
			   *receiver;
	int64		channel_id;
	Datum		arg;
	char	   *control_text;
	uint64		n;
	char	   *result;

	if (channel == NULL)
		ereport(ERROR, (errcode(ERRCODE_IERP_UNKNOWN_OBJECT), errmsg("no channel given")));
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	EdiIds(fcinfo, 1, NULL, NULL, channel, &sender, &receiver);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	channel_id = IerpLookupChannel(channel);
	AccessCheckChannel(channel_id);
	{
		int64		control = EdiNextControl();
		MemoryContext old = MemoryContextSwitchTo(upper);

		X12WriteBegin(&w, sender, receiver, control, "IB", GetCurrentTransactionStartTimestamp());
		control_text = EdiInt(w.control);
		MemoryContextSwitchTo(old);
	}
	X12WriteSetBegin(&w, "846");
	{
		char		date[16],
					hhmm[8];
		struct pg_tm tm;
		fsec_t		fsec;

		if (timestamp2tm(GetCurrentTransactionStartTimestamp(), NULL, &tm, &fsec, NULL, NULL) != 0)
			elog(ERROR, "inventory_erp: timestamp out of range");
		snprintf(date, sizeof(date), "%04d%02d%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
		snprintf(hhmm, sizeof(hhmm), "%02d%02d", tm.tm_hour, tm.tm_min);
		EdiSeg(&w, "BIA", "00", "DD", control_text, date, hhmm, NULL, NULL);
	}
	arg = Int64GetDatum(channel_id);
	if (SPI_execute_plan(IerpPlan(&items_plan,
								  "SELECT a.sku, GREATEST(a.atp, 0)::text, i.gtin::text"
								  " FROM erp.channel_availability a JOIN erp.item i ON i.item_id OPERATOR(pg_catalog.=) a.item_id"
								  " WHERE a.channel_id OPERATOR(pg_catalog.=) $1 ORDER BY a.sku", 1, types),
						 &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: channel availability look-up failed");
	n = SPI_processed;
	rowctx = AllocSetContextCreate(CurrentMemoryContext, "edi_846 row", ALLOCSET_SMALL_SIZES);
	for (uint64 r = 0; r < n; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(rowctx);
		char	   *gtin = SPI_getvalue(tup, desc, 3);

		EdiSeg(&w, "LIN", "", "VP", SPI_getvalue(tup, desc, 1), gtin ? "UK" : NULL, gtin, NULL, NULL);
		EdiSeg(&w, "QTY", "33", SPI_getvalue(tup, desc, 2), "EA", NULL, NULL, NULL, NULL);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowctx);
	}
	MemoryContextDelete(rowctx);
	EdiSeg(&w, "CTT", EdiInt((int64) n), NULL, NULL, NULL, NULL, NULL, NULL);
	X12WriteSetEnd(&w);
	result = X12WriteEnd(&w);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
