/*-------------------------------------------------------------------------
 *
 * edi_in.c
 *	  Inbound X12 (doc/edi.md): erp.edi_parse (any interchange, element by
 *	  element), erp.edi_850_in (purchase orders of a wholesale partner into
 *	  erp.capture_order) and erp.edi_856_in (a supplier's ship notice into
 *	  erp.receive_po).
 *
 *	  Each reads the whole document first (edi_x12.c) and maps every set
 *	  before it writes anything: a refusal names the segment, its position
 *	  and the element, and leaves nothing written.  The writes themselves go
 *	  through the public functions (SPI), which keep their own checks, the
 *	  partner rule and idempotency.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "edi.h"
#include "edi_x12.h"
#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_edi_parse);
IERP_OWNER_ENTRY(ierp_edi_850_in);
IERP_OWNER_ENTRY(ierp_edi_856_in);

/* one PO1 line of an 850 */
typedef struct EdiPoLine
{
	char	   *sku;
	int64		qty;
	const char *price;			/* NULL: the item's own price */
	const char *ref;			/* PO101 */
} EdiPoLine;

/* one 850 set, mapped */
typedef struct EdiPo
{
	const char *control;		/* ST02 */
	const char *po_number;		/* BEG03 */
	DateADT		po_date;		/* BEG05 */
	StringInfoData dates;		/* DTM: {"002": "2026-12-10", ...} members */
	StringInfoData ship_to;		/* N1*ST loop members */
	const char *buyer;			/* N1*BY's N104: the B2B customer's code, or NULL */
	int			nlines;
	EdiPoLine  *lines;
} EdiPo;

/* an item of an inbound 856 */
typedef struct EdiAsnItem
{
	char	   *sku;
	const char *lot;
	int64		qty;
	bool		has_expiry;
	DateADT		expires_on;
	const X12Segment *lin;
} EdiAsnItem;

#ifdef USE_ASSERT_CHECKING
/*
 * Assertion builds (make test, make valgrind) first parse a malloc'ed copy of
 * exactly len bytes, with nothing after it: under valgrind a read past len is
 * then an invalid read in X12Parse, which a palloc'ed text would hide.  A
 * refusal comes from this parse (the same as the real one would raise).
 */
static void
EdiParseBounded(const char *text, size_t len)
{
	char	   *copy = malloc(Max(len, 1));
	MemoryContext tmp;
	MemoryContext old;

	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "edi bounded parse", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	PG_TRY();
	{
		X12Document doc;

		X12Parse(copy, len, &doc);
	}
	PG_FINALLY();
	{
		free(copy);
		MemoryContextSwitchTo(old);
	}
	PG_END_TRY();
	MemoryContextDelete(tmp);
}
#endif

/*
 * EdiDocumentArg: argument argno as bytes (refused when NULL) and parsed.
 */
static void
EdiDocumentArg(FunctionCallInfo fcinfo, int argno, X12Document *doc)
{
	text	   *t;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no X12 document given")));
	t = PG_GETARG_TEXT_PP(argno);
#ifdef USE_ASSERT_CHECKING
	if (VARSIZE_ANY_EXHDR(t) <= X12_MAX_DOCUMENT)
		EdiParseBounded(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
#endif
	X12Parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), doc);
}

/* EdiDateText: a date as YYYY-MM-DD */
char *
EdiDateText(DateADT date, char *buf, size_t size)
{
	int			y,
				m,
				d;

	j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
	return buf;
}

/*
 * EdiResolveItem: the sku that the product id pairs of seg name (qualifier
 * at element first, id after it, up to element last): VP or SK is our sku,
 * UP, EN, UK or UA a GTIN, BP the buyer's part taken as a sku when nothing
 * else names the item.  An unknown one is refused (IE003) naming its
 * element; none at all IE004.  *lot gets an LT pair's id (or NULL).
 * Runs inside SPI; the sku is palloc'ed in the caller's context (upper).
 */
static char *
EdiResolveItem(const X12Segment *seg, int first, int last, const char **lot, MemoryContext upper)
{
	static SPIPlanPtr by_sku = NULL;
	static SPIPlanPtr by_gtin = NULL;
	static const Oid sku_types[1] = {TEXTOID};
	static const Oid gtin_types[1] = {INT8OID};
	int			sku_elem = 0,
				gtin_elem = 0,
				bp_elem = 0;
	int			use;
	Datum		arg;
	SPIPlanPtr	plan;
	bool		isnull;
	int64		gtin = 0;

	if (lot)
		*lot = NULL;
	for (int q = first; q < last && q <= seg->nelems; q += 2)
	{
		const char *qual = X12Elem(seg, q);

		if (qual[0] == '\0')
			continue;
		if (X12Elem(seg, q + 1)[0] == '\0')
			X12Refuse(seg, q + 1, "is missing (the id of qualifier %s%02d \"%s\")", seg->tag, q, qual);
		if ((strcmp(qual, "VP") == 0 || strcmp(qual, "SK") == 0) && sku_elem == 0)
			sku_elem = q + 1;
		else if ((strcmp(qual, "UP") == 0 || strcmp(qual, "EN") == 0 || strcmp(qual, "UK") == 0 ||
				  strcmp(qual, "UA") == 0) && gtin_elem == 0)
			gtin_elem = q + 1;
		else if (strcmp(qual, "BP") == 0 && bp_elem == 0)
			bp_elem = q + 1;
		else if (strcmp(qual, "LT") == 0 && lot)
			*lot = X12Elem(seg, q + 1);
	}
	use = sku_elem ? sku_elem : gtin_elem ? gtin_elem : bp_elem;
	if (use == 0)
		X12Refuse(seg, first, "names no item: give a VP or SK (sku), UP, EN, UK or UA (GTIN) or BP product id");
	if (use == gtin_elem)
	{
		if (!GtinParse(X12Elem(seg, use), &gtin, false))
			X12Refuse(seg, use, "is not a valid GTIN (\"%s\")", X12Elem(seg, use));
		plan = IerpPlan(&by_gtin, "SELECT i.sku FROM erp.item i WHERE i.gtin OPERATOR(erp.=) $1::erp.gtin",
						1, gtin_types);
		arg = Int64GetDatum(gtin);
	}
	else
	{
		plan = IerpPlan(&by_sku, "SELECT i.sku FROM erp.item i WHERE i.sku OPERATOR(pg_catalog.=) $1",
						1, sku_types);
		arg = CStringGetTextDatum(X12Elem(seg, use));
	}
	if (SPI_execute_plan(plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: item look-up failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("segment %d (%s): element %s%02d names unknown %s \"%s\"", seg->pos, seg->tag,
						seg->tag, use, use == gtin_elem ? "GTIN" : "sku", X12Elem(seg, use)),
				 errdetail("The X12 document is refused as a whole; nothing was written.")));
	arg = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return MemoryContextStrdup(upper, TextDatumGetCString(arg));
}

/* appends "key": value (a JSON string) to an object's members */
static void
EdiJsonMember(StringInfo buf, const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	if (buf->len > 0)
		appendStringInfoString(buf, ", ");
	appendStringInfo(buf, "%s: %s", IerpJsonQuote(key), IerpJsonQuote(value));
}

/* the ISA's interchange id at element n, trailing blanks cut */
char *
EdiIsaId(const X12Document *doc, int n)
{
	char	   *id = pstrdup(X12Elem(&doc->segs[0], n));
	int			len = strlen(id);

	while (len > 0 && id[len - 1] == ' ')
		id[--len] = '\0';
	return id;
}

/* the group of set s must carry functional id code func (GS01) and the set type */
static void
EdiCheckSetType(const X12Document *doc, int s, const char *type, const char *func)
{
	const X12Set *set = &doc->sets[s];

	if (strcmp(set->type, type) != 0)
		X12Refuse(&doc->segs[set->first], 1, "is \"%s\": this function reads %s sets only", set->type, type);
	if (strcmp(X12Elem(&doc->segs[set->group], 1), func) != 0)
		X12Refuse(&doc->segs[set->group], 1, "is \"%s\": a group of %s sets has functional id code %s",
				  X12Elem(&doc->segs[set->group], 1), type, func);
}

/* maps one 850 set; inside SPI, results in upper */
static void
Edi850Map(const X12Document *doc, int s, EdiPo *po, MemoryContext upper)
{
	const X12Set *set = &doc->sets[s];
	bool		in_ship_to = false;
	bool		ctt = false;
	int			cap = 16;
	MemoryContext old = MemoryContextSwitchTo(upper);

	memset(po, 0, sizeof(*po));
	initStringInfo(&po->dates);
	initStringInfo(&po->ship_to);
	po->lines = palloc(cap * sizeof(EdiPoLine));
	MemoryContextSwitchTo(old);
	po->control = X12Elem(&doc->segs[set->first], 2);
	X12ExpectTag(doc, set->first + 1, "BEG", &doc->segs[set->first]);
	for (int i = set->first + 1; i < set->last; i++)
	{
		const X12Segment *seg = &doc->segs[i];

		if (strcmp(seg->tag, "BEG") == 0)
		{
			if (i != set->first + 1)
				X12Refuse(seg, 0, "a second BEG in the set");
			X12Required(seg, 1);
			X12Required(seg, 2);
			po->po_number = X12Required(seg, 3);
			if (strlen(po->po_number) > 22)
				X12Refuse(seg, 3, "is longer than 22 characters");
			po->po_date = X12Date(seg, 5);
		}
		else if (strcmp(seg->tag, "DTM") == 0)
		{
			const char *qual = X12Required(seg, 1);
			char		date[16];

			if (strlen(qual) != 3 || strspn(qual, "0123456789") != 3)
				X12Refuse(seg, 1, "is not a date qualifier of 3 digits (\"%.20s\")", qual);
			EdiDateText(X12Date(seg, 2), date, sizeof(date));
			EdiJsonMember(&po->dates, qual, date);
		}
		else if (strcmp(seg->tag, "N1") == 0)
		{
			/* the buyer (BY) names its erp.customer code in N104: its prices and credit apply */
			if (strcmp(X12Required(seg, 1), "BY") == 0 && X12Elem(seg, 4)[0] != '\0')
			{
				if (po->buyer != NULL)
					X12Refuse(seg, 1, "names a second buyer (BY) in the set");
				po->buyer = MemoryContextStrdup(upper, X12Elem(seg, 4));
			}
			in_ship_to = strcmp(X12Required(seg, 1), "ST") == 0;
			if (in_ship_to)
			{
				if (po->ship_to.len > 0)
					X12Refuse(seg, 1, "names a second ship-to (ST) in the set");
				EdiJsonMember(&po->ship_to, "name", X12Elem(seg, 2));
				EdiJsonMember(&po->ship_to, "location", X12Elem(seg, 4));
			}
		}
		else if (strcmp(seg->tag, "N3") == 0 && in_ship_to)
		{
			EdiJsonMember(&po->ship_to, "address", X12Required(seg, 1));
			EdiJsonMember(&po->ship_to, "address2", X12Elem(seg, 2));
		}
		else if (strcmp(seg->tag, "N4") == 0 && in_ship_to)
		{
			EdiJsonMember(&po->ship_to, "city", X12Elem(seg, 1));
			EdiJsonMember(&po->ship_to, "state", X12Elem(seg, 2));
			EdiJsonMember(&po->ship_to, "postal_code", X12Elem(seg, 3));
			EdiJsonMember(&po->ship_to, "country", X12Elem(seg, 4));
		}
		else if (strcmp(seg->tag, "PO1") == 0)
		{
			EdiPoLine  *line;
			const char *uom = X12Elem(seg, 3);
			const char *price = X12Elem(seg, 4);

			in_ship_to = false;
			if (ctt)
				X12Refuse(seg, 0, "a PO1 after the CTT that counts the lines");
			if (po->nlines == cap)
			{
				cap *= 2;
				po->lines = repalloc(po->lines, cap * sizeof(EdiPoLine));
			}
			line = &po->lines[po->nlines];
			line->ref = X12Elem(seg, 1);
			line->qty = X12Quantity(seg, 2);
			if (uom[0] != '\0' && strcmp(uom, "EA") != 0)
				X12Refuse(seg, 3, "is \"%s\": quantities are in units (EA)", uom);
			if (price[0] != '\0' && !IerpIsPrice(price))
				X12Refuse(seg, 4, "is not a unit price of at most 12 digits and 2 decimals (\"%.20s\")", price);
			line->price = price[0] ? price : NULL;
			line->sku = EdiResolveItem(seg, 6, 25, NULL, upper);
			po->nlines++;
		}
		else if (strcmp(seg->tag, "CTT") == 0)
		{
			X12CheckCount(seg, 1, po->nlines, "PO1 lines in the set");
			ctt = true;
		}
		else
			in_ship_to = in_ship_to && (strcmp(seg->tag, "N2") == 0 || strcmp(seg->tag, "REF") == 0 ||
										strcmp(seg->tag, "PER") == 0);
	}
	if (po->nlines == 0)
		X12Refuse(&doc->segs[set->last], 0, "the set of segment %d (ST) has no PO1 line",
				  doc->segs[set->first].pos);
	if (!ctt)
		X12Refuse(&doc->segs[set->last], 0, "CTT (the line count) expected before it");
}

/*
 * erp.edi_850_in(channel, document): captures each 850 of the interchange as
 * an order of the wholesale channel (external_ref = BEG03, so a resent 850 is
 * a redelivery: the same order, nothing changed; other content under the same
 * PO number is refused by erp.capture_order, IE010).  Returns one row per
 * set.  Refuses: an unknown channel (IE003), a channel that is not wholesale
 * (IE010), any malformed document or set (IE004), an unknown item (IE003).
 */
static Datum
ierp_edi_850_in_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr channel_plan = NULL;
	static SPIPlanPtr exists_plan = NULL;
	static SPIPlanPtr capture_plan = NULL;
	static SPIPlanPtr record_plan = NULL;
	static const Oid channel_types[1] = {TEXTOID};
	static const Oid exists_types[2] = {INT8OID, TEXTOID};
	static const Oid capture_types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	static const Oid record_types[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, DATEOID, TEXTOID,
	TEXTOID};
	char	   *channel = IerpTextArg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext upper = CurrentMemoryContext;
	X12Document doc;
	EdiPo	   *pos;
	int64		channel_id;
	bool		isnull;
	char	   *partner;
	char	   *us;

	if (channel == NULL)
		ereport(ERROR, (errcode(ERRCODE_IERP_UNKNOWN_OBJECT), errmsg("no channel given")));
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	EdiDocumentArg(fcinfo, 1, &doc);
	for (int s = 0; s < doc.nsets; s++)
		EdiCheckSetType(&doc, s, "850", "PO");
	partner = EdiIsaId(&doc, 6);
	us = EdiIsaId(&doc, 8);
	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	{
		Datum		arg = CStringGetTextDatum(channel);

		if (SPI_execute_plan(IerpPlan(&channel_plan,
									  "SELECT c.channel_id, c.kind::text FROM erp.channel c"
									  " WHERE c.code OPERATOR(pg_catalog.=) $1", 1, channel_types),
							 &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: channel look-up failed");
		if (SPI_processed == 0)
			ereport(ERROR, (errcode(ERRCODE_IERP_UNKNOWN_OBJECT), errmsg("unknown channel \"%s\"", channel)));
		channel_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2), "wholesale") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("channel \"%s\" is not a wholesale channel", channel),
					 errdetail("X12 purchase orders are taken on channels of kind wholesale.")));
	}

	/* map every set before anything is written */
	pos = MemoryContextAlloc(upper, doc.nsets * sizeof(EdiPo));
	for (int s = 0; s < doc.nsets; s++)
		Edi850Map(&doc, s, &pos[s], upper);

	for (int s = 0; s < doc.nsets; s++)
	{
		EdiPo	   *po = &pos[s];
		StringInfoData lines;
		StringInfoData refs;
		Datum		values[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		bool		created;
		int64		order_id;
		Datum		out[4];
		bool		outnull[4] = {false, false, false, false};

		initStringInfo(&lines);
		initStringInfo(&refs);
		appendStringInfoChar(&lines, '[');
		appendStringInfoChar(&refs, '[');
		for (int l = 0; l < po->nlines; l++)
		{
			appendStringInfo(&lines, "%s{\"sku\": %s, \"qty\": " INT64_FORMAT, l ? ", " : "",
							 IerpJsonQuote(po->lines[l].sku), po->lines[l].qty);
			if (po->lines[l].price)
				appendStringInfo(&lines, ", \"unit_price\": %s", po->lines[l].price);
			appendStringInfoChar(&lines, '}');
			appendStringInfo(&refs, "%s%s", l ? ", " : "", IerpJsonQuote(po->lines[l].ref));
		}
		appendStringInfoChar(&lines, ']');
		appendStringInfoChar(&refs, ']');

		values[0] = Int64GetDatum(channel_id);
		values[1] = CStringGetTextDatum(po->po_number);
		if (SPI_execute_plan(IerpPlan(&exists_plan,
									  "SELECT 1 FROM erp.sales_order o WHERE o.channel_id OPERATOR(pg_catalog.=) $1"
									  " AND o.external_ref OPERATOR(pg_catalog.=) $2", 2, exists_types),
							 values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: order look-up failed");
		created = SPI_processed == 0;

		values[0] = CStringGetTextDatum(channel);
		values[1] = CStringGetTextDatum(po->po_number);
		values[2] = CStringGetTextDatum(lines.data);
		if (po->buyer != NULL)
			EdiJsonMember(&po->ship_to, "customer", po->buyer);
		if (po->ship_to.len > 0)
			values[3] = CStringGetTextDatum(psprintf("{%s}", po->ship_to.data));
		else
			nulls[3] = 'n';
		if (SPI_execute_plan(IerpPlan(&capture_plan,
									  "SELECT erp.capture_order($1, $2, $3::pg_catalog.jsonb, $4::pg_catalog.jsonb)",
									  4, capture_types),
							 values, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "inventory_erp: erp.capture_order returned no order");
		order_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		/* what the 855 and 856 answer with: the partner, the date, each line's PO101 */
		values[0] = Int64GetDatum(order_id);
		values[1] = Int64GetDatum(channel_id);
		values[2] = CStringGetTextDatum(po->po_number);
		values[3] = CStringGetTextDatum(partner);
		values[4] = CStringGetTextDatum(us);
		values[5] = DateADTGetDatum(po->po_date);
		values[6] = CStringGetTextDatum(psprintf("{%s}", po->dates.data));
		values[7] = CStringGetTextDatum(refs.data);
		nulls[3] = ' ';
		if (SPI_execute_plan(IerpPlan(&record_plan,
									  "INSERT INTO erp.edi_order (order_id, channel_id, po_number, partner_id, our_id,"
									  " po_date, dates, line_refs)"
									  " VALUES ($1, $2, $3, $4, $5, $6, $7::pg_catalog.jsonb, $8::pg_catalog.jsonb)"
									  " ON CONFLICT (order_id) DO NOTHING", 8, record_types),
							 values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inventory_erp: recording the 850 failed");

		out[0] = CStringGetTextDatum(po->control);
		out[1] = CStringGetTextDatum(po->po_number);
		out[2] = Int64GetDatum(order_id);
		out[3] = BoolGetDatum(created);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnull);
	}
	SPI_finish();
	return (Datum) 0;
}

/* maps one inbound 856 set: the PO it names (PRF01) and its items */
static int64
Edi856Map(const X12Document *doc, int s, EdiAsnItem **items_out, int *nitems_out,
		  const char **ref, MemoryContext upper)
{
	static SPIPlanPtr po_plan = NULL;
	static const Oid po_types[1] = {INT8OID};
	const X12Set *set = &doc->sets[s];
	const X12Segment *prf = NULL;
	int64		po_id = 0;
	int			hls = 0;
	int			nitems = 0;
	int			cap = 16;
	EdiAsnItem *items = MemoryContextAlloc(upper, cap * sizeof(EdiAsnItem));
	EdiAsnItem *open = NULL;	/* a LIN waiting for its SN1 */

	X12ExpectTag(doc, set->first + 1, "BSN", &doc->segs[set->first]);
	for (int i = set->first + 1; i < set->last; i++)
	{
		const X12Segment *seg = &doc->segs[i];

		if (strcmp(seg->tag, "BSN") == 0)
		{
			if (i != set->first + 1)
				X12Refuse(seg, 0, "a second BSN in the set");
			*ref = X12Required(seg, 2);
			if (strlen(*ref) > 30)
				X12Refuse(seg, 2, "is longer than 30 characters");
			X12Date(seg, 3);
		}
		else if (strcmp(seg->tag, "HL") == 0 || strcmp(seg->tag, "CTT") == 0)
		{
			if (open)
				X12Refuse(seg, 0, "SN1 expected before it, for the LIN of segment %d", open->lin->pos);
			if (seg->tag[0] == 'H')
			{
				X12Required(seg, 1);
				X12Required(seg, 3);
				hls++;
			}
			else
				X12CheckCount(seg, 1, hls, "HL segments in the set");
		}
		else if (strcmp(seg->tag, "PRF") == 0)
		{
			const char *v = X12Required(seg, 1);

			if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 18 || atoll(v) <= 0)
				X12Refuse(seg, 1, "is not a purchase order number (\"%.20s\")", v);
			if (prf && strcmp(X12Elem(prf, 1), v) != 0)
				X12Refuse(seg, 1, "names purchase order %s, but segment %d (PRF) named %s: one per set",
						  v, prf->pos, X12Elem(prf, 1));
			prf = seg;
			po_id = atoll(v);
		}
		else if (strcmp(seg->tag, "LIN") == 0)
		{
			if (open)
				X12Refuse(seg, 0, "SN1 expected before it, for the LIN of segment %d", open->lin->pos);
			if (nitems == cap)
			{
				cap *= 2;
				items = repalloc(items, cap * sizeof(EdiAsnItem));
			}
			open = &items[nitems++];
			memset(open, 0, sizeof(*open));
			open->lin = seg;
			open->sku = EdiResolveItem(seg, 2, 31, &open->lot, upper);
		}
		else if (strcmp(seg->tag, "SN1") == 0)
		{
			const char *uom = X12Elem(seg, 3);

			if (open == NULL)
				X12Refuse(seg, 0, "an SN1 without the LIN of its item before it");
			open->qty = X12Quantity(seg, 2);
			if (uom[0] != '\0' && strcmp(uom, "EA") != 0)
				X12Refuse(seg, 3, "is \"%s\": quantities are in units (EA)", uom);
			open = NULL;
		}
		else if (strcmp(seg->tag, "DTM") == 0 && nitems > 0 && open == NULL &&
				 strcmp(X12Elem(seg, 1), "036") == 0)
		{
			items[nitems - 1].expires_on = X12Date(seg, 2);
			items[nitems - 1].has_expiry = true;
		}
	}
	if (open)
		X12Refuse(&doc->segs[set->last], 0, "SN1 expected before it, for the LIN of segment %d", open->lin->pos);
	if (prf == NULL)
		X12Refuse(&doc->segs[set->last], 0, "the set of segment %d (ST) has no PRF naming the purchase order",
				  doc->segs[set->first].pos);
	if (nitems == 0)
		X12Refuse(&doc->segs[set->last], 0, "the set of segment %d (ST) has no item (LIN and SN1)",
				  doc->segs[set->first].pos);
	{
		Datum		arg = Int64GetDatum(po_id);

		if (SPI_execute_plan(IerpPlan(&po_plan,
									  "SELECT 1 FROM erp.purchase_order p"
									  " WHERE p.purchase_order_id OPERATOR(pg_catalog.=) $1", 1, po_types),
							 &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: purchase order look-up failed");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("segment %d (PRF): element PRF01 names unknown purchase order " INT64_FORMAT,
							prf->pos, po_id),
					 errdetail("The X12 document is refused as a whole; nothing was written.")));
	}
	*items_out = items;
	*nitems_out = nitems;
	return po_id;
}

/*
 * erp.edi_856_in(document): receives what each 856 set says was shipped
 * against the purchase order its PRF01 names (erp.receive_po with the LIN
 * items: sku, qty from SN102, lot from an LT id, expiry from DTM*036).  A
 * resent 856 replays (the idempotency key "edi856:<ISA06>:<BSN02>:<po>"),
 * never receives twice.  Refuses a malformed document (IE004), an unknown
 * item or purchase order (IE003) and whatever erp.receive_po refuses.
 */
static Datum
ierp_edi_856_in_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr receive_plan = NULL;
	static const Oid receive_types[3] = {INT8OID, TEXTOID, TEXTOID};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext upper = CurrentMemoryContext;
	X12Document doc;
	char	   *partner;
	int64	   *po_ids;
	EdiAsnItem **items;
	int		   *nitems;
	const char **refs;

	EdiDocumentArg(fcinfo, 0, &doc);
	for (int s = 0; s < doc.nsets; s++)
		EdiCheckSetType(&doc, s, "856", "SH");
	partner = EdiIsaId(&doc, 6);
	InitMaterializedSRF(fcinfo, 0);
	po_ids = palloc(doc.nsets * sizeof(int64));
	items = palloc(doc.nsets * sizeof(EdiAsnItem *));
	nitems = palloc(doc.nsets * sizeof(int));
	refs = palloc(doc.nsets * sizeof(char *));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	for (int s = 0; s < doc.nsets; s++)
		po_ids[s] = Edi856Map(&doc, s, &items[s], &nitems[s], &refs[s], upper);
	for (int s = 0; s < doc.nsets; s++)
	{
		StringInfoData lines;
		Datum		values[3];
		int64		units = 0;
		Datum		out[3];
		bool		outnull[3] = {false, false, false};

		initStringInfo(&lines);
		appendStringInfoChar(&lines, '[');
		for (int l = 0; l < nitems[s]; l++)
		{
			EdiAsnItem *it = &items[s][l];

			appendStringInfo(&lines, "%s{\"sku\": %s, \"qty\": " INT64_FORMAT, l ? ", " : "",
							 IerpJsonQuote(it->sku), it->qty);
			if (it->lot)
				appendStringInfo(&lines, ", \"lot\": %s", IerpJsonQuote(it->lot));
			if (it->has_expiry)
			{
				char		date[16];

				appendStringInfo(&lines, ", \"expires_on\": \"%s\"", EdiDateText(it->expires_on, date, sizeof(date)));
			}
			appendStringInfoChar(&lines, '}');
			units += it->qty;
		}
		appendStringInfoChar(&lines, ']');
		values[0] = Int64GetDatum(po_ids[s]);
		values[1] = CStringGetTextDatum(lines.data);
		values[2] = CStringGetTextDatum(psprintf("edi856:%s:%s:" INT64_FORMAT, partner, refs[s], po_ids[s]));
		if (SPI_execute_plan(IerpPlan(&receive_plan,
									  "SELECT erp.receive_po($1, $2::pg_catalog.jsonb, $3)", 3, receive_types),
							 values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: erp.receive_po failed");
		out[0] = CStringGetTextDatum(refs[s]);
		out[1] = Int64GetDatum(po_ids[s]);
		out[2] = Int64GetDatum(units);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnull);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * erp.edi_parse(document): every element of a well-formed interchange, one
 * row each (segment position, tag, element number, value), in document
 * order; a segment without elements gives one row with element 0 and
 * value NULL.  Refuses (IE004) what X12Parse refuses.
 */
Datum
ierp_edi_parse(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	X12Document doc;
	MemoryContext rowctx;

	EdiDocumentArg(fcinfo, 0, &doc);
	InitMaterializedSRF(fcinfo, 0);
	rowctx = AllocSetContextCreate(CurrentMemoryContext, "edi_parse row", ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < doc.nsegs; i++)
	{
		const X12Segment *seg = &doc.segs[i];
		MemoryContext old = MemoryContextSwitchTo(rowctx);

		for (int e = seg->nelems == 0 ? 0 : 1; e <= seg->nelems; e++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, e == 0};

			values[0] = Int32GetDatum(seg->pos);
			values[1] = CStringGetTextDatum(seg->tag);
			values[2] = Int32GetDatum(e);
			values[3] = e == 0 ? (Datum) 0 : CStringGetTextDatum(seg->elems[e - 1]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowctx);
	}
	MemoryContextDelete(rowctx);
	PG_RETURN_NULL();
}
