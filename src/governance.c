/*-------------------------------------------------------------------------
 *
 * governance.c
 *	  The record of policy changes: every insert, update, delete and
 *	  truncate of the tables that decide what the engines allow
 *	  (erp.approval_policy, erp.disposition_rule, erp.state_transition,
 *	  erp.node_access, erp.item_component, erp.channel_node,
 *	  erp.channel_reserve, and the governance columns of erp.item) is written to erp.policy_change
 *	  with who (the login, as IerpActorName gives it: a role SET for the
 *	  occasion does not hide the person), when, and the rows before and after
 *	  as jsonb.  The record is append-only.
 *
 *	  Changes the extension's own scripts make (CREATE EXTENSION, ALTER
 *	  EXTENSION UPDATE) are not policy decisions of a person and are not
 *	  recorded; nor are rows reloaded by pg_restore (IerpRowIsHistory: the
 *	  restore brings the record of the original changes with it).
 *
 *	  Refuses: UPDATE, DELETE and TRUNCATE of erp.policy_change (IE005).
 *
 *	  Four eyes (GovernanceSamePerson, for erp.approve_adjustment and
 *	  erp.approve_refund): a creator and an approver are one person when
 *	  their names are equal or either role is a member of the other.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
#include "utils/rel.h"

#include "ierp.h"
#include "governance.h"

IERP_OWNER_ENTRY(ierp_governance_policy_changed);
PG_FUNCTION_INFO_V1(ierp_governance_policy_change_guard);

/* A row of the changed table as JSON text; NULL for no row. */
static Datum
RowAsJson(HeapTuple tuple, TupleDesc desc, bool *isnull)
{
	if (tuple == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	*isnull = false;
	return DirectFunctionCall1(row_to_json, heap_copy_tuple_as_datum(tuple, desc));
}

/*
 * ierp_governance_policy_changed: AFTER trigger (row level for INSERT,
 * UPDATE, DELETE; statement level for TRUNCATE) on a policy table.  Runs as
 * the extension's owner (SECURITY DEFINER) so that administrators, who may
 * change policies but not the record of them, still leave their trace.
 */
static Datum
ierp_governance_policy_changed_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	old_row = NULL;
	HeapTuple	new_row = NULL;
	const char *operation;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_governance_policy_changed must be called as a trigger");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_governance_policy_changed must run AFTER the change");
	if (creating_extension)
		return PointerGetDatum(NULL);
	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) && !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	desc = RelationGetDescr(trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		operation = "TRUNCATE";
	else if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		const char *relname = RelationGetRelationName(trigdata->tg_relation);

		if (IerpRowIsHistory(trigdata->tg_relation, trigdata->tg_trigtuple, psprintf("%s_id", relname)))
		{
			SPI_finish();
			return PointerGetDatum(NULL);
		}
		operation = "INSERT";
		new_row = trigdata->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		operation = "UPDATE";
		old_row = trigdata->tg_trigtuple;
		new_row = trigdata->tg_newtuple;
	}
	else
	{
		operation = "DELETE";
		old_row = trigdata->tg_trigtuple;
	}

	values[0] = CStringGetTextDatum(IerpActorName());
	values[1] = CStringGetTextDatum(RelationGetRelationName(trigdata->tg_relation));
	values[2] = CStringGetTextDatum(operation);
	values[3] = RowAsJson(old_row, desc, &isnull);
	if (isnull)
		nulls[3] = 'n';
	values[4] = RowAsJson(new_row, desc, &isnull);
	if (isnull)
		nulls[4] = 'n';

	IerpPlan(&plan,
			 "INSERT INTO erp.policy_change (changed_by, table_name, operation, old_row, new_row)"
			 " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)",
			 5, (Oid[]) {TEXTOID, TEXTOID, TEXTOID, JSONOID, JSONOID});
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cannot record a policy change");
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * ierp_governance_policy_change_guard: BEFORE UPDATE OR DELETE (row) and
 * BEFORE TRUNCATE (statement) on erp.policy_change: the record is
 * append-only (IE005), also for its owner.
 */
Datum
ierp_governance_policy_change_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_governance_policy_change_guard must be called as a trigger");
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("erp.policy_change is append-only: %s refused",
					TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ? "TRUNCATE"
					: TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" : "DELETE"),
			 errdetail("The record of policy changes keeps every change, who made it and when.")));
	return PointerGetDatum(NULL);
}

/*
 * The extension's group roles, which every operator, approver and admin
 * belongs to.  No login acts as one of them (IerpActorName gives the login),
 * so a created_by naming one was a superuser session that SET it: membership
 * in it says nothing about who that person was, and is not "the same person".
 */
static bool
IsSharedRole(const char *name)
{
	static const char *const shared[] = {"erp_reader", "erp_operator", "erp_approver", "erp_admin"};
	int			i;

	for (i = 0; i < lengthof(shared); i++)
		if (strcmp(name, shared[i]) == 0)
			return true;
	return false;
}

/*
 * GovernanceSamePerson: a and b (role names, as recorded in created_by and
 * given by IerpActorName) are one person when the names are equal, or when
 * either role is a member of the other - directly or through other roles,
 * superuser status aside: a login that may SET ROLE to another can act as
 * it, so one of them creating and the other approving is one person deciding
 * twice.  A name that is no role any more, or one of the extension's group
 * roles (IsSharedRole), compares by name only.
 */
bool
GovernanceSamePerson(const char *a, const char *b)
{
	Oid			role_a;
	Oid			role_b;

	if (a == NULL || b == NULL)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	if (IsSharedRole(a) || IsSharedRole(b))
		return false;
	role_a = get_role_oid(a, true);
	role_b = get_role_oid(b, true);
	if (!OidIsValid(role_a) || !OidIsValid(role_b))
		return false;
	return is_member_of_role_nosuper(role_a, role_b) || is_member_of_role_nosuper(role_b, role_a);
}

/*
 * GovernanceCheckLines: IE004 when the jsonb array in argument argno has
 * more than GOVERNANCE_MAX_LINES elements, counted from the array's header (no
 * element is read), before the caller does any work: one call with tens of
 * thousands of lines would hold the backend for minutes and hundreds of
 * megabytes.  NULL or anything but an array passes (the caller refuses that
 * as "no lines").
 */
void
GovernanceCheckLines(FunctionCallInfo fcinfo, int argno, const char *what)
{
	Jsonb	   *lines;
	int			n;

	if (PG_ARGISNULL(argno))
		return;
	lines = PG_GETARG_JSONB_P(argno);
	if (!JB_ROOT_IS_ARRAY(lines) || JB_ROOT_IS_SCALAR(lines))
		return;
	n = (int) JB_ROOT_COUNT(lines);
	if (n > GOVERNANCE_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("%s has %d lines", what, n),
				 errdetail("One call takes at most %d lines.", GOVERNANCE_MAX_LINES),
				 errhint("Split the document, e.g. several purchase orders or receipts.")));
}
