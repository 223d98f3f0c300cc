/*-------------------------------------------------------------------------
 *
 * master_cache.c
 *	  Per-backend caches of the master data every call looks up by business
 *	  key: items by sku, nodes and channels by code.  A lookup that misses
 *	  reads the table (SPI) and remembers the row; an unknown key is never
 *	  remembered.  Each cached table has a statement trigger
 *	  (erp.reload_rules) that sends a relcache invalidation on every change;
 *	  every backend drops its copy of that table's rows when the
 *	  invalidation reaches it (at commit for others, at the next command for
 *	  the changing transaction itself, at abort for a rolled-back change).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "ierp.h"
#include "master_cache.h"

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
 * MasterItemLookup: the item of sku, or NULL when there is none.  The
 * result points into the cache: copy what you keep beyond the next lookup
 * or the next command.  Must run between SPI_connect and SPI_finish.
 */
const MasterItem *
MasterItemLookup(const char *sku)
{
	static SPIPlanPtr plan = NULL;
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

	IerpPlan(&plan, ITEM_COLUMNS " FROM erp.item i WHERE i.sku = $1", 1, (Oid[]) {TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {CStringGetTextDatum(sku)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: item lookup failed");
	if (SPI_processed == 0)
		return NULL;
	ItemFromRow(&item);
	/* the invalidation of a change may have dropped the table while SPI ran */
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
	static SPIPlanPtr plan = NULL;
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
	IerpPlan(&plan, ITEM_COLUMNS " FROM erp.item i WHERE i.item_id = $1", 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: item lookup failed");
	if (SPI_processed == 0)
		return NULL;
	ItemFromRow(&item);
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 11);
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
	RememberBySku(&item, name);
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
	IerpPlan(&plan,
			 "SELECT node_id, safety_stock, reorder_point FROM erp.stock_policy WHERE item_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read stock policies");
	old = MemoryContextSwitchTo(PoliciesContext());
	list = palloc0(sizeof(MasterPolicy) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		list[i].node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		list[i].safety_stock = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		list[i].reorder_point = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
	}
	MemoryContextSwitchTo(old);
	if (policies == NULL)
		policies = CreateIdTable("inventory_erp stock policies", sizeof(PolicyEntry));
	entry = hash_search(policies, &item_id, HASH_ENTER, &found);
	entry->n = (int) SPI_processed;
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
