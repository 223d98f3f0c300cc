/*-------------------------------------------------------------------------
 *
 * substitute.h
 *	  Substitutes (SPEC 12, doc/warehouse.md "Substitutes"): which lines of
 *	  a capture allow them, and the substitutes allocation may choose
 *	  (substitute.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SUBSTITUTE_H
#define SUBSTITUTE_H

#include "postgres.h"

#include "order_input.h"

/* a new order's capture lines that allow substitutes: recorded by capture (orders.c) */
extern bool SubstituteAnyLine(const CaptureLine *lines, int nlines);
extern void SubstituteRecordLines(int64 order_id, const CaptureLine *lines, int nlines);

/* One agreed substitute of an item. */
typedef struct SubstituteCandidate
{
	int64		item_id;
	int32		rank;
} SubstituteCandidate;

extern int	SubstituteCandidates(int64 item_id, SubstituteCandidate **out);
extern void SubstituteRecordChoice(int64 order_id, int32 line_no, int64 substitute_item_id, int32 rank);

#endif							/* SUBSTITUTE_H */
