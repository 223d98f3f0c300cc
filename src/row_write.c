/*-------------------------------------------------------------------------
 *
 * row_write.c
 *	  Inserts a row of one of the extension's own tables the way the
 *	  executor would, without planning or starting a statement: the heap
 *	  tuple, then its index entries through the kernel's StockIndexInsert
 *	  (unique checks, partial-index predicates and expression columns
 *	  evaluated as ExecInsertIndexTuples does).  No triggers fire and no
 *	  CHECK constraint is evaluated: the callers are the only writers of
 *	  these rows and check the values themselves (and the tables' triggers
 *	  only refuse other writers).  Used on one node only; under Citus the
 *	  callers run their SQL statements instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "catalog/pg_enum.h"
#include "utils/syscache.h"

#include "row_write.h"
#include "stock/slot_rows.h"

/*
 * RowInsert: inserts tup into rel (opened by the caller with
 * RowExclusiveLock) and adds its index entries (the kernel's
 * StockIndexInsert).  A unique index that already holds the key raises
 * unique_violation, as an INSERT would.  tup->t_self is set to the new
 * row's location.
 */
void
RowInsert(Relation rel, HeapTuple tup)
{
	simple_heap_insert(rel, tup);
	StockIndexInsert(rel, tup);
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
