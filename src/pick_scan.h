/*-------------------------------------------------------------------------
 *
 * pick_scan.h
 *	  What a scan at erp.pick names (pick_scan.c): an item by sku or GTIN,
 *	  or a GS1 element string (gs1.h) with its GTIN, lot, expiry and count;
 *	  and the lots a pick compares the scan with; packs (cases) at receiving
 *	  and counting.
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

/*
 * Packs at receiving and counting (erp.receive_po lines, erp.count,
 * erp.count_bin): a pack's units by its uom, the item and units a GTIN
 * names (an item's own GTIN: 1, a pack's: its units), and packs x units
 * bounded by the most units one move may move (IE004).
 */
extern int64 PackUnitsOfUom(int64 item_id, const char *sku, const char *uom);
extern int64 PackOfGtin(const char *gtin, char **sku, int64 *units);
extern int64 PackTotal(int64 packs, int64 units, const char *sku, const char *what);
extern int	PickLotsOf(int64 item_id, const int64 *lot_ids, int nlots, PickLot **out);
extern const PickLot *PickLotFind(const PickLot *lots, int nlots, int64 lot_id);
extern char *PickDateText(DateADT date);

#endif							/* PICK_SCAN_H */
