package collation

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func wrongType(e bson.E, want string) error {
	return mongoerr.Newf(mongoerr.TypeMismatch, "BSON field 'collation.%s' is the wrong type '%s', expected type '%s'",
		e.Key, bsonutil.TypeName(e.Value), want)
}

func wantString(e bson.E) (string, error) {
	s, ok := e.Value.(string)
	if !ok {
		return "", wrongType(e, "string")
	}
	return s, nil
}

func wantBool(e bson.E) (bool, error) {
	b, ok := e.Value.(bool)
	if !ok {
		return false, wrongType(e, "bool")
	}
	return b, nil
}

// wantInt accepts any number within int32 range, truncating doubles, as
// MongoDB's safeInt does.
func wantInt(e bson.E) (int64, error) {
	if !bsonutil.IsNumber(e.Value) {
		return 0, mongoerr.Newf(mongoerr.TypeMismatch,
			"BSON field 'collation.%s' is the wrong type '%s', expected types '[long, int, decimal, double]'",
			e.Key, bsonutil.TypeName(e.Value))
	}
	if n, ok := bsonutil.ToInt64(e.Value); ok {
		return n, nil
	}
	f, _ := bsonutil.ToFloat64(e.Value)
	if math.IsNaN(f) || f >= math.MaxInt32 || f <= math.MinInt32 {
		return 0, mongoerr.Newf(mongoerr.BadValue, "BSON field 'collation.%s' value %s cannot be represented as a 32-bit integer", e.Key, renderValue(e.Value))
	}
	return int64(math.Trunc(f)), nil
}

func wantEnum(e bson.E, values ...string) (string, error) {
	s, ok := e.Value.(string)
	if !ok {
		return "", wrongType(e, "string")
	}
	for _, v := range values {
		if s == v {
			return s, nil
		}
	}
	return "", mongoerr.Newf(mongoerr.BadValue, "Enumeration value '%s' for field 'collation.%s' is not a valid value.", s, e.Key)
}

// render formats a document the way MongoDB prints BSON in error messages
// ({ locale: "xx", strength: 2 }).
func render(d bson.D) string {
	if len(d) == 0 {
		return "{}"
	}
	var sb strings.Builder
	sb.WriteString("{ ")
	for i, e := range d {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(e.Key)
		sb.WriteString(": ")
		sb.WriteString(renderValue(e.Value))
	}
	sb.WriteString(" }")
	return sb.String()
}

func renderValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.Itoa(int(x))
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bson.D:
		return render(x)
	case nil, bson.Null:
		return "null"
	}
	return fmt.Sprint(v)
}
