package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// MaxDocumentSize is MongoDB's maxBsonObjectSize.
const MaxDocumentSize = 16 * 1024 * 1024

// Writer applies document writes inside one storage transaction. Each of
// its methods either applies completely or not at all: all checks (for
// example duplicate keys) run before anything is written, so a caller may
// report a per-document error and go on with the next document.
type Writer struct {
	c     *Catalog
	txn   storage.Txn
	stats map[uint64]*statDelta
	// rids and located serve record-id keyed collections (recordid.go);
	// they stay nil in writes that touch none.
	rids    map[uint64]*ridState
	located map[*byte]uint64
	// building is set while an index build fills new indexes: existing
	// duplicates do not violate prepareUnique.
	building bool
	// reads serves the point reads of uniqueness checks (a plain Get,
	// then one reused cursor when the transaction offers it).
	reads pointReads
}

// get reads key in the transaction (see pointReads).
func (w *Writer) get(key []byte) ([]byte, error) {
	w.reads.r = w.txn
	return w.reads.get(key)
}

type statDelta struct{ count, size int64 }

// Write runs fn in one transaction. If fn returns an error, nothing is
// applied. opts says how durable the writes are when Write returns (see
// storage.UpdateOptions).
func (c *Catalog) Write(ctx context.Context, opts storage.UpdateOptions, fn func(w *Writer) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var w *Writer
	err := c.eng.Update(ctx, opts, func(txn storage.Txn) error {
		w = &Writer{c: c, txn: txn, stats: map[uint64]*statDelta{}}
		err := fn(w)
		w.reads.close()
		if err != nil {
			return err
		}
		if w.rids != nil {
			if err := w.flushRecordIDs(); err != nil {
				return err
			}
		}
		return w.flushStats()
	})
	if err == nil && w != nil && w.rids != nil {
		c.signalInserts(w)
	}
	return err
}

// Collection returns the current metadata of db.name inside the write, or
// nil if it does not exist.
func (w *Writer) Collection(db, name string) *Collection { return w.c.colls[db+"."+name] }

func (w *Writer) delta(id uint64) *statDelta {
	d := w.stats[id]
	if d == nil {
		d = &statDelta{}
		w.stats[id] = d
	}
	return d
}

func (w *Writer) flushStats() error {
	an, _ := w.txn.(storage.ApplyNotifier)
	cache := w.c.committed
	if an == nil {
		cache = nil
	}
	for id, d := range w.stats {
		if d.count == 0 && d.size == 0 {
			continue
		}
		count, size, ok := cache.get(id)
		if !ok {
			var err error
			if count, size, err = readStats(w.txn, id); err != nil {
				return err
			}
		}
		count, size = count+d.count, size+d.size
		v := binary.BigEndian.AppendUint64(nil, uint64(count))
		v = binary.BigEndian.AppendUint64(v, uint64(size))
		if err := w.txn.Set(statKey(id), v); err != nil {
			return err
		}
		if cache != nil {
			an.OnApply(func() { cache.put(id, count, size) })
		}
	}
	return nil
}

// committedStats holds, on an engine that is storage.Exclusive, each
// collection's statistics as last committed, so that a write need not
// read its statistics key before adding to it (a Get per insert). Only
// flushStats writes the key, and it records the new value once its
// transaction is applied, under the engine's write lock
// (storage.ApplyNotifier): the next transaction sees exactly what it
// would have read. A failed commit records nothing. Dropped collections'
// entries stay; their ids are never reused. A nil cache holds nothing.
type committedStats struct {
	mu sync.Mutex
	m  map[uint64][2]int64
}

func newCommittedStats(eng storage.Engine) *committedStats {
	if exclusive(eng) {
		return &committedStats{m: map[uint64][2]int64{}}
	}
	return nil
}

func (c *committedStats) get(id uint64) (count, size int64, ok bool) {
	if c == nil {
		return 0, 0, false
	}
	c.mu.Lock()
	v, ok := c.m[id]
	c.mu.Unlock()
	return v[0], v[1], ok
}

func (c *committedStats) put(id uint64, count, size int64) {
	c.mu.Lock()
	c.m[id] = [2]int64{count, size}
	c.mu.Unlock()
}

func readStats(r storage.Reader, id uint64) (count, size int64, err error) {
	v, err := r.Get(statKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if len(v) != 16 {
		return 0, 0, fmt.Errorf("catalog: corrupt stats record (%d bytes)", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:])), nil
}

// PrepareInsert readies a document for insertion: it adds a generated
// ObjectId _id if there is none, moves _id to the front, and validates _id
// and the document size.
func PrepareInsert(doc bson.D) (bson.D, error) {
	idPos := -1
	for i, e := range doc {
		if e.Key == "_id" {
			idPos = i
			break
		}
	}
	switch {
	case idPos < 0:
		out := make(bson.D, 0, len(doc)+1)
		out = append(out, bson.E{Key: "_id", Value: bson.NewObjectID()})
		doc = append(out, doc...)
	case idPos > 0:
		out := make(bson.D, 0, len(doc))
		out = append(out, doc[idPos])
		out = append(out, doc[:idPos]...)
		doc = append(out, doc[idPos+1:]...)
	}
	if err := ValidateID(doc[0].Value); err != nil {
		return nil, err
	}
	return doc, nil
}

// ValidateID checks that v may be an _id value.
func ValidateID(v any) error {
	switch v.(type) {
	case bson.A:
		return mongoerr.New(mongoerr.InvalidIDField, "The '_id' value cannot be of type array")
	case bson.Regex:
		return mongoerr.New(mongoerr.InvalidIDField, "The '_id' value cannot be of type regex")
	case bson.Undefined:
		return mongoerr.New(mongoerr.InvalidIDField, "can't use a undefined for _id")
	}
	return nil
}

func docID(doc bson.D) any {
	if len(doc) > 0 && doc[0].Key == "_id" {
		return doc[0].Value
	}
	return bsonutil.Get(doc, "_id")
}

func dupKeyError(coll *Collection, ix *Index, vals []any) error {
	kv := make(bson.D, len(ix.fields))
	for i, f := range ix.fields {
		kv[i] = bson.E{Key: f, Value: vals[i]}
	}
	shown := make(bson.D, len(kv))
	for i, e := range kv {
		shown[i] = bson.E{Key: e.Key, Value: e.Value}
	}
	e := mongoerr.Newf(mongoerr.DuplicateKey, "E11000 duplicate key error collection: %s index: %s dup key: %s",
		coll.NS(), ix.Name, bsonutil.Format(shown))
	e.Extra = []mongoerr.ExtraField{{Key: "keyPattern", Value: ix.Key}, {Key: "keyValue", Value: kv}}
	return e
}

// indexEntry is one secondary-index entry of a document.
type indexEntry struct {
	ix    *Index
	key   []byte // the full storage key
	value []byte // enc(_id) for unique indexes, empty otherwise
	vals  []any  // the key's field values, for duplicate key errors
}

// indexEntries computes the secondary-index entries of doc, whose encoded
// _id is encID. With note, it also records indexes that doc makes
// multikey (writes of new document versions; never needed for removals).
func (w *Writer) indexEntries(coll *Collection, doc bson.D, encID []byte, note bool) ([]indexEntry, error) {
	var out []indexEntry
	for _, ix := range coll.Indexes {
		if ix.IsID() && !coll.meta.RecordIDs {
			continue // the records are the _id index
		}
		keys, vals, multi, err := ix.entries(doc)
		if err != nil {
			return nil, err
		}
		if note && multi {
			if err := w.markMultikey(coll, ix); err != nil {
				return nil, err
			}
		}
		prefix := idxPrefix(coll.ID, ix.ID)
		for i, k := range keys {
			e := indexEntry{ix: ix, key: append(append([]byte(nil), prefix...), k...), vals: vals[i]}
			if ix.Unique {
				e.value = encID
			} else {
				e.key = append(e.key, encID...)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// checkUnique fails with DuplicateKey if e is a unique-index entry that
// another document (not encID) holds already.
func (w *Writer) checkUnique(coll *Collection, e indexEntry, encID []byte) error {
	if !e.ix.Unique {
		if e.ix.PrepareUnique && !w.building {
			return w.checkPrepareUnique(coll, e, encID)
		}
		return nil
	}
	existing, err := w.get(e.key)
	switch {
	case err == nil && !bytes.Equal(existing, encID):
		return dupKeyError(coll, e.ix, e.vals)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return err
	}
	return nil
}

// setEntries writes index entries.
func (w *Writer) setEntries(entries []indexEntry) error {
	for _, e := range entries {
		if err := w.txn.Set(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

// Insert inserts doc, which must have been through PrepareInsert. It fails
// with DuplicateKey if the _id or a unique index key exists.
func (w *Writer) Insert(coll *Collection, doc bson.D) error {
	raw, err := bsonutil.Marshal(doc)
	if err != nil {
		return mongoerr.Newf(mongoerr.BadValue, "cannot encode document: %v", err)
	}
	if len(raw) > MaxDocumentSize {
		return mongoerr.Newf(mongoerr.BadValue, "object to insert too large. size in bytes: %d, max size: %d", len(raw), MaxDocumentSize)
	}
	if coll.meta.RecordIDs {
		return w.insertRecord(coll, doc, raw)
	}
	id := docID(doc)
	rk := recKey(coll.ID, id)
	encID := rk[9:]
	if err := w.checkNewID(coll, rk, id); err != nil {
		return err
	}
	entries, err := w.indexEntries(coll, doc, encID, true)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.checkUnique(coll, e, encID); err != nil {
			return err
		}
	}
	w.c.idHigh.add(coll.ID, rk)
	if err := w.txn.Set(rk, raw); err != nil {
		return err
	}
	if err := w.setEntries(entries); err != nil {
		return err
	}
	d := w.delta(coll.ID)
	d.count++
	d.size += int64(len(raw))
	return nil
}

// Replace replaces the stored document old (as read in this transaction)
// by doc, which has the same _id. oldDoc is old decoded in full, or nil
// (Replace decodes it then).
func (w *Writer) Replace(coll *Collection, old bson.Raw, oldDoc, doc bson.D) error {
	raw, err := bsonutil.Marshal(doc)
	if err != nil {
		return mongoerr.Newf(mongoerr.BadValue, "cannot encode document: %v", err)
	}
	if len(raw) > MaxDocumentSize {
		return mongoerr.Newf(mongoerr.BSONObjectTooLarge, "Resulting document after update is larger than %d", MaxDocumentSize)
	}
	if oldDoc == nil {
		if oldDoc, err = bsonutil.Decode(old); err != nil {
			return fmt.Errorf("catalog: decode stored document: %w", err)
		}
	}
	if coll.meta.RecordIDs {
		return w.replaceRecord(coll, old, oldDoc, doc, raw)
	}
	id := docID(doc)
	rk := recKey(coll.ID, id)
	encID := rk[9:]
	oldEntries, err := w.indexEntries(coll, oldDoc, encID, false)
	if err != nil {
		return err
	}
	newEntries, err := w.indexEntries(coll, doc, encID, true)
	if err != nil {
		return err
	}
	if err := w.replaceEntries(coll, oldEntries, newEntries, encID); err != nil {
		return err
	}
	if err := w.txn.Set(rk, raw); err != nil {
		return err
	}
	w.delta(coll.ID).size += int64(len(raw) - len(old))
	return nil
}

// Delete removes the stored document old (as read in this transaction).
func (w *Writer) Delete(coll *Collection, old bson.Raw) error {
	oldDoc, err := bsonutil.Decode(old)
	if err != nil {
		return fmt.Errorf("catalog: decode stored document: %w", err)
	}
	if coll.meta.RecordIDs {
		return w.deleteRecord(coll, old, oldDoc)
	}
	rk := recKey(coll.ID, docID(oldDoc))
	entries, err := w.indexEntries(coll, oldDoc, rk[9:], false)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.txn.Delete(e.key); err != nil {
			return err
		}
	}
	if err := w.txn.Delete(rk); err != nil {
		return err
	}
	d := w.delta(coll.ID)
	d.count--
	d.size -= int64(len(old))
	return nil
}

// FindID returns the stored document with the given _id, or nil.
func (w *Writer) FindID(coll *Collection, id any) (bson.Raw, error) {
	if coll.meta.RecordIDs {
		raw, rid, err := findRecordByID(w.txn, coll, id)
		if raw != nil {
			w.remember(raw, rid)
		}
		return raw, err
	}
	return findID(w.txn, coll, id)
}

// Scan iterates over coll's documents in _id order (natural order for
// record-id keyed collections) inside the transaction.
func (w *Writer) Scan(coll *Collection, reverse bool) (*RecordIter, error) {
	ri, err := scanRecords(w.txn, coll, reverse)
	if err == nil && coll.meta.RecordIDs {
		ri.onRecord = func(key []byte, raw bson.Raw) {
			if rid, ok := decodeRID(key); ok {
				w.remember(raw, rid)
			}
		}
	}
	return ri, err
}

func findID(r storage.Reader, coll *Collection, id any) (bson.Raw, error) {
	if coll.meta.RecordIDs {
		raw, _, err := findRecordByID(r, coll, id)
		return raw, err
	}
	v, err := r.Get(recKey(coll.ID, id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return bson.Raw(v), nil // Get's value is ours
}

// EncodeID returns the order-preserving encoding of an _id value.
func EncodeID(id any) []byte { return index.AppendValue(nil, id, false) }

// replaceEntries moves a document's index entries from oldEntries to
// newEntries: keys in both stay, new keys are checked for uniqueness
// (against other documents than encID) and written, keys gone are
// deleted.
func (w *Writer) replaceEntries(coll *Collection, oldEntries, newEntries []indexEntry, encID []byte) error {
	oldKeys := make(map[string]bool, len(oldEntries))
	for _, e := range oldEntries {
		oldKeys[string(e.key)] = true
	}
	newKeys := make(map[string]bool, len(newEntries))
	added := newEntries[:0:0]
	for _, e := range newEntries {
		newKeys[string(e.key)] = true
		if oldKeys[string(e.key)] {
			continue
		}
		if err := w.checkUnique(coll, e, encID); err != nil {
			return err
		}
		added = append(added, e)
	}
	for _, e := range oldEntries {
		if !newKeys[string(e.key)] {
			if err := w.txn.Delete(e.key); err != nil {
				return err
			}
		}
	}
	return w.setEntries(added)
}

// checkNewID fails with DuplicateKey if record key rk (of _id id) is taken.
func (w *Writer) checkNewID(coll *Collection, rk []byte, id any) error {
	absent, err := w.c.idHigh.absent(w.txn, coll.ID, rk)
	if err != nil || absent {
		return err
	}
	if _, err := w.get(rk); err == nil {
		return dupKeyError(coll, coll.Indexes[0], []any{id})
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// RawInsertable reports whether InsertRaw can store documents in coll:
// it is keyed by _id and has no index but _id's, so a document's stored
// form is all there is to write.
func (coll *Collection) RawInsertable() bool {
	return !coll.meta.RecordIDs && len(coll.Indexes) == 1 && coll.Indexes[0].IsID()
}

// InsertRaw stores raw, a document in its stored form whose first field
// is _id (with the decoded value id), in coll, for which RawInsertable
// holds. It is Insert without decoding and re-encoding the document; the
// caller has checked what PrepareInsert checks.
func (w *Writer) InsertRaw(coll *Collection, raw []byte, id any) error {
	if len(raw) > MaxDocumentSize {
		return mongoerr.Newf(mongoerr.BadValue, "object to insert too large. size in bytes: %d, max size: %d", len(raw), MaxDocumentSize)
	}
	rk := recKey(coll.ID, id)
	if err := w.checkNewID(coll, rk, id); err != nil {
		return err
	}
	w.c.idHigh.add(coll.ID, rk)
	if err := w.txn.Set(rk, raw); err != nil {
		return err
	}
	d := w.delta(coll.ID)
	d.count++
	d.size += int64(len(raw))
	return nil
}

// RawReplaceable reports whether ReplaceRaw can store an update that
// changes only the given top-level fields: the collection is keyed by _id
// and no index key or partial filter reads any of them, so every index
// entry stays as it is.
func (coll *Collection) RawReplaceable(fields []string) bool {
	if len(fields) == 0 || coll.meta.RecordIDs {
		return false
	}
	for _, ix := range coll.Indexes {
		if ix.IsID() {
			continue
		}
		if ix.Partial != nil {
			return false
		}
		for _, p := range ix.fields {
			top, _, _ := strings.Cut(p, ".")
			if slices.Contains(fields, top) {
				return false
			}
		}
	}
	return true
}

// ReplaceRaw stores raw in place of the stored document old (as read in
// this transaction), for an update that changed only top-level fields for
// which coll.RawReplaceable holds: raw keeps old's _id, and no index
// entry changes.
func (w *Writer) ReplaceRaw(coll *Collection, old bson.Raw, raw []byte) error {
	if len(raw) > MaxDocumentSize {
		return mongoerr.Newf(mongoerr.BSONObjectTooLarge, "Resulting document after update is larger than %d", MaxDocumentSize)
	}
	idv, err := bsoncore.Document(old).LookupErr("_id")
	if err != nil {
		return fmt.Errorf("catalog: stored document has no _id: %w", err)
	}
	id, err := bsonutil.DecodeValue(idv)
	if err != nil {
		return fmt.Errorf("catalog: decode stored _id: %w", err)
	}
	if err := w.txn.Set(recKey(coll.ID, id), raw); err != nil {
		return err
	}
	w.delta(coll.ID).size += int64(len(raw) - len(old))
	return nil
}
