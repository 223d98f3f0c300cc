/*-------------------------------------------------------------------------
 *
 * feeds.c
 *	  Availability deltas for channel feeds: erp.channel_availability_changes
 *	  and the trigger that records master-data changes that move ATP
 *	  (erp.feed_change).
 *
 *	  A cursor is the snapshot the previous call read under, in text:
 *
 *	    1/<system id>/<database oid>/<YYYYMMDD>/<master snapshot>/<snapshot>
 *
 *	  (each snapshot xmin:xmax:xip,... as pg_snapshot writes it).
 *
 *	  The items whose ATP may have changed since a cursor are those of
 *	  ledger rows (erp.stock_move.txid) and master-data changes
 *	  (erp.feed_change.txid) of transactions visible now but not in the
 *	  cursor's snapshot, the lots whose promisable cut-off (expires_on -
 *	  min_shelf_life_days) passed between the two calls' CURRENT_DATE (the
 *	  date ATP promises from), and the kits
 *	  of any of these.  Every transaction is either visible in a snapshot or
 *	  not, whatever the commit order, so a change is reported by exactly the
 *	  first call whose snapshot sees it.  Master-data changes are reported
 *	  against the master snapshot: the snapshot of the call before, so that
 *	  each is reported by two consecutive deltas (ATP reads stock policies
 *	  and channel nodes through per-session caches, which a committed change
 *	  reaches only when its invalidation arrives: the second report reads it
 *	  for sure).  After a full resynchronisation the master snapshot is one
 *	  that sees nothing from the resynchronisation's xmin on.
 *
 *	  Refused: a cursor that does not parse (IE004); one of another database
 *	  or cluster, one ahead of this database (a standby behind its primary),
 *	  or one older than the history kept (erp.feed_horizon): IE010, the feed
 *	  resynchronises with since => NULL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "ierp.h"
#include "stock/kernel.h"

PG_FUNCTION_INFO_V1(ierp_feeds_record_change);
PG_FUNCTION_INFO_V1(ierp_feeds_availability_changes);

/* a cursor is a few numbers and a snapshot's in-progress list: bounded well above any real one */
#define FEED_CURSOR_MAX_LEN		262144
#define FEED_CURSOR_VERSION		"1"

/* erp.feed_change's columns (sql/install/16_feeds.sql) */
#define Natts_feed_change			4
#define Anum_feed_change_txid		1
#define Anum_feed_change_item_id	2
#define Anum_feed_change_changed_at	3
#define Anum_feed_change_source		4

typedef struct FeedCursor
{
	uint64		system_id;
	Oid			database;
	DateADT		date;			/* CURRENT_DATE of the call (its ATP's shelf-life cut-off) */
	char	   *master;			/* master changes this snapshot does not see are reported */
	char	   *snapshot;		/* pg_snapshot text form, checked */
	uint64		xmin;
	uint64		xmax;
} FeedCursor;

/* ---------- the change trigger ---------- */

/* Appends one row to erp.feed_change: item_id, or NULL for "every item". */
static void
FeedChangeAppend(Relation source, int64 item_id, bool all_items)
{
	Oid			relid = IerpRelid("feed_change");
	Relation	rel;
	Datum		values[Natts_feed_change];
	bool		nulls[Natts_feed_change] = {false};
	HeapTuple	tup;

	if (!OidIsValid(relid))
		elog(ERROR, "inventory_erp: table erp.feed_change does not exist");
	rel = table_open(relid, RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != Natts_feed_change)
		elog(ERROR, "inventory_erp: erp.feed_change does not have the columns this module expects");
	values[Anum_feed_change_txid - 1] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	values[Anum_feed_change_item_id - 1] = Int64GetDatum(item_id);
	nulls[Anum_feed_change_item_id - 1] = all_items;
	values[Anum_feed_change_changed_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[Anum_feed_change_source - 1] = DirectFunctionCall1(namein,
															  CStringGetDatum(RelationGetRelationName(source)));
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	simple_heap_insert(rel, tup);
	StockIndexInsert(rel, tup);
	heap_freetuple(tup);
	table_close(rel, NoLock);
}

/* Records the item named by column colname of tup, when it has one. */
static void
FeedChangeOfRow(Relation rel, HeapTuple tup, const char *colname)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), colname);
	bool		isnull;
	Datum		value;

	if (attnum == InvalidAttrNumber || TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid != INT8OID)
		elog(ERROR, "inventory_erp: erp.%s has no bigint column \"%s\"", RelationGetRelationName(rel), colname);
	value = heap_getattr(tup, attnum, RelationGetDescr(rel), &isnull);
	if (!isnull)
		FeedChangeAppend(rel, DatumGetInt64(value), false);
}

/*
 * ierp_feeds_record_change: AFTER trigger on the master data ATP reads.  Its
 * arguments name the columns that hold the item concerned (an item_id, a
 * kit's kit_item_id); the item of the row before and after the change is
 * recorded.  Without arguments, and for TRUNCATE, the change concerns every
 * item (NULL).
 */
Datum
ierp_feeds_record_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_feeds_record_change must be an AFTER trigger");
	trigger = trigdata->tg_trigger;
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || trigger->tgnargs == 0)
	{
		FeedChangeAppend(trigdata->tg_relation, 0, true);
		return PointerGetDatum(NULL);
	}
	for (i = 0; i < trigger->tgnargs; i++)
	{
		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
			FeedChangeOfRow(trigdata->tg_relation, trigdata->tg_trigtuple, trigger->tgargs[i]);
		else
		{
			FeedChangeOfRow(trigdata->tg_relation, trigdata->tg_trigtuple, trigger->tgargs[i]);
			FeedChangeOfRow(trigdata->tg_relation, trigdata->tg_newtuple, trigger->tgargs[i]);
		}
	}
	return PointerGetDatum(NULL);
}

/* ---------- cursors ---------- */

static void
CursorInvalid(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_IERP_INVALID_QUANTITY),
			 errmsg("invalid feed cursor: %s", why),
			 errdetail("A cursor is the next_since text an earlier call of erp.channel_availability_changes returned."),
			 errhint("Pass a next_since exactly as returned, or since => NULL for a full resynchronisation.")));
}

static void
CursorTooOld(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("cursor too old; resynchronise"),
			 errdetail("%s", why),
			 errhint("Call erp.channel_availability_changes(channel, since => NULL) and replace the feed's whole catalogue with its rows.")));
}

/*
 * Reads one unsigned decimal of at most 19 digits (below 2^63) at *p and
 * moves *p past it; refuses anything else.
 */
static uint64
CursorNumber(const char **p)
{
	uint64		value = 0;
	int			digits = 0;

	while (**p >= '0' && **p <= '9')
	{
		if (++digits > 19)
			CursorInvalid("a number is too long");
		value = value * 10 + (uint64) (**p - '0');
		(*p)++;
	}
	if (digits == 0)
		CursorInvalid("a number is missing");
	if (value > (uint64) PG_INT64_MAX)
		CursorInvalid("a number is out of range");
	return value;
}

/* The cursor's date field, YYYYMMDD, as a date in 1970..9999. */
static DateADT
CursorDate(uint64 yyyymmdd)
{
	int			year = (int) (yyyymmdd / 10000);
	int			month = (int) (yyyymmdd / 100 % 100);
	int			day = (int) (yyyymmdd % 100);
	int			y,
				m,
				d;

	if (year < IERP_MIN_YEAR || year > IERP_MAX_YEAR || month < 1 || month > 12 || day < 1 || day > 31)
		CursorInvalid("its date is not a date");
	j2date(date2j(year, month, day), &y, &m, &d);
	if (y != year || m != month || d != day)
		CursorInvalid("its date is not a date");
	return date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
}

static void
CursorExpect(const char **p, char c)
{
	if (**p != c)
		CursorInvalid(psprintf("\"%c\" expected", c));
	(*p)++;
}

/*
 * SnapshotParse: reads a pg_snapshot in text form at p, checked for what
 * pg_snapshot accepts (0 < xmin <= xmax, both naming a transaction - their
 * low 32 bits not 0 - and in-progress ids strictly ascending in
 * [xmin, xmax)), to the end of the string.  IE004 otherwise.
 */
static void
SnapshotParse(const char *p, uint64 *xmin, uint64 *xmax, uint64 **xip, int *nxip)
{
	int			cap = 8;

	*nxip = 0;
	*xip = palloc(sizeof(uint64) * cap);
	*xmin = CursorNumber(&p);
	CursorExpect(&p, ':');
	*xmax = CursorNumber(&p);
	CursorExpect(&p, ':');
	if (*xmin == 0 || *xmin > *xmax)
		CursorInvalid("its transaction bounds are not in order");
	/* an id whose low 32 bits are 0 names no transaction (pg_snapshot refuses it) */
	if ((*xmin & UINT64CONST(0xFFFFFFFF)) == 0 || (*xmax & UINT64CONST(0xFFFFFFFF)) == 0)
		CursorInvalid("its transaction bounds name no transaction");
	while (*p != '\0')
	{
		uint64		xid;

		if (*nxip > 0)
			CursorExpect(&p, ',');
		xid = CursorNumber(&p);
		if (xid < *xmin || xid >= *xmax || (*nxip > 0 && xid <= (*xip)[*nxip - 1]))
			CursorInvalid("its in-progress transactions are not in order");
		if (*nxip == cap)
		{
			cap *= 2;
			*xip = repalloc(*xip, sizeof(uint64) * cap);
		}
		(*xip)[(*nxip)++] = xid;
	}
}

/*
 * CursorParse: checks text against the cursor format, field by field (IE004
 * otherwise), into cur.
 */
static void
CursorParse(const char *text, FeedCursor *cur)
{
	const char *p = text;
	uint64		db;
	uint64	   *xip;
	int			nxip;

	if (strlen(text) > FEED_CURSOR_MAX_LEN)
		CursorInvalid("it is too long");
	if (strncmp(p, FEED_CURSOR_VERSION "/", strlen(FEED_CURSOR_VERSION) + 1) != 0)
		CursorInvalid("unknown format version");
	p += strlen(FEED_CURSOR_VERSION) + 1;
	cur->system_id = CursorNumber(&p);
	CursorExpect(&p, '/');
	db = CursorNumber(&p);
	if (db > PG_UINT32_MAX)
		CursorInvalid("database out of range");
	cur->database = (Oid) db;
	CursorExpect(&p, '/');
	cur->date = CursorDate(CursorNumber(&p));
	CursorExpect(&p, '/');
	{
		const char *slash = strchr(p, '/');
		uint64		mxmin,
					mxmax;

		if (slash == NULL)
			CursorInvalid("\"/\" expected");
		cur->master = pnstrdup(p, slash - p);
		SnapshotParse(cur->master, &mxmin, &mxmax, &xip, &nxip);
		pfree(xip);
		p = slash + 1;
		cur->snapshot = pstrdup(p);
		SnapshotParse(p, &cur->xmin, &cur->xmax, &xip, &nxip);
		pfree(xip);
		if (mxmin > cur->xmin || mxmax > cur->xmax)
			CursorInvalid("its master snapshot is newer than its snapshot");
	}
}


/*
 * CursorCheckUsable: a cursor of this database, not ahead of it, and not
 * older than a horizon of erp.feed_horizon (a horizon is a transaction whose
 * commit every usable cursor saw; horizons ahead of this database are
 * another cluster's, reloaded with a dump, and say nothing here).  IE010.
 */
static void
CursorCheckUsable(const FeedCursor *cur)
{
	Datum		values[1];
	Oid			types[1] = {TEXTOID};
	bool		isnull;
	int			ret;

	if (cur->system_id != GetSystemIdentifier() || cur->database != MyDatabaseId)
		CursorTooOld("The cursor was given by another database (or a copy of this one restored elsewhere).");
	values[0] = CStringGetTextDatum(cur->snapshot);
	ret = SPI_execute_with_args(
								"SELECT pg_catalog.pg_snapshot_xmax($1::pg_catalog.pg_snapshot)"
								"         > pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()),"
								"       EXISTS (SELECT 1 FROM erp.feed_horizon h"
								"                WHERE h.horizon < pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())"
								"                  AND NOT pg_catalog.pg_visible_in_snapshot(h.horizon, $1::pg_catalog.pg_snapshot))",
								1, types, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot check a feed cursor");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		CursorTooOld("The cursor is ahead of this database (a standby that has not replayed what the cursor saw yet, or a restored copy).");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		CursorTooOld("The changes since the cursor are no longer kept (erp.feed_horizon).");
}

/*
 * SnapshotWithOwn: the snapshot text snap with the caller's own transaction
 * own (when it has an id) counted as in progress.  A snapshot sees its own
 * transaction's rows, but that transaction may write more after this call:
 * the next call must report all of them.
 */
static char *
SnapshotWithOwn(const char *snap, bool has_own, uint64 own)
{
	uint64		xmin,
				xmax;
	uint64	   *xip;
	int			nxip,
				i;
	bool		added = false;
	StringInfoData out;

	if (!has_own)
		return pstrdup(snap);
	SnapshotParse(snap, &xmin, &xmax, &xip, &nxip);
	if (own >= xmax)
		return pstrdup(snap);	/* not visible in it anyway */
	initStringInfo(&out);
	appendStringInfo(&out, UINT64_FORMAT ":" UINT64_FORMAT ":", Min(xmin, own), xmax);
	for (i = 0; i <= nxip; i++)
	{
		if (!added && (i == nxip || own <= xip[i]))
		{
			appendStringInfo(&out, "%s" UINT64_FORMAT, out.data[out.len - 1] == ':' ? "" : ",", own);
			added = true;
		}
		if (i < nxip && xip[i] != own)
			appendStringInfo(&out, "%s" UINT64_FORMAT, out.data[out.len - 1] == ':' ? "" : ",", xip[i]);
	}
	pfree(xip);
	return out.data;
}

/*
 * CursorNext: the cursor to return, read under the same snapshot as the
 * changes; its master snapshot is the given cursor's snapshot (after a full
 * resynchronisation, one that sees nothing from this snapshot's xmin on).
 */
static char *
CursorNext(const FeedCursor *prev)
{
	int			ret;
	bool		no_own;
	char	   *snapshot;
	uint64		own;
	uint64		xmin,
				xmax;
	uint64	   *xip;
	int			nxip;
	int			year,
				month,
				day;

	ret = SPI_execute("SELECT pg_catalog.pg_current_snapshot()::text,"
					  "       pg_catalog.pg_current_xact_id_if_assigned()::text::bigint",
					  true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the current snapshot");
	own = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &no_own));
	snapshot = SnapshotWithOwn(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), !no_own, own);
	SnapshotParse(snapshot, &xmin, &xmax, &xip, &nxip);
	j2date(GetSQLCurrentDate() + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	pfree(xip);
	return psprintf("%s/" UINT64_FORMAT "/%u/%04d%02d%02d/%s/%s",
					FEED_CURSOR_VERSION, GetSystemIdentifier(), MyDatabaseId, year, month, day,
					prev ? prev->snapshot : psprintf(UINT64_FORMAT ":" UINT64_FORMAT ":", xmin, xmin),
					snapshot);
}

/* ---------- the delta ---------- */

/* Every active item, with its ATP for the channel ($1). */
#define FULL_SQL \
	"SELECT i.sku, i.item_id, erp.atp(i.sku, NULL, $1) FROM erp.item i WHERE i.active ORDER BY i.item_id"

/*
 * The items whose ATP may have changed since snapshot $2 (of xmin $5; master changes
 * the master snapshot $3 does not see, lot cut-offs between date $4 and today), with their ATP for the
 * channel ($1); retired items among them with 0.  Moves count when they
 * touch a state ATP reads: available, the reserved, picked and packed
 * units that use up a channel's ring-fence, and the incoming and in-transit
 * units a preorder is promised from.
 */
#define DELTA_SQL \
	"WITH RECURSIVE moved AS (" \
	"   SELECT DISTINCT m.item_id FROM erp.stock_move m" \
	"    WHERE m.txid >= $5::pg_catalog.xid8" \
	"      AND NOT pg_catalog.pg_visible_in_snapshot(m.txid, $2::pg_catalog.pg_snapshot)" \
	"      AND (m.from_state IN ('incoming', 'in_transit', 'available', 'reserved', 'picked', 'packed')" \
	"           OR m.to_state IN ('incoming', 'in_transit', 'available', 'reserved', 'picked', 'packed')))," \
	" master AS (" \
	"   SELECT c.item_id FROM erp.feed_change c" \
	"    WHERE c.txid >= pg_catalog.pg_snapshot_xmin($3::pg_catalog.pg_snapshot)" \
	"      AND NOT pg_catalog.pg_visible_in_snapshot(c.txid, $3::pg_catalog.pg_snapshot))," \
	" expiring AS (" \
	"   SELECT l.item_id FROM erp.lot l JOIN erp.item i ON i.item_id = l.item_id" \
	"    WHERE i.min_shelf_life_days > 0" \
	"      AND l.expires_on - i.min_shelf_life_days >= LEAST($4::date, CURRENT_DATE)" \
	"      AND l.expires_on - i.min_shelf_life_days < GREATEST($4::date, CURRENT_DATE))," \
	" changed(item_id) AS (" \
	"   SELECT item_id FROM moved" \
	"   UNION SELECT item_id FROM master WHERE item_id IS NOT NULL" \
	"   UNION SELECT item_id FROM expiring" \
	"   UNION SELECT k.kit_item_id FROM erp.item_component k JOIN changed c ON k.component_item_id = c.item_id)" \
	" SELECT i.sku, i.item_id, CASE WHEN i.active THEN erp.atp(i.sku, NULL, $1) ELSE 0 END" \
	"   FROM erp.item i" \
	"  WHERE i.item_id IN (SELECT item_id FROM changed)" \
	"     OR (i.active AND EXISTS (SELECT 1 FROM master WHERE item_id IS NULL))" \
	"  ORDER BY i.item_id"

/* Runs the full or the delta statement; the rows are in SPI_tuptable. */
static void
FeedRead(const char *channel, const FeedCursor *prev)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, DATEOID, XID8OID};
	Datum		values[5];
	int			ret;

	values[0] = CStringGetTextDatum(channel);
	if (prev == NULL)
		ret = SPI_execute_with_args(FULL_SQL, 1, types, values, NULL, true, 0);
	else
	{
		values[1] = CStringGetTextDatum(prev->snapshot);
		values[2] = CStringGetTextDatum(prev->master);
		values[3] = DateADTGetDatum(prev->date);
		values[4] = FullTransactionIdGetDatum(FullTransactionIdFromU64(prev->xmin));
		ret = SPI_execute_with_args(DELTA_SQL, 5, types, values, NULL, true, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the availability changes");
}

/*
 * erp.channel_availability_changes(channel, since): the items whose ATP for
 * channel may have changed since the cursor since (every active item when
 * since is NULL), each with its ATP now and the cursor for the next call;
 * one row of NULLs but the cursor when nothing changed.  Unknown channel:
 * IE003; a bad cursor IE004; an unusable one IE010.  Reads under the
 * caller's snapshot (the function is STABLE), with the caller's rights: a
 * partner sees the moves at its nodes and ATP of its nodes only.
 */
Datum
ierp_feeds_availability_changes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *channel = IerpTextArg(fcinfo, 0);
	char	   *since = IerpTextArg(fcinfo, 1);
	FeedCursor	prev;
	char	   *next;
	Datum		next_datum;
	uint64		i;

	InitMaterializedSRF(fcinfo, 0);
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	if (channel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("channel must be given"),
				 errhint("Name the channel whose feed asks, e.g. erp.channel_availability_changes('WEB', since => ...).")));
	if (since)
		CursorParse(since, &prev);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	(void) IerpLookupChannel(channel);
	if (since)
		CursorCheckUsable(&prev);
	next = CursorNext(since ? &prev : NULL);
	next_datum = CStringGetTextDatum(next);
	FeedRead(channel, since ? &prev : NULL);

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		Datum		values[4];
		bool		nulls[4] = {false};

		values[0] = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &nulls[0]);
		values[1] = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &nulls[1]);
		values[2] = SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &nulls[2]);
		values[3] = next_datum;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (SPI_processed == 0)
	{
		Datum		values[4] = {0, 0, 0, next_datum};
		bool		nulls[4] = {true, true, true, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
