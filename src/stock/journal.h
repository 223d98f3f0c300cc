/*-------------------------------------------------------------------------
 *
 * journal.h
 *	  The ledger erp.stock_move: appending a batch's rows (journal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_JOURNAL_H
#define STOCK_JOURNAL_H

#include "stock/move.h"

/* the ledger (journal.c) */
extern void StockJournalAppend(StockMove *moves, int nmoves);
extern void StockJournalInit(void);

#endif							/* STOCK_JOURNAL_H */
