/*-------------------------------------------------------------------------
 *
 * kernel.h
 *	  The stock kernel: the one write path of stock.  A document (an order,
 *	  a return, a purchase order, a transfer, a count, a generic move)
 *	  decides its moves and hands them to StockApply() in one batch; the
 *	  kernel checks them against the state machine and the partner rule,
 *	  takes and adds the units in the balances in one global lock order,
 *	  appends the ledger rows and posts the costs (stock/cost.c).  Nothing else writes erp.stock_slot or
 *	  erp.stock_move; their triggers refuse every other write (IE005).
 *
 *	  doc/architecture.md describes the API, the document skeleton and the
 *	  path of one order through it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_KERNEL_H
#define STOCK_KERNEL_H

#include "postgres.h"

#include "stock/bins.h"
#include "stock/cost.h"
#include "stock/journal.h"
#include "stock/locks.h"
#include "stock/move.h"
#include "stock/slot_rows.h"
#include "stock/slots.h"
#include "stock/state.h"

/* flags of StockApply */
#define STOCK_DOCUMENT		0x01	/* a document's moves: may use the transitions and states documents own */

extern void StockApply(StockMove *moves, int nmoves, int flags);
extern void StockValidate(const StockMove *move, bool document);
extern int64 StockDocumentMove(const char *ref, int64 item_id, int64 lot_id, int64 qty, int64 from_node_id,
							   StockState from, int64 to_node_id, StockState to, const char *event,
							   StockTakeKind take);

#endif							/* STOCK_KERNEL_H */
