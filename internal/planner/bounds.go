package planner

import (
	"bytes"
	"math"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// An interval is a range of ascending value encodings (internal/index).
// Endpoints are either full value encodings or type-class boundaries (a
// bare tag byte), which sort between the encodings of adjacent types, so
// plain byte comparison orders them. lo/hi display strings are kept for
// explain.
type interval struct {
	lo, hi       []byte
	loInc, hiInc bool
	loS, hiS     string
}

func (iv interval) isPoint() bool {
	return iv.loInc && iv.hiInc && bytes.Equal(iv.lo, iv.hi)
}

func (iv interval) empty() bool {
	c := bytes.Compare(iv.lo, iv.hi)
	return c > 0 || (c == 0 && !(iv.loInc && iv.hiInc))
}

// contains reports whether the ascending encoding v lies in iv.
func (iv interval) contains(v []byte) bool {
	c := bytes.Compare(v, iv.lo)
	if c < 0 || (c == 0 && !iv.loInc) {
		return false
	}
	c = bytes.Compare(v, iv.hi)
	return c < 0 || (c == 0 && iv.hiInc)
}

var (
	encMinKey = []byte{0x01}
	encMaxKey = []byte{0xf0}
	encNull   = index.AppendValue(nil, nil, false)
)

func fullInterval() interval {
	return interval{lo: encMinKey, hi: encMaxKey, loInc: true, hiInc: true, loS: "MinKey", hiS: "MaxKey"}
}

func isFull(ivs []interval) bool {
	return len(ivs) == 1 && bytes.Equal(ivs[0].lo, encMinKey) && bytes.Equal(ivs[0].hi, encMaxKey) && ivs[0].loInc && ivs[0].hiInc
}

func containsNull(ivs []interval) bool {
	for _, iv := range ivs {
		if iv.contains(encNull) {
			return true
		}
	}
	return false
}

func pointInterval(v any) interval {
	e := index.AppendValue(nil, v, false)
	s := fmtBound(v)
	return interval{lo: e, hi: e, loInc: true, hiInc: true, loS: s, hiS: s}
}

// typeClass is the range of encodings of one canonical BSON type
// (bracketing): [lo, hi) as bare tag bytes.
type typeClass struct {
	lo, hi     byte
	loS, hiS   string
	loIncl     bool // lo is inclusive (always), hi exclusive unless hiIncl
	hiFullEnc  []byte
	hiFullIncl bool
}

func classOf(v any) (typeClass, bool) {
	switch bsonutil.Rank(v) {
	case bsonutil.RankNumber:
		// -Inf .. +Inf inclusive; NaN is left out, as comparisons never
		// match it.
		return typeClass{lo: 0x11, loS: "-inf.0", hiS: "inf.0", hiFullEnc: []byte{0x15}, hiFullIncl: true}, true
	case bsonutil.RankString:
		return typeClass{lo: 0x20, hi: 0x21, loS: `""`, hiS: "{}"}, true
	case bsonutil.RankObject:
		return typeClass{lo: 0x28, hi: 0x29, loS: "{}", hiS: "[]"}, true
	case bsonutil.RankBinary:
		return typeClass{lo: 0x38, hi: 0x39, loS: "BinData(0, )", hiS: "ObjectId('000000000000000000000000')"}, true
	case bsonutil.RankObjectID:
		return typeClass{lo: 0x40, hi: 0x41, loS: "ObjectId('000000000000000000000000')", hiS: "ObjectId('ffffffffffffffffffffffff')"}, true
	case bsonutil.RankBool:
		return typeClass{lo: 0x48, hi: 0x4a, loS: "false", hiS: "true"}, true
	case bsonutil.RankDate:
		return typeClass{lo: 0x50, hi: 0x51, loS: "new Date(-9223372036854775808)", hiS: "new Date(9223372036854775807)"}, true
	case bsonutil.RankTimestamp:
		return typeClass{lo: 0x58, hi: 0x59, loS: "Timestamp(0, 0)", hiS: "Timestamp(4294967295, 4294967295)"}, true
	}
	return typeClass{}, false
}

func (c typeClass) interval() interval {
	iv := interval{lo: []byte{c.lo}, loInc: true, loS: c.loS, hiS: c.hiS}
	if c.hiFullEnc != nil {
		iv.hi, iv.hiInc = c.hiFullEnc, c.hiFullIncl
	} else {
		iv.hi = []byte{c.hi}
	}
	return iv
}

// rangeInterval returns the interval of a comparison operator with type
// bracketing; ok is false if the operand is not indexable.
func rangeInterval(op string, v any) (iv interval, exact, ok bool) {
	switch v.(type) {
	case nil, bson.Null, bson.Undefined:
		if op == "$gte" || op == "$lte" {
			return pointInterval(nil), false, true
		}
		return interval{}, false, false
	case bson.A, bson.Regex, bson.MinKey, bson.MaxKey:
		return interval{}, false, false
	}
	if bsonutil.IsNaN(v) {
		return interval{}, false, false
	}
	cls, known := classOf(v)
	if !known {
		return interval{}, false, false
	}
	iv = cls.interval()
	e := index.AppendValue(nil, v, false)
	s := fmtBound(v)
	switch op {
	case "$gt":
		iv.lo, iv.loInc, iv.loS = e, false, s
	case "$gte":
		iv.lo, iv.loInc, iv.loS = e, true, s
	case "$lt":
		iv.hi, iv.hiInc, iv.hiS = e, false, s
	case "$lte":
		iv.hi, iv.hiInc, iv.hiS = e, true, s
	}
	_, isDoc := v.(bson.D)
	return iv, !isDoc, true
}

// eqIntervals returns the intervals of {$eq: v}; ok is false if v is not
// indexable (arrays).
func eqIntervals(v any) (ivs []interval, exact, ok bool) {
	switch x := v.(type) {
	case bson.A:
		return nil, false, false
	case nil, bson.Null:
		return []interval{pointInterval(nil)}, false, true
	case bson.Undefined:
		return nil, false, false
	case bson.D:
		_ = x
		return []interval{pointInterval(v)}, false, true
	case bson.MinKey, bson.MaxKey, bson.Regex:
		return []interval{pointInterval(v)}, false, true
	}
	if bsonutil.IsNaN(v) {
		return []interval{pointInterval(v)}, false, true
	}
	return []interval{pointInterval(v)}, true, true
}

// regexIntervals returns the intervals a regular expression can match:
// the strings with its literal prefix if it is anchored, else all
// strings, plus every regex value (a regex also matches an equal regex).
func regexIntervals(pattern, options string) []interval {
	regexClass := interval{lo: []byte{0x60}, hi: []byte{0x61}, loInc: true, loS: "//", hiS: "MaxKey"}
	strs := typeClass{lo: 0x20, hi: 0x21, loS: `""`, hiS: "{}"}.interval()
	if p, ok := regexPrefix(pattern, options); ok && p != "" {
		strs.lo, strs.loInc, strs.loS = index.AppendValue(nil, p, false), true, fmtBound(p)
		if succ, ok := stringSuccessor(p); ok {
			strs.hi, strs.hiInc, strs.hiS = index.AppendValue(nil, succ, false), false, fmtBound(succ)
		}
	}
	return []interval{strs, regexClass}
}

// regexPrefix returns the literal prefix every match of an anchored regex
// starts with.
func regexPrefix(pattern, options string) (string, bool) {
	if strings.ContainsAny(options, "imx") {
		return "", false
	}
	switch {
	case strings.HasPrefix(pattern, "^"):
		pattern = pattern[1:]
	case strings.HasPrefix(pattern, `\A`):
		pattern = pattern[2:]
	default:
		return "", false
	}
	if strings.Contains(pattern, "|") {
		return "", false
	}
	var sb strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if strings.IndexByte(`\^$.|?*+()[]{}`, c) >= 0 {
			if (c == '?' || c == '*' || c == '{') && sb.Len() > 0 {
				s := sb.String()
				return s[:len(s)-1], true
			}
			break
		}
		sb.WriteByte(c)
	}
	return sb.String(), true
}

// stringSuccessor returns the smallest string greater than every string
// with prefix p.
func stringSuccessor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// normalize sorts intervals and merges overlapping ones.
func normalize(ivs []interval) []interval {
	out := make([]interval, 0, len(ivs))
	for _, iv := range ivs {
		if !iv.empty() {
			out = append(out, iv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		c := bytes.Compare(out[i].lo, out[j].lo)
		if c != 0 {
			return c < 0
		}
		return out[i].loInc && !out[j].loInc
	})
	merged := out[:0]
	for _, iv := range out {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			c := bytes.Compare(iv.lo, last.hi)
			if c < 0 || (c == 0 && (iv.loInc || last.hiInc)) {
				hc := bytes.Compare(iv.hi, last.hi)
				if hc > 0 || (hc == 0 && iv.hiInc) {
					last.hi, last.hiInc, last.hiS = iv.hi, iv.hiInc, iv.hiS
				}
				continue
			}
		}
		merged = append(merged, iv)
	}
	return merged
}

// intersect returns the intersection of two normalized interval lists.
func intersect(a, b []interval) []interval {
	var out []interval
	for _, x := range a {
		for _, y := range b {
			iv := x
			if c := bytes.Compare(y.lo, iv.lo); c > 0 || (c == 0 && !y.loInc) {
				iv.lo, iv.loInc, iv.loS = y.lo, y.loInc, y.loS
			}
			if c := bytes.Compare(y.hi, iv.hi); c < 0 || (c == 0 && !y.hiInc) {
				iv.hi, iv.hiInc, iv.hiS = y.hi, y.hiInc, y.hiS
			}
			if !iv.empty() {
				out = append(out, iv)
			}
		}
	}
	return normalize(out)
}

func invert(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = ^c
	}
	return out
}

// storedRange returns the byte range [start, end) of the stored encodings
// of iv's values for a field with direction desc.
func storedRange(prefix []byte, iv interval, desc bool) (start, end []byte) {
	cat := func(b []byte) []byte { return append(append([]byte(nil), prefix...), b...) }
	if !desc {
		start = cat(iv.lo)
		if !iv.loInc {
			start = storage.PrefixEnd(start)
		}
		end = cat(iv.hi)
		if iv.hiInc {
			end = storage.PrefixEnd(end)
		}
		return start, end
	}
	start = cat(invert(iv.hi))
	if !iv.hiInc {
		start = storage.PrefixEnd(start)
	}
	end = cat(invert(iv.lo))
	if iv.loInc {
		end = storage.PrefixEnd(end)
	}
	return start, end
}

// keyRange is one contiguous byte range of an index scan.
type keyRange struct{ start, end []byte }

// indexBounds are the bounds of an index scan: per-field intervals, the
// byte ranges to scan in ascending stored order, and the fields whose
// intervals must be checked per entry (those after the range field).
type indexBounds struct {
	fields []string
	desc   []bool
	ivs    [][]interval
	ranges []keyRange
	check  []int
	// minMax is set when the bounds come from min/max.
	minMax bool
	minD   bson.D
	maxD   bson.D
}

// maxRanges caps the cartesian product of point prefixes.
const maxRanges = 4096

// buildRanges computes ranges and check from ivs.
func (b *indexBounds) buildRanges() {
	prefixes := [][]byte{nil}
	j := 0
	for ; j < len(b.ivs); j++ {
		ivs := b.ivs[j]
		allPoints := true
		for _, iv := range ivs {
			if !iv.isPoint() {
				allPoints = false
				break
			}
		}
		if !allPoints || len(prefixes)*len(ivs) > maxRanges {
			break
		}
		pts := ivsInStoredOrder(ivs, b.desc[j])
		next := make([][]byte, 0, len(prefixes)*len(pts))
		for _, p := range prefixes {
			for _, iv := range pts {
				e := iv.lo
				if b.desc[j] {
					e = invert(e)
				}
				next = append(next, append(append([]byte(nil), p...), e...))
			}
		}
		prefixes = next
	}
	b.ranges = nil
	if j == len(b.ivs) {
		for _, p := range prefixes {
			b.ranges = append(b.ranges, keyRange{p, storage.PrefixEnd(p)})
		}
	} else {
		ivs := ivsInStoredOrder(b.ivs[j], b.desc[j])
		for _, p := range prefixes {
			for _, iv := range ivs {
				s, e := storedRange(p, iv, b.desc[j])
				b.ranges = append(b.ranges, keyRange{s, e})
			}
		}
		for k := j + 1; k < len(b.ivs); k++ {
			if !isFull(b.ivs[k]) {
				b.check = append(b.check, k)
			}
		}
	}
	// A nil start means the beginning of the index; PrefixEnd of an empty
	// prefix is nil, meaning its end.
	for i := range b.ranges {
		if len(b.ranges[i].start) == 0 {
			b.ranges[i].start = nil
		}
	}
}

func ivsInStoredOrder(ivs []interval, desc bool) []interval {
	if !desc {
		return ivs
	}
	out := make([]interval, len(ivs))
	for i, iv := range ivs {
		out[len(ivs)-1-i] = iv
	}
	return out
}

// entryInBounds checks the fields listed in b.check against the stored
// key values of an entry.
func (b *indexBounds) entryInBounds(fields [][]byte) bool {
	for _, k := range b.check {
		v := fields[k]
		if b.desc[k] {
			v = invert(v)
		}
		ok := false
		for _, iv := range b.ivs[k] {
			if iv.contains(v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// display returns the indexBounds document of explain.
func (b *indexBounds) display(reverse bool) bson.D {
	out := bson.D{}
	if b.minMax {
		return bson.D{{Key: "min", Value: b.minD}, {Key: "max", Value: b.maxD}}
	}
	for i, f := range b.fields {
		flip := b.desc[i] != reverse
		ivs := b.ivs[i]
		list := bson.A{}
		for k := range ivs {
			iv := ivs[k]
			if flip {
				iv = ivs[len(ivs)-1-k]
				list = append(list, bracket(iv.hiInc, true)+iv.hiS+", "+iv.loS+bracket(iv.loInc, false))
			} else {
				list = append(list, bracket(iv.loInc, true)+iv.loS+", "+iv.hiS+bracket(iv.hiInc, false))
			}
		}
		out = append(out, bson.E{Key: f, Value: list})
	}
	return out
}

func bracket(inc, open bool) string {
	switch {
	case inc && open:
		return "["
	case inc:
		return "]"
	case open:
		return "("
	}
	return ")"
}

// fmtBound formats a bound value as MongoDB's explain does.
func fmtBound(v any) string {
	switch x := v.(type) {
	case nil, bson.Null:
		return "null"
	case bson.MinKey:
		return "MinKey"
	case bson.MaxKey:
		return "MaxKey"
	case float64:
		switch {
		case math.IsInf(x, 1):
			return "inf.0"
		case math.IsInf(x, -1):
			return "-inf.0"
		case math.IsNaN(x):
			return "nan.0"
		}
	case string:
		return `"` + x + `"`
	}
	return bsonutil.Format(v)
}
