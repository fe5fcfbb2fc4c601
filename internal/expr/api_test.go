package expr

import (
	"errors"
	"sort"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestAddDivide(t *testing.T) {
	dec := func(s string) bson.Decimal128 { d, _ := bson.ParseDecimal128(s); return d }
	tests := []struct {
		name    string
		fn      func(a, b any) (any, error)
		a, b    any
		want    any
		errCode mongoerr.Code
	}{
		{"int+int", Add, int32(1), int32(2), int32(3), 0},
		{"int overflow", Add, int32(2147483647), int32(1), int64(2147483648), 0},
		{"long+double", Add, int64(1), 0.5, 1.5, 0},
		{"decimal", Add, dec("1.1"), int32(1), dec("2.1"), 0},
		{"null", Add, nil, int32(1), nil, 0},
		{"missing", Add, bsonutil.Missing, int32(1), nil, 0},
		{"date", Add, bson.DateTime(1000), int64(5), bson.DateTime(1005), 0},
		{"string", Add, "a", int32(1), nil, 16554},
		{"two dates", Add, bson.DateTime(1), bson.DateTime(2), nil, 16612},
		{"divide", Divide, int32(1), int32(2), 0.5, 0},
		{"divide decimal", Divide, dec("1"), int32(4), dec("0.25"), 0},
		{"divide zero", Divide, int32(1), int64(0), nil, mongoerr.BadValue},
		{"divide null", Divide, nil, int32(0), nil, 0},
		{"divide string", Divide, "x", int32(1), nil, 16609},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.fn(tc.a, tc.b)
			if tc.errCode != 0 {
				if !mongoerr.Is(err, tc.errCode) {
					t.Fatalf("want error %d, got %v (%v)", tc.errCode, err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !same(got, tc.want) {
				t.Fatalf("got %s (%T), want %s (%T)", bsonutil.Format(got), got, bsonutil.Format(tc.want), tc.want)
			}
		})
	}
}

func TestEvalToBoolAndHelpers(t *testing.T) {
	v := NewVars(bson.D{{Key: "a", Value: int32(0)}, {Key: "b", Value: "x"}}, testNow)
	for _, tc := range []struct {
		spec any
		want bool
	}{
		{"$a", false}, {"$b", true}, {"$nope", false},
		{bson.D{{Key: "$eq", Value: bson.A{"$b", "x"}}}, true},
		{bson.A{}, true}, {nil, false},
	} {
		e, err := Parse(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EvalToBool(e, v)
		if err != nil || got != tc.want {
			t.Errorf("EvalToBool(%s) = %v, %v; want %v", bsonutil.Format(tc.spec), got, err, tc.want)
		}
	}
	for spec, want := range map[any]bool{"$a": true, "$a.b": true, "$$x": false, "a": false, "$": false, 1: false} {
		if got := IsFieldPath(spec); got != want {
			t.Errorf("IsFieldPath(%v) = %v", spec, got)
		}
	}
	if _, ok := IsConstant(Literal(5)); !ok {
		t.Error("Literal(5) is not constant")
	}
	e, _ := Parse(bson.D{{Key: "$add", Value: bson.A{1, 2}}})
	if _, ok := IsConstant(e); ok {
		t.Error("$add reported constant")
	}
	if !IsOperator("$add") || IsOperator("$nope") {
		t.Error("IsOperator wrong")
	}
}

func TestVarsScoping(t *testing.T) {
	root := bson.D{{Key: "a", Value: int32(1)}}
	v := NewVars(root, testNow).With("x", int32(1)).With("y", int32(2)).With("x", int32(3))
	if got, _ := v.Lookup("x"); got != int32(3) {
		t.Errorf("inner x = %v", got)
	}
	if got, _ := v.Lookup("y"); got != int32(2) {
		t.Errorf("y = %v", got)
	}
	if _, ok := v.Lookup("z"); ok {
		t.Error("z defined")
	}
	cur := v.WithCurrent(bson.D{{Key: "a", Value: int32(9)}})
	e, _ := Parse("$a")
	got, _ := e.Eval(cur)
	if got != int32(9) {
		t.Errorf("$a with CURRENT = %v", got)
	}
	r, _ := Parse("$$ROOT.a")
	got, _ = r.Eval(cur)
	if got != int32(1) {
		t.Errorf("$$ROOT.a = %v", got)
	}
	if x, _ := cur.Lookup("x"); x != int32(3) {
		t.Error("WithCurrent lost variables")
	}
	if cur.Now() != testNow {
		t.Error("Now lost")
	}
	// A nil root behaves like an empty document.
	got, err := e.Eval(NewVars(nil, testNow))
	if err != nil || !bsonutil.IsMissing(got) {
		t.Errorf("$a over nil root = %v, %v", got, err)
	}
}

// TestNoPanics feeds every operator a range of odd arguments: each must
// either parse and evaluate or return a *mongoerr.Error, never panic.
func TestNoPanics(t *testing.T) {
	args := []any{
		nil, int32(0), int32(-1), int64(1 << 40), 1.5, "s", "$a", "$$ROOT", true,
		bson.A{}, bson.A{nil}, bson.A{int32(1), "x"}, bson.A{"$a", "$b", "$c"},
		bson.A{bson.A{int32(1)}, bson.A{int32(2)}}, bson.A{"$d", int32(1), int32(2), int32(3), int32(4)},
		bson.D{}, bson.D{{Key: "input", Value: "$a"}}, bson.D{{Key: "x", Value: int32(1)}},
		bson.D{{Key: "input", Value: "$b"}, {Key: "n", Value: int32(2)}},
		bson.D{{Key: "date", Value: "$d"}, {Key: "unit", Value: "day"}},
		bson.D{{Key: "startDate", Value: "$d"}, {Key: "endDate", Value: "$d"}, {Key: "unit", Value: "week"}, {Key: "amount", Value: int32(1)}},
		bson.D{{Key: "input", Value: "$b"}, {Key: "as", Value: "x"}, {Key: "cond", Value: "$$x"}, {Key: "in", Value: "$$x"}},
		bson.D{{Key: "input", Value: "$a"}, {Key: "regex", Value: "("}, {Key: "find", Value: ""}, {Key: "replacement", Value: ""}},
		bson.D{{Key: "dateString", Value: "$a"}, {Key: "format", Value: "%"}},
		bson.D{{Key: "year", Value: "$a"}, {Key: "field", Value: "a"}},
		bson.Decimal128{}, bson.DateTime(0), bson.ObjectID{}, bson.Binary{Data: []byte{1}},
		bson.Regex{Pattern: "a", Options: "i"}, bson.Timestamp{T: 1}, bson.MinKey{}, bson.MaxKey{},
	}
	docs := []bson.D{
		{},
		{{Key: "a", Value: "str"}, {Key: "b", Value: bson.A{int32(3), nil, "x", bson.D{{Key: "k", Value: "a"}, {Key: "v", Value: int32(1)}}}}, {Key: "c", Value: bson.D{{Key: "x", Value: 1.5}}}, {Key: "d", Value: bson.DateTime(1e12)}},
		{{Key: "a", Value: int32(-5)}, {Key: "b", Value: bson.A{bson.A{"k", int32(1)}}}, {Key: "c", Value: int64(-1 << 62)}, {Key: "d", Value: -1e300}},
	}
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	count := 0
	for _, name := range names {
		for _, arg := range args {
			spec := bson.D{{Key: name, Value: arg}}
			for _, d := range docs {
				count++
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s: panic: %v", bsonutil.Format(spec), r)
						}
					}()
					_, err := evalSpec(spec, d, nil)
					var me *mongoerr.Error
					if err != nil && !errors.As(err, &me) {
						t.Errorf("%s: non-mongo error %T %v", bsonutil.Format(spec), err, err)
					}
				}()
			}
		}
	}
	t.Logf("%d operator/argument combinations", count)
}
