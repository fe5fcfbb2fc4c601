package catalog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Index-range scans for the query planner.
//
// A scan covers the keys of one index between two bounds given relative to
// the index's own key space: the bytes after tagIdx|collID|indexID, that is
// the order-preserving encoding of the key values (descending fields
// inverted). For the _id index the key space is the record keyspace, whose
// keys are enc(_id). Bounds are byte strings: lower inclusive, upper
// exclusive, nil for "unbounded".

// tagMultikey marks the multikey state of an index:
//
//	tagMultikey collID(8) indexID(4) -> 0x00 (not multikey) | 0x01 (multikey)
//
// The marker lives outside the index's key range so index scans, validation
// and dropIndexes' range delete never see it; collection and index ids are
// never reused, so a marker left behind by a drop is harmless.
const tagMultikey byte = 0x06

// multikeyTracked reports whether the write path records multikey markers
// (Writer.markMultikey is called for every index a write makes multikey). Until
// it does, an index without a marker must be assumed multikey.
var multikeyTracked = true

func multikeyKey(collID uint64, ixID uint32) []byte {
	k := idxPrefix(collID, ixID)
	k[0] = tagMultikey
	return k
}

// KeyDesc returns, for each field of the key pattern, whether it is
// descending.
func (ix *Index) KeyDesc() []bool { return ix.desc }

// IsMultikeyDoc reports whether doc makes ix multikey: some key path of
// the index traverses an array (an empty array included).
func (ix *Index) IsMultikeyDoc(doc bson.D) bool {
	if ix.IsID() {
		return false
	}
	for _, f := range ix.fields {
		if _, multi := keyValues(doc, f); multi {
			return true
		}
	}
	return false
}

// IndexIter iterates over index entries. Usage:
//
//	for it.Next() { use(it.Key(), it.ID()) }
//	if err := it.Err(); err != nil { ... }
//	it.Close()
//
// Key, ID and Record are valid until the next call to Next.
type IndexIter struct {
	it       storage.Iterator
	ix       *Index
	idRecs   bool // the entries are the records (the _id index of an _id-keyed collection)
	plen     int
	key, id  []byte
	rec      []byte
	err      error
	examined int64
}

func scanIndex(r storage.Reader, coll *Collection, ix *Index, lower, upper []byte, reverse bool) (*IndexIter, error) {
	if coll == nil || ix == nil {
		return nil, errors.New("catalog: ScanIndex: nil collection or index")
	}
	var prefix []byte
	idRecs := ix.IsID() && !coll.meta.RecordIDs
	if idRecs {
		prefix = recPrefix(coll.ID)
	} else {
		prefix = idxPrefix(coll.ID, ix.ID)
	}
	lo := append(append([]byte(nil), prefix...), lower...)
	var hi []byte
	if upper == nil {
		hi = storage.PrefixEnd(prefix)
	} else {
		hi = append(append([]byte(nil), prefix...), upper...)
	}
	it, err := r.Scan(lo, hi, reverse)
	if err != nil {
		return nil, fmt.Errorf("catalog: scan index %s: %w", ix.Name, err)
	}
	return &IndexIter{it: it, ix: ix, idRecs: idRecs, plen: len(prefix)}, nil
}

// ScanIndex iterates over the entries of ix whose encoded key lies in
// [lower, upper) (relative to the index key space; nil means unbounded),
// in key order or in reverse.
func (s *Snap) ScanIndex(coll *Collection, ix *Index, lower, upper []byte, reverse bool) (*IndexIter, error) {
	return scanIndex(s.s, coll, ix, lower, upper, reverse)
}

// ScanIndex is Snap.ScanIndex inside the write transaction.
func (w *Writer) ScanIndex(coll *Collection, ix *Index, lower, upper []byte, reverse bool) (*IndexIter, error) {
	return scanIndex(w.txn, coll, ix, lower, upper, reverse)
}

// Next advances to the next entry.
func (ii *IndexIter) Next() bool {
	if ii.err != nil || !ii.it.Next() {
		return false
	}
	k := ii.it.Key()
	if len(k) < ii.plen {
		ii.err = fmt.Errorf("catalog: index %s: short key", ii.ix.Name)
		return false
	}
	ii.examined++
	body := k[ii.plen:]
	ii.rec = nil
	switch {
	case ii.idRecs:
		ii.key, ii.id = body, body
		ii.rec = ii.it.Value()
	case ii.ix.Unique:
		ii.key, ii.id = body, ii.it.Value()
	default:
		_, rest, err := index.SplitKey(body, ii.ix.desc)
		if err != nil {
			ii.err = fmt.Errorf("catalog: index %s: %w", ii.ix.Name, err)
			return false
		}
		ii.key, ii.id = body[:len(body)-len(rest)], rest
	}
	return true
}

// Key returns the entry's encoded key values.
func (ii *IndexIter) Key() []byte { return ii.key }

// ID returns the encoded _id of the entry's document.
func (ii *IndexIter) ID() []byte { return ii.id }

// Record returns the document itself when scanning the _id index (whose
// entries are the records), else nil.
func (ii *IndexIter) Record() bson.Raw { return ii.rec }

// Examined returns the number of entries read so far.
func (ii *IndexIter) Examined() int64 { return ii.examined }

// Err returns the error that ended the iteration, if any.
func (ii *IndexIter) Err() error {
	if ii.err != nil {
		return ii.err
	}
	return ii.it.Err()
}

// Close releases the iterator.
func (ii *IndexIter) Close() error { return ii.it.Close() }

func fetchEncoded(r storage.Reader, coll *Collection, encID []byte) (bson.Raw, error) {
	k := append(recPrefix(coll.ID), encID...)
	v, err := r.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return bson.Raw(v), nil // Get's value is ours
}

// FetchEncoded returns the document whose encoded _id is encID (as an
// IndexIter reports it), or nil.
func (s *Snap) FetchEncoded(coll *Collection, encID []byte) (bson.Raw, error) {
	return fetchEncoded(s.s, coll, encID)
}

// FetchEncoded is Snap.FetchEncoded inside the write transaction.
func (w *Writer) FetchEncoded(coll *Collection, encID []byte) (bson.Raw, error) {
	raw, err := fetchEncoded(w.txn, coll, encID)
	if raw != nil && coll.meta.RecordIDs {
		if rid, ok := decodeRID(encID); ok {
			w.remember(raw, rid)
		}
	}
	return raw, err
}

func indexMultikey(mk *multikeyCache, r storage.Reader, coll *Collection, ix *Index) (bool, error) {
	if ix.IsID() {
		return false, nil
	}
	if !multikeyTracked {
		return true, nil
	}
	id := mkID{coll.ID, ix.ID}
	if known, ok := mk.load(id); ok {
		return known, nil
	}
	v, err := r.Get(multikeyKey(coll.ID, ix.ID))
	if errors.Is(err, storage.ErrNotFound) {
		return mk.learn(id, false), nil
	}
	if err != nil {
		return false, err
	}
	return mk.learn(id, len(v) > 0 && v[0] != 0), nil
}

// multikeyCache remembers, on an engine that is storage.Exclusive, the
// multikey marker of each index once read, so that planning a query does
// not read it every time. A marker only ever goes from absent to set (an
// index id is not reused: dropping a collection retires its id, dropping
// an index its index id), and Writer.markMultikey records "set" here
// before its transaction commits, so a snapshot that can see a multikey
// document always finds "set" here too. A cached "not multikey" is
// stored only where nothing is stored yet, so it never hides a "set"
// that a concurrent write recorded. A nil cache remembers nothing (a
// shared engine, where other processes write markers too).
type multikeyCache struct{ m sync.Map } // mkID -> bool

type mkID struct {
	coll uint64
	ix   uint32
}

func newMultikeyCache(eng storage.Engine) *multikeyCache {
	if exclusive(eng) {
		return &multikeyCache{}
	}
	return nil
}

func (c *multikeyCache) load(id mkID) (multikey, ok bool) {
	if c == nil {
		return false, false
	}
	v, ok := c.m.Load(id)
	if !ok {
		return false, false
	}
	return v.(bool), true
}

// learn records what a read of the marker found and returns what the
// cache now holds for it (true if a write has meanwhile set it).
func (c *multikeyCache) learn(id mkID, multikey bool) bool {
	if c == nil {
		return multikey
	}
	if multikey {
		c.m.Store(id, true)
		return true
	}
	v, _ := c.m.LoadOrStore(id, false)
	return v.(bool)
}

// set records that a write is making the index multikey.
func (c *multikeyCache) set(id mkID) {
	if c != nil {
		c.m.Store(id, true)
	}
}

// IndexMultikey reports whether ix may hold several entries for one
// document or entries for arrays (some document has an array along one of
// its key paths). The _id index never is. Without multikey tracking in the
// write path every secondary index is reported multikey.
func (s *Snap) IndexMultikey(coll *Collection, ix *Index) (bool, error) {
	return indexMultikey(s.mk, s.s, coll, ix)
}

// IndexMultikey is Snap.IndexMultikey inside the write transaction.
func (w *Writer) IndexMultikey(coll *Collection, ix *Index) (bool, error) {
	return indexMultikey(w.c.multikey, w.txn, coll, ix)
}

// noteMultikey records that ix is multikey if doc makes it so.
func (w *Writer) noteMultikey(coll *Collection, ix *Index, doc bson.D) error {
	if ix.IsID() || !ix.IsMultikeyDoc(doc) {
		return nil
	}
	return w.markMultikey(coll, ix)
}

// markMultikey records that ix is multikey. The write path calls it for
// each secondary index a new document version makes multikey
// (Writer.indexEntries covers inserts, replacements and index builds); see
// multikeyTracked.
func (w *Writer) markMultikey(coll *Collection, ix *Index) error {
	// Before the marker can commit (see multikeyCache).
	w.c.multikey.set(mkID{coll.ID, ix.ID})
	k := multikeyKey(coll.ID, ix.ID)
	if v, err := w.txn.Get(k); err == nil && len(v) > 0 && v[0] != 0 {
		return nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return w.txn.Set(k, []byte{1})
}
