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
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "ierp.h"
#include "anomaly.h"

IERP_OWNER_ENTRY(ierp_anomaly_detect);
IERP_OWNER_ENTRY(ierp_anomaly_close);

#define ANOMALY_KIND_LEN	24
#define ANOMALY_DETAIL_LEN	1024
/* the largest score and value erp.anomaly's numeric(10,2) and numeric(14,2) hold */
#define ANOMALY_MAX_SCORE	99999999.99
#define ANOMALY_MAX_VALUE	999999999999.99

/*
 * One finding, keyed by its whole ref ("count:12",
 * "pick_exceptions:DC1:2026-12-01", ...).  A ref holds a node code or a sku,
 * which have no length limit: it is kept whole, never cut (a cut merged the
 * findings of codes sharing their first bytes and could split a character).
 */
typedef struct AnomalyFlag
{
	char	   *ref;			/* hash key: first; in the flag set's context */
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

/* The findings of a run: a hash of AnomalyFlag by ref, and where refs are kept. */
typedef struct FlagSet
{
	HTAB	   *htab;
	MemoryContext cxt;
} FlagSet;

/* hash and match of the flag keys, pointers to NUL-terminated refs */
static uint32
RefHash(const void *key, Size keysize)
{
	const char *ref = *(const char *const *) key;

	return hash_bytes((const unsigned char *) ref, (int) strlen(ref));
}

static int
RefMatch(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(const char *const *) key1, *(const char *const *) key2);
}

/*
 * FlagFor: the finding for ref, created with kind, item and node when new
 * (its ref copied into the set's context); a later test of the same
 * observation raises its score and adds detail.
 */
static AnomalyFlag *
FlagFor(FlagSet *flags, const char *ref, const char *kind, int64 item_id, int64 node_id)
{
	AnomalyFlag *flag;
	bool		found;

	flag = hash_search(flags->htab, &ref, HASH_ENTER, &found);
	if (!found)
	{
		flag->ref = MemoryContextStrdup(flags->cxt, ref);
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
 * The detectors.  Each is one query whose rows are the observations of its
 * series, ordered by series (key_a, key_b), in the same columns:
 *   1 key_a, 2 key_b      the series (key_b 0 when one key is enough)
 *   3 ref                 the finding's ref should this observation be one
 *   4 x                   the value the series is judged on
 *   5 recent              whether this observation may be found unusual
 *   6 item_id, 7 node_id  what a finding is about (0: none)
 *   8 units, 9 value      facts for the detail (see each detector)
 *   10 price              the item's price (return rates)
 *   11 label              the day or week (pick exceptions, return rates)
 * They are read through a cursor, ANOMALY_FETCH rows at a time, and judged a
 * series at a time: memory holds one series, never the whole history.
 */
#define ANOMALY_FETCH	1000

typedef enum AnomalyDetector
{
	DETECT_STOCK_ITEM_NODE,		/* counts and adjustments, units per item and node */
	DETECT_STOCK_NODE_VALUE,	/* counts and adjustments, value per node */
	DETECT_PICK_EXCEPTIONS,		/* pick exceptions per node and day */
	DETECT_RETURN_RATE			/* return rate per sku and week */
} AnomalyDetector;

/* An observation that may be found unusual, kept until its series is judged. */
typedef struct RecentObs
{
	int			pos;			/* its place in the series */
	char	   *ref;
	int64		item_id;
	int64		node_id;
	double		units;
	double		value;
	double		price;
	char	   *label;
} RecentObs;

/* The series being read. */
typedef struct SeriesState
{
	int64		key_a;
	int64		key_b;
	double	   *xs;
	int			n;
	int			cap;
	RecentObs  *recent;
	int			nrecent;
	int			cap_recent;
} SeriesState;

/* The counts and adjustments of the last year: see DetectStock. */
#define ANOMALY_STOCK_SQL \
	"SELECT %s, %s, o.ref, %s, o.at >= pg_catalog.now() - interval '30 days'," \
	"       o.item_id, o.node_id, o.x::float8, o.value::float8, 0::float8, NULL::text" \
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
	"                            WHERE c.item_id = a.item_id AND c.adjustment_id = a.adjustment_id)) o" \
	" %s ORDER BY 1, 2, o.at, o.ref"

/*
 * Pick exception events per node and day over the last 90 days (days
 * without any count 0); units = exceptions, value = what the orders that met
 * them are worth.  The days are dates (today minus 0 to 89), not a series of
 * timestamps with time zone: where summer time begins at midnight that day
 * has no 00:00, and a series stepping a day from it ran at 01:00 and ended
 * before today's 00:00, so today was never judged.
 */
#define ANOMALY_PICK_SQL \
	"WITH daily AS (" \
	"  SELECT e.node_id, e.at::date AS day, count(*) AS n," \
	"         pg_catalog.array_agg(DISTINCT e.order_id) FILTER (WHERE e.order_id IS NOT NULL) AS orders" \
	"    FROM erp.event e" \
	"   WHERE e.kind = 'pick_exception' AND e.node_id IS NOT NULL" \
	"     AND e.at >= CURRENT_DATE - 89" \
	"   GROUP BY 1, 2)" \
	" SELECT n.node_id, 0::int8, 'pick_exceptions:' || nd.code || ':' || pg_catalog.to_char(d.day, 'YYYY-MM-DD'), COALESCE(y.n, 0)::float8," \
	"        d.day::date >= CURRENT_DATE - 6, 0::int8, n.node_id, COALESCE(y.n, 0)::float8," \
	"        COALESCE((SELECT sum(ol.qty * ol.unit_price) FROM erp.order_line ol" \
	"                   WHERE ol.order_id = ANY (y.orders)), 0)::float8, 0::float8, pg_catalog.to_char(d.day, 'YYYY-MM-DD')" \
	"   FROM (SELECT DISTINCT node_id FROM daily) n" \
	"   JOIN erp.node nd ON nd.node_id = n.node_id" \
	"  CROSS JOIN (SELECT CURRENT_DATE - g FROM pg_catalog.generate_series(0, 89) AS g) AS d(day)" \
	"   LEFT JOIN daily y ON y.node_id = n.node_id AND y.day = d.day::date" \
	"  ORDER BY 1, d.day"

/*
 * Per sku and week of the last 26 with shipments: units authorised for
 * return / units shipped; units = shipped, value = returned.
 */
#define ANOMALY_RETURN_SQL \
	"WITH s AS (SELECT sl.item_id, pg_catalog.date_trunc('week', sh.shipped_at)::date AS wk," \
	"                  sum(sl.qty) AS shipped" \
	"             FROM erp.shipment_line sl JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id" \
	"            WHERE sh.shipped_at >= pg_catalog.date_trunc('week', pg_catalog.now()) - interval '25 weeks'" \
	"            GROUP BY 1, 2)," \
	"      r AS (SELECT l.item_id, pg_catalog.date_trunc('week', r.authorized_at)::date AS wk," \
	"                  sum(l.qty) AS returned" \
	"             FROM erp.rma_line l JOIN erp.rma r ON r.rma_id = l.rma_id" \
	"            WHERE r.authorized_at >= pg_catalog.date_trunc('week', pg_catalog.now()) - interval '25 weeks'" \
	"            GROUP BY 1, 2)" \
	" SELECT s.item_id, 0::int8, 'return_rate:' || i.sku || ':' || pg_catalog.to_char(s.wk, 'YYYY-MM-DD'), COALESCE(r.returned, 0)::float8 / s.shipped," \
	"        s.wk >= pg_catalog.date_trunc('week', pg_catalog.now())::date - 7, s.item_id, 0::int8," \
	"        s.shipped::float8, COALESCE(r.returned, 0)::float8, i.unit_price::float8, pg_catalog.to_char(s.wk, 'YYYY-MM-DD')" \
	"   FROM s LEFT JOIN r ON r.item_id = s.item_id AND r.wk = s.wk" \
	"   JOIN erp.item i ON i.item_id = s.item_id" \
	"  ORDER BY 1, s.wk"

/*
 * FlagObservation: what a detector records of an unusual observation.
 * Counts and adjustments: a loss is shrinkage, a gain an adjustment, in
 * either direction; pick exceptions and return rates upward only, and a
 * return rate only with at least 3 units returned.
 */
static void
FlagObservation(FlagSet *flags, AnomalyDetector detector, const RecentObs *obs, double x, double z,
				const RobustFit *fit, int n)
{
	AnomalyFlag *flag;

	switch (detector)
	{
		case DETECT_STOCK_ITEM_NODE:
		case DETECT_STOCK_NODE_VALUE:
			if (fabs(z) <= ANOMALY_Z_THRESHOLD)
				return;
			flag = FlagFor(flags, obs->ref, obs->units < 0 ? "shrinkage" : "adjustment",
						   obs->item_id, obs->node_id);
			flag->score = Max(flag->score, fabs(z));
			flag->value = fabs(obs->value);
			if (flag->detail_len == 0)
				FlagAppend(flag, "\"units\": %.0f, \"value\": %.2f", Finite(obs->units), Finite(obs->value));
			FlagAppend(flag, "\"%s\": {\"z\": %.2f, \"median\": %.2f, \"mad\": %.2f, \"n\": %d}",
					   detector == DETECT_STOCK_ITEM_NODE ? "item_node" : "node_value",
					   Finite(z), Finite(fit->median), Finite(fit->mad), n);
			break;
		case DETECT_PICK_EXCEPTIONS:
			if (z <= ANOMALY_Z_THRESHOLD)
				return;
			flag = FlagFor(flags, obs->ref, "pick_exceptions", 0, obs->node_id);
			flag->score = z;
			flag->value = Finite(obs->value);
			FlagAppend(flag, "\"day\": %s, \"exceptions\": %.0f, \"orders_value\": %.2f",
					   IerpJsonQuote(obs->label), Finite(obs->units), Finite(obs->value));
			FlagAppend(flag, "\"node_days\": {\"z\": %.2f, \"median\": %.2f, \"mad\": %.2f, \"n\": %d}",
					   Finite(z), Finite(fit->median), Finite(fit->mad), n);
			break;
		case DETECT_RETURN_RATE:
			if (z <= ANOMALY_Z_THRESHOLD || obs->value < 3)
				return;
			flag = FlagFor(flags, obs->ref, "return_rate", obs->item_id, 0);
			flag->score = z;
			flag->value = Finite((x - fit->median) * obs->units * obs->price);
			FlagAppend(flag, "\"week\": %s, \"shipped\": %.0f, \"returned\": %.0f, \"rate\": %.4f",
					   IerpJsonQuote(obs->label), Finite(obs->units), Finite(obs->value), Finite(x));
			FlagAppend(flag, "\"sku_weeks\": {\"z\": %.2f, \"median\": %.4f, \"mad\": %.4f, \"n\": %d}",
					   Finite(z), Finite(fit->median), Finite(fit->mad), n);
			break;
	}
}

/*
 * JudgeSeries: fits the series read and flags its unusual recent
 * observations; works in series_ctx (the caller resets it).
 */
static void
JudgeSeries(FlagSet *flags, AnomalyDetector detector, double floor_scale, SeriesState *s,
			MemoryContext series_ctx)
{
	RobustFit	fit;
	int			i;
	MemoryContext old;

	if (s->n < ANOMALY_MIN_HISTORY || s->nrecent == 0)
		return;
	old = MemoryContextSwitchTo(series_ctx);
	RobustFitSeries(s->xs, s->n, floor_scale, &fit);
	for (i = 0; i < s->nrecent; i++)
	{
		double		x = s->xs[s->recent[i].pos];

		FlagObservation(flags, detector, &s->recent[i], x, RobustZ(&fit, x), &fit, s->n);
	}
	MemoryContextSwitchTo(old);
}

/*
 * ScanSeries: runs a detector's query through a cursor and judges each of
 * its series once it has been read whole.  The series lives in series_ctx,
 * reset after each.
 */
static void
ScanSeries(FlagSet *flags, AnomalyDetector detector, SPIPlanPtr plan, double floor_scale, MemoryContext series_ctx)
{
	Portal		portal;
	SeriesState s;
	bool		have = false;

	MemSet(&s, 0, sizeof(s));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, ANOMALY_FETCH);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			int64		key_a = ColInt64(i, 1);
			int64		key_b = ColInt64(i, 2);
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			if (have && (key_a != s.key_a || key_b != s.key_b))
			{
				JudgeSeries(flags, detector, floor_scale, &s, series_ctx);
				MemoryContextReset(series_ctx);
				MemSet(&s, 0, sizeof(s));
				have = false;
			}
			old = MemoryContextSwitchTo(series_ctx);
			if (!have)
			{
				s.key_a = key_a;
				s.key_b = key_b;
				s.cap = 64;
				s.xs = palloc(sizeof(double) * s.cap);
				have = true;
			}
			if (s.n == s.cap)
			{
				if (s.cap >= (int) (MaxAllocSize / sizeof(double) / 2))
					elog(ERROR, "inventory_erp: an anomaly series is too long");
				s.cap *= 2;
				s.xs = repalloc(s.xs, sizeof(double) * s.cap);
			}
			s.xs[s.n] = ColDouble(i, 4);
			if (ColBool(i, 5))
			{
				RecentObs  *obs;

				if (s.nrecent == s.cap_recent)
				{
					s.cap_recent = s.cap_recent == 0 ? 16 : s.cap_recent * 2;
					s.recent = s.recent == NULL ? palloc(sizeof(RecentObs) * s.cap_recent)
						: repalloc(s.recent, sizeof(RecentObs) * s.cap_recent);
				}
				obs = &s.recent[s.nrecent++];
				obs->pos = s.n;
				obs->ref = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
				obs->item_id = ColInt64(i, 6);
				obs->node_id = ColInt64(i, 7);
				obs->units = ColDouble(i, 8);
				obs->value = ColDouble(i, 9);
				obs->price = ColDouble(i, 10);
				obs->label = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 11);
				if (obs->ref == NULL)
					obs->ref = pstrdup("");
				if (obs->label == NULL)
					obs->label = pstrdup("");
			}
			s.n++;
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_cursor_close(portal);
	if (have)
		JudgeSeries(flags, detector, floor_scale, &s, series_ctx);
	MemoryContextReset(series_ctx);
}

/*
 * RunDetectors: counts and adjustments per item and node (units, floor 1
 * unit) and per node (signed value of the non-zero ones, floor 1.00); pick
 * exceptions per node and day (floor 1 exception); return rates per sku and
 * week (floor 0.02).
 */
static void
RunDetectors(FlagSet *flags, MemoryContext series_ctx)
{
	static SPIPlanPtr item_node_plan = NULL;
	static SPIPlanPtr node_value_plan = NULL;
	static SPIPlanPtr pick_plan = NULL;
	static SPIPlanPtr return_plan = NULL;

	if (item_node_plan == NULL)
	{
		char	   *sql = psprintf(ANOMALY_STOCK_SQL, "o.item_id", "o.node_id", "o.x::float8", "");

		IerpPlan(&item_node_plan, sql, 0, NULL);
		pfree(sql);
	}
	if (node_value_plan == NULL)
	{
		char	   *sql = psprintf(ANOMALY_STOCK_SQL, "o.node_id", "0::int8", "o.value::float8", "WHERE o.x <> 0");

		IerpPlan(&node_value_plan, sql, 0, NULL);
		pfree(sql);
	}
	IerpPlan(&pick_plan, ANOMALY_PICK_SQL, 0, NULL);
	IerpPlan(&return_plan, ANOMALY_RETURN_SQL, 0, NULL);

	ScanSeries(flags, DETECT_STOCK_ITEM_NODE, item_node_plan, 1.0, series_ctx);
	ScanSeries(flags, DETECT_STOCK_NODE_VALUE, node_value_plan, 1.0, series_ctx);
	ScanSeries(flags, DETECT_PICK_EXCEPTIONS, pick_plan, 1.0, series_ctx);
	ScanSeries(flags, DETECT_RETURN_RATE, return_plan, 0.02, series_ctx);
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
WriteFlags(FlagSet *flags, MemoryContext row_ctx)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {TEXTOID, TEXTOID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, TEXTOID};
	long		nflags = hash_get_num_entries(flags->htab);
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
	hash_seq_init(&seq, flags->htab);
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
		/* within numeric(10,2) and numeric(14,2): a score that large says enough */
		values[4] = Float8GetDatum(Min(Finite(flag->score), ANOMALY_MAX_SCORE));
		values[5] = Float8GetDatum(Min(Finite(Max(flag->value, 0.0)), ANOMALY_MAX_VALUE));
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
	FlagSet		flags;
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
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(AnomalyFlag);
	ctl.hash = RefHash;
	ctl.match = RefMatch;
	ctl.hcxt = call_ctx;
	flags.htab = hash_create("detect_anomalies findings", 64, &ctl,
							 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	flags.cxt = call_ctx;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	RunDetectors(&flags, series_ctx);
	added = WriteFlags(&flags, series_ctx);
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
