package update

import (
	"bytes"
	"encoding/binary"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// rawField is one field of an update that ApplyRaw can apply to the
// stored bytes: a top-level field set to a scalar.
type rawField struct {
	name string
	typ  bsoncore.Type
	val  []byte // the encoded value
}

// prepareRaw records the update's fields for ApplyRaw if every modifier is
// a $set of a plain top-level field (no dots, no positional operator, not
// _id) to a scalar whose encoding identifies it (for these types two
// values are identical exactly when their encodings are equal). Other
// updates leave u.raw nil.
func (u *Update) prepareRaw() {
	if u.kind != Operators || len(u.filters) > 0 {
		return
	}
	fields := make([]rawField, 0, len(u.mods))
	for _, m := range u.mods {
		if m.op != "$set" || len(m.parts) != 1 {
			return
		}
		name := m.parts[0]
		if name == "" || name == "_id" || strings.HasPrefix(name, "$") || strings.IndexByte(name, 0) >= 0 {
			return
		}
		set, ok := m.leaf.(setOp)
		if !ok {
			return
		}
		f := rawField{name: name, typ: bsoncore.TypeNull}
		switch set.v.(type) {
		case nil, bson.Null:
		case string, int32, int64, float64, bool, bson.ObjectID, bson.DateTime:
			t, val, err := bson.MarshalValue(set.v)
			if err != nil {
				return
			}
			f.typ, f.val = bsoncore.Type(t), val
		default:
			return
		}
		fields = append(fields, f)
	}
	u.raw = fields
	u.rawNames = make([]string, len(fields))
	for i, f := range fields {
		u.rawNames[i] = f.name
	}
}

// RawFields returns the top-level fields the update sets when ApplyRaw
// can apply it, and nil when it cannot (the caller then decodes the
// document and uses Apply). The slice belongs to the update.
func (u *Update) RawFields() []string { return u.rawNames }

// ApplyRaw applies an update for which RawFields is not nil to the
// encoded document old, giving the same document Apply would give for
// old's decoded form, encoded, without decoding it: each field's first
// occurrence is replaced in place and missing fields are appended in the
// update's order. changed is false when every field already holds an
// identical value (the document is then returned unchanged).
func (u *Update) ApplyRaw(old bson.Raw) (doc []byte, changed bool, err error) {
	if len(old) < 5 || int(binary.LittleEndian.Uint32(old)) != len(old) || old[len(old)-1] != 0 {
		return nil, false, bsoncore.NewInsufficientBytesError(old, old)
	}
	// at[i] is where u.raw[i]'s first occurrence lies in old; start 0
	// means the field is absent (no element starts before offset 4).
	type span struct{ start, end int }
	at := make([]span, len(u.raw))
	for off := 4; off < len(old)-1; {
		el, rest, ok := bsoncore.ReadElement(old[off:])
		if !ok {
			return nil, false, bsoncore.NewInsufficientBytesError(old, old[off:])
		}
		end := len(old) - len(rest)
		key := el.KeyBytes()
		for i, f := range u.raw {
			if at[i].start == 0 && f.name == string(key) {
				at[i] = span{off, end}
				v := el.Value()
				changed = changed || v.Type != f.typ || !bytes.Equal(v.Data, f.val)
				break
			}
		}
		off = end
	}
	size := len(old)
	for i, f := range u.raw {
		size += 1 + len(f.name) + 1 + len(f.val) - (at[i].end - at[i].start)
		changed = changed || at[i].start == 0
	}
	if !changed {
		return old, false, nil
	}
	out := make([]byte, 0, size)
	out = bsoncore.AppendInt32(out, int32(size))
	prev := 4
	for {
		// Copy up to the next replaced element, then write its new value.
		which := -1
		for i := range u.raw {
			if at[i].start >= prev && (which < 0 || at[i].start < at[which].start) {
				which = i
			}
		}
		if which < 0 {
			break
		}
		out = append(out, old[prev:at[which].start]...)
		out = appendRawField(out, u.raw[which])
		prev = at[which].end
	}
	out = append(out, old[prev:len(old)-1]...)
	for i, f := range u.raw {
		if at[i].start == 0 {
			out = appendRawField(out, f)
		}
	}
	out = append(out, 0)
	return out, true, nil
}

func appendRawField(dst []byte, f rawField) []byte {
	dst = bsoncore.AppendHeader(dst, f.typ, f.name)
	return append(dst, f.val...)
}
