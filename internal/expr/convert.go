package expr

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ConversionFailure is MongoDB's error code for failed $convert.
const ConversionFailure mongoerr.Code = 241

type convertExpr struct {
	input, to, onError, onNull Expr
	fixedTo                    string // for $toInt etc.
}

func (c convertExpr) Eval(v *Vars) (any, error) {
	in, err := c.input.Eval(v)
	if err != nil {
		return nil, err
	}
	target := c.fixedTo
	if target == "" {
		t, err := c.to.Eval(v)
		if err != nil {
			return nil, err
		}
		if nullish(t) {
			return nil, nil
		}
		target, err = convertTarget(t)
		if err != nil {
			return nil, err
		}
	}
	if nullish(in) {
		if c.onNull != nil {
			return c.onNull.Eval(v)
		}
		return nil, nil
	}
	out, err := convertValue(in, target)
	if err != nil {
		if c.onError != nil {
			return c.onError.Eval(v)
		}
		return nil, mongoerr.New(ConversionFailure, err.(*mongoerr.Error).Msg+" in $convert with no onError value")
	}
	return out, nil
}

func convertTarget(t any) (string, error) {
	switch x := t.(type) {
	case string:
		switch x {
		case "double", "string", "objectId", "bool", "date", "int", "long", "decimal":
			return x, nil
		}
		if _, ok := bsonutil.TypeAliases[x]; ok {
			return x, nil
		}
		return "", mongoerr.Newf(mongoerr.BadValue, "Unknown type name: %s", x)
	}
	if bsonutil.IsNumber(t) {
		n, ok := bsonutil.ToInt64(t)
		if !ok {
			return "", mongoerr.Newf(mongoerr.BadValue, "In $convert, numeric 'to' argument is not an integer")
		}
		for name, num := range bsonutil.TypeAliases {
			if int64(num) == n && name != "number" {
				return name, nil
			}
		}
		return "", mongoerr.Newf(mongoerr.BadValue, "In $convert, numeric value for 'to' does not correspond to a BSON type: %d", n)
	}
	return "", mongoerr.Newf(mongoerr.FailedToParse, "$convert's 'to' argument must be a string or number, but is %s", typeName(t))
}

func convFail(format string, args ...any) error {
	return mongoerr.Newf(ConversionFailure, format, args...)
}

func unsupported(in any, target string) error {
	return convFail("Unsupported conversion from %s to %s", typeName(in), target)
}

// convertValue converts a non-null value to the named type.
func convertValue(in any, target string) (any, error) {
	switch target {
	case "bool":
		return bsonutil.IsTruthy(in), nil
	case "int", "long":
		return convertToInt(in, target)
	case "double":
		switch x := in.(type) {
		case bool:
			if x {
				return 1.0, nil
			}
			return 0.0, nil
		case int32, int64, float64:
			return asFloat(x), nil
		case bson.Decimal128:
			d := toDec(x)
			f := d.float()
			if d.kind == decFinite && math.IsInf(f, 0) {
				return nil, convFail("Conversion would overflow target type")
			}
			return f, nil
		case string:
			f, err := parseDoubleString(x)
			if err != nil {
				return nil, err
			}
			return f, nil
		case bson.DateTime:
			return float64(x), nil
		}
	case "decimal":
		switch x := in.(type) {
		case bool:
			return decFromInt(int64(btoi(x))).to128(), nil
		case int32, int64, float64, bson.Decimal128:
			return toDec(x).to128(), nil
		case string:
			d, err := bson.ParseDecimal128(x)
			if err != nil || strings.TrimSpace(x) != x || x == "" {
				return nil, convFail("Failed to parse number '%s'", x)
			}
			return d, nil
		case bson.DateTime:
			return decFromInt(int64(x)).to128(), nil
		}
	case "string":
		return toStringValue(in)
	case "objectId":
		switch x := in.(type) {
		case bson.ObjectID:
			return x, nil
		case string:
			if len(x) != 24 {
				return nil, convFail("Failed to parse objectId '%s': Invalid string length for parsing to OID, expected 24 but found %d", x, len(x))
			}
			b, err := hex.DecodeString(x)
			if err != nil {
				return nil, convFail("Failed to parse objectId '%s': Invalid character found in hex string", x)
			}
			var oid bson.ObjectID
			copy(oid[:], b)
			return oid, nil
		}
	case "date":
		switch x := in.(type) {
		case bson.DateTime:
			return x, nil
		case int64:
			return bson.DateTime(x), nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || x >= 9.223372036854775807e18 || x < -9.223372036854775808e18 {
				return nil, convFail("Conversion from double %s to date would overflow", bsonutil.Format(x))
			}
			return bson.DateTime(int64(x)), nil
		case bson.Decimal128:
			q := decQuantize(toDec(x), 0, 't')
			if q.kind != decFinite || !q.signed().IsInt64() {
				return nil, convFail("Conversion from decimal %s to date would overflow", x.String())
			}
			return bson.DateTime(q.signed().Int64()), nil
		case bson.ObjectID:
			return bson.NewDateTimeFromTime(x.Timestamp()), nil
		case bson.Timestamp:
			return bson.DateTime(int64(x.T) * 1000), nil
		case string:
			t, err := parseDateString(x, time.UTC, "")
			if err != nil {
				return nil, convFail("Error parsing date string '%s'", x)
			}
			return bson.NewDateTimeFromTime(t), nil
		}
	default:
		return nil, convFail("Unsupported conversion from %s to %s", typeName(in), target)
	}
	return nil, unsupported(in, target)
}

func convertToInt(in any, target string) (any, error) {
	fit := func(i int64) (any, error) {
		if target == "int" {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, convFail("Conversion would overflow target type")
			}
			return int32(i), nil
		}
		return i, nil
	}
	switch x := in.(type) {
	case bool:
		return fit(int64(btoi(x)))
	case int32:
		return fit(int64(x))
	case int64:
		return fit(x)
	case float64:
		if math.IsNaN(x) {
			return nil, convFail("Attempt to convert NaN value to integer type")
		}
		t := math.Trunc(x)
		if t >= 9.223372036854775807e18 || t < -9.223372036854775808e18 || math.IsInf(x, 0) {
			return nil, convFail("Conversion would overflow target type")
		}
		return fit(int64(t))
	case bson.Decimal128:
		d := toDec(x)
		if d.kind == decNaN {
			return nil, convFail("Attempt to convert NaN value to integer type")
		}
		q := decQuantize(d, 0, 't')
		if q.kind != decFinite || !q.signed().IsInt64() {
			return nil, convFail("Conversion would overflow target type")
		}
		return fit(q.signed().Int64())
	case string:
		i, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, convFail("Failed to parse number '%s': Overflow", x)
			}
			return nil, convFail("Failed to parse number '%s': Did not consume whole string.", x)
		}
		if target == "int" && (i < math.MinInt32 || i > math.MaxInt32) {
			return nil, convFail("Failed to parse number '%s': Overflow", x)
		}
		return fit(i)
	case bson.DateTime:
		if target == "long" {
			return int64(x), nil
		}
	}
	return nil, unsupported(in, target)
}

func parseDoubleString(s string) (float64, error) {
	switch strings.ToLower(s) {
	case "inf", "infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	case "nan":
		return math.NaN(), nil
	}
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, "xXpP_") {
		return 0, convFail("Failed to parse number '%s'", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, convFail("Failed to parse number '%s': Out of range", s)
		}
		return 0, convFail("Failed to parse number '%s': Did not consume whole string.", s)
	}
	return f, nil
}

// formatDouble renders a double the way MongoDB's $toString does.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		if f == 0 && math.Signbit(f) {
			return "-0"
		}
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func toStringValue(in any) (any, error) {
	switch x := in.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return formatDouble(x), nil
	case bson.Decimal128:
		return x.String(), nil
	case bson.ObjectID:
		return x.Hex(), nil
	case bson.DateTime:
		return formatISODate(x), nil
	case bson.Symbol:
		return string(x), nil
	case bson.JavaScript:
		return string(x), nil
	case bson.Binary:
		if x.Subtype == 4 && len(x.Data) == 16 {
			h := hex.EncodeToString(x.Data)
			return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
		}
	}
	return nil, unsupported(in, "string")
}

func formatISODate(d bson.DateTime) string {
	return d.Time().UTC().Format("2006-01-02T15:04:05.000Z")
}

func parseConvert(_ string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.FailedToParse, "$convert expects an object of named arguments but found: %s", typeName(arg))
	}
	var c convertExpr
	for _, e := range d {
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		switch e.Key {
		case "input":
			c.input = x
		case "to":
			c.to = x
		case "onError":
			c.onError = x
		case "onNull":
			c.onNull = x
		default:
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "$convert found an unknown argument: %s", e.Key)
		}
	}
	if c.input == nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Missing 'input' parameter to $convert")
	}
	if c.to == nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Missing 'to' parameter to $convert")
	}
	return c, nil
}

func toShorthand(target string) parseFunc {
	return func(name string, arg any) (Expr, error) {
		specs := argList(arg)
		if len(specs) != 1 {
			return nil, arityErr(name, 1, 1, len(specs))
		}
		in, err := Parse(specs[0])
		if err != nil {
			return nil, err
		}
		return convertExpr{input: in, fixedTo: target}, nil
	}
}

func init() {
	register("$type", fixed(1, 1, func(_ string, vals []any) (any, error) {
		return bsonutil.TypeName(vals[0]), nil
	}))
	register("$isNumber", fixed(1, 1, func(_ string, vals []any) (any, error) {
		return bsonutil.IsNumber(vals[0]), nil
	}))
	register("$isArray", fixed(1, 1, func(_ string, vals []any) (any, error) {
		_, ok := asArray(vals[0])
		return ok, nil
	}))
	register("$convert", parseConvert)
	register("$toBool", toShorthand("bool"))
	register("$toInt", toShorthand("int"))
	register("$toLong", toShorthand("long"))
	register("$toDouble", toShorthand("double"))
	register("$toDecimal", toShorthand("decimal"))
	register("$toString", toShorthand("string"))
	register("$toObjectId", toShorthand("objectId"))
	register("$toDate", toShorthand("date"))
}
