/*-------------------------------------------------------------------------
 *
 * forecast_models.c
 *	  The four models of the forecasting engine, in error-correction form
 *	  (e = y - one-step forecast):
 *
 *	  SES       f = l;            l += alpha e
 *	  damped    f = l + phi b;    l = l + phi b + alpha e;  b = phi b + beta e
 *	  seasonal  f = l + s[t%7];   l += alpha e;  s[t%7] += gamma e
 *	  Croston   on a demand day (after q days without one):
 *	            z += alpha (y - z);  p += alpha (q - p);  f = (1 - alpha/2) z / p
 *
 *	  A censored day is not an observation: the state moves on as forecast
 *	  (the damped trend decays, the season index turns) without an error.
 *	  Croston counts only the days that were observed.  Initial states come
 *	  from the first weeks of the series (below); parameters are fitted in
 *	  forecast_fit.c.
 *
 *	  Prediction variance at horizon h is the additive state-space result
 *	  var_h = sigma2 (1 + sum_{j<h} c_j^2) with c_j = alpha (SES, Croston),
 *	  alpha + beta phi (1 - phi^j) / (1 - phi) (damped) and
 *	  alpha + gamma [j mod 7 = 0] (seasonal); sigma2 is the variance of the
 *	  one-step errors of the fit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "forecast.h"

#define INIT_DAYS	28			/* days the initial states are estimated from */

const char *
FcModelName(FcModel model)
{
	switch (model)
	{
		case FC_SES:
			return "ses";
		case FC_DAMPED:
			return "damped_trend";
		case FC_SEASONAL:
			return "weekly_seasonal";
		case FC_CROSTON:
			return "croston_sba";
		default:
			return "?";
	}
}

int
FcModelNParams(FcModel model)
{
	switch (model)
	{
		case FC_DAMPED:
			return 3;
		case FC_SEASONAL:
			return 2;
		default:
			return 1;
	}
}

/*
 * Bounds of the parameters.  The damped model's second parameter is beta as
 * a share of alpha, the seasonal model's gamma as a share of 1 - alpha (the
 * usual admissible region); phi stays in [0.8, 0.98] as in Hyndman's ets.
 */
void
FcModelBounds(FcModel model, double *lo, double *hi)
{
	switch (model)
	{
		case FC_DAMPED:
			lo[0] = 0.01; hi[0] = 0.99;
			lo[1] = 0.001; hi[1] = 0.99;
			lo[2] = 0.80; hi[2] = 0.98;
			break;
		case FC_SEASONAL:
			lo[0] = 0.01; hi[0] = 0.99;
			lo[1] = 0.001; hi[1] = 0.99;
			break;
		case FC_CROSTON:
			lo[0] = 0.01; hi[0] = 0.5;
			break;
		default:
			lo[0] = 0.01; hi[0] = 0.99;
			break;
	}
}

/* observed days; of which with demand */
static void
CountObserved(const double *y, const bool *miss, int n, int *nobs, int *ndemand)
{
	int			t;

	*nobs = 0;
	*ndemand = 0;
	for (t = 0; t < n; t++)
		if (!miss[t])
		{
			(*nobs)++;
			if (y[t] > 0)
				(*ndemand)++;
		}
}

/*
 * Whether a series holds enough to fit model: a level needs one observed day,
 * a trend two weeks, a weekly season three weeks with every weekday seen
 * twice, Croston two demand days.
 */
bool
FcModelUsable(FcModel model, const double *y, const bool *miss, int n)
{
	int			nobs,
				ndemand,
				t;
	int			phase[FC_PERIOD] = {0};

	CountObserved(y, miss, n, &nobs, &ndemand);
	switch (model)
	{
		case FC_SES:
			return nobs >= 1;
		case FC_DAMPED:
			return nobs >= 14;
		case FC_CROSTON:
			return ndemand >= 2;
		case FC_SEASONAL:
			if (nobs < 21)
				return false;
			for (t = 0; t < n && t < INIT_DAYS; t++)
				if (!miss[t])
					phase[t % FC_PERIOD]++;
			for (t = 0; t < FC_PERIOD; t++)
				if (phase[t] < 2)
					return false;
			return true;
		default:
			return false;
	}
}

/* mean of the observed days among the first INIT_DAYS (0 when none) */
static double
InitialMean(const double *y, const bool *miss, int n)
{
	double		sum = 0;
	int			k = 0,
				t;

	for (t = 0; t < n && t < INIT_DAYS; t++)
		if (!miss[t])
		{
			sum += y[t];
			k++;
		}
	return k > 0 ? sum / k : 0;
}

/* initial states of a model, from the first weeks of the series */
static void
InitialState(FcModel model, const double *y, const bool *miss, int n, FcFit *fit)
{
	int			t;

	fit->level = InitialMean(y, miss, n);
	fit->trend = 0;
	memset(fit->season, 0, sizeof(fit->season));
	fit->size = 0;
	fit->interval = 1;

	if (model == FC_DAMPED)
	{
		/* least-squares line through the first weeks: level before day 0, slope */
		double		st = 0,
					sy = 0,
					stt = 0,
					sty = 0;
		int			k = 0;

		for (t = 0; t < n && t < INIT_DAYS; t++)
			if (!miss[t])
			{
				st += t;
				sy += y[t];
				stt += (double) t * t;
				sty += t * y[t];
				k++;
			}
		if (k >= 2 && k * stt - st * st > 0)
		{
			double		b = (k * sty - st * sy) / (k * stt - st * st);
			double		a = (sy - b * st) / k;

			fit->level = a - b;
			fit->trend = b;
		}
	}
	else if (model == FC_SEASONAL)
	{
		double		sum[FC_PERIOD] = {0};
		int			cnt[FC_PERIOD] = {0};
		double		mean = 0;

		for (t = 0; t < n && t < INIT_DAYS; t++)
			if (!miss[t])
			{
				sum[t % FC_PERIOD] += y[t] - fit->level;
				cnt[t % FC_PERIOD]++;
			}
		for (t = 0; t < FC_PERIOD; t++)
		{
			fit->season[t] = cnt[t] > 0 ? sum[t] / cnt[t] : 0;
			mean += fit->season[t] / FC_PERIOD;
		}
		for (t = 0; t < FC_PERIOD; t++)
			fit->season[t] -= mean;
	}
	else if (model == FC_CROSTON)
	{
		/* mean demand size and mean interval between demands */
		int			nobs,
					ndemand;
		double		total = 0;

		CountObserved(y, miss, n, &nobs, &ndemand);
		for (t = 0; t < n; t++)
			if (!miss[t] && y[t] > 0)
				total += y[t];
		if (ndemand > 0)
		{
			fit->size = total / ndemand;
			fit->interval = (double) nobs / ndemand;
		}
	}
}

/*
 * FcModelRun: runs model with parameters par over y[0..n-1] from its initial
 * state; leaves the state after the last day, the error sum and count in
 * fit, and returns the sum of squared one-step errors.
 */
double
FcModelRun(FcModel model, const double *par, const double *y, const bool *miss, int n, FcFit *fit)
{
	double		alpha = par[0];
	double		sse = 0;
	int			nobs = 0;
	int			t;
	int			since = 0;		/* Croston: observed days since the last demand */

	fit->model = model;
	memcpy(fit->par, par, sizeof(double) * FcModelNParams(model));
	InitialState(model, y, miss, n, fit);

	for (t = 0; t < n; t++)
	{
		double		f,
					e;

		switch (model)
		{
			case FC_SES:
				if (miss[t])
					break;
				e = y[t] - fit->level;
				fit->level += alpha * e;
				sse += e * e;
				nobs++;
				break;
			case FC_DAMPED:
				{
					double		beta = alpha * par[1];
					double		phi = par[2];

					f = fit->level + phi * fit->trend;
					if (miss[t])
					{
						fit->level = f;
						fit->trend *= phi;
						break;
					}
					e = y[t] - f;
					fit->level = f + alpha * e;
					fit->trend = phi * fit->trend + beta * e;
					sse += e * e;
					nobs++;
					break;
				}
			case FC_SEASONAL:
				{
					double		gamma = (1 - alpha) * par[1];
					int			p = t % FC_PERIOD;

					if (miss[t])
						break;
					e = y[t] - (fit->level + fit->season[p]);
					fit->level += alpha * e;
					fit->season[p] += gamma * e;
					sse += e * e;
					nobs++;
					break;
				}
			case FC_CROSTON:
				if (miss[t])
					break;
				since++;
				f = fit->interval > 0 ? (1 - alpha / 2) * fit->size / fit->interval : 0;
				e = y[t] - f;
				sse += e * e;
				nobs++;
				if (y[t] > 0)
				{
					fit->size += alpha * (y[t] - fit->size);
					fit->interval += alpha * (since - fit->interval);
					since = 0;
				}
				break;
			default:
				elog(ERROR, "inventory_erp: unknown forecast model %d", (int) model);
		}
	}
	fit->next_day = n;
	fit->sse = sse;
	fit->nobs = nobs;
	fit->sigma2 = nobs > 0 ? sse / nobs : 0;
	return sse;
}

/*
 * FcModelPredict: the forecast of the fitted model for the horizon days after
 * its last one (mean[h-1], var[h-1] for h = 1..horizon).
 */
void
FcModelPredict(const FcFit *fit, int horizon, double *mean, double *var)
{
	double		alpha = fit->par[0];
	double		csum = 0;		/* sum of c_j^2, j < h */
	double		damp = 0;		/* phi + phi^2 + ... + phi^h */
	double		phik = 1;
	int			h;

	for (h = 1; h <= horizon; h++)
	{
		double		c = alpha;

		switch (fit->model)
		{
			case FC_DAMPED:
				{
					double		phi = fit->par[2];
					double		beta = alpha * fit->par[1];

					phik *= phi;
					damp += phik;
					mean[h - 1] = fit->level + damp * fit->trend;
					/* c_h = alpha + beta (phi + ... + phi^h), for the next step */
					c = alpha + beta * damp;
					break;
				}
			case FC_SEASONAL:
				mean[h - 1] = fit->level + fit->season[(fit->next_day + h - 1) % FC_PERIOD];
				c = alpha + ((h % FC_PERIOD) == 0 ? (1 - alpha) * fit->par[1] : 0);
				break;
			case FC_CROSTON:
				mean[h - 1] = fit->interval > 0 ? (1 - alpha / 2) * fit->size / fit->interval : 0;
				break;
			default:
				mean[h - 1] = fit->level;
				break;
		}
		if (mean[h - 1] < 0)
			mean[h - 1] = 0;
		var[h - 1] = fit->sigma2 * (1 + csum);
		csum += c * c;
	}
}
