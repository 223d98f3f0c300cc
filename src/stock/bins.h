/*-------------------------------------------------------------------------
 *
 * bins.h
 *	  Bins inside a node as the stock kernel sees them (bins.c): which nodes
 *	  have bins, whether a bin belongs to a node, the take of a move from a
 *	  node's stock that spreads over its bins, and owning one bin's balance
 *	  for a count.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_BINS_H
#define STOCK_BINS_H

#include "stock/move.h"

/* a bin's facts (StockBinRead) */
typedef struct StockBinInfo
{
	int64		bin_id;
	int64		node_id;
	bool		active;
	char	   *code;
} StockBinInfo;

extern bool StockNodeHasBins(int64 node_id);
extern bool StockBinRead(int64 bin_id, StockBinInfo *info);
extern void StockBinCheck(const StockMove *m);
extern int	StockBinsOfBalance(int64 item_id, int64 node_id, int64 lot_id, int64 **out);
extern bool StockBinsTake(StockMove *m, StockMove **parts, int *nparts, int64 *held);
extern int64 StockOwnBinBalance(int64 item_id, int64 node_id, int64 bin_id, int64 lot_id, StockState state);
extern void StockBinsInit(void);

#endif							/* STOCK_BINS_H */
