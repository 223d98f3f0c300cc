/*-------------------------------------------------------------------------
 *
 * allocate.c
 *	  The allocation engine: erp.allocate() and erp.allocate_pending().
 *
 *	  For every open line of an order it reserves stock, in this order of
 *	  preference:
 *	    1. only nodes linked to the order's channel, never below safety
 *	       stock nor into another channel's ring-fence (ATP, see atp.c);
 *	    2. ONE node that can fill the whole order, taking the lowest rank,
 *	       then the nearest to ship_to {"lat", "lon"}, then the lowest id;
 *	    3. otherwise the fewest nodes: repeatedly the node that fills the
 *	       most units, ties broken as in 2;
 *	    4. lot-tracked items first-expiry-first-out, only lots with at
 *	       least min_shelf_life_days left;
 *	    5. what stays unfilled is backordered when the item allows it, else
 *	       the line is short; but when a take got less because slots were
 *	       owned by transactions it could not wait for (the global lock
 *	       order), the line stays open for erp.allocate_pending.
 *	  A kit line reserves its components together at one node, whole kits
 *	  only.  A ship-complete order plans one node for all its open lines; when
 *	  a concurrent order took part of the planned units it gives back all this
 *	  call reserved and waits, whole, for erp.allocate_pending.
 *
 *	  erp.allocate returns what the order holds after the call, whatever its
 *	  status (a webhook calls it again on every redelivery): one row per
 *	  reservation, one per line that holds nothing, each with the line's and
 *	  the order's status; only an order another partner serves is refused,
 *	  and an order on hold (order_hold.c: IE010; allocate_pending skips it).
 *
 *	  Concurrency: the plan is made from an unlocked read; each reservation
 *	  then takes what it can above the floor (the kernel's STOCK_TAKE_UP_TO), which checks
 *	  the floor exactly, so a plan made stale by a concurrent order reserves
 *	  less instead of overselling, and the engine plans again for the rest.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "hold_rows.h"
#include "ierp.h"
#include "master_cache.h"
#include "order_document.h"
#include "order_rows.h"
#include "stock/kernel.h"
#include "substitute.h"

IERP_OWNER_ENTRY(ierp_allocate);
IERP_OWNER_ENTRY(ierp_allocate_pending);

/* The stock picture of one item over the order's candidate nodes. */
typedef struct ItemStock
{
	int64		item_id;
	char	   *sku;
	bool		lot_tracked;
	int32		min_shelf_life_days;
	NodeStock  *nodes;			/* aligned with AllocContext.nodes */
	int64		fence;			/* other channels' ring-fences */
	int64	   *cap;			/* per node: units still promisable in this plan */
	int64	   *atp_left;		/* per node: ATP less what this call reserved */
} ItemStock;

typedef struct LineComponent
{
	ItemStock  *stock;
	int64		per_unit;		/* units of the component per unit of the line */
} LineComponent;

typedef struct AllocLine
{
	int32		line_no;
	int64		item_id;
	char	   *sku;
	bool		allow_backorder;
	int64		qty;
	int64		qty_allocated;
	int64		qty_backordered;
	int64		open;			/* units of the line still to allocate */
	bool		allow_subst;	/* captured with "substitutes": true (substitute.c) */
	int64		subst_item_id;	/* the substitute that fills it (0: none chosen) */
	int32		subst_rank_new;	/* chosen by this call, at this rank (0: not) */
	bool		untouched;		/* holds, shipped and was allocated nothing yet */
	int			ncomp;
	LineComponent *comps;
} AllocLine;

/* A reservation the order holds, as erp.allocate's result names it. */
typedef struct HeldRow
{
	int32		line_no;
	int64		item_id;
	int64		node_id;
	int64		lot_id;			/* 0: none */
	const char *sku;
	const char *node;
	const char *lot;			/* NULL: none */
	int64		qty;			/* reserved + picked + packed */
} HeldRow;

/* Units this call reserved (net of what it gave back) for one line, item, node and lot. */
typedef struct TakeRec
{
	int32		line_no;
	struct ItemStock *is;
	int			node;			/* index into the nodes */
	int64		lot_id;			/* 0: none */
	int64		qty;
} TakeRec;

typedef struct AllocContext
{
	int64		order_id;
	int64		channel_id;
	char	   *ref;			/* "order:<id>" on every move */
	int			nnodes;
	int64	   *node_ids;
	int		   *order;			/* node indexes by preference */
	double	   *distance;
	int64		exclude_node_id;
	bool		restricted;		/* a partner's session: its nodes only */
	int			nitems;
	ItemStock **items;
	int			nlines;
	AllocLine  *lines;
	AllocResult *result;		/* rows for erp.allocate(), or NULL */
	bool		fresh;			/* no line held or was closed before: the result is this call's */
	bool		deferred;		/* fresh, no kit, one node: reservations are written at the end, from held */
	bool		has_kit;		/* a line to allocate is a kit */
	bool		order_unwritten;	/* place_order's new order: its rows come at the end */
	List	   *pending_events;	/* events of an unwritten order, recorded after its rows */
	int			nheld;
	int			maxheld;
	HeldRow    *held;			/* with result and fresh: what the order holds */
	char	   *channel_code;	/* for event payloads; read when first needed */
	int64		reserved_units;
	bool		contended;		/* a take got less while others owned slots with units */
	bool		ship_complete;	/* one node fills the whole order, or nothing is planned */
	bool	   *meets;			/* per node: can ship by the order's ship_by (NULL: no service) */
	bool		express;		/* the order's service is express: nearest before rank */
	int			pinned;			/* ship-complete: the one node index allowed, -1 any */
	int			ntakes;
	int			maxtakes;
	struct TakeRec *takes;		/* net units this call reserved, per line, item, node and lot */
	int			nstates;
	LineState  *states;			/* every line of the order, for its status */
} AllocContext;

static void ReportFromMemory(AllocContext *ctx, AllocResult *result, const char *order_status);
static void ReportFromOrder(int64 order_id, AllocResult *result);
static const char *ChannelCodeJson(AllocContext *ctx);
static void AllocEvent(AllocContext *ctx, const char *kind, int64 item_id, int64 node_id, char *payload);

/* Great-circle distance in km between two points given in degrees. */
static double
DistanceKm(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0;
	double		p1 = lat1 * M_PI / 180.0,
				p2 = lat2 * M_PI / 180.0;
	double		dp = p2 - p1,
				dl = (lon2 - lon1) * M_PI / 180.0;
	double		a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return 2 * r * asin(Min(1.0, sqrt(a)));
}

static AllocContext *sort_ctx;

static int
NodePreferenceCmp(const void *a, const void *b)
{
	int			i = *(const int *) a,
				j = *(const int *) b;
	NodeStock  *ni = &sort_ctx->items[0]->nodes[i],
			   *nj = &sort_ctx->items[0]->nodes[j];

	/* an order with a service level: the nodes that can ship by its ship_by first */
	if (sort_ctx->meets && sort_ctx->meets[i] != sort_ctx->meets[j])
		return sort_ctx->meets[i] ? -1 : 1;
	/* express: the nearest of them, before the channel's rank */
	if (sort_ctx->express && sort_ctx->distance[i] != sort_ctx->distance[j])
		return sort_ctx->distance[i] < sort_ctx->distance[j] ? -1 : 1;
	if (ni->rank != nj->rank)
		return ni->rank < nj->rank ? -1 : 1;
	if (sort_ctx->distance[i] != sort_ctx->distance[j])
		return sort_ctx->distance[i] < sort_ctx->distance[j] ? -1 : 1;
	return ni->node_id < nj->node_id ? -1 : (ni->node_id > nj->node_id ? 1 : 0);
}

/* Loads (once per order) the stock picture of item over the candidate nodes. */
static ItemStock *
ItemStockFor(AllocContext *ctx, int64 item_id, const char *sku, bool lot_tracked, int32 shelf)
{
	ItemStock  *is;
	int			i,
				n;

	for (i = 0; i < ctx->nitems; i++)
		if (ctx->items[i]->item_id == item_id)
			return ctx->items[i];
	is = palloc0(sizeof(ItemStock));
	is->item_id = item_id;
	is->sku = pstrdup(sku);
	is->lot_tracked = lot_tracked;
	is->min_shelf_life_days = shelf;
	/* expired checkout holds give their units back first (hold_rows.c) */
	HoldsReleaseExpired(item_id);
	n = AtpLoadNodes(item_id, lot_tracked, shelf, false, 0, ctx->channel_id, 0, &is->nodes);
	Assert(ctx->nitems == 0 || n == ctx->nnodes);
	ctx->nnodes = n;
	is->fence = n > 0 ? is->nodes[0].fence : 0;
	is->cap = palloc0(sizeof(int64) * Max(n, 1));
	is->atp_left = palloc0(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		is->atp_left[i] = AtpOfNode(&is->nodes[i], is->fence);
		/* a partner's allocation takes stock at its own nodes only (as erp.atp promises) */
		is->cap[i] = (is->nodes[i].node_id == ctx->exclude_node_id ||
					  (ctx->restricted && !AccessNodeVisible(is->nodes[i].node_id)))
			? 0 : is->atp_left[i];
	}
	ctx->items = repalloc(ctx->items, sizeof(ItemStock *) * (ctx->nitems + 1));
	ctx->items[ctx->nitems++] = is;
	return is;
}

/*
 * Reads an item's stock picture again (after a pass left lines open: the
 * first read may be stale, e.g. a cancel committed while this order waited
 * for a slot); false when the candidate nodes changed meanwhile.
 */
static bool
ItemStockRefresh(AllocContext *ctx, ItemStock *is)
{
	NodeStock  *nodes;
	int			n = AtpLoadNodes(is->item_id, is->lot_tracked, is->min_shelf_life_days, false, 0,
								 ctx->channel_id, 0, &nodes);
	int			i;

	if (n != ctx->nnodes)
		return false;
	for (i = 0; i < n; i++)
		if (nodes[i].node_id != is->nodes[i].node_id)
			return false;
	is->nodes = nodes;
	is->fence = n > 0 ? nodes[0].fence : 0;
	for (i = 0; i < n; i++)
	{
		is->atp_left[i] = AtpOfNode(&nodes[i], is->fence);
		is->cap[i] = (nodes[i].node_id == ctx->exclude_node_id ||
					  (ctx->restricted && !AccessNodeVisible(nodes[i].node_id)))
			? 0 : is->atp_left[i];
	}
	return true;
}

/* The status numbers of line line_no. */
static LineState *
LineStateOf(AllocContext *ctx, int32 line_no)
{
	int			i;

	for (i = 0; i < ctx->nstates; i++)
		if (ctx->states[i].line_no == line_no)
			return &ctx->states[i];
	elog(ERROR, "inventory_erp: line %d of order " INT64_FORMAT " not loaded", line_no, ctx->order_id);
	return NULL;				/* keep compiler quiet */
}

/* A line as the order's read gives it, copied out of SPI. */
typedef struct LineRow
{
	int64		item_id;
	bool		open;			/* needs stock */
	bool		allow_subst;
	int64		subst_item_id;
} LineRow;

/* Column numbers of LoadOpenLines' statement. */
#define LINES_LINE_NO		1
#define LINES_ITEM_ID		2
#define LINES_QTY			3
#define LINES_ALLOCATED		4
#define LINES_BACKORDERED	5
#define LINES_SHIPPED		6
#define LINES_STATUS		7
#define LINES_HELD			8
#define LINES_PICKED		9
#define LINES_PACKED		10
#define LINES_OPEN			11
#define LINES_SUBST			12
#define LINES_SUBST_ITEM	13

/* Adds a component (a plain item is its own) to line; its stock picture is loaded later. */
static void
AddComponent(AllocLine *line, int64 item_id, int64 per_unit)
{
	const char *sku;
	const MasterItem *item = MasterItemById(item_id, &sku);
	LineComponent *lc = &line->comps[line->ncomp++];

	if (item == NULL)
		elog(ERROR, "inventory_erp: item " INT64_FORMAT " of order line %d vanished", item_id, line->line_no);
	lc->per_unit = per_unit;
	lc->stock = (ItemStock *) palloc0(sizeof(ItemStock));
	lc->stock->item_id = item_id;
	lc->stock->sku = pstrdup(sku);
	lc->stock->lot_tracked = item->info.lot_tracked;
	lc->stock->min_shelf_life_days = item->info.min_shelf_life_days;
}

/* Units of is the plan may take over all candidate nodes. */
static int64
ItemCapTotal(AllocContext *ctx, ItemStock *is)
{
	int64		total = 0;
	int			n;

	for (n = 0; n < ctx->nnodes; n++)
		total += is->cap[n];
	return total;
}

/* The stock picture of plain item item_id, or NULL when it is unknown, a kit or retired. */
static ItemStock *
SubstituteStock(AllocContext *ctx, int64 item_id)
{
	const char *sku;
	const MasterItem *item = MasterItemById(item_id, &sku);

	if (item == NULL || item->info.is_kit || !item->active)
		return NULL;
	return ItemStockFor(ctx, item_id, sku, item->info.lot_tracked, item->info.min_shelf_life_days);
}

/*
 * Substitutes (substitute.c, doc/warehouse.md "Substitutes").  A line that
 * was filled with a substitute goes on with it.  A line that allows
 * substitutes and holds nothing yet, whose own item cannot fill it over the
 * order's candidate nodes, is filled by the first substitute in rank order
 * that can fill it whole there (RecordSubstitutions records the choice
 * once the line got units of it).  When none can, the line keeps its item
 * (backorder or short as the item says).
 */
static void
ChooseSubstitutes(AllocContext *ctx)
{
	int			l;

	for (l = 0; l < ctx->nlines; l++)
	{
		AllocLine  *line = &ctx->lines[l];
		SubstituteCandidate *cands;
		int			ncand,
					k;

		if (!line->allow_subst || line->ncomp != 1)
			continue;
		if (line->subst_item_id != 0)
		{
			ItemStock  *is = SubstituteStock(ctx, line->subst_item_id);

			/* its substitute was retired or became a kit: the line waits (no other item mixes in) */
			if (is == NULL)
			{
				line->open = 0;
				ctx->contended = true;
				continue;
			}
			line->comps[0].stock = is;
			continue;
		}
		/*
		 * A partner's session sees its own nodes only: that the item is not
		 * there says nothing of the retailer's other nodes, so it never
		 * chooses a substitute (a line substituted before goes on above).
		 */
		if (!line->untouched || ctx->restricted || ctx->nnodes == 0 ||
			ItemCapTotal(ctx, line->comps[0].stock) >= line->open)
			continue;
		ncand = SubstituteCandidates(line->item_id, &cands);
		for (k = 0; k < ncand; k++)
		{
			ItemStock  *is = SubstituteStock(ctx, cands[k].item_id);

			if (is == NULL || ItemCapTotal(ctx, is) < line->open)
				continue;
			line->subst_rank_new = cands[k].rank;
			line->subst_item_id = is->item_id;
			line->comps[0].stock = is;
			break;
		}
		pfree(cands);
	}
}

/*
 * Reads every line of the order in one statement: every line's numbers for
 * its status afterwards (ctx->states), with what its reservations hold, and
 * the lines that still need stock (ctx->lines), whose items and kit
 * components come from the item cache (a kit's components: one statement
 * per kit line).
 */
static void
LoadOpenLines(AllocContext *ctx)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr kit_plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	Datum		values[1];
	uint64		i,
				nrows;
	LineRow    *rows;

	IerpPlan(&plan,
			 "SELECT ol.line_no, ol.item_id, ol.qty, ol.qty_allocated, ol.qty_backordered, ol.qty_shipped,"
			 "       ol.status::pg_catalog.text, COALESCE(r.held, 0), COALESCE(r.picked, 0),"
			 "       COALESCE(r.packed, 0), ol.status <> 'cancelled' AND ol.qty_allocated < ol.qty,"
			 "       s.line_no IS NOT NULL, COALESCE(s.substitute_item_id, 0)"
			 "  FROM erp.order_line ol"
			 "  LEFT JOIN erp.order_line_substitution s ON s.order_id = ol.order_id AND s.line_no = ol.line_no"
			 "  LEFT JOIN (SELECT v.line_no, sum(v.qty)::bigint AS held, sum(v.qty_picked)::bigint AS picked,"
			 "                    sum(v.qty_packed)::bigint AS packed"
			 "               FROM erp.reservation v WHERE v.order_id = $1 GROUP BY v.line_no) r"
			 "    ON r.line_no = ol.line_no"
			 " WHERE ol.order_id = $1"
			 " ORDER BY ol.line_no",
			 1, argtypes);
	values[0] = Int64GetDatum(ctx->order_id);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order lines");
	nrows = SPI_processed;
	rows = palloc0(sizeof(LineRow) * Max(nrows, 1));
	ctx->lines = palloc0(sizeof(AllocLine) * Max(nrows, 1));
	ctx->nlines = 0;
	ctx->states = palloc0(sizeof(LineState) * Max(nrows, 1));
	ctx->nstates = (int) nrows;
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		LineState  *st = &ctx->states[i];

		st->line_no = DatumGetInt32(SPI_getbinval(tup, desc, LINES_LINE_NO, &isnull));
		st->qty = DatumGetInt64(SPI_getbinval(tup, desc, LINES_QTY, &isnull));
		st->qty_allocated = DatumGetInt64(SPI_getbinval(tup, desc, LINES_ALLOCATED, &isnull));
		st->qty_backordered = DatumGetInt64(SPI_getbinval(tup, desc, LINES_BACKORDERED, &isnull));
		st->qty_shipped = DatumGetInt64(SPI_getbinval(tup, desc, LINES_SHIPPED, &isnull));
		st->status = TextDatumGetCString(SPI_getbinval(tup, desc, LINES_STATUS, &isnull));
		st->held = DatumGetInt64(SPI_getbinval(tup, desc, LINES_HELD, &isnull));
		st->picked = DatumGetInt64(SPI_getbinval(tup, desc, LINES_PICKED, &isnull));
		st->packed = DatumGetInt64(SPI_getbinval(tup, desc, LINES_PACKED, &isnull));
		rows[i].item_id = DatumGetInt64(SPI_getbinval(tup, desc, LINES_ITEM_ID, &isnull));
		rows[i].open = DatumGetBool(SPI_getbinval(tup, desc, LINES_OPEN, &isnull));
		rows[i].allow_subst = DatumGetBool(SPI_getbinval(tup, desc, LINES_SUBST, &isnull));
		rows[i].subst_item_id = DatumGetInt64(SPI_getbinval(tup, desc, LINES_SUBST_ITEM, &isnull));
	}

	/* the lines that need stock, with their items (the caches may run SPI: after the copy) */
	for (i = 0; i < nrows; i++)
	{
		LineState  *st = &ctx->states[i];
		AllocLine  *line;
		const char *sku;
		const MasterItem *item;
		bool		is_kit;

		if (!rows[i].open)
			continue;			/* needs no stock: only its status counts */
		item = MasterItemById(rows[i].item_id, &sku);
		if (item == NULL)
			elog(ERROR, "inventory_erp: item " INT64_FORMAT " of order line %d vanished",
				 rows[i].item_id, st->line_no);
		line = &ctx->lines[ctx->nlines++];
		line->line_no = st->line_no;
		line->item_id = rows[i].item_id;
		line->sku = pstrdup(sku);
		line->allow_backorder = item->info.allow_backorder;
		is_kit = item->info.is_kit;
		ctx->has_kit |= is_kit;
		line->qty = st->qty;
		line->qty_allocated = st->qty_allocated;
		line->qty_backordered = st->qty_backordered;
		line->open = line->qty - line->qty_allocated;
		line->allow_subst = rows[i].allow_subst && !is_kit;
		line->subst_item_id = rows[i].subst_item_id;
		line->untouched = st->qty_allocated == 0 && st->qty_shipped == 0 && st->held == 0;
		if (!is_kit)
		{
			line->comps = palloc0(sizeof(LineComponent));
			AddComponent(line, rows[i].item_id, 1);
		}
		else
		{
			uint64		c,
						ncomp;
			int64	   *comp_item,
					   *comp_qty;

			IerpPlan(&kit_plan,
					 "SELECT component_item_id, qty FROM erp.item_component WHERE kit_item_id = $1"
					 " ORDER BY component_item_id",
					 1, argtypes);
			if (SPI_execute_plan(kit_plan, (Datum[]) {Int64GetDatum(rows[i].item_id)}, NULL, false, 0)
				!= SPI_OK_SELECT)
				elog(ERROR, "inventory_erp: cannot read kit components");
			ncomp = SPI_processed;
			comp_item = palloc(sizeof(int64) * Max(ncomp, 1));
			comp_qty = palloc(sizeof(int64) * Max(ncomp, 1));
			for (c = 0; c < ncomp; c++)
			{
				bool		isnull;

				comp_item[c] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[c], SPI_tuptable->tupdesc, 1, &isnull));
				comp_qty[c] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[c], SPI_tuptable->tupdesc, 2, &isnull));
			}
			line->comps = palloc0(sizeof(LineComponent) * Max(ncomp, 1));
			for (c = 0; c < ncomp; c++)
				AddComponent(line, comp_item[c], comp_qty[c]);
			/* its components went meanwhile: the item is its own, as for a plain item */
			if (ncomp == 0)
				AddComponent(line, rows[i].item_id, 1);
		}
	}
	for (i = 0; i < (uint64) ctx->nlines; i++)
	{
		int			c;

		for (c = 0; c < ctx->lines[i].ncomp; c++)
		{
			ItemStock  *tmp = ctx->lines[i].comps[c].stock;

			ctx->lines[i].comps[c].stock = ItemStockFor(ctx, tmp->item_id, tmp->sku,
														tmp->lot_tracked, tmp->min_shelf_life_days);
		}
	}
	ChooseSubstitutes(ctx);
}

/*
 * LoadNewLines: the lines of a new order of plain items that is not
 * written yet (erp.place_order), from memory: every line open, nothing
 * held.
 */
static void
LoadNewLines(AllocContext *ctx, const NewOrder *fresh)
{
	int			i;

	ctx->nlines = ctx->nstates = fresh->nlines;
	ctx->lines = palloc0(sizeof(AllocLine) * Max(fresh->nlines, 1));
	ctx->states = palloc0(sizeof(LineState) * Max(fresh->nlines, 1));
	for (i = 0; i < fresh->nlines; i++)
	{
		const NewLineRow *row = &fresh->lines[i];
		LineState  *st = &ctx->states[i];
		AllocLine  *line = &ctx->lines[i];
		const char *sku;
		const MasterItem *item = MasterItemById(row->item_id, &sku);

		if (item == NULL || item->info.is_kit)
			elog(ERROR, "inventory_erp: item " INT64_FORMAT " of a new order changed under it", row->item_id);
		st->line_no = row->line_no;
		st->qty = row->qty;
		st->status = "open";
		line->line_no = row->line_no;
		line->item_id = row->item_id;
		line->sku = pstrdup(sku);
		line->allow_backorder = item->info.allow_backorder;
		line->qty = row->qty;
		line->open = row->qty;
		line->comps = palloc0(sizeof(LineComponent));
		AddComponent(line, row->item_id, 1);
	}
	for (i = 0; i < ctx->nlines; i++)
	{
		ItemStock  *tmp = ctx->lines[i].comps[0].stock;

		ctx->lines[i].comps[0].stock = ItemStockFor(ctx, tmp->item_id, tmp->sku, tmp->lot_tracked,
													tmp->min_shelf_life_days);
	}
}

/* The reservations a deferred (fresh) allocation holds, written at once. */
static void
WriteHeldReservations(AllocContext *ctx)
{
	NewReservationRow *rows = palloc(sizeof(NewReservationRow) * Max(ctx->nheld, 1));
	int			i,
				n = 0;

	for (i = 0; i < ctx->nheld; i++)
	{
		const HeldRow *h = &ctx->held[i];

		if (h->qty <= 0)
			continue;
		rows[n].line_no = h->line_no;
		rows[n].item_id = h->item_id;
		rows[n].node_id = h->node_id;
		rows[n].lot_id = h->lot_id;
		rows[n].qty = h->qty;
		n++;
	}
	OrderRowsInsertReservations(ctx->order_id, rows, n);
	pfree(rows);
}

/* Units of line that node index n can fill from the plan's remaining caps. */
static int64
LineFillAt(const AllocLine *line, int n)
{
	int64		fill = line->open;
	int			c;

	for (c = 0; c < line->ncomp; c++)
		fill = Min(fill, line->comps[c].stock->cap[n] / line->comps[c].per_unit);
	return fill;
}

static void
TakeCaps(AllocLine *line, int n, int64 units)
{
	int			c;

	for (c = 0; c < line->ncomp; c++)
		line->comps[c].stock->cap[n] -= units * line->comps[c].per_unit;
}

/* Inserts or adds to the reservation of (order, line, item, node, lot); delta may be negative. */
static void
ReservationAdd(AllocContext *ctx, int32 line_no, int64 item_id, int64 node_id, int64 lot_id, int64 delta)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT4OID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		values[6];

	static SPIPlanPtr less_plan = NULL;
	static SPIPlanPtr drop_plan = NULL;
	bool		isnull;

	/* a fresh order's reservations are its held rows, written once at the end */
	if (ctx->deferred)
	{
		/* only a kit gives units back (ReleaseReserved), and kits are never deferred */
		if (delta <= 0)
			elog(ERROR, "inventory_erp: a deferred reservation of order " INT64_FORMAT " line %d gives units back",
				 ctx->order_id, line_no);
		return;
	}
	values[0] = Int64GetDatum(ctx->order_id);
	values[1] = Int32GetDatum(line_no);
	values[2] = Int64GetDatum(item_id);
	values[3] = Int64GetDatum(node_id);
	values[4] = Int64GetDatum(lot_id);
	values[5] = Int64GetDatum(delta);
	if (delta < 0)
	{
		/*
		 * Giving units back lowers the existing row.  Never through INSERT ...
		 * ON CONFLICT: PostgreSQL checks the proposed row (qty < 0) against
		 * reservation_quantities before it finds the conflict.
		 */
		IerpPlan(&less_plan,
				 "UPDATE erp.reservation SET qty = qty + $6"
				 " WHERE item_id = $3 AND order_id = $1 AND line_no = $2 AND node_id = $4"
				 "   AND COALESCE(lot_id, 0) = $5 RETURNING reservation_id, qty, qty_picked",
				 6, argtypes);
		if (SPI_execute_plan(less_plan, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
			elog(ERROR, "inventory_erp: reservation of order " INT64_FORMAT " line %d not found",
				 ctx->order_id, line_no);
		/* a row that now holds nothing goes, as erp.cancel_order's do */
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) == 0 &&
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)) == 0)
		{
			IerpPlan(&drop_plan, "DELETE FROM erp.reservation WHERE item_id = $1 AND reservation_id = $2",
					 2, (Oid[]) {INT8OID, INT8OID});
			if (SPI_execute_plan(drop_plan, (Datum[]) {Int64GetDatum(item_id),
								 SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)},
								 NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "inventory_erp: reservation cleanup failed");
		}
		return;
	}
	IerpPlan(&plan,
			 "INSERT INTO erp.reservation AS r (order_id, line_no, item_id, node_id, lot_id, qty)"
			 " VALUES ($1, $2, $3, $4, NULLIF($5, 0), $6)"
			 " ON CONFLICT (item_id, order_id, line_no, node_id, (COALESCE(lot_id, 0)))"
			 " DO UPDATE SET qty = r.qty + EXCLUDED.qty",
			 6, argtypes);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: reservation write failed");
}

/*
 * Adds qty (negative: gives back) to the result's row of a reservation, when
 * the result is kept in memory (a fresh order: every reservation is this
 * call's).
 */
static void
HeldRowAdd(AllocContext *ctx, int32 line_no, ItemStock *is, int n, int64 lot_id, const char *lot_code,
		   int64 qty)
{
	int64		node_id = is->nodes[n].node_id;
	HeldRow    *row;
	int			i;

	if ((ctx->result == NULL && !ctx->deferred) || !ctx->fresh)
		return;
	for (i = 0; i < ctx->nheld; i++)
	{
		row = &ctx->held[i];
		if (row->line_no == line_no && row->item_id == is->item_id && row->node_id == node_id &&
			row->lot_id == lot_id)
		{
			row->qty += qty;
			return;
		}
	}
	Assert(qty > 0);
	if (ctx->nheld == ctx->maxheld)
	{
		ctx->maxheld = Max(8, ctx->maxheld * 2);
		ctx->held = ctx->held ? repalloc(ctx->held, sizeof(HeldRow) * ctx->maxheld)
			: palloc(sizeof(HeldRow) * ctx->maxheld);
	}
	row = &ctx->held[ctx->nheld++];
	row->line_no = line_no;
	row->item_id = is->item_id;
	row->node_id = node_id;
	row->lot_id = lot_id;
	row->sku = is->sku;
	row->node = is->nodes[n].code;
	row->lot = lot_code ? pstrdup(lot_code) : NULL;
	row->qty = qty;
}

/*
 * Counts qty (negative: given back) into this call's takes of a line's item
 * at node index n, so that a ship-complete order can give back everything
 * this call reserved (ShipCompleteGiveBack); other orders keep no count.
 */
static void
TakeAdd(AllocContext *ctx, int32 line_no, ItemStock *is, int n, int64 lot_id, int64 qty)
{
	TakeRec    *t;
	int			i;

	if (!ctx->ship_complete)
		return;

	for (i = 0; i < ctx->ntakes; i++)
	{
		t = &ctx->takes[i];
		if (t->line_no == line_no && t->is == is && t->node == n && t->lot_id == lot_id)
		{
			t->qty += qty;
			return;
		}
	}
	if (ctx->ntakes == ctx->maxtakes)
	{
		ctx->maxtakes = Max(8, ctx->maxtakes * 2);
		ctx->takes = ctx->takes ? repalloc(ctx->takes, sizeof(TakeRec) * ctx->maxtakes)
			: palloc(sizeof(TakeRec) * ctx->maxtakes);
	}
	t = &ctx->takes[ctx->ntakes++];
	t->line_no = line_no;
	t->is = is;
	t->node = n;
	t->lot_id = lot_id;
	t->qty = qty;
}

/*
 * Records one reservation whose units the kernel has moved to reserved:
 * the reservation row and the result row.
 */
static void
Reserve(AllocContext *ctx, int32 line_no, ItemStock *is, int n, int64 lot_id,
		const char *lot_code, int64 qty)
{
	ReservationAdd(ctx, line_no, is->item_id, is->nodes[n].node_id, lot_id, qty);
	TakeAdd(ctx, line_no, is, n, lot_id, qty);
	ctx->reserved_units += qty;
	LineStateOf(ctx, line_no)->held += qty;
	HeldRowAdd(ctx, line_no, is, n, lot_id, lot_code, qty);
}

/* Fills a kernel move of this order's units of is at node_id from one state to another. */
static void
OrderMove(StockMove *m, AllocContext *ctx, ItemStock *is, int64 node_id, int64 lot_id, int64 qty,
		  StockState from, StockState to, const char *event, StockTakeKind take, int64 floor)
{
	memset(m, 0, sizeof(StockMove));
	m->item_id = is->item_id;
	m->lot_id = lot_id;
	m->qty = qty;
	m->from_node_id = node_id;
	m->from_state = from;
	m->to_node_id = node_id;
	m->to_state = to;
	m->event = event;
	m->ref = ctx->ref;
	m->take = take;
	m->floor = floor;
}

/* The index of node_id in is's nodes. */
static int
NodeIndexOf(AllocContext *ctx, ItemStock *is, int64 node_id)
{
	int			n;

	for (n = 0; n < ctx->nnodes; n++)
		if (is->nodes[n].node_id == node_id)
			return n;
	elog(ERROR, "inventory_erp: node " INT64_FORMAT " is no candidate of order " INT64_FORMAT,
		 node_id, ctx->order_id);
	return -1;					/* keep compiler quiet */
}

/* Gives back reserved units of a line (a kit's surplus components). */
static void
ReleaseReserved(AllocContext *ctx, int32 line_no, ItemStock *is, int64 node_id, int64 qty)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT4OID, INT8OID, INT8OID};
	Datum		values[4];
	uint64		i,
				n;
	int64	   *lots,
			   *held;

	IerpPlan(&plan,
			 "SELECT COALESCE(lot_id, 0), qty - qty_picked FROM erp.reservation"
			 " WHERE item_id = $3 AND order_id = $1 AND line_no = $2 AND node_id = $4"
			 "   AND qty > qty_picked ORDER BY reservation_id DESC",
			 4, argtypes);
	values[0] = Int64GetDatum(ctx->order_id);
	values[1] = Int32GetDatum(line_no);
	values[2] = Int64GetDatum(is->item_id);
	values[3] = Int64GetDatum(node_id);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read reservations");
	n = SPI_processed;
	lots = palloc(sizeof(int64) * Max(n, 1));
	held = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		lots[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		held[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	for (i = 0; i < n && qty > 0; i++)
	{
		int64		part = Min(qty, held[i]);
		StockMove	m;

		OrderMove(&m, ctx, is, node_id, lots[i], part, STATE_RESERVED, STATE_AVAILABLE, "release",
				  STOCK_TAKE_HELD, 0);
		StockApply(&m, 1, STOCK_DOCUMENT);
		ReservationAdd(ctx, line_no, is->item_id, node_id, lots[i], -part);
		if (ctx->ship_complete)
			TakeAdd(ctx, line_no, is, NodeIndexOf(ctx, is, node_id), lots[i], -part);
		if (ctx->result && ctx->fresh)
			HeldRowAdd(ctx, line_no, is, NodeIndexOf(ctx, is, node_id), lots[i], NULL, -part);
		ctx->reserved_units -= part;
		LineStateOf(ctx, line_no)->held -= part;
		qty -= part;
	}
}

/*
 * Reserves up to want units of a lot-tracked item at a node, first expiry
 * first, from lots with enough shelf life, keeping floor units back, over
 * the node's stock outside bins and its bins (StockLotsFefo owns every
 * slot of the item's lots there first: the total is exact, or smaller
 * when others own slots).  Each lot's take names no bin: the kernel
 * spreads it over the lot's bins (stock/bins.c).
 */
static int64
ReserveLots(AllocContext *ctx, int32 line_no, ItemStock *is, int n, int64 want, int64 floor)
{
	int64		node_id = is->nodes[n].node_id;
	StockLotTake *parts;
	int			nparts,
				l;
	bool		contended;
	int64		take;

	take = StockLotsFefo(is->item_id, node_id, is->min_shelf_life_days, want, floor, &parts, &nparts, &contended);
	if (take < want && contended)
		ctx->contended = true;
	for (l = 0; l < nparts; l++)
	{
		StockMove	m;

		OrderMove(&m, ctx, is, node_id, parts[l].lot_id, parts[l].qty, STATE_AVAILABLE, STATE_RESERVED, "allocate",
				  STOCK_TAKE_ALL, 0);
		StockApply(&m, 1, STOCK_DOCUMENT);
		Reserve(ctx, line_no, is, n, parts[l].lot_id, parts[l].lot_code, parts[l].qty);
	}
	pfree(parts);
	return take;
}

/* Reserves up to want units of one item at node index n; returns how many. */
static int64
ReserveItemAt(AllocContext *ctx, int32 line_no, ItemStock *is, int n, int64 want)
{
	NodeStock  *ns = &is->nodes[n];
	int64		floor = ns->safety_stock + is->fence;
	int64		got;

	if (is->lot_tracked)
		got = ReserveLots(ctx, line_no, is, n, want, floor);
	else
	{
		StockMove	m;

		OrderMove(&m, ctx, is, ns->node_id, 0, want, STATE_AVAILABLE, STATE_RESERVED, "allocate",
				  STOCK_TAKE_UP_TO, floor);
		StockApply(&m, 1, STOCK_DOCUMENT);
		got = m.taken;
		if (m.contended)
			ctx->contended = true;
		if (got > 0)
			Reserve(ctx, line_no, is, n, 0, NULL, got);
	}
	return got;
}

/* The order's channel code, JSON-quoted, for event payloads (read once per order). */
static const char *
ChannelCodeJson(AllocContext *ctx)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	char	   *code;

	if (ctx->channel_code)
		return ctx->channel_code;
	IerpPlan(&plan, "SELECT code FROM erp.channel WHERE channel_id = $1", 1, argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(ctx->channel_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read channel");
	code = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
	ctx->channel_code = code ? IerpJsonQuote(code) : pstrdup("null");
	return ctx->channel_code;
}

/* An event of the allocation, kept until the order's rows exist when they do not yet. */
typedef struct PendingEvent
{
	const char *kind;
	int64		item_id;
	int64		node_id;
	char	   *payload;
} PendingEvent;

/*
 * Records an event of this order's allocation; for a new order whose rows
 * are written at the end (place_order), after them, so that the event never
 * names an order that does not exist yet (a DBA's foreign key or trigger on
 * erp.event would see none).
 */
static void
AllocEvent(AllocContext *ctx, const char *kind, int64 item_id, int64 node_id, char *payload)
{
	PendingEvent *e;

	if (!ctx->order_unwritten)
	{
		EventRecord(kind, item_id, node_id, ctx->order_id, 0, payload);
		return;
	}
	e = palloc(sizeof(PendingEvent));
	e->kind = kind;
	e->item_id = item_id;
	e->node_id = node_id;
	e->payload = payload;
	ctx->pending_events = lappend(ctx->pending_events, e);
}

/* The events kept by AllocEvent, in the order they happened, once the order's rows exist. */
static void
FlushPendingEvents(AllocContext *ctx)
{
	ListCell   *lc;

	foreach(lc, ctx->pending_events)
	{
		PendingEvent *e = lfirst(lc);

		EventRecord(e->kind, e->item_id, e->node_id, ctx->order_id, 0, e->payload);
	}
	list_free_deep(ctx->pending_events);
	ctx->pending_events = NIL;
}

/*
 * Emits low_stock when this allocation took the node's position (available +
 * inbound) below its reorder point.  Costs a statement only when available
 * itself went below the reorder point.
 */
static void
LowStockCheck(AllocContext *ctx, ItemStock *is, int n, int64 taken)
{
	NodeStock  *ns = &is->nodes[n];
	int64		after = ns->promisable - taken;
	int64		inbound;
	StockKey	key = {is->item_id, ns->node_id, 0, 0};
	int64		qty[NUM_STOCK_STATES];

	ns->promisable = after;
	if (ns->reorder_point == 0 || after >= ns->reorder_point)
		return;
	StockRead(&key, qty);
	inbound = qty[STATE_INCOMING] + qty[STATE_IN_TRANSIT] + qty[STATE_RETURN_PENDING];
	if (after + inbound < ns->reorder_point && after + taken + inbound >= ns->reorder_point)
		AllocEvent(ctx, "low_stock", is->item_id, ns->node_id,
					psprintf("{\"channel\": %s, \"sku\": %s, \"node\": %s, \"available\": " INT64_FORMAT
							 ", \"inbound\": " INT64_FORMAT ", \"reorder_point\": " INT64_FORMAT "}",
							 ChannelCodeJson(ctx), IerpJsonQuote(is->sku), IerpJsonQuote(ns->code), after,
							 inbound, ns->reorder_point));
}

/*
 * Fills up to units of line at node index n: every component, whole units of
 * the line only.  Updates the line, the plan's caps and emits stockout when
 * a component's ATP at the node reaches 0.  Returns the units filled.
 */
static int64
FillLineAt(AllocContext *ctx, AllocLine *line, int n, int64 units)
{
	int64	   *got = palloc(sizeof(int64) * line->ncomp);
	int64		filled = units;
	int			c;

	for (c = 0; c < line->ncomp; c++)
	{
		LineComponent *lc = &line->comps[c];

		got[c] = ReserveItemAt(ctx, line->line_no, lc->stock, n, units * lc->per_unit);
		filled = Min(filled, got[c] / lc->per_unit);
	}
	for (c = 0; c < line->ncomp; c++)
	{
		LineComponent *lc = &line->comps[c];
		ItemStock  *is = lc->stock;
		int64		surplus = got[c] - filled * lc->per_unit;
		int64		before = is->atp_left[n];

		if (surplus > 0)
			ReleaseReserved(ctx, line->line_no, is, is->nodes[n].node_id, surplus);
		/* the plan expected units; what was not there is not there for the next line either */
		if (got[c] < units * lc->per_unit)
			is->cap[n] = 0;
		is->atp_left[n] = Max(before - (got[c] - surplus), 0);
		if (got[c] - surplus > 0)
			LowStockCheck(ctx, is, n, got[c] - surplus);
		if (before > 0 && is->atp_left[n] == 0)
			AllocEvent(ctx, "stockout", is->item_id, is->nodes[n].node_id,
						psprintf("{\"channel\": %s, \"sku\": %s, \"node\": %s}", ChannelCodeJson(ctx),
								 IerpJsonQuote(is->sku), IerpJsonQuote(is->nodes[n].code)));
	}
	line->open -= filled;
	line->qty_allocated += filled;
	pfree(got);
	return filled;
}

/* One reservation the plan asks for: units of a line at a node. */
typedef struct PlanStep
{
	int			line;			/* index into AllocContext.lines */
	int			node;			/* index into the nodes */
	int64		units;
} PlanStep;

static int
PlanStepCmp(const void *a, const void *b)
{
	const PlanStep *x = a,
			   *y = b;
	int64		nx = sort_ctx->items[0]->nodes[x->node].node_id,
				ny = sort_ctx->items[0]->nodes[y->node].node_id;
	int64		ix = sort_ctx->lines[x->line].comps[0].stock->item_id,
				iy = sort_ctx->lines[y->line].comps[0].stock->item_id;

	/* the balances' order: item, then node (doc/concurrency.md, "Deadlocks") */
	if (ix != iy)
		return ix < iy ? -1 : 1;
	if (nx != ny)
		return nx < ny ? -1 : 1;
	return x->line - y->line;
}

/*
 * One pass of the rules over the lines still open; returns units filled, and
 * in *planned whether the plan asked any node for units.  The whole pass is
 * planned on the caps first, then carried out in the global order of the
 * balances (item, then node) (doc/concurrency.md).
 * A step that gets less than planned (a concurrent order took the units)
 * sets that node's cap for the item to 0, so the next pass plans elsewhere.
 */
static int64
AllocatePass(AllocContext *ctx, bool *planned)
{
	int			i,
				k,
				l;
	int64		filled = 0;
	int64	  **saved;
	int64	   *open_before;
	PlanStep   *plan;
	int			nsteps = 0;
	bool		any_open = false;
	bool		one_node = false;

	*planned = false;
	for (l = 0; l < ctx->nlines; l++)
		any_open |= ctx->lines[l].open > 0;
	if (!any_open || ctx->nnodes == 0)
		return 0;
	plan = palloc(sizeof(PlanStep) * ctx->nlines * ctx->nnodes);
	open_before = palloc(sizeof(int64) * ctx->nlines);
	for (l = 0; l < ctx->nlines; l++)
		open_before[l] = ctx->lines[l].open;

	/* 2. one node for the whole order */
	saved = palloc(sizeof(int64 *) * ctx->nitems);
	for (i = 0; i < ctx->nitems; i++)
	{
		saved[i] = palloc(sizeof(int64) * ctx->nnodes);
		memcpy(saved[i], ctx->items[i]->cap, sizeof(int64) * ctx->nnodes);
	}
	for (k = 0; k < ctx->nnodes && !one_node; k++)
	{
		int			n = ctx->order[k];
		bool		fits = true;

		/* a ship-complete order stays at the node it holds units at */
		if (ctx->pinned >= 0 && n != ctx->pinned)
			continue;

		for (l = 0; l < ctx->nlines && fits; l++)
		{
			AllocLine  *line = &ctx->lines[l];

			if (line->open == 0)
				continue;
			if (LineFillAt(line, n) < line->open)
				fits = false;
			else
				TakeCaps(line, n, line->open);
		}
		if (fits)
		{
			for (l = 0; l < ctx->nlines; l++)
				if (ctx->lines[l].open > 0)
					plan[nsteps++] = (PlanStep) {l, n, ctx->lines[l].open};
			one_node = true;
			if (ctx->ship_complete)
				ctx->pinned = n;
		}
		else
			for (i = 0; i < ctx->nitems; i++)
				memcpy(ctx->items[i]->cap, saved[i], sizeof(int64) * ctx->nnodes);
	}

	/* 3. the fewest nodes: the node that fills the most units, repeatedly (never ship-complete) */
	while (!one_node && !ctx->ship_complete)
	{
		int			best = -1;
		int64		best_units = 0;

		for (k = 0; k < ctx->nnodes; k++)
		{
			int			n = ctx->order[k];
			int64		units = 0;

			for (i = 0; i < ctx->nitems; i++)
				memcpy(saved[i], ctx->items[i]->cap, sizeof(int64) * ctx->nnodes);
			for (l = 0; l < ctx->nlines; l++)
			{
				int64		f = LineFillAt(&ctx->lines[l], n);

				TakeCaps(&ctx->lines[l], n, f);
				units += f;
			}
			for (i = 0; i < ctx->nitems; i++)
				memcpy(ctx->items[i]->cap, saved[i], sizeof(int64) * ctx->nnodes);
			if (units > best_units)
			{
				best = n;
				best_units = units;
			}
		}
		if (best < 0)
			break;
		for (l = 0; l < ctx->nlines; l++)
		{
			AllocLine  *line = &ctx->lines[l];
			int64		f = LineFillAt(line, best);

			if (f > 0)
			{
				TakeCaps(line, best, f);
				line->open -= f;	/* planned; restored before carrying out */
				plan[nsteps++] = (PlanStep) {l, best, f};
			}
		}
	}

	/* carry the plan out in the global lock order */
	for (l = 0; l < ctx->nlines; l++)
		ctx->lines[l].open = open_before[l];
	*planned = nsteps > 0;
	sort_ctx = ctx;
	qsort(plan, nsteps, sizeof(PlanStep), PlanStepCmp);
	for (k = 0; k < nsteps; k++)
		filled += FillLineAt(ctx, &ctx->lines[plan[k].line], plan[k].node, plan[k].units);
	return filled;
}

/*
 * Sets up the allocation of order: its nodes and stock are loaded with its
 * lines (LoadOpenLines or LoadNewLines).
 */
static void
AllocContextInit(AllocContext *ctx, const OrderHeader *order, int64 exclude_node_id, AllocResult *result)
{
	memset(ctx, 0, sizeof(AllocContext));
	ctx->order_id = order->order_id;
	ctx->channel_id = order->channel_id;
	ctx->ref = psprintf("order:" INT64_FORMAT, order->order_id);
	ctx->exclude_node_id = exclude_node_id;
	ctx->restricted = AccessRestricted();
	ctx->items = palloc(sizeof(ItemStock *));
	ctx->result = result;
	ctx->ship_complete = order->ship_complete;
	ctx->pinned = -1;
}

/*
 * A ship-complete order that holds units already stays at that node: it is
 * pinned.  (A plan that met a concurrent order gives back what it got,
 * ShipCompleteGiveBack, so these are units held before the call, e.g. the
 * other lines of an allocated order an edit added a line to.)
 */
static void
PinShipComplete(AllocContext *ctx)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		d;
	int			k;

	if (!ctx->ship_complete || ctx->fresh || ctx->nnodes == 0)
		return;
	IerpPlan(&plan, "SELECT min(node_id) FROM erp.reservation WHERE order_id = $1 AND qty > 0",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(ctx->order_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read reservations");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	for (k = 0; k < ctx->nnodes; k++)
		if (ctx->items[0]->nodes[k].node_id == DatumGetInt64(d))
			ctx->pinned = k;
	if (ctx->pinned < 0)
		ctx->pinned = ctx->nnodes;	/* its node is no candidate now: nothing more is planned */
}

/*
 * Records the substitutes this call chose for lines that got units of them
 * (erp.order_line_substitution, a line_substituted event): from then on
 * the line is filled with that substitute only.  A line that got nothing
 * (a concurrent order took the units, a ship-complete order gave them
 * back) is not bound: the next allocation chooses again.
 */
static void
RecordSubstitutions(AllocContext *ctx, const int64 *allocated_before)
{
	int			l;

	for (l = 0; l < ctx->nlines; l++)
	{
		AllocLine  *line = &ctx->lines[l];
		ItemStock  *is = line->comps[0].stock;

		if (line->subst_rank_new == 0 || line->qty_allocated <= allocated_before[l])
			continue;
		SubstituteRecordChoice(ctx->order_id, line->line_no, is->item_id, line->subst_rank_new);
		AllocEvent(ctx, "line_substituted", line->item_id, 0,
				   psprintf("{\"channel\": %s, \"line_no\": %d, \"sku\": %s, \"substitute_sku\": %s,"
							" \"rank\": %d, \"qty\": " INT64_FORMAT "}",
							ChannelCodeJson(ctx), line->line_no, IerpJsonQuote(line->sku),
							IerpJsonQuote(is->sku), line->subst_rank_new,
							line->qty_allocated - allocated_before[l]));
	}
}

/*
 * A ship-complete order that could not be filled whole (a concurrent order
 * took part of the units its plan counted on) gives back every unit this call
 * reserved, in the same transaction: it reserves nothing until the whole
 * order can go, and erp.allocate_pending fills it later, at whichever node can
 * fill it then.  allocated_before: each line's qty_allocated before the call.
 * (Units held before this call, e.g. of lines an edit left whole, stay.)
 */
static void
ShipCompleteGiveBack(AllocContext *ctx, const int64 *allocated_before)
{
	int			i,
				l;

	for (i = 0; i < ctx->ntakes; i++)
	{
		TakeRec    *t = &ctx->takes[i];
		int64		node_id = t->is->nodes[t->node].node_id;
		StockMove	m;

		if (t->qty <= 0)
			continue;
		OrderMove(&m, ctx, t->is, node_id, t->lot_id, t->qty, STATE_RESERVED, STATE_AVAILABLE, "release",
				  STOCK_TAKE_HELD, 0);
		StockApply(&m, 1, STOCK_DOCUMENT);
		/* a deferred order's reservations are its held rows, not written yet */
		if (!ctx->deferred)
			ReservationAdd(ctx, t->line_no, t->is->item_id, node_id, t->lot_id, -t->qty);
		HeldRowAdd(ctx, t->line_no, t->is, t->node, t->lot_id, NULL, -t->qty);
		ctx->reserved_units -= t->qty;
		LineStateOf(ctx, t->line_no)->held -= t->qty;
		t->is->atp_left[t->node] += t->qty;
		t->qty = 0;
	}
	for (l = 0; l < ctx->nlines; l++)
	{
		ctx->lines[l].qty_allocated = allocated_before[l];
		ctx->lines[l].open = ctx->lines[l].qty - allocated_before[l];
	}
}

/*
 * The rules over the loaded lines: the node preference, the passes, then
 * backorders (and their events) for what is left; the lines' numbers end in
 * ctx->states.
 */
static void
AllocateLines(AllocContext *ctx, const OrderHeader *order)
{
	int			l,
				k,
				pass,
				round;
	int64	   *allocated_before = palloc(sizeof(int64) * Max(ctx->nlines, 1));

	for (l = 0; l < ctx->nlines; l++)
		allocated_before[l] = ctx->lines[l].qty_allocated;
	if (ctx->nlines > 0 && ctx->nnodes > 0)
	{
		NodeStock  *nodes = ctx->items[0]->nodes;

		ctx->order = palloc(sizeof(int) * ctx->nnodes);
		ctx->distance = palloc(sizeof(double) * ctx->nnodes);
		for (k = 0; k < ctx->nnodes; k++)
		{
			ctx->order[k] = k;
			if (!order->has_ship_to)
				ctx->distance[k] = 0;
			else if (!nodes[k].has_coords)
				ctx->distance[k] = HUGE_VAL;	/* unknown distance: after every known one */
			else
				ctx->distance[k] = DistanceKm(order->latitude, order->longitude,
											 nodes[k].latitude, nodes[k].longitude);
		}
		if (order->has_service)
		{
			int64	   *ids = palloc(sizeof(int64) * ctx->nnodes);

			for (k = 0; k < ctx->nnodes; k++)
				ids[k] = nodes[k].node_id;
			ctx->meets = palloc0(sizeof(bool) * ctx->nnodes);
			if (!OrderServiceNodes(ctx->order_id, ctx->nnodes, ids, ctx->meets, &ctx->express))
				ctx->meets = NULL;
		}
		sort_ctx = ctx;
		qsort(ctx->order, ctx->nnodes, sizeof(int), NodePreferenceCmp);

		/*
		 * A pass that met a concurrent order plans again with what is left,
		 * also when it got nothing at all: the loser of a race for the last
		 * unit at the preferred node goes on to the next node.  Every pass
		 * fills units or takes a node out of the plan (its cap to 0), and a
		 * pass that fills all it planned leaves nothing more to plan, so the
		 * loop ends; the bound is a guard.
		 */
		for (round = 0; round < 2; round++)
		{
			bool		open = false;

			for (pass = 0; pass <= ctx->nnodes * ctx->nitems + 1; pass++)
			{
				bool		planned;

				(void) AllocatePass(ctx, &planned);
				if (!planned)
					break;
			}

			/*
			 * Lines left open were planned on a read made before this order
			 * owned anything: read the stock again once and plan the rest.
			 */
			for (l = 0; l < ctx->nlines; l++)
				open |= ctx->lines[l].open > 0;
			if (!open || round == 1)
				break;
			for (k = 0; k < ctx->nitems; k++)
				if (!ItemStockRefresh(ctx, ctx->items[k]))
					open = false;
			if (!open)
				break;
		}
	}

	/*
	 * A ship-complete order that no node can fill whole waits: its lines
	 * stay open (or backordered) for erp.allocate_pending, never short.
	 */
	if (ctx->ship_complete)
	{
		bool		whole = true;

		for (l = 0; l < ctx->nlines; l++)
			if (ctx->lines[l].open > 0)
				whole = false;
		if (!whole)
		{
			ctx->contended = true;
			ShipCompleteGiveBack(ctx, allocated_before);
		}
	}
	RecordSubstitutions(ctx, allocated_before);

	/* 5. backorder or short what is left; record the lines */
	for (l = 0; l < ctx->nlines; l++)
	{
		AllocLine  *line = &ctx->lines[l];
		LineState  *st = LineStateOf(ctx, line->line_no);
		int64		backordered = line->allow_backorder ? line->qty - line->qty_allocated : 0;

		if (st->qty_allocated != line->qty_allocated || st->qty_backordered != backordered)
		{
			st->qty_allocated = line->qty_allocated;
			st->qty_backordered = backordered;
			st->changed = true;
		}
		if (backordered > line->qty_backordered)
			AllocEvent(ctx, "backorder_created", line->item_id, 0,
						psprintf("{\"channel\": %s, \"sku\": %s, \"line_no\": %d, \"qty\": " INT64_FORMAT "}",
								 ChannelCodeJson(ctx), IerpJsonQuote(line->sku), line->line_no, backordered));
	}

}

/*
 * AllocateOrder: runs the rules for an order whose row the caller has
 * locked (OrderLock); never uses exclude_node_id (0: none).  Returns the
 * units reserved.
 */
int64
AllocateOrder(const OrderHeader *order, int64 exclude_node_id, AllocResult *result)
{
	AllocContext ctx;
	int			l;
	const char *order_status;

	AllocContextInit(&ctx, order, exclude_node_id, result);
	LoadOpenLines(&ctx);
	/* a new order (every line open, nothing held): the result is what this call reserves */
	ctx.fresh = ctx.nstates > 0 && ctx.nlines == ctx.nstates;
	for (l = 0; l < ctx.nstates && ctx.fresh; l++)
		ctx.fresh = ctx.states[l].held == 0;
	/* ... and on one node its reservations are written at once at the end */
	ctx.deferred = ctx.fresh && !ctx.has_kit && OrderRowsDirect();
	PinShipComplete(&ctx);
	AllocateLines(&ctx, order);
	if (ctx.deferred)
		WriteHeldReservations(&ctx);

	/*
	 * A line left unfilled because stock was held by transactions this one
	 * could not wait for (the global lock order) is not short: it stays open
	 * (or partially allocated) for the next erp.allocate_pending.
	 */
	order_status = OrderWriteStatus(order, !ctx.contended, ctx.states, ctx.nstates);
	if (order->has_service && ctx.reserved_units > 0)
		OrderServiceAllocated(order->order_id);
	if (result)
	{
		if (ctx.fresh)
			ReportFromMemory(&ctx, result, order_status);
		else
			ReportFromOrder(order->order_id, result);
	}
	return ctx.reserved_units;
}

/*
 * AllocateNewOrder: erp.place_order's allocation of a new order of plain
 * items whose rows are not written yet (OrderOwnNew owns it): runs the
 * rules on its lines in memory, then writes the order, its lines and its
 * reservations once, with their final numbers and statuses, and puts what it
 * holds into result.
 */
void
AllocateNewOrder(const OrderHeader *order, NewOrder *fresh, AllocResult *result)
{
	AllocContext ctx;
	int			l,
				nchanged;
	const char *order_status;

	Assert(fresh->deferred);
	AllocContextInit(&ctx, order, 0, result);
	LoadNewLines(&ctx, fresh);
	ctx.fresh = ctx.deferred = ctx.order_unwritten = true;
	AllocateLines(&ctx, order);
	order_status = OrderDeriveStatus(order, !ctx.contended, ctx.states, ctx.nstates, &nchanged);
	fresh->order.status = order_status;
	for (l = 0; l < fresh->nlines; l++)
	{
		LineState  *st = LineStateOf(&ctx, fresh->lines[l].line_no);

		fresh->lines[l].qty_allocated = st->qty_allocated;
		fresh->lines[l].qty_backordered = st->qty_backordered;
		fresh->lines[l].status = st->new_status;
	}
	OrderRowsInsert(&fresh->order, fresh->lines, fresh->nlines);
	WriteHeldReservations(&ctx);
	fresh->deferred = false;
	ctx.order_unwritten = false;
	FlushPendingEvents(&ctx);
	if (result)
		ReportFromMemory(&ctx, result, order_status);
}

/*
 * Units of a line that are neither held, shipped nor backordered (its
 * qty_allocated counts held and shipped units); a cancelled line is short
 * of nothing: nobody waits for it.
 */
static int64
LineShort(const char *line_status, int64 qty, int64 qty_allocated, int64 qty_backordered)
{
	if (strcmp(line_status, "cancelled") == 0)
		return 0;
	return Max(qty - qty_allocated - qty_backordered, 0);
}

/* An enum label as a Datum of the result column attno's enum type. */
static Datum
EnumDatum(TupleDesc desc, int attno, const char *label)
{
	return DirectFunctionCall2(enum_in, CStringGetDatum(label),
							   ObjectIdGetDatum(TupleDescAttr(desc, attno)->atttypid));
}

/* Result column numbers of erp.allocate (place_order's come after its two leading ones). */
#define RESULT_LINE_NO			0
#define RESULT_SKU				1
#define RESULT_NODE				2
#define RESULT_LOT				3
#define RESULT_QTY				4
#define RESULT_LINE_STATUS		5
#define RESULT_BACKORDERED		6
#define RESULT_SHORT			7
#define RESULT_ORDER_STATUS		8
#define RESULT_NATTS			9

/* One result row: a reservation (node not NULL) or a line that holds nothing. */
static void
ReportRow(AllocResult *result, int64 order_id, int32 line_no, const char *sku, const char *node,
		  const char *lot, int64 qty, const char *line_status, int64 qty_backordered, int64 qty_short,
		  const char *order_status)
{
	Datum		values[RESULT_NATTS + 2];
	bool		nulls[RESULT_NATTS + 2];
	int			o = result->with_order ? 2 : 0;

	if (result->desc->natts != RESULT_NATTS + o)
		elog(ERROR, "inventory_erp: allocation result has %d columns, expected %d",
			 result->desc->natts, RESULT_NATTS + o);
	memset(nulls, false, sizeof(nulls));
	if (result->with_order)
	{
		values[0] = Int64GetDatum(order_id);
		values[1] = BoolGetDatum(result->created);
	}
	values[o + RESULT_LINE_NO] = Int32GetDatum(line_no);
	values[o + RESULT_SKU] = CStringGetTextDatum(sku);
	values[o + RESULT_NODE] = node ? CStringGetTextDatum(node) : (Datum) 0;
	nulls[o + RESULT_NODE] = node == NULL;
	values[o + RESULT_LOT] = lot ? CStringGetTextDatum(lot) : (Datum) 0;
	nulls[o + RESULT_LOT] = lot == NULL;
	values[o + RESULT_QTY] = Int64GetDatum(qty);
	values[o + RESULT_LINE_STATUS] = EnumDatum(result->desc, o + RESULT_LINE_STATUS, line_status);
	values[o + RESULT_BACKORDERED] = Int64GetDatum(qty_backordered);
	values[o + RESULT_SHORT] = Int64GetDatum(qty_short);
	values[o + RESULT_ORDER_STATUS] = EnumDatum(result->desc, o + RESULT_ORDER_STATUS, order_status);
	tuplestore_putvalues(result->store, result->desc, values, nulls);
}

/* Result rows in line order, then sku, node and lot (byte order, as ReportFromOrder's COLLATE "C"). */
static int
HeldRowCmp(const void *a, const void *b)
{
	const HeldRow *x = a,
			   *y = b;
	int			c;

	if (x->line_no != y->line_no)
		return x->line_no < y->line_no ? -1 : 1;
	if ((c = strcmp(x->sku, y->sku)) != 0)
		return c;
	if ((c = strcmp(x->node, y->node)) != 0)
		return c;
	/* no lot after every lot, as ORDER BY puts NULLs last */
	if (x->lot == NULL || y->lot == NULL)
		return (x->lot == NULL) - (y->lot == NULL);
	return strcmp(x->lot, y->lot);
}

/*
 * The result of a fresh order's allocation, from what this call reserved
 * (no statement): every line was open and held nothing before.
 */
static void
ReportFromMemory(AllocContext *ctx, AllocResult *result, const char *order_status)
{
	int			l,
				h = 0;

	qsort(ctx->held, ctx->nheld, sizeof(HeldRow), HeldRowCmp);
	for (l = 0; l < ctx->nlines; l++)
	{
		AllocLine  *line = &ctx->lines[l];
		LineState  *st = LineStateOf(ctx, line->line_no);
		int64		qty_short = LineShort(st->new_status, st->qty, st->qty_allocated, st->qty_backordered);
		bool		any = false;

		for (; h < ctx->nheld && ctx->held[h].line_no == line->line_no; h++)
		{
			HeldRow    *row = &ctx->held[h];

			if (row->qty == 0)
				continue;
			ReportRow(result, ctx->order_id, row->line_no, row->sku, row->node, row->lot, row->qty,
					  st->new_status, st->qty_backordered, qty_short, order_status);
			any = true;
		}
		if (!any)
			ReportRow(result, ctx->order_id, line->line_no, line->sku, NULL, NULL, 0,
					  st->new_status, st->qty_backordered, qty_short, order_status);
	}
}

/*
 * The result as the order stands (read after this call's writes): its
 * reservations, and a row for each line that holds nothing.
 */
static void
ReportFromOrder(int64 order_id, AllocResult *result)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	uint64		i;

	IerpPlan(&plan,
			 "SELECT l.line_no, COALESCE(ri.sku, li.sku), nd.code, lt.lot_code, COALESCE(r.qty, 0),"
			 "       l.status::pg_catalog.text, l.qty, l.qty_allocated, l.qty_backordered,"
			 "       o.status::pg_catalog.text"
			 "  FROM erp.sales_order o"
			 "  JOIN erp.order_line l ON l.order_id = o.order_id"
			 "  JOIN erp.item li ON li.item_id = l.item_id"
			 "  LEFT JOIN erp.reservation r ON r.order_id = l.order_id AND r.line_no = l.line_no AND r.qty > 0"
			 "  LEFT JOIN erp.item ri ON ri.item_id = r.item_id"
			 "  LEFT JOIN erp.node nd ON nd.node_id = r.node_id"
			 "  LEFT JOIN erp.lot lt ON lt.item_id = r.item_id AND lt.lot_id = r.lot_id"
			 " WHERE o.order_id = $1"
			 " ORDER BY l.line_no, COALESCE(ri.sku, li.sku) COLLATE \"C\", nd.code COLLATE \"C\","
			 "          lt.lot_code COLLATE \"C\"",
			 1, argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read what order " INT64_FORMAT " holds", order_id);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *line_status = SPI_getvalue(tup, desc, 6);
		int64		qty_backordered = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));

		ReportRow(result, order_id,
				  DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)),
				  SPI_getvalue(tup, desc, 2), SPI_getvalue(tup, desc, 3), SPI_getvalue(tup, desc, 4),
				  DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull)),
				  line_status, qty_backordered,
				  LineShort(line_status, DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull)),
							DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull)), qty_backordered),
				  SPI_getvalue(tup, desc, 10));
	}
}

/*
 * AllocateAndReport: erp.allocate's work on an order the caller owns
 * (OrderLock) and may act on: allocates its open lines unless it is packed,
 * shipped or cancelled (then it only reports: nothing is written, no stock
 * is touched), and puts what the order holds into result.
 */
void
AllocateAndReport(const OrderHeader *order, AllocResult *result)
{
	if (strcmp(order->status, "packed") == 0 || strcmp(order->status, "shipped") == 0 ||
		strcmp(order->status, "cancelled") == 0)
		ReportFromOrder(order->order_id, result);
	else if (OrderHoldBlocks(order))
	{
		/* held (order_hold.c): place_order reports what it holds, erp.allocate is refused */
		if (!result->with_order)
			OrderHoldRefuse(order);
		ReportFromOrder(order->order_id, result);
	}
	else
		(void) AllocateOrder(order, 0, result);
}

/*
 * erp.allocate(order_id): reserves stock for every open line of the order
 * and returns what it holds afterwards, with each line's status, what is
 * backordered and short, and the order's status.  An order with nothing left
 * to allocate (allocated, picking, packed, shipped, cancelled) is no error:
 * the call returns what it holds.  IE003 unknown order, IE009 a partner's
 * order that is not its own, IE010 an order on hold (order_hold.c).
 */
static Datum
ierp_allocate_body(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrderHeader order;
	AllocResult result;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	OrderLock(IerpIdArg(fcinfo, 0, "order"), &order);
	AccessCheckOrder(order.order_id);
	result.store = rsinfo->setResult;
	result.desc = rsinfo->setDesc;
	result.with_order = false;
	result.created = false;
	AllocateAndReport(&order, &result);
	SPI_finish();
	return (Datum) 0;
}

/*
 * erp.allocate_pending works through the waiting orders in groups of
 * PENDING_GROUP, each group in one subtransaction.  A group that fails is
 * rolled back and its orders are done again one subtransaction each, so that
 * only the failing order is left out.  (A subtransaction per order would
 * cost what PostgreSQL keeps for each until the transaction ends: a lock on
 * its transaction id and about 8 kB of memory; per group that is small.)
 */
#define PENDING_GROUP	64

/*
 * Allocates the waiting orders ids[0..n-1] in one subtransaction; each order
 * with its own SPI connection in order_ctx, reset after it, so memory stays
 * flat however many orders there are.  Returns false when the subtransaction
 * failed and was rolled back (nothing of the group remains); with report, a
 * WARNING names the error then.  A cancel or shutdown is raised again.
 * *served counts the orders that received stock.  Orders another session
 * holds, or whose status changed since the list was read, are skipped; a
 * partner's session is refused orders not its own (IE009: no WARNING).
 */
static bool
AllocatePendingGroup(const int64 *ids, int n, MemoryContext order_ctx, bool report, int32 *served)
{
	MemoryContext caller_ctx = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	volatile int32 count = 0;
	volatile int64 current = 0;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		int			i;

		for (i = 0; i < n; i++)
		{
			OrderHeader order;

			CHECK_FOR_INTERRUPTS();
			current = ids[i];
			MemoryContextSwitchTo(order_ctx);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "inventory_erp: SPI_connect failed");
			if (OrderTryLock(ids[i], &order) &&
				(strcmp(order.status, "open") == 0 || strcmp(order.status, "backordered") == 0 ||
				 strcmp(order.status, "partially_allocated") == 0) &&
				!OrderHoldBlocks(&order))
			{
				AccessCheckOrder(ids[i]);
				if (AllocateOrder(&order, 0, NULL) > 0)
					count++;
			}
			SPI_finish();
			MemoryContextSwitchTo(caller_ctx);
			MemoryContextReset(order_ctx);
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_ctx);
		CurrentResourceOwner = caller_owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller_ctx);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_ctx);
		CurrentResourceOwner = caller_owner;
		MemoryContextReset(order_ctx);
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
			edata->sqlerrcode == ERRCODE_OUT_OF_MEMORY || edata->elevel >= FATAL)
			ReThrowError(edata);
		if (report && edata->sqlerrcode != ERRCODE_IERP_APPROVAL_REQUIRED)
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("inventory_erp: order " INT64_FORMAT " was not allocated: %s", current,
							edata->message),
					 errdetail("The order stays as it was; erp.allocate_pending went on with the next order.")));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	if (ok)
		*served += count;
	return ok;
}

/*
 * erp.allocate_pending(max_orders): allocates waiting orders by the order's
 * priority, then its channel's, then age; orders another session is working
 * on are skipped, and so are orders that fail (a WARNING names each): one
 * order cannot abort the batch.  A partner's session handles its own orders
 * only.  Returns how many orders received stock.  Memory stays flat however
 * many orders there are: each order's work is freed when it is done.
 */
static Datum
ierp_allocate_pending_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	Datum		values[1];
	char		nulls[1] = {' '};
	int64	   *ids;
	uint64		i,
				n;
	int32		served = 0;
	int			group;
	MemoryContext order_ctx;

	if (!PG_ARGISNULL(0) && PG_GETARG_INT32(0) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid max_orders %d", PG_GETARG_INT32(0)),
				 errdetail("max_orders is NULL (no limit) or a number of orders >= 0.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plan,
			 "SELECT o.order_id FROM erp.sales_order o JOIN erp.channel c ON c.channel_id = o.channel_id"
			 " WHERE o.status IN ('open', 'backordered', 'partially_allocated')"
			 /* held orders wait for their release (order_hold.c), unless their channel lets them reserve */
			 "   AND NOT EXISTS (SELECT 1 FROM erp.order_hold h"
			 "                    WHERE h.order_id = o.order_id AND h.released_at IS NULL"
			 "                      AND NOT COALESCE((SELECT r.held_orders_reserve FROM erp.channel_order_rules r"
			 "                                         WHERE r.channel_id = o.channel_id), false))"
			 " ORDER BY o.priority DESC, c.priority DESC, o.created_at, o.order_id LIMIT $1",
			 1, argtypes);
	values[0] = Int64GetDatum(PG_ARGISNULL(0) ? 0 : (int64) PG_GETARG_INT32(0));
	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read pending orders");
	ids = IerpSpiInt64Column(&n);

	/* a partner meets other partners' orders (refused): one at a time then */
	group = AccessRestricted() ? 1 : PENDING_GROUP;
	order_ctx = AllocSetContextCreate(CurrentMemoryContext, "allocate_pending order",
									  ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i += group)
	{
		int			g = (int) Min((uint64) group, n - i);

		if (!AllocatePendingGroup(&ids[i], g, order_ctx, g == 1, &served))
		{
			int			k;

			for (k = 0; g > 1 && k < g; k++)
				(void) AllocatePendingGroup(&ids[i + k], 1, order_ctx, true, &served);
		}
	}
	MemoryContextDelete(order_ctx);
	SPI_finish();
	PG_RETURN_INT32(served);
}
