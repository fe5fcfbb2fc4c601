package catalog

import (
	"crypto/rand"
	"fmt"

	"github.com/cairndb/cairn/internal/bsonutil"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// collMeta is the persisted description of a collection.
type collMeta struct {
	DB          string      `bson:"db"`
	Name        string      `bson:"name"`
	ID          uint64      `bson:"id"`
	UUID        bson.Binary `bson:"uuid"`
	Options     bson.D      `bson:"options"`
	Indexes     []indexMeta `bson:"indexes"`
	NextIndexID uint32      `bson:"nextIndexID"`
	// RecordIDs keys the records by record id instead of _id (capped and
	// time series collections; see recordid.go). CappedSize > 0 makes the
	// collection capped; TimeField makes it a time series collection.
	RecordIDs  bool   `bson:"recordIDs,omitempty"`
	CappedSize int64  `bson:"cappedSize,omitempty"`
	CappedMax  int64  `bson:"cappedMax,omitempty"`
	TimeField  string `bson:"timeField,omitempty"`
}

// indexMeta is the persisted description of an index. Spec is the index
// document as listIndexes reports it ({v, key, name, ...options}).
type indexMeta struct {
	ID   uint32 `bson:"id"`
	Spec bson.D `bson:"spec"`
}

// Index is an index of a collection, with its options decoded.
type Index struct {
	ID      uint32
	Name    string
	Key     bson.D // the key pattern
	Spec    bson.D // as listIndexes reports it
	Unique  bool
	Sparse  bool
	Hidden  bool
	Partial bson.D // partialFilterExpression, nil if none
	// PrepareUnique makes a non-unique index refuse new duplicate keys
	// (collMod's prepareUnique; existing duplicates stay).
	PrepareUnique bool
	// ExpireAfterSeconds is set for TTL indexes.
	ExpireAfterSeconds *int64

	fields []string
	desc   []bool
	// partialMatch evaluates the partial filter; nil if none.
	partialMatch func(bson.D) bool
	// tiesByRecordID: entries with equal keys are ordered by record id,
	// not _id (indexes of record-id keyed collections).
	tiesByRecordID bool
}

// Fields returns the key pattern's field paths in order.
func (ix *Index) Fields() []string { return ix.fields }

// IsID reports whether ix is the _id index.
func (ix *Index) IsID() bool { return ix.ID == 0 }

// Collection is a collection's metadata as of some moment. Collection
// values are immutable; DDL replaces them in the catalog.
type Collection struct {
	DB      string
	Name    string
	ID      uint64
	UUID    bson.Binary
	Options bson.D
	Indexes []*Index

	meta collMeta
}

// NS returns "db.name".
func (c *Collection) NS() string { return c.DB + "." + c.Name }

// Index returns the index named name, or nil.
func (c *Collection) Index(name string) *Index {
	for _, ix := range c.Indexes {
		if ix.Name == name {
			return ix
		}
	}
	return nil
}

func newUUID() bson.Binary {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return bson.Binary{Subtype: 4, Data: b[:]}
}

// IDIndexSpec is the _id index's spec.
func IDIndexSpec() bson.D {
	return bson.D{{Key: "v", Value: int32(2)}, {Key: "key", Value: bson.D{{Key: "_id", Value: int32(1)}}}, {Key: "name", Value: "_id_"}}
}

func buildCollection(m collMeta) (*Collection, error) {
	c := &Collection{DB: m.DB, Name: m.Name, ID: m.ID, UUID: m.UUID, Options: m.Options, meta: m}
	for _, im := range m.Indexes {
		ix, err := buildIndex(im)
		if err != nil {
			return nil, fmt.Errorf("catalog: collection %s.%s: %w", m.DB, m.Name, err)
		}
		c.Indexes = append(c.Indexes, ix)
	}
	markRecordIDIndexes(c)
	return c, nil
}

func buildIndex(im indexMeta) (*Index, error) {
	ix := &Index{ID: im.ID, Spec: im.Spec}
	for _, e := range im.Spec {
		switch e.Key {
		case "name":
			ix.Name, _ = e.Value.(string)
		case "key":
			ix.Key, _ = e.Value.(bson.D)
		case "unique":
			ix.Unique = bsonutil.IsTruthy(e.Value)
		case "sparse":
			ix.Sparse = bsonutil.IsTruthy(e.Value)
		case "hidden":
			ix.Hidden = bsonutil.IsTruthy(e.Value)
		case "prepareUnique":
			ix.PrepareUnique = bsonutil.IsTruthy(e.Value)
		case "partialFilterExpression":
			ix.Partial, _ = e.Value.(bson.D)
		case "expireAfterSeconds":
			if n, ok := bsonutil.ToInt64(e.Value); ok {
				ix.ExpireAfterSeconds = &n
			}
		}
	}
	if ix.ID == 0 {
		ix.Unique = true
	}
	for _, k := range ix.Key {
		ix.fields = append(ix.fields, k.Key)
		desc := false
		if f, ok := bsonutil.ToFloat64(k.Value); ok && f < 0 {
			desc = true
		}
		ix.desc = append(ix.desc, desc)
	}
	if ix.Partial != nil {
		m, err := partialMatcher(ix.Partial)
		if err != nil {
			return nil, err
		}
		ix.partialMatch = m
	}
	return ix, nil
}
