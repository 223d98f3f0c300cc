/*-------------------------------------------------------------------------
 *
 * anomaly_stats.c
 *	  The robust statistics of anomaly detection: median, median absolute
 *	  deviation (MAD) and the modified z-score
 *
 *	      z = 0.6745 (x - median) / MAD
 *
 *	  (Iglewicz and Hoaglin): 0.6745 is the 0.75 quantile of the standard
 *	  normal, so that for normal data z is on the scale of an ordinary
 *	  z-score while a few wild values move neither the median nor the MAD.
 *
 *	  MAD = 0 (more than half the series is one value, as with cycle counts
 *	  that mostly find nothing wrong): the score is then taken against the
 *	  mean absolute deviation from the median, z = (x - median) /
 *	  (1.253314 MeanAD) (1.253314 = sqrt(pi/2) makes MeanAD estimate the
 *	  standard deviation of normal data).  And the scale never falls below a
 *	  floor the caller gives (one unit for quantities): a series of whole
 *	  units cannot call a deviation of one unit extreme.
 *
 *	  Pure functions on arrays of doubles; nothing here touches the database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "anomaly.h"

static int
RobustCompare(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* RobustMedian: the median of values[0..n-1] (sorts them in place); 0 when n = 0. */
double
RobustMedian(double *values, int n)
{
	if (n <= 0)
		return 0.0;
	qsort(values, n, sizeof(double), RobustCompare);
	if (n % 2 == 1)
		return values[n / 2];
	return (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

/*
 * RobustFitSeries: median, MAD and the scale a deviation is divided by, of
 * values[0..n-1] (left unchanged).  scale = MAD / 0.6745 when MAD > 0, else
 * 1.253314 x the mean absolute deviation; never below floor_scale.
 */
void
RobustFitSeries(const double *values, int n, double floor_scale, RobustFit *fit)
{
	double	   *work = palloc(sizeof(double) * Max(n, 1));
	double		sum_abs = 0.0;
	int			i;

	memcpy(work, values, sizeof(double) * n);
	fit->median = RobustMedian(work, n);
	for (i = 0; i < n; i++)
	{
		work[i] = fabs(values[i] - fit->median);
		sum_abs += work[i];
	}
	fit->mad = RobustMedian(work, n);
	if (fit->mad > 0.0)
	{
		fit->mad_zero = false;
		fit->scale = fit->mad / 0.6745;
	}
	else
	{
		fit->mad_zero = true;
		fit->scale = n > 0 ? 1.253314 * sum_abs / n : 0.0;
	}
	if (!(fit->scale >= floor_scale))
		fit->scale = floor_scale;
	pfree(work);
}

/* RobustZ: the modified z-score of x in the fitted series (scale > 0 by the floor). */
double
RobustZ(const RobustFit *fit, double x)
{
	if (fit->scale <= 0.0)
		return 0.0;
	return (x - fit->median) / fit->scale;
}
