package collation

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ICUVersion is the collator version MongoDB reports (ICU 57.1).
const ICUVersion = "57.1"

// Error codes specific to collation parsing.
const (
	codeIDLDuplicateField        mongoerr.Code = 40413
	codeIDLMissingField          mongoerr.Code = 40414
	codeIDLUnknownField          mongoerr.Code = 40415
	codeIDLValidator             mongoerr.Code = 51024
	codeIncompatibleCollationVer mongoerr.Code = 161
)

// Collation is a parsed, validated non-simple collation. A nil *Collation
// means the simple (binary) collation.
type Collation struct {
	locale          string
	caseLevel       bool
	caseFirst       string // "upper", "lower" or "off"
	strength        int
	numericOrdering bool
	alternate       string // "non-ignorable" or "shifted"
	maxVariable     string // "punct" or "space"
	normalization   bool
	backwards       bool

	// Derived comparison settings.
	tag        language.Tag
	emuCase    bool // emulate caseLevel at strength 1/2
	swapCase   bool // caseFirst upper at strength >= 3
	stripSpace bool // maxVariable space with alternate shifted
	useKeys    bool // compare via sort keys (x/text's direct compare lacks shifted support)

	pool sync.Pool
}

type worker struct {
	c      *collate.Collator
	b1, b2 collate.Buffer
}

// Parse validates a collation document. {locale: "simple"} yields
// (nil, nil): the simple binary collation.
func Parse(spec bson.D) (*Collation, error) {
	c := &Collation{caseFirst: "off", strength: 3, alternate: "non-ignorable", maxVariable: "punct"}
	seen := map[string]bool{}
	var (
		haveLocale                               bool
		version                                  string
		haveVersion                              bool
		setCaseFirst, setAlternate, setBackwards bool
		setNormalization                         bool
		strength                                 int64
		haveStrength                             bool
	)
	for _, e := range spec {
		if seen[e.Key] {
			return nil, mongoerr.Newf(codeIDLDuplicateField, "BSON field 'collation.%s' is a duplicate field", e.Key)
		}
		seen[e.Key] = true
		var err error
		switch e.Key {
		case "locale":
			c.locale, err = wantString(e)
			haveLocale = true
		case "caseLevel":
			c.caseLevel, err = wantBool(e)
		case "caseFirst":
			c.caseFirst, err = wantEnum(e, "upper", "lower", "off")
			setCaseFirst = true
		case "strength":
			strength, err = wantInt(e)
			haveStrength = true
		case "numericOrdering":
			c.numericOrdering, err = wantBool(e)
		case "alternate":
			c.alternate, err = wantEnum(e, "non-ignorable", "shifted")
			setAlternate = true
		case "maxVariable":
			c.maxVariable, err = wantEnum(e, "punct", "space")
		case "normalization":
			c.normalization, err = wantBool(e)
			setNormalization = true
		case "backwards":
			c.backwards, err = wantBool(e)
			setBackwards = true
		case "version":
			version, err = wantString(e)
			haveVersion = true
		default:
			err = mongoerr.Newf(codeIDLUnknownField, "BSON field 'collation.%s' is an unknown field.", e.Key)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveLocale {
		return nil, mongoerr.New(codeIDLMissingField, "BSON field 'collation.locale' is missing but a required field")
	}
	if haveStrength && (strength < 0 || strength > 5) {
		rel := ">= 0"
		if strength > 5 {
			rel = "<= 5"
		}
		return nil, mongoerr.Newf(codeIDLValidator, "BSON field 'collation.strength' value must be %s, actual value '%d'", rel, strength)
	}
	if c.locale == "simple" {
		if len(spec) > 1 {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "If locale=simple, no other fields should be present in: %s", render(spec))
		}
		return nil, nil
	}
	if strings.IndexByte(c.locale, 0) >= 0 {
		return nil, mongoerr.Newf(mongoerr.BadValue, "Field 'locale' cannot contain null byte. Collation spec: %s", render(spec))
	}
	if c.locale == "" {
		return nil, mongoerr.Newf(mongoerr.BadValue, "Field 'locale' cannot be the empty string in: %s", render(spec))
	}
	info, ok := lookupLocale(c.locale)
	if !ok {
		msg := fmt.Sprintf("Field 'locale' is invalid in: %s", render(spec))
		if s := suggestLocale(c.locale); s != "" {
			msg += fmt.Sprintf(". Did you mean '%s'?", s)
		}
		return nil, mongoerr.New(mongoerr.BadValue, msg)
	}
	// Locale-specific defaults (as ICU reports them) for fields not given.
	if !setCaseFirst && info.caseFirst != "" {
		c.caseFirst = info.caseFirst
	}
	if !setAlternate && info.shifted {
		c.alternate = "shifted"
	}
	if !setBackwards && info.backwards {
		c.backwards = true
	}
	if !setNormalization && info.normalization {
		c.normalization = true
	}
	if haveStrength {
		if strength == 0 {
			return nil, mongoerr.Newf(mongoerr.FailedToParse, "Field 'strength' must be an integer 1 through 5. Got: %d", strength)
		}
		c.strength = int(strength)
	}
	if haveVersion && version != ICUVersion {
		return nil, mongoerr.Newf(codeIncompatibleCollationVer,
			"Requested collation version %s but the only available collator version was %s. Requested collation spec: %s",
			version, ICUVersion, render(spec))
	}
	if c.backwards && c.strength == 1 {
		return nil, mongoerr.Newf(mongoerr.BadValue, "'backwards' is invalid with 'strength' of 1 in: %s", render(c.Spec()))
	}
	if c.caseFirst != "off" && !c.caseLevel && c.strength <= 2 {
		return nil, mongoerr.Newf(mongoerr.BadValue, "'caseFirst' is invalid unless 'caseLevel' is on or 'strength' is greater than 2 in: %s", render(c.Spec()))
	}
	if err := c.init(info); err != nil {
		return nil, err
	}
	return c, nil
}

// MustParse is Parse for trusted specs (tests, catalog defaults); it
// returns nil on error.
func MustParse(spec bson.D) *Collation {
	c, err := Parse(spec)
	if err != nil {
		return nil
	}
	return c
}

func (c *Collation) init(info localeInfo) error {
	var ext []string // BCP 47 -u- keys, in alphabetical order
	if info.co != "" {
		ext = append(ext, "co-"+info.co)
	}
	c.stripSpace = c.alternate == "shifted" && c.maxVariable == "space"
	if c.alternate == "shifted" && !c.stripSpace {
		ext = append(ext, "ka-shifted")
	}
	if c.backwards {
		ext = append(ext, "kb-true")
	}
	if c.numericOrdering {
		ext = append(ext, "kn-true")
	}
	switch c.strength {
	case 1:
		ext = append(ext, "ks-level1")
	case 2:
		ext = append(ext, "ks-level2")
	case 4:
		ext = append(ext, "ks-level4")
	case 5:
		ext = append(ext, "ks-identic")
	}
	if info.va != "" {
		ext = append(ext, "va-"+info.va)
	}
	id := info.bcp47
	if len(ext) > 0 {
		id += "-u-" + strings.Join(ext, "-")
	}
	tag, err := language.Parse(id)
	if err != nil {
		return mongoerr.Newf(mongoerr.BadValue, "Field 'locale' is invalid in: { locale: %q }", c.locale)
	}
	c.tag = tag
	c.emuCase = c.caseLevel && c.strength <= 2
	c.swapCase = c.caseFirst == "upper" && c.strength >= 3
	c.useKeys = c.alternate == "shifted" || c.strength >= 4
	c.pool.New = func() any { return &worker{c: collate.New(c.tag)} }
	return nil
}

// Spec returns the collation document with every option filled in, as
// MongoDB reports it in listCollections, listIndexes and explain.
func (c *Collation) Spec() bson.D {
	if c == nil {
		return bson.D{{Key: "locale", Value: "simple"}}
	}
	return bson.D{
		{Key: "locale", Value: c.locale},
		{Key: "caseLevel", Value: c.caseLevel},
		{Key: "caseFirst", Value: c.caseFirst},
		{Key: "strength", Value: int32(c.strength)},
		{Key: "numericOrdering", Value: c.numericOrdering},
		{Key: "alternate", Value: c.alternate},
		{Key: "maxVariable", Value: c.maxVariable},
		{Key: "normalization", Value: c.normalization},
		{Key: "backwards", Value: c.backwards},
		{Key: "version", Value: ICUVersion},
	}
}

// Locale returns the collation's locale ID ("simple" for nil).
func (c *Collation) Locale() string {
	if c == nil {
		return "simple"
	}
	return c.locale
}

// Strength returns the comparison strength, 1 to 5 (0 for nil).
func (c *Collation) Strength() int {
	if c == nil {
		return 0
	}
	return c.strength
}

// Equal reports whether two collations are the same (nil is simple).
func Equal(a, b *Collation) bool {
	if a == nil || b == nil {
		return a == b
	}
	sa, sb := a.Spec(), b.Spec()
	for i := range sa {
		if sa[i] != sb[i] {
			return false
		}
	}
	return true
}

func (c *Collation) get() *worker { return c.pool.Get().(*worker) }

func (c *Collation) put(w *worker) {
	w.b1.Reset()
	w.b2.Reset()
	c.pool.Put(w)
}

// prepare applies the string transformations used to emulate options
// x/text lacks.
func (c *Collation) prepare(s string) string {
	if c.stripSpace {
		s = strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	if c.swapCase {
		s = swapCase(s)
	}
	return s
}

// CompareStrings compares a and b under the collation: -1, 0 or 1. A nil
// collation compares bytes.
func (c *Collation) CompareStrings(a, b string) int {
	if c == nil {
		return strings.Compare(a, b)
	}
	if a == b {
		return 0
	}
	pa, pb := c.prepare(a), c.prepare(b)
	w := c.get()
	var r int
	if c.useKeys {
		r = bytes.Compare(w.c.KeyFromString(&w.b1, pa), w.c.KeyFromString(&w.b2, pb))
	} else {
		r = w.c.CompareString(pa, pb)
	}
	c.put(w)
	if r != 0 {
		return r
	}
	if c.emuCase {
		if r = bytes.Compare(c.caseSig(a), c.caseSig(b)); r != 0 {
			return r
		}
	}
	if c.stripSpace && c.strength >= 4 {
		// Spaces are ignorable at levels 1-3 only.
		if r = c.compareRaw(a, b); r != 0 {
			return r
		}
	}
	if c.strength == 5 {
		return strings.Compare(norm.NFD.String(a), norm.NFD.String(b))
	}
	return 0
}

func (c *Collation) compareRaw(a, b string) int {
	w := c.get()
	defer c.put(w)
	return bytes.Compare(w.c.KeyFromString(&w.b1, a), w.c.KeyFromString(&w.b2, b))
}

// Key returns a binary sort key for s: for any strings a and b,
// bytes.Compare(c.Key(a), c.Key(b)) has the sign of c.CompareStrings(a, b).
// A nil collation returns s's bytes.
func (c *Collation) Key(s string) []byte {
	if c == nil {
		return []byte(s)
	}
	w := c.get()
	k := w.c.KeyFromString(&w.b1, c.prepare(s))
	out := make([]byte, len(k), len(k)+8)
	copy(out, k)
	if c.stripSpace && c.strength >= 4 {
		w.b2.Reset()
		out = append(out, 0, 0, 0)
		out = append(out, w.c.KeyFromString(&w.b2, s)...)
	}
	c.put(w)
	if c.emuCase {
		out = append(out, 0, 0)
		out = append(out, c.caseSig(s)...)
	}
	if c.strength == 5 {
		out = append(out, 0, 0)
		out = append(out, norm.NFD.String(s)...)
	}
	return out
}

// caseSig returns one byte per cased letter of s (after NFD): 1 for the
// case that sorts first, 2 for the other. It emulates ICU's case level.
func (c *Collation) caseSig(s string) []byte {
	lower, upper := byte(1), byte(2)
	if c.caseFirst == "upper" {
		lower, upper = 2, 1
	}
	var sig []byte
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			sig = append(sig, upper)
		case unicode.IsLetter(r):
			sig = append(sig, lower)
		}
	}
	return sig
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsUpper(r):
			return unicode.ToLower(r)
		case unicode.IsLower(r):
			return unicode.ToUpper(r)
		}
		return r
	}, s)
}
