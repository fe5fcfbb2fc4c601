package expr

import (
	"bufio"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testNow is $$NOW in table tests: 2024-03-15T10:20:30.456Z.
var testNow = bson.DateTime(1710498030456)

// caseLine is one line of a testdata/*.jsonl file, in MongoDB Extended
// JSON. Exactly one of want, missing or code is checked.
type caseLine struct {
	Expr    any    // the expression spec
	Doc     bson.D // $$ROOT (may be absent)
	Want    any    // expected value
	HasWant bool
	Missing bool  // expect bsonutil.Missing
	Code    int32 // expected error code (parse or eval)
	Let     bson.D
}

func loadCases(t *testing.T, path string) []struct {
	line int
	c    caseLine
} {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []struct {
		line int
		c    caseLine
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "//") {
			continue
		}
		var d bson.D
		if err := bson.UnmarshalExtJSON([]byte(text), false, &d); err != nil {
			t.Fatalf("%s:%d: bad line: %v", path, n, err)
		}
		var c caseLine
		for _, e := range d {
			switch e.Key {
			case "e":
				c.Expr = e.Value
			case "doc":
				c.Doc, _ = e.Value.(bson.D)
			case "want":
				c.Want, c.HasWant = e.Value, true
			case "missing":
				c.Missing = true
			case "code":
				i, _ := bsonutil.ToInt64(e.Value)
				c.Code = int32(i)
			case "let":
				c.Let, _ = e.Value.(bson.D)
			default:
				t.Fatalf("%s:%d: unknown key %q", path, n, e.Key)
			}
		}
		if btoi(c.HasWant)+btoi(c.Missing)+btoi(c.Code != 0) != 1 {
			t.Fatalf("%s:%d: need exactly one of want, missing, code", path, n)
		}
		out = append(out, struct {
			line int
			c    caseLine
		}{n, c})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func evalSpec(spec any, doc bson.D, let bson.D) (any, error) {
	e, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	var root any = doc
	if doc == nil {
		root = bson.D{}
	}
	v := NewVars(root, testNow)
	for _, l := range let {
		v = v.With(l.Key, l.Value)
	}
	return e.Eval(v)
}

// same reports whether a and b are the same BSON value, including numeric
// types (an int32 1 is not an int64 1).
func same(a, b any) bool {
	if bsonutil.TypeName(a) != bsonutil.TypeName(b) {
		return false
	}
	switch x := a.(type) {
	case bson.D:
		y := b.(bson.D)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Key != y[i].Key || !same(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case bson.A:
		y := b.(bson.A)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !same(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y := b.(float64)
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		return x == y || math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y))
	case bson.Decimal128:
		return x.String() == b.(bson.Decimal128).String()
	}
	return bsonutil.Compare(a, b) == 0
}

func TestTables(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata files")
	}
	total := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, tc := range loadCases(t, path) {
				total++
				c := tc.c
				got, err := evalSpec(c.Expr, c.Doc, c.Let)
				where := path + ":" + itoa(tc.line) + ": " + bsonutil.Format(c.Expr)
				if c.Code != 0 {
					var me *mongoerr.Error
					if err == nil {
						t.Errorf("%s: want error %d, got %s", where, c.Code, bsonutil.Format(got))
					} else if !errors.As(err, &me) {
						t.Errorf("%s: want *mongoerr.Error %d, got %T %v", where, c.Code, err, err)
					} else if int32(me.Code) != c.Code {
						t.Errorf("%s: want error %d, got %d (%s)", where, c.Code, me.Code, me.Msg)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: unexpected error %v", where, err)
					continue
				}
				if c.Missing {
					if !bsonutil.IsMissing(got) {
						t.Errorf("%s: want missing, got %s", where, bsonutil.Format(got))
					}
					continue
				}
				if !same(got, c.Want) {
					t.Errorf("%s:\n got %s (%s)\nwant %s (%s)", where, bsonutil.Format(got), bsonutil.TypeName(got), bsonutil.Format(c.Want), bsonutil.TypeName(c.Want))
				}
			}
		})
	}
	t.Logf("%d table cases", total)
}

func itoa(i int) string { return bsonutil.ArrayIndexKey(i) }
