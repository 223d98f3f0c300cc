/*-------------------------------------------------------------------------
 *
 * row_write.c
 *	  Inserts a row of one of the extension's own tables the way the
 *	  executor would, without planning or starting a statement: the heap
 *	  tuple, then an entry in every index that is ready for inserts, with
 *	  unique checks, partial-index predicates and expression columns
 *	  evaluated as ExecInsertIndexTuples does.  No triggers fire and no
 *	  CHECK constraint is evaluated: the callers are the only writers of
 *	  these rows and check the values themselves (and the tables' triggers
 *	  only refuse other writers).  Used on one node only; under Citus the
 *	  callers run their SQL statements instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "catalog/index.h"
#include "catalog/pg_enum.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "row_write.h"

/*
 * RowInsert: inserts tup into rel (opened by the caller with
 * RowExclusiveLock) and adds its index entries.  A unique index that
 * already holds the key raises unique_violation, as an INSERT would.
 * tup->t_self is set to the new row's location.
 */
void
RowInsert(Relation rel, HeapTuple tup)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	EState	   *estate = NULL;
	ExprContext *econtext = NULL;

	simple_heap_insert(rel, tup);
	ExecStoreHeapTuple(tup, slot, false);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *info = BuildIndexInfo(idx);
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		/* as the executor does: an index being built concurrently, or left invalid, takes no entries yet */
		if (!info->ii_ReadyForInserts)
		{
			index_close(idx, NoLock);
			continue;
		}
		if ((info->ii_Expressions != NIL || info->ii_Predicate != NIL) && estate == NULL)
		{
			estate = CreateExecutorState();
			econtext = GetPerTupleExprContext(estate);
			econtext->ecxt_scantuple = slot;
		}
		if (info->ii_Predicate != NIL)
		{
			ExprState  *pred = ExecPrepareQual(info->ii_Predicate, estate);

			if (!ExecQual(pred, econtext))
			{
				index_close(idx, NoLock);
				continue;
			}
		}
		FormIndexDatum(info, slot, estate, values, isnull);
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
		index_close(idx, NoLock);
	}
	if (estate != NULL)
		FreeExecutorState(estate);
	ExecDropSingleTupleTableSlot(slot);
	list_free(indexes);
}

/* RowEnumLabel: the OID of label in enum type enumtypid (ERROR when it has none). */
Oid
RowEnumLabel(Oid enumtypid, const char *label)
{
	HeapTuple	tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(enumtypid), CStringGetDatum(label));
	Oid			oid;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "inventory_erp: enum type %u has no label \"%s\"", enumtypid, label);
	oid = ((Form_pg_enum) GETSTRUCT(tup))->oid;
	ReleaseSysCache(tup);
	return oid;
}
