/*-------------------------------------------------------------------------
 *
 * anomaly.h
 *	  Anomaly detection (erp.detect_anomalies, erp.close_anomaly): the robust
 *	  statistics (anomaly_stats.c) and the detectors (anomaly.c).
 *	  doc/planning-signals.md gives the formulas and thresholds.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ANOMALY_H
#define ANOMALY_H

/*
 * Iglewicz and Hoaglin's cut-off: an observation whose modified z-score is
 * above 3.5 in absolute value is an outlier.
 */
#define ANOMALY_Z_THRESHOLD		3.5
/* A series needs this many observations before anything in it is judged. */
#define ANOMALY_MIN_HISTORY		8

/* Location and scale of one series, as RobustFit computes them. */
typedef struct RobustFit
{
	double		median;
	double		mad;			/* median absolute deviation from the median */
	double		scale;			/* what a deviation is divided by (see RobustFit) */
	bool		mad_zero;		/* MAD was 0: the mean absolute deviation stood in */
} RobustFit;

extern double RobustMedian(double *values, int n);
extern void RobustFitSeries(const double *values, int n, double floor_scale, RobustFit *fit);
extern double RobustZ(const RobustFit *fit, double x);

#endif							/* ANOMALY_H */
