package catalog

import (
	"io"

	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Snap is a consistent read-only view of all collections.
type Snap struct {
	s  storage.Snapshot
	mk *multikeyCache
}

// Snapshot opens a consistent view. The caller must Close it.
func (c *Catalog) Snapshot() (*Snap, error) {
	s, err := c.eng.Snapshot()
	if err != nil {
		return nil, err
	}
	return &Snap{s: s, mk: c.multikey}, nil
}

// Close releases the snapshot.
func (s *Snap) Close() error { return s.s.Close() }

// FindID returns the document with the given _id, or nil.
func (s *Snap) FindID(coll *Collection, id any) (bson.Raw, error) { return findID(s.s, coll, id) }

// Scan iterates over coll's documents in _id order (or reverse); those of
// a record-id keyed collection in natural (insertion) order.
func (s *Snap) Scan(coll *Collection, reverse bool) (*RecordIter, error) {
	return scanRecords(s.s, coll, reverse)
}

// Stats returns the number of documents in coll and their total size.
func (s *Snap) Stats(coll *Collection) (count, size int64, err error) {
	return readStats(s.s, coll.ID)
}

// RecordIter iterates over stored documents.
type RecordIter struct {
	it storage.Iterator
	// onRecord, if set, sees each record's key and the document returned
	// (record-id keyed collections; see recordid.go).
	onRecord func(key []byte, raw bson.Raw)
}

func scanRecords(r storage.Reader, coll *Collection, reverse bool) (*RecordIter, error) {
	lo, hi := prefixRange(recPrefix(coll.ID))
	if coll.meta.RecordIDs {
		var err error
		if lo, hi, err = ridScanBounds(r, coll, 0); err != nil {
			return nil, err
		}
	}
	it, err := r.Scan(lo, hi, reverse)
	if err != nil {
		return nil, err
	}
	return &RecordIter{it: it}, nil
}

// NextView is Next without the copy: the document it returns is the
// storage iterator's own memory, valid only until the next call (or
// Close). Scans that read each document once and keep nothing of its
// bytes (a partial decode into fresh values) save a copy per record.
func (ri *RecordIter) NextView() (bson.Raw, error) {
	if ri.onRecord != nil {
		return ri.Next()
	}
	if ri.it.Next() {
		return bson.Raw(ri.it.Value()), nil
	}
	if err := ri.it.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// Next returns the next document (a copy the caller may keep), or io.EOF.
func (ri *RecordIter) Next() (bson.Raw, error) {
	if ri.it.Next() {
		raw := bson.Raw(append([]byte(nil), ri.it.Value()...))
		if ri.onRecord != nil {
			ri.onRecord(ri.it.Key(), raw)
		}
		return raw, nil
	}
	if err := ri.it.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// Close releases the iterator.
func (ri *RecordIter) Close() error { return ri.it.Close() }

// DiskUsage estimates the bytes coll's records and each of its secondary
// indexes occupy in the engine. It returns zeros when the engine cannot
// estimate sizes (it does not implement storage.SizeEstimator).
func (c *Catalog) DiskUsage(coll *Collection) (records int64, indexes map[string]int64, err error) {
	indexes = map[string]int64{}
	est, ok := c.eng.(storage.SizeEstimator)
	if !ok {
		return 0, indexes, nil
	}
	lo, hi := prefixRange(recPrefix(coll.ID))
	n, err := est.EstimateSize(lo, hi)
	if err != nil {
		return 0, nil, err
	}
	records = int64(n)
	for _, ix := range coll.Indexes {
		if ix.IsID() && !coll.meta.RecordIDs {
			continue
		}
		lo, hi := prefixRange(idxPrefix(coll.ID, ix.ID))
		n, err := est.EstimateSize(lo, hi)
		if err != nil {
			return 0, nil, err
		}
		indexes[ix.Name] = int64(n)
	}
	return records, indexes, nil
}
