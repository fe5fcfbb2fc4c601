package commands

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// TestStoredIDMatchesDecodePath checks storedID against what the general
// insert path does to a document: whenever storedID takes one, decoding
// and re-encoding it gives the same bytes, PrepareInsert leaves it as it
// is, its field names pass validateStoredFieldNames, and the _id is the
// same value. Documents are random, with every BSON type, hand-made
// encodings the decoder normalizes (boolean bytes, array keys, binary
// subtype 2) and deep nesting.
func TestStoredIDMatchesDecodePath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var value func(dst []byte, key string, depth int) []byte
	scalar := func(dst []byte, key string) []byte {
		switch rng.IntN(19) {
		case 0:
			return bsoncore.AppendDoubleElement(dst, key, rng.Float64())
		case 1:
			return bsoncore.AppendStringElement(dst, key, "s")
		case 2:
			return bsoncore.AppendObjectIDElement(dst, key, bson.NewObjectID())
		case 3:
			// A boolean byte other than 0 or 1 decodes as true.
			dst = bsoncore.AppendHeader(dst, bsoncore.TypeBoolean, key)
			return append(dst, byte(rng.IntN(3)))
		case 4:
			return bsoncore.AppendDateTimeElement(dst, key, 5)
		case 5:
			return bsoncore.AppendNullElement(dst, key)
		case 6:
			return bsoncore.AppendInt32Element(dst, key, 7)
		case 7:
			return bsoncore.AppendTimestampElement(dst, key, 1, 2)
		case 8:
			return bsoncore.AppendInt64Element(dst, key, 8)
		case 9:
			return bsoncore.AppendDecimal128Element(dst, key, 1, 2)
		case 10:
			return bsoncore.AppendMinKeyElement(dst, key)
		case 11:
			return bsoncore.AppendMaxKeyElement(dst, key)
		case 12:
			return bsoncore.AppendBinaryElement(dst, key, byte(rng.IntN(5)), []byte{1, 2})
		case 13:
			return bsoncore.AppendRegexElement(dst, key, "a", []string{"", "i", "mi", "im"}[rng.IntN(4)])
		case 14:
			return bsoncore.AppendUndefinedElement(dst, key)
		case 15:
			return bsoncore.AppendSymbolElement(dst, key, "sym")
		case 16:
			return bsoncore.AppendJavaScriptElement(dst, key, "f()")
		case 17:
			return bsoncore.AppendCodeWithScopeElement(dst, key, "g()", bsoncore.NewDocumentBuilder().AppendInt32("x", 1).Build())
		default:
			return bsoncore.AppendDBPointerElement(dst, key, "ns", bson.NewObjectID())
		}
	}
	var elems func(dst []byte, array bool, depth int) []byte
	elems = func(dst []byte, array bool, depth int) []byte {
		n := rng.IntN(4)
		for i := 0; i < n; i++ {
			key := []string{"a", "b", "$c", "d.e", "_id"}[rng.IntN(5)]
			if array {
				key = string(rune('0' + i))
				if rng.IntN(6) == 0 {
					key = "x" // not an array index: decoding renumbers
				}
			}
			dst = value(dst, key, depth)
		}
		return dst
	}
	value = func(dst []byte, key string, depth int) []byte {
		if depth < 4 && rng.IntN(4) == 0 {
			t := bsoncore.TypeEmbeddedDocument
			if rng.IntN(2) == 0 {
				t = bsoncore.TypeArray
			}
			dst = bsoncore.AppendHeader(dst, t, key)
			idx, dst := bsoncore.ReserveLength(dst)
			dst = elems(dst, t == bsoncore.TypeArray, depth+1)
			dst = append(dst, 0)
			return bsoncore.UpdateLength(dst, idx, int32(len(dst[idx:])))
		}
		return scalar(dst, key)
	}
	deep := func() []byte {
		// {_id: 1, a: [[[...]]]} nested n deep.
		n := 98 + rng.IntN(4)
		idx, dst := bsoncore.ReserveLength(nil)
		dst = bsoncore.AppendInt32Element(dst, "_id", 1)
		var open []int32
		for i := 0; i < n; i++ {
			key := "a"
			if i > 0 {
				key = "0"
			}
			dst = bsoncore.AppendHeader(dst, bsoncore.TypeArray, key)
			var j int32
			j, dst = bsoncore.ReserveLength(dst)
			open = append(open, j)
		}
		for i := len(open) - 1; i >= 0; i-- {
			dst = append(dst, 0)
			dst = bsoncore.UpdateLength(dst, open[i], int32(len(dst[open[i]:])))
		}
		dst = append(dst, 0)
		return bsoncore.UpdateLength(dst, idx, int32(len(dst[idx:])))
	}

	taken, refused := 0, 0
	for i := 0; i < 30000; i++ {
		var raw []byte
		if i%100 == 0 {
			raw = deep()
		} else {
			idx, dst := bsoncore.ReserveLength(nil)
			if rng.IntN(10) > 0 {
				dst = value(dst, "_id", 3) // _id first, of any type
			}
			dst = elems(dst, false, 0)
			dst = append(dst, 0)
			raw = bsoncore.UpdateLength(dst, idx, int32(len(dst[idx:])))
		}
		if err := bsoncore.Document(raw).Validate(); err != nil {
			t.Fatalf("generator made invalid BSON: %v", err)
		}
		id, ok := storedID(raw)
		if !ok {
			refused++
			continue
		}
		taken++
		d, err := bsonutil.Decode(raw)
		if err != nil {
			t.Fatalf("%s: taken but does not decode: %v", bson.Raw(raw), err)
		}
		if err := validateStoredFieldNames(d); err != nil {
			t.Fatalf("%s: taken but the general path refuses it: %v", bson.Raw(raw), err)
		}
		prepared, err := catalog.PrepareInsert(d)
		if err != nil {
			t.Fatalf("%s: taken but PrepareInsert refuses it: %v", bson.Raw(raw), err)
		}
		again, err := bsonutil.Marshal(prepared)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("taken, but the general path would store other bytes:\nsent   %x\nstored %x", raw, again)
		}
		idRaw, err := bsonutil.Marshal(bson.D{{Key: "v", Value: id}})
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := bsonutil.Marshal(bson.D{{Key: "v", Value: prepared[0].Value}}); !bytes.Equal(idRaw, want) {
			t.Fatalf("%s: _id %v, want %v", bson.Raw(raw), id, prepared[0].Value)
		}
	}
	t.Logf("taken %d, refused %d", taken, refused)
	if taken < 1000 || refused < 1000 {
		t.Fatalf("taken %d, refused %d: the generator no longer covers both", taken, refused)
	}
}

// FuzzStoredID: whatever valid document storedID takes, the general
// insert path would store byte for byte the same, with the same _id.
func FuzzStoredID(f *testing.F) {
	for _, d := range []bson.D{
		{{Key: "_id", Value: int32(1)}, {Key: "a", Value: bson.A{"x", bson.D{{Key: "b", Value: true}}}}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "s", Value: "str"}, {Key: "f", Value: 1.5}},
		{{Key: "a", Value: 1}, {Key: "_id", Value: "x"}},
	} {
		raw, _ := bson.Marshal(d)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if bsoncore.Document(raw).Validate() != nil {
			return
		}
		id, ok := storedID(raw)
		if !ok {
			return
		}
		d, err := bsonutil.Decode(raw)
		if err != nil {
			t.Fatalf("taken but does not decode: %v", err)
		}
		if err := validateStoredFieldNames(d); err != nil {
			t.Fatalf("taken but the general path refuses it: %v", err)
		}
		prepared, err := catalog.PrepareInsert(d)
		if err != nil {
			t.Fatalf("taken but PrepareInsert refuses it: %v", err)
		}
		again, err := bsonutil.Marshal(prepared)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("taken, but the general path would store other bytes (%v):\nsent   %x\nstored %x", err, raw, again)
		}
		a, _ := bsonutil.Marshal(bson.D{{Key: "v", Value: id}})
		b, _ := bsonutil.Marshal(bson.D{{Key: "v", Value: prepared[0].Value}})
		if !bytes.Equal(a, b) {
			t.Fatalf("_id %v, want %v", id, prepared[0].Value)
		}
	})
}
