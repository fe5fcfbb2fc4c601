package update

import (
	"bytes"
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
		switch set.v.(type) {
		case string, int32, int64, float64, bool, nil, bson.Null, bson.ObjectID, bson.DateTime:
		default:
			return
		}
		f := rawField{name: name, typ: bsoncore.TypeNull}
		switch set.v.(type) {
		case nil, bson.Null:
		default:
			t, val, err := bson.MarshalValue(set.v)
			if err != nil {
				return
			}
			f.typ, f.val = bsoncore.Type(t), val
		}
		fields = append(fields, f)
	}
	u.raw = fields
}

// RawFields returns the top-level fields the update sets when ApplyRaw
// can apply it, and nil when it cannot (the caller then decodes the
// document and uses Apply).
func (u *Update) RawFields() []string {
	if u.raw == nil {
		return nil
	}
	names := make([]string, len(u.raw))
	for i, f := range u.raw {
		names[i] = f.name
	}
	return names
}

// ApplyRaw applies an update for which RawFields is not nil to the
// encoded document old, giving the same document Apply would give for
// old's decoded form, encoded, without decoding it: each field's first
// occurrence is replaced in place and missing fields are appended in the
// update's order. changed is false when every field already holds an
// identical value (the document is then returned unchanged).
func (u *Update) ApplyRaw(old bson.Raw) (doc []byte, changed bool, err error) {
	found := make([]int, len(u.raw)) // element offsets in old; 0 means absent
	ends := make([]int, len(u.raw))
	if len(old) < 5 || int(int32(uint32(old[0])|uint32(old[1])<<8|uint32(old[2])<<16|uint32(old[3])<<24)) != len(old) || old[len(old)-1] != 0 {
		return nil, false, bsoncore.NewInsufficientBytesError(old, old)
	}
	off := 4
	for off < len(old)-1 {
		el, rest, ok := bsoncore.ReadElement(old[off:])
		if !ok {
			return nil, false, bsoncore.NewInsufficientBytesError(old, old[off:])
		}
		end := len(old) - len(rest)
		key := el.KeyBytes()
		for i, f := range u.raw {
			if found[i] == 0 && f.name == string(key) {
				found[i], ends[i] = off, end
				v := el.Value()
				if v.Type != f.typ || !bytes.Equal(v.Data, f.val) {
					changed = true
				}
				break
			}
		}
		off = end
	}
	for i := range u.raw {
		if found[i] == 0 {
			changed = true
		}
	}
	if !changed {
		return old, false, nil
	}
	size := len(old)
	for i, f := range u.raw {
		n := 1 + len(f.name) + 1 + len(f.val)
		if found[i] != 0 {
			size += n - (ends[i] - found[i])
		} else {
			size += n
		}
	}
	out := make([]byte, 0, size)
	out = bsoncore.AppendInt32(out, int32(size))
	prev := 4
	for {
		// Copy up to the next replaced element, then write its new value.
		next, which := -1, -1
		for i := range u.raw {
			if found[i] >= prev && (next < 0 || found[i] < next) {
				next, which = found[i], i
			}
		}
		if next < 0 {
			break
		}
		out = append(out, old[prev:next]...)
		out = appendRawField(out, u.raw[which])
		prev = ends[which]
	}
	out = append(out, old[prev:len(old)-1]...)
	for i, f := range u.raw {
		if found[i] == 0 {
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
