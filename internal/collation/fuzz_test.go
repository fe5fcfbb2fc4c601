package collation

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzCompare checks that arbitrary (even invalid UTF-8) strings never
// panic and that sort keys agree with CompareStrings.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"a", "B"}, {"café", "cafe"}, {"10", "9"}, {"\xff", "a b"}, {"", "\x00"}, {"ǅ", "Dž"}} {
		f.Add(s[0], s[1], uint8(3), true)
	}
	f.Fuzz(func(t *testing.T, a, b string, strength uint8, flags bool) {
		spec := bson.D{{Key: "locale", Value: "en"}, {Key: "strength", Value: int32(strength%5 + 1)}}
		if flags {
			spec = append(spec, bson.E{Key: "numericOrdering", Value: true}, bson.E{Key: "alternate", Value: "shifted"})
		}
		c, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		want := c.CompareStrings(a, b)
		if got := sign(bytes.Compare(c.Key(a), c.Key(b))); got != want {
			t.Errorf("%v: key order of %q, %q = %d, CompareStrings = %d", spec, a, b, got, want)
		}
	})
}

// FuzzParse checks that Parse never panics on arbitrary documents.
func FuzzParse(f *testing.F) {
	f.Add(`{"locale": "en", "strength": 2}`)
	f.Add(`{"locale": "de@collation=phonebook", "caseFirst": "upper"}`)
	f.Add(`{"locale": "simple"}`)
	f.Add(`{"locale": "en", "strength": 1e300}`)
	f.Add(`{"locale": "en", "strength": {"$numberDecimal": "NaN"}}`)
	f.Fuzz(func(t *testing.T, js string) {
		var d bson.D
		if bson.UnmarshalExtJSON([]byte(js), false, &d) != nil {
			return
		}
		c, err := Parse(d)
		if err == nil && c != nil {
			_ = c.CompareStrings("a", "A")
			_ = c.Spec()
		}
	})
}
