package collation

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func mustD(t *testing.T, js string) bson.D {
	t.Helper()
	var d bson.D
	if err := bson.UnmarshalExtJSON([]byte(js), false, &d); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return d
}

func mustParse(t *testing.T, js string) *Collation {
	t.Helper()
	c, err := Parse(mustD(t, js))
	if err != nil {
		t.Fatalf("Parse(%s): %v", js, err)
	}
	if c == nil {
		t.Fatalf("Parse(%s) returned the simple collation", js)
	}
	return c
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		spec string
		code mongoerr.Code
		msg  string // substring of the message, optional
	}{
		{`{}`, 40414, "BSON field 'collation.locale' is missing but a required field"},
		{`{"strength": 1}`, 40414, ""},
		{`{"locale": "en", "blah": 1}`, 40415, "BSON field 'collation.blah' is an unknown field."},
		{`{"blah": 1, "locale": "en"}`, 40415, ""},
		{`{"locale": "en", "locale": "fr"}`, 40413, ""},
		{`{"locale": 1}`, mongoerr.TypeMismatch, "BSON field 'collation.locale' is the wrong type 'int', expected type 'string'"},
		{`{"locale": "en", "caseLevel": "yes"}`, mongoerr.TypeMismatch, ""},
		{`{"locale": "en", "numericOrdering": 1}`, mongoerr.TypeMismatch, ""},
		{`{"locale": "en", "backwards": null}`, mongoerr.TypeMismatch, ""},
		{`{"locale": "en", "normalization": "x"}`, mongoerr.TypeMismatch, ""},
		{`{"locale": "en", "strength": "2"}`, mongoerr.TypeMismatch, "expected types '[long, int, decimal, double]'"},
		{`{"locale": "en", "strength": 6}`, 51024, "value must be <= 5"},
		{`{"locale": "en", "strength": -1}`, 51024, "value must be >= 0"},
		{`{"locale": "en", "strength": 0}`, mongoerr.FailedToParse, "Field 'strength' must be an integer 1 through 5. Got: 0"},
		{`{"locale": "en", "caseFirst": "middle"}`, mongoerr.BadValue, "Enumeration value 'middle' for field 'collation.caseFirst' is not a valid value."},
		{`{"locale": "en", "caseFirst": 1}`, mongoerr.TypeMismatch, ""},
		{`{"locale": "en", "alternate": "ignorable"}`, mongoerr.BadValue, ""},
		{`{"locale": "en", "maxVariable": "symbol"}`, mongoerr.BadValue, ""},
		{`{"locale": "xx"}`, mongoerr.BadValue, `Field 'locale' is invalid in: { locale: "xx" }`},
		{`{"locale": "en-US"}`, mongoerr.BadValue, "Did you mean 'en_US'?"},
		{`{"locale": "en_us"}`, mongoerr.BadValue, "Did you mean 'en_US'?"},
		{`{"locale": "en_GB"}`, mongoerr.BadValue, "Did you mean 'en'?"},
		{`{"locale": "root"}`, mongoerr.BadValue, ""},
		{`{"locale": "de@collation=bogus"}`, mongoerr.BadValue, ""},
		{`{"locale": "de@colation=phonebook"}`, mongoerr.BadValue, ""},
		{`{"locale": ""}`, mongoerr.BadValue, "Field 'locale' cannot be the empty string"},
		{`{"locale": "simple", "strength": 1}`, mongoerr.FailedToParse, "If locale=simple, no other fields should be present"},
		{`{"locale": "en", "version": "1.0"}`, 161, "Requested collation version 1.0"},
		{`{"locale": "en", "strength": 1, "backwards": true}`, mongoerr.BadValue, "'backwards' is invalid with 'strength' of 1"},
		{`{"locale": "en", "strength": 2, "caseFirst": "upper"}`, mongoerr.BadValue, "'caseFirst' is invalid unless 'caseLevel' is on"},
		{`{"locale": "da", "strength": 1}`, mongoerr.BadValue, "'caseFirst' is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			c, err := Parse(mustD(t, tt.spec))
			var me *mongoerr.Error
			if !errors.As(err, &me) {
				t.Fatalf("want error %d, got %v (collation %v)", tt.code, err, c)
			}
			if me.Code != tt.code {
				t.Fatalf("want code %d, got %d: %s", tt.code, me.Code, me.Msg)
			}
			if tt.msg != "" && !bytes.Contains([]byte(me.Msg), []byte(tt.msg)) {
				t.Fatalf("message %q does not contain %q", me.Msg, tt.msg)
			}
		})
	}
}

func TestParseSimple(t *testing.T) {
	c, err := Parse(mustD(t, `{"locale": "simple"}`))
	if err != nil || c != nil {
		t.Fatalf("simple: got %v, %v; want nil, nil", c, err)
	}
	if got := c.Spec(); len(got) != 1 || got[0].Value != "simple" {
		t.Fatalf("nil Spec() = %v", got)
	}
	if c.CompareStrings("a", "B") != 1 {
		t.Fatalf("nil collation must compare binary")
	}
}

func TestParseAccepts(t *testing.T) {
	for _, spec := range []string{
		`{"locale": "en"}`, `{"locale": "en_US"}`, `{"locale": "en_US_POSIX"}`, `{"locale": "fr_CA"}`,
		`{"locale": "zh_Hant"}`, `{"locale": "de@collation=phonebook"}`, `{"locale": "es@collation=traditional"}`,
		`{"locale": "zh@collation=unihan"}`, `{"locale": "sr_Latn"}`, `{"locale": "am"}`,
		`{"locale": "en", "strength": {"$numberLong": "2"}}`, `{"locale": "en", "strength": 2.0}`,
		`{"locale": "en", "version": "57.1"}`, `{"locale": "en", "strength": 1, "caseLevel": true, "caseFirst": "upper"}`,
		`{"locale": "en", "alternate": "shifted", "maxVariable": "space", "strength": 4}`,
		`{"locale": "en", "strength": 5, "numericOrdering": true, "normalization": true, "backwards": true}`,
	} {
		mustParse(t, spec)
	}
	for _, l := range supportedLocales {
		mustParse(t, fmt.Sprintf(`{"locale": %q}`, l))
	}
}

func TestSpec(t *testing.T) {
	tests := []struct{ spec, want string }{
		{`{"locale": "en_US", "strength": 2}`,
			`{"locale":"en_US","caseLevel":false,"caseFirst":"off","strength":2,"numericOrdering":false,"alternate":"non-ignorable","maxVariable":"punct","normalization":false,"backwards":false,"version":"57.1"}`},
		{`{"locale": "fr_CA"}`,
			`{"locale":"fr_CA","caseLevel":false,"caseFirst":"off","strength":3,"numericOrdering":false,"alternate":"non-ignorable","maxVariable":"punct","normalization":false,"backwards":true,"version":"57.1"}`},
		{`{"locale": "fr_CA", "backwards": false}`,
			`{"locale":"fr_CA","caseLevel":false,"caseFirst":"off","strength":3,"numericOrdering":false,"alternate":"non-ignorable","maxVariable":"punct","normalization":false,"backwards":false,"version":"57.1"}`},
		{`{"locale": "da"}`,
			`{"locale":"da","caseLevel":false,"caseFirst":"upper","strength":3,"numericOrdering":false,"alternate":"non-ignorable","maxVariable":"punct","normalization":false,"backwards":false,"version":"57.1"}`},
		{`{"backwards": false, "numericOrdering": true, "strength": 1.0, "locale": "de@collation=phonebook", "alternate": "shifted", "maxVariable": "space", "caseLevel": true, "caseFirst": "lower", "normalization": true}`,
			`{"locale":"de@collation=phonebook","caseLevel":true,"caseFirst":"lower","strength":1,"numericOrdering":true,"alternate":"shifted","maxVariable":"space","normalization":true,"backwards":false,"version":"57.1"}`},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.spec)
		b, err := bson.MarshalExtJSON(c.Spec(), false, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Spec(%s)\n got %s\nwant %s", tt.spec, b, tt.want)
		}
		// The spec round-trips.
		c2, err := Parse(c.Spec())
		if err != nil || !Equal(c, c2) {
			t.Errorf("Spec(%s) does not round-trip: %v", tt.spec, err)
		}
	}
}

// cmpCases are comparisons from MongoDB's collation documentation and
// ICU behavior.
var cmpCases = []struct {
	spec string
	a, b string
	want int
}{
	// Strength 1: base letters only.
	{`{"locale": "fr", "strength": 1}`, "cafe", "café", 0},
	{`{"locale": "fr", "strength": 1}`, "Cafe", "café", 0},
	{`{"locale": "en", "strength": 1}`, "a", "b", -1},
	{`{"locale": "en", "strength": 1}`, "resume", "RÉSUMÉ", 0},
	// Strength 2: accents matter, case does not.
	{`{"locale": "en_US", "strength": 2}`, "PING", "ping", 0},
	{`{"locale": "en_US", "strength": 2}`, "cafe", "café", -1},
	{`{"locale": "fr", "strength": 2}`, "café", "Café", 0},
	// Strength 3 (default): case matters, lowercase first.
	{`{"locale": "en"}`, "a", "A", -1},
	{`{"locale": "en"}`, "PING", "ping", 1},
	{`{"locale": "en"}`, "a", "B", -1}, // binary would say "B" < "a"
	{`{"locale": "en"}`, "b", "A", 1},
	{`{"locale": "en"}`, "café", "cafe", 1},
	{`{"locale": "en"}`, "x", "x", 0},
	// caseFirst upper.
	{`{"locale": "en", "caseFirst": "upper"}`, "A", "a", -1},
	{`{"locale": "en", "caseFirst": "upper"}`, "a", "B", -1},
	{`{"locale": "en", "caseFirst": "upper"}`, "Ab", "ab", -1},
	{`{"locale": "en", "caseFirst": "lower"}`, "a", "A", -1},
	{`{"locale": "da"}`, "A", "a", -1},
	// caseLevel at strength 1: case matters, accents do not.
	{`{"locale": "en", "strength": 1, "caseLevel": true}`, "cafe", "café", 0},
	{`{"locale": "en", "strength": 1, "caseLevel": true}`, "cafe", "Cafe", -1},
	{`{"locale": "en", "strength": 1, "caseLevel": true, "caseFirst": "upper"}`, "cafe", "Cafe", 1},
	{`{"locale": "en", "strength": 2, "caseLevel": true}`, "cafe", "café", -1},
	{`{"locale": "en", "strength": 2, "caseLevel": true}`, "Cafe", "cafe", 1},
	// numericOrdering.
	{`{"locale": "en", "numericOrdering": true}`, "10", "2", 1},
	{`{"locale": "en"}`, "10", "2", -1},
	{`{"locale": "en", "numericOrdering": true}`, "A-21", "A-123", -1},
	{`{"locale": "en", "numericOrdering": true}`, "-10", "-2", 1}, // signs are not numeric
	// alternate shifted: spaces and punctuation ignored below strength 4.
	{`{"locale": "en", "alternate": "shifted"}`, "black bird", "blackbird", 0},
	{`{"locale": "en", "alternate": "shifted"}`, "black-bird", "blackbird", 0},
	{`{"locale": "en", "alternate": "shifted"}`, "black bird", "blackbirds", -1},
	{`{"locale": "en", "alternate": "shifted"}`, "a", "B", -1},
	{`{"locale": "en", "alternate": "shifted", "strength": 4}`, "black bird", "blackbird", -1},
	{`{"locale": "en"}`, "black bird", "blackbird", -1},
	{`{"locale": "en", "alternate": "shifted", "maxVariable": "space"}`, "black bird", "blackbird", 0},
	{`{"locale": "en", "alternate": "shifted", "maxVariable": "space"}`, "black-bird", "blackbird", -1}, // "-" is not ignorable: it sorts before letters
	{`{"locale": "en", "alternate": "shifted", "maxVariable": "space", "strength": 4}`, "black bird", "blackbird", -1},
	// backwards (French accent ordering).
	{`{"locale": "fr"}`, "côte", "coté", 1},
	{`{"locale": "fr", "backwards": true}`, "côte", "coté", -1},
	{`{"locale": "fr_CA"}`, "côte", "coté", -1},
	// Strength 5: canonically equivalent strings tie, others don't.
	{`{"locale": "en", "strength": 5}`, "e\u0301", "\u00e9", 0},
	{`{"locale": "en", "strength": 3}`, "e\u0301", "\u00e9", 0},
	// Locale tailorings.
	{`{"locale": "sv"}`, "ö", "z", 1},
	{`{"locale": "de"}`, "ö", "z", -1},
	{`{"locale": "es"}`, "ñ", "o", -1},
	{`{"locale": "es"}`, "ñ", "nz", 1},
	{`{"locale": "en"}`, "ñ", "nz", -1},
}

func TestCompareStrings(t *testing.T) {
	for _, tt := range cmpCases {
		c := mustParse(t, tt.spec)
		if got := c.CompareStrings(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: CompareStrings(%q, %q) = %d, want %d", tt.spec, tt.a, tt.b, got, tt.want)
		}
		if got := c.CompareStrings(tt.b, tt.a); got != -tt.want {
			t.Errorf("%s: CompareStrings(%q, %q) = %d, want %d", tt.spec, tt.b, tt.a, got, -tt.want)
		}
		if got := sign(bytes.Compare(c.Key(tt.a), c.Key(tt.b))); got != tt.want {
			t.Errorf("%s: Key order of %q, %q = %d, want %d", tt.spec, tt.a, tt.b, got, tt.want)
		}
	}
}

// TestKeyConsistency checks that sort keys order every pair of a corpus as
// CompareStrings does, for each kind of option.
func TestKeyConsistency(t *testing.T) {
	corpus := []string{"", " ", "a", "A", "á", "Á", "ab", "aB", "Ab", "a b", "a-b", "a_b", "b", "B",
		"cafe", "café", "Café", "CAFE", "côte", "coté", "cote", "côté", "1", "2", "10", "02", "a10", "a9",
		"ß", "ss", "SS", "ö", "o", "z", "ñ", "n", "e\u0301", "\u00e9", "日本", "中文", "İ", "ı", "i", "I",
		"x y z", "xyz", "x-y-z", "x.y", "$", "+", "\t", "A\u030a", "Å"}
	specs := []string{
		`{"locale": "en"}`, `{"locale": "en", "strength": 1}`, `{"locale": "en", "strength": 2}`,
		`{"locale": "en", "strength": 4}`, `{"locale": "en", "strength": 5}`,
		`{"locale": "en", "caseFirst": "upper"}`, `{"locale": "en", "strength": 1, "caseLevel": true}`,
		`{"locale": "en", "strength": 2, "caseLevel": true, "caseFirst": "upper"}`,
		`{"locale": "en", "numericOrdering": true}`, `{"locale": "en", "alternate": "shifted"}`,
		`{"locale": "en", "alternate": "shifted", "strength": 4}`,
		`{"locale": "en", "alternate": "shifted", "maxVariable": "space", "strength": 4}`,
		`{"locale": "fr_CA"}`, `{"locale": "tr"}`, `{"locale": "sv"}`, `{"locale": "th"}`,
	}
	for _, spec := range specs {
		c := mustParse(t, spec)
		for _, a := range corpus {
			ka := c.Key(a)
			for _, b := range corpus {
				want := c.CompareStrings(a, b)
				if got := sign(bytes.Compare(ka, c.Key(b))); got != want {
					t.Errorf("%s: key order of %q vs %q = %d, CompareStrings = %d", spec, a, b, got, want)
				}
				if rev := c.CompareStrings(b, a); rev != -want {
					t.Errorf("%s: CompareStrings(%q,%q)=%d but reverse=%d", spec, a, b, want, rev)
				}
			}
		}
		// A sorted corpus must be totally ordered (transitive).
		s := slices.Clone(corpus)
		slices.SortFunc(s, c.CompareStrings)
		for i := 1; i < len(s); i++ {
			if c.CompareStrings(s[i-1], s[i]) > 0 {
				t.Errorf("%s: sort is not ordered at %q, %q", spec, s[i-1], s[i])
			}
		}
	}
}

func TestSortOrder(t *testing.T) {
	tests := []struct {
		spec string
		in   []string
		want []string
	}{
		{`{"locale": "en"}`, []string{"b", "A", "a", "B"}, []string{"a", "A", "b", "B"}},
		{`{"locale": "en", "caseFirst": "upper"}`, []string{"b", "a", "B", "A"}, []string{"A", "a", "B", "b"}},
		{`{"locale": "en", "numericOrdering": true}`, []string{"10", "2", "1", "20"}, []string{"1", "2", "10", "20"}},
		{`{"locale": "fr"}`, []string{"côté", "cote", "côte", "coté"}, []string{"cote", "coté", "côte", "côté"}},
		{`{"locale": "fr_CA"}`, []string{"côté", "cote", "côte", "coté"}, []string{"cote", "côte", "coté", "côté"}},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.spec)
		got := slices.Clone(tt.in)
		slices.SortStableFunc(got, c.CompareStrings)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: sorted %q = %q, want %q", tt.spec, tt.in, got, tt.want)
		}
	}
}

func TestCompareValues(t *testing.T) {
	c := mustParse(t, `{"locale": "en", "strength": 2}`)
	tests := []struct {
		a, b any
		want int
	}{
		{"ABC", "abc", 0},
		{bson.Symbol("ABC"), "abc", 0},
		{"a", int32(1), 1}, // strings sort after numbers
		{int32(1), float64(1), 0},
		{bson.A{"X", "y"}, bson.A{"x", "Y"}, 0},
		{bson.A{"X"}, bson.A{"x", "y"}, -1},
		{bson.D{{Key: "k", Value: "V"}}, bson.D{{Key: "k", Value: "v"}}, 0},
		{bson.D{{Key: "K", Value: "v"}}, bson.D{{Key: "k", Value: "v"}}, -1}, // field names are binary
		{bson.D{{Key: "k", Value: bson.A{"Q"}}}, bson.D{{Key: "k", Value: bson.A{"q"}}}, 0},
		{nil, "a", -1},
		{bson.MaxKey{}, "z", 1},
	}
	for _, tt := range tests {
		if got := Compare(c, tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Compare(c, tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
		ka, kb := ComparisonKey(c, tt.a), ComparisonKey(c, tt.b)
		if got := Compare(nil, ka, kb); got != tt.want {
			t.Errorf("ComparisonKey order of %v, %v = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	// A nil collation is binary.
	if Compare(nil, "ABC", "abc") != -1 {
		t.Errorf("nil collation must compare binary")
	}
	if !HasStrings(bson.D{{Key: "a", Value: bson.A{int32(1), "x"}}}) || HasStrings(bson.A{int32(1)}) {
		t.Errorf("HasStrings is wrong")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mustParse(t, `{"locale": "en", "strength": 2, "alternate": "shifted"}`)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				a := fmt.Sprintf("Item %d-%d", g, i)
				b := fmt.Sprintf("item%d%d", g, i)
				if c.CompareStrings(a, b) != 0 {
					errs <- a + " vs " + b
					return
				}
				if !bytes.Equal(c.Key(a), c.Key(b)) {
					errs <- "key " + a
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
