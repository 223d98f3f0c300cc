/*-------------------------------------------------------------------------
 *
 * governance.h
 *	  Declarations shared by the governance files (counts.c, returns.c,
 *	  supply.c, governance.c): the four-eyes test of an approval and the
 *	  bound on the lines of one call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVERNANCE_H
#define GOVERNANCE_H

/*
 * governance.c: whether the roles named a and b are one person for four eyes:
 * the same name, or either a member of the other (it may SET ROLE to it).  A
 * name that is no role any more (a dropped creator), or one of the
 * extension's group roles (erp_reader, erp_operator, erp_approver, erp_admin,
 * which every approver belongs to), compares by name only.
 */
extern bool GovernanceSamePerson(const char *a, const char *b);

/* The most lines one call of erp.create_po, erp.receive_po, erp.authorize_return, erp.receive_return takes (as an order) */
#define GOVERNANCE_MAX_LINES	1000

/*
 * governance.c: IE004 naming what (e.g. "purchase order from \"ACME\"") when
 * a jsonb lines argument has more than GOVERNANCE_MAX_LINES elements, read
 * from its header without expanding it (NULL or no array passes).
 */
extern void GovernanceCheckLines(FunctionCallInfo fcinfo, int argno, const char *what);

#endif							/* GOVERNANCE_H */
