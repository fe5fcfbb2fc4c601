package aggregate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// DocDecoder turns stored (raw BSON) documents into the bson.D documents a
// pipeline reads. With Deps.All it decodes whole documents; otherwise it
// walks the raw document and decodes only the top-level fields listed,
// every occurrence, in document order, so that the pipeline sees exactly
// what it would see in the whole document. Common scalar values (numbers,
// strings, booleans, null, dates, ObjectIDs) are read directly; every
// other value is decoded by bsonutil.Decode. A DocDecoder is not safe for
// concurrent use.
type DocDecoder struct {
	all    bool
	names  []string
	set    map[string]int // name -> index in names, when there are many names
	picked []pickedElem   // scratch
}

// pickedElem locates a wanted element of the document being decoded by
// offsets, so that the scratch slice holds no pointers (storing pointers
// into it would cost a write barrier per element while the GC runs).
type pickedElem struct {
	name     int // index into names
	val, end int // the value: raw[val:end]
	t        bsoncore.Type
}

var errMalformedElement = errors.New("aggregate: decode fields: malformed element")

// NewDocDecoder returns a decoder for a pipeline with dependencies deps.
func NewDocDecoder(deps Deps) *DocDecoder {
	d := &DocDecoder{all: deps.All, names: deps.Fields}
	if len(d.names) > 8 {
		d.set = make(map[string]int, len(d.names))
		for i, n := range d.names {
			d.set[n] = i
		}
	}
	return d
}

// wanted returns the index in names of the field named key, or -1.
func (d *DocDecoder) wanted(key []byte) int {
	if d.set != nil {
		if i, ok := d.set[string(key)]; ok {
			return i
		}
		return -1
	}
	for i, n := range d.names {
		if len(n) == len(key) && sameBytes(key, n) {
			return i
		}
	}
	return -1
}

// sameBytes reports whether b equals s, which has the same length. Field
// names are short: a loop beats a call into the runtime's memequal.
func sameBytes(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if b[i] != s[i] {
			return false
		}
	}
	return true
}

// Detached reports whether Decode's results never alias its input (it
// picks fields, which it copies); decoding whole documents aliases binary
// data.
func (d *DocDecoder) Detached() bool { return !d.all }

// Decode decodes raw. Binary values in the result may alias raw, which
// must therefore not be modified while the result is in use (unless
// Detached).
func (d *DocDecoder) Decode(raw []byte) (bson.D, error) {
	if d.all {
		return bsonutil.Decode(raw)
	}
	length, rem, ok := bsoncore.ReadLength(raw)
	if !ok || length < 5 || int(length) > len(raw) {
		return nil, fmt.Errorf("aggregate: decode fields: bad document length")
	}
	rem = rem[:length-5]
	picked := d.picked[:0]
	pos := 4 // offset of rem in raw
	for len(rem) > 0 {
		// An element is a type byte, a NUL-terminated key and a value
		// whose length depends on the type. Keys are short: a plain loop
		// finds the NUL faster than bytes.IndexByte.
		end := 1
		for end < len(rem) && rem[end] != 0 {
			end++
		}
		if end >= len(rem) {
			return nil, errMalformedElement
		}
		t := bsoncore.Type(rem[0])
		n, ok := valueLen(t, rem[end+1:])
		if !ok {
			return nil, errMalformedElement
		}
		size := end + 1 + n
		if i := d.wanted(rem[1:end]); i >= 0 {
			picked = append(picked, pickedElem{name: i, val: pos + end + 1, end: pos + size, t: t})
		}
		rem = rem[size:]
		pos += size
	}
	d.picked = picked
	if len(picked) == 0 {
		return bson.D{}, nil
	}
	out := make(bson.D, len(picked))
	for i, p := range picked {
		data := raw[p.val:p.end]
		switch p.t {
		case bsoncore.TypeBinary, bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray, bsoncore.TypeCodeWithScope:
			// Decoded binary data aliases its input: copy it, so the
			// result never aliases raw (Detached), which callers read in
			// place from the storage engine.
			data = bytes.Clone(data)
		}
		v, err := bsonutil.DecodeValue(bsoncore.Value{Type: p.t, Data: data})
		if err != nil {
			return nil, fmt.Errorf("aggregate: decode fields: %w", err)
		}
		out[i] = bson.E{Key: d.names[p.name], Value: v}
	}
	return out, nil
}

// valueLen returns the length of the value of type t at the start of b.
// The common types are measured here; the others by bsoncore.ReadValue.
func valueLen(t bsoncore.Type, b []byte) (int, bool) {
	n := 0
	switch t {
	case bsoncore.TypeInt32:
		n = 4
	case bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDateTime, bsoncore.TypeTimestamp:
		n = 8
	case bsoncore.TypeBoolean:
		n = 1
	case bsoncore.TypeNull:
		n = 0
	case bsoncore.TypeObjectID:
		n = 12
	case bsoncore.TypeString:
		if len(b) < 4 {
			return 0, false
		}
		l := int32(binary.LittleEndian.Uint32(b))
		if l < 1 {
			return 0, false
		}
		n = 4 + int(l)
	default:
		v, _, ok := bsoncore.ReadValue(b, t)
		return len(v.Data), ok
	}
	return n, n <= len(b)
}
