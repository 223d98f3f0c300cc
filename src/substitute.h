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

/* a capture's lines that allow substitutes, kept from reading them until the order exists */
extern void SubstitutePendingReset(void);
extern void SubstitutePendingAdd(int32 line_no);
extern bool SubstitutePendingAny(void);
extern void SubstituteRecordPending(int64 order_id);

/* One agreed substitute of an item. */
typedef struct SubstituteCandidate
{
	int64		item_id;
	int32		rank;
} SubstituteCandidate;

extern int	SubstituteCandidates(int64 item_id, SubstituteCandidate **out);
extern void SubstituteRecordChoice(int64 order_id, int32 line_no, int64 substitute_item_id, int32 rank);

#endif							/* SUBSTITUTE_H */
