package catalog

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Index kinds that Cairn does not build; specs using them are refused.
var unsupportedKinds = map[string]bool{"text": true, "2d": true, "2dsphere": true, "hashed": true, "geoHaystack": true, "columnstore": true}

// DefaultIndexName returns MongoDB's default name for a key pattern, e.g.
// "a_1_b_-1".
func DefaultIndexName(key bson.D) string {
	parts := make([]string, 0, 2*len(key))
	for _, e := range key {
		parts = append(parts, e.Key)
		switch v := e.Value.(type) {
		case string:
			parts = append(parts, v)
		default:
			if f, ok := bsonutil.ToFloat64(v); ok {
				parts = append(parts, strconv.FormatFloat(f, 'f', -1, 64))
			} else {
				parts = append(parts, fmt.Sprint(v))
			}
		}
	}
	return strings.Join(parts, "_")
}

var knownIndexOptions = map[string]bool{
	"key": true, "name": true, "unique": true, "sparse": true, "partialFilterExpression": true,
	"expireAfterSeconds": true, "hidden": true, "v": true, "background": true, "collation": true,
	"storageEngine": true, "weights": true, "default_language": true, "language_override": true,
	"textIndexVersion": true, "2dsphereIndexVersion": true, "bits": true, "min": true, "max": true,
	"bucketSize": true, "wildcardProjection": true, "ns": true, "prepareUnique": true, "clustered": true,
}

// NormalizeIndexSpec validates an index spec from createIndexes and returns
// it in the shape listIndexes reports ({v: 2, key, name, options...}).
func NormalizeIndexSpec(spec bson.D) (bson.D, error) {
	var key bson.D
	var name string
	hasName := false
	out := bson.D{{Key: "v", Value: int32(2)}}
	var opts bson.D
	for _, e := range spec {
		if !knownIndexOptions[e.Key] {
			return nil, mongoerr.Newf(mongoerr.InvalidIndexSpecificationOption, "The field '%s' is not valid for an index specification. Specification: %s", e.Key, bsonutil.Format(spec))
		}
		switch e.Key {
		case "key":
			d, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "The field 'key' must be an object, but got %s", bsonutil.TypeName(e.Value))
			}
			key = d
		case "name":
			s, ok := e.Value.(string)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "The field 'name' must be a string, but got %s", bsonutil.TypeName(e.Value))
			}
			name, hasName = s, true
		case "v", "background", "ns":
		case "collation":
			if d, ok := e.Value.(bson.D); !ok || bsonutil.Get(d, "locale") != "simple" {
				return nil, mongoerr.New(mongoerr.NotImplemented, "collations other than {locale: \"simple\"} are not supported")
			}
		case "unique", "sparse", "hidden", "prepareUnique":
			opts = append(opts, bson.E{Key: e.Key, Value: bsonutil.IsTruthy(e.Value)})
		case "expireAfterSeconds":
			n, ok := bsonutil.ToInt64(e.Value)
			if !ok || n < 0 {
				return nil, mongoerr.Newf(mongoerr.CannotCreateIndex, "TTL index 'expireAfterSeconds' option must be a non-negative integer, got %s", bsonutil.Format(e.Value))
			}
			opts = append(opts, bson.E{Key: e.Key, Value: e.Value})
		case "partialFilterExpression":
			d, ok := e.Value.(bson.D)
			if !ok {
				return nil, mongoerr.Newf(mongoerr.TypeMismatch, "The field 'partialFilterExpression' must be an object, but got %s", bsonutil.TypeName(e.Value))
			}
			if _, err := partialMatcher(d); err != nil {
				return nil, err
			}
			opts = append(opts, bson.E{Key: e.Key, Value: d})
		default:
			opts = append(opts, e)
		}
	}
	if key == nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'key' field is a required property of an index specification")
	}
	if len(key) == 0 {
		return nil, mongoerr.New(mongoerr.CannotCreateIndex, "Index keys cannot be empty.")
	}
	for _, k := range key {
		if k.Key == "" {
			return nil, mongoerr.New(mongoerr.CannotCreateIndex, "Index key cannot be an empty string")
		}
		switch v := k.Value.(type) {
		case string:
			if unsupportedKinds[v] || v == "wildcard" {
				return nil, mongoerr.Newf(mongoerr.CannotCreateIndex, "Cairn does not support %q indexes yet (key pattern %s)", v, bsonutil.Format(key))
			}
			return nil, mongoerr.Newf(mongoerr.CannotCreateIndex, "Unknown index plugin '%s'", v)
		default:
			f, ok := bsonutil.ToFloat64(v)
			if !ok || f == 0 {
				return nil, mongoerr.Newf(mongoerr.CannotCreateIndex, "Values in the index key pattern can only be numbers or strings, and numbers must be non-zero: %s", bsonutil.Format(key))
			}
		}
		if strings.HasSuffix(k.Key, "$**") {
			return nil, mongoerr.New(mongoerr.CannotCreateIndex, "Cairn does not support wildcard indexes yet")
		}
	}
	if !hasName {
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'name' field is a required property of an index specification")
	}
	if name == "" {
		return nil, mongoerr.New(mongoerr.CannotCreateIndex, "The index name cannot be empty")
	}
	out = append(out, bson.E{Key: "key", Value: key}, bson.E{Key: "name", Value: name})
	return append(out, opts...), nil
}

func isIDKey(key bson.D) bool {
	return len(key) == 1 && key[0].Key == "_id"
}

// optionsWithoutName returns the index options that matter for equivalence.
func specOptions(spec bson.D) bson.D {
	var out bson.D
	for _, e := range spec {
		switch e.Key {
		case "v", "key", "name", "hidden":
			continue
		}
		out = append(out, e)
	}
	return out
}

// CreateIndexes creates indexes on db.coll (creating the collection if it
// does not exist). It returns the number of indexes before and after and
// whether the collection was created. Existing identical indexes are
// skipped.
func (c *Catalog) CreateIndexes(ctx context.Context, db, name string, specs []bson.D) (before, after int, created bool, err error) {
	norm := make([]bson.D, len(specs))
	for i, s := range specs {
		if norm[i], err = NormalizeIndexSpec(s); err != nil {
			return 0, 0, false, err
		}
	}
	if err := ValidateCollName(db, name); err != nil {
		return 0, 0, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, ok := c.colls[db+"."+name]
	if !ok {
		coll, err = c.createLocked(ctx, db, name, CreateOptions{})
		if err != nil {
			return 0, 0, false, err
		}
		created = true
	}
	before = len(coll.Indexes)
	m := coll.meta
	m.Indexes = append([]indexMeta(nil), m.Indexes...)
	var added []indexMeta
	for _, spec := range norm {
		key := bsonutil.Get(spec, "key").(bson.D)
		nm := bsonutil.Get(spec, "name").(string)
		dup := false
		for _, im := range m.Indexes {
			ekey, _ := bsonutil.Get(im.Spec, "key").(bson.D)
			ename, _ := bsonutil.Get(im.Spec, "name").(string)
			sameKey := bsonutil.Equal(ekey, key) && sameKeyTypes(ekey, key)
			sameOpts := bsonutil.Equal(specOptions(im.Spec), specOptions(spec))
			switch {
			case ename == nm && sameKey && sameOpts:
				dup = true
			case ename == nm && isIDKey(key) && sameKey:
				dup = true
			case ename == nm:
				return 0, 0, false, mongoerr.Newf(mongoerr.IndexKeySpecsConflict, "An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: %s, existing index: %s", bsonutil.Format(spec), bsonutil.Format(im.Spec))
			case sameKey && sameOpts:
				return 0, 0, false, mongoerr.Newf(mongoerr.IndexOptionsConflict, "Index already exists with a different name: %s", ename)
			case sameKey && isIDKey(key):
				return 0, 0, false, mongoerr.Newf(mongoerr.IndexOptionsConflict, "Index already exists with a different name: %s", ename)
			case sameKey:
				return 0, 0, false, mongoerr.Newf(mongoerr.IndexOptionsConflict, "An equivalent index already exists with the same name but different options. Requested index: %s, existing index: %s", bsonutil.Format(spec), bsonutil.Format(im.Spec))
			}
			if dup {
				break
			}
		}
		if dup {
			continue
		}
		if isIDKey(key) {
			return 0, 0, false, mongoerr.New(mongoerr.CannotCreateIndex, "The _id index cannot have options other than the default ones")
		}
		im := indexMeta{ID: m.NextIndexID, Spec: spec}
		m.NextIndexID++
		m.Indexes = append(m.Indexes, im)
		added = append(added, im)
	}
	if len(added) == 0 {
		return before, before, created, nil
	}
	nc, err := buildCollection(m)
	if err != nil {
		return 0, 0, false, err
	}
	err = c.eng.Update(ctx, storage.UpdateOptions{}, func(txn storage.Txn) error {
		w := &Writer{c: c, txn: txn, stats: map[uint64]*statDelta{}, building: true}
		var newIx []*Index
		for _, im := range added {
			newIx = append(newIx, nc.Index(bsonutil.Get(im.Spec, "name").(string)))
		}
		only := &Collection{DB: nc.DB, Name: nc.Name, ID: nc.ID, Indexes: newIx}
		// Stream the records: holding them all (as the build once did)
		// took the whole collection's size in memory. The iterator does
		// not see the index entries written meanwhile (another prefix).
		it, err := scanRecords(txn, nc, false)
		if err != nil {
			return err
		}
		defer it.Close()
		for {
			raw, err := it.NextView()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			doc, err := bsonutil.Decode(raw)
			if err != nil {
				return fmt.Errorf("catalog: decode stored document: %w", err)
			}
			encID := append([]byte(nil), it.it.Key()[9:]...)
			entries, err := w.indexEntries(only, doc, encID, true)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := w.checkUnique(only, e, encID); err != nil {
					return err
				}
			}
			if err := w.setEntries(entries); err != nil {
				return err
			}
		}
		return putMeta(txn, m)
	})
	if err != nil {
		return 0, 0, false, err
	}
	c.colls[nc.NS()] = nc
	return before, len(nc.Indexes), created, nil
}

func sameKeyTypes(a, b bson.D) bool {
	for i := range a {
		if bsonutil.TypeName(a[i].Value) == "string" != (bsonutil.TypeName(b[i].Value) == "string") {
			return false
		}
	}
	return true
}

// DropIndexes drops the named indexes ("*" drops all but _id). It returns
// the number of indexes before the drop.
func (c *Catalog) DropIndexes(ctx context.Context, db, name string, names []string, byKey bson.D) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, ok := c.colls[db+"."+name]
	if !ok {
		return 0, mongoerr.Newf(mongoerr.NamespaceNotFound, "ns not found %s.%s", db, name)
	}
	before := len(coll.Indexes)
	drop := map[uint32]bool{}
	switch {
	case byKey != nil:
		var found *Index
		for _, ix := range coll.Indexes {
			if bsonutil.Equal(ix.Key, byKey) {
				found = ix
			}
		}
		if found == nil {
			return 0, mongoerr.Newf(mongoerr.IndexNotFound, "can't find index with key: %s", bsonutil.Format(byKey))
		}
		if found.IsID() {
			return 0, mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
		}
		drop[found.ID] = true
	case len(names) == 1 && names[0] == "*":
		for _, ix := range coll.Indexes {
			if !ix.IsID() {
				drop[ix.ID] = true
			}
		}
	default:
		for _, n := range names {
			ix := coll.Index(n)
			if ix == nil {
				return 0, mongoerr.Newf(mongoerr.IndexNotFound, "index not found with name [%s]", n)
			}
			if ix.IsID() {
				return 0, mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
			}
			drop[ix.ID] = true
		}
	}
	m := coll.meta
	m.Indexes = nil
	for _, im := range coll.meta.Indexes {
		if !drop[im.ID] {
			m.Indexes = append(m.Indexes, im)
		}
	}
	var nc *Collection
	err := c.ddl(ctx, func(txn storage.Txn) error {
		for id := range drop {
			lo, hi := prefixRange(idxPrefix(coll.ID, id))
			if err := txn.DeleteRange(lo, hi); err != nil {
				return err
			}
		}
		if err := putMeta(txn, m); err != nil {
			return err
		}
		var err error
		nc, err = buildCollection(m)
		return err
	})
	if err != nil {
		return 0, err
	}
	c.colls[nc.NS()] = nc
	return before, nil
}
