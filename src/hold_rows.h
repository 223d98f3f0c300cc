/*-------------------------------------------------------------------------
 *
 * hold_rows.h
 *	  A checkout hold's rows, for holds.c, and its expired units as erp.atp
 *	  and allocation see them (hold_rows.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef HOLD_ROWS_H
#define HOLD_ROWS_H

#include "postgres.h"

#include "ierp.h"

/* A hold's open lines (item, node, lot, qty, kit) in the kernel's order. */
typedef struct HoldLine
{
	int64		item_id;
	int64		node_id;
	int64		lot_id;
	int64		qty;
	int64		kit_item_id;	/* the kit a component was held for; 0: the item itself */
} HoldLine;

/* A hold's row as LockHold reads it. */
typedef struct HoldRow
{
	int64		channel_id;
	char	   *status;
	bool		expired;
	char	   *expires_at;
	Datum		items;
	int64		order_id;
	char	   *lines;			/* the lines as asked, jsonb text */
} HoldRow;

/* adds to each node's promisable the units of item's expired, not yet released holds */
extern void HoldsAddExpired(int64 item_id, NodeStock *nodes, int n);

/* gives back the expired holds that reserve units of item (allocation's hook); SPI connected */
extern void HoldsReleaseExpired(int64 item_id);

extern char *HoldRef(int64 hold_id);
extern Datum HoldItemsDatum(const int64 *items, int n);
extern int	LoadHoldLines(int64 hold_id, Datum items, HoldLine **out);
extern void CloseHold(int64 hold_id, Datum items, const char *status, int64 order_id);
extern int64 HoldGiveBack(int64 hold_id, Datum items, const char *status, bool skip_invisible);
extern bool LockHold(int64 hold_id, bool skip_locked, HoldRow *row);

#endif							/* HOLD_ROWS_H */
