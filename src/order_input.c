/*-------------------------------------------------------------------------
 *
 * order_input.c
 *	  Reading and checking what erp.capture_order receives, in C from the
 *	  jsonb values themselves: ship_to (NULL, or an object of at most
 *	  ORDER_MAX_SHIP_TO bytes whose "lat" and "lon", when given, are both
 *	  numbers of a real position) and the lines (a non-empty array of at
 *	  most GOVERNANCE_MAX_LINES objects {"sku", "qty", "unit_price",
 *	  "substitutes", "uom"}), each sku resolved through the item cache
 *	  (master_cache.c).  Every line is checked before anything is written.
 *	  The lines with "substitutes": true are kept for the new order
 *	  (substitute.c).
 *
 *	  A line with "uom" counts packs (pick_scan.c): its qty becomes units.
 *
 *	  Refuses: a wrong shape or a bad number (IE004), "substitutes" that is
 *	  no boolean or on a kit line (IE004), an unknown sku or a line without
 *	  one, a uom the item has no pack of (IE003); packs x units beyond a
 *	  move (IE004).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "governance.h"
#include "ierp.h"
#include "master_cache.h"
#include "order_document.h"
#include "order_input.h"
#include "pick_scan.h"

/* A sku resolved once in a capture. */
typedef struct SeenSku
{
	char		sku[IERP_MAX_KEY_LEN + 1];	/* hash key */
	int64		item_id;
	bool		active;
	bool		is_kit;
	char	   *unit_price;
} SeenSku;

/* What jsonb_typeof() says of a value. */
static const char *
JsonTypeName(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "object" : "array";
		case jbvArray:
			return "array";
		case jbvObject:
			return "object";
		default:
			return "unknown";
	}
}

/* What the ->> operator gives of a value: NULL for a JSON null. */
static char *
JsonText(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			return NULL;
	}
}

/* The type of the whole document, as jsonb_typeof() says it. */
static const char *
JsonbRootType(Jsonb *jb)
{
	JsonbValue	scalar;

	if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &scalar))
		return JsonTypeName(&scalar);
	return JB_ROOT_IS_OBJECT(jb) ? "object" : "array";
}

/* The member key of an object value, or NULL when it is none or has no such key. */
static JsonbValue *
JsonMember(const JsonbValue *v, const char *key)
{
	JsonbValue	res;
	JsonbValue *found;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return NULL;
	found = getKeyJsonValueFromContainer(v->val.binary.data, key, strlen(key), &res);
	if (found == NULL)
		return NULL;
	found = palloc(sizeof(JsonbValue));
	*found = res;
	return found;
}

/* Checks ship_to: NULL, or an object of bounded size whose "lat" and "lon" are given together as a real position. */
static void
CheckShipTo(Jsonb *ship_to)
{
	const char *type;
	char	   *text;
	JsonbValue	root;
	JsonbValue *lat_v,
			   *lon_v;
	char	   *lat_text = NULL,
			   *lon_text = NULL;
	double		lat = 0,
				lon = 0;

	if (ship_to == NULL)
		return;
	type = JsonbRootType(ship_to);
	if (strcmp(type, "object") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid ship_to: a JSON %s", type),
				 errdetail("ship_to is a JSON object such as {\"lat\": 53.55, \"lon\": 9.99}.")));
	text = JsonbToCString(NULL, &ship_to->root, VARSIZE(ship_to));
	if (strlen(text) > ORDER_MAX_SHIP_TO)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("ship_to is %zu bytes long", strlen(text)),
				 errdetail("At most %d bytes are accepted.", ORDER_MAX_SHIP_TO)));
	root.type = jbvBinary;
	root.val.binary.data = &ship_to->root;
	root.val.binary.len = VARSIZE(ship_to);
	lat_v = JsonMember(&root, "lat");
	lon_v = JsonMember(&root, "lon");
	if (lat_v == NULL && lon_v == NULL)
		return;
	if (lat_v)
		lat_text = JsonText(lat_v);
	if (lon_v)
		lon_text = JsonText(lon_v);
	if (lat_v == NULL || lon_v == NULL || lat_v->type != jbvNumeric || lon_v->type != jbvNumeric ||
		!OrderParseCoordinate(lat_text, &lat) || !OrderParseCoordinate(lon_text, &lon))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid ship_to position: lat %s, lon %s",
						lat_v ? (lat_text ? lat_text : "(null)") : "missing",
						lon_v ? (lon_text ? lon_text : "(null)") : "missing"),
				 errdetail("\"lat\" and \"lon\" are given together, as finite JSON numbers of degrees.")));
	IerpCheckCoordinates(lat, lon);
}

/*
 * OrderReadCapture: checks ship_to, then reads and checks every line of a
 * capture (IE004 for a wrong shape or a bad number, IE003 for an unknown
 * sku); returns how many.  A retired item is marked, not refused: a
 * redelivery of an order captured before it retired is no new order.
 * Must run between SPI_connect and SPI_finish (a sku not cached is read).
 */
int
OrderReadCapture(Jsonb *lines_json, Jsonb *ship_to, const char *channel, const char *external_ref,
				 CaptureLine **out)
{
	int			nlines = 0,
				i;
	CaptureLine *lines;
	HTAB	   *seen;

	CheckShipTo(ship_to);
	if (lines_json != NULL && strcmp(JsonbRootType(lines_json), "array") == 0)
		nlines = JsonContainerSize(&lines_json->root);
	if (nlines == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("order \"%s\" from channel \"%s\" has no lines", external_ref, channel),
				 errhint("lines is a JSON array like [{\"sku\": \"A-1\", \"qty\": 2, \"unit_price\": 19.90}].")));
	if (nlines > GOVERNANCE_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("order \"%s\" from channel \"%s\" has %d lines", external_ref, channel, nlines),
				 errdetail("An order has at most %d lines.", GOVERNANCE_MAX_LINES)));

	lines = palloc0(sizeof(CaptureLine) * nlines);
	{
		HASHCTL		ctl;

		/*
		 * Each sku is resolved once per capture: every line of one sku gets
		 * the same item and price, even when another session changes the
		 * item while this capture runs (the item cache follows committed
		 * changes from lookup to lookup).
		 */
		ctl.keysize = IERP_MAX_KEY_LEN + 1;
		ctl.entrysize = sizeof(SeenSku);
		ctl.hcxt = CurrentMemoryContext;
		seen = hash_create("inventory_erp capture skus", Min(nlines, 64), &ctl,
						   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	for (i = 0; i < nlines; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&lines_json->root, i);
		const char *ltype = JsonTypeName(e);
		JsonbValue *sku_v = JsonMember(e, "sku");
		JsonbValue *qty_v = JsonMember(e, "qty");
		JsonbValue *price_v = JsonMember(e, "unit_price");
		JsonbValue *subst_v = JsonMember(e, "substitutes");
		JsonbValue *uom_v = JsonMember(e, "uom");
		char	   *sku = sku_v ? JsonText(sku_v) : NULL;
		char	   *qty = qty_v ? JsonText(qty_v) : NULL;
		const MasterItem *item;
		SeenSku    *known;
		bool		found;

		if (strcmp(ltype, "object") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("line %d of order \"%s\" is a JSON %s", i + 1, external_ref, ltype),
					 errdetail("Each line is a JSON object like {\"sku\": \"A-1\", \"qty\": 2}.")));
		if (sku == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("line %d of order \"%s\" has no sku", i + 1, external_ref)));
		if (sku_v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("line %d of order \"%s\": the sku is a JSON %s", i + 1, external_ref,
							JsonTypeName(sku_v)),
					 errdetail("A sku is a JSON string.")));
		IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
		known = hash_search(seen, sku, HASH_FIND, NULL);
		if (known == NULL)
		{
			item = MasterItemLookup(sku);
			if (item == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
						 errmsg("unknown sku \"%s\"", sku),
						 errhint("Items are created by erp_admin in erp.item.")));
			known = hash_search(seen, sku, HASH_ENTER, &found);
			known->item_id = item->info.item_id;
			known->active = item->active;
			known->is_kit = item->info.is_kit;
			known->unit_price = pstrdup(item->unit_price);
		}
		lines[i].retired = !known->active;
		lines[i].item_id = known->item_id;
		lines[i].item_price = known->unit_price;
		lines[i].sku = sku;
		if (qty_v != NULL && qty_v->type != jbvNumeric && qty_v->type != jbvString && qty_v->type != jbvNull)
			qty = "?";
		if (qty != NULL && strlen(qty) > 20)
			qty = "(too long)";
		lines[i].qty = IerpParseQuantity(qty, sku);
		/* {"uom": "case"}: qty counts packs; the line keeps units (unit_price stays per unit) */
		if (uom_v != NULL && uom_v->type != jbvNull)
		{
			if (uom_v->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_INVALID_QUANTITY),
						 errmsg("line %d of order \"%s\": uom is a JSON %s", i + 1, external_ref,
								JsonTypeName(uom_v)),
						 errdetail("A uom is a JSON string: each, inner, case or pallet (erp.item_uom).")));
			lines[i].qty = PackTotal(lines[i].qty, PackUnitsOfUom(known->item_id, sku, JsonText(uom_v)),
									 sku, "an order line");
		}
		lines[i].price = (price_v == NULL || price_v->type == jbvNull) ? NULL : JsonText(price_v);
		if (lines[i].price != NULL &&
			((price_v->type != jbvNumeric && price_v->type != jbvString) ||
			 strlen(lines[i].price) > 20 || !IerpIsPrice(lines[i].price)))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid unit_price \"%s\" for sku \"%s\"",
							strlen(lines[i].price) > 20 ? "(too long)" : lines[i].price, sku),
					 errdetail("A unit price is a number >= 0 with at most 12 digits before the point and 2 after.")));
		if (subst_v != NULL && subst_v->type != jbvNull && subst_v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("line %d of order \"%s\": substitutes is a JSON %s", i + 1, external_ref,
							JsonTypeName(subst_v)),
					 errdetail("\"substitutes\": true lets an agreed substitute fill the line when its item cannot.")));
		lines[i].substitutes = subst_v != NULL && subst_v->type == jbvBool && subst_v->val.boolean;
		if (lines[i].substitutes && known->is_kit)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("line %d of order \"%s\": kit \"%s\" takes no substitutes", i + 1, external_ref, sku),
					 errdetail("A kit's components are reserved together; substitutes are for plain items.")));
	}
	*out = lines;
	return nlines;
}
