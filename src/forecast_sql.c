/*-------------------------------------------------------------------------
 *
 * forecast_sql.c
 *	  The SQL face of the forecasting engine: erp.forecast (one series, read
 *	  from erp.demand_history), erp.forecast_series (a series given as
 *	  arrays), erp.refresh_forecasts (every active series into
 *	  erp.forecast_snapshot) and erp.normal_quantile (the safety factor of
 *	  a service level).  The arithmetic is in forecast_models.c and
 *	  forecast_fit.c.
 *
 *	  A series runs from its first day with a row in erp.demand_history (at
 *	  most FC_MAX_HISTORY days back) to yesterday: today is not over.  Days
 *	  without a row had no demand; censored days are left out of the fit.
 *	  Forecasts start today.  Intervals are 95%: mean -+ 1.96 sqrt(var),
 *	  never below 0 (forecast_models.c gives var).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "forecast.h"
#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_forecast);
PG_FUNCTION_INFO_V1(ierp_forecast_series);
PG_FUNCTION_INFO_V1(ierp_normal_quantile);
IERP_OWNER_ENTRY(ierp_forecast_refresh);

/* longest array erp.forecast_series takes */
#define FC_MAX_SERIES_LEN	10000
/*
 * largest daily demand erp.forecast_series takes: what a bigint quantity
 * holds.  The engine's sums of squared errors stay finite far above it
 * (1e150); 1e308 a day made them Infinity and the forecast NaN.
 */
#define FC_MAX_DEMAND		9223372036854775807.0
/* series erp.refresh_forecasts reads from its cursor at a time */
#define FC_FETCH			200
/* a series is active when it had demand in the last this many days */
#define FC_ACTIVE_DAYS		91
/* erp.refresh_forecasts' horizon */
#define FC_REFRESH_HORIZON	28

/* IE004 unless 1 <= horizon <= FC_MAX_HORIZON */
static void
FcCheckHorizon(FunctionCallInfo fcinfo, int argno)
{
	int			horizon;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no forecast horizon given"),
				 errdetail("A forecast covers 1 to %d days.", FC_MAX_HORIZON)));
	horizon = PG_GETARG_INT32(argno);
	if (horizon < 1 || horizon > FC_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("forecast horizon of %d days is out of range", horizon),
				 errdetail("A forecast covers 1 to %d days.", FC_MAX_HORIZON)));
}

/* a value rounded to 2 decimals, as numeric */
static Datum
FcNumeric(double v)
{
	return DirectFunctionCall1(float8_numeric, Float8GetDatum(round(v * 100) / 100));
}

static const char *
FcFitName(const FcFit *fit)
{
	return fit->nobs == 0 ? "none" : FcModelName(fit->model);
}

/*
 * FcRun: chooses and fits the model of y[0..n-1] and forecasts horizon days:
 * mean, lo, hi (95%).
 */
static void
FcRun(const double *y, const bool *miss, int n, int horizon, FcFit *fit,
	  double *mean, double *lo, double *hi)
{
	double	   *var = palloc(sizeof(double) * horizon);
	int			h;

	FcChoose(y, miss, n, fit);
	FcModelPredict(fit, horizon, mean, var);
	for (h = 0; h < horizon; h++)
	{
		double		half = FC_Z95 * sqrt(var[h]);

		lo[h] = Max(mean[h] - half, 0);
		hi[h] = mean[h] + half;
		/* never NaN or Infinity out (numeric would order NaN above every number) */
		if (!isfinite(mean[h]) || !isfinite(hi[h]) || !isfinite(fit->sigma2))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("demand of the series is too large to forecast"),
					 errdetail("The forecast of day %d after the series is not a finite number.", h + 1)));
	}
	pfree(var);
}

/* writes the forecast rows of erp.forecast / erp.forecast_series */
static void
FcEmit(ReturnSetInfo *rsinfo, const FcFit *fit, int horizon, const double *mean,
	   const double *lo, const double *hi, bool dated)
{
	DateADT		today = GetSQLCurrentDate();
	int			h;

	for (h = 0; h < horizon; h++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = dated ? DateADTGetDatum(today + h) : Int32GetDatum(h + 1);
		values[1] = FcNumeric(mean[h]);
		values[2] = FcNumeric(lo[h]);
		values[3] = FcNumeric(hi[h]);
		values[4] = CStringGetTextDatum(FcFitName(fit));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * erp.forecast(sku, channel, node, horizon_days): the item's daily demand
 * forecast over the channel and node given (every one when NULL), read with
 * the caller's rights (a partner's demand history holds its nodes only).
 * Refuses an unknown sku, channel or node (IE003), a node a partner may not
 * see (IE009) and a horizon outside 1..FC_MAX_HORIZON (IE004).
 */
Datum
ierp_forecast(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *channel = IerpTextArg(fcinfo, 1);
	char	   *node = IerpTextArg(fcinfo, 2);
	int			horizon;
	ItemInfo	item;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			first,
				n;
	uint64		i;
	double	   *y,
			   *mean,
			   *lo,
			   *hi;
	bool	   *miss;
	FcFit		fit;

	FcCheckHorizon(fcinfo, 3);
	horizon = PG_GETARG_INT32(3);
	if (sku == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("no sku given")));
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node", IERP_MAX_KEY_LEN);
	IerpLookupItem(sku, &item);
	values[0] = Int64GetDatum(item.item_id);
	values[1] = channel ? Int64GetDatum(IerpLookupChannel(channel)) : (Datum) 0;
	nulls[1] = channel ? ' ' : 'n';
	nulls[2] = 'n';
	if (node)
	{
		int64		node_id = IerpLookupNode(node);

		/* a partner asking about another node: IE009, as everywhere */
		AccessCheckNode(node_id);
		values[2] = Int64GetDatum(node_id);
		nulls[2] = ' ';
	}

	IerpPlan(&plan,
			 "SELECT h.day - (CURRENT_DATE - " CppAsString2(FC_MAX_HISTORY) "),"
			 "       CAST(sum(h.qty) AS double precision), bool_or(h.censored)"
			 "  FROM erp.demand_history h"
			 " WHERE h.item_id = $1 AND ($2 IS NULL OR h.channel_id = $2) AND ($3 IS NULL OR h.node_id = $3)"
			 "   AND h.day >= CURRENT_DATE - " CppAsString2(FC_MAX_HISTORY) " AND h.day < CURRENT_DATE"
			 " GROUP BY h.day ORDER BY h.day",
			 3, argtypes);
	if (SPI_execute_plan(plan, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the demand history");

	first = FC_MAX_HISTORY;
	if (SPI_processed > 0)
	{
		bool		isnull;

		first = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	n = FC_MAX_HISTORY - first;
	y = palloc0(sizeof(double) * Max(n, 1));
	miss = palloc0(sizeof(bool) * Max(n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int			t = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)) - first;

		if (t < 0 || t >= n)
			continue;
		y[t] = DatumGetFloat8(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		miss[t] = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}

	mean = palloc(sizeof(double) * horizon);
	lo = palloc(sizeof(double) * horizon);
	hi = palloc(sizeof(double) * horizon);
	FcRun(y, miss, n, horizon, &fit, mean, lo, hi);
	FcEmit(rsinfo, &fit, horizon, mean, lo, hi, true);
	SPI_finish();
	return (Datum) 0;
}

/*
 * erp.forecast_series(qty, censored, horizon_days): the engine on a series
 * given as arrays (NULL elements of qty count as censored).  Refuses (IE004)
 * arrays longer than FC_MAX_SERIES_LEN, a censored array of another length,
 * demand below 0, above FC_MAX_DEMAND or not finite, and a horizon outside
 * 1..FC_MAX_HORIZON.
 */
Datum
ierp_forecast_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *qd = NULL,
			   *cd = NULL;
	bool	   *qnull = NULL,
			   *cnull = NULL;
	int			n = 0,
				nc = 0,
				horizon,
				t;
	double	   *y,
			   *mean,
			   *lo,
			   *hi;
	bool	   *miss;
	FcFit		fit;

	FcCheckHorizon(fcinfo, 2);
	horizon = PG_GETARG_INT32(2);
	if (!PG_ARGISNULL(0))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);

		if (ARR_NDIM(a) > 1 || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) > FC_MAX_SERIES_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("series of %d values is too long", ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a))),
					 errdetail("A series is a one-dimensional array of at most %d days.", FC_MAX_SERIES_LEN)));
		deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &qd, &qnull, &n);
	}
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);

		if (ARR_NDIM(a) > 1 || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != n)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("censored has %d values for a series of %d", ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)), n),
					 errdetail("censored, when given, has one value per day of the series.")));
		deconstruct_array(a, BOOLOID, 1, true, TYPALIGN_CHAR, &cd, &cnull, &nc);
	}
	y = palloc0(sizeof(double) * Max(n, 1));
	miss = palloc0(sizeof(bool) * Max(n, 1));
	for (t = 0; t < n; t++)
	{
		double		v = qnull[t] ? 0 : DatumGetFloat8(qd[t]);

		if (!qnull[t] && (isnan(v) || isinf(v) || v < 0 || v > FC_MAX_DEMAND))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid demand %g on day %d of the series", v, t + 1),
					 errdetail("Daily demand is a finite number of units, 0 to 9223372036854775807 (what a bigint holds).")));
		y[t] = v;
		miss[t] = qnull[t] || (nc > 0 && !cnull[t] && DatumGetBool(cd[t]));
	}

	mean = palloc(sizeof(double) * horizon);
	lo = palloc(sizeof(double) * horizon);
	hi = palloc(sizeof(double) * horizon);
	InitMaterializedSRF(fcinfo, 0);
	FcRun(y, miss, n, horizon, &fit, mean, lo, hi);
	FcEmit(rsinfo, &fit, horizon, mean, lo, hi, false);
	return (Datum) 0;
}

/* a float8[] of n values */
static Datum
FcArray(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * erp.refresh_forecasts(): forecasts every active series FC_REFRESH_HORIZON
 * days ahead into erp.forecast_snapshot; returns how many series.  Series are
 * read through a cursor, FC_FETCH at a time; each is fitted and stored in a
 * memory context reset after it.
 */
static Datum
ierp_forecast_refresh_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr series_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	static const Oid insert_types[] = {INT8OID, INT8OID, INT8OID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
	FLOAT8ARRAYOID, FLOAT8OID, TEXTOID};
	MemoryContext series_ctx,
				old;
	Portal		portal;
	int			count = 0;
	double		mean[FC_REFRESH_HORIZON],
				lo[FC_REFRESH_HORIZON],
				hi[FC_REFRESH_HORIZON];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&series_plan,
			 "SELECT h.item_id, h.channel_id, h.node_id,"
			 "       array_agg(h.day - (CURRENT_DATE - " CppAsString2(FC_MAX_HISTORY) ") ORDER BY h.day),"
			 "       array_agg(CAST(h.qty AS double precision) ORDER BY h.day),"
			 "       array_agg(h.censored ORDER BY h.day)"
			 "  FROM erp.demand_history h JOIN erp.item i ON i.item_id = h.item_id"
			 " WHERE i.active AND h.day >= CURRENT_DATE - " CppAsString2(FC_MAX_HISTORY)
			 "   AND h.day < CURRENT_DATE"
			 " GROUP BY h.item_id, h.channel_id, h.node_id"
			 " HAVING max(h.day) FILTER (WHERE h.qty > 0) >= CURRENT_DATE - " CppAsString2(FC_ACTIVE_DAYS)
			 " ORDER BY h.item_id, h.channel_id, h.node_id",
			 0, NULL);
	IerpPlan(&insert_plan,
			 "INSERT INTO erp.forecast_snapshot (item_id, channel_id, node_id, day, qty, lo, hi, sigma, model)"
			 " SELECT $1, $2, $3, CURRENT_DATE + CAST(s.k AS integer) - 1,"
			 "        round(CAST(s.q AS numeric), 2), round(CAST(s.l AS numeric), 2),"
			 "        round(CAST(s.h AS numeric), 2), round(CAST($7 AS numeric), 4), $8"
			 "   FROM unnest($4, $5, $6) WITH ORDINALITY AS s(q, l, h, k)",
			 8, insert_types);

	series_ctx = AllocSetContextCreate(CurrentMemoryContext, "forecast series",
									   ALLOCSET_DEFAULT_SIZES);
	portal = SPI_cursor_open(NULL, series_plan, NULL, NULL, true);
	for (;;)
	{
		SPITupleTable *batch;
		uint64		nrows,
					r;

		SPI_cursor_fetch(portal, true, FC_FETCH);
		batch = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
			break;
		for (r = 0; r < nrows; r++)
		{
			HeapTuple	tup = batch->vals[r];
			TupleDesc	desc = batch->tupdesc;
			bool		isnull;
			Datum		values[8];
			char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
			Datum	   *days,
					   *qtys,
					   *cens;
			bool	   *dn,
					   *qn,
					   *cn;
			int			nd,
						k,
						first,
						n;
			double	   *y;
			bool	   *miss;
			FcFit		fit;

			old = MemoryContextSwitchTo(series_ctx);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
							  INT4OID, 4, true, TYPALIGN_INT, &days, &dn, &nd);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull)),
							  FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &qtys, &qn, &k);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 6, &isnull)),
							  BOOLOID, 1, true, TYPALIGN_CHAR, &cens, &cn, &k);
			first = DatumGetInt32(days[0]);
			n = FC_MAX_HISTORY - first;
			y = palloc0(sizeof(double) * Max(n, 1));
			miss = palloc0(sizeof(bool) * Max(n, 1));
			for (k = 0; k < nd; k++)
			{
				int			t = DatumGetInt32(days[k]) - first;

				if (t < 0 || t >= n)
					continue;
				y[t] = qn[k] ? 0 : DatumGetFloat8(qtys[k]);
				miss[t] = !cn[k] && DatumGetBool(cens[k]);
			}
			FcRun(y, miss, n, FC_REFRESH_HORIZON, &fit, mean, lo, hi);

			for (k = 0; k < 3; k++)
			{
				values[k] = SPI_getbinval(tup, desc, k + 1, &isnull);
				nulls[k] = isnull ? 'n' : ' ';
			}
			values[3] = FcArray(mean, FC_REFRESH_HORIZON);
			values[4] = FcArray(lo, FC_REFRESH_HORIZON);
			values[5] = FcArray(hi, FC_REFRESH_HORIZON);
			values[6] = Float8GetDatum(sqrt(fit.sigma2));
			values[7] = CStringGetTextDatum(FcFitName(&fit));
			if (SPI_execute_plan(insert_plan, values, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "inventory_erp: cannot store a forecast snapshot");
			MemoryContextSwitchTo(old);
			MemoryContextReset(series_ctx);
			count++;
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(series_ctx);
	SPI_finish();
	PG_RETURN_INT32(count);
}

/* the upper tail of the standard normal distribution, P(Z > x) */
static double
FcNormalTail(double x)
{
	return 0.5 * erfc(x / M_SQRT2);
}

/*
 * erp.normal_quantile(p): z with P(Z <= z) = p.  Solved on the smaller tail
 * r = min(p, 1 - p), which a double holds exactly (1 - p itself would round
 * to 1 for p below 1e-16, and the distribution function near 1 cannot tell
 * 1 - 1e-16 from 1): z for P(Z > z) = r, negated below 1/2.  The start is
 * the rational approximation 26.2.23 of Abramowitz and Stegun (error below
 * 4.5e-4), then Newton's method on the tail, which converges in a few steps
 * from there, down to r = 1e-300 (z = 37.0).  IE004 unless 0 < p < 1.
 */
Datum
ierp_normal_quantile(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);
	double		r,
				t,
				x;
	int			i;

	if (!(p > 0 && p < 1))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("probability %g is out of range", p),
				 errdetail("A service level is a probability strictly between 0 and 1.")));
	if (p == 0.5)
		PG_RETURN_FLOAT8(0.0);
	r = p < 0.5 ? p : 1 - p;
	t = sqrt(-2 * log(r));
	x = t - (2.515517 + t * (0.802853 + t * 0.010328)) /
		(1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
	for (i = 0; i < 50; i++)
	{
		double		density = exp(-x * x / 2) / sqrt(2 * M_PI);
		double		step;

		if (!(density > 0))
			break;
		/* the tail falls as x grows: x moves up while the tail is above r */
		step = (FcNormalTail(x) - r) / density;
		if (!isfinite(step))
			break;
		x += step;
		if (fabs(step) < 1e-13 * Max(1.0, x))
			break;
	}
	PG_RETURN_FLOAT8(p < 0.5 ? -x : x);
}
