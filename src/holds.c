/*-------------------------------------------------------------------------
 *
 * holds.c
 *	  Timed checkout holds (issue 16 item 4, SPEC 12, doc/warehouse.md
 *	  "Checkout holds"): erp.hold(), erp.expire_holds(), erp.release_hold().
 *	  The conversion of a hold into an order (capture_order's hold_ref) is
 *	  hold_convert.c's; its rows, their giving back, and what erp.atp and
 *	  allocation ask of expired holds are hold_rows.c's.
 *
 *	  A hold is a document like an order: it reserves units through the
 *	  stock kernel (available -> reserved, event allocate, ref "hold:<id>",
 *	  STOCK_TAKE_UP_TO above safety stock and the other channels'
 *	  ring-fences) at the channel's nodes in rank order, one node for the
 *	  whole line when one can, else several; a lot-tracked item first
 *	  expiry first from lots with enough shelf life, in and outside bins,
 *	  exactly as allocation takes it (StockLotsFefo), each hold line naming
 *	  its lot, which the order's reservation keeps on conversion.  A kit
 *	  line holds its components as allocation reserves a kit line: whole
 *	  kits, every component of a kit at one node (the first node by rank
 *	  whose kit ATP covers the line, else whole kits node by node), each
 *	  component in item id order (the kernel's), one hold line per
 *	  component, node and lot naming the kit (kit_item_id); its conversion
 *	  hands those units to the order's kit lines (hold_convert.c).  All or
 *	  nothing: a hold that cannot get every unit is refused (IE001) and
 *	  reserves nothing.  What it
 *	  reserved is in erp.checkout_hold_line (item_id, hold_line_id), open
 *	  while the hold is held; every statement on it names its items.
 *
 *	  Giving back (expiry, release, allocation's hook) is a kernel batch of
 *	  reserved -> available (event release, STOCK_TAKE_HELD: the document
 *	  vouches for its units, so the take never waits out of the lock order).
 *	  A conversion moves no stock: the units stay reserved and the order's
 *	  reservations take over the hold lines, so no concurrent order can get
 *	  them in between.
 *
 *	  Refuses: an unknown channel, sku or hold (IE003); a bad quantity,
 *	  lines, cart_ref or ttl, kits x a component's units per kit beyond
 *	  bigint (IE004); too little stock (IE001); a kit without
 *	  components, a cart held before with other lines, a hold of another
 *	  channel, expired, converted or released, lines of an order
 *	  that do not cover the hold (each held kit: its kits on the order's
 *	  lines of that kit), an order that arrives on hold or ships
 *	  complete (IE010); a partner's channel it does not serve, or a hold
 *	  with units at another's node (IE009).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "access/xact.h"
#include "common/int.h"

#include "hold_rows.h"
#include "holds.h"
#include "master_cache.h"
#include "order_document.h"
#include "pick_scan.h"
#include "stock/kernel.h"

IERP_OWNER_ENTRY(ierp_holds_hold);
IERP_OWNER_ENTRY(ierp_holds_expire);
IERP_OWNER_ENTRY(ierp_holds_release);

#define HOLD_MAX_CART_REF	255
#define HOLD_MAX_LINES		1000
/* the longest ttl a checkout may ask for */
#define HOLD_MAX_TTL_USECS	USECS_PER_DAY

/* A component of a kit line, as erp.item_component gives it. */
typedef struct HoldComponent
{
	int64		item_id;
	int64		per_kit;		/* its units in one kit */
	int32		min_shelf_life_days;
	bool		lot_tracked;
} HoldComponent;

/* One line of erp.hold's argument. */
typedef struct HoldAsk
{
	char	   *sku;
	int64		item_id;
	int64		qty;			/* units, or kits of a kit */
	int32		min_shelf_life_days;
	bool		lot_tracked;	/* reserved first expiry first, its lines name their lots */
	int			ncomp;			/* a kit: its components by item id (the kernel's order); 0: not a kit */
	HoldComponent *comps;
} HoldAsk;

/* One take of a component or item at a node: a lot (0: none) and its units. */
typedef struct HoldTake
{
	int64		lot_id;
	int64		qty;
} HoldTake;

/*
 * KitComponents: the components of kit ask (by item id, the kernel's
 * order), each checked: kits x its units per kit fits a bigint (IE004;
 * above IERP_MAX_MOVE_QTY is fine, as for allocation's kit lines: the
 * kernel does not bound a document's moves).  A kit without components is
 * refused (IE010): there is nothing to hold.
 */
static void
KitComponents(HoldAsk *ask, const char *cart_ref)
{
	static SPIPlanPtr plan = NULL;
	uint64		i,
				n;

	IerpPlan(&plan,
			 "SELECT c.component_item_id, c.qty, i.min_shelf_life_days, i.lot_tracked"
			 "  FROM erp.item_component c JOIN erp.item i ON i.item_id = c.component_item_id"
			 " WHERE c.kit_item_id = $1 ORDER BY c.component_item_id",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(ask->item_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read kit components");
	n = SPI_processed;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("kit \"%s\" of hold \"%s\" has no components", ask->sku, cart_ref),
				 errdetail("A kit line holds its components; nothing was held.")));
	ask->comps = palloc(sizeof(HoldComponent) * n);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		ask->comps[i].item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		ask->comps[i].per_kit = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		ask->comps[i].min_shelf_life_days = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		ask->comps[i].lot_tracked = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	}
	ask->ncomp = (int) n;
	SPI_freetuptable(SPI_tuptable);
	for (i = 0; i < n; i++)
	{
		int64		units;

		/* a document's move may carry more than IERP_MAX_MOVE_QTY, as allocation's kit lines do */
		if (ask->comps[i].per_kit <= 0 || pg_mul_s64_overflow(ask->qty, ask->comps[i].per_kit, &units))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("cannot hold " INT64_FORMAT " kits \"%s\" for cart \"%s\": too many units of sku \"%s\"",
							ask->qty, ask->sku, cart_ref, IerpItemSku(ask->comps[i].item_id)),
					 errdetail("Kits x a component's units per kit must fit a bigint; nothing was held.")));
	}
}

/*
 * ReadAsk: erp.hold's lines, [{"sku": "A-1", "qty": 2}, ...], 1 to
 * HOLD_MAX_LINES of them; each sku resolved once (IE003 unknown), each qty
 * whole units in 1..IERP_MAX_MOVE_QTY (IE004); a kit's qty counts kits, and
 * its components are read (KitComponents); a lot-tracked item is held first
 * expiry first, as allocation reserves it.
 */
static int
ReadAsk(Jsonb *lines, const char *cart_ref, HoldAsk **out)
{
	int			n,
				i;
	HoldAsk    *ask;

	if (lines == NULL || !JB_ROOT_IS_ARRAY(lines) || JB_ROOT_IS_SCALAR(lines))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("the lines of hold \"%s\" are not a JSON array", cart_ref),
				 errhint("Pass [{\"sku\": \"A-1\", \"qty\": 2}].")));
	n = JsonContainerSize(&lines->root);
	if (n == 0 || n > HOLD_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("hold \"%s\" has %d lines", cart_ref, n),
				 errdetail("A hold has 1 to %d lines.", HOLD_MAX_LINES)));
	ask = palloc0(sizeof(HoldAsk) * n);
	for (i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&lines->root, i);
		JsonbValue	v;
		char	   *qty_text;
		ItemInfo	item;

		if (elem == NULL || elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("line %d of hold \"%s\" is not a JSON object", i + 1, cart_ref)));
		if (getKeyJsonValueFromContainer(elem->val.binary.data, "sku", 3, &v) == NULL || v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("line %d of hold \"%s\" has no sku", i + 1, cart_ref)));
		ask[i].sku = pnstrdup(v.val.string.val, v.val.string.len);
		IerpLookupItem(ask[i].sku, &item);
		if (getKeyJsonValueFromContainer(elem->val.binary.data, "qty", 3, &v) == NULL)
			qty_text = NULL;
		else if (v.type == jbvNumeric)
			qty_text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		else if (v.type == jbvString)
			qty_text = pnstrdup(v.val.string.val, Min(v.val.string.len, 64));
		else
			qty_text = "";
		ask[i].qty = IerpParseQuantity(qty_text, ask[i].sku);
		/* {"uom": "case"}: qty counts packs, as on an order line; the hold keeps units */
		if (getKeyJsonValueFromContainer(elem->val.binary.data, "uom", 3, &v) != NULL && v.type != jbvNull)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_INVALID_QUANTITY),
						 errmsg("line %d of hold \"%s\": uom is a JSON %s", i + 1, cart_ref, JsonbTypeName(&v)),
						 errdetail("A uom is a JSON string: each, inner, case or pallet (erp.item_uom).")));
			ask[i].qty = PackTotal(ask[i].qty,
								   PackUnitsOfUom(item.item_id, ask[i].sku,
												  pnstrdup(v.val.string.val, Min(v.val.string.len, IERP_MAX_KEY_LEN + 1))),
								   ask[i].sku, "a hold line");
		}
		ask[i].item_id = item.item_id;
		ask[i].min_shelf_life_days = item.min_shelf_life_days;
		ask[i].lot_tracked = item.lot_tracked;
		if (item.is_kit)
			KitComponents(&ask[i], cart_ref);
	}
	*out = ask;
	return n;
}

/* The lines as stored in erp.checkout_hold.lines. */
static char *
AskJson(const HoldAsk *ask, int n)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	appendStringInfoChar(&s, '[');
	for (i = 0; i < n; i++)
		appendStringInfo(&s, "%s{\"sku\": %s, \"item_id\": " INT64_FORMAT ", \"qty\": " INT64_FORMAT "}",
						 i > 0 ? ", " : "", IerpJsonQuote(ask[i].sku), ask[i].item_id, ask[i].qty);
	appendStringInfoChar(&s, ']');
	return s.data;
}

/* Refuses (IE004) a ttl that is not more than 0 and at most HOLD_MAX_TTL_USECS. */
static void
CheckTtl(const Interval *ttl, const char *cart_ref)
{
	/* days of 24 hours; a month has no fixed length and is over the bound anyway */
	double		usecs = (double) ttl->day * (double) USECS_PER_DAY + (double) ttl->time;

	if (ttl->month != 0 || !(usecs > 0) || usecs > (double) HOLD_MAX_TTL_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid ttl %s for hold \"%s\"",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(ttl))), cart_ref),
				 errdetail("A checkout hold lasts more than 0 and at most 1 day.")));
}

/* The held, unexpired hold of (channel, cart_ref), locked; 0 when none (an expired one is given back). */
static int64
OpenHoldOf(int64 channel_id, const char *cart_ref, HoldRow *row)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	int64		hold_id;

	IerpPlan(&plan,
			 "SELECT hold_id FROM erp.checkout_hold WHERE channel_id = $1 AND cart_ref = $2 AND status = 'held'",
			 2, (Oid[]) {INT8OID, TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(channel_id), CStringGetTextDatum(cart_ref)},
						 NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read checkout holds");
	if (SPI_processed == 0)
		return 0;
	hold_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!LockHold(hold_id, false, row) || strcmp(row->status, "held") != 0)
		return 0;
	if (row->expired)
	{
		/* its TTL passed: it is gone for the shopper; the cart starts a new hold */
		(void) HoldGiveBack(hold_id, row->items, "expired", false);
		return 0;
	}
	return hold_id;
}

/* Records one take of a hold (item, node, lot or 0, units, its kit or 0) as an open hold line. */
static void
HoldLineAdd(int64 hold_id, int64 item_id, int64 kit_item_id, int64 node_id, int64 lot_id, int64 qty,
			TimestampTz expires_at)
{
	static SPIPlanPtr plan = NULL;

	IerpPlan(&plan,
			 "INSERT INTO erp.checkout_hold_line (item_id, hold_id, node_id, lot_id, qty, expires_at, kit_item_id)"
			 " VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6, NULLIF($7, 0))",
			 7, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID});
	if (SPI_execute_plan(plan,
						 (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(hold_id), Int64GetDatum(node_id),
							 Int64GetDatum(lot_id), Int64GetDatum(qty), TimestampTzGetDatum(expires_at),
						 Int64GetDatum(kit_item_id)},
						 NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cannot record hold " INT64_FORMAT, hold_id);
}

/*
 * TakeUnits: takes up to want units of an item at one node for hold ref,
 * keeping floor units back: a plain item in one STOCK_TAKE_UP_TO move; a
 * lot-tracked one first expiry first from lots with enough shelf life, in
 * and outside bins, exactly as allocation reserves it (StockLotsFefo, then
 * a STOCK_TAKE_ALL move per lot).  *takes: what it took, per lot (0: none),
 * in the order taken (at most one without lots).  Returns the units taken.
 */
static int64
TakeUnits(const char *ref, int64 item_id, bool lot_tracked, int32 min_shelf_life_days, int64 node_id,
		  int64 want, int64 floor, HoldTake **takes, int *ntakes)
{
	StockMove	m;

	memset(&m, 0, sizeof(m));
	m.item_id = item_id;
	m.from_node_id = node_id;
	m.from_state = STATE_AVAILABLE;
	m.to_node_id = node_id;
	m.to_state = STATE_RESERVED;
	m.event = "allocate";
	m.ref = ref;
	if (lot_tracked)
	{
		StockLotTake *parts;
		int			nparts,
					l;
		bool		contended;
		int64		got = StockLotsFefo(item_id, node_id, min_shelf_life_days, want, floor,
										&parts, &nparts, &contended);

		*takes = palloc(sizeof(HoldTake) * Max(nparts, 1));
		for (l = 0; l < nparts; l++)
		{
			m.lot_id = parts[l].lot_id;
			m.qty = parts[l].qty;
			m.take = STOCK_TAKE_ALL;
			m.floor = 0;
			StockApply(&m, 1, STOCK_DOCUMENT);
			(*takes)[l].lot_id = parts[l].lot_id;
			(*takes)[l].qty = parts[l].qty;
		}
		*ntakes = nparts;
		pfree(parts);
		return got;
	}
	m.qty = want;
	m.take = STOCK_TAKE_UP_TO;
	m.floor = floor;
	StockApply(&m, 1, STOCK_DOCUMENT);
	*takes = palloc(sizeof(HoldTake));
	(*takes)[0].lot_id = 0;
	(*takes)[0].qty = m.taken;
	*ntakes = m.taken > 0 ? 1 : 0;
	return m.taken;
}

/* Takes up to want units of ask's (plain) item at one node, each take a hold line; returns the units. */
static int64
TakeAtNode(int64 hold_id, const char *ref, const HoldAsk *ask, int64 node_id, int64 want, int64 floor,
		   TimestampTz expires_at)
{
	HoldTake   *takes;
	int			ntakes,
				l;
	int64		got = TakeUnits(ref, ask->item_id, ask->lot_tracked, ask->min_shelf_life_days, node_id, want, floor,
								&takes, &ntakes);

	for (l = 0; l < ntakes; l++)
		HoldLineAdd(hold_id, ask->item_id, 0, node_id, takes[l].lot_id, takes[l].qty, expires_at);
	pfree(takes);
	return got;
}

/*
 * The order in which a hold line visits the channel's n nodes (indexes in
 * rank order): the node first that covers the whole line (first, or -1 for
 * none), then the others by rank, as allocation plans a line.
 */
static int *
NodesCoveringFirst(int n, int first)
{
	int		   *order = palloc(sizeof(int) * Max(n, 1));
	int			j = 0,
				k;

	if (first >= 0)
		order[j++] = first;
	for (k = 0; k < n; k++)
		if (k != first)
			order[j++] = k;
	return order;
}

/*
 * TakeForLine: reserves ask's units at the channel's nodes for hold ref:
 * the first node by rank whose ATP covers the whole line, else node by
 * node in rank order, each above safety stock and the other channels'
 * ring-fences (TakeAtNode).  ATP of a lot-tracked item counts the lots with
 * enough shelf life only, as allocation takes them.  Returns the units
 * taken (the caller refuses a shortfall).
 */
static int64
TakeForLine(int64 hold_id, const char *ref, int64 channel_id, const HoldAsk *ask, TimestampTz expires_at)
{
	NodeStock  *nodes;
	int			n,
				k,
				j,
				first = -1;
	int		   *order;
	int64		fence,
				got = 0;

	HoldsReleaseExpired(ask->item_id);
	n = AtpLoadNodes(ask->item_id, ask->lot_tracked, ask->min_shelf_life_days, false, 0, channel_id, 0, &nodes);
	fence = n > 0 ? nodes[0].fence : 0;
	for (k = 0; k < n && first < 0; k++)
		if (AccessNodeVisible(nodes[k].node_id) && AtpOfNode(&nodes[k], fence) >= ask->qty)
			first = k;
	/* the node that covers the line first, then the others by rank (a short take goes on) */
	order = NodesCoveringFirst(n, first);
	for (j = 0; j < n && got < ask->qty; j++)
	{
		k = order[j];
		if (!AccessNodeVisible(nodes[k].node_id) || AtpOfNode(&nodes[k], fence) <= 0)
			continue;
		got += TakeAtNode(hold_id, ref, ask, nodes[k].node_id, ask->qty - got,
						  nodes[k].safety_stock + fence, expires_at);
	}
	pfree(order);
	return got;
}

/*
 * TakeKitsAtNode: takes up to want whole kits of kit line ask at node index
 * k (stock[c][k] is component c there, fence[c] the other channels'
 * ring-fences of it): each component in item id order (the kernel's order,
 * as allocation's FillLineAt) through TakeUnits above its floor; then the
 * kits every component got (filled) stay, and what a component got beyond
 * them goes back at once (reserved -> available, STOCK_TAKE_HELD, its last
 * lot first, as allocation's ReleaseReserved).  What stays is recorded as
 * hold lines naming the kit.  Returns the kits taken.
 */
static int64
TakeKitsAtNode(int64 hold_id, const char *ref, const HoldAsk *ask, NodeStock **stock, const int64 *fence,
			   int k, int64 want, TimestampTz expires_at)
{
	int			nc = ask->ncomp;
	HoldTake  **takes = palloc(sizeof(HoldTake *) * nc);
	int		   *ntakes = palloc(sizeof(int) * nc);
	int64	   *got = palloc(sizeof(int64) * nc);
	int64		filled = want;
	int64		node_id = stock[0][k].node_id;
	int			c,
				l;

	for (c = 0; c < nc; c++)
	{
		const HoldComponent *hc = &ask->comps[c];

		got[c] = TakeUnits(ref, hc->item_id, hc->lot_tracked, hc->min_shelf_life_days, node_id,
						   want * hc->per_kit, stock[c][k].safety_stock + fence[c], &takes[c], &ntakes[c]);
		filled = Min(filled, got[c] / hc->per_kit);
	}
	for (c = 0; c < nc; c++)
	{
		const HoldComponent *hc = &ask->comps[c];
		int64		surplus = got[c] - filled * hc->per_kit;

		for (l = ntakes[c] - 1; l >= 0 && surplus > 0; l--)
		{
			StockMove	m;
			int64		part = Min(surplus, takes[c][l].qty);

			memset(&m, 0, sizeof(m));
			m.item_id = hc->item_id;
			m.lot_id = takes[c][l].lot_id;
			m.qty = part;
			m.from_node_id = node_id;
			m.from_state = STATE_RESERVED;
			m.to_node_id = node_id;
			m.to_state = STATE_AVAILABLE;
			m.event = "release";
			m.ref = ref;
			m.take = STOCK_TAKE_HELD;
			StockApply(&m, 1, STOCK_DOCUMENT);
			takes[c][l].qty -= part;
			surplus -= part;
		}
		for (l = 0; l < ntakes[c]; l++)
			if (takes[c][l].qty > 0)
				HoldLineAdd(hold_id, hc->item_id, ask->item_id, node_id, takes[c][l].lot_id, takes[c][l].qty,
							expires_at);
		pfree(takes[c]);
	}
	pfree(takes);
	pfree(ntakes);
	pfree(got);
	return filled;
}

/*
 * TakeForKit: reserves ask's kits at the channel's nodes for hold ref, as
 * allocation reserves a kit line: whole kits, every component of a kit at
 * one node.  A node's kit ATP is the minimum over the components of
 * floor(component ATP / units per kit), each component's ATP above its
 * safety stock and the other channels' ring-fences (as erp.atp of the
 * kit).  The first node by rank whose kit ATP covers the line takes it
 * whole; else whole kits node by node in rank order, as a plain line.
 * Expired holds of each component give their units back first.  Returns
 * the kits taken (the caller refuses a shortfall: a kit whose components
 * lie at different nodes only gets none).
 */
static int64
TakeForKit(int64 hold_id, const char *ref, int64 channel_id, const HoldAsk *ask, TimestampTz expires_at)
{
	int			nc = ask->ncomp;
	NodeStock **stock = palloc(sizeof(NodeStock *) * nc);
	int64	   *fence = palloc(sizeof(int64) * nc);
	int64	   *kits;
	int		   *order;
	int			n = 0,
				c,
				k,
				j,
				first = -1;
	int64		got = 0;

	for (c = 0; c < nc; c++)
		HoldsReleaseExpired(ask->comps[c].item_id);
	for (c = 0; c < nc; c++)
	{
		const HoldComponent *hc = &ask->comps[c];
		int			nn = AtpLoadNodes(hc->item_id, hc->lot_tracked, hc->min_shelf_life_days, false, 0,
									  channel_id, 0, &stock[c]);

		fence[c] = nn > 0 ? stock[c][0].fence : 0;
		if (c == 0)
			n = nn;
		else
		{
			/*
			 * The candidate nodes depend on the channel only, so the rows
			 * align; should the channel's nodes change between two reads
			 * (each statement reads afresh), align by node: a node missing
			 * for a component has none of it.
			 */
			NodeStock  *al = palloc0(sizeof(NodeStock) * Max(n, 1));
			int			m;

			for (k = 0; k < n; k++)
			{
				al[k].node_id = stock[0][k].node_id;
				for (m = 0; m < nn; m++)
					if (stock[c][m].node_id == al[k].node_id)
						al[k] = stock[c][m];
			}
			stock[c] = al;
		}
	}
	kits = palloc0(sizeof(int64) * Max(n, 1));
	for (k = 0; k < n; k++)
	{
		if (!AccessNodeVisible(stock[0][k].node_id))
			continue;			/* a partner holds at its own nodes */
		kits[k] = PG_INT64_MAX;
		for (c = 0; c < nc; c++)
			kits[k] = Min(kits[k], AtpOfNode(&stock[c][k], fence[c]) / ask->comps[c].per_kit);
		if (first < 0 && kits[k] >= ask->qty)
			first = k;
	}
	order = NodesCoveringFirst(n, first);
	for (j = 0; j < n && got < ask->qty; j++)
	{
		k = order[j];
		if (kits[k] <= 0)
			continue;
		/* the kits the node promises, no more (as allocation's plan): a surplus only under contention */
		got += TakeKitsAtNode(hold_id, ref, ask, stock, fence, k, Min(ask->qty - got, kits[k]), expires_at);
	}
	pfree(order);
	pfree(kits);
	return got;
}

/*
 * erp.hold(channel, cart_ref, lines, ttl): see the file header.  A retry of
 * a held cart returns its hold when the lines are the same (IE010 when
 * not); a cart whose hold expired, converted or was released starts a new
 * hold.
 */
static Datum
ierp_holds_hold_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr head_plan = NULL;
	char	   *channel = IerpTextArg(fcinfo, 0);
	char	   *cart_ref = IerpTextArg(fcinfo, 1);
	Interval   *ttl;
	int64		channel_id;
	int64		hold_id;
	HoldAsk    *ask;
	int			nask,
				i;
	int64		units = 0;
	int64	   *items;
	int			nitems = 0,
				maxitems = 0;
	char	   *lines_json;
	LOCKTAG		tag;
	HoldRow		row;
	TimestampTz expires_at;
	bool		isnull;
	char	   *ref;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	if (cart_ref == NULL || cart_ref[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("a hold from channel \"%s\" needs a cart_ref", channel ? channel : ""),
				 errhint("Pass the storefront's cart or checkout id; it makes a retry safe.")));
	IerpCheckText(cart_ref, "cart_ref", HOLD_MAX_CART_REF);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("hold \"%s\" needs a ttl", cart_ref),
				 errdetail("A checkout hold lasts more than 0 and at most 1 day.")));
	ttl = PG_GETARG_INTERVAL_P(3);
	CheckTtl(ttl, cart_ref);
	channel_id = IerpLookupChannel(channel);
	AccessCheckChannel(channel_id);
	nask = ReadAsk(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), cart_ref, &ask);
	lines_json = AskJson(ask, nask);
	/* the items its lines name: a plain line's item, a kit line's components */
	for (i = 0; i < nask; i++)
		maxitems += ask[i].ncomp > 0 ? ask[i].ncomp : 1;
	items = palloc(sizeof(int64) * maxitems);
	for (i = 0; i < nask; i++)
	{
		int			c,
					nc = ask[i].ncomp > 0 ? ask[i].ncomp : 1;

		for (c = 0; c < nc; c++)
		{
			int64		item_id = ask[i].ncomp > 0 ? ask[i].comps[c].item_id : ask[i].item_id;
			int64		qty = ask[i].ncomp > 0 ? ask[i].qty * ask[i].comps[c].per_kit : ask[i].qty;
			int			k;
			bool		seen = false;

			for (k = 0; k < nitems; k++)
				seen |= items[k] == item_id;
			if (!seen)
				items[nitems++] = item_id;
			/* each qty fits (KitComponents); many components of many kits could still overflow */
			if (pg_add_s64_overflow(units, qty, &units))
				ereport(ERROR,
						(errcode(ERRCODE_IERP_INVALID_QUANTITY),
						 errmsg("hold \"%s\" asks for too many units", cart_ref),
						 errdetail("Nothing was held.")));
		}
	}

	/* own the cart (a tag of its own next to the orders' external_refs), then look for its open hold */
	StockExternalRefTag(&tag, channel_id, psprintf("hold:%s", cart_ref));
	if (!StockTagLock(&tag, true, false))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("cart \"%s\" of channel \"%s\" is being held by another transaction", cart_ref, channel),
				 errhint("Retry the transaction; the retry returns the hold the other transaction made.")));
	hold_id = OpenHoldOf(channel_id, cart_ref, &row);
	if (hold_id != 0)
	{
		bool		same;

		same = DatumGetBool(DirectFunctionCall2(jsonb_eq,
												DirectFunctionCall1(jsonb_in, CStringGetDatum(row.lines)),
												DirectFunctionCall1(jsonb_in, CStringGetDatum(lines_json))));
		if (!same)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("cart \"%s\" of channel \"%s\" is held as hold " INT64_FORMAT " with other lines",
							cart_ref, channel, hold_id),
					 errdetail("A retried hold must ask for what the first one asked for; nothing was changed."),
					 errhint("Release hold " INT64_FORMAT " with erp.release_hold() first, or use a new cart_ref.",
							 hold_id)));
		SPI_finish();
		PG_RETURN_INT64(hold_id);
	}

	IerpPlan(&head_plan,
			 "INSERT INTO erp.checkout_hold (channel_id, cart_ref, expires_at, item_ids, lines, units, held_by)"
			 " VALUES ($1, $2, pg_catalog.now() + $3, $4, $5::pg_catalog.text::jsonb, $6, $7)"
			 " RETURNING hold_id, expires_at",
			 7, (Oid[]) {INT8OID, TEXTOID, INTERVALOID, INT8ARRAYOID, TEXTOID, INT8OID, TEXTOID});
	if (SPI_execute_plan(head_plan,
						 (Datum[]) {Int64GetDatum(channel_id), CStringGetTextDatum(cart_ref),
							 IntervalPGetDatum(ttl), HoldItemsDatum(items, nitems),
							 CStringGetTextDatum(lines_json), Int64GetDatum(units),
						 CStringGetTextDatum(IerpActorName())},
						 NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot record hold \"%s\"", cart_ref);
	hold_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	expires_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	ref = HoldRef(hold_id);

	for (i = 0; i < nask; i++)
	{
		int64		got;

		if (ask[i].ncomp > 0)
		{
			got = TakeForKit(hold_id, ref, channel_id, &ask[i], expires_at);
			if (got < ask[i].qty)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_INSUFFICIENT_STOCK),
						 errmsg("cannot hold " INT64_FORMAT " kits \"%s\" for cart \"%s\": " INT64_FORMAT
								" can be promised to channel \"%s\" whole at one node each",
								ask[i].qty, ask[i].sku, cart_ref, got, channel),
						 errdetail("A kit is held whole at one node, every component there; a checkout hold gets every unit it asks for or none; nothing was held."),
						 errhint("Offer the shopper what erp.atp('%s', channel => '%s') promises.", ask[i].sku, channel)));
			continue;
		}
		got = TakeForLine(hold_id, ref, channel_id, &ask[i], expires_at);
		if (got < ask[i].qty)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INSUFFICIENT_STOCK),
					 errmsg("cannot hold " INT64_FORMAT " units of sku \"%s\" for cart \"%s\": " INT64_FORMAT
							" can be promised to channel \"%s\"", ask[i].qty, ask[i].sku, cart_ref, got, channel),
					 errdetail("A checkout hold gets every unit it asks for or none; nothing was held."),
					 errhint("Offer the shopper what erp.atp('%s', channel => '%s') promises.", ask[i].sku, channel)));
	}
	/*
	 * no event: a hold is the checkout's step, as frequent as orders, and an
	 * event-writing transaction commits in the events' order (events.md),
	 * out of the group commit; its units show in the availability feed
	 */
	SPI_finish();
	PG_RETURN_INT64(hold_id);
}

/*
 * erp.expire_holds(): every held hold whose expires_at has passed gives its
 * units back (status expired, event hold_expired).  Rows another
 * transaction has locked (a conversion, another expire_holds) are skipped;
 * a partner's session expires only holds at its own nodes.  Returns how
 * many holds expired.
 */
static Datum
ierp_holds_expire_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	int64	   *ids;
	uint64		n,
				i;
	int32		expired = 0;
	MemoryContext cxt,
				old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plan,
			 "SELECT hold_id FROM erp.checkout_hold WHERE status = 'held' AND expires_at <= pg_catalog.now()"
			 " ORDER BY expires_at, hold_id",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read checkout holds");
	ids = IerpSpiInt64Column(&n);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "expire_holds per hold", ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i++)
	{
		HoldRow		row;

		old = MemoryContextSwitchTo(cxt);
		if (LockHold(ids[i], true, &row) && strcmp(row.status, "held") == 0 && row.expired &&
			HoldGiveBack(ids[i], row.items, "expired", true) >= 0)
			expired++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
	SPI_finish();
	PG_RETURN_INT32(expired);
}

/*
 * erp.release_hold(hold_ref): an abandoned cart gives its units back before
 * the TTL.  Unknown hold IE003; a partner's session and a hold with units
 * at another's node IE009 (the kernel's partner rule); a hold converted,
 * expired or released IE010 (one whose TTL passed is closed as expired).
 * Returns the units given back.
 */
static Datum
ierp_holds_release_body(PG_FUNCTION_ARGS)
{
	int64		hold_id = IerpIdArg(fcinfo, 0, "hold");
	HoldRow		row;
	int64		units;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (!LockHold(hold_id, false, &row))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown hold " INT64_FORMAT, hold_id)));
	AccessCheckChannel(row.channel_id);
	if (strcmp(row.status, "held") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot release hold " INT64_FORMAT ": it is %s", hold_id, row.status)));
	units = HoldGiveBack(hold_id, row.items, row.expired ? "expired" : "released", false);
	SPI_finish();
	PG_RETURN_INT64(units);
}
