package index

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Type tags, in MongoDB's canonical type order. 0x00 is reserved as the
// end-of-document/array marker and must stay below every tag.
const (
	tagMinKey    byte = 0x01
	tagNull      byte = 0x05 // null, undefined, missing
	tagNaN       byte = 0x10
	tagNegInf    byte = 0x11
	tagNegHuge   byte = 0x12 // finite, < -MaxFloat64 (Decimal128 only)
	tagNumber    byte = 0x13 // finite, within double range
	tagPosHuge   byte = 0x14 // finite, > MaxFloat64 (Decimal128 only)
	tagPosInf    byte = 0x15
	tagString    byte = 0x20 // string, symbol
	tagObject    byte = 0x28
	tagArray     byte = 0x30
	tagBinary    byte = 0x38
	tagObjectID  byte = 0x40
	tagFalse     byte = 0x48
	tagTrue      byte = 0x49
	tagDate      byte = 0x50
	tagTimestamp byte = 0x58
	tagRegex     byte = 0x60
	tagDBPointer byte = 0x68
	tagCode      byte = 0x70
	tagCodeScope byte = 0x78
	tagMaxKey    byte = 0xf0

	endMarker byte = 0x00
)

// AppendValue appends the encoding of v to dst. If desc, the bytes are
// inverted so the order is reversed. See the package documentation for
// the format.
func AppendValue(dst []byte, v any, desc bool) []byte {
	start := len(dst)
	dst = appendValue(dst, v)
	if desc {
		invert(dst[start:])
	}
	return dst
}

// AppendKey appends a compound key for values with per-field directions:
// desc[i] reverses values[i]. A missing or short desc means ascending.
func AppendKey(dst []byte, values []any, desc []bool) []byte {
	for i, v := range values {
		dst = AppendValue(dst, v, i < len(desc) && desc[i])
	}
	return dst
}

func invert(b []byte) {
	for i := range b {
		b[i] = ^b[i]
	}
}

func appendValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case bson.MinKey:
		return append(dst, tagMinKey)
	case bson.MaxKey:
		return append(dst, tagMaxKey)
	case int32:
		return appendFloat(append(dst, tagNumber), float64(x))
	case int:
		return appendInt64(dst, int64(x))
	case int64:
		return appendInt64(dst, x)
	case float64:
		return appendDouble(dst, x)
	case bson.Decimal128:
		return appendDecimal(dst, x)
	case string:
		return appendString(append(dst, tagString), x)
	case bson.Symbol:
		return appendString(append(dst, tagString), string(x))
	case bson.D:
		return appendDoc(dst, x)
	case bson.M, bson.Raw:
		return appendDoc(dst, bsonutil.ToD(x))
	case bson.A:
		return appendArray(dst, x)
	case []any:
		return appendArray(dst, x)
	case bson.Binary:
		dst = append(dst, tagBinary)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(x.Data)))
		dst = append(dst, x.Subtype)
		return append(dst, x.Data...)
	case bson.ObjectID:
		return append(append(dst, tagObjectID), x[:]...)
	case bool:
		if x {
			return append(dst, tagTrue)
		}
		return append(dst, tagFalse)
	case bson.DateTime:
		return binary.BigEndian.AppendUint64(append(dst, tagDate), uint64(x)^(1<<63))
	case bson.Timestamp:
		dst = binary.BigEndian.AppendUint32(append(dst, tagTimestamp), x.T)
		return binary.BigEndian.AppendUint32(dst, x.I)
	case bson.Regex:
		dst = appendString(append(dst, tagRegex), x.Pattern)
		return appendString(dst, x.Options)
	case bson.DBPointer:
		dst = binary.BigEndian.AppendUint32(append(dst, tagDBPointer), uint32(len(x.DB)))
		dst = append(dst, x.DB...)
		return append(dst, x.Pointer[:]...)
	case bson.JavaScript:
		return appendString(append(dst, tagCode), string(x))
	case bson.CodeWithScope:
		dst = appendString(append(dst, tagCodeScope), string(x.Code))
		return appendValue(dst, x.Scope)
	}
	// nil, bson.Null, bson.Undefined, bsonutil.Missing and anything
	// unknown (which bsonutil.Rank also treats as null).
	return append(dst, tagNull)
}

// appendString appends s with 0x00 escaped as 0x00 0xFF and the
// terminator 0x00 0x01.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xff)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, 0, 1)
}

func appendDoc(dst []byte, d bson.D) []byte {
	dst = append(dst, tagObject)
	for _, e := range d {
		dst = append(dst, byte(bsonutil.Rank(e.Value)))
		dst = appendString(dst, e.Key)
		dst = appendValue(dst, e.Value)
	}
	return append(dst, endMarker)
}

func appendArray(dst []byte, a []any) []byte {
	dst = append(dst, tagArray)
	for _, e := range a {
		dst = appendValue(dst, e)
	}
	return append(dst, endMarker)
}

// ---- numbers ----

// appendFloat appends the 8-byte ordered form of the finite double f and a
// zero remainder. The caller has written tagNumber.
func appendFloat(dst []byte, f float64) []byte {
	return append(appendOrderedFloat(dst, f), 0)
}

func appendOrderedFloat(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0 // -0 -> +0
	}
	bits := math.Float64bits(f)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

func appendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, tagNaN)
	case math.IsInf(f, 1):
		return append(dst, tagPosInf)
	case math.IsInf(f, -1):
		return append(dst, tagNegInf)
	}
	return appendFloat(append(dst, tagNumber), f)
}

const maxExact = 1 << 53

func appendInt64(dst []byte, i int64) []byte {
	if -maxExact <= i && i <= maxExact {
		return appendFloat(append(dst, tagNumber), float64(i))
	}
	return appendRat(dst, new(big.Rat).SetInt64(i))
}

func appendDecimal(dst []byte, d bson.Decimal128) []byte {
	if d.IsNaN() {
		return append(dst, tagNaN)
	}
	switch d.IsInf() {
	case 1:
		return append(dst, tagPosInf)
	case -1:
		return append(dst, tagNegInf)
	}
	coef, exp, err := d.BigInt()
	if err != nil {
		return append(dst, tagNaN) // unreachable for finite values
	}
	if coef.Sign() == 0 {
		return appendFloat(append(dst, tagNumber), 0)
	}
	// Fast path: small integers.
	if exp == 0 && coef.IsInt64() {
		return appendInt64(dst, coef.Int64())
	}
	r := new(big.Rat)
	switch {
	case exp > 0:
		r.SetInt(coef.Mul(coef, pow10(exp)))
	case exp < 0:
		r.SetFrac(coef, pow10(-exp))
	default:
		r.SetInt(coef)
	}
	return appendRat(dst, r)
}

var (
	maxFloatRat = new(big.Rat).SetFloat64(math.MaxFloat64)
	minFloatRat = new(big.Rat).SetFloat64(-math.MaxFloat64)
	bigTen      = big.NewInt(10)
	bigFive     = big.NewInt(5)
)

func pow10(n int) *big.Int { return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil) }

// appendRat appends the exact encoding of the finite rational x, whose
// denominator must be of the form 2^a * 5^b (true for every BSON number).
func appendRat(dst []byte, x *big.Rat) []byte {
	switch {
	case x.Cmp(maxFloatRat) > 0:
		return appendPosDecimal(append(dst, tagPosHuge), x)
	case x.Cmp(minFloatRat) < 0:
		dst = append(dst, tagNegHuge)
		start := len(dst)
		dst = appendPosDecimal(dst, new(big.Rat).Neg(x))
		invert(dst[start:])
		return dst
	}
	f, _ := x.Float64()
	fr := new(big.Rat).SetFloat64(f)
	if fr.Cmp(x) > 0 {
		f = math.Nextafter(f, math.Inf(-1))
		fr.SetFloat64(f)
	}
	dst = appendOrderedFloat(append(dst, tagNumber), f)
	rem := fr.Sub(x, fr)
	if rem.Sign() == 0 {
		return append(dst, 0)
	}
	return appendPosDecimal(append(dst, 1), rem)
}

// appendPosDecimal appends the positive rational x (denominator 2^a*5^b)
// as exponent and decimal digits; see the package documentation.
func appendPosDecimal(dst []byte, x *big.Rat) []byte {
	// Scale x to an integer: x = n / 10^k.
	den := new(big.Int).Set(x.Denom())
	twos := int(den.TrailingZeroBits())
	den.Rsh(den, uint(twos))
	fives := 0
	if den.BitLen() > 1 {
		// den is 5^b: estimate b from its size and check neighbours.
		est := int(float64(den.BitLen()-1) / math.Log2(5))
		for b := max(est-1, 1); b <= est+2; b++ {
			if new(big.Int).Exp(bigFive, big.NewInt(int64(b)), nil).Cmp(den) == 0 {
				fives = b
				break
			}
		}
	}
	k := max(twos, fives)
	n := new(big.Int).Mul(x.Num(), pow10(k))
	n.Quo(n, x.Denom())
	digits := n.String()
	exp := len(digits) - k // x = 0.digits * 10^exp
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(clampExp(exp)+32768))
	for i := 0; i < len(digits); i += 2 {
		hi := digits[i] - '0'
		lo := byte(0)
		if i+1 < len(digits) {
			lo = digits[i+1] - '0'
		}
		dst = append(dst, hi*10+lo+1)
	}
	return append(dst, 0)
}

func clampExp(e int) int {
	// BSON numbers stay within about +-6200; clamp defensively.
	return min(max(e, -32768), 32767)
}
