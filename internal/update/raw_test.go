package update

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestRawEligible lists which updates ApplyRaw takes.
func TestRawEligible(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string // nil: not eligible
	}{
		{`{"$set": {"a": 1}}`, []string{"a"}},
		{`{"$set": {"b": "x", "a": 2.5, "c": null, "d": true}}`, []string{"a", "b", "c", "d"}},
		{`{"$set": {"o": {"$oid": "0102030405060708090a0b0c"}, "t": {"$date": 5}, "l": {"$numberLong": "7"}}}`, []string{"l", "o", "t"}},
		{`{"$set": {"a.b": 1}}`, nil},
		{`{"$set": {"_id": 1}}`, nil},
		{`{"$set": {"a": {"b": 1}}}`, nil},
		{`{"$set": {"a": [1]}}`, nil},
		{`{"$set": {"a": {"$numberDecimal": "1"}}}`, nil},
		{`{"$set": {"a": 1}, "$inc": {"b": 1}}`, nil},
		{`{"$setOnInsert": {"a": 1}}`, nil},
		{`{"$unset": {"a": ""}}`, nil},
		{`{"a": 1}`, nil},
	} {
		var spec bson.D
		if err := bson.UnmarshalExtJSON([]byte(tc.spec), false, &spec); err != nil {
			t.Fatal(err)
		}
		u, err := Parse(spec, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		got := u.RawFields()
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%s: RawFields %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// TestApplyRawMatchesApply checks ApplyRaw against the decoding path
// (decode, Apply, encode) on random documents and random eligible
// updates: the same bytes and the same changed flag.
func TestApplyRawMatchesApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c", "x", "yy", "a.b"[:1], "zz", "_id2"}
	scalars := func() any {
		switch rng.IntN(10) {
		case 0:
			return int32(rng.IntN(3))
		case 1:
			return int64(rng.IntN(3))
		case 2:
			return []float64{0, math.Copysign(0, -1), 1, math.NaN(), 2.5}[rng.IntN(5)]
		case 3:
			return []string{"", "s", "t"}[rng.IntN(3)]
		case 4:
			return rng.IntN(2) == 0
		case 5:
			return nil
		case 6:
			return bson.ObjectID{byte(rng.IntN(2))}
		case 7:
			return bson.DateTime(rng.IntN(2))
		case 8:
			return bson.Null{}
		default:
			return bson.Undefined{}
		}
	}
	var value func(depth int) any
	value = func(depth int) any {
		if depth < 2 {
			switch rng.IntN(6) {
			case 0:
				d := bson.D{}
				for range rng.IntN(3) {
					d = append(d, bson.E{Key: names[rng.IntN(len(names))], Value: value(depth + 1)})
				}
				return d
			case 1:
				a := bson.A{}
				for range rng.IntN(3) {
					a = append(a, value(depth+1))
				}
				return a
			case 2:
				return bson.Decimal128{}
			case 3:
				return bson.Binary{Subtype: 0, Data: []byte{1}}
			}
		}
		return scalars()
	}
	changedN, sameN := 0, 0
	for i := 0; i < 20000; i++ {
		doc := bson.D{{Key: "_id", Value: int32(i)}}
		for range rng.IntN(5) {
			// Duplicate names happen: the first occurrence is the one set.
			doc = append(doc, bson.E{Key: names[rng.IntN(len(names))], Value: value(0)})
		}
		set := bson.D{}
		used := map[string]bool{}
		for range 1 + rng.IntN(3) {
			n := names[rng.IntN(len(names))]
			if used[n] {
				continue
			}
			used[n] = true
			v := scalars()
			if _, undef := v.(bson.Undefined); undef {
				v = nil
			}
			set = append(set, bson.E{Key: n, Value: v})
		}
		if rng.IntN(3) == 0 {
			// Set fields to the values they hold (a no-op unless a
			// duplicate name or a type the update cannot set is in the way).
			set = bson.D{}
			used = map[string]bool{}
			for _, e := range doc[1:] {
				switch e.Value.(type) {
				case bson.D, bson.A, bson.Decimal128, bson.Binary, bson.Undefined:
					continue
				}
				if !used[e.Key] {
					used[e.Key] = true
					set = append(set, e)
				}
			}
			if len(set) == 0 {
				set = bson.D{{Key: "new", Value: int32(1)}}
			}
		}
		spec := bson.D{{Key: "$set", Value: set}}
		u, err := Parse(spec, nil)
		if err != nil {
			t.Fatalf("parse %v: %v", spec, err)
		}
		if u.RawFields() == nil {
			t.Fatalf("%v: not eligible", spec)
		}
		old, err := bsonutil.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		oldCopy := append([]byte(nil), old...)
		got, gotChanged, err := u.ApplyRaw(old)
		if err != nil {
			t.Fatalf("ApplyRaw(%v, %v): %v", doc, spec, err)
		}
		if !bytes.Equal(old, oldCopy) {
			t.Fatalf("ApplyRaw modified its input")
		}
		decoded, err := bsonutil.Decode(old)
		if err != nil {
			t.Fatal(err)
		}
		nd, wantChanged, err := u.Apply(decoded, nil)
		if err != nil {
			t.Fatalf("Apply(%v, %v): %v", doc, spec, err)
		}
		want, err := bsonutil.Marshal(nd)
		if err != nil {
			t.Fatal(err)
		}
		if gotChanged != wantChanged || !bytes.Equal(got, want) {
			t.Fatalf("doc %s, update %v:\nApplyRaw %s (changed %v)\nApply    %s (changed %v)",
				bson.Raw(old), spec, bson.Raw(got), gotChanged, bson.Raw(want), wantChanged)
		}
		if gotChanged {
			changedN++
		} else {
			sameN++
		}
	}
	if changedN == 0 || sameN < 100 {
		t.Fatalf("cases: %d changed, %d unchanged; the generator no longer covers both", changedN, sameN)
	}
}

func BenchmarkApplyRaw(b *testing.B) {
	doc := bson.D{{Key: "_id", Value: int64(1)}}
	for i := range 10 {
		doc = append(doc, bson.E{Key: fmt.Sprintf("field%d", i), Value: string(bytes.Repeat([]byte{'x'}, 100))})
	}
	old, _ := bsonutil.Marshal(doc)
	u, _ := Parse(bson.D{{Key: "$set", Value: bson.D{{Key: "field4", Value: string(bytes.Repeat([]byte{'y'}, 100))}}}}, nil)
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := u.ApplyRaw(old); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			d, _ := bsonutil.Decode(old)
			nd, _, _ := u.Apply(d, nil)
			if _, err := bsonutil.Marshal(nd); err != nil {
				b.Fatal(err)
			}
		}
	})
}
