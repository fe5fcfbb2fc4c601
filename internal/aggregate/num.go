package aggregate

import (
	"math"
	"math/big"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Numeric helpers for the $sum/$avg family. They follow MongoDB's type
// widening: int32 sums stay int32 while they fit, then become int64;
// int64 overflow turns the sum into a double; any double makes the result
// a double; any Decimal128 makes it a Decimal128.

type sumKind int

const (
	sumInt32 sumKind = iota
	sumInt64
	sumDouble
	sumDecimal
)

// numSum accumulates numbers exactly where MongoDB does.
type numSum struct {
	kind sumKind
	n    int64 // count of numeric inputs

	i        int64   // integer part while no overflow happened
	f, fcomp float64 // double part, Kahan-compensated

	// Decimal part: coefficient * 10^exp, exact; special values apart.
	dcoef   *big.Int
	dexp    int
	dNaN    bool
	dPosInf bool
	dNegInf bool
}

// add adds v if it is a number; it reports whether it was one.
func (s *numSum) add(v any) bool {
	switch x := v.(type) {
	case int32:
		s.addInt(int64(x), false)
	case int64:
		s.addInt(x, true)
	case int:
		s.addInt(int64(x), true)
	case float64:
		if s.kind < sumDouble {
			s.kind = sumDouble
		}
		s.addFloat(x)
	case bson.Decimal128:
		s.kind = sumDecimal
		s.addDecimal(x)
	default:
		return false
	}
	s.n++
	return true
}

func (s *numSum) addInt(x int64, long bool) {
	if long && s.kind < sumInt64 {
		s.kind = sumInt64
	}
	r := s.i + x
	if (x > 0 && r < s.i) || (x < 0 && r > s.i) {
		// Overflow: move the integer part into the double part.
		s.addFloat(float64(s.i))
		s.addFloat(float64(x))
		s.i = 0
		if s.kind < sumDouble {
			s.kind = sumDouble
		}
		return
	}
	s.i = r
	if s.kind == sumInt32 && (r > math.MaxInt32 || r < math.MinInt32) {
		s.kind = sumInt64
	}
}

func (s *numSum) addFloat(x float64) {
	if math.IsInf(x, 0) || math.IsNaN(x) || math.IsInf(s.f, 0) || math.IsNaN(s.f) {
		s.f += x
		return
	}
	y := x - s.fcomp
	t := s.f + y
	s.fcomp = (t - s.f) - y
	s.f = t
}

func (s *numSum) addDecimal(d bson.Decimal128) {
	if d.IsNaN() {
		s.dNaN = true
		return
	}
	switch d.IsInf() {
	case 1:
		s.dPosInf = true
		return
	case -1:
		s.dNegInf = true
		return
	}
	coef, exp, err := d.BigInt()
	if err != nil {
		s.dNaN = true
		return
	}
	s.addCoef(coef, exp)
}

func (s *numSum) addCoef(coef *big.Int, exp int) {
	if s.dcoef == nil {
		s.dcoef, s.dexp = new(big.Int).Set(coef), exp
		return
	}
	switch {
	case exp < s.dexp:
		s.dcoef.Mul(s.dcoef, pow10(s.dexp-exp))
		s.dexp = exp
		s.dcoef.Add(s.dcoef, coef)
	case exp > s.dexp:
		s.dcoef.Add(s.dcoef, new(big.Int).Mul(coef, pow10(exp-s.dexp)))
	default:
		s.dcoef.Add(s.dcoef, coef)
	}
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// result returns the sum with MongoDB's result type.
func (s *numSum) result() any {
	switch s.kind {
	case sumInt32:
		return int32(s.i)
	case sumInt64:
		return s.i
	case sumDouble:
		return float64(s.i) + s.f
	}
	return s.decimal()
}

// decimal returns the sum as a Decimal128.
func (s *numSum) decimal() bson.Decimal128 {
	switch {
	case s.dNaN || (s.dPosInf && s.dNegInf) || math.IsNaN(s.f):
		d, _ := bson.ParseDecimal128("NaN")
		return d
	case s.dPosInf || math.IsInf(s.f, 1):
		d, _ := bson.ParseDecimal128("Infinity")
		return d
	case s.dNegInf || math.IsInf(s.f, -1):
		d, _ := bson.ParseDecimal128("-Infinity")
		return d
	}
	t := &numSum{}
	if s.dcoef != nil {
		t.addCoef(s.dcoef, s.dexp)
	}
	if s.i != 0 || t.dcoef == nil {
		t.addCoef(big.NewInt(s.i), 0)
	}
	if s.f != 0 {
		if c, e, ok := floatToDecimalParts(s.f); ok {
			t.addCoef(c, e)
		}
	}
	return decimalFromParts(t.dcoef, t.dexp)
}

// floatToDecimalParts converts f to a decimal coefficient and exponent
// with 15 significant digits, as MongoDB converts doubles to decimals.
func floatToDecimalParts(f float64) (*big.Int, int, bool) {
	d, err := bson.ParseDecimal128(strconv.FormatFloat(f, 'e', 14, 64))
	if err != nil {
		return nil, 0, false
	}
	c, e, err := d.BigInt()
	if err != nil {
		return nil, 0, false
	}
	// Drop trailing zeros the fixed-precision formatting introduced.
	ten, r := big.NewInt(10), new(big.Int)
	for c.Sign() != 0 && e < 0 {
		q, rem := new(big.Int).QuoRem(c, ten, r)
		if rem.Sign() != 0 {
			break
		}
		c, e = q, e+1
	}
	return c, e, true
}

// decimalFromParts builds a Decimal128 from coef*10^exp, rounding the
// coefficient half-to-even to 34 digits when needed.
func decimalFromParts(coef *big.Int, exp int) bson.Decimal128 {
	c := new(big.Int).Set(coef)
	limit := pow10(34)
	abs := new(big.Int).Abs(c)
	ten := big.NewInt(10)
	for abs.Cmp(limit) >= 0 {
		q, r := new(big.Int).QuoRem(abs, ten, new(big.Int))
		// half-to-even on the dropped digit (approximate: ignores
		// digits dropped earlier, which were handled one at a time).
		if r.Int64() > 5 || (r.Int64() == 5 && q.Bit(0) == 1) {
			q.Add(q, big.NewInt(1))
		}
		abs, exp = q, exp+1
	}
	if c.Sign() < 0 {
		abs.Neg(abs)
	}
	d, ok := bson.ParseDecimal128FromBigInt(abs, exp)
	if !ok {
		if c.Sign() < 0 {
			d, _ = bson.ParseDecimal128("-Infinity")
		} else {
			d, _ = bson.ParseDecimal128("Infinity")
		}
	}
	return d
}

// avg returns the average of the numbers added (null if none).
func (s *numSum) avg() any {
	if s.n == 0 {
		return nil
	}
	if s.kind == sumDecimal {
		d := s.decimal()
		c, e, err := d.BigInt()
		if err != nil {
			return d
		}
		// Divide with 34 significant digits.
		num := new(big.Float).SetPrec(256).SetInt(c)
		if e > 0 {
			num.Mul(num, new(big.Float).SetInt(pow10(e)))
		} else if e < 0 {
			num.Quo(num, new(big.Float).SetInt(pow10(-e)))
		}
		num.Quo(num, new(big.Float).SetInt64(s.n))
		out, err := bson.ParseDecimal128(num.Text('e', 33))
		if err != nil {
			return d
		}
		return normalizeDecimal(out)
	}
	total := float64(s.i) + s.f
	return total / float64(s.n)
}

// normalizeDecimal strips trailing zeros from the coefficient of d
// (keeping the exponent at most 0 for integral values' zeros).
func normalizeDecimal(d bson.Decimal128) bson.Decimal128 {
	c, e, err := d.BigInt()
	if err != nil || c.Sign() == 0 {
		return d
	}
	ten, r := big.NewInt(10), new(big.Int)
	for e < 0 {
		q, rem := new(big.Int).QuoRem(c, ten, r)
		if rem.Sign() != 0 {
			break
		}
		c, e = q, e+1
	}
	out, ok := bson.ParseDecimal128FromBigInt(c, e)
	if !ok {
		return d
	}
	return out
}
