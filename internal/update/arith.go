package update

import (
	"math"
	"math/big"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// arithOp is $inc's addition or $mul's multiplication.
type arithOp int

const (
	opAdd arithOp = iota
	opMul
)

// isNumeric reports whether v is one of the BSON numeric types.
func isNumeric(v any) bool {
	switch v.(type) {
	case int32, int64, float64, bson.Decimal128:
		return true
	}
	return false
}

// arith combines two numbers with MongoDB's type promotion: any decimal
// makes a decimal, else any double a double, else any long a long, and two
// ints an int unless the result overflows into a long. ok is false when a
// long result overflows (MongoDB then fails the update).
func arith(op arithOp, a, b any) (any, bool) {
	_, ad := a.(bson.Decimal128)
	_, bd := b.(bson.Decimal128)
	if ad || bd {
		return decArith(op, toDec(a), toDec(b)), true
	}
	_, af := a.(float64)
	_, bf := b.(float64)
	if af || bf {
		x, y := toF(a), toF(b)
		if op == opAdd {
			return x + y, true
		}
		return x * y, true
	}
	x, y := toI(a), toI(b)
	_, al := a.(int64)
	_, bl := b.(int64)
	if !al && !bl {
		var r int64
		if op == opAdd {
			r = x + y
		} else {
			r = x * y
		}
		if r >= math.MinInt32 && r <= math.MaxInt32 {
			return int32(r), true
		}
		return r, true
	}
	if op == opAdd {
		r := x + y
		if (x >= 0) == (y >= 0) && (r >= 0) != (x >= 0) {
			return nil, false
		}
		return r, true
	}
	if x == 0 || y == 0 {
		return int64(0), true
	}
	r := x * y
	if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
		return nil, false
	}
	return r, true
}

func toF(v any) float64 {
	switch x := v.(type) {
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func toI(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	}
	return 0
}

// dec is a decimal128 value unpacked for arithmetic: coef * 10^exp, or a
// special value.
type dec struct {
	nan  bool
	inf  int // +1, -1 or 0
	neg  bool
	coef *big.Int // absolute value
	exp  int
}

const decDigits = 34

func toDec(v any) dec {
	switch x := v.(type) {
	case bson.Decimal128:
		if x.IsNaN() {
			return dec{nan: true}
		}
		if s := x.IsInf(); s != 0 {
			return dec{inf: s}
		}
		bi, exp, err := x.BigInt()
		if err != nil {
			return dec{nan: true}
		}
		h, _ := x.GetBytes()
		neg := h>>63 == 1
		return dec{neg: neg, coef: bi.Abs(bi), exp: exp}
	case int32:
		return intDec(int64(x))
	case int64:
		return intDec(x)
	case float64:
		// MongoDB converts doubles to decimals with 15 significant digits.
		switch {
		case math.IsNaN(x):
			return dec{nan: true}
		case math.IsInf(x, 1):
			return dec{inf: 1}
		case math.IsInf(x, -1):
			return dec{inf: -1}
		}
		d, err := bson.ParseDecimal128(strconv.FormatFloat(x, 'e', 14, 64))
		if err != nil {
			return dec{nan: true}
		}
		return toDec(d)
	}
	return dec{nan: true}
}

func intDec(i int64) dec {
	b := big.NewInt(i)
	return dec{neg: i < 0, coef: b.Abs(b)}
}

func (d dec) signed() *big.Int {
	r := new(big.Int).Set(d.coef)
	if d.neg {
		r.Neg(r)
	}
	return r
}

var bigTen = big.NewInt(10)

func decArith(op arithOp, a, b dec) bson.Decimal128 {
	switch {
	case a.nan || b.nan:
		return decNaN()
	case op == opAdd && (a.inf != 0 || b.inf != 0):
		if a.inf != 0 && b.inf != 0 && a.inf != b.inf {
			return decNaN()
		}
		if a.inf != 0 {
			return decInf(a.inf)
		}
		return decInf(b.inf)
	case op == opMul && (a.inf != 0 || b.inf != 0):
		sa, sb := decSign(a), decSign(b)
		if sa == 0 || sb == 0 {
			return decNaN()
		}
		return decInf(sa * sb)
	}
	var coef *big.Int
	var exp int
	if op == opAdd {
		x, y := a.signed(), b.signed()
		exp = min(a.exp, b.exp)
		x.Mul(x, new(big.Int).Exp(bigTen, big.NewInt(int64(a.exp-exp)), nil))
		y.Mul(y, new(big.Int).Exp(bigTen, big.NewInt(int64(b.exp-exp)), nil))
		coef = x.Add(x, y)
	} else {
		coef = new(big.Int).Mul(a.signed(), b.signed())
		exp = a.exp + b.exp
	}
	return makeDec(coef, exp)
}

func decSign(d dec) int {
	if d.inf != 0 {
		return d.inf
	}
	if d.coef.Sign() == 0 {
		return 0
	}
	if d.neg {
		return -1
	}
	return 1
}

// makeDec rounds coef*10^exp to 34 significant digits (half to even) and
// packs it.
func makeDec(coef *big.Int, exp int) bson.Decimal128 {
	neg := coef.Sign() < 0
	abs := new(big.Int).Abs(coef)
	limit := new(big.Int).Exp(bigTen, big.NewInt(decDigits), nil)
	q, r := new(big.Int), new(big.Int)
	for abs.Cmp(limit) >= 0 {
		// Drop one digit, rounding half to even.
		q.QuoRem(abs, bigTen, r)
		rv := r.Int64()
		if rv > 5 || (rv == 5 && q.Bit(0) == 1) {
			q.Add(q, big.NewInt(1))
		}
		abs.Set(q)
		exp++
	}
	if neg {
		abs.Neg(abs)
	}
	d, ok := bson.ParseDecimal128FromBigInt(abs, exp)
	if !ok {
		if exp > 0 {
			if neg {
				return decInf(-1)
			}
			return decInf(1)
		}
		z, _ := bson.ParseDecimal128("0")
		return z
	}
	return d
}

func decNaN() bson.Decimal128 {
	d, _ := bson.ParseDecimal128("NaN")
	return d
}

func decInf(sign int) bson.Decimal128 {
	s := "Infinity"
	if sign < 0 {
		s = "-Infinity"
	}
	d, _ := bson.ParseDecimal128(s)
	return d
}
