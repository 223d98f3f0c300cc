/*-------------------------------------------------------------------------
 *
 * order_rows.c
 *	  A new order's rows written without the executor on one node: the
 *	  order, its lines and its reservations are inserted as heap tuples with
 *	  their index entries (row_write.c), with the values the order path has
 *	  already checked; the CHECK constraints of these tables are asserted
 *	  here instead of being re-read and evaluated per statement.  Also the
 *	  probe of erp.sales_order's (channel_id, external_ref) key that sends
 *	  a redelivery to the SQL path.
 *
 *	  The tables are compared with what this file was written for when it
 *	  first opens them in a backend (and after any DDL on them), under the
 *	  locks the inserts take: a table whose columns, types, defaults or
 *	  constraints differ (a release that added a column, a DBA's NOT NULL,
 *	  CHECK, EXCLUDE or domain), or that has a trigger or rule on INSERT
 *	  (which a direct insert would not fire), is written through the SQL
 *	  statements of orders.c and allocate.c instead, never here.  Under Citus (StockDirectAccess false) the SQL path is used too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/reltrigger.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "order_rows.h"
#include "row_write.h"
#include "stock/slot_rows.h"

/* the columns this file writes, in table order (sql/install/07_orders.sql) */
static const char *const order_columns[] = {
	"order_id", "channel_id", "external_ref", "status", "priority", "ship_to", "created_at", "updated_at",
	"customer_id", "ship_complete"
};
static const char *const line_columns[] = {
	"order_line_id", "order_id", "line_no", "item_id", "qty", "unit_price", "qty_allocated",
	"qty_backordered", "qty_shipped", "status"
};
static const char *const reservation_columns[] = {
	"reservation_id", "order_id", "line_no", "item_id", "node_id", "lot_id", "qty", "qty_picked",
	"qty_packed", "created_at"
};

#define NCOLS(a) ((int) lengthof(a))

/*
 * What this file was written for: the md5 of a description of the three
 * tables (every column with its type, NOT NULL and default; every
 * constraint's definition), as TABLES_FINGERPRINT_SQL computes it on a
 * fresh install of this version.  A table that differs in any of these (a
 * DBA's NOT NULL, CHECK, EXCLUDE or foreign key, a domain, another type or
 * default, a new column) is written through SQL, which enforces them.
 * When the install scripts change these tables, this changes with them:
 * test/pgtap/42_place_order_direct.sql fails while the direct path is off.
 */
#define TABLES_FINGERPRINT "09f0e2a503747f83718f26e438c53af1"
#define TABLES_FINGERPRINT_SQL \
	"SELECT pg_catalog.md5(pg_catalog.string_agg(t.d, '|' ORDER BY t.relname)) FROM (" \
	" SELECT c.relname, c.relname || ':' || pg_catalog.string_agg(s.x, ';' ORDER BY s.x) AS d" \
	"   FROM pg_catalog.pg_class c," \
	"   LATERAL (" \
	"     SELECT pg_catalog.format('col %s %s %s %s %s', a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)," \
	"                              a.attnotnull, coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '-'))" \
	"       FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum" \
	"      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped" \
	"     UNION ALL" \
	"     SELECT pg_catalog.format('con %s %s', k.contype, pg_catalog.pg_get_constraintdef(k.oid))" \
	"       FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid" \
	"   ) s(x)" \
	"  WHERE c.oid IN ($1, $2, $3)" \
	"  GROUP BY c.relname) t"

/* Whether the three tables are described as TABLES_FINGERPRINT says (read under the caller's locks). */
static bool
TablesAsWritten(Oid orders, Oid lines, Oid reservations)
{
	static const Oid types[] = {OIDOID, OIDOID, OIDOID};
	Datum		values[3];
	bool		same = false;
	bool		isnull;
	Datum		d;

	values[0] = ObjectIdGetDatum(orders);
	values[1] = ObjectIdGetDatum(lines);
	values[2] = ObjectIdGetDatum(reservations);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (SPI_execute_with_args(TABLES_FINGERPRINT_SQL, 3, (Oid *) types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot describe the order tables");
	if (SPI_processed == 1)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			char	   *md5 = TextDatumGetCString(d);

			same = strcmp(md5, TABLES_FINGERPRINT) == 0;
		}
	}
	SPI_finish();
	return same;
}

typedef struct OrderTables
{
	bool		known;			/* the facts below were learnt */
	bool		usable;			/* the tables have the columns above */
	Oid			order_relid;
	Oid			line_relid;
	Oid			reservation_relid;
	Oid			ref_index;		/* unique (channel_id, external_ref) */
	Oid			order_seq;
	Oid			line_seq;
	Oid			reservation_seq;
	Oid			order_status_type;
	Oid			line_status_type;
	int32		price_typmod;
} OrderTables;

static OrderTables tables;

static void
OrderRowsInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == tables.order_relid || relid == tables.line_relid ||
		relid == tables.reservation_relid)
		tables.known = false;
}

/* OrderRowsInit: the relcache callback that forgets what was learnt of the tables (from _PG_init). */
void
OrderRowsInit(void)
{
	IerpRegisterRelcacheCallback(OrderRowsInvalidate, (Datum) 0);
}

static bool
ColumnsAre(Relation rel, const char *const *names, int n)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (desc->natts != n)
		return false;
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), names[i]) != 0)
			return false;
	}
	return true;
}

/*
 * Whether an INSERT into rel would do more than store the row: a trigger on
 * INSERT (a DBA's audit trigger, a test's fault injection) or a rule.  Then
 * the SQL path runs, so that it fires as it would for any insert.
 */
static bool
InsertHasSideEffects(Relation rel)
{
	TriggerDesc *trig = rel->trigdesc;

	if (rel->rd_rel->relhasrules)
		return true;
	return trig != NULL &&
		(trig->trig_insert_before_row || trig->trig_insert_after_row || trig->trig_insert_instead_row ||
		 trig->trig_insert_before_statement || trig->trig_insert_after_statement ||
		 trig->trig_insert_new_table);
}

/* The unique index of erp.sales_order on (channel_id, external_ref), or InvalidOid. */
static Oid
RefIndex(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ix = idx->rd_index;

		if (ix->indisunique && ix->indisvalid && ix->indnkeyatts == 2 && ix->indnatts == 2 &&
			ix->indkey.values[0] == 2 && ix->indkey.values[1] == 3 &&
			RelationGetIndexExpressions(idx) == NIL && RelationGetIndexPredicate(idx) == NIL)
			found = RelationGetRelid(idx);
		index_close(idx, AccessShareLock);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);
	return found;
}

/* Learns the tables' OIDs, sequences and types once per backend (and after DDL on them). */
static void
LearnTables(void)
{
	OrderTables t;
	Relation	orders,
				lines,
				reservations;

	if (tables.known)
		return;
	memset(&t, 0, sizeof(t));
	t.order_relid = IerpRelid("sales_order");
	t.line_relid = IerpRelid("order_line");
	t.reservation_relid = IerpRelid("reservation");
	if (!OidIsValid(t.order_relid) || !OidIsValid(t.line_relid) || !OidIsValid(t.reservation_relid))
		elog(ERROR, "inventory_erp: the order tables do not exist");
	orders = table_open(t.order_relid, AccessShareLock);
	lines = table_open(t.line_relid, AccessShareLock);
	reservations = table_open(t.reservation_relid, AccessShareLock);
	t.usable = ColumnsAre(orders, order_columns, NCOLS(order_columns)) &&
		ColumnsAre(lines, line_columns, NCOLS(line_columns)) &&
		ColumnsAre(reservations, reservation_columns, NCOLS(reservation_columns)) &&
		!InsertHasSideEffects(orders) && !InsertHasSideEffects(lines) && !InsertHasSideEffects(reservations) &&
		TablesAsWritten(t.order_relid, t.line_relid, t.reservation_relid);
	if (t.usable)
	{
		t.ref_index = RefIndex(orders);
		t.order_seq = getIdentitySequence(t.order_relid, 1, true);
		t.line_seq = getIdentitySequence(t.line_relid, 1, true);
		t.reservation_seq = getIdentitySequence(t.reservation_relid, 1, true);
		t.order_status_type = TupleDescAttr(RelationGetDescr(orders), 3)->atttypid;
		t.line_status_type = TupleDescAttr(RelationGetDescr(lines), 9)->atttypid;
		t.price_typmod = TupleDescAttr(RelationGetDescr(lines), 5)->atttypmod;
		t.usable = OidIsValid(t.ref_index) && OidIsValid(t.order_seq) && OidIsValid(t.line_seq) &&
			OidIsValid(t.reservation_seq);
	}
	table_close(reservations, AccessShareLock);
	table_close(lines, AccessShareLock);
	table_close(orders, AccessShareLock);
	t.known = true;
	tables = t;
}

/*
 * OrderRowsDirect: whether a new order's rows may be written here: one
 * node (the kernel's direct access) and tables with the columns this file
 * knows.
 */
bool
OrderRowsDirect(void)
{
	Oid			relids[3];
	int			i;

	if (!StockDirectAccess())
		return false;

	/*
	 * The tables are locked as the inserts will lock them before what was
	 * learnt of them is trusted: DDL that committed meanwhile is taken in
	 * (its invalidation arrives with the lock), and none can commit before
	 * this transaction ends.
	 */
	relids[0] = tables.known ? tables.order_relid : IerpRelid("sales_order");
	relids[1] = tables.known ? tables.line_relid : IerpRelid("order_line");
	relids[2] = tables.known ? tables.reservation_relid : IerpRelid("reservation");
	for (i = 0; i < 3; i++)
		if (OidIsValid(relids[i]))
			LockRelationOid(relids[i], RowExclusiveLock);
	LearnTables();
	return tables.usable;
}

/*
 * OrderRefTaken: whether erp.sales_order holds (channel_id, external_ref),
 * committed or not (a dirty snapshot, as a unique check sees it).  The
 * caller owns the reference's lock tag, so no other capture of it is in
 * progress; a row found is a redelivery (or a writer outside this
 * extension), which the SQL path then handles as before.
 */
bool
OrderRefTaken(int64 channel_id, const char *external_ref)
{
	SnapshotData dirty;
	Relation	rel,
				idx;
	IndexScanDesc scan;
	ScanKeyData key[2];
	TupleTableSlot *slot;
	bool		found;

	LearnTables();
	InitDirtySnapshot(dirty);
	/*
	 * RowExclusiveLock on the table, the lock the order's insert takes next
	 * (one lock slot, not two); the index's lock is dropped after the look-up,
	 * the table's lock keeps the index in place.
	 */
	rel = table_open(tables.order_relid, RowExclusiveLock);
	idx = index_open(tables.ref_index, AccessShareLock);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(channel_id));
	ScanKeyEntryInitialize(&key[1], 0, 2, BTEqualStrategyNumber, InvalidOid, idx->rd_indcollation[1],
						   F_TEXTEQ, CStringGetTextDatum(external_ref));
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, idx, &dirty, 2, 0);
	index_rescan(scan, key, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, AccessShareLock);
	table_close(rel, NoLock);
	return found;
}

/* OrderRowsNextOrderId: the id of a new order, from erp.sales_order's identity sequence. */
int64
OrderRowsNextOrderId(void)
{
	LearnTables();
	return nextval_internal(tables.order_seq, false);
}

/*
 * OrderRowsPrice: text (a price order_input.c accepted, or an item's unit
 * price) as a value of the lines' numeric(14,2) column; false when it is
 * none (then the SQL path reports it as before).
 */
bool
OrderRowsPrice(const char *text, Datum *out)
{
	Datum		d;

	if (text == NULL || !IerpIsPrice(text))
		return false;
	LearnTables();
	d = DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid),
							Int32GetDatum(tables.price_typmod));
	if (numeric_is_nan(DatumGetNumeric(d)) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, d, DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))))
		return false;
	*out = d;
	return true;
}

/*
 * OrderRowsInsert: inserts a new order and its lines (their values as
 * given, order_id and timestamps added).  The lines' CHECK constraint
 * (order_line_quantities) is asserted first: a violation is a bug of the
 * caller, reported as one.
 */
void
OrderRowsInsert(const NewOrderRow *order, const NewLineRow *lines, int nlines)
{
	Relation	rel;
	Datum		values[Max(NCOLS(order_columns), NCOLS(line_columns))];
	bool		nulls[Max(NCOLS(order_columns), NCOLS(line_columns))];
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	HeapTuple	tup;
	int			i;

	LearnTables();
	if (!tables.usable)
		elog(ERROR, "inventory_erp: the order tables changed while order " INT64_FORMAT " was placed; retry",
			 order->order_id);
	if (order->external_ref[0] == '\0')
		elog(ERROR, "inventory_erp: an order without external_ref reached the order rows");
	for (i = 0; i < nlines; i++)
	{
		const NewLineRow *l = &lines[i];

		if (l->qty <= 0 || l->qty_allocated < 0 || l->qty_allocated > l->qty || l->qty_backordered < 0)
			elog(ERROR, "inventory_erp: order line %d of order " INT64_FORMAT " has impossible quantities",
				 l->line_no, order->order_id);
	}

	rel = table_open(tables.order_relid, RowExclusiveLock);
	memset(nulls, false, sizeof(nulls));
	values[0] = Int64GetDatum(order->order_id);
	values[1] = Int64GetDatum(order->channel_id);
	values[2] = CStringGetTextDatum(order->external_ref);
	values[3] = ObjectIdGetDatum(RowEnumLabel(tables.order_status_type, order->status));
	values[4] = Int32GetDatum(order->priority);
	values[5] = order->ship_to;
	nulls[5] = order->ship_to_null;
	values[6] = now;
	values[7] = now;
	values[8] = Int64GetDatum(order->customer_id);
	nulls[8] = order->customer_id == 0;
	values[9] = BoolGetDatum(order->ship_complete);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	RowInsert(rel, tup);
	heap_freetuple(tup);
	table_close(rel, NoLock);

	rel = table_open(tables.line_relid, RowExclusiveLock);
	for (i = 0; i < nlines; i++)
	{
		const NewLineRow *l = &lines[i];

		memset(nulls, false, sizeof(nulls));
		values[0] = Int64GetDatum(nextval_internal(tables.line_seq, false));
		values[1] = Int64GetDatum(order->order_id);
		values[2] = Int32GetDatum(l->line_no);
		values[3] = Int64GetDatum(l->item_id);
		values[4] = Int64GetDatum(l->qty);
		values[5] = l->unit_price;
		values[6] = Int64GetDatum(l->qty_allocated);
		values[7] = Int64GetDatum(l->qty_backordered);
		values[8] = Int64GetDatum(0);
		values[9] = ObjectIdGetDatum(RowEnumLabel(tables.line_status_type, l->status));
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		RowInsert(rel, tup);
		heap_freetuple(tup);
	}
	table_close(rel, NoLock);
	CommandCounterIncrement();
}

/* OrderRowsInsertReservations: inserts new reservations of order_id (each qty > 0, keys distinct). */
void
OrderRowsInsertReservations(int64 order_id, const NewReservationRow *rows, int n)
{
	Relation	rel;
	Datum		values[NCOLS(reservation_columns)];
	bool		nulls[NCOLS(reservation_columns)];
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	int			i;

	if (n == 0)
		return;
	LearnTables();
	if (!tables.usable)
		elog(ERROR, "inventory_erp: the order tables changed while order " INT64_FORMAT " was allocated; retry",
			 order_id);
	rel = table_open(tables.reservation_relid, RowExclusiveLock);
	for (i = 0; i < n; i++)
	{
		const NewReservationRow *r = &rows[i];
		HeapTuple	tup;

		if (r->qty <= 0)
			elog(ERROR, "inventory_erp: a reservation of order " INT64_FORMAT " line %d holds no units",
				 order_id, r->line_no);
		memset(nulls, false, sizeof(nulls));
		values[0] = Int64GetDatum(nextval_internal(tables.reservation_seq, false));
		values[1] = Int64GetDatum(order_id);
		values[2] = Int32GetDatum(r->line_no);
		values[3] = Int64GetDatum(r->item_id);
		values[4] = Int64GetDatum(r->node_id);
		values[5] = Int64GetDatum(r->lot_id);
		nulls[5] = r->lot_id == 0;
		values[6] = Int64GetDatum(r->qty);
		values[7] = Int64GetDatum(0);
		values[8] = Int64GetDatum(0);
		values[9] = now;
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		RowInsert(rel, tup);
		heap_freetuple(tup);
	}
	table_close(rel, NoLock);
	CommandCounterIncrement();
}
