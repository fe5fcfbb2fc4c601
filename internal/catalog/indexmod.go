package catalog

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Changing an index's options in place (collMod's index option).
//
// hidden and expireAfterSeconds only change the index's spec. prepareUnique
// makes a non-unique index refuse new duplicate keys: the write path
// (Writer.checkUnique) looks for another entry with the same key before
// adding one, while duplicates that exist already stay. Converting an index
// to unique (only after prepareUnique) scans it for duplicate keys; if
// there are none, its entries are rewritten in the unique layout
// (key -> enc(_id) instead of key+enc(_id) -> empty, see keys.go) and its
// spec gets unique: true, in one transaction under the catalog lock, so no
// write can slip a duplicate in between.

// IndexMod is a change of one index's options. Exactly one of Name and
// KeyPattern names the index; nil fields are left alone.
type IndexMod struct {
	Name       string
	KeyPattern bson.D

	ExpireAfterSeconds *int64
	Hidden             *bool
	PrepareUnique      *bool
	// Unique must be true if set: converting a unique index back is not
	// supported.
	Unique *bool
	// DryRun only checks whether the index could be converted to unique
	// (Unique must be set); nothing changes.
	DryRun bool
	// OtherMods is the number of other modifications in the same collMod
	// (prepareUnique must be alone).
	OtherMods int
}

// IndexModResult reports what ModifyIndex changed, as collMod's reply
// does: a pair is set only when that option was requested and (except for
// expireAfterSeconds) actually changed.
type IndexModResult struct {
	// ExpireOld is nil when the index had no expireAfterSeconds before.
	ExpireOld, ExpireNew               *int64
	HiddenOld, HiddenNew               *bool
	UniqueNew                          bool
	PrepareUniqueOld, PrepareUniqueNew *bool
}

// MaxTTLExpireAfterSeconds is the largest expireAfterSeconds of a TTL
// index (MongoDB's limit, the largest int32).
const MaxTTLExpireAfterSeconds = 1<<31 - 1

// ModifyIndex changes the options of one index of db.name. Converting to
// unique with duplicate keys present fails with CannotConvertIndexToUnique
// (359) carrying a violations field: one {ids: [...]} per group of
// documents sharing a key.
func (c *Catalog) ModifyIndex(ctx context.Context, db, name string, mod IndexMod) (IndexModResult, error) {
	var res IndexModResult
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, ok := c.colls[db+"."+name]
	if !ok {
		return res, mongoerr.Newf(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", db, name)
	}
	ix, err := findModIndex(coll, mod)
	if err != nil {
		return res, err
	}
	var im *indexMeta
	m := coll.meta
	m.Indexes = append([]indexMeta(nil), m.Indexes...)
	for i := range m.Indexes {
		if m.Indexes[i].ID == ix.ID {
			im = &m.Indexes[i]
		}
	}
	if im == nil {
		return res, fmt.Errorf("catalog: index %s of %s has no metadata", ix.Name, coll.NS())
	}
	spec := append(bson.D(nil), im.Spec...)
	mods := mod.OtherMods
	changed, prepareChanged, convert := false, false, false

	if mod.ExpireAfterSeconds != nil {
		mods++
		old := bsonutil.Get(im.Spec, "expireAfterSeconds")
		switch {
		case bsonutil.IsMissing(old) && ix.IsID():
			return res, mongoerr.New(mongoerr.InvalidOptions, "the _id field does not support TTL indexes")
		case bsonutil.IsMissing(old) && len(ix.Key) != 1:
			return res, mongoerr.New(mongoerr.InvalidOptions, "TTL indexes are single-field indexes, compound indexes do not support TTL")
		case !bsonutil.IsMissing(old):
			n, ok := bsonutil.ToInt64(old)
			if !ok {
				f, isNum := bsonutil.ToFloat64(old)
				if !isNum {
					return res, mongoerr.New(mongoerr.InvalidOptions, "existing expireAfterSeconds field is not a number")
				}
				n = int64(f)
			}
			res.ExpireOld = &n
		}
		nv := *mod.ExpireAfterSeconds
		res.ExpireNew = &nv
		spec = setSpecField(spec, "expireAfterSeconds", nv)
		changed = true
	}
	if mod.Unique != nil {
		mods++
		if !*mod.Unique {
			return res, mongoerr.New(mongoerr.BadValue, "Cannot make index non-unique")
		}
		if !ix.Unique {
			if !ix.PrepareUnique {
				return res, mongoerr.New(mongoerr.InvalidOptions, "Cannot make index unique with 'prepareUnique=false'. Run collMod to set it first.")
			}
			convert = true
		}
	}
	if mod.Hidden != nil {
		mods++
		if isSystem(coll.Name) {
			return res, mongoerr.New(mongoerr.BadValue, "Can't hide index on system collection")
		}
		if ix.IsID() {
			return res, mongoerr.New(mongoerr.BadValue, "can't hide _id index")
		}
		if ix.Hidden != *mod.Hidden {
			old, nv := ix.Hidden, *mod.Hidden
			res.HiddenOld, res.HiddenNew = &old, &nv
			spec = setSpecBool(spec, "hidden", nv)
			changed = true
		}
	}
	if mod.PrepareUnique != nil {
		mods++
		if ix.PrepareUnique != *mod.PrepareUnique && !ix.Unique {
			old, nv := ix.PrepareUnique, *mod.PrepareUnique
			res.PrepareUniqueOld, res.PrepareUniqueNew = &old, &nv
			spec = setSpecBool(spec, "prepareUnique", nv)
			changed, prepareChanged = true, true
		}
	}
	if prepareChanged && mods > 1 {
		return IndexModResult{}, mongoerr.New(mongoerr.InvalidOptions, "prepareUnique cannot be combined with any other modification.")
	}
	if mod.DryRun {
		if mods > 1 {
			return IndexModResult{}, mongoerr.New(mongoerr.InvalidOptions, "unique: true cannot be combined with any other modification in dry run mode.")
		}
		if !convert {
			return IndexModResult{}, nil
		}
		snap, err := c.eng.Snapshot()
		if err != nil {
			return IndexModResult{}, err
		}
		defer snap.Close()
		groups, _, err := scanDuplicates(snap, coll, ix, false)
		if err != nil {
			return IndexModResult{}, err
		}
		if len(groups) > 0 {
			return IndexModResult{}, convertUniqueError(groups)
		}
		return IndexModResult{}, nil
	}
	if convert {
		spec = setSpecBool(spec, "unique", true)
		spec = setSpecBool(spec, "prepareUnique", false)
		res.UniqueNew = true
		changed = true
	}
	if !changed {
		return res, nil
	}
	im.Spec = spec
	nc, err := buildCollection(m)
	if err != nil {
		return IndexModResult{}, err
	}
	err = c.ddl(ctx, func(txn storage.Txn) error {
		if convert {
			groups, entries, err := scanDuplicates(txn, coll, ix, true)
			if err != nil {
				return err
			}
			if len(groups) > 0 {
				return convertUniqueError(groups)
			}
			// Rewrite the entries in the unique layout.
			prefix := idxPrefix(coll.ID, ix.ID)
			lo, hi := prefixRange(prefix)
			if err := txn.DeleteRange(lo, hi); err != nil {
				return err
			}
			for _, e := range entries {
				if err := txn.Set(append(append([]byte(nil), prefix...), e.key...), e.id); err != nil {
					return err
				}
			}
		}
		return putMeta(txn, m)
	})
	if err != nil {
		if mongoerr.Is(err, mongoerr.CannotConvertIndexToUnique) {
			return IndexModResult{}, err
		}
		return IndexModResult{}, fmt.Errorf("catalog: collMod index %s of %s: %w", ix.Name, coll.NS(), err)
	}
	c.colls[nc.NS()] = nc
	return res, nil
}

// findModIndex finds the index a collMod names by name or key pattern.
func findModIndex(coll *Collection, mod IndexMod) (*Index, error) {
	if mod.KeyPattern == nil {
		ix := coll.Index(mod.Name)
		if ix == nil {
			return nil, mongoerr.Newf(mongoerr.IndexNotFound, "cannot find index %s for ns %s", mod.Name, coll.NS())
		}
		return ix, nil
	}
	var found []*Index
	for _, ix := range coll.Indexes {
		if sameKeyPattern(ix.Key, mod.KeyPattern) {
			found = append(found, ix)
		}
	}
	switch len(found) {
	case 0:
		return nil, mongoerr.Newf(mongoerr.IndexNotFound, "cannot find index %s for ns %s", bsonutil.Format(mod.KeyPattern), coll.NS())
	case 1:
		return found[0], nil
	}
	return nil, mongoerr.Newf(mongoerr.AmbiguousIndexKeyPattern, "index keyPattern %s matches %d indexes, must use index name. Conflicting indexes: %s, %s",
		bsonutil.Format(mod.KeyPattern), len(found), bsonutil.Format(found[0].Spec), bsonutil.Format(found[1].Spec))
}

func sameKeyPattern(a, b bson.D) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !bsonutil.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// setSpecField sets key in an index spec, keeping its position if present.
func setSpecField(spec bson.D, key string, v any) bson.D {
	for i := range spec {
		if spec[i].Key == key {
			spec[i].Value = v
			return spec
		}
	}
	return append(spec, bson.E{Key: key, Value: v})
}

// setSpecBool sets a boolean index option; false removes it, as MongoDB
// does for hidden and prepareUnique.
func setSpecBool(spec bson.D, key string, v bool) bson.D {
	if v {
		return setSpecField(spec, key, true)
	}
	out := spec[:0:0]
	for _, e := range spec {
		if e.Key != key {
			out = append(out, e)
		}
	}
	return out
}

// indexPair is one entry of a non-unique index: its encoded key values
// and the encoded id of its document.
type indexPair struct{ key, id []byte }

// scanDuplicates scans a non-unique index in key order and returns the
// groups of entries that share a key (their document ids, in index order)
// and, with keep, all entries.
func scanDuplicates(r storage.Reader, coll *Collection, ix *Index, keep bool) (groups [][][]byte, entries []indexPair, err error) {
	it, err := scanIndex(r, coll, ix, nil, nil, false)
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var prev []byte
	var cur [][]byte
	flush := func() {
		if len(cur) > 1 {
			groups = append(groups, cur)
		}
		cur = nil
	}
	for it.Next() {
		key := append([]byte(nil), it.Key()...)
		id := append([]byte(nil), it.ID()...)
		if prev == nil || !bytes.Equal(prev, key) {
			flush()
		}
		cur = append(cur, id)
		prev = key
		if keep {
			entries = append(entries, indexPair{key: key, id: id})
		}
	}
	if err := it.Err(); err != nil {
		return nil, nil, err
	}
	flush()
	if len(groups) > 0 {
		// Resolve the ids now, while r is still open.
		for _, g := range groups {
			for i, encID := range g {
				raw, err := fetchEncoded(r, coll, encID)
				if err != nil {
					return nil, nil, err
				}
				if raw == nil {
					return nil, nil, fmt.Errorf("catalog: index %s of %s has an entry without a document", ix.Name, coll.NS())
				}
				b, err := bson.Marshal(bson.D{{Key: "_id", Value: raw.Lookup("_id")}})
				if err != nil {
					return nil, nil, err
				}
				g[i] = b
			}
		}
	}
	return groups, entries, nil
}

// convertUniqueError builds the CannotConvertIndexToUnique error from
// duplicate groups (each id as a marshalled {_id: value}), reporting ids up
// to 8 MB as MongoDB does.
func convertUniqueError(groups [][][]byte) error {
	const limit = 8 * 1024 * 1024
	violations := bson.A{}
	size := 0
	msg := "Cannot convert the index to unique. Please resolve conflicting documents before running collMod again."
outer:
	for _, g := range groups {
		ids := bson.A{}
		for _, b := range g {
			v := bson.Raw(b).Lookup("_id")
			size += len(v.Value)
			if size > limit {
				if len(ids) == 0 && len(violations) == 0 {
					ids = append(ids, v)
				}
				if len(ids) > 0 {
					violations = append(violations, bson.D{{Key: "ids", Value: ids}})
				}
				msg = "Cannot convert the index to unique. Too many conflicting documents were detected. Please resolve them and rerun collMod."
				break outer
			}
			ids = append(ids, v)
		}
		violations = append(violations, bson.D{{Key: "ids", Value: ids}})
	}
	e := mongoerr.New(mongoerr.CannotConvertIndexToUnique, msg)
	e.Extra = []mongoerr.ExtraField{{Key: "violations", Value: violations}}
	return e
}

// checkPrepareUnique fails with DuplicateKey if the non-unique entry e
// (key values followed by encID) has a key another document's entry
// holds already. Encodings are prefix-free, so the entries sharing e's key
// are exactly those under the key-values prefix.
func (w *Writer) checkPrepareUnique(coll *Collection, e indexEntry, encID []byte) error {
	if len(e.key) < len(encID) {
		return fmt.Errorf("catalog: index %s: short entry", e.ix.Name)
	}
	p := e.key[:len(e.key)-len(encID)]
	it, err := w.txn.Scan(p, storage.PrefixEnd(p), false)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if !bytes.Equal(it.Key()[len(p):], encID) {
			return dupKeyError(coll, e.ix, e.vals)
		}
	}
	return it.Err()
}
