/*-------------------------------------------------------------------------
 *
 * atp.c
 *	  Available-to-promise: what can still be promised of an item at a node
 *	  (or over all nodes) to a channel, and erp.atp().
 *
 *	  ATP(item, node, channel) = promisable available - safety stock
 *	                             - what other channels have ring-fenced,
 *	  never below 0, where promisable available leaves out lots with fewer
 *	  than the item's min_shelf_life_days left.  Over several nodes it is the
 *	  sum of the nodes' ATP: each node keeps the ring-fence back, as the
 *	  allocation engine does.  A partner role (erp.node_access) is promised
 *	  from its own nodes only.  A ring-fence of channel W is what W has
 *	  fenced less what W holds now: its orders' reservations and its
 *	  checkout holds' open lines whose TTL has not passed (an expired hold's
 *	  units are available again).  With a promise date and an item that
 *	  allows preorders, incoming and in-transit units count too.  A kit's
 *	  ATP at a node is the minimum over its components of floor(component
 *	  ATP / units per kit); over several nodes it is the sum of the nodes'
 *	  kit ATP, since one kit ships from one node.
 *
 *	  The allocation engine reads the same numbers through AtpLoadNodes().
 *	  erp.atp (and erp.promise, which asks it per node) also counts the
 *	  units of checkout holds whose TTL has passed as available
 *	  (HoldsAddExpired, hold_rows.c; in lots with enough shelf life only),
 *	  before erp.expire_holds gives them back; allocation gives them back
 *	  first (HoldsReleaseExpired).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "hold_rows.h"
#include "ierp.h"
#include "master_cache.h"
#include "stock/kernel.h"

IERP_OWNER_ENTRY(ierp_atp);

/*
 * Ring-fences of item $1 of the channels other than $2, less what each
 * channel holds of it now: its orders' reservations (h) and its checkout
 * holds' open lines whose TTL has not passed (k).  An expired hold's units
 * count as available again (HoldsAddExpired), so they no longer use up the
 * fence either.  Two pre-aggregated joins, each reading one item-distributed
 * table at item $1 joined to a reference table (routable on Citus).
 */
#define FENCE_SQL \
	"(SELECT COALESCE(sum(GREATEST(r.qty - COALESCE(h.qty, 0) - COALESCE(k.qty, 0), 0)), 0)::bigint" \
	"   FROM erp.channel_reserve r" \
	"   LEFT JOIN (SELECT o.channel_id, sum(v.qty) AS qty FROM erp.reservation v" \
	"                JOIN erp.sales_order o ON o.order_id = v.order_id" \
	"               WHERE v.item_id = $1 GROUP BY o.channel_id) h ON h.channel_id = r.channel_id" \
	"   LEFT JOIN (SELECT ch.channel_id, sum(hl.qty) AS qty FROM erp.checkout_hold_line hl" \
	"                JOIN erp.checkout_hold ch ON ch.hold_id = hl.hold_id" \
	"               WHERE hl.item_id = $1 AND hl.open AND hl.expires_at > pg_catalog.now()" \
	"               GROUP BY ch.channel_id) k ON k.channel_id = r.channel_id" \
	"  WHERE r.item_id = $1 AND r.channel_id <> $2)"

/*
 * AtpLoadNodes: one NodeStock per candidate node of item: the active nodes
 * linked to channel_id (or every active node when channel_id is 0), only
 * node_id when it is not 0; best rank first.  Returns how many.  Lots are
 * looked at only for lot-tracked items.  With with_inbound, inbound is what
 * open purchase orders bring to the node by promise_at, plus what is in
 * transit to it.  Every row also carries the ring-fences of the other
 * channels (FENCE_SQL) and the node's reorder point, read in the same
 * statement.
 */
/*
 * The common case without SPI statements: a plain item that no channel
 * ring-fences, promised from stock on hand.  Nodes, ranks and policies come
 * from the per-backend caches (master_cache.c), the units from the balances
 * themselves (StockItemByNode).  Same rows, in the same order, as the
 * statement below.
 */
static int
AtpLoadNodesCached(int64 item_id, int64 channel_id, int64 node_id, NodeStock **nodes)
{
	const MasterNode *cached;
	int			ncands = MasterChannelNodes(channel_id, &cached);
	MasterNode *cands = palloc(sizeof(MasterNode) * Max(ncands, 1));
	const MasterPolicy *pol;
	int			npol;
	StockNodeQty *stock;
	int			nstock;
	NodeStock  *out = palloc0(sizeof(NodeStock) * Max(ncands, 1));
	int			n = 0,
				i,
				k;

	/*
	 * The next lookup may take in an invalidation that frees the cached
	 * list: copy it (and its codes) first.
	 */
	for (k = 0; k < ncands; k++)
	{
		cands[k] = cached[k];
		cands[k].code = pstrdup(cached[k].code);
	}
	nstock = StockItemByNode(item_id, &stock);
	/* used at once below, before any other lookup */
	npol = MasterItemPolicies(item_id, &pol);

	for (i = 0; i < ncands; i++)
	{
		NodeStock  *ns;

		if (node_id != 0 && cands[i].node_id != node_id)
			continue;
		ns = &out[n++];
		ns->node_id = cands[i].node_id;
		ns->code = cands[i].code;
		ns->rank = cands[i].rank;
		ns->has_coords = cands[i].has_coords;
		ns->latitude = cands[i].latitude;
		ns->longitude = cands[i].longitude;
		for (k = 0; k < nstock; k++)
			if (stock[k].node_id == ns->node_id)
				ns->promisable = stock[k].qty[STATE_AVAILABLE];
		for (k = 0; k < npol; k++)
			if (pol[k].node_id == ns->node_id)
			{
				ns->safety_stock = pol[k].safety_stock;
				ns->reorder_point = pol[k].reorder_point;
			}
	}
	pfree(stock);
	*nodes = out;
	return n;
}

int
AtpLoadNodes(int64 item_id, bool lot_tracked, int32 min_shelf_life_days, bool with_inbound,
			 TimestampTz promise_at, int64 channel_id, int64 node_id, NodeStock **nodes)
{
	static SPIPlanPtr plans[2][2] = {{NULL, NULL}, {NULL, NULL}};
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID};
	SPIPlanPtr *plan = &plans[lot_tracked ? 1 : 0][with_inbound ? 1 : 0];
	Datum		values[5];
	NodeStock  *out;
	uint64		i;

	if (!lot_tracked && !with_inbound && !MasterItemFenced(item_id))
		return AtpLoadNodesCached(item_id, channel_id, node_id, nodes);
	if (*plan == NULL)
	{
		/*
		 * Per-node sums of the item's rows, joined to the nodes (not
		 * correlated subqueries per node: Citus refuses those next to
		 * reference tables); every distributed table is read at item $1.
		 */
		const char *available = lot_tracked
			? "  LEFT JOIN (SELECT s.node_id, sum(s.available) AS qty FROM erp.stock_slot s"
			"               JOIN erp.lot l ON l.item_id = s.item_id AND l.lot_id = s.lot_id"
			"              WHERE s.item_id = $1"
			"                AND ($4 = 0 OR l.expires_on IS NULL OR l.expires_on >= CURRENT_DATE + $4)"
			"              GROUP BY s.node_id) sa ON sa.node_id = n.node_id"
			: "  LEFT JOIN (SELECT s.node_id, sum(s.available) AS qty FROM erp.stock_slot s"
			"              WHERE s.item_id = $1 GROUP BY s.node_id) sa ON sa.node_id = n.node_id";
		const char *inbound_from = with_inbound
			? "  LEFT JOIN (SELECT po.node_id, sum(pl.qty - pl.qty_received) AS qty FROM erp.purchase_order_line pl"
			"               JOIN erp.purchase_order po ON po.purchase_order_id = pl.purchase_order_id"
			"              WHERE pl.item_id = $1 AND po.expected_at <= $5"
			"                AND po.status IN ('open', 'partially_received')"
			"              GROUP BY po.node_id) pi ON pi.node_id = n.node_id"
			"  LEFT JOIN (SELECT s.node_id, sum(s.in_transit) AS qty FROM erp.stock_slot s"
			"              WHERE s.item_id = $1 GROUP BY s.node_id) st ON st.node_id = n.node_id"
			: "";
		const char *inbound = with_inbound
			? "COALESCE(pi.qty, 0)::bigint + COALESCE(st.qty, 0)::bigint"
			: "0::bigint";

		IerpPlan(plan,
				 psprintf("SELECT n.node_id, COALESCE(cn.rank, 0), n.latitude, n.longitude,"
						  "  COALESCE(sa.qty, 0)::bigint,"
						  "  COALESCE(p.safety_stock, 0), %s, n.code, f.fence, COALESCE(p.reorder_point, 0)"
						  "  FROM (SELECT " FENCE_SQL " AS fence) f, erp.node n"
						  "  LEFT JOIN erp.channel_node cn ON cn.node_id = n.node_id AND cn.channel_id = $2"
						  "  LEFT JOIN erp.stock_policy p ON p.item_id = $1 AND p.node_id = n.node_id"
						  "%s%s"
						  " WHERE n.active AND ($2 = 0 OR cn.channel_id IS NOT NULL) AND ($3 = 0 OR n.node_id = $3)"
						  " ORDER BY COALESCE(cn.rank, 0), n.node_id",
						  inbound, available, inbound_from),
				 5, argtypes);
	}
	values[0] = Int64GetDatum(item_id);
	values[1] = Int64GetDatum(channel_id);
	values[2] = Int64GetDatum(node_id);
	values[3] = Int32GetDatum(min_shelf_life_days);
	values[4] = TimestampTzGetDatum(promise_at);
	if (SPI_execute_plan(*plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read stock by node");

	out = palloc0(sizeof(NodeStock) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		nlat,
					nlon,
					isnull;
		Datum		lat,
					lon;

		out[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		out[i].rank = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		lat = SPI_getbinval(tup, desc, 3, &nlat);
		lon = SPI_getbinval(tup, desc, 4, &nlon);
		out[i].has_coords = !nlat && !nlon;
		out[i].latitude = nlat ? 0 : DatumGetFloat8(lat);
		out[i].longitude = nlon ? 0 : DatumGetFloat8(lon);
		out[i].promisable = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		out[i].safety_stock = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		out[i].inbound = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		out[i].code = SPI_getvalue(tup, desc, 8);
		out[i].fence = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));
		out[i].reorder_point = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	}
	*nodes = out;
	return (int) SPI_processed;
}

/* AtpOfNode: what one node can promise once others' ring-fences are kept back. */
int64
AtpOfNode(const NodeStock *ns, int64 fence)
{
	return Max(ns->promisable - ns->safety_stock - fence, 0);
}

/*
 * AtpAddExpiredHolds: a hold never outlives its TTL in ATP, even before
 * erp.expire_holds runs: the units of item's expired, not yet released hold
 * lines count as promisable again at their node (HoldsAddExpired).  For a
 * lot-tracked item with a shelf-life floor, the units of such lines whose
 * lot has too little shelf life left are taken out again, as AtpLoadNodes
 * leaves those lots out (one statement, for such items only: they are read
 * by statement anyway).
 */
static void
AtpAddExpiredHolds(int64 item_id, bool lot_tracked, int32 min_shelf_life_days, NodeStock *nodes, int n)
{
	static SPIPlanPtr plan = NULL;
	uint64		i;
	int			k;

	HoldsAddExpired(item_id, nodes, n);
	if (!lot_tracked || min_shelf_life_days <= 0 || n == 0)
		return;
	IerpPlan(&plan,
			 "SELECT hl.node_id, sum(hl.qty)::bigint FROM erp.checkout_hold_line hl"
			 "  JOIN erp.lot l ON l.item_id = hl.item_id AND l.lot_id = hl.lot_id"
			 " WHERE hl.item_id = $1 AND hl.open AND hl.expires_at <= pg_catalog.now()"
			 "   AND l.expires_on < CURRENT_DATE + $2"
			 " GROUP BY hl.node_id",
			 2, (Oid[]) {INT8OID, INT4OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int32GetDatum(min_shelf_life_days)},
						 NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the lots of expired checkout holds");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		int64		qty = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

		for (k = 0; k < n; k++)
			if (nodes[k].node_id == node_id)
				nodes[k].promisable = Max(nodes[k].promisable - qty, 0);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ATP of a plain (non-kit) item over the given nodes. */
static int64
AtpOfItem(int64 item_id, bool lot_tracked, int32 min_shelf_life_days, bool with_inbound,
		  TimestampTz promise_at, int64 channel_id, int64 node_id)
{
	NodeStock  *nodes;
	int			n = AtpLoadNodes(item_id, lot_tracked, min_shelf_life_days, with_inbound,
								 promise_at, channel_id, node_id, &nodes);
	int64		fence = n > 0 ? nodes[0].fence : 0;
	int64		sum = 0;
	int			i;

	AtpAddExpiredHolds(item_id, lot_tracked, min_shelf_life_days, nodes, n);
	for (i = 0; i < n; i++)
		if (AccessNodeVisible(nodes[i].node_id))
			sum += AtpOfNode(&nodes[i], fence) + (with_inbound ? nodes[i].inbound : 0);
	pfree(nodes);
	return sum;
}

/*
 * erp.atp(sku, node, channel, at): available-to-promise.  Unknown sku, node
 * or channel: IE003; a code over 64 bytes or a promise date that is not a
 * finite time in the years 1970..9999: IE004.
 */
static Datum
ierp_atp_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr comp_plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *channel = IerpTextArg(fcinfo, 2);
	bool		has_date = !PG_ARGISNULL(3);
	TimestampTz promise_at = has_date ? PG_GETARG_TIMESTAMPTZ(3) : 0;
	ItemInfo	item;
	int64		node_id = 0;
	int64		channel_id = 0;
	int64		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node", IERP_MAX_KEY_LEN);
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	if (has_date)
		IerpCheckTimestamp(promise_at, "promise date");
	IerpLookupItem(sku, &item);
	if (node)
		node_id = IerpLookupNode(node);
	if (channel)
		channel_id = IerpLookupChannel(channel);

	if (!item.is_kit)
		result = AtpOfItem(item.item_id, item.lot_tracked, item.min_shelf_life_days,
						   has_date && item.allow_preorder, promise_at, channel_id, node_id);
	else
	{
		Datum		values[1];
		uint64		i,
					ncomp;
		int64	   *comp_item,
				   *comp_qty;
		int32	   *comp_shelf;
		bool	   *comp_pre;
		bool	   *comp_lot;

		IerpPlan(&comp_plan,
				 "SELECT c.component_item_id, c.qty, i.min_shelf_life_days, i.allow_preorder, i.lot_tracked"
				 "  FROM erp.item_component c JOIN erp.item i ON i.item_id = c.component_item_id"
				 " WHERE c.kit_item_id = $1 ORDER BY c.component_item_id",
				 1, argtypes);
		values[0] = Int64GetDatum(item.item_id);
		if (SPI_execute_plan(comp_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read kit components");
		ncomp = SPI_processed;
		comp_item = palloc(sizeof(int64) * ncomp);
		comp_qty = palloc(sizeof(int64) * ncomp);
		comp_shelf = palloc(sizeof(int32) * ncomp);
		comp_pre = palloc(sizeof(bool) * ncomp);
		comp_lot = palloc(sizeof(bool) * ncomp);
		for (i = 0; i < ncomp; i++)
		{
			bool		isnull;
			HeapTuple	tup = SPI_tuptable->vals[i];

			comp_item[i] = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			comp_qty[i] = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
			comp_shelf[i] = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
			comp_pre[i] = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull));
			comp_lot[i] = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 5, &isnull));
		}
		/* the candidate node set depends only on channel and node: rows align */
		{
			NodeStock **stock = palloc(sizeof(NodeStock *) * Max(ncomp, 1));
			int64	   *fence = palloc(sizeof(int64) * Max(ncomp, 1));
			int			nnodes = 0;
			int			n;

			for (i = 0; i < ncomp; i++)
			{
				nnodes = AtpLoadNodes(comp_item[i], comp_lot[i], comp_shelf[i], has_date && comp_pre[i],
									  promise_at, channel_id, node_id, &stock[i]);
				AtpAddExpiredHolds(comp_item[i], comp_lot[i], comp_shelf[i], stock[i], nnodes);
				fence[i] = nnodes > 0 ? stock[i][0].fence : 0;
			}
			result = 0;
			for (n = 0; n < nnodes && ncomp > 0; n++)
			{
				int64		kits = PG_INT64_MAX;

				if (!AccessNodeVisible(stock[0][n].node_id))
					continue;	/* a partner is promised from its own nodes */

				for (i = 0; i < ncomp; i++)
				{
					NodeStock  *ns = &stock[i][n];
					int64		atp = AtpOfNode(ns, fence[i]);

					if (has_date && comp_pre[i])
						atp += ns->inbound;
					kits = Min(kits, atp / comp_qty[i]);
				}
				result += kits;
			}
		}
	}
	SPI_finish();
	PG_RETURN_INT64(result);
}
