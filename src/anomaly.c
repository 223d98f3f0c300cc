/*-------------------------------------------------------------------------
 *
 * anomaly.c
 *	  erp.detect_anomalies() and erp.close_anomaly(): finds what is unusual in
 *	  the history the ledger and the documents hold, with robust statistics
 *	  (anomaly_stats.c), and records each finding once as a row of
 *	  erp.anomaly and an `anomaly` event (events.c: consumers and NOTIFY see
 *	  it).  doc/planning-signals.md gives every formula and threshold.
 *
 *	  Four detectors, each a series per key and a test of its recent
 *	  observations against the whole series (median and MAD, modified z-score
 *	  above ANOMALY_Z_THRESHOLD, ANOMALY_MIN_HISTORY observations at least):
 *	  - counts and adjustments per item and node (units of each count's
 *	    variance, zero variances included, and of each adjustment by hand),
 *	    and per node the signed value of its adjustments: a loss is kind
 *	    `shrinkage`, a gain kind `adjustment`; one finding per count or
 *	    adjustment, scored by the larger of its two tests;
 *	  - pick exceptions per node and day (`pick_exceptions`, upward only);
 *	  - the weekly return rate per sku (`return_rate`, upward only).
 *	  A finding is keyed (kind, ref): a second run, or a run after the
 *	  anomaly was closed, adds nothing for the same count, day or week.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "ierp.h"
#include "anomaly.h"

IERP_OWNER_ENTRY(ierp_anomaly_detect);
IERP_OWNER_ENTRY(ierp_anomaly_close);

#define ANOMALY_REF_LEN		192
#define ANOMALY_KIND_LEN	24
#define ANOMALY_DETAIL_LEN	1024

/* One finding, keyed by ref ("count:12", "pick_exceptions:DC1:2026-12-01", ...). */
typedef struct AnomalyFlag
{
	char		ref[ANOMALY_REF_LEN];	/* hash key: first */
	char		kind[ANOMALY_KIND_LEN];
	int64		item_id;		/* 0: none */
	int64		node_id;		/* 0: none */
	double		score;			/* the largest |z| of its tests */
	double		value;			/* money at stake, >= 0 */
	int			detail_len;
	char		detail[ANOMALY_DETAIL_LEN];	/* JSON members, without braces */
} AnomalyFlag;

/* A column of the current SPI result row, as a double (NULL: 0). */
static double
ColDouble(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0.0 : DatumGetFloat8(d);
}

static int64
ColInt64(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static bool
ColBool(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * FlagAppend: appends JSON members to a flag's detail, as far as they fit
 * (a member that does not fit whole is left out, so the detail stays JSON).
 */
static void
FlagAppend(AnomalyFlag *flag, const char *fmt,...) pg_attribute_printf(2, 3);

static void
FlagAppend(AnomalyFlag *flag, const char *fmt,...)
{
	char		member[ANOMALY_DETAIL_LEN];
	va_list		args;
	int			len;
	int			need;

	va_start(args, fmt);
	len = vsnprintf(member, sizeof(member), fmt, args);
	va_end(args);
	if (len < 0 || len >= (int) sizeof(member))
		return;
	need = len + (flag->detail_len > 0 ? 2 : 0);
	if (flag->detail_len + need >= ANOMALY_DETAIL_LEN)
		return;
	if (flag->detail_len > 0)
	{
		memcpy(flag->detail + flag->detail_len, ", ", 2);
		flag->detail_len += 2;
	}
	memcpy(flag->detail + flag->detail_len, member, len);
	flag->detail_len += len;
	flag->detail[flag->detail_len] = '\0';
}

/* JSON for a number: finite doubles only (NaN and infinities are no JSON). */
static double
Finite(double v)
{
	return isfinite(v) ? v : 0.0;
}

/*
 * FlagFor: the finding for ref, created with kind, item and node when new;
 * a later test of the same observation raises its score and adds detail.
 */
static AnomalyFlag *
FlagFor(HTAB *flags, const char *ref, const char *kind, int64 item_id, int64 node_id)
{
	char		key[ANOMALY_REF_LEN];
	AnomalyFlag *flag;
	bool		found;

	MemSet(key, 0, sizeof(key));
	strlcpy(key, ref, sizeof(key));
	flag = hash_search(flags, key, HASH_ENTER, &found);
	if (!found)
	{
		strlcpy(flag->kind, kind, sizeof(flag->kind));
		flag->item_id = item_id;
		flag->node_id = node_id;
		flag->score = 0.0;
		flag->value = 0.0;
		flag->detail_len = 0;
		flag->detail[0] = '\0';
	}
	return flag;
}

/*
 * The counts and adjustments of the last year, one row each:
 * item_id, node_id, ref, units (signed), value (signed), recent (last 30 days).
 */
#define ANOMALY_STOCK_SQL \
	"SELECT o.item_id, o.node_id, o.ref, o.x::float8, o.value::float8," \
	"       o.at >= pg_catalog.now() - interval '30 days', o.at" \
	"  FROM (SELECT c.item_id, c.node_id, 'count:' || c.cycle_count_id AS ref, c.variance AS x," \
	"               c.variance * c.unit_cost AS value, c.counted_at AS at" \
	"          FROM erp.cycle_count c" \
	"         WHERE c.counted_at >= pg_catalog.now() - interval '365 days'" \
	"        UNION ALL" \
	"        SELECT a.item_id, a.node_id, 'adjustment:' || a.adjustment_id, a.qty_delta," \
	"               pg_catalog.sign(a.qty_delta) * a.value, a.created_at" \
	"          FROM erp.adjustment a" \
	"         WHERE a.created_at >= pg_catalog.now() - interval '365 days' AND a.status <> 'rejected'" \
	"           AND NOT EXISTS (SELECT 1 FROM erp.cycle_count c" \
	"                            WHERE c.item_id = a.item_id AND c.adjustment_id = a.adjustment_id)) o"

/*
 * DetectStock: unusual counts and adjustments.  Series 1: units per item and
 * node (floor scale 1 unit).  Series 2: the signed value of every non-zero
 * count variance and adjustment per node (floor scale 1.00).
 */
static void
DetectStock(HTAB *flags, MemoryContext series_ctx)
{
	static SPIPlanPtr by_item_plan = NULL;
	static SPIPlanPtr by_node_plan = NULL;
	int			pass;

	IerpPlan(&by_item_plan, ANOMALY_STOCK_SQL " ORDER BY o.item_id, o.node_id, o.at, o.ref", 0, NULL);
	IerpPlan(&by_node_plan, ANOMALY_STOCK_SQL " WHERE o.x <> 0 ORDER BY o.node_id, o.at, o.ref", 0, NULL);

	for (pass = 0; pass < 2; pass++)
	{
		bool		by_item = (pass == 0);
		uint64		start = 0;
		uint64		nrows;

		if (SPI_execute_plan(by_item ? by_item_plan : by_node_plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read the counts and adjustments");
		nrows = SPI_processed;
		while (start < nrows)
		{
			uint64		end = start;
			int			n;
			uint64		i;
			double	   *xs;
			RobustFit	fit;
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			/* the series: rows with the same item and node (or node) */
			while (end < nrows && ColInt64(end, 2) == ColInt64(start, 2) &&
				   (!by_item || ColInt64(end, 1) == ColInt64(start, 1)))
				end++;
			n = (int) (end - start);
			if (n >= ANOMALY_MIN_HISTORY)
			{
				old = MemoryContextSwitchTo(series_ctx);
				xs = palloc(sizeof(double) * n);
				for (i = start; i < end; i++)
					xs[i - start] = by_item ? ColDouble(i, 4) : ColDouble(i, 5);
				RobustFitSeries(xs, n, 1.0, &fit);
				for (i = start; i < end; i++)
				{
					double		x = xs[i - start];
					double		z = RobustZ(&fit, x);
					char	   *ref;
					AnomalyFlag *flag;

					if (!ColBool(i, 6) || fabs(z) <= ANOMALY_Z_THRESHOLD)
						continue;
					ref = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
					flag = FlagFor(flags, ref, ColDouble(i, 4) < 0 ? "shrinkage" : "adjustment",
								   ColInt64(i, 1), ColInt64(i, 2));
					flag->score = Max(flag->score, fabs(z));
					flag->value = fabs(ColDouble(i, 5));
					if (flag->detail_len == 0)
						FlagAppend(flag, "\"units\": %.0f, \"value\": %.2f",
								   Finite(ColDouble(i, 4)), Finite(ColDouble(i, 5)));
					if (by_item)
						FlagAppend(flag, "\"item_node\": {\"z\": %.2f, \"median\": %.2f, \"mad\": %.2f, \"n\": %d}",
								   Finite(z), Finite(fit.median), Finite(fit.mad), n);
					else
						FlagAppend(flag, "\"node_value\": {\"z\": %.2f, \"median\": %.2f, \"mad\": %.2f, \"n\": %d}",
								   Finite(z), Finite(fit.median), Finite(fit.mad), n);
				}
				MemoryContextSwitchTo(old);
				MemoryContextReset(series_ctx);
			}
			start = end;
		}
		SPI_freetuptable(SPI_tuptable);
	}
}

/*
 * DetectPickExceptions: pick_exception events per node and day over the
 * last 90 days (days without any count 0); a day of the last 7 above the
 * threshold (upward, floor scale 1 exception) is a burst.  Its value is what
 * the orders that met the exceptions are worth.
 */
static void
DetectPickExceptions(HTAB *flags, MemoryContext series_ctx)
{
	static SPIPlanPtr plan = NULL;
	uint64		nrows;
	uint64		start = 0;

	IerpPlan(&plan,
			 "WITH daily AS ("
			 "  SELECT e.node_id, e.at::date AS day, count(*) AS n,"
			 "         pg_catalog.array_agg(DISTINCT e.order_id) FILTER (WHERE e.order_id IS NOT NULL) AS orders"
			 "    FROM erp.event e"
			 "   WHERE e.kind = 'pick_exception' AND e.node_id IS NOT NULL"
			 "     AND e.at >= CURRENT_DATE - 89"
			 "   GROUP BY 1, 2)"
			 " SELECT n.node_id, nd.code, d.day::date::text, COALESCE(y.n, 0)::float8,"
			 "        d.day::date >= CURRENT_DATE - 6,"
			 "        COALESCE((SELECT sum(ol.qty * ol.unit_price) FROM erp.order_line ol"
			 "                   WHERE ol.order_id = ANY (y.orders)), 0)::float8"
			 "   FROM (SELECT DISTINCT node_id FROM daily) n"
			 "   JOIN erp.node nd ON nd.node_id = n.node_id"
			 "  CROSS JOIN pg_catalog.generate_series(CURRENT_DATE - 89, CURRENT_DATE,"
			 "                                        interval '1 day') AS d(day)"
			 "   LEFT JOIN daily y ON y.node_id = n.node_id AND y.day = d.day::date"
			 "  ORDER BY n.node_id, d.day",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the pick exceptions");
	nrows = SPI_processed;
	while (start < nrows)
	{
		uint64		end = start;
		uint64		i;
		int			n;
		double	   *xs;
		RobustFit	fit;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		while (end < nrows && ColInt64(end, 1) == ColInt64(start, 1))
			end++;
		n = (int) (end - start);
		old = MemoryContextSwitchTo(series_ctx);
		xs = palloc(sizeof(double) * n);
		for (i = start; i < end; i++)
			xs[i - start] = ColDouble(i, 4);
		RobustFitSeries(xs, n, 1.0, &fit);
		for (i = start; i < end && n >= ANOMALY_MIN_HISTORY; i++)
		{
			double		z = RobustZ(&fit, xs[i - start]);
			char	   *code;
			char	   *day;
			char		ref[ANOMALY_REF_LEN];
			AnomalyFlag *flag;

			if (!ColBool(i, 5) || z <= ANOMALY_Z_THRESHOLD)
				continue;
			code = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
			day = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
			snprintf(ref, sizeof(ref), "pick_exceptions:%s:%s", code, day);
			flag = FlagFor(flags, ref, "pick_exceptions", 0, ColInt64(i, 1));
			flag->score = z;
			flag->value = ColDouble(i, 6);
			FlagAppend(flag, "\"day\": \"%s\", \"exceptions\": %.0f, \"orders_value\": %.2f", day,
					   xs[i - start], Finite(flag->value));
			FlagAppend(flag, "\"node_days\": {\"z\": %.2f, \"median\": %.2f, \"mad\": %.2f, \"n\": %d}",
					   Finite(z), Finite(fit.median), Finite(fit.mad), n);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(series_ctx);
		start = end;
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * DetectReturnRates: per sku and week (26 weeks), units authorised for
 * return over units shipped, for the weeks with shipments; the current or
 * the last week above the threshold (upward, floor scale 0.02) with at least
 * 3 units returned is a jump.  Its value is the excess returned units at the
 * item's price.
 */
static void
DetectReturnRates(HTAB *flags, MemoryContext series_ctx)
{
	static SPIPlanPtr plan = NULL;
	uint64		nrows;
	uint64		start = 0;

	IerpPlan(&plan,
			 "WITH s AS (SELECT sl.item_id, pg_catalog.date_trunc('week', sh.shipped_at)::date AS wk,"
			 "                  sum(sl.qty) AS shipped"
			 "             FROM erp.shipment_line sl JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id"
			 "            WHERE sh.shipped_at >= pg_catalog.date_trunc('week', pg_catalog.now()) - interval '25 weeks'"
			 "            GROUP BY 1, 2),"
			 "      r AS (SELECT l.item_id, pg_catalog.date_trunc('week', r.authorized_at)::date AS wk,"
			 "                  sum(l.qty) AS returned"
			 "             FROM erp.rma_line l JOIN erp.rma r ON r.rma_id = l.rma_id"
			 "            WHERE r.authorized_at >= pg_catalog.date_trunc('week', pg_catalog.now()) - interval '25 weeks'"
			 "            GROUP BY 1, 2)"
			 " SELECT s.item_id, i.sku, s.wk::text, COALESCE(r.returned, 0)::float8 / s.shipped,"
			 "        s.shipped::float8, COALESCE(r.returned, 0)::float8,"
			 "        s.wk >= pg_catalog.date_trunc('week', pg_catalog.now())::date - 7, i.unit_price::float8"
			 "   FROM s LEFT JOIN r ON r.item_id = s.item_id AND r.wk = s.wk"
			 "   JOIN erp.item i ON i.item_id = s.item_id"
			 "  ORDER BY s.item_id, s.wk",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the return rates");
	nrows = SPI_processed;
	while (start < nrows)
	{
		uint64		end = start;
		uint64		i;
		int			n;
		double	   *xs;
		RobustFit	fit;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		while (end < nrows && ColInt64(end, 1) == ColInt64(start, 1))
			end++;
		n = (int) (end - start);
		if (n >= ANOMALY_MIN_HISTORY)
		{
			old = MemoryContextSwitchTo(series_ctx);
			xs = palloc(sizeof(double) * n);
			for (i = start; i < end; i++)
				xs[i - start] = ColDouble(i, 4);
			RobustFitSeries(xs, n, 0.02, &fit);
			for (i = start; i < end; i++)
			{
				double		rate = xs[i - start];
				double		z = RobustZ(&fit, rate);
				char	   *sku;
				char	   *week;
				char		ref[ANOMALY_REF_LEN];
				AnomalyFlag *flag;

				if (!ColBool(i, 7) || z <= ANOMALY_Z_THRESHOLD || ColDouble(i, 6) < 3)
					continue;
				sku = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
				week = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
				snprintf(ref, sizeof(ref), "return_rate:%s:%s", sku, week);
				flag = FlagFor(flags, ref, "return_rate", ColInt64(i, 1), 0);
				flag->score = z;
				flag->value = Finite((rate - fit.median) * ColDouble(i, 5) * ColDouble(i, 8));
				FlagAppend(flag, "\"week\": \"%s\", \"shipped\": %.0f, \"returned\": %.0f, \"rate\": %.4f",
						   week, ColDouble(i, 5), ColDouble(i, 6), Finite(rate));
				FlagAppend(flag, "\"sku_weeks\": {\"z\": %.2f, \"median\": %.4f, \"mad\": %.4f, \"n\": %d}",
						   Finite(z), Finite(fit.median), Finite(fit.mad), n);
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(series_ctx);
		}
		start = end;
	}
	SPI_freetuptable(SPI_tuptable);
}

static int
FlagCompare(const void *a, const void *b)
{
	const AnomalyFlag *x = *(AnomalyFlag *const *) a;
	const AnomalyFlag *y = *(AnomalyFlag *const *) b;
	int			c = strcmp(x->kind, y->kind);

	return c != 0 ? c : strcmp(x->ref, y->ref);
}

/*
 * WriteFlags: inserts each finding not recorded yet (kind, ref) into
 * erp.anomaly and writes its anomaly event; returns how many were new.
 * In (kind, ref) order, so that ids follow it.
 */
static int
WriteFlags(HTAB *flags, MemoryContext row_ctx)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {TEXTOID, TEXTOID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, TEXTOID};
	long		nflags = hash_get_num_entries(flags);
	AnomalyFlag **sorted;
	HASH_SEQ_STATUS seq;
	AnomalyFlag *flag;
	long		i = 0;
	int			added = 0;

	if (nflags == 0)
		return 0;
	IerpPlan(&plan,
			 "INSERT INTO erp.anomaly (kind, ref, item_id, node_id, score, value, detail)"
			 " VALUES ($1, $2, NULLIF($3, 0), NULLIF($4, 0), round($5::numeric, 2), round($6::numeric, 2),"
			 "         $7::jsonb)"
			 " ON CONFLICT (kind, ref) DO NOTHING RETURNING anomaly_id",
			 7, types);
	sorted = palloc(sizeof(AnomalyFlag *) * nflags);
	hash_seq_init(&seq, flags);
	while ((flag = hash_seq_search(&seq)) != NULL)
		sorted[i++] = flag;
	qsort(sorted, nflags, sizeof(AnomalyFlag *), FlagCompare);
	for (i = 0; i < nflags; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(row_ctx);
		Datum		values[7];
		char	   *detail;
		SPITupleTable *inserted;

		CHECK_FOR_INTERRUPTS();
		flag = sorted[i];
		detail = psprintf("{%s}", flag->detail);
		values[0] = CStringGetTextDatum(flag->kind);
		values[1] = CStringGetTextDatum(flag->ref);
		values[2] = Int64GetDatum(flag->item_id);
		values[3] = Int64GetDatum(flag->node_id);
		values[4] = Float8GetDatum(Finite(flag->score));
		values[5] = Float8GetDatum(Finite(Max(flag->value, 0.0)));
		values[6] = CStringGetTextDatum(detail);
		if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "inventory_erp: cannot record an anomaly");
		inserted = SPI_tuptable;
		if (SPI_processed == 1)
		{
			int64		id = ColInt64(0, 1);

			EventRecord("anomaly", flag->item_id, flag->node_id, 0, 0,
						psprintf("{\"anomaly_id\": " INT64_FORMAT ", \"kind\": %s, \"ref\": %s,"
								 " \"score\": %.2f, \"value\": %.2f, \"detail\": %s}",
								 id, IerpJsonQuote(flag->kind), IerpJsonQuote(flag->ref),
								 Finite(flag->score), Finite(Max(flag->value, 0.0)), detail));
			added++;
		}
		SPI_freetuptable(inserted);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_ctx);
	}
	return added;
}

/*
 * erp.detect_anomalies() -> int: runs the four detectors over every node and
 * records what is new; returns how many anomalies it added.  Refused to a
 * partner (IE009): detection reads and writes every node's findings.
 */
static Datum
ierp_anomaly_detect_body(PG_FUNCTION_ARGS)
{
	MemoryContext call_ctx;
	MemoryContext series_ctx;
	MemoryContext old;
	HASHCTL		ctl;
	HTAB	   *flags;
	int			added;

	if (AccessRestricted())
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" may not run anomaly detection", IerpActorName()),
				 errdetail("Detection reads every node's history and records every node's findings; a partner's role sees its nodes only."),
				 errhint("Read your nodes' findings in erp.anomalies.")));

	call_ctx = AllocSetContextCreate(CurrentMemoryContext, "detect_anomalies", ALLOCSET_DEFAULT_SIZES);
	series_ctx = AllocSetContextCreate(call_ctx, "detect_anomalies series", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(call_ctx);

	MemSet(&ctl, 0, sizeof(ctl));
	ctl.keysize = ANOMALY_REF_LEN;
	ctl.entrysize = sizeof(AnomalyFlag);
	ctl.hcxt = call_ctx;
	flags = hash_create("detect_anomalies findings", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	DetectStock(flags, series_ctx);
	DetectPickExceptions(flags, series_ctx);
	DetectReturnRates(flags, series_ctx);
	added = WriteFlags(flags, series_ctx);
	SPI_finish();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(call_ctx);
	PG_RETURN_INT32(added);
}

/*
 * erp.close_anomaly(anomaly_id, note): someone looked at it.  Refuses: no or
 * an unknown anomaly (IE003), a note longer than 1,024 bytes (IE004), a
 * partner at another node or an anomaly of no node (IE009), an anomaly
 * closed already (IE010).
 */
static Datum
ierp_anomaly_close_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr close_plan = NULL;
	int64		anomaly_id = IerpIdArg(fcinfo, 0, "anomaly");
	char	   *note = IerpTextArg(fcinfo, 1);
	int64		node_id;
	char	   *status;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	IerpCheckText(note, "note", IERP_MAX_TEXT_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&lock_plan,
			 "SELECT node_id, status FROM erp.anomaly WHERE anomaly_id = $1 FOR UPDATE",
			 1, (Oid[]) {INT8OID});
	values[0] = Int64GetDatum(anomaly_id);
	if (SPI_execute_plan(lock_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock the anomaly");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown anomaly " INT64_FORMAT, anomaly_id)));
	node_id = ColInt64(0, 1);
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (node_id != 0)
		AccessCheckNode(node_id);
	else if (AccessRestricted())
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" has no access to anomaly " INT64_FORMAT, IerpActorName(), anomaly_id),
				 errdetail("The anomaly is about no node (a sku's return rate): it is the business's.")));
	if (strcmp(status, "open") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot close anomaly " INT64_FORMAT ": it is %s", anomaly_id, status)));
	IerpPlan(&close_plan,
			 "UPDATE erp.anomaly SET status = 'closed', closed_at = pg_catalog.now(), closed_by = $2, note = $3"
			 " WHERE anomaly_id = $1",
			 3, (Oid[]) {INT8OID, NAMEOID, TEXTOID});
	values[1] = CStringGetDatum(IerpActorName());
	values[1] = DirectFunctionCall1(namein, values[1]);
	if (note)
		values[2] = CStringGetTextDatum(note);
	else
	{
		values[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	if (SPI_execute_plan(close_plan, values, nulls, false, 1) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot close anomaly " INT64_FORMAT, anomaly_id);
	SPI_finish();
	PG_RETURN_VOID();
}
