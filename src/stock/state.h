/*-------------------------------------------------------------------------
 *
 * state.h
 *	  The stock state machine as cached from erp.state_transition (state.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STOCK_STATE_H
#define STOCK_STATE_H

#include "postgres.h"

#include "ierp.h"

/* the state machine (state.c) */
typedef struct StockTransition
{
	StockState	from;
	StockState	to;
	bool		cross_node;
	char	   *event;
	char	   *engine;			/* "" when any move may use it */
} StockTransition;

extern const StockTransition *StockTransitionFind(StockState from, StockState to, const char *event);
extern char *StockTransitionsFrom(StockState from);
extern const char *StockDocumentOf(StockState state, const char **hint);
extern void StockStateInit(void);

#endif							/* STOCK_STATE_H */
