/*-------------------------------------------------------------------------
 *
 * row_write.h
 *	  Inserting a row of one of the extension's own tables without the
 *	  executor: the heap tuple and every index entry, partial and expression
 *	  indexes included.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROW_WRITE_H
#define ROW_WRITE_H

#include "access/htup.h"
#include "utils/relcache.h"

extern void RowInsert(Relation rel, HeapTuple tup);
extern Oid	RowEnumLabel(Oid enumtypid, const char *label);

#endif							/* ROW_WRITE_H */
