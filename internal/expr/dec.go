package expr

import (
	"math"
	"math/big"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// dec is an arbitrary-precision decimal used to implement Decimal128
// arithmetic: value = (-1)^neg * coef * 10^exp, or a special value.
type dec struct {
	kind int // decFinite, decNaN, decPosInf, decNegInf
	neg  bool
	coef *big.Int // non-negative
	exp  int
}

const (
	decFinite = iota
	decNaN
	decPosInf
	decNegInf
)

const decDigits = 34

var bigTen = big.NewInt(10)

func pow10(n int) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

func numDigits(x *big.Int) int {
	if x.Sign() == 0 {
		return 1
	}
	return len(x.Text(10)) - btoi(x.Sign() < 0)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func decFromInt(i int64) dec {
	c := big.NewInt(i)
	neg := c.Sign() < 0
	return dec{neg: neg, coef: c.Abs(c)}
}

// decFromFloat converts a double the way MongoDB does: rounded to 15
// significant digits.
func decFromFloat(f float64) dec {
	switch {
	case math.IsNaN(f):
		return dec{kind: decNaN}
	case math.IsInf(f, 1):
		return dec{kind: decPosInf}
	case math.IsInf(f, -1):
		return dec{kind: decNegInf}
	}
	if f == 0 {
		return dec{neg: math.Signbit(f), coef: new(big.Int)}
	}
	d, _ := decParse(strconv.FormatFloat(f, 'e', 14, 64))
	return d
}

// decFromFloatShort converts a double using its shortest representation
// (used for results of transcendental functions computed in float64).
func decFromFloatShort(f float64) dec {
	if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
		return decFromFloat(f)
	}
	d, _ := decParse(strconv.FormatFloat(f, 'e', -1, 64))
	return d
}

func decParse(s string) (dec, bool) {
	d128, err := bson.ParseDecimal128(s)
	if err != nil {
		return dec{}, false
	}
	return decFrom128(d128), true
}

func decFrom128(d bson.Decimal128) dec {
	if d.IsNaN() {
		return dec{kind: decNaN}
	}
	switch d.IsInf() {
	case 1:
		return dec{kind: decPosInf}
	case -1:
		return dec{kind: decNegInf}
	}
	bi, exp, err := d.BigInt()
	if err != nil {
		return dec{kind: decNaN}
	}
	h, _ := d.GetBytes()
	neg := bi.Sign() < 0 || h>>63 == 1
	return dec{neg: neg, coef: new(big.Int).Abs(bi), exp: exp}
}

// toDec converts any BSON number to dec.
func toDec(v any) dec {
	switch x := v.(type) {
	case int32:
		return decFromInt(int64(x))
	case int64:
		return decFromInt(x)
	case int:
		return decFromInt(int64(x))
	case float64:
		return decFromFloat(x)
	case bson.Decimal128:
		return decFrom128(x)
	}
	return dec{kind: decNaN}
}

func (d dec) signed() *big.Int {
	c := new(big.Int).Set(d.coef)
	if d.neg {
		c.Neg(c)
	}
	return c
}

func decFromSigned(c *big.Int, exp int) dec {
	neg := c.Sign() < 0
	return dec{neg: neg, coef: new(big.Int).Abs(c), exp: exp}
}

// round rounds d to at most 34 significant digits (half to even).
func (d dec) round() dec {
	if d.kind != decFinite {
		return d
	}
	n := numDigits(d.coef)
	if n <= decDigits {
		return d
	}
	drop := n - decDigits
	c := roundHalfEven(d.coef, drop)
	exp := d.exp + drop
	if numDigits(c) > decDigits {
		c.Quo(c, bigTen)
		exp++
	}
	return dec{neg: d.neg, coef: c, exp: exp}
}

// roundHalfEven divides non-negative c by 10^drop, rounding half to even.
func roundHalfEven(c *big.Int, drop int) *big.Int {
	div := pow10(drop)
	q, r := new(big.Int).QuoRem(c, div, new(big.Int))
	twice := new(big.Int).Lsh(r, 1)
	switch twice.Cmp(div) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func (d dec) to128() bson.Decimal128 {
	switch d.kind {
	case decNaN:
		return bson.NewDecimal128(0x7c00000000000000, 0)
	case decPosInf:
		return bson.NewDecimal128(0x7800000000000000, 0)
	case decNegInf:
		return bson.NewDecimal128(0xf800000000000000, 0)
	}
	d = d.round()
	// Clamp the exponent into Decimal128's range.
	for d.exp > 6111 && d.coef.Sign() != 0 && numDigits(d.coef) < decDigits {
		d.coef = new(big.Int).Mul(d.coef, bigTen)
		d.exp--
	}
	if d.exp > 6111 {
		if d.coef.Sign() == 0 {
			d.exp = 6111
		} else if d.neg {
			return dec{kind: decNegInf}.to128()
		} else {
			return dec{kind: decPosInf}.to128()
		}
	}
	if d.exp < -6176 {
		drop := -6176 - d.exp
		d.coef = roundHalfEven(d.coef, drop)
		d.exp = -6176
	}
	r, ok := bson.ParseDecimal128FromBigInt(d.signed(), d.exp)
	if !ok {
		return bson.NewDecimal128(0x7c00000000000000, 0)
	}
	if d.neg && d.coef.Sign() == 0 {
		h, l := r.GetBytes()
		r = bson.NewDecimal128(h|1<<63, l)
	}
	return r
}

func (d dec) isZero() bool { return d.kind == decFinite && d.coef.Sign() == 0 }

func (d dec) float() float64 {
	switch d.kind {
	case decNaN:
		return math.NaN()
	case decPosInf:
		return math.Inf(1)
	case decNegInf:
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(d.to128().String(), 64)
	return f
}

func infOf(neg bool) dec {
	if neg {
		return dec{kind: decNegInf}
	}
	return dec{kind: decPosInf}
}

func (d dec) isNeg() bool {
	return d.kind == decNegInf || (d.kind == decFinite && d.neg)
}

func decAdd(a, b dec) dec {
	if a.kind == decNaN || b.kind == decNaN {
		return dec{kind: decNaN}
	}
	if a.kind != decFinite || b.kind != decFinite {
		if a.kind != decFinite && b.kind != decFinite && a.kind != b.kind {
			return dec{kind: decNaN}
		}
		if a.kind != decFinite {
			return a
		}
		return b
	}
	exp := min(a.exp, b.exp)
	x := new(big.Int).Mul(a.signed(), pow10(a.exp-exp))
	y := new(big.Int).Mul(b.signed(), pow10(b.exp-exp))
	r := decFromSigned(x.Add(x, y), exp)
	if r.coef.Sign() == 0 {
		r.neg = a.neg && b.neg
	}
	return r.round()
}

func decNeg(a dec) dec {
	switch a.kind {
	case decPosInf:
		return dec{kind: decNegInf}
	case decNegInf:
		return dec{kind: decPosInf}
	case decNaN:
		return a
	}
	return dec{neg: !a.neg, coef: a.coef, exp: a.exp}
}

func decSub(a, b dec) dec { return decAdd(a, decNeg(b)) }

func decMul(a, b dec) dec {
	if a.kind == decNaN || b.kind == decNaN {
		return dec{kind: decNaN}
	}
	neg := a.isNeg() != b.isNeg()
	if a.kind != decFinite || b.kind != decFinite {
		if a.isZero() || b.isZero() {
			return dec{kind: decNaN}
		}
		return infOf(neg)
	}
	return dec{neg: neg, coef: new(big.Int).Mul(a.coef, b.coef), exp: a.exp + b.exp}.round()
}

// decDiv divides a by b; b must not be zero.
func decDiv(a, b dec) dec {
	if a.kind == decNaN || b.kind == decNaN {
		return dec{kind: decNaN}
	}
	neg := a.isNeg() != b.isNeg()
	if a.kind != decFinite {
		if b.kind != decFinite {
			return dec{kind: decNaN}
		}
		return infOf(neg)
	}
	if b.kind != decFinite {
		return dec{neg: neg, coef: new(big.Int), exp: 0}
	}
	preferred := a.exp - b.exp
	if a.coef.Sign() == 0 {
		return dec{neg: neg, coef: new(big.Int), exp: preferred}
	}
	shift := decDigits + 3 + numDigits(b.coef) - numDigits(a.coef)
	if shift < 0 {
		shift = 0
	}
	num := new(big.Int).Mul(a.coef, pow10(shift))
	q, r := new(big.Int).QuoRem(num, b.coef, new(big.Int))
	exp := preferred - shift
	if r.Sign() != 0 {
		// Inexact: add a sticky digit so that rounding sees "more than half".
		q.Mul(q, bigTen)
		q.Add(q, big.NewInt(1))
		exp--
		return dec{neg: neg, coef: q, exp: exp}.round()
	}
	// Exact: remove trailing zeros down to the preferred exponent.
	for exp < preferred {
		qq, rr := new(big.Int).QuoRem(q, bigTen, new(big.Int))
		if rr.Sign() != 0 {
			break
		}
		q = qq
		exp++
	}
	return dec{neg: neg, coef: q, exp: exp}.round()
}

// decQuantize rounds d to 'places' digits after the decimal point using
// mode: 'e' half to even, 't' truncate, 'c' ceiling, 'f' floor.
func decQuantize(d dec, places int, mode byte) dec {
	if d.kind != decFinite {
		return d
	}
	target := -places
	if d.exp >= target {
		return d
	}
	drop := target - d.exp
	var q *big.Int
	switch mode {
	case 'e':
		q = roundHalfEven(d.coef, drop)
	default:
		div := pow10(drop)
		var r big.Int
		q, _ = new(big.Int).QuoRem(d.coef, div, &r)
		if r.Sign() != 0 && ((mode == 'c' && !d.neg) || (mode == 'f' && d.neg)) {
			q.Add(q, big.NewInt(1))
		}
	}
	exp := target
	if places < 0 {
		// Keep the integer form (e.g. 1.2E+3 rather than coefficient
		// scaling) like MongoDB does.
		q.Mul(q, pow10(-places))
		exp = 0
	}
	return dec{neg: d.neg, coef: q, exp: exp}
}
