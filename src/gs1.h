/*-------------------------------------------------------------------------
 *
 * gs1.h
 *	  GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR) as scanners send
 *	  them at pick and receipt: the application identifiers a warehouse
 *	  needs (01 GTIN, 10 lot, 17 expiry, 15 best before, 21 serial,
 *	  30/37 count).  Parsing never raises: a caller decides what a text that
 *	  is not GS1, or is malformed GS1, means for it (a sku at a receipt, a
 *	  wrong scan at a pick).
 *
 *-------------------------------------------------------------------------
 */
#ifndef IERP_GS1_H
#define IERP_GS1_H

#include "utils/date.h"

#define GS1_LOT_MAX		20		/* AI 10 and AI 21 carry at most 20 characters */

typedef enum Gs1Result
{
	GS1_NOT_GS1,				/* no GS1 marker: a plain sku or GTIN */
	GS1_PARSED,					/* a well-formed element string */
	GS1_MALFORMED				/* GS1 marker, but the content is not valid */
} Gs1Result;

typedef struct Gs1Scan
{
	char		gtin[15];		/* AI 01: 14 digits, check digit valid; "" if absent */
	char		lot[GS1_LOT_MAX + 1];	/* AI 10; "" if absent */
	char		serial[GS1_LOT_MAX + 1];	/* AI 21; "" if absent */
	bool		has_expiry;
	DateADT		expiry;			/* AI 17 (day 00 = last day of the month) */
	bool		has_best_before;
	DateADT		best_before;	/* AI 15 */
	bool		has_count;
	int64		count;			/* AI 30 or 37: units in the scanned pack */
} Gs1Scan;

/*
 * Gs1Parse: reads text[0..len) as an element string when it carries a GS1
 * marker: a symbology identifier "]C1" (GS1-128), "]d2" (DataMatrix), "]Q3"
 * (QR), with variable-length fields ended by the group separator 0x1D (or
 * the end), or the human-readable form "(01)09501101530003(17)271231(10)AB".
 * On GS1_MALFORMED, why (why_size bytes, always NUL-terminated) says what is
 * wrong (unknown AI, bad length, bad check digit, bad date, repeated AI).
 */
extern Gs1Result Gs1Parse(const char *text, size_t len, Gs1Scan *scan,
						  char *why, size_t why_size);

/*
 * Gs1Show: text[0..len) as a message may quote it: printable ASCII as is,
 * other bytes as <GS> or <xNN>, cut with "..." after 80 bytes or when out
 * (out_size bytes, always NUL-terminated) is full.
 */
extern void Gs1Show(const char *text, size_t len, char *out, size_t out_size);

/*
 * Gs1ParseOrRefuse (gs1_sql.c): Gs1Parse for callers that refuse a
 * malformed scan: GS1_MALFORMED raises IE004 quoting the scan and why;
 * GS1_NOT_GS1 and GS1_PARSED are returned.
 */
extern Gs1Result Gs1ParseOrRefuse(const char *text, size_t len, Gs1Scan *scan);

/*
 * Gs1ReceiptFromScan (gs1_sql.c, inside SPI): what a receipt of text
 * receives when text is a GS1 element string: the sku of the item whose
 * gtin is AI 01 (IE003 when none), the lot of AI 10 and the expiry of AI 17
 * (AI 15 when no 17) - for lot-tracked items only: the lot and dates on
 * the label of another item are not recorded.  sku, lot and expiry given as well (NULL / has_expiry
 * false when not) are kept when the scan lacks them and refused (IE004)
 * when they disagree with it.  Returns false when text is an existing sku
 * or not GS1 (the caller reads it as a sku), unless must_be_gs1 (IE004
 * then); a malformed scan: IE004 with the reason.
 */
typedef struct Gs1Receipt
{
	const char *sku;
	const char *lot;			/* NULL: none */
	bool		has_expiry;
	DateADT		expiry;
} Gs1Receipt;

extern bool Gs1ReceiptFromScan(const char *text, bool must_be_gs1, const char *sku,
							   const char *lot, bool has_expiry, DateADT expiry,
							   Gs1Receipt *out);

/*
 * Gs1ReceiptFromScanPacks: Gs1ReceiptFromScan for a receipt that counts
 * packs (erp.receive_po): AI 01 may also be a pack's GTIN (erp.item_uom),
 * naming its item, and *units gets the units one scanned pack holds (1 for
 * the item's own GTIN).  Gs1ReceiptFromScan refuses a pack's GTIN (IE003:
 * its callers count units).
 */
extern bool Gs1ReceiptFromScanPacks(const char *text, bool must_be_gs1, const char *sku,
									const char *lot, bool has_expiry, DateADT expiry,
									Gs1Receipt *out, int64 *units);

#endif							/* IERP_GS1_H */
