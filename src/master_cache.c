/*-------------------------------------------------------------------------
 *
 * master_cache.c
 *	  Per-backend caches of the master data every call looks up by business
 *	  key: items by sku, nodes and channels by code.  A lookup that misses
 *	  reads the table and remembers the row; an unknown key is never
 *	  remembered.  An item's or its policies' miss reads on one node
 *	  (StockDirectAccess) by index scans of erp.item, erp.item_component and
 *	  erp.stock_policy, with the snapshot and locks the SQL statement would
 *	  have taken, no executor; under Citus, or when a table is not laid out
 *	  as this file expects, through the SQL statement (SPI).  Every other
 *	  miss reads through SPI.  Each cached table has a statement trigger
 *	  (erp.reload_rules) that sends a relcache invalidation on every change;
 *	  every backend drops its copy of that table's rows when the
 *	  invalidation reaches it (at commit for others, at the next command for
 *	  the changing transaction itself, at abort for a rolled-back change).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ierp.h"
#include "master_cache.h"
#include "stock/slot_rows.h"

typedef struct ItemEntry
{
	char		sku[IERP_MAX_KEY_LEN + 1];	/* hash key */
	MasterItem	item;
} ItemEntry;

typedef struct ItemIdEntry
{
	int64		item_id;		/* hash key */
	MasterItem	item;
	char		sku[IERP_MAX_KEY_LEN + 1];
} ItemIdEntry;

typedef struct CodeEntry
{
	char		code[IERP_MAX_KEY_LEN + 1];	/* hash key */
	int64		id;
} CodeEntry;

typedef struct ChannelNodesEntry
{
	int64		channel_id;		/* hash key; 0: every active node */
	int			nnodes;
	MasterNode *nodes;			/* in nodes_cxt */
} ChannelNodesEntry;

typedef struct PolicyEntry
{
	int64		item_id;		/* hash key */
	int			n;
	MasterPolicy *policies;		/* in policies_cxt */
} PolicyEntry;

static HTAB *items = NULL;
static HTAB *items_by_id = NULL;
static HTAB *nodes = NULL;
static HTAB *channels = NULL;
static HTAB *channel_nodes = NULL;
static HTAB *policies = NULL;
static HTAB *fenced_items = NULL;	/* item ids with a ring-fence (erp.channel_reserve) */
static MemoryContext nodes_cxt = NULL;	/* the node lists of channel_nodes */
static MemoryContext policies_cxt = NULL;	/* the policy lists of policies */
/* the caches hold rows read under a transaction snapshot (REPEATABLE READ): dropped at its end */
static bool snapshot_fill = false;
static Oid	item_relid = InvalidOid;
static Oid	component_relid = InvalidOid;
static Oid	node_relid = InvalidOid;
static Oid	channel_relid = InvalidOid;
static Oid	channel_node_relid = InvalidOid;
static Oid	policy_relid = InvalidOid;
static Oid	reserve_relid = InvalidOid;

static void DirectForget(Oid relid);

static HTAB *
CreateTable(const char *name, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = IERP_MAX_KEY_LEN + 1;
	ctl.entrysize = entrysize;
	ctl.hcxt = CacheMemoryContext;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static HTAB *
CreateIdTable(const char *name, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(int64);
	ctl.entrysize = entrysize;
	ctl.hcxt = CacheMemoryContext;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
DropTable(HTAB **table)
{
	if (*table != NULL)
	{
		hash_destroy(*table);
		*table = NULL;
	}
}

static void
MasterCacheInvalidate(Datum arg, Oid relid)
{
	bool		ours = relid == InvalidOid || relid == item_relid || relid == component_relid ||
		relid == node_relid || relid == channel_relid || relid == channel_node_relid ||
		relid == policy_relid || relid == reserve_relid;

	if (relid == InvalidOid || relid == item_relid || relid == component_relid)
	{
		DropTable(&items);
		DropTable(&items_by_id);
	}
	if (relid == InvalidOid || relid == node_relid)
		DropTable(&nodes);
	if (relid == InvalidOid || relid == channel_relid)
		DropTable(&channels);
	if (relid == InvalidOid || relid == node_relid || relid == channel_node_relid)
	{
		DropTable(&channel_nodes);
		if (nodes_cxt != NULL)
			MemoryContextReset(nodes_cxt);
	}
	if (relid == InvalidOid || relid == policy_relid)
	{
		DropTable(&policies);
		if (policies_cxt != NULL)
			MemoryContextReset(policies_cxt);
	}
	if (relid == InvalidOid || relid == reserve_relid)
		DropTable(&fenced_items);
	DirectForget(relid);

	/*
	 * The tables may have been dropped and created anew (DROP and CREATE
	 * EXTENSION in one session): learn their OIDs again on the next lookup.
	 */
	if (ours)
		item_relid = InvalidOid;
}

/* At the end of a transaction that filled the caches under its own snapshot, drop them. */
static void
MasterCacheXactEnd(XactEvent event, void *arg)
{
	if (!snapshot_fill)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		MasterCacheInvalidate((Datum) 0, InvalidOid);
		snapshot_fill = false;
	}
}

/*
 * Every lookup starts here: it takes in the invalidations other sessions
 * committed since (so a cached row is never older than what a new statement
 * would read), learns the tables' OIDs once the schema exists, and, in a
 * transaction that reads under its own snapshot (REPEATABLE READ and up),
 * drops what was cached before so that what it caches is what its snapshot
 * sees; that is dropped again at the transaction's end.
 */
static void
LearnRelids(void)
{
	AcceptInvalidationMessages();
	if (IsolationUsesXactSnapshot() && !snapshot_fill)
	{
		MasterCacheInvalidate((Datum) 0, InvalidOid);
		snapshot_fill = true;
	}
	if (!OidIsValid(item_relid))
	{
		item_relid = IerpLocalRelid("item");
		component_relid = IerpLocalRelid("item_component");
		node_relid = IerpLocalRelid("node");
		channel_relid = IerpLocalRelid("channel");
		channel_node_relid = IerpLocalRelid("channel_node");
		policy_relid = IerpLocalRelid("stock_policy");
		reserve_relid = IerpLocalRelid("channel_reserve");
	}
}

/* ----------------------------------------------------------------
 * Direct reads of a miss (one node)
 * ----------------------------------------------------------------
 */

/*
 * The columns the direct reads use, where sql/install/03_master.sql puts
 * them; each table is compared with its list (name and type) when a backend
 * first opens it and after any invalidation of it.  A table that differs (a
 * release that moved a column, a DBA's new type) is read through SQL, which
 * finds its columns by name.
 */
#define Anum_item_item_id				1
#define Anum_item_sku					2
#define Anum_item_unit_price			7
#define Anum_item_lot_tracked			8
#define Anum_item_min_shelf_life_days	9
#define Anum_item_allow_backorder		10
#define Anum_item_allow_preorder		11
#define Anum_item_high_value			12
#define Anum_item_requires_qc			13
#define Anum_item_active				14
#define Anum_item_component_kit_item_id	2
#define Anum_stock_policy_item_id		2
#define Anum_stock_policy_node_id		3
#define Anum_stock_policy_safety_stock	4
#define Anum_stock_policy_reorder_point	5

typedef struct DirectColumn
{
	AttrNumber	attnum;
	const char *name;
	Oid			type;
} DirectColumn;

static const DirectColumn item_columns[] = {
	{Anum_item_item_id, "item_id", INT8OID},
	{Anum_item_sku, "sku", TEXTOID},
	{Anum_item_unit_price, "unit_price", NUMERICOID},
	{Anum_item_lot_tracked, "lot_tracked", BOOLOID},
	{Anum_item_min_shelf_life_days, "min_shelf_life_days", INT4OID},
	{Anum_item_allow_backorder, "allow_backorder", BOOLOID},
	{Anum_item_allow_preorder, "allow_preorder", BOOLOID},
	{Anum_item_high_value, "high_value", BOOLOID},
	{Anum_item_requires_qc, "requires_qc", BOOLOID},
	{Anum_item_active, "active", BOOLOID}
};
static const DirectColumn component_columns[] = {
	{Anum_item_component_kit_item_id, "kit_item_id", INT8OID}
};
static const DirectColumn policy_columns[] = {
	{Anum_stock_policy_item_id, "item_id", INT8OID},
	{Anum_stock_policy_node_id, "node_id", INT8OID},
	{Anum_stock_policy_safety_stock, "safety_stock", INT8OID},
	{Anum_stock_policy_reorder_point, "reorder_point", INT8OID}
};

/*
 * What a backend learnt of one table for its direct reads.  relid is the
 * table it was learnt of; InvalidOid (after a relcache invalidation of the
 * table or one of the indexes, or of all) means "learn it at the next open".
 */
typedef struct DirectTable
{
	Oid			relid;
	bool		usable;			/* columns as listed, the indexes below, no row security */
	Oid			key_index;		/* a btree index led by the key column */
	Oid			key_collation;	/* that column's collation (the index's) */
	Oid			id_index;		/* erp.item only: a btree index led by item_id */
} DirectTable;

static DirectTable item_direct;
static DirectTable component_direct;
static DirectTable policy_direct;

/* How a direct read ended: the row, no row, or not read (the caller runs the SQL statement). */
typedef enum DirectResult
{
	DIRECT_FOUND,
	DIRECT_NONE,
	DIRECT_USE_SQL
} DirectResult;

/* Forgets what was learnt of a table when it, one of its indexes, or everything is invalidated. */
static void
DirectInvalidate(DirectTable *t, Oid relid)
{
	if (relid == InvalidOid || relid == t->relid || relid == t->key_index || relid == t->id_index)
		t->relid = InvalidOid;
}

/* DirectForget: the relcache callback's part for the direct reads (from MasterCacheInvalidate). */
static void
DirectForget(Oid relid)
{
	DirectInvalidate(&item_direct, relid);
	DirectInvalidate(&component_direct, relid);
	DirectInvalidate(&policy_direct, relid);
}

/*
 * An index of rel whose first column is attnum, as is, in its type's default
 * btree operator family (the key columns are bigint or text, checked by
 * DirectLearn: integer_ops or text_ops, whose equality the scans' F_INT8EQ
 * and F_TEXTEQ are) and its collation, without predicate (a partial index
 * would miss rows): what an equality scan on that column alone may use.  A
 * unique one if there is one.  InvalidOid when none.
 */
static Oid
IndexLedBy(Relation rel, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	Oid			family = att->atttypid == INT8OID ? INTEGER_BTREE_FAM_OID :
		att->atttypid == TEXTOID ? TEXT_BTREE_FAM_OID : InvalidOid;
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;
	bool		found_unique = false;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ix = idx->rd_index;

		if (ix->indisvalid && ix->indisready && ix->indislive &&
			idx->rd_rel->relam == BTREE_AM_OID && ix->indkey.values[0] == attnum &&
			OidIsValid(family) && idx->rd_opfamily[0] == family &&
			idx->rd_indcollation[0] == att->attcollation &&
			heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			(!OidIsValid(found) || (ix->indisunique && !found_unique)))
		{
			found = RelationGetRelid(idx);
			found_unique = ix->indisunique;
		}
		index_close(idx, AccessShareLock);
	}
	list_free(indexes);
	return found;
}

/* Learns t of rel (opened by the caller): its columns against columns[], its indexes. */
static void
DirectLearn(Relation rel, DirectTable *t, const DirectColumn *columns, int ncolumns,
			AttrNumber key, AttrNumber id_key)
{
	TupleDesc	desc = RelationGetDescr(rel);
	DirectTable learnt;
	int			i;

	memset(&learnt, 0, sizeof(learnt));
	learnt.usable = !rel->rd_rel->relrowsecurity;
	for (i = 0; i < ncolumns && learnt.usable; i++)
	{
		Form_pg_attribute att;

		if (columns[i].attnum > desc->natts)
		{
			learnt.usable = false;
			break;
		}
		att = TupleDescAttr(desc, columns[i].attnum - 1);
		learnt.usable = !att->attisdropped && att->atttypid == columns[i].type &&
			strcmp(NameStr(att->attname), columns[i].name) == 0;
	}
	if (learnt.usable)
	{
		learnt.key_index = IndexLedBy(rel, key);
		learnt.key_collation = TupleDescAttr(desc, key - 1)->attcollation;
		learnt.id_index = id_key != InvalidAttrNumber ? IndexLedBy(rel, id_key) : InvalidOid;
		learnt.usable = OidIsValid(learnt.key_index) &&
			(id_key == InvalidAttrNumber || OidIsValid(learnt.id_index));
	}
	if (!learnt.usable)
		elog(DEBUG1, "inventory_erp: %s is read through SQL "
			 "(its columns, indexes or row security are not what master_cache.c reads directly)",
			 RelationGetRelationName(rel));
	learnt.relid = RelationGetRelid(rel);
	*t = learnt;
}

/*
 * Opens relid for a direct read with AccessShareLock, the lock the SQL
 * statement takes, held to the end of the transaction as the statement's
 * is.  The lock comes first: DDL committed meanwhile is taken in with it
 * (and none can commit before this transaction ends), so what is then
 * learnt, or was, describes the table as it is read.  NULL when the read
 * must go through SQL (the lock, when taken, is kept: the statement takes
 * it again).
 */
static Relation
DirectOpen(Oid relid, DirectTable *t, const DirectColumn *columns, int ncolumns,
		   AttrNumber key, AttrNumber id_key)
{
	Relation	rel;

	if (!OidIsValid(relid) || (rel = try_table_open(relid, AccessShareLock)) == NULL)
		return NULL;
	if (t->relid != relid)
		DirectLearn(rel, t, columns, ncolumns, key, id_key);
	if (!t->usable)
	{
		table_close(rel, NoLock);
		return NULL;
	}
	return rel;
}

/*
 * The snapshot a direct read uses: the one the SQL statement it replaces
 * would take.  SPI_execute_plan with read_only = false advances the command
 * counter (this command's own writes become visible, its invalidations are
 * taken in) and reads with GetTransactionSnapshot(): in READ COMMITTED a new
 * snapshot, taken after LearnRelids accepted the invalidations of others'
 * commits.  That matters: the snapshot of the calling statement (the active
 * one) may predate a commit whose invalidation was already taken in, and
 * the row would be cached as it was before that commit, with no
 * invalidation left to drop it.  In REPEATABLE READ and SERIALIZABLE the
 * transaction's snapshot, as the statement would read; the caches it fills
 * are dropped at its end (snapshot_fill).  GetLatestSnapshot() would be
 * wrong there: it sees commits the transaction must not.  Registered: the
 * caller unregisters it.
 */
static Snapshot
DirectSnapshot(void)
{
	CommandCounterIncrement();
	return RegisterSnapshot(GetTransactionSnapshot());
}

/*
 * Fills item from a tuple of erp.item (columns checked by DirectLearn), and
 * *sku with a palloc'd copy of its sku when sku is not NULL.  A NULL where
 * the table says NOT NULL reads as false or 0, as the SQL path's did.
 */
static void
ItemFromTuple(HeapTuple tup, TupleDesc desc, MasterItem *item, char **sku)
{
	bool		isnull;
	Datum		price;

	item->info.item_id = DatumGetInt64(heap_getattr(tup, Anum_item_item_id, desc, &isnull));
	item->info.lot_tracked = DatumGetBool(heap_getattr(tup, Anum_item_lot_tracked, desc, &isnull));
	item->info.min_shelf_life_days =
		DatumGetInt32(heap_getattr(tup, Anum_item_min_shelf_life_days, desc, &isnull));
	item->info.allow_backorder = DatumGetBool(heap_getattr(tup, Anum_item_allow_backorder, desc, &isnull));
	item->info.allow_preorder = DatumGetBool(heap_getattr(tup, Anum_item_allow_preorder, desc, &isnull));
	item->info.high_value = DatumGetBool(heap_getattr(tup, Anum_item_high_value, desc, &isnull));
	item->info.requires_qc = DatumGetBool(heap_getattr(tup, Anum_item_requires_qc, desc, &isnull));
	item->info.is_kit = false;
	item->active = DatumGetBool(heap_getattr(tup, Anum_item_active, desc, &isnull));
	price = heap_getattr(tup, Anum_item_unit_price, desc, &isnull);
	if (isnull)
		item->unit_price[0] = '\0';
	else
	{
		/* what unit_price::text gives: the type's output function */
		char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, price));

		strlcpy(item->unit_price, text, sizeof(item->unit_price));
		pfree(text);
	}
	if (sku != NULL)
		*sku = TextDatumGetCString(heap_getattr(tup, Anum_item_sku, desc, &isnull));
}

/* Whether erp.item_component (comp) has a row of kit item_id under snap: the EXISTS of ITEM_COLUMNS. */
static bool
KitProbe(Relation comp, int64 item_id, Snapshot snap)
{
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key, Anum_item_component_kit_item_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(item_id));
	scan = systable_beginscan(comp, component_direct.key_index, true, snap, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	return found;
}

/*
 * ItemReadDirect: the row of erp.item with sku (when sku is not NULL) or
 * with item_id, and whether it is a kit, read as the statement of
 * ItemReadSql would read it: both tables locked in its order, one snapshot
 * for both.  Each index is unlocked after its scan (systable_endscan): the
 * table's lock, held to commit, keeps it in place, and the order keeps
 * fewer of its sixteen fast-path lock slots than the statement, which held
 * its indexes' locks to commit too.  *name: the sku, as for ItemReadSql.
 */
static DirectResult
ItemReadDirect(const char *sku, int64 item_id, MasterItem *item, char **name)
{
	Relation	rel,
				comp;
	Snapshot	snap;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Datum		sku_datum = (Datum) 0;
	bool		found;

	rel = DirectOpen(item_relid, &item_direct, item_columns, lengthof(item_columns),
					 Anum_item_sku, Anum_item_item_id);
	if (rel == NULL)
		return DIRECT_USE_SQL;
	comp = DirectOpen(component_relid, &component_direct, component_columns, lengthof(component_columns),
					  Anum_item_component_kit_item_id, InvalidAttrNumber);
	if (comp == NULL)
	{
		table_close(rel, NoLock);
		return DIRECT_USE_SQL;
	}
	snap = DirectSnapshot();
	if (sku != NULL)
	{
		sku_datum = CStringGetTextDatum(sku);
		/* compared in the column's collation, as sku = $1 is */
		ScanKeyEntryInitialize(&key, 0, Anum_item_sku, BTEqualStrategyNumber, InvalidOid,
							   item_direct.key_collation, F_TEXTEQ, sku_datum);
	}
	else
		ScanKeyInit(&key, Anum_item_item_id, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(item_id));
	scan = systable_beginscan(rel, sku != NULL ? item_direct.key_index : item_direct.id_index, true,
							  snap, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	if (found)
		ItemFromTuple(tup, RelationGetDescr(rel), item, name);
	systable_endscan(scan);
	if (found)
		item->info.is_kit = KitProbe(comp, item->info.item_id, snap);
	UnregisterSnapshot(snap);
	if (sku_datum != (Datum) 0)
		pfree(DatumGetPointer(sku_datum));
	table_close(comp, NoLock);
	table_close(rel, NoLock);
	return found ? DIRECT_FOUND : DIRECT_NONE;
}

/*
 * PoliciesReadDirect: the stock policies of item_id into a list palloc'd
 * in the current context (*out; the count returned), read as the statement
 * of MasterItemPolicies would: erp.stock_policy locked to commit, its index
 * only for the scan.  -1 when the read must go through SQL.  (Not into the
 * cache's context: an invalidation taken in by the lock or the command
 * counter resets that context.)
 */
static int
PoliciesReadDirect(int64 item_id, MasterPolicy **out)
{
	Relation	rel;
	TupleDesc	desc;
	Snapshot	snap;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int			n = 0,
				max = 4;
	MasterPolicy *list;

	rel = DirectOpen(policy_relid, &policy_direct, policy_columns, lengthof(policy_columns),
					 Anum_stock_policy_item_id, InvalidAttrNumber);
	if (rel == NULL)
		return -1;
	desc = RelationGetDescr(rel);
	list = palloc0(sizeof(MasterPolicy) * max);
	snap = DirectSnapshot();
	ScanKeyInit(&key, Anum_stock_policy_item_id, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(item_id));
	scan = systable_beginscan(rel, policy_direct.key_index, true, snap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;

		if (n == max)
		{
			max *= 2;
			list = repalloc(list, sizeof(MasterPolicy) * max);
		}
		list[n].node_id = DatumGetInt64(heap_getattr(tup, Anum_stock_policy_node_id, desc, &isnull));
		list[n].safety_stock = DatumGetInt64(heap_getattr(tup, Anum_stock_policy_safety_stock, desc, &isnull));
		list[n].reorder_point = DatumGetInt64(heap_getattr(tup, Anum_stock_policy_reorder_point, desc, &isnull));
		n++;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, NoLock);
	*out = list;
	return n;
}

/* The columns both item lookups read, in the order ItemFromRow expects. */
#define ITEM_COLUMNS \
	"SELECT i.item_id, i.lot_tracked, i.min_shelf_life_days, i.allow_backorder," \
	"       i.allow_preorder, i.high_value, i.requires_qc," \
	"       EXISTS (SELECT 1 FROM erp.item_component c WHERE c.kit_item_id = i.item_id)," \
	"       i.active, i.unit_price::pg_catalog.text, i.sku"

/* Fills item from the first row of SPI's result of an ITEM_COLUMNS statement. */
static void
ItemFromRow(MasterItem *item)
{
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	Datum		price;

	item->info.item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	item->info.lot_tracked = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	item->info.min_shelf_life_days = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	item->info.allow_backorder = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	item->info.allow_preorder = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	item->info.high_value = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
	item->info.requires_qc = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
	item->info.is_kit = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
	item->active = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
	price = SPI_getbinval(tup, desc, 10, &isnull);
	if (isnull)
		item->unit_price[0] = '\0';
	else
		text_to_cstring_buffer(DatumGetTextPP(price), item->unit_price, sizeof(item->unit_price));
}

/*
 * The row one item look-up read answers the other as well: an order looks its
 * items up by sku (capture), then by id (the direct capture, allocation), and
 * a backend's first order of an item would otherwise read the same row twice.
 * Both tables are dropped together (MasterCacheInvalidate).
 */
static void
RememberById(const MasterItem *item, const char *sku)
{
	ItemIdEntry *entry;
	bool		found;

	if (items_by_id == NULL)
		items_by_id = CreateIdTable("inventory_erp items by id", sizeof(ItemIdEntry));
	entry = hash_search(items_by_id, &item->info.item_id, HASH_ENTER, &found);
	entry->item = *item;
	strlcpy(entry->sku, sku, sizeof(entry->sku));
}

static void
RememberBySku(const MasterItem *item, const char *sku)
{
	ItemEntry  *entry;
	bool		found;

	if (items == NULL)
		items = CreateTable("inventory_erp items", sizeof(ItemEntry));
	entry = hash_search(items, sku, HASH_ENTER, &found);
	entry->item = *item;
}

/*
 * ItemReadSql: ItemReadDirect's read through the SQL statement (Citus, or a
 * table this file does not know).  *name, when name is not NULL: the sku,
 * palloc'd in the current context.
 */
static bool
ItemReadSql(const char *sku, int64 item_id, MasterItem *item, char **name)
{
	static SPIPlanPtr by_sku = NULL;
	static SPIPlanPtr by_id = NULL;
	int			rc;

	if (sku != NULL)
	{
		IerpPlan(&by_sku, ITEM_COLUMNS " FROM erp.item i WHERE i.sku = $1", 1, (Oid[]) {TEXTOID});
		rc = SPI_execute_plan(by_sku, (Datum[]) {CStringGetTextDatum(sku)}, NULL, false, 1);
	}
	else
	{
		IerpPlan(&by_id, ITEM_COLUMNS " FROM erp.item i WHERE i.item_id = $1", 1, (Oid[]) {INT8OID});
		rc = SPI_execute_plan(by_id, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 1);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: item lookup failed");
	if (SPI_processed == 0)
		return false;
	ItemFromRow(item);
	if (name != NULL)
		*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 11);
	return true;
}

/*
 * ItemRead: the row of erp.item with sku (when not NULL) or item_id, read
 * directly on one node, else through SQL; false when there is none.
 */
static bool
ItemRead(const char *sku, int64 item_id, MasterItem *item, char **name)
{
	if (StockDirectAccess())
	{
		DirectResult r = ItemReadDirect(sku, item_id, item, name);

		if (r != DIRECT_USE_SQL)
			return r == DIRECT_FOUND;
	}
	return ItemReadSql(sku, item_id, item, name);
}

/*
 * MasterItemLookup: the item of sku, or NULL when there is none.  The
 * result points into the cache: copy what you keep beyond the next lookup
 * or the next command.  Must run between SPI_connect and SPI_finish.
 */
const MasterItem *
MasterItemLookup(const char *sku)
{
	ItemEntry  *entry;
	MasterItem	item;
	bool		found;

	if (strlen(sku) > IERP_MAX_KEY_LEN)
		return NULL;
	LearnRelids();
	if (items == NULL)
		items = CreateTable("inventory_erp items", sizeof(ItemEntry));
	entry = hash_search(items, sku, HASH_FIND, NULL);
	if (entry != NULL)
		return &entry->item;

	if (!ItemRead(sku, 0, &item, NULL))
		return NULL;
	/* the invalidation of a change may have dropped the table during the read */
	if (items == NULL)
		items = CreateTable("inventory_erp items", sizeof(ItemEntry));
	entry = hash_search(items, sku, HASH_ENTER, &found);
	entry->item = item;
	RememberById(&item, sku);
	return &entry->item;
}

/*
 * MasterItemById: the item with item_id and its sku (*sku points into the
 * cache, valid until the next lookup or command), or NULL when there is
 * none.  Must run between SPI_connect and SPI_finish.
 */
const MasterItem *
MasterItemById(int64 item_id, const char **sku)
{
	static MasterItem uncached;
	ItemIdEntry *entry;
	MasterItem	item;
	bool		found;
	char	   *name;

	LearnRelids();
	if (items_by_id == NULL)
		items_by_id = CreateIdTable("inventory_erp items by id", sizeof(ItemIdEntry));
	entry = hash_search(items_by_id, &item_id, HASH_FIND, NULL);
	if (entry != NULL)
	{
		*sku = entry->sku;
		return &entry->item;
	}
	if (!ItemRead(NULL, item_id, &item, &name))
		return NULL;
	if (strlen(name) > IERP_MAX_KEY_LEN)
	{
		/* an sku longer than any key this module accepts: answer it, do not keep it */
		uncached = item;
		*sku = name;
		return &uncached;
	}
	if (items_by_id == NULL)
		items_by_id = CreateIdTable("inventory_erp items by id", sizeof(ItemIdEntry));
	entry = hash_search(items_by_id, &item_id, HASH_ENTER, &found);
	entry->item = item;
	strlcpy(entry->sku, name, sizeof(entry->sku));
	pfree(name);
	RememberBySku(&item, entry->sku);
	*sku = entry->sku;
	return &entry->item;
}

/* A code lookup through one of the code caches; 0 when unknown. */
static int64
CodeLookup(HTAB **table, const char *name, SPIPlanPtr *plan, const char *sql, const char *code)
{
	CodeEntry  *entry;
	bool		found;
	bool		isnull;
	int64		id;

	if (strlen(code) > IERP_MAX_KEY_LEN)
		return 0;
	LearnRelids();
	if (*table == NULL)
		*table = CreateTable(name, sizeof(CodeEntry));
	entry = hash_search(*table, code, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->id;
	IerpPlan(plan, sql, 1, (Oid[]) {TEXTOID});
	if (SPI_execute_plan(*plan, (Datum[]) {CStringGetTextDatum(code)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: lookup of \"%s\" failed", code);
	if (SPI_processed == 0)
		return 0;
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (*table == NULL)
		*table = CreateTable(name, sizeof(CodeEntry));
	entry = hash_search(*table, code, HASH_ENTER, &found);
	entry->id = id;
	return id;
}

/* MasterNodeLookup: node_id of the node with code (active or not); 0 when unknown. */
int64
MasterNodeLookup(const char *code)
{
	static SPIPlanPtr plan = NULL;

	return CodeLookup(&nodes, "inventory_erp nodes", &plan,
					  "SELECT node_id FROM erp.node WHERE code = $1", code);
}

/* MasterChannelLookup: channel_id of the channel with code; 0 when unknown. */
int64
MasterChannelLookup(const char *code)
{
	static SPIPlanPtr plan = NULL;

	return CodeLookup(&channels, "inventory_erp channels", &plan,
					  "SELECT channel_id FROM erp.channel WHERE code = $1", code);
}

/* The memory contexts of the lists, created on first use. */
static MemoryContext
NodesContext(void)
{
	if (nodes_cxt == NULL)
		nodes_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp channel nodes",
										  ALLOCSET_SMALL_SIZES);
	return nodes_cxt;
}

static MemoryContext
PoliciesContext(void)
{
	if (policies_cxt == NULL)
		policies_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp stock policies",
											 ALLOCSET_DEFAULT_SIZES);
	return policies_cxt;
}

/*
 * MasterChannelNodes: the active nodes linked to channel_id (every active
 * node, rank 0, when channel_id is 0), best rank first, then by id, as
 * allocation and ATP consider them.  Sets *out to the cached array; returns
 * how many.  Must run between SPI_connect and SPI_finish.
 */
int
MasterChannelNodes(int64 channel_id, const MasterNode **out)
{
	static SPIPlanPtr plan = NULL;
	ChannelNodesEntry *entry;
	bool		found;
	MasterNode *list;
	uint64		i;
	MemoryContext old;

	LearnRelids();
	if (channel_nodes == NULL)
		channel_nodes = CreateIdTable("inventory_erp channel nodes", sizeof(ChannelNodesEntry));
	entry = hash_search(channel_nodes, &channel_id, HASH_FIND, NULL);
	if (entry != NULL)
	{
		*out = entry->nodes;
		return entry->nnodes;
	}
	IerpPlan(&plan,
			 "SELECT n.node_id, COALESCE(cn.rank, 0), n.latitude, n.longitude, n.code"
			 "  FROM erp.node n LEFT JOIN erp.channel_node cn ON cn.node_id = n.node_id AND cn.channel_id = $1"
			 " WHERE n.active AND ($1 = 0 OR cn.channel_id IS NOT NULL)"
			 " ORDER BY COALESCE(cn.rank, 0), n.node_id",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(channel_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the nodes of a channel");
	old = MemoryContextSwitchTo(NodesContext());
	list = palloc0(sizeof(MasterNode) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull,
					nlat,
					nlon;
		Datum		lat,
					lon;

		list[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		list[i].rank = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		lat = SPI_getbinval(tup, desc, 3, &nlat);
		lon = SPI_getbinval(tup, desc, 4, &nlon);
		list[i].has_coords = !nlat && !nlon;
		list[i].latitude = nlat ? 0 : DatumGetFloat8(lat);
		list[i].longitude = nlon ? 0 : DatumGetFloat8(lon);
		list[i].code = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
	}
	MemoryContextSwitchTo(old);
	if (channel_nodes == NULL)
		channel_nodes = CreateIdTable("inventory_erp channel nodes", sizeof(ChannelNodesEntry));
	entry = hash_search(channel_nodes, &channel_id, HASH_ENTER, &found);
	entry->nnodes = (int) SPI_processed;
	entry->nodes = list;
	*out = list;
	return entry->nnodes;
}

/*
 * MasterItemPolicies: the stock policies of item_id (safety stock and
 * reorder point per node); sets *out to the cached array, returns how
 * many.  Must run between SPI_connect and SPI_finish.
 */
int
MasterItemPolicies(int64 item_id, const MasterPolicy **out)
{
	static SPIPlanPtr plan = NULL;
	PolicyEntry *entry;
	bool		found;
	MasterPolicy *list;
	MasterPolicy *read;
	int			n;
	uint64		i;
	MemoryContext old;

	LearnRelids();
	if (policies == NULL)
		policies = CreateIdTable("inventory_erp stock policies", sizeof(PolicyEntry));
	entry = hash_search(policies, &item_id, HASH_FIND, NULL);
	if (entry != NULL)
	{
		*out = entry->policies;
		return entry->n;
	}
	n = StockDirectAccess() ? PoliciesReadDirect(item_id, &read) : -1;
	if (n >= 0)
	{
		list = MemoryContextAllocZero(PoliciesContext(), sizeof(MasterPolicy) * Max(n, 1));
		memcpy(list, read, sizeof(MasterPolicy) * n);
		pfree(read);
	}
	else
	{
		IerpPlan(&plan,
				 "SELECT node_id, safety_stock, reorder_point FROM erp.stock_policy WHERE item_id = $1",
				 1, (Oid[]) {INT8OID});
		if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read stock policies");
		old = MemoryContextSwitchTo(PoliciesContext());
		list = palloc0(sizeof(MasterPolicy) * Max(SPI_processed, 1));
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			list[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			list[i].safety_stock = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			list[i].reorder_point = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		}
		MemoryContextSwitchTo(old);
		n = (int) SPI_processed;
	}
	if (policies == NULL)
		policies = CreateIdTable("inventory_erp stock policies", sizeof(PolicyEntry));
	entry = hash_search(policies, &item_id, HASH_ENTER, &found);
	entry->n = n;
	entry->policies = list;
	*out = list;
	return entry->n;
}

/*
 * MasterItemFenced: whether some channel ring-fences units of item_id
 * (erp.channel_reserve).  Must run between SPI_connect and SPI_finish.
 */
bool
MasterItemFenced(int64 item_id)
{
	LearnRelids();
	if (fenced_items == NULL)
	{
		HTAB	   *set = CreateIdTable("inventory_erp fenced items", sizeof(int64));
		uint64		i;

		if (SPI_execute("SELECT DISTINCT item_id FROM erp.channel_reserve", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read ring-fences");
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

			(void) hash_search(set, &id, HASH_ENTER, NULL);
		}
		fenced_items = set;
	}
	return hash_search(fenced_items, &item_id, HASH_FIND, NULL) != NULL;
}

/* MasterCacheInit: registers the invalidation callback (from _PG_init). */
void
MasterCacheInit(void)
{
	IerpRegisterRelcacheCallback(MasterCacheInvalidate, (Datum) 0);
	RegisterXactCallback(MasterCacheXactEnd, NULL);
}
