-- 22_distribute (update): as sql/install/22_distribute.sql: scale-out on Citus (doc/scaling.md).
--   erp.citus_layout      where each table lives on a Citus cluster (internal)
--   erp.citus_node_ids    moves this node's id sequences into its own range (internal)
--   erp.distribute        master data and documents as reference tables, stock
--                         distributed by item_id, the rest on the coordinator
--   erp.undistribute      every table back to a plain table on the coordinator,
--                         rows kept, so that DROP EXTENSION works
-- Both are for a superuser (they change the tables' owners' objects) and run on
-- the coordinator after CREATE EXTENSION citus and inventory_erp and
-- citus_add_node of the workers.

-- ---------------------------------------------------------------------------
-- The layout
-- ---------------------------------------------------------------------------
-- placement: 'reference' (a copy on every node, written on all of them in one
-- two-phase commit), 'item' (distributed by item_id, colocated with
-- erp.stock_slot), 'coordinator' (a plain table of the coordinator, unknown to
-- Citus).  Rows are in distribution order: every foreign key points to a table
-- listed before it.  doc/scaling.md says why each table is where it is.
CREATE FUNCTION erp.citus_layout()
RETURNS TABLE (relname text, placement text, ord integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT l.relname, l.placement, l.ord::integer
      FROM unnest(ARRAY[
               -- master data: small, read by every statement, written rarely
               'supplier', 'reason_code', 'approval_policy', 'state_transition', 'disposition_rule',
               'item', 'node', 'channel', 'lot', 'item_component', 'item_substitute', 'channel_node', 'node_access',
               'stock_policy', 'channel_reserve', 'bin', 'item_uom', 'channel_order_rules', 'price_list',
               'price_break', 'customer', 'service_level', 'node_cutoff',
               -- documents: an order's lines name items on every worker
               'sales_order', 'checkout_hold', 'order_line', 'shipment', 'shipment_line', 'rma', 'rma_line',
               'purchase_order', 'purchase_order_line', 'landed_cost', 'landed_cost_line', 'edi_order',
               'wave', 'wave_order', 'order_hold', 'shipment_tracking', 'order_service', 'order_edit', 'order_line_substitution',
               -- the nodes of each order, for the partner rule (85_access.sql)
               'order_node',
               -- idempotency keys: a retry through any node replays (by login name)
               'idempotency_key',
               -- planning inputs and outputs keyed to master data
               'demand_import', 'anomaly',
               -- the stock: every statement names its item_id
               'stock_slot', 'stock_move', 'reservation', 'checkout_hold_line', 'transfer', 'adjustment', 'cycle_count',
               -- the item's cost (valuation): written with its moves
               'cost_entry', 'cost_balance', 'cost_delta', 'cost_layer',
               -- the coordinator's own bookkeeping
               'event', 'event_commit', 'event_consumer', 'feed_change',
               'feed_horizon', 'policy_change', 'period_close', 'period_balance',
               'stock_move_archive', 'forecast_snapshot', 'citus_policy', 'period_cost',
               'cost_entry_archive'],
           ARRAY[
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'reference', 'reference',
               'reference', 'reference', 'reference', 'reference', 'item', 'item',
               'item', 'item', 'item', 'item', 'item', 'item',
               'item', 'item', 'item', 'coordinator', 'coordinator', 'coordinator',
               'coordinator', 'coordinator', 'coordinator', 'coordinator', 'coordinator', 'coordinator',
               'coordinator', 'coordinator', 'coordinator', 'coordinator'])
           WITH ORDINALITY AS l(relname, placement, ord)
$$;
COMMENT ON FUNCTION erp.citus_layout() IS
    'Where erp.distribute() puts each table of the extension on a Citus cluster: reference (a copy on every node), item (distributed by item_id, colocated with erp.stock_slot) or coordinator (a plain table there), in distribution order (every foreign key points to a table listed before it); doc/scaling.md';

-- ---------------------------------------------------------------------------
-- The guards of the stock tables on Citus's shards
-- ---------------------------------------------------------------------------
-- The kernel's routed statements reach a shard of erp.stock_move or
-- erp.stock_slot from another backend (the coordinator's, or the worker's a
-- client called), which is where the kernel counts its own writes; the
-- guards let such a write through when it comes on a connection Citus opened,
-- as the tables' owner (doc/scaling.md).  erp.stock_slot's guard does it
-- itself; the ledger's runs here (sql/install/04_ledger.sql created it).
CREATE OR REPLACE FUNCTION erp.guard_ledger_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_move_guard_any_node' LANGUAGE C;
-- and the cost tables' (sql/install/21_valuation.sql created it)
CREATE OR REPLACE FUNCTION erp.guard_cost_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_cost_guard_any_node' LANGUAGE C;

-- ---------------------------------------------------------------------------
-- Ids unique across nodes
-- ---------------------------------------------------------------------------
-- Every node of the cluster has the extension's sequences (CREATE EXTENSION is
-- run on each), all starting at 1: a row inserted through a worker would take
-- the ids the coordinator hands out.  On the node of Citus group g > 0 this
-- moves each sequence of schema erp to at least g * 2^48 + 1 (the coordinator,
-- group 0, keeps 1 .. 2^48): 2^48 ids per node, 32,767 nodes.
CREATE FUNCTION erp.citus_node_ids()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
    s record;
    last bigint;
    moved integer := 0;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO g;
    IF g IS NULL OR g <= 0 THEN
        RETURN 0;
    END IF;
    FOR s IN
        SELECT c.oid::regclass AS seq, q.seqmax
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_sequence q ON q.seqrelid = c.oid
         WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind = 'S'
         ORDER BY c.relname
    LOOP
        IF s.seqmax <= (g + 1) * (2::bigint ^ 48)::bigint THEN
            CONTINUE;   -- an integer sequence: too small to split (none of them is)
        END IF;
        EXECUTE pg_catalog.format('SELECT last_value FROM %s', s.seq) INTO last;
        IF last >= g * (2::bigint ^ 48)::bigint THEN
            CONTINUE;   -- in its range already
        END IF;
        PERFORM pg_catalog.setval(s.seq, g * (2::bigint ^ 48)::bigint + 1, false);
        moved := moved + 1;
    END LOOP;
    RETURN moved;
END
$$;
COMMENT ON FUNCTION erp.citus_node_ids() IS
    'On a Citus worker (group g > 0): moves every sequence of schema erp that is still below g * 2^48 to g * 2^48 + 1, so that rows inserted through this node never take ids another node hands out; returns how many it moved (0 on the coordinator or without Citus). erp.distribute() runs it on every worker';

-- ---------------------------------------------------------------------------
-- Row level security on Citus
-- ---------------------------------------------------------------------------
-- Citus refuses policies with subqueries on the tables it distributes or
-- replicates.  The policies of sql/install/85_access.sql read
-- (SELECT erp.visible_nodes()) once per statement; on Citus they call
-- erp.visible_nodes() itself (STABLE, cached per backend: the same answer), and
-- the documents' policies, which look at the stock rows of the document
-- (EXISTS over other tables), call the document's visibility function instead
-- (erp.order_visible, erp.rma_visible; for purchase order lines and landed
-- costs erp.po_visible, erp.po_line_visible, 85_access.sql), and the
-- idempotency keys' policy compares the login's name (src/idempotency.c).
-- erp.distribute() keeps each policy it rewrites here, and
-- erp.undistribute() puts it back.
CREATE TABLE erp.citus_policy (
    relname     name NOT NULL,
    polname     name NOT NULL,
    qual        text NOT NULL,
    PRIMARY KEY (relname, polname)
);
COMMENT ON TABLE erp.citus_policy IS
    'The row level security policies erp.distribute() rewrote without subqueries (Citus refuses them), as they were, for erp.undistribute() to restore; empty when the tables are not distributed';

-- The qualifier a policy has on Citus: without subqueries.
CREATE FUNCTION erp.citus_policy_qual(relname name, qual text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN relname IN ('sales_order', 'order_line', 'shipment', 'edi_order', 'order_hold',
                         'shipment_tracking', 'order_service', 'order_edit')
            THEN '(erp.visible_nodes() IS NULL) OR erp.order_visible(order_id)'
        WHEN relname = 'rma'
            THEN '(erp.visible_nodes() IS NULL) OR erp.rma_visible(rma_id)'
        WHEN relname IN ('purchase_order_line', 'landed_cost')
            THEN '(erp.visible_nodes() IS NULL) OR erp.po_visible(purchase_order_id)'
        WHEN relname = 'landed_cost_line'
            THEN '(erp.visible_nodes() IS NULL) OR erp.po_line_visible(purchase_order_line_id)'
        -- keys by login name on Citus (src/idempotency.c: a login's oid differs per node)
        WHEN relname = 'idempotency_key'
            THEN 'role_name OPERATOR(pg_catalog.=) SESSION_USER'
        WHEN qual ~* '\mEXISTS\M'
            THEN '(erp.visible_nodes() IS NULL)'
        ELSE pg_catalog.regexp_replace(qual, '\(\s*SELECT erp\.visible_nodes\(\) AS visible_nodes\)',
                                       'erp.visible_nodes()', 'g')
    END
$$;
COMMENT ON FUNCTION erp.citus_policy_qual(name, text) IS
    'The qualifier erp.distribute() gives a row level security policy of table relname (qualifier qual) on Citus, which refuses subqueries in policies';

-- A statement on a table that is not (or no longer) a Citus table, run here and
-- on every worker: each node has its own copy of the extension's tables, which
-- Citus uses as the shell of a distributed or reference table and never
-- recreates.  Refused (IE010) without Citus and when a worker fails it.
CREATE FUNCTION erp.citus_run_everywhere(command text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'IE010';
    END IF;
    EXECUTE command;
    SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ')
      INTO bad
      FROM run_command_on_workers(command) w
     WHERE NOT w.success;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'a worker refused "%": %', command, bad USING ERRCODE = 'IE010';
    END IF;
END
$$;
COMMENT ON FUNCTION erp.citus_run_everywhere(text) IS
    'Runs a statement on a table of the extension that Citus does not (or no longer) know, here and on every worker (each has its own copy of the table); used by erp.distribute() and erp.undistribute()';

-- ---------------------------------------------------------------------------
-- erp.distribute
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.distribute()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    fk record;
    pol record;
    todo integer;
    done integer := 0;
    bad text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in database "%": nothing to distribute', pg_catalog.current_database()
            USING ERRCODE = 'IE010',
                  HINT = 'Install Citus (shared_preload_libraries = ''citus''), CREATE EXTENSION citus on the coordinator and every worker, add the workers with citus_add_node, then call erp.distribute() again (doc/scaling.md).';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_local_group WHERE groupid <> 0) THEN
        RAISE EXCEPTION 'erp.distribute() runs on the coordinator, and this is a worker of Citus group %',
                        (SELECT groupid FROM pg_catalog.pg_dist_local_group)
            USING ERRCODE = 'IE010';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node WHERE groupid <> 0 AND isactive AND noderole = 'primary') THEN
        RAISE EXCEPTION 'Citus has no worker in database "%": nothing to distribute to', pg_catalog.current_database()
            USING ERRCODE = 'IE010',
                  HINT = 'Add the workers first: SELECT citus_add_node(''worker-host'', 5432);';
    END IF;
    -- every worker needs the extension, at this version (Citus creates it on the
    -- workers added before CREATE EXTENSION inventory_erp; a database that had it
    -- before Citus needs it created on each worker: doc/scaling.md)
    SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s has %s', w.nodename, w.nodeport,
               CASE WHEN w.success AND w.result <> '' THEN 'version ' || w.result ELSE 'no inventory_erp' END), '; ')
      INTO bad
      FROM run_command_on_workers('SELECT extversion FROM pg_catalog.pg_extension WHERE extname = ''inventory_erp''') w
     WHERE NOT w.success OR w.result IS DISTINCT FROM
           (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'inventory_erp');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'every worker needs inventory_erp %: %',
                        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'inventory_erp'), bad
            USING ERRCODE = 'IE010',
                  HINT = 'In the database on each such worker: SET citus.enable_ddl_propagation = off; then CREATE EXTENSION inventory_erp, or ALTER EXTENSION inventory_erp UPDATE to this version (doc/scaling.md, "Updating the extension").';
    END IF;
    -- a table of the layout that Citus already has, in another placement
    SELECT pg_catalog.string_agg(pg_catalog.format('erp.%s is %s, not %s', l.relname,
               CASE p.partmethod WHEN 'n' THEN 'a reference or Citus local table' ELSE 'distributed' END, l.placement), '; ')
      INTO bad
      FROM erp.citus_layout() l
      JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = pg_catalog.format('erp.%I', l.relname)::regclass
     WHERE l.placement = 'coordinator'
        OR (l.placement = 'reference' AND (p.partmethod <> 'n' OR p.repmodel <> 't'))
        OR (l.placement = 'item' AND p.partmethod <> 'h');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'the tables of inventory_erp are not laid out as erp.distribute() lays them out: %', bad
            USING ERRCODE = 'IE010',
                  HINT = 'erp.undistribute() brings every table back to the coordinator; erp.distribute() then lays them out again.';
    END IF;

    SELECT count(*) INTO todo
      FROM erp.citus_layout() l
     WHERE l.placement <> 'coordinator'
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                        WHERE p.logicalrelid = pg_catalog.format('erp.%I', l.relname)::regclass);
    IF todo > 0 THEN
        -- the extension's triggers are written to run on each shard (doc/scaling.md)
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
        -- foreign keys to reference tables: one connection per node
        PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
        -- Citus refuses to distribute a table a local table still references, and
        -- converting such a graph table by table drops and recreates extension
        -- objects: take the foreign keys off, lay out every table, put them back
        CREATE TEMP TABLE ierp_fk ON COMMIT DROP AS
            SELECT c.conrelid::regclass AS rel, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
              FROM pg_catalog.pg_constraint c
              JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
             WHERE c.contype = 'f' AND r.relnamespace = 'erp'::regnamespace;
        FOR fk IN SELECT * FROM ierp_fk LOOP
            PERFORM erp.citus_run_everywhere(pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.rel, fk.conname));
        END LOOP;
        FOR pol IN
            SELECT p.tablename, p.policyname, p.qual
              FROM pg_catalog.pg_policies p
              JOIN erp.citus_layout() l ON l.relname = p.tablename
             WHERE p.schemaname = 'erp' AND l.placement <> 'coordinator' AND p.qual ~* '\mSELECT\M'
               AND p.with_check IS NULL
             ORDER BY l.ord, p.policyname
        LOOP
            INSERT INTO erp.citus_policy VALUES (pol.tablename, pol.policyname, pol.qual);
            PERFORM erp.citus_run_everywhere(pg_catalog.format('ALTER POLICY %I ON erp.%I USING (%s)',
                pol.policyname, pol.tablename, erp.citus_policy_qual(pol.tablename, pol.qual)));
        END LOOP;
        -- idempotency keys are shared by every node, by login name (src/idempotency.c):
        -- the keys of dropped logins can never be replayed and go; no two live
        -- logins share a name
        DELETE FROM erp.idempotency_key k
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = k.role_oid);
        CREATE UNIQUE INDEX IF NOT EXISTS idempotency_key_role_name_key ON erp.idempotency_key (role_name, key);
        -- the order tables note the orders a call changes, on every placement, for
        -- erp.order_node (src/access.c, AccessSyncOrders)
        FOR t IN SELECT unnest(ARRAY['sales_order', 'order_line', 'shipment_line']) AS relname LOOP
            EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER order_node_touched AFTER INSERT OR UPDATE ON erp.%I'
                                      ' FOR EACH ROW EXECUTE FUNCTION erp.order_node_touched()', t.relname);
        END LOOP;
        -- Citus copies each table's rows into its new shards: the guards that keep
        -- builtin rows and the feeds that record changes must not see that copy
        FOR t IN SELECT * FROM erp.citus_layout() l WHERE l.placement <> 'coordinator' ORDER BY l.ord LOOP
            EXECUTE pg_catalog.format('ALTER TABLE erp.%I DISABLE TRIGGER USER', t.relname);
        END LOOP;
        FOR t IN
            SELECT * FROM erp.citus_layout() l
             WHERE l.placement <> 'coordinator'
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                                WHERE p.logicalrelid = pg_catalog.format('erp.%I', l.relname)::regclass)
             ORDER BY l.ord
        LOOP
            IF t.placement = 'reference' THEN
                PERFORM create_reference_table(pg_catalog.format('erp.%I', t.relname));
            ELSIF t.relname = 'stock_slot' THEN
                PERFORM create_distributed_table('erp.stock_slot', 'item_id', colocate_with => 'none');
            ELSE
                PERFORM create_distributed_table(pg_catalog.format('erp.%I', t.relname), 'item_id',
                                                 colocate_with => 'erp.stock_slot');
            END IF;
            -- the rows now live in the shards: the coordinator's table is an empty shell
            PERFORM truncate_local_data_after_distributing_table(pg_catalog.format('erp.%I', t.relname));
            done := done + 1;
        END LOOP;
        FOR t IN SELECT * FROM erp.citus_layout() l WHERE l.placement <> 'coordinator' ORDER BY l.ord LOOP
            EXECUTE pg_catalog.format('ALTER TABLE erp.%I ENABLE TRIGGER USER', t.relname);
        END LOOP;
        FOR fk IN SELECT * FROM ierp_fk LOOP
            EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname, fk.def);
        END LOOP;
        DROP TABLE ierp_fk;
    END IF;
    -- A statement that reads many shards (an order's reservations by order_id)
    -- and then writes a reference table (the order) in one transaction needs
    -- one connection per node: the database's sessions run multi-shard
    -- statements over it (doc/scaling.md); Citus passes this on to the workers.
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET citus.multi_shard_modify_mode = sequential',
                              pg_catalog.current_database());
    -- The module in every session of the database (src/access.c): a write of the
    -- balances, the ledger or the costs through any node is then refused (IE005)
    -- in the backend it was sent to, before Citus routes it to the shards, where
    -- it would look like the kernel's own routed statements.
    IF NOT 'inventory_erp' = ANY (pg_catalog.string_to_array(
               pg_catalog.replace(pg_catalog.current_setting('session_preload_libraries'), ' ', ''), ',')) THEN
        EXECUTE pg_catalog.format('ALTER DATABASE %I SET session_preload_libraries = %L', pg_catalog.current_database(),
            pg_catalog.concat_ws(',', NULLIF(pg_catalog.current_setting('session_preload_libraries'), ''), 'inventory_erp'));
    END IF;
    -- the nodes of every order, read by the partner rule on each node (85_access.sql)
    DELETE FROM erp.order_node;
    INSERT INTO erp.order_node (order_id, node_id)
        SELECT DISTINCT r.order_id, r.node_id FROM erp.reservation r ON CONFLICT DO NOTHING;
    INSERT INTO erp.order_node (order_id, node_id)
        SELECT DISTINCT l.order_id, l.node_id FROM erp.shipment_line l ON CONFLICT DO NOTHING;
    -- ids unique across nodes, also on workers added since the last call
    SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ')
      INTO bad
      FROM run_command_on_workers('SELECT erp.citus_node_ids()') w
     WHERE NOT w.success;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'could not give every worker its own range of ids: %', bad
            USING ERRCODE = 'IE010';
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION erp.distribute() IS
    'On a Citus coordinator with workers that have inventory_erp at its version: makes master data, documents and planning tables reference tables, distributes the stock tables (slots, ledger, reservations, transfers, adjustments, counts, cost entries, balances, deltas and layers) by item_id, keeps events, feeds and bookkeeping on the coordinator (erp.citus_layout()), and gives every worker its own range of ids; returns how many tables it laid out (0 when they already were: idempotent; call it again after adding workers). Refused (IE010): Citus not installed, no worker, a worker without inventory_erp at this version, called on a worker, a table already distributed another way';

-- ---------------------------------------------------------------------------
-- erp.undistribute
-- ---------------------------------------------------------------------------
-- Citus's undistribute_table recreates a table, which it refuses for a table
-- of an extension; so this copies each table's rows out, drops its shards and
-- metadata as DROP TABLE would (the workers keep their own copy of the
-- extension's table), and copies the rows back into the coordinator's table
-- (empty: erp.distribute() truncated it).  The workers' own copies of the
-- tables keep the shape erp.distribute() gave them (no foreign keys, policies
-- without subqueries; this transaction's locks on the workers would block a
-- statement sent to them on another connection): they hold no rows, and DROP
-- EXTENSION or the next erp.distribute() deals with them.
CREATE FUNCTION erp.undistribute()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    fk record;
    pol record;
    done integer := 0;
    rel regclass;
    cols text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN 0;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_local_group WHERE groupid <> 0) THEN
        RAISE EXCEPTION 'erp.undistribute() runs on the coordinator, and this is a worker of Citus group %',
                        (SELECT groupid FROM pg_catalog.pg_dist_local_group)
            USING ERRCODE = 'IE010';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM erp.citus_layout() l
                     JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = pg_catalog.format('erp.%I', l.relname)::regclass) THEN
        RETURN 0;
    END IF;
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    CREATE TEMP TABLE ierp_fk ON COMMIT DROP AS
        SELECT c.conrelid::regclass AS rel, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
          FROM pg_catalog.pg_constraint c
          JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
         WHERE c.contype = 'f' AND r.relnamespace = 'erp'::regnamespace;
    FOR fk IN SELECT * FROM ierp_fk LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
    END LOOP;
    FOR t IN
        SELECT l.relname FROM erp.citus_layout() l
          JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = pg_catalog.format('erp.%I', l.relname)::regclass
         ORDER BY l.ord DESC
    LOOP
        rel := pg_catalog.format('erp.%I', t.relname)::regclass;
        EXECUTE pg_catalog.format('CREATE TEMP TABLE ierp_rows ON COMMIT DROP AS SELECT * FROM %s', rel);
        PERFORM master_remove_distributed_table_metadata_from_workers(rel, 'erp', t.relname);
        PERFORM citus_drop_all_shards(rel, 'erp', t.relname, drop_shards_metadata_only := false);
        PERFORM master_remove_partition_metadata(rel, 'erp', t.relname);
        EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER USER', rel);
        -- every stored column but the generated ones, ids kept
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
        EXECUTE pg_catalog.format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ierp_rows', rel, cols, cols);
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE TRIGGER USER', rel);
        DROP TABLE ierp_rows;
        done := done + 1;
    END LOOP;
    FOR fk IN SELECT * FROM ierp_fk LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname, fk.def);
    END LOOP;
    DROP TABLE ierp_fk;
    EXECUTE pg_catalog.format('ALTER DATABASE %I RESET citus.multi_shard_modify_mode', pg_catalog.current_database());
    SELECT pg_catalog.string_agg(l, ',') INTO cols
      FROM pg_catalog.unnest(pg_catalog.string_to_array(
               pg_catalog.replace(pg_catalog.current_setting('session_preload_libraries'), ' ', ''), ',')) AS l
     WHERE l <> 'inventory_erp';
    IF cols IS NULL THEN
        EXECUTE pg_catalog.format('ALTER DATABASE %I RESET session_preload_libraries', pg_catalog.current_database());
    ELSE
        EXECUTE pg_catalog.format('ALTER DATABASE %I SET session_preload_libraries = %L', pg_catalog.current_database(), cols);
    END IF;
    -- one node's layout: idempotency keys by login oid again
    DROP INDEX IF EXISTS erp.idempotency_key_role_name_key;
    -- one node's layout: the partner rule reads the reservations, not erp.order_node
    FOR t IN SELECT unnest(ARRAY['sales_order', 'order_line', 'shipment_line']) AS relname LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS order_node_touched ON erp.%I', t.relname);
    END LOOP;
    DELETE FROM erp.order_node;
    FOR pol IN DELETE FROM erp.citus_policy RETURNING * LOOP
        EXECUTE pg_catalog.format('ALTER POLICY %I ON erp.%I USING (%s)', pol.polname, pol.relname, pol.qual);
    END LOOP;
    RETURN done;
END
$$;
COMMENT ON FUNCTION erp.undistribute() IS
    'On a Citus coordinator: brings every table erp.distribute() laid out back to a plain table of the coordinator with all its rows (ids kept), so that DROP EXTENSION inventory_erp works; returns how many tables it brought back (0 when none was distributed, or without Citus). Refused (IE010) on a worker';

-- ---------------------------------------------------------------------------
-- Events written through a worker
-- ---------------------------------------------------------------------------
-- erp.event is the coordinator's (erp.citus_layout()): a function a client calls
-- on a worker writes its events, and is notified of them, in that worker's own
-- copy of the table.  erp.citus_collect_events(), run on the coordinator (by hand
-- or as a job: doc/scaling.md), moves them into the coordinator's erp.event with
-- their ids (unique: each worker's ids are from its own range), where they are
-- stamped in the order they arrive and announced with NOTIFY erp_event like any
-- other.  A worker's copy of an event is deleted only by a later call, once the
-- coordinator's has been committed: a call that fails or rolls back loses nothing,
-- and one that is repeated copies nothing twice.
CREATE FUNCTION erp.citus_collect_events(max_per_worker integer DEFAULT 1000)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    w record;
    res record;
    rows jsonb;
    ids text;
    done bigint;
    moved bigint := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in database "%": no worker has events to collect', pg_catalog.current_database()
            USING ERRCODE = 'IE010';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_local_group WHERE groupid <> 0) THEN
        RAISE EXCEPTION 'erp.citus_collect_events() runs on the coordinator, and this is a worker of Citus group %',
                        (SELECT groupid FROM pg_catalog.pg_dist_local_group)
            USING ERRCODE = 'IE010';
    END IF;
    IF max_per_worker IS NULL OR max_per_worker < 1 OR max_per_worker > 100000 THEN
        RAISE EXCEPTION 'max_per_worker must be 1 to 100000, not %', max_per_worker
            USING ERRCODE = 'IE004';
    END IF;
    -- one collector at a time
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('inventory_erp citus_collect_events'));
    FOR w IN
        SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
         WHERE groupid <> 0 AND isactive AND noderole = 'primary' ORDER BY groupid
    LOOP
        SELECT * INTO res FROM master_run_on_worker(ARRAY[w.nodename], ARRAY[w.nodeport],
            ARRAY[pg_catalog.format('SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(e) ORDER BY e.event_id), ''[]'') FROM (SELECT * FROM erp.event ORDER BY event_id LIMIT %s) e',
                                    max_per_worker)], false);
        IF NOT res.success THEN
            RAISE EXCEPTION 'could not read the events of worker %:%: %', w.nodename, w.nodeport, res.result
                USING ERRCODE = 'IE010';
        END IF;
        rows := res.result::jsonb;
        -- those an earlier call moved (committed here): the worker's copy goes
        SELECT pg_catalog.string_agg(r.event_id::text, ',') INTO ids
          FROM pg_catalog.jsonb_populate_recordset(NULL::erp.event, rows) r
         WHERE EXISTS (SELECT 1 FROM erp.event e WHERE e.event_id = r.event_id);
        IF ids IS NOT NULL THEN
            SELECT * INTO res FROM master_run_on_worker(ARRAY[w.nodename], ARRAY[w.nodeport],
                ARRAY['DELETE FROM erp.event WHERE event_id IN (' || ids || ')'], false);
            IF NOT res.success THEN
                RAISE EXCEPTION 'could not delete the collected events of worker %:%: %', w.nodename, w.nodeport, res.result
                    USING ERRCODE = 'IE010';
            END IF;
        END IF;
        -- the others are copied here, in the order the worker numbered them
        INSERT INTO erp.event (event_id, kind, at, item_id, node_id, order_id, rma_id, payload)
            OVERRIDING SYSTEM VALUE
            SELECT r.event_id, r.kind, r.at, r.item_id, r.node_id, r.order_id, r.rma_id, r.payload
              FROM pg_catalog.jsonb_populate_recordset(NULL::erp.event, rows) r
             WHERE NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.event_id = r.event_id)
             ORDER BY r.event_id;
        GET DIAGNOSTICS done = ROW_COUNT;
        moved := moved + done;
    END LOOP;
    RETURN moved;
END
$$;
COMMENT ON FUNCTION erp.citus_collect_events(integer) IS
    'On a Citus coordinator: copies the events functions wrote through the workers (each worker''s own erp.event, at most max_per_worker of each per call) into the coordinator''s erp.event with their ids, stamped and announced (NOTIFY erp_event) as they arrive, and deletes the worker''s copies an earlier call copied; returns how many it copied. Refused (IE010): Citus not installed, called on a worker, a worker that cannot be read; (IE004) max_per_worker outside 1 to 100000';

REVOKE ALL ON FUNCTION erp.citus_layout(), erp.citus_node_ids(), erp.citus_policy_qual(name, text),
    erp.citus_run_everywhere(text),
    erp.distribute(), erp.undistribute() FROM PUBLIC;
-- a superuser's job (doc/scaling.md, "Events written through a worker")
REVOKE ALL ON FUNCTION erp.citus_collect_events(integer) FROM PUBLIC;

-- (a fresh install marks it in 99_dump.sql: pg_dump keeps its rows)
SELECT pg_catalog.pg_extension_config_dump('erp.citus_policy', '');
