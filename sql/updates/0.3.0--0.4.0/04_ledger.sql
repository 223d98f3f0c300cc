-- 04_ledger (issue 16): the ledger names the bins a move leaves and enters
-- (as sql/install/04_ledger.sql; NULL = the node's stock outside bins).
ALTER TABLE erp.stock_move ADD COLUMN from_bin_id bigint, ADD COLUMN to_bin_id bigint;
-- the archive keeps the ledger's columns (erp.archive_ledger, as a fresh install's LIKE erp.stock_move)
ALTER TABLE erp.stock_move_archive ADD COLUMN from_bin_id bigint, ADD COLUMN to_bin_id bigint;
COMMENT ON COLUMN erp.stock_move.from_bin_id IS 'Bin (erp.bin) the units left inside from_node_id; NULL = the node''s stock outside bins, or from outside (0.4.0)';
COMMENT ON COLUMN erp.stock_move.to_bin_id IS 'Bin (erp.bin) the units entered inside to_node_id; NULL = the node''s stock outside bins, or to outside (0.4.0)';
COMMENT ON COLUMN erp.stock_slot.bin_id IS 'Place inside the node (erp.bin); 0 = the node''s stock outside bins';
-- The ledger's actor is text, not a 64-byte name (as sql/install/04_ledger.sql): every
-- ledger row, and its WAL, is 55 bytes smaller for a login of 8 characters
-- (doc/performance.md).  Rewrites the ledger once; the default stays erp.current_actor().
ALTER TABLE erp.stock_move ALTER COLUMN actor TYPE text;
ALTER TABLE erp.stock_move_archive ALTER COLUMN actor TYPE text;
COMMENT ON COLUMN erp.stock_move.actor IS 'Who moved the stock: the login of the session (erp.current_actor()), not a role it SET; text, not name (0.4.0): a 64-byte name made every ledger row 55 bytes wider';
