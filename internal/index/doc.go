// Package index holds Cairn's secondary-index machinery. keyenc.go is the
// order-preserving key encoding of BSON values used for index keys and
// record keys.
//
// # Key encoding
//
// AppendValue maps a BSON value to bytes such that, for any values a and b,
//
//	sign(bytes.Compare(enc(a), enc(b))) == bsonutil.Compare(a, b)
//
// and equal values (for example int32 1, int64 1, double 1.0 and
// Decimal128 "1.00") encode identically, so encodings can be used directly
// as equality keys. Encodings are prefix-free (no value's encoding is a
// proper prefix of a different value's encoding), so compound keys are
// plain concatenations and a key followed by any suffix still orders by
// the key first. A descending field's bytes are inverted (x -> ^x), which
// reverses its order and keeps the prefix-free property.
//
// Each value starts with a type tag ordered like MongoDB's canonical type
// ranks (MinKey < null < numbers < strings < objects < arrays < binary <
// ObjectId < bool < date < timestamp < regex < DBPointer < code < code
// with scope < MaxKey). Null, undefined and missing share one tag with no
// payload.
//
// Numbers are exact, with no precision limit, for all four numeric types.
// The number's class is part of the tag: NaN < -Inf < finite below
// -MaxFloat64 < finite in double range < finite above MaxFloat64 < +Inf.
// An in-range value x is written as f, the largest double <= x (8 bytes,
// sign-adjusted so bytes order like values, -0 normalised to +0), followed
// by the remainder r = x - f >= 0: a single 0x00 if r is 0 (always the
// case for doubles, int32 and int64 within 2^53), else 0x01 and r as a
// positive decimal. Because r < ulp(f), values with the same f order by
// r. Int64 values beyond 2^53 therefore stay distinct and ordered, and
// Decimal128 values that are not exactly doubles (0.1, 1e-400, 34-digit
// integers) get a longer key. Values outside the double range (Decimal128
// only) are written as a positive decimal (inverted for negatives).
//
// A positive decimal is written as 0.d1d2...dn x 10^E with d1 != 0 and no
// trailing zeros: E+32768 as 2 bytes big-endian, then the digits in pairs,
// one byte (10*a+b+1, so 1..100) per pair, padded with a 0 digit, then a
// 0x00 terminator.
//
// Strings, symbols, JavaScript code and regex parts are raw bytes with
// 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01 (binary order:
// simple collation). Documents are a sequence of (canonical type rank
// byte, escaped field name, value) terminated by 0x00; arrays are the
// element encodings terminated by 0x00. Binary data is its length (4
// bytes), subtype, then bytes; DBPointer is the namespace length, the
// namespace and the ObjectId, matching bsonutil.Compare.
package index
