/*-------------------------------------------------------------------------
 *
 * forecast_fit.c
 *	  Fitting the models of forecast_models.c and choosing one per series.
 *
 *	  Parameters minimise the sum of squared one-step errors over the
 *	  observed days, within the bounds of FcModelBounds: a coarse grid over
 *	  the box, then a pattern search from its best point (each parameter
 *	  moved up and down by a step that halves when neither helps) until the
 *	  step is below 1/2000 of the parameter's range.
 *
 *	  The model: an intermittent series (average interval between demand
 *	  days at least 1.32 observed days, the Syntetos-Boylan-Croston
 *	  classification) gets Croston/SBA.  Any other series of eight weeks or
 *	  more is cut 28 days before its end; each usable model of SES, damped
 *	  trend and weekly seasonal is fitted on the first part and forecasts
 *	  the 28 held-out days; the lowest mean absolute error over the observed
 *	  held-out days wins, except that a simpler model (SES < damped <
 *	  seasonal) within 5% of the best is preferred.  The chosen model is then
 *	  fitted again on the whole series.  Shorter series get SES.
 *
 *	  (Held out 14 days with a 10% margin, 40 noisy constant series got SES
 *	  35 times, 40 trends the damped trend 38 times; held out 28 days with
 *	  5%: 39 and 40; 40 weekly patterns got the season either way.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "forecast.h"

#define SIMPLER_MARGIN	1.05
#define STEP_STOP		(1.0 / 2000)

/* grid points per parameter of the coarse search, by number of parameters */
static const int grid_points[FC_MAX_PARAMS + 1] = {0, 11, 6, 4};

/*
 * FcFitModel: fits model to y[0..n-1] (see the header comment); false when
 * the series is too short for it.
 */
bool
FcFitModel(FcModel model, const double *y, const bool *miss, int n, FcFit *fit)
{
	int			np = FcModelNParams(model);
	double		lo[FC_MAX_PARAMS],
				hi[FC_MAX_PARAMS],
				step[FC_MAX_PARAMS],
				best[FC_MAX_PARAMS],
				trial[FC_MAX_PARAMS];
	double		best_sse = -1;
	int			g = grid_points[np];
	int			ncells = 1,
				cell,
				k,
				iter;
	FcFit		scratch;

	if (!FcModelUsable(model, y, miss, n))
		return false;
	FcModelBounds(model, lo, hi);
	for (k = 0; k < np; k++)
		ncells *= g;

	/* coarse grid: cell numbers are the grid coordinates in base g */
	for (cell = 0; cell < ncells; cell++)
	{
		int			c = cell;
		double		sse;

		for (k = 0; k < np; k++)
		{
			trial[k] = lo[k] + (hi[k] - lo[k]) * (c % g) / (g - 1);
			c /= g;
		}
		sse = FcModelRun(model, trial, y, miss, n, &scratch);
		if (best_sse < 0 || sse < best_sse)
		{
			best_sse = sse;
			memcpy(best, trial, sizeof(double) * np);
		}
	}

	/* pattern search from the best grid point */
	for (k = 0; k < np; k++)
		step[k] = (hi[k] - lo[k]) / (2 * (g - 1));
	for (iter = 0; iter < 200; iter++)
	{
		bool		moved = false;
		bool		small = true;

		for (k = 0; k < np; k++)
		{
			int			dir;

			for (dir = -1; dir <= 1; dir += 2)
			{
				double		sse;

				memcpy(trial, best, sizeof(double) * np);
				trial[k] = Min(hi[k], Max(lo[k], best[k] + dir * step[k]));
				if (trial[k] == best[k])
					continue;
				sse = FcModelRun(model, trial, y, miss, n, &scratch);
				if (sse < best_sse)
				{
					best_sse = sse;
					best[k] = trial[k];
					moved = true;
					break;
				}
			}
		}
		if (!moved)
			for (k = 0; k < np; k++)
				step[k] /= 2;
		for (k = 0; k < np; k++)
			if (step[k] > STEP_STOP * (hi[k] - lo[k]))
				small = false;
		if (small)
			break;
	}

	FcModelRun(model, best, y, miss, n, fit);
	fit->holdout_mae = -1;
	return true;
}

/* whether the observed days hold demand on fewer than 1 in 1.32 of them */
bool
FcIsIntermittent(const double *y, const bool *miss, int n)
{
	int			nobs = 0,
				ndemand = 0,
				t;

	for (t = 0; t < n; t++)
		if (!miss[t])
		{
			nobs++;
			if (y[t] > 0)
				ndemand++;
		}
	return ndemand >= 2 && (double) nobs / ndemand >= FC_INTERMITTENT_ADI;
}

/* mean absolute error of fit's forecast over the observed days of y[0..h-1] */
static double
HoldoutError(const FcFit *fit, const double *y, const bool *miss, int h)
{
	double		mean[FC_HOLDOUT_DAYS],
				var[FC_HOLDOUT_DAYS];
	double		sum = 0;
	int			k = 0,
				t;

	FcModelPredict(fit, h, mean, var);
	for (t = 0; t < h; t++)
		if (!miss[t])
		{
			sum += fabs(y[t] - mean[t]);
			k++;
		}
	return k > 0 ? sum / k : 0;
}

/*
 * FcChoose: the model of the series y[0..n-1], fitted on all of it, in best
 * (see the header comment).  A series without an observed day gets a SES
 * of level 0; one with a single observed day the Poisson variance of its
 * level as sigma2.
 */
void
FcChoose(const double *y, const bool *miss, int n, FcFit *best)
{
	int			train = n - FC_HOLDOUT_DAYS;
	FcModel		chosen = FC_SES;
	double		chosen_mae = -1;
	static const FcModel candidates[] = {FC_SES, FC_DAMPED, FC_SEASONAL};
	double		mae[lengthof(candidates)];
	int			i;

	if (FcIsIntermittent(y, miss, n) && FcFitModel(FC_CROSTON, y, miss, n, best))
		return;

	if (n >= FC_HOLDOUT_DAYS + 28)
	{
		double		lowest = -1;

		for (i = 0; i < lengthof(candidates); i++)
		{
			FcFit		fit;

			mae[i] = -1;
			if (!FcFitModel(candidates[i], y, miss, train, &fit))
				continue;
			mae[i] = HoldoutError(&fit, y + train, miss + train, FC_HOLDOUT_DAYS);
			if (lowest < 0 || mae[i] < lowest)
				lowest = mae[i];
		}
		/* the simplest model within the margin of the lowest error */
		for (i = 0; i < lengthof(candidates); i++)
			if (mae[i] >= 0 && mae[i] <= lowest * SIMPLER_MARGIN + 1e-9)
			{
				chosen = candidates[i];
				chosen_mae = mae[i];
				break;
			}
	}

	if (!FcFitModel(chosen, y, miss, n, best))
	{
		/* nothing observed: nothing to expect */
		memset(best, 0, sizeof(FcFit));
		best->model = FC_SES;
		best->par[0] = 0.01;
		best->next_day = n;
	}
	else if (best->nobs == 1)
	{
		/*
		 * One observed day: it was its own initial level, its one error is
		 * 0 by construction and says nothing of the spread.  Daily demand
		 * counts are taken as Poisson there, variance = mean (at least 1
		 * unit squared), rather than forecast with certainty.
		 */
		best->sigma2 = Max(best->level, 1.0);
	}
	best->holdout_mae = chosen_mae;
}
