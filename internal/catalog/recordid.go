package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Record-id keyed collections.
//
// A normal collection keys its records by the order-preserving encoding of
// _id, so its records are its _id index. Capped and time series
// collections instead key their records by a record id: a per-collection
// sequence number assigned at insert that is never reused, so that a
// collection scan returns documents in insertion ("natural") order and
// documents need not have distinct _id values:
//
//	tagRec       collID(8) rid(8)            -> the document
//	tagRecordIDs collID(8)                   -> next rid(8) low(8)
//	tagIdx       collID(8) 0(4) enc(_id)     -> rid(8)   (capped: a unique _id index)
//	tagIdx       collID(8) ixID(4) enc(key)  -> rid(8) or enc(key) rid(8) -> empty (other indexes)
//
// rid is big-endian, so key order is insertion order. The sequence record
// holds the next record id and a low-water mark: every record id below it
// was evicted from a capped collection, so scans and eviction start there
// rather than walking over deleted keys. The sequence record is written in
// the same transaction as the records.
//
// A capped collection has a real, unique _id index (index id 0, stored
// like a secondary index); a time series collection has no _id index at
// all, and its documents must hold a date in the time field.
//
// Everything that differs from the _id-keyed path lives in this file; the
// normal path only checks Collection.meta.RecordIDs once per write.
const tagRecordIDs byte = 0x07

// CappedLimits are a capped collection's limits: Size bytes (required,
// positive) and at most Max documents (0: no document limit).
type CappedLimits struct {
	Size int64
	Max  int64
}

func recordIDsKey(collID uint64) []byte { return collPrefix(tagRecordIDs, collID) }

func appendRID(dst []byte, rid uint64) []byte { return binary.BigEndian.AppendUint64(dst, rid) }

func ridRecKey(collID, rid uint64) []byte { return appendRID(recPrefix(collID), rid) }

// decodeRID returns the record id of a record key or an encoded record id.
func decodeRID(b []byte) (uint64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[len(b)-8:]), true
}

// applyLayout sets the record layout of a new collection's metadata from
// the create options.
func (o CreateOptions) applyLayout(m *collMeta) error {
	switch {
	case o.Capped != nil && o.TimeField != "":
		return mongoerr.New(mongoerr.InvalidOptions, "a time series collection cannot be capped")
	case o.Capped != nil:
		if o.Capped.Size <= 0 {
			return mongoerr.New(mongoerr.InvalidOptions, "a capped collection needs a positive size")
		}
		m.RecordIDs, m.CappedSize, m.CappedMax = true, o.Capped.Size, max(o.Capped.Max, 0)
	case o.TimeField != "":
		m.RecordIDs, m.TimeField = true, o.TimeField
		m.Indexes = nil // no _id index
	}
	return nil
}

// RecordIDKeyed reports whether c's records are keyed by record id
// (capped and time series collections) rather than by _id.
func (c *Collection) RecordIDKeyed() bool { return c.meta.RecordIDs }

// Capped returns a capped collection's limits; ok is false for other
// collections.
func (c *Collection) Capped() (limits CappedLimits, ok bool) {
	if c.meta.CappedSize <= 0 {
		return CappedLimits{}, false
	}
	return CappedLimits{Size: c.meta.CappedSize, Max: c.meta.CappedMax}, true
}

// TimeField returns a time series collection's time field, "" for other
// collections.
func (c *Collection) TimeField() string { return c.meta.TimeField }

// markRecordIDIndexes notes, on the indexes of a record-id keyed
// collection, that entries with equal keys are ordered by record id, not
// by _id.
func markRecordIDIndexes(c *Collection) {
	if !c.meta.RecordIDs {
		return
	}
	for _, ix := range c.Indexes {
		ix.tiesByRecordID = true
	}
}

// TiesByID reports whether entries of ix with equal keys are ordered by
// _id (true for indexes of _id-keyed collections). Indexes of record-id
// keyed collections order ties by insertion.
func (ix *Index) TiesByID() bool { return !ix.tiesByRecordID }

// ---- per-write state ----

// ridState is a Writer's view of one record-id keyed collection's
// sequence record and statistics.
type ridState struct {
	next, low   uint64
	count, size int64 // stored statistics before this write (add the Writer's delta)
	dirty       bool
	inserted    bool
}

func readRecordIDs(r storage.Reader, collID uint64) (next, low uint64, err error) {
	v, err := r.Get(recordIDsKey(collID))
	if errors.Is(err, storage.ErrNotFound) {
		return 1, 1, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if len(v) != 16 {
		return 0, 0, fmt.Errorf("catalog: corrupt record id sequence (%d bytes)", len(v))
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), nil
}

func (w *Writer) ridState(coll *Collection) (*ridState, error) {
	if st := w.rids[coll.ID]; st != nil {
		return st, nil
	}
	next, low, err := readRecordIDs(w.txn, coll.ID)
	if err != nil {
		return nil, err
	}
	count, size, err := readStats(w.txn, coll.ID)
	if err != nil {
		return nil, err
	}
	if w.rids == nil {
		w.rids = map[uint64]*ridState{}
	}
	st := &ridState{next: next, low: low, count: count, size: size}
	w.rids[coll.ID] = st
	return st, nil
}

func (w *Writer) flushRecordIDs() error {
	for id, st := range w.rids {
		if !st.dirty {
			continue
		}
		v := appendRID(appendRID(nil, st.next), st.low)
		if err := w.txn.Set(recordIDsKey(id), v); err != nil {
			return err
		}
	}
	return nil
}

// remember notes the record id of a document this write read from a
// record-id keyed collection, so that Replace and Delete can find it.
func (w *Writer) remember(raw bson.Raw, rid uint64) {
	if len(raw) == 0 {
		return
	}
	if w.located == nil {
		w.located = map[*byte]uint64{}
	}
	w.located[&raw[0]] = rid
}

// locate returns the record id of old, a document read in this write.
// Documents the write read through its own Scan, FindID or FetchEncoded
// are known; others are found through the unique _id index (capped) or,
// failing that, by a scan for identical bytes.
func (w *Writer) locate(coll *Collection, old bson.Raw, oldDoc bson.D) (uint64, error) {
	same := func(rid uint64) (bool, error) {
		v, err := w.txn.Get(ridRecKey(coll.ID, rid))
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil && bytes.Equal(v, old), err
	}
	if len(old) > 0 {
		if rid, ok := w.located[&old[0]]; ok {
			if ok, err := same(rid); ok || err != nil {
				return rid, err
			}
		}
	}
	if len(coll.Indexes) > 0 && coll.Indexes[0].IsID() {
		enc, err := w.txn.Get(append(idxPrefix(coll.ID, 0), EncodeID(docID(oldDoc))...))
		if err == nil {
			if rid, ok := decodeRID(enc); ok {
				if ok, err := same(rid); ok || err != nil {
					return rid, err
				}
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return 0, err
		}
	}
	it, err := scanRecords(w.txn, coll, false)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	for it.it.Next() {
		if bytes.Equal(it.it.Value(), old) {
			rid, _ := decodeRID(it.it.Key())
			return rid, nil
		}
	}
	if err := it.it.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("catalog: %s: the document to change is no longer stored", coll.NS())
}

// ---- writes ----

func (w *Writer) checkTimeField(coll *Collection, doc bson.D) error {
	tf := coll.meta.TimeField
	if tf == "" {
		return nil
	}
	if _, ok := bsonutil.Get(doc, tf).(bson.DateTime); !ok {
		return mongoerr.Newf(mongoerr.BadValue, "'%s' must be present and contain a valid BSON UTC datetime value", tf)
	}
	return nil
}

func (w *Writer) insertRecord(coll *Collection, doc bson.D, raw []byte) error {
	if err := w.checkTimeField(coll, doc); err != nil {
		return err
	}
	if coll.meta.CappedSize > 0 && int64(len(raw)) > coll.meta.CappedSize {
		return mongoerr.Newf(mongoerr.BadValue, "object to insert exceeds cappedMaxSize (%d bytes, capped size %d)", len(raw), coll.meta.CappedSize)
	}
	st, err := w.ridState(coll)
	if err != nil {
		return err
	}
	rid := st.next
	encRID := appendRID(nil, rid)
	entries, err := w.indexEntries(coll, doc, encRID, true)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.checkUnique(coll, e, encRID); err != nil {
			return err
		}
	}
	if err := w.txn.Set(ridRecKey(coll.ID, rid), raw); err != nil {
		return err
	}
	if err := w.setEntries(entries); err != nil {
		return err
	}
	st.next++
	st.dirty, st.inserted = true, true
	d := w.delta(coll.ID)
	d.count++
	d.size += int64(len(raw))
	if coll.meta.CappedSize > 0 {
		return w.evict(coll, st, rid)
	}
	return nil
}

// evict removes the oldest documents of a capped collection until it is
// within its limits again. It never removes newest, the document just
// inserted.
func (w *Writer) evict(coll *Collection, st *ridState, newest uint64) error {
	d := w.delta(coll.ID)
	count, size := st.count+d.count, st.size+d.size
	over := func() bool {
		return size > coll.meta.CappedSize || (coll.meta.CappedMax > 0 && count > coll.meta.CappedMax)
	}
	if !over() {
		return nil
	}
	type victim struct {
		rid uint64
		raw []byte
	}
	var victims []victim
	it, err := w.txn.Scan(ridRecKey(coll.ID, st.low), ridRecKey(coll.ID, newest), false)
	if err != nil {
		return err
	}
	for over() && it.Next() {
		rid, ok := decodeRID(it.Key())
		if !ok {
			it.Close()
			return fmt.Errorf("catalog: %s: malformed record key %x", coll.NS(), it.Key())
		}
		raw := append([]byte(nil), it.Value()...)
		victims = append(victims, victim{rid, raw})
		count--
		size -= int64(len(raw))
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, v := range victims {
		doc, err := bsonutil.Decode(v.raw)
		if err != nil {
			return fmt.Errorf("catalog: decode stored document: %w", err)
		}
		if err := w.removeRecord(coll, v.rid, doc, len(v.raw)); err != nil {
			return err
		}
	}
	if n := len(victims); n > 0 {
		st.low, st.dirty = victims[n-1].rid+1, true
	}
	return nil
}

func (w *Writer) removeRecord(coll *Collection, rid uint64, doc bson.D, size int) error {
	encRID := appendRID(nil, rid)
	entries, err := w.indexEntries(coll, doc, encRID, false)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.txn.Delete(e.key); err != nil {
			return err
		}
	}
	if err := w.txn.Delete(ridRecKey(coll.ID, rid)); err != nil {
		return err
	}
	d := w.delta(coll.ID)
	d.count--
	d.size -= int64(size)
	return nil
}

func (w *Writer) replaceRecord(coll *Collection, old bson.Raw, oldDoc, doc bson.D, raw []byte) error {
	if err := w.checkTimeField(coll, doc); err != nil {
		return err
	}
	if coll.meta.CappedSize > 0 && int64(len(raw)) > coll.meta.CappedSize {
		return mongoerr.Newf(mongoerr.BadValue, "document after update exceeds cappedMaxSize (%d bytes, capped size %d)", len(raw), coll.meta.CappedSize)
	}
	rid, err := w.locate(coll, old, oldDoc)
	if err != nil {
		return err
	}
	encRID := appendRID(nil, rid)
	oldEntries, err := w.indexEntries(coll, oldDoc, encRID, false)
	if err != nil {
		return err
	}
	newEntries, err := w.indexEntries(coll, doc, encRID, true)
	if err != nil {
		return err
	}
	if err := w.replaceEntries(coll, oldEntries, newEntries, encRID); err != nil {
		return err
	}
	if err := w.txn.Set(ridRecKey(coll.ID, rid), raw); err != nil {
		return err
	}
	w.remember(raw, rid)
	w.delta(coll.ID).size += int64(len(raw) - len(old))
	return nil
}

func (w *Writer) deleteRecord(coll *Collection, old bson.Raw, oldDoc bson.D) error {
	rid, err := w.locate(coll, old, oldDoc)
	if err != nil {
		return err
	}
	return w.removeRecord(coll, rid, oldDoc, len(old))
}

// ---- reads ----

// ridScanBounds returns the key range of a record-id keyed collection's
// records from record id from (at least the low-water mark) on.
func ridScanBounds(r storage.Reader, coll *Collection, from uint64) (lo, hi []byte, err error) {
	_, low, err := readRecordIDs(r, coll.ID)
	if err != nil {
		return nil, nil, err
	}
	return ridRecKey(coll.ID, max(from, low)), storage.PrefixEnd(recPrefix(coll.ID)), nil
}

// findRecordByID returns a document of a record-id keyed collection with
// the given _id: through the _id index if there is one, else the first in
// natural order (time series _id values need not be unique).
func findRecordByID(r storage.Reader, coll *Collection, id any) (bson.Raw, uint64, error) {
	if len(coll.Indexes) > 0 && coll.Indexes[0].IsID() {
		enc, err := r.Get(append(idxPrefix(coll.ID, 0), EncodeID(id)...))
		if errors.Is(err, storage.ErrNotFound) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		rid, ok := decodeRID(enc)
		if !ok {
			return nil, 0, fmt.Errorf("catalog: %s: malformed _id index entry", coll.NS())
		}
		raw, err := fetchEncoded(r, coll, appendRID(nil, rid))
		return raw, rid, err
	}
	it, err := scanRecords(r, coll, false)
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	for it.it.Next() {
		raw := bson.Raw(it.it.Value())
		v, err := raw.LookupErr("_id")
		if err != nil {
			continue
		}
		got, err := bsonutil.DecodeValue(bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
		if err != nil {
			continue
		}
		if bsonutil.Compare(got, id) == 0 {
			rid, _ := decodeRID(it.it.Key())
			return bson.Raw(append([]byte(nil), raw...)), rid, nil
		}
	}
	return nil, 0, it.it.Err()
}

// ScanAfter iterates, in natural order, over the documents of a
// record-id keyed collection whose record id is greater than after. As
// each document is returned, *pos is set to its record id, so a later
// ScanAfter(coll, *pos, pos) resumes where this one stopped (tailable
// cursors).
func (s *Snap) ScanAfter(coll *Collection, after uint64, pos *uint64) (*RecordIter, error) {
	if !coll.meta.RecordIDs {
		return nil, fmt.Errorf("catalog: ScanAfter: %s is not keyed by record id", coll.NS())
	}
	lo, hi, err := ridScanBounds(s.s, coll, after+1)
	if err != nil {
		return nil, err
	}
	it, err := s.s.Scan(lo, hi, false)
	if err != nil {
		return nil, err
	}
	return &RecordIter{it: it, onRecord: func(key []byte, _ bson.Raw) {
		if rid, ok := decodeRID(key); ok {
			*pos = rid
		}
	}}, nil
}

// RecordIDs returns a record-id keyed collection's next record id and its
// low-water mark (every record id below it was evicted).
func (s *Snap) RecordIDs(coll *Collection) (next, low uint64, err error) {
	return readRecordIDs(s.s, coll.ID)
}

// ---- notification ----

// insertSignals wakes waiters for inserts into record-id keyed
// collections (awaitData cursors).
type insertSignals struct {
	mu sync.Mutex
	ch map[uint64]chan struct{}
}

// InsertSignal returns a channel that is closed when a write that inserted
// into coll (a record-id keyed collection) commits. Take the channel before
// reading, so an insert that commits after the read is not missed.
func (c *Catalog) InsertSignal(coll *Collection) <-chan struct{} {
	s := &c.signals
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[uint64]chan struct{}{}
	}
	ch := s.ch[coll.ID]
	if ch == nil {
		ch = make(chan struct{})
		s.ch[coll.ID] = ch
	}
	return ch
}

func (c *Catalog) signalInserts(w *Writer) {
	s := &c.signals
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, st := range w.rids {
		if ch := s.ch[id]; st.inserted && ch != nil {
			close(ch)
			delete(s.ch, id)
		}
	}
}
