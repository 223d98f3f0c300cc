/*-------------------------------------------------------------------------
 *
 * gtin.c
 *	  The erp.gtin base type: a GS1 Global Trade Item Number (GTIN-8, -12,
 *	  -13 or -14) whose check digit has been verified.
 *
 * A GTIN is stored as an int64 holding its 14-digit numeric value, so the
 * shorter forms are the same number with leading zeros: '036000291452'
 * (UPC-A), '0036000291452' (EAN-13) and '00036000291452' (GTIN-14) are one
 * value.  Output is always the canonical, zero-padded 14-digit form.  The
 * GS1 check digit does not change under zero padding, so validating the
 * 14-digit form validates every shorter one.
 *
 * This file owns the type's text and binary I/O, the btree and hash
 * support functions, the casts from text and bigint and back to bigint,
 * gtin_is_valid(text), and the helper other modules call to read a
 * scanned code:
 *
 *	  bool GtinParse(const char *str, int64 *result, bool raise_error);
 *
 * Every refusal raises ERRCODE_IERP_INVALID_GTIN (SQLSTATE IE006).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ierp.h"

#include <ctype.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/sortsupport.h"

/* the canonical form has this many digits */
#define GTIN_DIGITS		14

/* 10^14: every GTIN is below this */
#define GTIN_LIMIT		INT64CONST(100000000000000)

#define PG_GETARG_GTIN(n)	PG_GETARG_INT64(n)
#define PG_RETURN_GTIN(x)	PG_RETURN_INT64(x)

/*
 * GtinCheckDigit: the GS1 check digit of the ndata digits at data.  From
 * the rightmost data digit going left the weights are 3, 1, 3, 1, ...; the
 * check digit brings the weighted sum up to a multiple of ten.
 */
static int
GtinCheckDigit(const char *data, int ndata)
{
	int			sum = 0;
	int			weight = 3;
	int			i;

	for (i = ndata - 1; i >= 0; i--)
	{
		sum += (data[i] - '0') * weight;
		weight = 4 - weight;
	}
	return (10 - sum % 10) % 10;
}

/*
 * GtinVerifyDigits: whether the ndigits (1 to 14) digits at digits form a
 * GTIN: the last one must be the GS1 check digit of the others, and they
 * must not all be zero (GS1 assigns no such number).
 * shown is what the user gave, quoted in the error.  Returns false, or
 * raises IE006 when raise_error, if they do not.
 */
static bool
GtinVerifyDigits(const char *digits, int ndigits, const char *shown,
				 bool raise_error)
{
	int			given = digits[ndigits - 1] - '0';
	int			expected = GtinCheckDigit(digits, ndigits - 1);
	int			i;

	if (given != expected)
	{
		if (!raise_error)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_GTIN),
				 errmsg("invalid GTIN \"%s\"", shown),
				 errdetail("The check digit is %d; the GS1 check digit of the first %d digits is %d.",
						   given, ndigits - 1, expected),
				 errhint("A mistyped or swapped digit is the usual cause; scan the barcode again or copy the number from the label.")));
	}

	for (i = 0; i < ndigits; i++)
	{
		if (digits[i] != '0')
			return true;
	}

	if (!raise_error)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_INVALID_GTIN),
			 errmsg("invalid GTIN \"%s\"", shown),
			 errdetail("A GTIN of all zeros is never assigned by GS1.")));
	return false;				/* keep the compiler quiet */
}

/*
 * GtinFromInt64: checks that value, from a bigint or the binary protocol,
 * is a GTIN: between 1 and 10^14 - 1 with a valid check digit.  Returns
 * false, or raises IE006 when raise_error, if it is not.
 */
static bool
GtinFromInt64(int64 value, bool raise_error)
{
	char		shown[32];
	char		digits[GTIN_DIGITS + 1];
	int64		rest = value;
	int			i;

	snprintf(shown, sizeof(shown), INT64_FORMAT, value);

	if (value <= 0 || value >= GTIN_LIMIT)
	{
		if (!raise_error)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_GTIN),
				 errmsg("invalid GTIN \"%s\"", shown),
				 errdetail("A GTIN as a number lies between 1 and 99999999999999; %s does not.",
						   shown)));
	}

	for (i = GTIN_DIGITS - 1; i >= 0; i--)
	{
		digits[i] = (char) ('0' + rest % 10);
		rest /= 10;
	}
	digits[GTIN_DIGITS] = '\0';

	/*
	 * Leading zeros do not change the check digit; leave them out so that
	 * an error counts the digits the user wrote.
	 */
	for (i = 0; digits[i] == '0'; i++)
		;
	return GtinVerifyDigits(digits + i, GTIN_DIGITS - i, shown, raise_error);
}

/*
 * GtinParse: reads the GTIN in the NUL-terminated string str into *result
 * (its 14-digit numeric value).  Accepts 8, 12, 13 or 14 digits with a
 * valid GS1 check digit, optionally surrounded by whitespace.  Refuses
 * anything else: an empty string, a character other than a digit, another
 * number of digits, a wrong check digit, all zeros.  On refusal it returns
 * false, or raises IE006 when raise_error; it allocates nothing either way.
 *
 * Exported for the modules that verify scans.
 */

bool
GtinParse(const char *str, int64 *result, bool raise_error)
{
	const char *start = str;
	const char *end;
	const char *p;
	int			ndigits;
	int64		value = 0;

	while (*start != '\0' && isspace((unsigned char) *start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char) end[-1]))
		end--;
	ndigits = (int) (end - start);

	if (ndigits == 0)
	{
		if (!raise_error)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_GTIN),
				 errmsg("invalid GTIN \"%s\"", str),
				 errdetail("The value is empty; a GTIN has 8, 12, 13 or 14 digits.")));
	}

	for (p = start; p < end; p++)
	{
		if (*p < '0' || *p > '9')
		{
			int			charlen;
			int			position;

			if (!raise_error)
				return false;
			/* show the whole offending character, never half of one */
			charlen = Min(pg_mblen(p), (int) (end - p));
			position = pg_mbstrlen_with_len(start, (int) (p - start)) + 1;
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_GTIN),
					 errmsg("invalid GTIN \"%s\"", str),
					 errdetail("A GTIN has digits only; \"%.*s\" has \"%.*s\" at position %d.",
							   ndigits, start, charlen, p, position)));
		}
	}

	if (ndigits != 8 && ndigits != 12 && ndigits != 13 && ndigits != 14)
	{
		if (!raise_error)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_GTIN),
				 errmsg("invalid GTIN \"%s\"", str),
				 errdetail("A GTIN has 8, 12, 13 or 14 digits; \"%.*s\" has %d.",
						   ndigits, start, ndigits)));
	}

	if (!GtinVerifyDigits(start, ndigits, str, raise_error))
		return false;

	for (p = start; p < end; p++)
		value = value * 10 + (*p - '0');
	*result = value;
	return true;
}

/*
 * gtin_in: text input.  Refuses, with IE006, whatever GtinParse refuses.
 */
PG_FUNCTION_INFO_V1(gtin_in);
Datum
gtin_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	int64		result;

	(void) GtinParse(str, &result, true);
	PG_RETURN_GTIN(result);
}

/*
 * gtin_out: text output, always the canonical 14 digits with leading zeros.
 */
PG_FUNCTION_INFO_V1(gtin_out);
Datum
gtin_out(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_GTIN(0);
	char	   *result = palloc(GTIN_DIGITS + 1);
	int			i;

	if (value < 0 || value >= GTIN_LIMIT)
		elog(ERROR, "GTIN value " INT64_FORMAT " out of range", value);

	for (i = GTIN_DIGITS - 1; i >= 0; i--)
	{
		result[i] = (char) ('0' + value % 10);
		value /= 10;
	}
	result[GTIN_DIGITS] = '\0';
	PG_RETURN_CSTRING(result);
}

/*
 * gtin_recv: binary input, the 14-digit value as a big-endian int64 (the
 * same bytes as a bigint).  Refuses, with IE006, a value that is not a
 * GTIN, so binary COPY cannot bring in what text input would refuse.
 */
PG_FUNCTION_INFO_V1(gtin_recv);
Datum
gtin_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		value = pq_getmsgint64(buf);

	(void) GtinFromInt64(value, true);
	PG_RETURN_GTIN(value);
}

/*
 * gtin_send: binary output, the 14-digit value as a big-endian int64.
 */
PG_FUNCTION_INFO_V1(gtin_send);
Datum
gtin_send(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_GTIN(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, (uint64) value);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Comparison: GTINs order as their 14-digit numbers, so equal numbers in
 * different lengths are equal, and the order is that of the canonical text.
 */
PG_FUNCTION_INFO_V1(gtin_lt);
Datum
gtin_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_GTIN(0) < PG_GETARG_GTIN(1));
}

PG_FUNCTION_INFO_V1(gtin_le);
Datum
gtin_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_GTIN(0) <= PG_GETARG_GTIN(1));
}

PG_FUNCTION_INFO_V1(gtin_eq);
Datum
gtin_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_GTIN(0) == PG_GETARG_GTIN(1));
}

PG_FUNCTION_INFO_V1(gtin_ne);
Datum
gtin_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_GTIN(0) != PG_GETARG_GTIN(1));
}

PG_FUNCTION_INFO_V1(gtin_ge);
Datum
gtin_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_GTIN(0) >= PG_GETARG_GTIN(1));
}

PG_FUNCTION_INFO_V1(gtin_gt);
Datum
gtin_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_GTIN(0) > PG_GETARG_GTIN(1));
}

/*
 * gtin_cmp: btree support function 1; -1, 0 or 1.
 */
PG_FUNCTION_INFO_V1(gtin_cmp);
Datum
gtin_cmp(PG_FUNCTION_ARGS)
{
	int64		a = PG_GETARG_GTIN(0);
	int64		b = PG_GETARG_GTIN(1);

	if (a < b)
		PG_RETURN_INT32(-1);
	if (a > b)
		PG_RETURN_INT32(1);
	PG_RETURN_INT32(0);
}

#if SIZEOF_DATUM < 8
/* the same comparison on Datums, where int64 is not passed by value */
static int
GtinFastCmp(Datum x, Datum y, SortSupport ssup)
{
	int64		a = DatumGetInt64(x);
	int64		b = DatumGetInt64(y);

	if (a < b)
		return -1;
	if (a > b)
		return 1;
	return 0;
}
#endif

/*
 * gtin_sortsupport: btree support function 2, so sorts and index builds
 * compare GTINs without a function call per comparison.
 */
PG_FUNCTION_INFO_V1(gtin_sortsupport);
Datum
gtin_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

#if SIZEOF_DATUM >= 8
	ssup->comparator = ssup_datum_signed_cmp;
#else
	ssup->comparator = GtinFastCmp;
#endif
	PG_RETURN_VOID();
}

/*
 * gtin_hash: hash support function 1, the hash of the int64 value, equal
 * for equal GTINs whatever length they were written in.
 */
PG_FUNCTION_INFO_V1(gtin_hash);
Datum
gtin_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint8, Int64GetDatum(PG_GETARG_GTIN(0)));
}

/*
 * gtin_hash_extended: hash support function 2, the seeded 64-bit hash
 * that hash partitioning uses.
 */
PG_FUNCTION_INFO_V1(gtin_hash_extended);
Datum
gtin_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint8extended,
							   Int64GetDatum(PG_GETARG_GTIN(0)),
							   PG_GETARG_DATUM(1));
}

/*
 * gtin_from_text: the text -> gtin cast.  Refuses, with IE006, whatever
 * text input refuses.
 */
PG_FUNCTION_INFO_V1(gtin_from_text);
Datum
gtin_from_text(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		result;

	(void) GtinParse(str, &result, true);
	pfree(str);
	PG_RETURN_GTIN(result);
}

/*
 * gtin_from_bigint: the bigint -> gtin cast.  Refuses, with IE006, a
 * number outside 1 .. 10^14 - 1 or one whose last digit is not the GS1
 * check digit of the others.
 */
PG_FUNCTION_INFO_V1(gtin_from_bigint);
Datum
gtin_from_bigint(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);

	(void) GtinFromInt64(value, true);
	PG_RETURN_GTIN(value);
}

/*
 * gtin_to_bigint: the gtin -> bigint cast, the 14-digit number.  Never
 * refuses.
 */
PG_FUNCTION_INFO_V1(gtin_to_bigint);
Datum
gtin_to_bigint(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_GTIN(0));
}

/*
 * gtin_is_valid: whether text input would accept the text.  Never raises
 * an error for a bad code; answers false instead.
 */
PG_FUNCTION_INFO_V1(gtin_is_valid);
Datum
gtin_is_valid(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		ignored;
	bool		valid;

	valid = GtinParse(str, &ignored, false);
	pfree(str);
	PG_RETURN_BOOL(valid);
}
