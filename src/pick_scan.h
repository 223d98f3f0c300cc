/*-------------------------------------------------------------------------
 *
 * pick_scan.h
 *	  What a scan at erp.pick names (pick_scan.c): an item by sku or GTIN,
 *	  or a GS1 element string (gs1.h) with its GTIN, lot, expiry and count;
 *	  and the lots a pick compares the scan with.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PICK_SCAN_H
#define PICK_SCAN_H

#include "ierp.h"
#include "gs1.h"

#define PICK_SCAN_WHY_SIZE	256

typedef struct PickScan
{
	int64		item_id;		/* 0: the scan names no known item */
	char	   *sku;			/* the item's sku, or NULL */
	int64		units;			/* units one scanned unit holds: a case's GTIN (erp.item_uom), else 1 */
	Gs1Result	gs1_result;		/* GS1_NOT_GS1 for a plain sku or GTIN */
	Gs1Scan		gs1;			/* with GS1_PARSED */
	char		why[PICK_SCAN_WHY_SIZE];	/* with GS1_MALFORMED: what is wrong */
} PickScan;

/* a reserved lot as a pick compares it with a scan */
typedef struct PickLot
{
	int64		lot_id;
	char	   *lot_code;
	bool		has_expiry;
	DateADT		expires_on;
} PickLot;

extern void PickScanRead(const char *scan, PickScan *out);
extern int	PickLotsOf(int64 item_id, const int64 *lot_ids, int nlots, PickLot **out);
extern const PickLot *PickLotFind(const PickLot *lots, int nlots, int64 lot_id);
extern char *PickDateText(DateADT date);

#endif							/* PICK_SCAN_H */
