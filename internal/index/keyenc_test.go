package index

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func dec(s string) bson.Decimal128 {
	d, err := bson.ParseDecimal128(s)
	if err != nil {
		panic(fmt.Sprintf("ParseDecimal128(%q): %v", s, err))
	}
	return d
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

func enc(v any) []byte { return AppendValue(nil, v, false) }

func TestEncodeOrderTable(t *testing.T) {
	oid1, _ := bson.ObjectIDFromHex("000000000000000000000001")
	oid2, _ := bson.ObjectIDFromHex("0000000000000000000000ff")
	cases := []struct {
		name string
		a, b any
		want int
	}{
		{"minkey below null", bson.MinKey{}, nil, -1},
		{"null equals missing", nil, bsonutil.Missing, 0},
		{"null equals undefined", bson.Null{}, bson.Undefined{}, 0},
		{"null below NaN", nil, math.NaN(), -1},
		{"int32 1 = int64 1", int32(1), int64(1), 0},
		{"int32 1 = double 1", int32(1), 1.0, 0},
		{"int64 1 = decimal 1.00", int64(1), dec("1.00"), 0},
		{"double 1 = decimal 1E0", 1.0, dec("1E0"), 0},
		{"int = int64", 7, int64(7), 0},
		{"-0 = 0", math.Copysign(0, -1), int32(0), 0},
		{"decimal -0 = 0", dec("-0"), 0.0, 0},
		{"decimal 0E+10 = 0", dec("0E+10"), int64(0), 0},
		{"NaN = decimal NaN", math.NaN(), dec("NaN"), 0},
		{"NaN below -Inf", math.NaN(), math.Inf(-1), -1},
		{"decimal -Inf = double -Inf", dec("-Infinity"), math.Inf(-1), 0},
		{"-Inf below huge negative decimal", math.Inf(-1), dec("-1E+6000"), -1},
		{"huge negative decimals", dec("-2E+400"), dec("-1E+400"), -1},
		{"huge negative below -MaxFloat64", dec("-1E+309"), -math.MaxFloat64, -1},
		{"-MaxFloat64 below -1", -math.MaxFloat64, int32(-1), -1},
		{"1.5 vs decimal 1.25", 1.5, dec("1.25"), 1},
		{"double 0.1 above decimal 0.1", 0.1, dec("0.1"), 1},
		{"double 0.3 below decimal 0.3", 0.3, dec("0.3"), -1},
		{"decimal 0.1 vs 0.10000000000000001", dec("0.1"), dec("0.10000000000000001"), -1},
		{"tiny positive decimal above 0", dec("1E-6176"), 0.0, 1},
		{"tiny positive decimal below min subnormal", dec("1E-6176"), math.SmallestNonzeroFloat64, -1},
		{"tiny negative decimal below 0", dec("-1E-6176"), int32(0), -1},
		{"tiny negative decimal above -subnormal", dec("-1E-6176"), -math.SmallestNonzeroFloat64, 1},
		{"2^53+1 above 2^53 double", int64(1<<53 + 1), float64(1 << 53), 1},
		{"2^53+1 below 2^53+2 double", int64(1<<53 + 1), float64(1<<53 + 2), -1},
		{"2^53+1 int64 = decimal", int64(1<<53 + 1), dec("9007199254740993"), 0},
		{"MaxInt64 below 2^63 double", int64(math.MaxInt64), math.Ldexp(1, 63), -1},
		{"MaxInt64 above 2^63-1024 double", int64(math.MaxInt64), math.Ldexp(1, 63) - 1024, 1},
		{"MinInt64 = -2^63 double", int64(math.MinInt64), -math.Ldexp(1, 63), 0},
		{"MinInt64+1 above -2^63", int64(math.MinInt64 + 1), -math.Ldexp(1, 63), 1},
		{"34-digit decimals", dec("1234567890123456789012345678901234"), dec("1234567890123456789012345678901235"), -1},
		{"decimal above MaxFloat64", dec("1.797693134862315708145274237317044E+308"), math.MaxFloat64, 1},
		{"decimal just below MaxFloat64", dec("1.797693134862315708145274237317043E+308"), math.MaxFloat64, -1},
		{"huge decimal below +Inf", dec("9.999999999999999999999999999999999E+6144"), math.Inf(1), -1},
		{"+Inf = decimal Inf", math.Inf(1), dec("Infinity"), 0},
		{"+Inf below string", math.Inf(1), "", -1},
		{"empty string below a", "", "a", -1},
		{"a below a\\x00", "a", "a\x00", -1},
		{"a\\x00 below a\\x01", "a\x00", "a\x01", -1},
		{"a\\x00\\xff below a\\x01", "a\x00\xff", "a\x01", -1},
		{"symbol = string", bson.Symbol("x"), "x", 0},
		{"binary order is bytes", "B", "a", -1},
		{"string below doc", "\xff\xff", bson.D{}, -1},
		{"empty doc below doc", bson.D{}, bson.D{{Key: "a", Value: nil}}, -1},
		{"doc value rank before name", bson.D{{Key: "b", Value: int32(1)}}, bson.D{{Key: "a", Value: "x"}}, -1},
		{"doc name order", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "b", Value: int32(1)}}, -1},
		{"doc name prefix", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a\x00", Value: int32(1)}}, -1},
		{"doc numeric cross-type equal", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a", Value: dec("1.0")}}, 0},
		{"doc shorter first", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: bson.MinKey{}}}, -1},
		{"bson.M equals bson.D", bson.M{"a": int32(1)}, bson.D{{Key: "a", Value: 1.0}}, 0},
		{"doc below array", bson.D{{Key: "z", Value: bson.MaxKey{}}}, bson.A{}, -1},
		{"array shorter first", bson.A{int32(1)}, bson.A{int32(1), bson.MinKey{}}, -1},
		{"array elementwise", bson.A{int32(1), int32(2)}, bson.A{int32(1), 2.5}, -1},
		{"nested array", bson.A{bson.A{}}, bson.A{bson.A{nil}}, -1},
		{"[]any = bson.A", []any{int32(1)}, bson.A{int64(1)}, 0},
		{"array below binary", bson.A{bson.MaxKey{}}, bson.Binary{}, -1},
		{"binary length first", bson.Binary{Data: []byte{9}}, bson.Binary{Data: []byte{1, 1}}, -1},
		{"binary subtype second", bson.Binary{Subtype: 5, Data: []byte{1}}, bson.Binary{Subtype: 0, Data: []byte{2}}, 1},
		{"binary below objectid", bson.Binary{Data: bytes.Repeat([]byte{0xff}, 20)}, oid1, -1},
		{"objectid order", oid1, oid2, -1},
		{"objectid below false", oid2, false, -1},
		{"false below true", false, true, -1},
		{"true below date", true, bson.DateTime(math.MinInt64), -1},
		{"negative date below positive", bson.DateTime(-1), bson.DateTime(1), -1},
		{"date below timestamp", bson.DateTime(math.MaxInt64), bson.Timestamp{}, -1},
		{"timestamp T before I", bson.Timestamp{T: 1, I: 9}, bson.Timestamp{T: 2, I: 0}, -1},
		{"timestamp below regex", bson.Timestamp{T: math.MaxUint32, I: math.MaxUint32}, bson.Regex{}, -1},
		{"regex pattern then options", bson.Regex{Pattern: "a", Options: "z"}, bson.Regex{Pattern: "a\x00", Options: ""}, -1},
		{"regex options", bson.Regex{Pattern: "a", Options: "i"}, bson.Regex{Pattern: "a", Options: "m"}, -1},
		{"regex below dbpointer", bson.Regex{Pattern: "zzz"}, bson.DBPointer{}, -1},
		{"dbpointer ns length first", bson.DBPointer{DB: "z"}, bson.DBPointer{DB: "aa"}, -1},
		{"dbpointer below code", bson.DBPointer{DB: "zzz"}, bson.JavaScript(""), -1},
		{"code order", bson.JavaScript("a"), bson.JavaScript("b"), -1},
		{"code below code with scope", bson.JavaScript("zzz"), bson.CodeWithScope{}, -1},
		{"code with scope by scope", bson.CodeWithScope{Code: "x", Scope: bson.D{{Key: "a", Value: int32(1)}}}, bson.CodeWithScope{Code: "x", Scope: bson.D{{Key: "a", Value: int32(2)}}}, -1},
		{"code with scope below maxkey", bson.CodeWithScope{Code: "\xff"}, bson.MaxKey{}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := bsonutil.Compare(c.a, c.b); got != c.want {
				t.Fatalf("test case disagrees with bsonutil.Compare: got %d, want %d", got, c.want)
			}
			ea, eb := enc(c.a), enc(c.b)
			if got := sign(bytes.Compare(ea, eb)); got != c.want {
				t.Errorf("bytes.Compare(enc(%s), enc(%s)) = %d, want %d\n enc a=%x\n enc b=%x",
					bsonutil.Format(c.a), bsonutil.Format(c.b), got, c.want, ea, eb)
			}
			if c.want == 0 && !bytes.Equal(ea, eb) {
				t.Errorf("equal values encode differently: %x vs %x", ea, eb)
			}
			da, db := AppendValue(nil, c.a, true), AppendValue(nil, c.b, true)
			if got := sign(bytes.Compare(da, db)); got != -c.want {
				t.Errorf("descending: bytes.Compare = %d, want %d", got, -c.want)
			}
		})
	}
}

// TestEncodeGolden pins a few encodings so format changes (which would
// invalidate stored data) are deliberate.
func TestEncodeGolden(t *testing.T) {
	cases := []struct {
		v    any
		desc bool
		want string
	}{
		{nil, false, "05"},
		{bson.MinKey{}, false, "01"},
		{bson.MaxKey{}, false, "f0"},
		{int32(1), false, "13bff000000000000000"},
		{int32(-1), false, "13400fffffffffffff00"},
		{0.0, false, "13800000000000000000"},
		{int64(1<<53 + 1), false, "13c3400000000000000180010b00"},
		{dec("0.5"), false, "13bfe000000000000000"},
		{"ab\x00", false, "206162" + "00ff" + "0001"},
		{bson.A{int32(1), "x"}, false, "30" + "13bff000000000000000" + "20780001" + "00"},
		{bson.D{{Key: "k", Value: true}}, false, "28" + "28" + "6b0001" + "49" + "00"},
		{true, true, "b6"},
	}
	for _, c := range cases {
		got := fmt.Sprintf("%x", AppendValue(nil, c.v, c.desc))
		if got != c.want {
			t.Errorf("AppendValue(%s, desc=%v) = %s, want %s", bsonutil.Format(c.v), c.desc, got, c.want)
		}
	}
}

func TestAppendKey(t *testing.T) {
	// (a asc, b desc): rows sorted as MongoDB would sort {a: 1, b: -1}.
	rows := [][]any{
		{nil, "z"},
		{nil, "a"},
		{int32(1), bson.MaxKey{}},
		{1.0, int64(5)},
		{int64(1), int32(4)},
		{dec("1.5"), nil},
		{"a", bson.A{int32(2)}},
		{"a", bson.A{int32(1), int32(9)}},
		{"a", bson.A{int32(1)}},
		{"a\x00", bson.MinKey{}},
	}
	desc := []bool{false, true}
	var prev []byte
	for i, r := range rows {
		k := AppendKey([]byte("prefix"), r, desc)
		if !bytes.HasPrefix(k, []byte("prefix")) {
			t.Fatalf("AppendKey dropped dst")
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Errorf("row %d %s not after row %d: %x >= %x", i, bsonutil.Format(bson.A(r)), i-1, prev, k)
		}
		prev = k
	}
	// A short desc slice means ascending.
	if got, want := AppendKey(nil, []any{int32(1), int32(2)}, nil), append(enc(int32(1)), enc(int32(2))...); !bytes.Equal(got, want) {
		t.Errorf("AppendKey with nil desc = %x, want %x", got, want)
	}
}

// ---- randomized property test ----

var seedFlag = os.Getenv("KEYENC_SEED")

type gen struct{ r *rand.Rand }

var boundaryDecimals = []string{
	"0", "-0", "0E+300", "1", "-1", "1.0", "0.1", "0.3", "-0.1", "0.5", "2.5", "1E-6176", "-1E-6176",
	"9007199254740992", "9007199254740993", "-9007199254740993", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "1.797693134862315708145274237317043E+308",
	"1.797693134862315708145274237317044E+308", "-1.797693134862315708145274237317044E+308",
	"9.999999999999999999999999999999999E+6144", "-9.999999999999999999999999999999999E+6144",
	"4.940656458412465441765687928682213E-324", "2.225073858507201E-308", "1234567890123456789012345678901234",
	"NaN", "Infinity", "-Infinity", "1E+400", "-1E+400", "3.14159", "100", "1E+2",
}

var boundaryFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 0.3, 0.5, 2.5, 100, 1 << 53, 1<<53 + 2, -(1 << 53),
	math.Ldexp(1, 63), -math.Ldexp(1, 63), math.Ldexp(1, 63) - 1024, math.MaxFloat64, -math.MaxFloat64,
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 2.2250738585072014e-308, math.NaN(), math.Inf(1), math.Inf(-1), 3.14159,
}

var boundaryInts = []int64{
	0, 1, -1, 100, math.MaxInt32, math.MinInt32, 1 << 53, 1<<53 + 1, 1<<53 - 1, -(1<<53 + 1),
	math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1<<62 + 1,
}

// number returns a random number of a random type, often near a boundary
// and often equal in value to a boundary of another type.
func (g gen) number() any {
	switch g.r.IntN(8) {
	case 0:
		return int32(g.r.IntN(7) - 3)
	case 1:
		i := boundaryInts[g.r.IntN(len(boundaryInts))] + int64(g.r.IntN(5)-2)
		if g.r.IntN(2) == 0 && i >= math.MinInt32 && i <= math.MaxInt32 {
			return int32(i)
		}
		return i
	case 2:
		f := boundaryFloats[g.r.IntN(len(boundaryFloats))]
		switch g.r.IntN(3) {
		case 0:
			f = math.Nextafter(f, math.Inf(1))
		case 1:
			f = math.Nextafter(f, math.Inf(-1))
		}
		return f
	case 3:
		return dec(boundaryDecimals[g.r.IntN(len(boundaryDecimals))])
	case 4:
		// A decimal near a random double/int, possibly equal to it.
		var s string
		if g.r.IntN(2) == 0 {
			s = strconv.FormatFloat(g.r.NormFloat64()*math.Pow(10, float64(g.r.IntN(40)-20)), 'g', g.r.IntN(20)+1, 64)
		} else {
			s = strconv.FormatInt(boundaryInts[g.r.IntN(len(boundaryInts))]+int64(g.r.IntN(3)-1), 10)
		}
		d, err := bson.ParseDecimal128(s)
		if err != nil {
			return 0.0
		}
		return d
	case 5:
		return float64(g.r.IntN(7)-3) / 2
	case 6:
		return g.r.NormFloat64() * math.Pow(2, float64(g.r.IntN(200)-100))
	default:
		coef := g.r.Int64N(1e15) - 5e14
		exp := g.r.IntN(80) - 40
		d, err := bson.ParseDecimal128(fmt.Sprintf("%dE%d", coef, exp))
		if err != nil {
			return int64(coef)
		}
		return d
	}
}

func (g gen) str() string {
	alphabet := []string{"", "a", "b", "\x00", "\xff", "\x01", "ab"}
	s := ""
	for range g.r.IntN(4) {
		s += alphabet[g.r.IntN(len(alphabet))]
	}
	return s
}

func (g gen) value(depth int) any {
	n := 20
	if depth > 2 {
		n = 18 // no more nesting
	}
	switch g.r.IntN(n) {
	case 0:
		return bson.MinKey{}
	case 1:
		return bson.MaxKey{}
	case 2:
		return []any{nil, bson.Null{}, bson.Undefined{}, bsonutil.Missing}[g.r.IntN(4)]
	case 3, 4, 5, 6:
		return g.number()
	case 7:
		if g.r.IntN(3) == 0 {
			return bson.Symbol(g.str())
		}
		return g.str()
	case 8:
		return bson.Binary{Subtype: byte(g.r.IntN(3)), Data: []byte(g.str())}
	case 9:
		var oid bson.ObjectID
		oid[11] = byte(g.r.IntN(3))
		oid[0] = byte(g.r.IntN(2) * 0xff)
		return oid
	case 10:
		return g.r.IntN(2) == 0
	case 11:
		return bson.DateTime(boundaryInts[g.r.IntN(len(boundaryInts))])
	case 12:
		return bson.Timestamp{T: uint32(g.r.IntN(3)), I: uint32(g.r.IntN(3))}
	case 13:
		return bson.Regex{Pattern: g.str(), Options: []string{"", "i", "im"}[g.r.IntN(3)]}
	case 14:
		var oid bson.ObjectID
		oid[0] = byte(g.r.IntN(2))
		return bson.DBPointer{DB: g.str(), Pointer: oid}
	case 15:
		return bson.JavaScript(g.str())
	case 16:
		return bson.CodeWithScope{Code: bson.JavaScript(g.str()), Scope: g.doc(depth + 1)}
	case 17:
		return g.number()
	case 18:
		return g.doc(depth + 1)
	default:
		a := bson.A{}
		for range g.r.IntN(4) {
			a = append(a, g.value(depth+1))
		}
		return a
	}
}

func (g gen) doc(depth int) bson.D {
	d := bson.D{}
	for range g.r.IntN(3) {
		v := g.value(depth)
		if bsonutil.IsMissing(v) {
			v = nil
		}
		d = append(d, bson.E{Key: []string{"a", "b", "", "a\x00"}[g.r.IntN(4)], Value: v})
	}
	return d
}

func TestEncodeOrderRandom(t *testing.T) {
	seed := uint64(rand.Int64())
	if seedFlag != "" {
		s, err := strconv.ParseUint(seedFlag, 10, 64)
		if err != nil {
			t.Fatalf("bad KEYENC_SEED: %v", err)
		}
		seed = s
	}
	t.Logf("seed %d (rerun with KEYENC_SEED=%d)", seed, seed)
	g := gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	iters := 50000
	if testing.Short() {
		iters = 5000
	}
	failures := 0
	counts := [3]int{}
	for i := 0; i < iters && failures < 10; i++ {
		a, b := g.value(0), g.value(0)
		if g.r.IntN(4) == 0 {
			a, b = g.number(), g.number() // bias toward numeric comparisons
		}
		want := bsonutil.Compare(a, b)
		counts[want+1]++
		ea, eb := enc(a), enc(b)
		got := sign(bytes.Compare(ea, eb))
		if got != want {
			failures++
			t.Errorf("seed %d iter %d: sign(bytes.Compare(enc(%s), enc(%s))) = %d, want %d\n a=%x\n b=%x",
				seed, i, bsonutil.Format(a), bsonutil.Format(b), got, want, ea, eb)
			continue
		}
		if want == 0 {
			if !bytes.Equal(ea, eb) {
				failures++
				t.Errorf("seed %d iter %d: equal values %s and %s encode differently", seed, i, bsonutil.Format(a), bsonutil.Format(b))
			}
			continue
		}
		// Prefix-free: arbitrary suffixes never change the order, in
		// either direction, and compound keys order by their first field.
		sa, sb := []byte(g.str()), []byte(g.str())
		if got := sign(bytes.Compare(append(ea, sa...), append(eb, sb...))); got != want {
			failures++
			t.Errorf("seed %d iter %d: suffix changed order of %s vs %s", seed, i, bsonutil.Format(a), bsonutil.Format(b))
		}
		desc := g.r.IntN(2) == 0
		c1, c2 := g.value(1), g.value(1)
		ka := AppendKey(nil, []any{a, c1}, []bool{desc, g.r.IntN(2) == 0})
		kb := AppendKey(nil, []any{b, c2}, []bool{desc, g.r.IntN(2) == 0})
		wantK := want
		if desc {
			wantK = -want
		}
		if got := sign(bytes.Compare(ka, kb)); got != wantK {
			failures++
			t.Errorf("seed %d iter %d: compound key order of (%s, ...) vs (%s, ...) desc=%v = %d, want %d",
				seed, i, bsonutil.Format(a), bsonutil.Format(b), desc, got, wantK)
		}
	}
	if counts[1] < iters/200 {
		t.Errorf("generator produced too few equal pairs (%d of %d); the test would miss equality bugs", counts[1], iters)
	}
	t.Logf("less/equal/greater: %v", counts)
}
