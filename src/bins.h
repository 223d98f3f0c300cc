/*-------------------------------------------------------------------------
 *
 * bins.h
 *	  Bins at the public functions (bins.c): looking a bin up by its code
 *	  at a node, for erp.putaway, erp.bin_move and a pick that scans a bin.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BINS_H
#define BINS_H

#include "ierp.h"

extern bool IerpCalledAs(FunctionCallInfo fcinfo, const char *name);
extern int64 BinsLookup(int64 node_id, const char *code, bool *active, bool missing_ok);
extern int64 BinsUnitsIn(int64 item_id, int64 node_id, int64 bin_id, StockState state);
extern int64 BinsPickable(int64 item_id, int64 node_id, int64 lot_id, int64 bin_id);
extern int64 BinsPickFrom(int64 order_id, int64 item_id, int64 node_id, int64 lot_id, int64 bin_id, int64 qty);

#endif							/* BINS_H */
