#!/usr/bin/env bash
# Regenerates the scripts of the versions this branch has not released yet:
#   sql/released/inventory_erp--0.1.0.sql      every install file but 12_intelligence.sql
#   sql/updates/inventory_erp--0.1.0--0.2.0.sql  12_intelligence.sql, and the view grants
# Once a version is released (tagged), its scripts are never regenerated or edited
# again: later changes go into a new update script.  Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo "-- inventory_erp 0.1.0, as released: the ledger, orders and allocation, returns, supply and governance."
    echo "-- Generated from sql/install/ when 0.1.0 was released; never edited since."
    cat $(ls sql/install/*.sql | grep -v 12_intelligence)
} > sql/released/inventory_erp--0.1.0.sql
{
    cat <<'SQL'
\echo Use "ALTER EXTENSION inventory_erp UPDATE TO '0.2.0'" to load this file. \quit
-- inventory_erp 0.1.0 -> 0.2.0: operational intelligence and integration.
-- Adds the channel feed view, the KPI views, the dashboard and
-- erp.create_publication, and announces events on logical replication
-- subscribers too.  No table changes: nothing to migrate.
SQL
    sed 1,3d sql/install/12_intelligence.sql
    cat <<'SQL'

-- what 90_grants.sql gives every view of a fresh install
GRANT SELECT ON erp.channel_availability, erp.kpi_inventory_accuracy, erp.kpi_fill_rate,
    erp.kpi_order_aging, erp.kpi_backorder_exposure, erp.kpi_return_cycle_time,
    erp.kpi_refund_latency, erp.kpi_split_shipments, erp.kpi_adjustment_rate, erp.dashboard
TO erp_reader;
SQL
} > sql/updates/inventory_erp--0.1.0--0.2.0.sql
