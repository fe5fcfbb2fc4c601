package update

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzUpdateApply parses an update ({u: <update>, af: [arrayFilters]}, as
// Extended JSON) and applies it to a document, as an update and as an
// upsert insert. Failures must be *mongoerr.Error values; nothing may
// panic; the input document must not be modified; a successful result
// must encode as BSON, keep the document's _id and be reproducible, and
// an update ApplyRaw takes must give the same bytes through it.
// Seeds are in testdata/fuzz/FuzzUpdateApply (drawn from testdata/*.json).
func FuzzUpdateApply(f *testing.F) {
	for _, s := range [][2]string{
		{`{"u": {"$set": {"a.b.2": 1}, "$inc": {"n": 2}}}`, `{"_id": 1, "a": {"b": [0]}}`},
		{`{"u": {"$push": {"a": {"$each": [3, 1], "$sort": -1, "$slice": 2, "$position": 0}}}}`, `{"_id": 1, "a": [2]}`},
		{`{"u": {"$set": {"a.$[x].b": 9}}, "af": [{"x.b": {"$gt": 1}}]}`, `{"_id": 1, "a": [{"b": 1}, {"b": 2}]}`},
		{`{"u": {"$rename": {"a.b": "c"}, "$unset": {"d": ""}}}`, `{"_id": 1, "a": {"b": 1}, "d": 2}`},
		{`{"u": [{"$set": {"t": {"$add": ["$a", 1]}}}, {"$unset": "a"}]}`, `{"_id": 1, "a": 1}`},
		{`{"u": {"x": 1}}`, `{"_id": 1, "a": 1}`},
		{`{"u": {"$bit": {"a": {"xor": 5}}, "$min": {"m": -1}, "$mul": {"p": 1.5}}}`, `{"_id": 1, "a": 3}`},
		{`{"u": {"$pull": {"a": {"$gte": 2}}, "$addToSet": {"s": {"$each": [1, 1]}}}}`, `{"_id": 1, "a": [1, 2, 3]}`},
		{`{"u": {"$set": {"b": "x", "a": 1, "n": null}}}`, `{"_id": 1, "a": 1, "c": [1], "a": 2}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, spec, doc string) {
		var s, d bson.D
		if bson.UnmarshalExtJSON([]byte(spec), false, &s) != nil || bson.UnmarshalExtJSON([]byte(doc), false, &d) != nil {
			return
		}
		var u any
		var filters []bson.D
		for _, e := range s {
			switch e.Key {
			case "u":
				u = e.Value
			case "af":
				a, _ := e.Value.(bson.A)
				for _, x := range a {
					if xd, ok := x.(bson.D); ok {
						filters = append(filters, xd)
					}
				}
			}
		}
		if u == nil {
			return
		}
		before, err := bson.Marshal(d)
		if err != nil {
			return
		}
		if _, err := bson.Marshal(s); err != nil {
			return // not representable as BSON (e.g. a NUL in a key): cannot come from a client
		}
		up, err := Parse(u, &Options{ArrayFilters: filters, Vars: expr.NewVars(nil, bson.DateTime(1700000000000))})
		if err != nil {
			fuzzRequireMongoErr(t, "Parse", err)
			return
		}
		for _, inserting := range []bool{false, true} {
			ac := &ApplyContext{MatchPos: -1, Inserting: inserting, Now: bson.DateTime(1700000000000)}
			out, changed, err := up.Apply(d, ac)
			after, _ := bson.Marshal(d)
			if !bytes.Equal(before, after) {
				t.Fatalf("Apply modified its input:\nbefore %v\nafter  %v", bson.Raw(before), bson.Raw(after))
			}
			if err != nil {
				fuzzRequireMongoErr(t, "Apply", err)
				continue
			}
			raw, err := bson.Marshal(out)
			if err != nil && strings.Contains(err.Error(), "null bytes") {
				// A pipeline built a field name with a NUL from string
				// data; the catalog refuses to encode it (known; MongoDB
				// answers code 4940400 instead), so it cannot be stored.
				continue
			}
			if err != nil {
				t.Fatalf("result does not encode: %v (%v)", err, out)
			}
			if id, ok := fuzzLookup(d, "_id"); ok {
				if nid, ok := fuzzLookup(out, "_id"); !ok || !fuzzSame(id, nid) {
					t.Fatalf("_id changed from %v to %v without an error", id, nid)
				}
			}
			if !inserting && up.RawFields() != nil {
				// The stored-bytes path must give the same document.
				stored, err := bsonutil.Marshal(d)
				if err == nil {
					got, gotChanged, err := up.ApplyRaw(stored)
					want, _ := bsonutil.Marshal(out)
					if err != nil || gotChanged != changed || !bytes.Equal(got, want) {
						t.Fatalf("ApplyRaw differs from Apply on %v:\nApplyRaw %v (changed %v, err %v)\nApply    %v (changed %v)",
							bson.Raw(stored), bson.Raw(got), gotChanged, err, bson.Raw(want), changed)
					}
				}
			}
			if strings.Contains(spec, "$rand") {
				continue
			}
			out2, _, err := up.Apply(d, ac)
			if err != nil {
				t.Fatalf("second Apply failed: %v", err)
			}
			raw2, _ := bson.Marshal(out2)
			if !bytes.Equal(raw, raw2) {
				t.Fatalf("Apply is not reproducible:\n%v\n%v", bson.Raw(raw), bson.Raw(raw2))
			}
		}
	})
}

func fuzzRequireMongoErr(t *testing.T, what string, err error) {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("%s returned a non-MongoDB error %T: %v", what, err, err)
	}
}

func fuzzLookup(d bson.D, key string) (any, bool) {
	for _, e := range d {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

func fuzzSame(a, b any) bool {
	ra, erra := bson.Marshal(bson.D{{Key: "v", Value: a}})
	rb, errb := bson.Marshal(bson.D{{Key: "v", Value: b}})
	return erra == nil && errb == nil && bytes.Equal(ra, rb)
}
