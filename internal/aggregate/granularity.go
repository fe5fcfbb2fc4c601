package aggregate

import (
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A rounder rounds $bucketAuto boundaries to a preferred number series
// (the 'granularity' option). roundUp returns the smallest number of the
// series strictly greater than v, roundDown the largest strictly smaller
// one; both return 0 unchanged. v must be a non-negative number.
type rounder interface {
	roundUp(v any) (any, error)
	roundDown(v any) (any, error)
}

// The preferred number series of MongoDB's $bucketAuto, as MongoDB
// tabulates them: each covers one decade and is scaled by powers of ten.
// (MongoDB's R40 lacks 335 and its R80 lists only every other R80 number;
// the tables here are MongoDB's, so that boundaries match.)
var preferredSeries = map[string][]float64{
	"R5":    {10, 16, 25, 40, 63},
	"R10":   {100, 125, 160, 200, 250, 315, 400, 500, 630, 800},
	"R20":   {100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800, 900},
	"R40":   {100, 106, 112, 118, 125, 132, 140, 150, 160, 170, 180, 190, 200, 212, 224, 236, 250, 265, 280, 300, 315, 355, 375, 400, 425, 450, 475, 500, 530, 560, 600, 630, 670, 710, 750, 800, 850, 900, 950},
	"R80":   {103, 109, 115, 122, 128, 136, 145, 155, 165, 175, 185, 195, 206, 218, 230, 243, 258, 272, 290, 307, 325, 345, 365, 387, 412, 437, 462, 487, 515, 545, 575, 615, 650, 690, 730, 775, 825, 875, 925, 975},
	"1-2-5": {10, 20, 50},
	"E6":    {10, 15, 22, 33, 47, 68},
	"E12":   {10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82},
	"E24":   {10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91},
	"E48": {100, 105, 110, 115, 121, 127, 133, 140, 147, 154, 162, 169, 178, 187, 196, 205, 215, 226, 237, 249, 261, 274, 287, 301,
		316, 332, 348, 365, 383, 402, 422, 442, 464, 487, 511, 536, 562, 590, 619, 649, 681, 715, 750, 787, 825, 866, 909, 953},
	"E96": {100, 102, 105, 107, 110, 113, 115, 118, 121, 124, 127, 130, 133, 137, 140, 143, 147, 150, 154, 158, 162, 165, 169, 174,
		178, 182, 187, 191, 196, 200, 205, 210, 215, 221, 226, 232, 237, 243, 249, 255, 261, 267, 274, 280, 287, 294, 301, 309,
		316, 324, 332, 340, 348, 357, 365, 374, 383, 392, 402, 412, 422, 432, 442, 453, 464, 475, 487, 499, 511, 523, 536, 549,
		562, 576, 590, 604, 619, 634, 649, 665, 681, 698, 715, 732, 750, 768, 787, 806, 825, 845, 866, 887, 909, 931, 953, 976},
	"E192": {100, 101, 102, 104, 105, 106, 107, 109, 110, 111, 113, 114, 115, 117, 118, 120, 121, 123, 124, 126, 127, 129, 130, 132,
		133, 135, 137, 138, 140, 142, 143, 145, 147, 149, 150, 152, 154, 156, 158, 160, 162, 164, 165, 167, 169, 172, 174, 176,
		178, 180, 182, 184, 187, 189, 191, 193, 196, 198, 200, 203, 205, 208, 210, 213, 215, 218, 221, 223, 226, 229, 232, 234,
		237, 240, 243, 246, 249, 252, 255, 258, 261, 264, 267, 271, 274, 277, 280, 284, 287, 291, 294, 298, 301, 305, 309, 312,
		316, 320, 324, 328, 332, 336, 340, 344, 348, 352, 357, 361, 365, 370, 374, 379, 383, 388, 392, 397, 402, 407, 412, 417,
		422, 427, 432, 437, 442, 448, 453, 459, 464, 470, 475, 481, 487, 493, 499, 505, 511, 517, 523, 530, 536, 542, 549, 556,
		562, 569, 576, 583, 590, 597, 604, 612, 619, 626, 634, 642, 649, 657, 665, 673, 681, 690, 698, 706, 715, 723, 732, 741,
		750, 759, 768, 777, 787, 796, 806, 816, 825, 835, 845, 856, 866, 876, 887, 898, 909, 920, 931, 942, 953, 965, 976, 988},
}

// newRounder returns the rounder for a granularity name; unknown names
// fail with 40257 as in MongoDB.
func newRounder(name string) (rounder, error) {
	if name == "POWERSOF2" {
		return powersOf2{}, nil
	}
	s, ok := preferredSeries[name]
	if !ok {
		return nil, mongoerr.Newf(40257, "Unknown rounding granularity '%s'", name)
	}
	r := &seriesRounder{series: s, dec: make([]bson.Decimal128, len(s))}
	for i, x := range s {
		// MongoDB converts the series to Decimal128 from doubles, which
		// keeps 15 significant digits: 16 becomes 16.0000000000000.
		n := strconv.FormatInt(int64(x), 10)
		d, err := bson.ParseDecimal128(n + "." + strings.Repeat("0", 15-len(n)))
		if err != nil {
			return nil, err
		}
		r.dec[i] = d
	}
	return r, nil
}

// checkRoundable refuses what a rounder cannot round, with the codes of
// the rounder kind (preferred numbers: 40262, 40263, 40268; powers of
// two: 40265, 40266, 40267).
func checkRoundable(v any, typeCode, nanCode, negCode mongoerr.Code) (float64, error) {
	if !bsonutil.IsNumber(v) {
		return 0, mongoerr.Newf(typeCode, "A granularity rounder can only round numeric values, but found type: %s", bsonutil.TypeName(v))
	}
	f, _ := bsonutil.ToFloat64(v)
	if math.IsNaN(f) {
		return 0, mongoerr.New(nanCode, "A granularity rounder cannot round NaN")
	}
	if f < 0 {
		return 0, mongoerr.New(negCode, "A granularity rounder can only round non-negative numbers")
	}
	return f, nil
}

// seriesRounder rounds to a preferred number series scaled by powers of
// ten. Doubles and integers are rounded in double arithmetic and give a
// double; Decimal128 values are rounded in decimal arithmetic and give a
// Decimal128, as in MongoDB.
type seriesRounder struct {
	series []float64
	dec    []bson.Decimal128
}

func (r *seriesRounder) roundUp(v any) (any, error) {
	x, err := checkRoundable(v, 40262, 40263, 40268)
	if err != nil {
		return nil, err
	}
	if x == 0 || math.IsInf(x, 1) {
		return v, nil
	}
	if d, ok := v.(bson.Decimal128); ok {
		return r.decRoundUp(d)
	}
	s := r.series
	lo, hi := s[0], s[len(s)-1]
	m := 1.0
	for x >= hi*m {
		m *= 10
	}
	for x < lo*m {
		prevMin := lo * m
		m /= 10
		if x >= hi*m {
			// Between one decade's top and the next one's bottom.
			return prevMin, nil
		}
	}
	for _, e := range s {
		if x < e*m {
			return e * m, nil
		}
	}
	return hi * m, nil // not reached: x < hi*m
}

func (r *seriesRounder) roundDown(v any) (any, error) {
	x, err := checkRoundable(v, 40262, 40263, 40268)
	if err != nil {
		return nil, err
	}
	if x == 0 || math.IsInf(x, 1) {
		return v, nil
	}
	if d, ok := v.(bson.Decimal128); ok {
		return r.decRoundDown(d)
	}
	s := r.series
	lo, hi := s[0], s[len(s)-1]
	m := 1.0
	for x <= lo*m {
		m /= 10
	}
	for x > hi*m {
		prevMax := hi * m
		m *= 10
		if x <= lo*m {
			return prevMax, nil
		}
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]*m < x {
			return s[i] * m, nil
		}
	}
	return lo * m, nil // not reached: x > lo*m
}

// decimal arithmetic helpers: the operands are Decimal128 values, so the
// results are too.
func decMul(a, b any) bson.Decimal128 {
	v, _ := expr.Multiply(a, b)
	d, _ := v.(bson.Decimal128)
	return d
}

func decDiv(a, b any) bson.Decimal128 {
	v, _ := expr.Divide(a, b)
	d, _ := v.(bson.Decimal128)
	return d
}

var (
	decOne = bson.NewDecimal128(0x3040000000000000, 1)
	decTen = bson.NewDecimal128(0x3040000000000000, 10)
)

func (r *seriesRounder) decRoundUp(x bson.Decimal128) (any, error) {
	cmp := bsonutil.Compare
	lo, hi := r.dec[0], r.dec[len(r.dec)-1]
	m := decOne
	for cmp(x, decMul(hi, m)) >= 0 {
		m = decMul(m, decTen)
	}
	for cmp(x, decMul(lo, m)) < 0 {
		prevMin := decMul(lo, m)
		m = decDiv(m, decTen)
		if cmp(x, decMul(hi, m)) >= 0 {
			return prevMin, nil
		}
	}
	for _, e := range r.dec {
		if p := decMul(e, m); cmp(x, p) < 0 {
			return p, nil
		}
	}
	return decMul(hi, m), nil
}

func (r *seriesRounder) decRoundDown(x bson.Decimal128) (any, error) {
	cmp := bsonutil.Compare
	lo, hi := r.dec[0], r.dec[len(r.dec)-1]
	m := decOne
	for cmp(x, decMul(lo, m)) <= 0 {
		m = decDiv(m, decTen)
	}
	for cmp(x, decMul(hi, m)) > 0 {
		prevMax := decMul(hi, m)
		m = decMul(m, decTen)
		if cmp(x, decMul(lo, m)) <= 0 {
			return prevMax, nil
		}
	}
	for i := len(r.dec) - 1; i >= 0; i-- {
		if p := decMul(r.dec[i], m); cmp(p, x) < 0 {
			return p, nil
		}
	}
	return decMul(lo, m), nil
}

// powersOf2 rounds to powers of two. Like MongoDB it computes the
// exponent from the value's type and evaluates {$pow: [2, exponent]}, so
// integers give integers (doubles past 2^62), doubles give integers for
// exponents >= 0 and doubles below, and Decimal128 gives Decimal128.
type powersOf2 struct{}

func (powersOf2) roundUp(v any) (any, error) {
	x, err := checkRoundable(v, 40265, 40266, 40267)
	if err != nil {
		return nil, err
	}
	if x == 0 || math.IsInf(x, 1) {
		return v, nil
	}
	switch v.(type) {
	case float64:
		return pow2(int32(math.Floor(math.Log2(x)) + 1))
	case bson.Decimal128:
		return pow2(decimalOf(int64(math.Floor(math.Log2(x)) + 1)))
	}
	n, _ := bsonutil.ToInt64(v)
	return pow2(int32(bits.Len64(uint64(n))))
}

func (powersOf2) roundDown(v any) (any, error) {
	x, err := checkRoundable(v, 40265, 40266, 40267)
	if err != nil {
		return nil, err
	}
	if x == 0 || math.IsInf(x, 1) {
		return v, nil
	}
	switch v.(type) {
	case float64:
		return pow2(int32(math.Ceil(math.Log2(x)) - 1))
	case bson.Decimal128:
		return pow2(decimalOf(int64(math.Ceil(math.Log2(x)) - 1)))
	}
	n, _ := bsonutil.ToInt64(v)
	e := bits.Len64(uint64(n)) - 1 // the highest bit set
	if n&(n-1) == 0 {
		e-- // a power of two rounds down to the one below
	}
	return pow2(int32(e))
}

func decimalOf(n int64) bson.Decimal128 {
	d, _ := bson.ParseDecimal128(strconv.FormatInt(n, 10))
	return d
}

// pow2 evaluates {$pow: [2, e]}.
func pow2(e any) (any, error) {
	p, err := expr.Parse(bson.D{{Key: "$pow", Value: bson.A{int32(2), e}}})
	if err != nil {
		return nil, err
	}
	return p.Eval(expr.NewVars(nil, 0))
}
