/*-------------------------------------------------------------------------
 *
 * lookup.c
 *	  Saved SPI plans and the business-key lookups every engine shares:
 *	  sku -> item, node code -> node, channel code -> channel, lot code -> lot,
 *	  the checks on arguments that every public function applies, and the
 *	  trigger that makes sessions reload the rules they cache.
 *
 *	  Every lookup raises IE003 naming the key it could not find.  All of them
 *	  must be called between SPI_connect and SPI_finish.
 *
 *	  Every statement of the extension runs with read_only = false: it then
 *	  sees what earlier statements of the same call chain wrote (a read-only
 *	  statement would use the snapshot of the outer query, so that
 *	  erp.allocate(erp.capture_order(...)) would not see the new order's lines).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "ierp.h"
#include "stock/kernel.h"
#include "master_cache.h"

PG_FUNCTION_INFO_V1(ierp_reload_rules);
PG_FUNCTION_INFO_V1(ierp_own_new_lot);

/* IerpTextArg: argument argno as a C string, or NULL when SQL NULL. */
char *
IerpTextArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * IerpIdArg: the id argument argno of a document function; a NULL is refused
 * (IE003) as "no <what> id given", never looked up as id 0.
 */
int64
IerpIdArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("no %s id given", what),
				 errdetail("The %s id is required.", what)));
	return PG_GETARG_INT64(argno);
}

/* IerpJsonQuote: s as a JSON string literal, quotes and escapes included. */
char *
IerpJsonQuote(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	escape_json(&buf, s ? s : "");
	return buf.data;
}

/* IerpCheckQuantity: refuses (IE004) a quantity that is not a whole number of units > 0. */
void
IerpCheckQuantity(int64 qty, const char *sku)
{
	if (qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid quantity " INT64_FORMAT " for sku \"%s\"", qty, sku ? sku : "?"),
				 errdetail("Quantities are whole units greater than zero.")));
	if (qty > IERP_MAX_MOVE_QTY)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid quantity " INT64_FORMAT " for sku \"%s\"", qty, sku ? sku : "?"),
				 errdetail("One call moves at most " INT64_FORMAT " units.", IERP_MAX_MOVE_QTY)));
}

/*
 * IerpParseQuantity: a quantity given as text (JSON "qty": 2 or "2") as whole
 * units > 0; IE004 naming the text otherwise.
 */
int64
IerpParseQuantity(const char *text, const char *sku)
{
	const char *p = text;
	int64		v = 0;

	if (p == NULL || *p == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no quantity given for sku \"%s\"", sku ? sku : "?")));
	if (*p == '-')
		p++;
	for (; *p; p++)
	{
		if (!isdigit((unsigned char) *p) || v > PG_INT64_MAX / 10 - 10)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid quantity \"%s\" for sku \"%s\"", text, sku ? sku : "?"),
					 errdetail("Quantities are whole units greater than zero.")));
		v = v * 10 + (*p - '0');
	}
	if (text[0] == '-')
		v = -v;
	IerpCheckQuantity(v, sku);
	return v;
}

/* IerpIsPrice: a money amount numeric(14,2) takes: digits, at most 12 before and 2 after a point. */
bool
IerpIsPrice(const char *s)
{
	int			before = 0,
				after = 0;

	while (isdigit((unsigned char) *s) && before <= 12)
		s++, before++;
	if (*s == '.')
		for (s++; isdigit((unsigned char) *s) && after <= 2; s++)
			after++;
	return *s == '\0' && before >= 1 && before <= 12 && after <= 2;
}

/*
 * IerpParseDate: a date written YYYY-MM-DD (an expiry on a receipt); IE004
 * naming the text when it is not a real calendar date, or lies outside the
 * years IerpCheckDate accepts.
 */
DateADT
IerpParseDate(const char *text, const char *what)
{
	int			y,
				m,
				d;
	char		tail;
	DateADT		result;

	if (text == NULL || sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
		strlen(text) != 10 || m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y)][m - 1])
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid %s \"%s\"", what, text ? text : ""),
				 errdetail("Dates are real calendar dates written YYYY-MM-DD.")));
	result = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	IerpCheckDate(result, what);
	return result;
}

/*
 * IerpCheckText: refuses (IE004) a text argument that is empty or longer than
 * maxlen bytes, or not valid in the database encoding (a NULL is the caller's
 * business: most texts are optional).
 */
void
IerpCheckText(const char *value, const char *what, int maxlen)
{
	size_t		len;

	if (value == NULL)
		return;
	len = strlen(value);
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("empty %s", what),
				 errdetail("Leave it out (NULL) or give a value.")));
	if (len > (size_t) maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("%s is %zu bytes long", what, len),
				 errdetail("At most %d bytes are accepted.", maxlen)));
}

/* IerpCheckDate: refuses (IE004) a date at +-infinity or outside the years accepted. */
void
IerpCheckDate(DateADT date, const char *what)
{
	int			y,
				m,
				d;

	if (DATE_NOT_FINITE(date))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid %s: infinity", what),
				 errdetail("Dates are real calendar dates.")));
	j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (y < IERP_MIN_YEAR || y > IERP_MAX_YEAR)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid %s: year %d", what, y),
				 errdetail("Dates lie in the years %d to %d.", IERP_MIN_YEAR, IERP_MAX_YEAR)));
}

/* IerpCheckTimestamp: as IerpCheckDate, for a timestamptz. */
void
IerpCheckTimestamp(TimestampTz ts, const char *what)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid %s: infinity", what),
				 errdetail("Times are real points in time.")));
	IerpCheckDate((DateADT) (ts / USECS_PER_DAY) - (ts < 0 && ts % USECS_PER_DAY != 0 ? 1 : 0), what);
}

/* IerpCheckCoordinates: refuses (IE004) a latitude or longitude that is no real position. */
void
IerpCheckCoordinates(double latitude, double longitude)
{
	if (!(latitude >= -90.0 && latitude <= 90.0) || !(longitude >= -180.0 && longitude <= 180.0))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid coordinates (%g, %g)", latitude, longitude),
				 errdetail("Latitude lies in [-90, 90] and longitude in [-180, 180] degrees.")));
}

static void
RaiseUnknown(const char *kind, const char *key, const char *hint)
{
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("no %s given", kind),
				 hint ? errhint("%s", hint) : 0));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
			 errmsg("unknown %s \"%s\"", kind, key),
			 hint ? errhint("%s", hint) : 0));
}

/* IerpLookupItem: fills info for sku (master_cache.c); IE003 when there is no such item, IE004 for an empty or over-long sku. */
void
IerpLookupItem(const char *sku, ItemInfo *info)
{
	const MasterItem *item;

	if (sku == NULL)
		RaiseUnknown("sku", NULL, "A sku is required.");
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	item = MasterItemLookup(sku);
	if (item == NULL)
		RaiseUnknown("sku", sku, "Items are created by erp_admin in erp.item.");
	*info = item->info;
}

/* IerpLookupNode: node_id of an active or inactive node by code; IE003 when unknown, IE004 for an empty or over-long code. */
int64
IerpLookupNode(const char *code)
{
	int64		id;

	if (code == NULL)
		RaiseUnknown("node", NULL, "A node code is required.");
	IerpCheckText(code, "node code", IERP_MAX_KEY_LEN);
	id = MasterNodeLookup(code);
	if (id == 0)
		RaiseUnknown("node", code, "Nodes are created by erp_admin in erp.node.");
	return id;
}

/* IerpLookupChannel: channel_id by code; IE003 when unknown, IE004 for an empty or over-long code. */
int64
IerpLookupChannel(const char *code)
{
	int64		id;

	if (code == NULL)
		RaiseUnknown("channel", NULL, "A channel code is required.");
	IerpCheckText(code, "channel code", IERP_MAX_KEY_LEN);
	id = MasterChannelLookup(code);
	if (id == 0)
		RaiseUnknown("channel", code, "Channels are created by erp_admin in erp.channel.");
	return id;
}

/* IerpLookupLot: lot_id of lot_code of an item; IE003 when the item has no such lot, IE004 for an empty or over-long code. */
int64
IerpLookupLot(int64 item_id, const char *sku, const char *lot_code)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	int			ret;

	if (lot_code == NULL)
		RaiseUnknown("lot", NULL, "A lot code is required.");
	IerpCheckText(lot_code, "lot code", IERP_MAX_KEY_LEN);
	IerpPlan(&plan, "SELECT lot_id FROM erp.lot WHERE item_id = $1 AND lot_code = $2",
			 2, argtypes);
	values[0] = Int64GetDatum(item_id);
	values[1] = CStringGetTextDatum(lot_code);
	ret = SPI_execute_plan(plan, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: lot lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown lot \"%s\" of sku \"%s\"", lot_code, sku)));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Owns a lot (existing or new) of an item in the global lock order (StockOwnTag). */
static void
OwnLot(int64 item_id, const char *sku, const char *lot_code)
{
	uint32		h = hash_bytes((const unsigned char *) lot_code, (int) strlen(lot_code));

	StockOwnDocument(STOCK_TAG_LOT, (int64) h ^ (item_id * INT64CONST(2654435761)),
					 psprintf("lot \"%s\" of sku \"%s\"", lot_code, sku ? sku : ""));
}

/*
 * IerpEnsureLot: lot_id of lot_code, creating the lot on first receipt; a lot
 * code must be 1..IERP_MAX_KEY_LEN bytes and an expiry date a real one (IE004).  A
 * lot without an expiry date takes the first one a receipt names; a receipt
 * that names a different expiry than the lot already has is refused (IE010):
 * one lot, one expiry date.
 *
 * Locks: an existing lot is only read, never row-locked, so receipts, moves
 * and counts naming one lot do not queue on each other.  A new lot is owned
 * through its tag in the global lock order (StockOwnTag) before it is
 * inserted, so a second transaction creating it waits there, in order, not
 * in the unique index (doc/concurrency.md).  The one row lock left is the
 * UPDATE that gives a lot without an expiry its first expiry date.
 */
int64
IerpEnsureLot(int64 item_id, const char *sku, const char *lot_code, DateADT expires_on,
			  bool has_expiry)
{
	static SPIPlanPtr insert_plan = NULL;
	static SPIPlanPtr read_plan = NULL;
	static SPIPlanPtr expiry_plan = NULL;
	static const Oid argtypes[] = {INT8OID, TEXTOID, DATEOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	int64		lot_id;
	Datum		existing;
	int			ret;

	if (lot_code == NULL)
		RaiseUnknown("lot", NULL, "A lot code is required.");
	IerpCheckText(lot_code, "lot code", IERP_MAX_KEY_LEN);
	if (has_expiry)
		IerpCheckDate(expires_on, "expiry date");

	values[0] = Int64GetDatum(item_id);
	values[1] = CStringGetTextDatum(lot_code);
	values[2] = DateADTGetDatum(expires_on);
	if (!has_expiry)
		nulls[2] = 'n';

	/*
	 * A lot that does not exist yet: own it in the global lock order first,
	 * so that a second transaction creating the same lot waits here, in
	 * order (or is refused with 55P03), never in the unique index out of
	 * order.  An existing lot is only read below: receipts of one lot do not
	 * queue on each other.
	 */
	IerpPlan(&read_plan,
			 "SELECT lot_id, expires_on FROM erp.lot WHERE item_id = $1 AND lot_code = $2",
			 2, argtypes);
	ret = SPI_execute_plan(read_plan, values, nulls, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: lot lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		OwnLot(item_id, sku, lot_code);

		/* a new lot: inserted; one another transaction created and committed meanwhile: no row */
		IerpPlan(&insert_plan,
				 "INSERT INTO erp.lot (item_id, lot_code, expires_on) VALUES ($1, $2, $3)"
				 " ON CONFLICT (item_id, lot_code) DO NOTHING RETURNING lot_id, expires_on",
				 3, argtypes);
		ret = SPI_execute_plan(insert_plan, values, nulls, false, 1);
		if (ret != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "inventory_erp: lot insert failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 0)
		{
			ret = SPI_execute_plan(read_plan, values, nulls, false, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "inventory_erp: lot lookup failed: %s", SPI_result_code_string(ret));
			if (SPI_processed != 1)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access to lot \"%s\" of sku \"%s\": another transaction created it",
								lot_code, sku),
						 errhint("Retry the transaction.")));
		}
	}
	lot_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	existing = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (has_expiry && isnull)
	{
		/*
		 * A lot without an expiry takes the first one a receipt names.  Own
		 * the lot first (in the lock order), then read it again: a receipt
		 * that gave it an expiry meanwhile has committed, and its expiry is
		 * read; the UPDATE below then never waits for another transaction.
		 */
		OwnLot(item_id, sku, lot_code);
		ret = SPI_execute_plan(read_plan, values, nulls, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "inventory_erp: lot lookup failed: %s", SPI_result_code_string(ret));
		existing = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	}
	if (has_expiry && isnull)
	{
		IerpPlan(&expiry_plan,
				 "WITH u AS (UPDATE erp.lot SET expires_on = $3"
				 "            WHERE item_id = $1 AND lot_id = $2 AND expires_on IS NULL"
				 "           RETURNING expires_on)"
				 " SELECT expires_on FROM u"
				 " UNION ALL SELECT expires_on FROM erp.lot"
				 "  WHERE item_id = $1 AND lot_id = $2 AND NOT EXISTS (SELECT 1 FROM u)",
				 3, (Oid[]) {INT8OID, INT8OID, DATEOID});
		values[1] = Int64GetDatum(lot_id);
		ret = SPI_execute_plan(expiry_plan, values, nulls, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "inventory_erp: lot expiry update failed: %s", SPI_result_code_string(ret));
		existing = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	}
	if (has_expiry && (isnull || DatumGetDateADT(existing) != expires_on))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("lot \"%s\" of sku \"%s\" already exists with expiry %s",
						lot_code, sku,
						isnull ? "unknown" : DatumGetCString(DirectFunctionCall1(date_out, existing))),
				 errdetail("A lot has one expiry date; this receipt says %s.",
						   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(expires_on)))),
				 errhint("Receive the units under a new lot code.")));
	return lot_id;
}

/* The business key of an id for a message; "#id" when the row does not exist. */
static char *
KeyOfId(SPIPlanPtr *plan, const char *sql, int64 id)
{
	static const Oid argtypes[] = {INT8OID};
	bool		isnull;

	IerpPlan(plan, sql, 1, argtypes);
	if (SPI_execute_plan(*plan, (Datum[]) {Int64GetDatum(id)}, NULL, false, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		return TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return psprintf("#" INT64_FORMAT, id);
}

/* IerpItemSku: sku of an item id, for messages. */
char *
IerpItemSku(int64 item_id)
{
	static SPIPlanPtr plan = NULL;

	return KeyOfId(&plan, "SELECT sku FROM erp.item WHERE item_id = $1", item_id);
}

/* IerpNodeCode: code of a node id, for messages. */
char *
IerpNodeCode(int64 node_id)
{
	static SPIPlanPtr plan = NULL;

	return KeyOfId(&plan, "SELECT code FROM erp.node WHERE node_id = $1", node_id);
}

/*
 * IerpRowIsHistory: true when the row being inserted into rel (with its id in
 * column idcol) is history being reloaded - pg_restore of a dump - rather
 * than a new fact.  That is the case exactly when the session runs in restore
 * mode: inventory_erp.restore_mode, which only a superuser can switch on
 * (PGC_SUSET), e.g. PGOPTIONS='-c inventory_erp.restore_mode=on' pg_restore.
 * Outside restore mode nothing is history, whatever id a row brings: an id
 * above the identity sequence is no proof of anything (an INSERT ...
 * OVERRIDING SYSTEM VALUE can bring any id).
 */
bool
IerpRowIsHistory(Relation rel, HeapTuple tup, const char *idcol)
{
	bool		isnull;

	if (!ierp_restore_mode)
		return false;
	(void) heap_getattr(tup, SPI_fnumber(RelationGetDescr(rel), idcol), RelationGetDescr(rel), &isnull);
	return !isnull;
}


/*
 * ierp_reload_rules: statement trigger on a table whose rows sessions cache
 * (erp.state_transition, erp.disposition_rule, erp.node_access, and the
 * master data of master_cache.c: items, components, nodes, channels,
 * channel nodes, stock policies, ring-fences).  The relcache invalidation
 * reaches every backend at commit; each cache's callback drops its copy.
 */
Datum
ierp_reload_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_reload_rules must be called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * ierp_own_new_lot: BEFORE INSERT row trigger on erp.lot.  A lot inserted
 * by anyone (an administrator's import as well as a first receipt) is owned
 * through its tag in the global lock order until the inserting transaction
 * ends, so that a receipt creating the same lot meanwhile waits for the tag,
 * in order, never in the unique index out of order.
 */
Datum
ierp_own_new_lot(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	bool		item_null,
				code_null;
	Datum		item,
				code;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_own_new_lot must be an INSERT row trigger");
	desc = RelationGetDescr(trigdata->tg_relation);
	item = heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "item_id"), desc, &item_null);
	code = heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "lot_code"), desc, &code_null);
	if (!item_null && !code_null)
		OwnLot(DatumGetInt64(item), NULL, TextDatumGetCString(code));
	return PointerGetDatum(trigdata->tg_trigtuple);
}
