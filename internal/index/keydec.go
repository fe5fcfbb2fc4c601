package index

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ErrCorruptKey is returned when bytes are not a valid key encoding.
var ErrCorruptKey = errors.New("index: corrupt key encoding")

// keyReader reads an encoding, undoing the inversion of descending fields
// on the fly (mask is 0xff for a descending field, else 0).
type keyReader struct {
	b    []byte
	pos  int
	mask byte
	// exact is cleared when a decoded value cannot be told apart from
	// another value of a different BSON type (numbers, null).
	exact bool
}

func (r *keyReader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, ErrCorruptKey
	}
	c := r.b[r.pos] ^ r.mask
	r.pos++
	return c, nil
}

func (r *keyReader) peek() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, ErrCorruptKey
	}
	return r.b[r.pos] ^ r.mask, nil
}

func (r *keyReader) bytes(n int) ([]byte, error) {
	if n < 0 || r.pos+n > len(r.b) {
		return nil, ErrCorruptKey
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = r.b[r.pos+i] ^ r.mask
	}
	r.pos += n
	return out, nil
}

// ValueLen returns the length in bytes of the single value encoding at the
// start of b (desc: the value was appended inverted).
func ValueLen(b []byte, desc bool) (int, error) {
	r := keyReader{b: b, exact: true}
	if desc {
		r.mask = 0xff
	}
	if _, err := r.value(); err != nil {
		return 0, err
	}
	return r.pos, nil
}

// SplitKey splits a compound key of n values into the encodings of the
// values and the remaining suffix (for example an encoded _id).
func SplitKey(b []byte, desc []bool) (fields [][]byte, rest []byte, err error) {
	fields = make([][]byte, len(desc))
	for i, d := range desc {
		n, err := ValueLen(b, d)
		if err != nil {
			return nil, nil, err
		}
		fields[i], b = b[:n], b[n:]
	}
	return fields, b, nil
}

// DecodeValue decodes the value encoded at the start of b and returns it
// with the number of bytes read. Because the encoding is canonical, some
// information is gone: exact is false when the value may have had a
// different BSON type that encodes the same way (any number comes back as
// float64, int64 or Decimal128; null, undefined and missing come back as
// nil; symbols come back as strings — the last is reported as exact).
func DecodeValue(b []byte, desc bool) (v any, n int, exact bool, err error) {
	r := keyReader{b: b, exact: true}
	if desc {
		r.mask = 0xff
	}
	v, err = r.value()
	if err != nil {
		return nil, 0, false, err
	}
	return v, r.pos, r.exact, nil
}

func (r *keyReader) value() (any, error) {
	tag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagMinKey:
		return bson.MinKey{}, nil
	case tagMaxKey:
		return bson.MaxKey{}, nil
	case tagNull:
		r.exact = false
		return nil, nil
	case tagNaN:
		r.exact = false
		return math.NaN(), nil
	case tagNegInf:
		r.exact = false
		return math.Inf(-1), nil
	case tagPosInf:
		r.exact = false
		return math.Inf(1), nil
	case tagNumber:
		r.exact = false
		return r.number()
	case tagPosHuge, tagNegHuge:
		r.exact = false
		neg := tag == tagNegHuge
		if neg {
			r.mask ^= 0xff
		}
		x, err := r.posDecimal()
		if neg {
			r.mask ^= 0xff
		}
		if err != nil {
			return nil, err
		}
		if neg {
			x.Neg(x)
		}
		return ratToDecimal(x)
	case tagString:
		return r.str()
	case tagObject:
		var d bson.D
		for {
			rank, err := r.byte()
			if err != nil {
				return nil, err
			}
			if rank == endMarker {
				if d == nil {
					d = bson.D{}
				}
				return d, nil
			}
			name, err := r.str()
			if err != nil {
				return nil, err
			}
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			d = append(d, bson.E{Key: name, Value: v})
		}
	case tagArray:
		a := bson.A{}
		for {
			c, err := r.peek()
			if err != nil {
				return nil, err
			}
			if c == endMarker {
				r.pos++
				return a, nil
			}
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case tagBinary:
		lb, err := r.bytes(4)
		if err != nil {
			return nil, err
		}
		st, err := r.byte()
		if err != nil {
			return nil, err
		}
		data, err := r.bytes(int(binary.BigEndian.Uint32(lb)))
		if err != nil {
			return nil, err
		}
		return bson.Binary{Subtype: st, Data: data}, nil
	case tagObjectID:
		b, err := r.bytes(12)
		if err != nil {
			return nil, err
		}
		var id bson.ObjectID
		copy(id[:], b)
		return id, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagDate:
		b, err := r.bytes(8)
		if err != nil {
			return nil, err
		}
		return bson.DateTime(int64(binary.BigEndian.Uint64(b) ^ (1 << 63))), nil
	case tagTimestamp:
		b, err := r.bytes(8)
		if err != nil {
			return nil, err
		}
		return bson.Timestamp{T: binary.BigEndian.Uint32(b), I: binary.BigEndian.Uint32(b[4:])}, nil
	case tagRegex:
		p, err := r.str()
		if err != nil {
			return nil, err
		}
		o, err := r.str()
		if err != nil {
			return nil, err
		}
		return bson.Regex{Pattern: p, Options: o}, nil
	case tagDBPointer:
		lb, err := r.bytes(4)
		if err != nil {
			return nil, err
		}
		db, err := r.bytes(int(binary.BigEndian.Uint32(lb)))
		if err != nil {
			return nil, err
		}
		oid, err := r.bytes(12)
		if err != nil {
			return nil, err
		}
		p := bson.DBPointer{DB: string(db)}
		copy(p.Pointer[:], oid)
		return p, nil
	case tagCode:
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return bson.JavaScript(s), nil
	case tagCodeScope:
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		scope, err := r.value()
		if err != nil {
			return nil, err
		}
		return bson.CodeWithScope{Code: bson.JavaScript(s), Scope: scope}, nil
	}
	return nil, ErrCorruptKey
}

// str reads an escaped, terminated string.
func (r *keyReader) str() (string, error) {
	var sb strings.Builder
	for {
		c, err := r.byte()
		if err != nil {
			return "", err
		}
		if c != 0 {
			sb.WriteByte(c)
			continue
		}
		c, err = r.byte()
		if err != nil {
			return "", err
		}
		switch c {
		case 1:
			return sb.String(), nil
		case 0xff:
			sb.WriteByte(0)
		default:
			return "", ErrCorruptKey
		}
	}
}

// number reads the payload of tagNumber.
func (r *keyReader) number() (any, error) {
	b, err := r.bytes(8)
	if err != nil {
		return nil, err
	}
	bits := binary.BigEndian.Uint64(b)
	if bits&(1<<63) != 0 {
		bits &^= 1 << 63
	} else {
		bits = ^bits
	}
	f := math.Float64frombits(bits)
	flag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch flag {
	case 0:
		return f, nil
	case 1:
		rem, err := r.posDecimal()
		if err != nil {
			return nil, err
		}
		x := new(big.Rat).SetFloat64(f)
		x.Add(x, rem)
		if x.IsInt() && x.Num().IsInt64() {
			return x.Num().Int64(), nil
		}
		return ratToDecimal(x)
	}
	return nil, ErrCorruptKey
}

// posDecimal reads a positive decimal (see the package documentation).
func (r *keyReader) posDecimal() (*big.Rat, error) {
	eb, err := r.bytes(2)
	if err != nil {
		return nil, err
	}
	exp := int(binary.BigEndian.Uint16(eb)) - 32768
	var digits []byte
	for {
		c, err := r.byte()
		if err != nil {
			return nil, err
		}
		if c == 0 {
			break
		}
		if c > 100 {
			return nil, ErrCorruptKey
		}
		p := c - 1
		digits = append(digits, '0'+p/10, '0'+p%10)
	}
	if len(digits) == 0 {
		return nil, ErrCorruptKey
	}
	n, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, ErrCorruptKey
	}
	// x = 0.digits * 10^exp = n * 10^(exp - len(digits))
	e := exp - len(digits)
	x := new(big.Rat).SetInt(n)
	if e > 0 {
		x.Mul(x, new(big.Rat).SetInt(pow10(e)))
	} else if e < 0 {
		x.Quo(x, new(big.Rat).SetInt(pow10(-e)))
	}
	return x, nil
}

// ratToDecimal converts x to the nearest Decimal128.
func ratToDecimal(x *big.Rat) (any, error) {
	s := x.FloatString(40)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	// Keep at most 34 significant digits.
	if d, err := bson.ParseDecimal128(s); err == nil {
		return d, nil
	}
	f, _ := x.Float64()
	return f, nil
}
