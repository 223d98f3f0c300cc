/*-------------------------------------------------------------------------
 *
 * b2b.h
 *	  B2B accounts at capture (b2b.c): the customer an order names, its
 *	  terms, its price breaks and its credit check.
 *
 *-------------------------------------------------------------------------
 */
#ifndef B2B_H
#define B2B_H

#include "utils/jsonb.h"

#include "ierp.h"
#include "order_input.h"

typedef struct B2bTerms
{
	int64		customer_id;	/* 0: no customer */
	char	   *code;
	bool		ship_complete;	/* the order's ship_complete */
	char	   *credit_limit;	/* as text; NULL: no limit */
	int64		price_list_id;	/* 0: none */
} B2bTerms;

extern void B2bReadTerms(Jsonb *ship_to, B2bTerms *terms);
extern void B2bApplyPrices(const B2bTerms *terms, CaptureLine *lines, int nlines);
extern char *B2bCreditNote(const B2bTerms *terms, const CaptureLine *lines, int nlines);

#endif							/* B2B_H */
