/*-------------------------------------------------------------------------
 *
 * forecast.h
 *	  The demand forecasting engine (doc/planning.md): four exponential
 *	  smoothing models of a daily series, their fitting and the choice
 *	  between them.  Pure arithmetic on C arrays, no SPI: forecast_sql.c
 *	  reads the series and stores the results.
 *
 *	  A series is y[0..n-1], one value per day, oldest first; miss[t] marks
 *	  a censored day (the item was out of stock at the node): the models do
 *	  not learn from it, they carry their state across it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IERP_FORECAST_H
#define IERP_FORECAST_H

#include "postgres.h"

#define FC_PERIOD			7		/* weekly seasonality, in days */
#define FC_MAX_PARAMS		3
#define FC_MAX_HORIZON		366		/* erp.forecast refuses longer horizons (IE004) */
#define FC_MAX_HISTORY		730		/* days of history a fit looks at, the latest */
#define FC_HOLDOUT_DAYS		28		/* days held out to choose the model */
#define FC_INTERMITTENT_ADI	1.32	/* average demand interval above which a series is intermittent */
#define FC_Z95				1.959964	/* the 97.5% normal quantile: 95% intervals */

typedef enum FcModel
{
	FC_SES = 0,					/* simple exponential smoothing: level */
	FC_DAMPED,					/* additive damped trend (Holt): level + damped trend */
	FC_SEASONAL,				/* additive Holt-Winters, period 7: level + weekly season */
	FC_CROSTON,					/* Croston with the Syntetos-Boylan correction (SBA) */
	FC_NMODELS
} FcModel;

/* A fitted model: its parameters and its state after the last day seen. */
typedef struct FcFit
{
	FcModel		model;
	double		par[FC_MAX_PARAMS];	/* SES: alpha; damped: alpha, beta, phi;
									 * seasonal: alpha, gamma; Croston: alpha */
	double		level;
	double		trend;
	double		season[FC_PERIOD];	/* indexed by day number mod 7 */
	double		size;			/* Croston: smoothed demand size */
	double		interval;		/* Croston: smoothed interval between demands */
	int			next_day;		/* day number of the first day to forecast */
	double		sse;			/* sum of squared one-step errors */
	int			nobs;			/* how many one-step errors */
	double		sigma2;			/* their variance: sse / nobs */
	double		holdout_mae;	/* mean absolute error over the held-out days (-1: not held out) */
} FcFit;

extern const char *FcModelName(FcModel model);

/* forecast_models.c: the recursions */
extern int	FcModelNParams(FcModel model);
extern void FcModelBounds(FcModel model, double *lo, double *hi);
extern bool FcModelUsable(FcModel model, const double *y, const bool *miss, int n);
extern double FcModelRun(FcModel model, const double *par, const double *y, const bool *miss,
						 int n, FcFit *fit);
extern void FcModelPredict(const FcFit *fit, int horizon, double *mean, double *var);

/* forecast_fit.c: parameters by least squares, the model by holdout error */
extern bool FcFitModel(FcModel model, const double *y, const bool *miss, int n, FcFit *fit);
extern bool FcIsIntermittent(const double *y, const bool *miss, int n);
extern void FcChoose(const double *y, const bool *miss, int n, FcFit *best);

#endif							/* IERP_FORECAST_H */
