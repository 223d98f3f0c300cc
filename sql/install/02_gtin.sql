\echo Use "CREATE EXTENSION inventory_erp" to load this file. \quit

-- 02_gtin.sql: the erp.gtin base type, a GS1 GTIN-8, -12, -13 or -14 with a
-- verified check digit, stored as its 14-digit number (src/gtin.c).  Text and
-- binary I/O, comparison operators, btree and hash operator classes, casts
-- from text and bigint and back to bigint, and erp.gtin_is_valid(text).

CREATE TYPE erp.gtin;

-- I/O ----------------------------------------------------------------------

CREATE FUNCTION erp.gtin_in(cstring) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_out(erp.gtin) RETURNS cstring
    AS 'MODULE_PATHNAME', 'gtin_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_recv(internal) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_send(erp.gtin) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gtin_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE erp.gtin (
    INPUT          = erp.gtin_in,
    OUTPUT         = erp.gtin_out,
    RECEIVE        = erp.gtin_recv,
    SEND           = erp.gtin_send,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT      = double,
    STORAGE        = plain
);

COMMENT ON TYPE erp.gtin IS
    'A GS1 barcode number (GTIN-8, -12, -13 or -14) with a verified check digit, always shown as 14 digits.';
COMMENT ON FUNCTION erp.gtin_in(cstring) IS
    'Reads a GTIN of 8, 12, 13 or 14 digits and refuses it (IE006) unless its check digit is right.';
COMMENT ON FUNCTION erp.gtin_out(erp.gtin) IS
    'Shows a GTIN as its canonical 14 digits, zero-padded on the left.';
COMMENT ON FUNCTION erp.gtin_recv(internal) IS
    'Reads a GTIN in binary form (a big-endian 8-byte integer) and refuses it (IE006) unless it is a valid GTIN.';
COMMENT ON FUNCTION erp.gtin_send(erp.gtin) IS
    'Writes a GTIN in binary form, its 14-digit number as a big-endian 8-byte integer.';

-- Comparison ---------------------------------------------------------------

CREATE FUNCTION erp.gtin_lt(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_lt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_le(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_le'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_eq(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_eq'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_ne(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_ne'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_ge(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_ge'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_gt(erp.gtin, erp.gtin) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_gt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_cmp(erp.gtin, erp.gtin) RETURNS integer
    AS 'MODULE_PATHNAME', 'gtin_cmp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_sortsupport(internal) RETURNS void
    AS 'MODULE_PATHNAME', 'gtin_sortsupport'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_hash(erp.gtin) RETURNS integer
    AS 'MODULE_PATHNAME', 'gtin_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_hash_extended(erp.gtin, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'gtin_hash_extended'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION erp.gtin_lt(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts before the second (the < operator).';
COMMENT ON FUNCTION erp.gtin_le(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts before or equals the second (the <= operator).';
COMMENT ON FUNCTION erp.gtin_eq(erp.gtin, erp.gtin) IS
    'True when both GTINs are the same number, whatever length each was written in (the = operator).';
COMMENT ON FUNCTION erp.gtin_ne(erp.gtin, erp.gtin) IS
    'True when the GTINs are different numbers (the <> operator).';
COMMENT ON FUNCTION erp.gtin_ge(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts after or equals the second (the >= operator).';
COMMENT ON FUNCTION erp.gtin_gt(erp.gtin, erp.gtin) IS
    'True when the first GTIN sorts after the second (the > operator).';
COMMENT ON FUNCTION erp.gtin_cmp(erp.gtin, erp.gtin) IS
    'Orders two GTINs (-1, 0 or 1) for btree indexes and sorting.';
COMMENT ON FUNCTION erp.gtin_sortsupport(internal) IS
    'Lets sorts and index builds compare GTINs without a function call per comparison.';
COMMENT ON FUNCTION erp.gtin_hash(erp.gtin) IS
    'Hashes a GTIN for hash indexes, hash joins and hash aggregation; equal GTINs hash alike.';
COMMENT ON FUNCTION erp.gtin_hash_extended(erp.gtin, bigint) IS
    'Hashes a GTIN with a seed, for hash partitioning.';

CREATE OPERATOR erp.< (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_lt,
    COMMUTATOR = OPERATOR(erp.>), NEGATOR = OPERATOR(erp.>=),
    RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);

CREATE OPERATOR erp.<= (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_le,
    COMMUTATOR = OPERATOR(erp.>=), NEGATOR = OPERATOR(erp.>),
    RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);

CREATE OPERATOR erp.= (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_eq,
    COMMUTATOR = OPERATOR(erp.=), NEGATOR = OPERATOR(erp.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
    MERGES, HASHES
);

CREATE OPERATOR erp.<> (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_ne,
    COMMUTATOR = OPERATOR(erp.<>), NEGATOR = OPERATOR(erp.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);

CREATE OPERATOR erp.>= (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_ge,
    COMMUTATOR = OPERATOR(erp.<=), NEGATOR = OPERATOR(erp.<),
    RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);

CREATE OPERATOR erp.> (
    LEFTARG = erp.gtin, RIGHTARG = erp.gtin, FUNCTION = erp.gtin_gt,
    COMMUTATOR = OPERATOR(erp.<), NEGATOR = OPERATOR(erp.<=),
    RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);

COMMENT ON OPERATOR erp.< (erp.gtin, erp.gtin) IS 'GTIN sorts before';
COMMENT ON OPERATOR erp.<= (erp.gtin, erp.gtin) IS 'GTIN sorts before or equals';
COMMENT ON OPERATOR erp.= (erp.gtin, erp.gtin) IS 'same GTIN, whatever length each was written in';
COMMENT ON OPERATOR erp.<> (erp.gtin, erp.gtin) IS 'different GTINs';
COMMENT ON OPERATOR erp.>= (erp.gtin, erp.gtin) IS 'GTIN sorts after or equals';
COMMENT ON OPERATOR erp.> (erp.gtin, erp.gtin) IS 'GTIN sorts after';

-- Operator classes ---------------------------------------------------------

CREATE OPERATOR CLASS erp.gtin_ops
    DEFAULT FOR TYPE erp.gtin USING btree AS
        OPERATOR 1 erp.< ,
        OPERATOR 2 erp.<= ,
        OPERATOR 3 erp.= ,
        OPERATOR 4 erp.>= ,
        OPERATOR 5 erp.> ,
        FUNCTION 1 erp.gtin_cmp(erp.gtin, erp.gtin),
        FUNCTION 2 erp.gtin_sortsupport(internal);

CREATE OPERATOR CLASS erp.gtin_hash_ops
    DEFAULT FOR TYPE erp.gtin USING hash AS
        OPERATOR 1 erp.= ,
        FUNCTION 1 erp.gtin_hash(erp.gtin),
        FUNCTION 2 erp.gtin_hash_extended(erp.gtin, bigint);

COMMENT ON OPERATOR CLASS erp.gtin_ops USING btree IS
    'Default btree operator class for GTINs: unique constraints, range scans and ORDER BY on erp.gtin columns.';
COMMENT ON OPERATOR CLASS erp.gtin_hash_ops USING hash IS
    'Default hash operator class for GTINs: hash indexes, hash joins, hash aggregation and hash partitioning.';

-- Casts and helpers --------------------------------------------------------

CREATE FUNCTION erp.gtin_from_text(text) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_from_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_from_bigint(bigint) RETURNS erp.gtin
    AS 'MODULE_PATHNAME', 'gtin_from_bigint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION erp.gtin_to_bigint(erp.gtin) RETURNS bigint
    AS 'MODULE_PATHNAME', 'gtin_to_bigint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION erp.gtin_is_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'gtin_is_valid'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION erp.gtin_from_text(text) IS
    'Converts text to a GTIN (the text::erp.gtin cast, also used when storing text into a gtin column); refuses what input refuses (IE006).';
COMMENT ON FUNCTION erp.gtin_from_bigint(bigint) IS
    'Converts a number to a GTIN (the bigint::erp.gtin cast); refuses (IE006) a number outside 1 to 99999999999999 or with a wrong check digit.';
COMMENT ON FUNCTION erp.gtin_to_bigint(erp.gtin) IS
    'Gives a GTIN''s 14-digit number as a bigint (the erp.gtin::bigint cast).';
COMMENT ON FUNCTION erp.gtin_is_valid(text) IS
    'True when the text is a GTIN that erp.gtin would accept; false, never an error, otherwise.';

CREATE CAST (text AS erp.gtin)
    WITH FUNCTION erp.gtin_from_text(text) AS ASSIGNMENT;

CREATE CAST (bigint AS erp.gtin)
    WITH FUNCTION erp.gtin_from_bigint(bigint);

CREATE CAST (erp.gtin AS bigint)
    WITH FUNCTION erp.gtin_to_bigint(erp.gtin);

COMMENT ON CAST (text AS erp.gtin) IS
    'Reads text as a GTIN; implicit on assignment, so text can be stored into a gtin column.';
COMMENT ON CAST (bigint AS erp.gtin) IS
    'Reads a number as a GTIN (explicit); refuses a number that is not one (IE006).';
COMMENT ON CAST (erp.gtin AS bigint) IS
    'Gives a GTIN''s 14-digit number (explicit).';
