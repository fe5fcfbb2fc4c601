package spectest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"github.com/cairndb/cairn/internal/bsonutil"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Missing stands for an absent value: a field that an actual document does
// not have, or a result that an operation did not return.
var Missing = missingValue{}

type missingValue struct{}

func (missingValue) String() string { return "<missing>" }

// EntityResolver gives the matcher access to the entities of the running
// test, for $$matchesEntity and $$sessionLsid.
type EntityResolver interface {
	// BSONEntity returns a stored BSON value (saveResultAsEntity).
	BSONEntity(name string) (any, error)
	// SessionLsid returns the logical session id document of a session.
	SessionLsid(name string) (bson.D, error)
}

// Matcher compares expectations from test files with actual values
// following "Evaluating Matches" in the unified test format.
type Matcher struct {
	// Entities resolves entity references; nil means none are defined.
	Entities EntityResolver
}

// MismatchError describes where and why an expectation did not match.
type MismatchError struct {
	Path string
	Msg  string
}

func (e *MismatchError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func mismatch(path, format string, args ...any) error {
	return &MismatchError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Match reports whether actual matches expected. root says whether a
// document at the top is a root-level document, in which extra fields are
// permitted. Array elements inherit root: an expected array of root-level
// documents (find, aggregate results) is matched with root true.
func (m *Matcher) Match(expected, actual any, root bool) error {
	return m.match("", expected, actual, root)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// specialOperator returns the $$ operator of v, if v is a document whose
// first and only key starts with "$$".
func specialOperator(v any) (string, any, bool) {
	d, ok := v.(bson.D)
	if !ok || len(d) != 1 || !strings.HasPrefix(d[0].Key, "$$") {
		return "", nil, false
	}
	return d[0].Key, d[0].Value, true
}

func lookup(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return Missing
}

func (m *Matcher) match(path string, expected, actual any, root bool) error {
	switch exp := expected.(type) {
	case bson.D:
		if op, arg, ok := specialOperator(exp); ok {
			return m.operator(path, op, arg, actual, root)
		}
		act, ok := actual.(bson.D)
		if !ok {
			return mismatch(path, "expected a document, got %s", describe(actual))
		}
		for _, e := range exp {
			av := lookup(act, e.Key)
			p := joinPath(path, e.Key)
			if _, _, isOp := specialOperator(e.Value); isOp {
				if err := m.match(p, e.Value, av, false); err != nil {
					return err
				}
				continue
			}
			if av == Missing {
				return mismatch(p, "field is missing, expected %s", describe(e.Value))
			}
			if err := m.match(p, e.Value, av, false); err != nil {
				return err
			}
		}
		if !root {
			for _, e := range act {
				if lookup(exp, e.Key) == Missing {
					return mismatch(joinPath(path, e.Key), "unexpected extra field (value %s) in a nested document", describe(e.Value))
				}
			}
		}
		return nil
	case bson.A:
		act, ok := actual.(bson.A)
		if !ok {
			return mismatch(path, "expected an array, got %s", describe(actual))
		}
		if len(act) != len(exp) {
			return mismatch(path, "expected %d array elements, got %d: %s", len(exp), len(act), describe(actual))
		}
		for i := range exp {
			if err := m.match(joinPath(path, strconv.Itoa(i)), exp[i], act[i], root); err != nil {
				return err
			}
		}
		return nil
	}
	if actual == Missing {
		return mismatch(path, "value is missing, expected %s", describe(expected))
	}
	if !ValuesEqual(expected, actual, true) {
		return mismatch(path, "expected %s, got %s", describe(expected), describe(actual))
	}
	return nil
}

func (m *Matcher) operator(path, op string, arg, actual any, root bool) error {
	switch op {
	case "$$exists":
		want, ok := arg.(bool)
		if !ok {
			return fmt.Errorf("%s: $$exists needs a boolean, got %s", path, describe(arg))
		}
		if want && actual == Missing {
			return mismatch(path, "field should exist")
		}
		if !want && actual != Missing {
			return mismatch(path, "field should not exist, has %s", describe(actual))
		}
		return nil
	case "$$type":
		if actual == Missing {
			return mismatch(path, "value is missing, expected type %s", describe(arg))
		}
		var names []string
		switch a := arg.(type) {
		case string:
			names = []string{a}
		case bson.A:
			for _, n := range a {
				s, ok := n.(string)
				if !ok {
					return fmt.Errorf("%s: $$type needs strings, got %s", path, describe(n))
				}
				names = append(names, s)
			}
		default:
			return fmt.Errorf("%s: $$type needs a string or an array, got %s", path, describe(arg))
		}
		got := TypeName(actual)
		for _, n := range names {
			if n == got || (n == "number" && isNumber(actual)) {
				return nil
			}
			if _, known := typeNames[n]; !known && n != "number" {
				return fmt.Errorf("%s: $$type: unknown type name %q", path, n)
			}
		}
		return mismatch(path, "expected type %v, got %s (%s)", names, got, describe(actual))
	case "$$unsetOrMatches":
		if actual == Missing {
			return nil
		}
		return m.match(path, arg, actual, root)
	case "$$matchesEntity":
		name, ok := arg.(string)
		if !ok {
			return fmt.Errorf("%s: $$matchesEntity needs an entity name", path)
		}
		if m.Entities == nil {
			return fmt.Errorf("%s: $$matchesEntity: no entity %q", path, name)
		}
		v, err := m.Entities.BSONEntity(name)
		if err != nil {
			return fmt.Errorf("%s: $$matchesEntity: %w", path, err)
		}
		return m.match(path, v, actual, root)
	case "$$matchesHexBytes":
		s, ok := arg.(string)
		if !ok {
			return fmt.Errorf("%s: $$matchesHexBytes needs a string", path)
		}
		want, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%s: $$matchesHexBytes: malformed hex %q: %w", path, s, err)
		}
		var got []byte
		switch a := actual.(type) {
		case []byte:
			got = a
		case string:
			got = []byte(a)
		case bson.Binary:
			got = a.Data
		default:
			return mismatch(path, "expected bytes %s, got %s", s, describe(actual))
		}
		if !bytes.Equal(want, got) {
			return mismatch(path, "expected bytes %x, got %x", want, got)
		}
		return nil
	case "$$sessionLsid":
		name, ok := arg.(string)
		if !ok {
			return fmt.Errorf("%s: $$sessionLsid needs a session entity name", path)
		}
		if m.Entities == nil {
			return fmt.Errorf("%s: $$sessionLsid: no session %q", path, name)
		}
		lsid, err := m.Entities.SessionLsid(name)
		if err != nil {
			return fmt.Errorf("%s: $$sessionLsid: %w", path, err)
		}
		return m.match(path, lsid, actual, false)
	case "$$lte":
		if !isNumber(arg) {
			return fmt.Errorf("%s: $$lte needs a number, got %s", path, describe(arg))
		}
		if actual == Missing || !isNumber(actual) {
			return mismatch(path, "expected a number <= %s, got %s", describe(arg), describe(actual))
		}
		if toFloat(actual) > toFloat(arg) {
			return mismatch(path, "expected <= %s, got %s", describe(arg), describe(actual))
		}
		return nil
	case "$$matchAsDocument":
		s, ok := actual.(string)
		if !ok {
			return mismatch(path, "$$matchAsDocument needs an Extended JSON string, got %s", describe(actual))
		}
		var doc bson.D
		if err := bson.UnmarshalExtJSON([]byte(s), false, &doc); err != nil {
			return mismatch(path, "$$matchAsDocument: cannot decode %q as an Extended JSON document: %v", s, err)
		}
		return m.match(path, arg, doc, false)
	case "$$matchAsRoot":
		if _, ok := actual.(bson.D); !ok {
			return mismatch(path, "$$matchAsRoot: expected a document, got %s", describe(actual))
		}
		return m.match(path, arg, actual, true)
	}
	return fmt.Errorf("%s: unsupported special operator %s", path, op)
}

// ValuesEqual compares two non-document, non-array values. With flexible
// set, int32, int64 and double compare equal when numerically equal
// ("Flexible Numeric Comparisons"); Decimal128 never compares equal to the
// other numeric types. Documents and arrays are compared exactly, except
// that key order in documents does not matter.
func ValuesEqual(a, b any, flexible bool) bool {
	if a == Missing || b == Missing {
		return a == b
	}
	if flexible && isFlexNumber(a) && isFlexNumber(b) {
		return numEqual(a, b)
	}
	switch av := a.(type) {
	case bson.D:
		bv, ok := b.(bson.D)
		if !ok || len(av) != len(bv) {
			return false
		}
		for _, e := range av {
			if !ValuesEqual(e.Value, lookup(bv, e.Key), flexible) {
				return false
			}
		}
		return true
	case bson.A:
		bv, ok := b.(bson.A)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !ValuesEqual(av[i], bv[i], flexible) {
				return false
			}
		}
		return true
	case float64:
		bv, ok := b.(float64)
		if !ok {
			return false
		}
		return av == bv || (math.IsNaN(av) && math.IsNaN(bv))
	}
	if TypeName(a) != TypeName(b) {
		return false
	}
	ra, err1 := bson.Marshal(bson.D{{Key: "v", Value: a}})
	rb, err2 := bson.Marshal(bson.D{{Key: "v", Value: b}})
	if err1 != nil || err2 != nil {
		return false
	}
	return bytes.Equal(ra, rb)
}

func isFlexNumber(v any) bool {
	switch v.(type) {
	case int32, int64, float64:
		return true
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int32, int64, float64, bson.Decimal128, int:
		return true
	}
	return false
}

func numEqual(a, b any) bool {
	ai, aInt := toInt(a)
	bi, bInt := toInt(b)
	if aInt && bInt {
		return ai == bi
	}
	return toFloat(a) == toFloat(b)
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case float64:
		return n
	case bson.Decimal128:
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// typeNames are the $type aliases $$type accepts.
var typeNames = map[string]bool{
	"double": true, "string": true, "object": true, "array": true, "binData": true,
	"undefined": true, "objectId": true, "bool": true, "date": true, "null": true,
	"regex": true, "dbPointer": true, "javascript": true, "symbol": true,
	"javascriptWithScope": true, "int": true, "timestamp": true, "long": true,
	"decimal": true, "minKey": true, "maxKey": true,
}

// TypeName returns the $type alias of a decoded BSON value ("int", "long",
// "object", ...), "missing" for Missing and "unknown" for other Go types.
func TypeName(v any) string {
	switch v.(type) {
	case missingValue:
		return "missing"
	case []byte:
		return "binData"
	}
	return bsonutil.TypeName(v)
}

// describe renders a value for failure messages, as relaxed Extended JSON
// where possible.
func describe(v any) string {
	if v == Missing {
		return "<missing>"
	}
	if b, ok := v.([]byte); ok {
		return fmt.Sprintf("bytes(%x)", b)
	}
	out, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(out)
	s = strings.TrimPrefix(s, `{"v":`)
	s = strings.TrimSuffix(s, "}")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}
