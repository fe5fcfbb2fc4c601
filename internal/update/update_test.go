package update

import (
	"errors"
	"os"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testNow is the $currentDate time used by the table tests.
const testNow = bson.DateTime(1700000000123)

// extDoc parses relaxed Extended JSON into a bson.D.
func extDoc(t *testing.T, s string) bson.D {
	t.Helper()
	var d bson.D
	if err := bson.UnmarshalExtJSON([]byte(s), false, &d); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return d
}

func get(d bson.D, key string) (any, bool) {
	for _, e := range d {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// checkErr asserts that err is a *mongoerr.Error with the wanted code (and
// message, if wantMsg is not empty).
func checkErr(t *testing.T, err error, code int32, wantMsg string) {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *mongoerr.Error", err, err)
	}
	if int32(me.Code) != code {
		t.Fatalf("error code %d (%s), want %d", me.Code, me.Msg, code)
	}
	if wantMsg != "" && me.Msg != wantMsg {
		t.Fatalf("error message\n got %q\nwant %q", me.Msg, wantMsg)
	}
}

// TestApplyTable runs the cases of testdata/apply.json: each applies update
// u (with optional arrayFilters "filters", matched position "pos" and
// "inserting") to "doc" and expects either document "want" (and
// "modified", by default whether want differs from doc) or error "code"
// (and "msg").
func TestApplyTable(t *testing.T) {
	raw, err := os.ReadFile("testdata/apply.json")
	if err != nil {
		t.Fatal(err)
	}
	file := extDoc(t, string(raw))
	cases, _ := get(file, "cases")
	arr, ok := cases.(bson.A)
	if !ok || len(arr) == 0 {
		t.Fatalf("testdata/apply.json has no cases")
	}
	for i, c := range arr {
		tc, ok := c.(bson.D)
		if !ok {
			t.Fatalf("case %d is not a document", i)
		}
		nameV, _ := get(tc, "name")
		name, _ := nameV.(string)
		t.Run(name, func(t *testing.T) {
			docV, _ := get(tc, "doc")
			doc, _ := docV.(bson.D)
			uSpec, _ := get(tc, "u")
			opts := &Options{}
			if fv, ok := get(tc, "filters"); ok {
				for _, f := range fv.(bson.A) {
					opts.ArrayFilters = append(opts.ArrayFilters, f.(bson.D))
				}
			}
			ac := &ApplyContext{MatchPos: -1, Now: testNow}
			if pv, ok := get(tc, "pos"); ok {
				ac.MatchPos = int(pv.(int32))
			}
			if iv, ok := get(tc, "inserting"); ok {
				ac.Inserting = iv.(bool)
			}
			before := fmtValue(doc)
			got, modified, err := run(uSpec, opts, doc, ac)
			if fmtValue(doc) != before {
				t.Fatalf("Apply mutated its input: %s -> %s", before, fmtValue(doc))
			}
			if cv, ok := get(tc, "code"); ok {
				if err == nil {
					t.Fatalf("got %s, want error code %d", fmtValue(got), cv)
				}
				msg, _ := get(tc, "msg")
				ms, _ := msg.(string)
				checkErr(t, err, cv.(int32), ms)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			wantV, _ := get(tc, "want")
			want, _ := wantV.(bson.D)
			if !identical(got, want) {
				t.Fatalf("got  %s\nwant %s", fmtValue(got), fmtValue(want))
			}
			wantMod := !identical(doc, want)
			if mv, ok := get(tc, "modified"); ok {
				wantMod = mv.(bool)
			}
			if modified != wantMod {
				t.Fatalf("modified = %v, want %v", modified, wantMod)
			}
			// Round trip through BSON: the result must be encodable.
			if _, err := bson.Marshal(got); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
		})
	}
}

func run(spec any, opts *Options, doc bson.D, ac *ApplyContext) (bson.D, bool, error) {
	u, err := Parse(spec, opts)
	if err != nil {
		return nil, false, err
	}
	return u.Apply(doc, ac)
}
