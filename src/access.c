/*-------------------------------------------------------------------------
 *
 * access.c
 *	  Partner access: a role listed in erp.node_access (a 3PL's, a store's)
 *	  moves stock only at its own nodes; every other role is unrestricted.
 *
 *	  The extension's functions run as the extension owner, which row level
 *	  security does not restrict, so the ledger asks AccessCheckNode() for
 *	  every node a move touches, on behalf of the role that called the
 *	  function (the outer user).  erp.node_access is cached per backend and
 *	  dropped when it changes (relcache invalidation, as for the rules);
 *	  role membership is PostgreSQL's own, cached by it too.  For a role
 *	  that is no partner the check costs a few comparisons and no query.
 *
 *	  Refuses: a partner moving stock at a node not listed for it (IE009).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "ierp.h"

typedef struct NodeGrant
{
	Oid			role;			/* InvalidOid when the role does not exist */
	int64		node_id;
} NodeGrant;

static MemoryContext access_cxt = NULL;
static NodeGrant *grants = NULL;
static int	num_grants = -1;		/* -1: not loaded */
static Oid	access_relid = InvalidOid;

static void
AccessInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == access_relid)
		num_grants = -1;
}

void
AccessInit(void)
{
	CacheRegisterRelcacheCallback(AccessInvalidate, (Datum) 0);
}

static void
AccessLoad(void)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext old;
	uint64		i;

	IerpPlan(&plan,
			 "SELECT r.oid, a.node_id"
			 "  FROM erp.node_access a LEFT JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read erp.node_access");
	if (access_cxt == NULL)
		access_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp node access",
										   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(access_cxt);
	old = MemoryContextSwitchTo(access_cxt);
	grants = palloc0(sizeof(NodeGrant) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		role = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		grants[i].role = isnull ? InvalidOid : DatumGetObjectId(role);
		grants[i].node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	num_grants = (int) SPI_processed;
	access_relid = IerpRelid("node_access");
	MemoryContextSwitchTo(old);
}

/*
 * AccessNodeVisible: whether the calling role may see node_id: it is no
 * partner, or the node is granted to it.  (Promises such as erp.atp read
 * through the extension's owner; they count a partner's nodes only.)
 */
bool
AccessNodeVisible(int64 node_id)
{
	Oid			caller = GetOuterUserId();
	bool		partner = false;
	int			i;

	if (num_grants < 0)
		AccessLoad();
	if (num_grants == 0 || superuser_arg(caller))
		return true;
	for (i = 0; i < num_grants; i++)
	{
		if (!OidIsValid(grants[i].role) || !has_privs_of_role(caller, grants[i].role))
			continue;
		if (grants[i].node_id == node_id)
			return true;
		partner = true;
	}
	return !partner;
}

/*
 * AccessCheckNode: refuses (IE009) a move at node_id by a partner role that
 * is not granted that node.  Must run between SPI_connect and SPI_finish.
 */
void
AccessCheckNode(int64 node_id)
{
	Oid			caller = GetOuterUserId();

	if (!AccessNodeVisible(node_id))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" has no access to node \"%s\"",
						GetUserNameFromId(caller, false), IerpNodeCode(node_id)),
				 errdetail("Partner roles move stock only at the nodes erp.node_access lists for them."),
				 errhint("An erp_admin can grant the node: INSERT INTO erp.node_access (role_name, node_id).")));
}
