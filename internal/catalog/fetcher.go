package catalog

import (
	"errors"

	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Fetcher reads many records of one collection by encoded _id, as an
// index scan reports them. On a snapshot whose engine implements
// storage.PointReader it reuses one engine cursor for every read after
// the first, which costs far less than a Get per record. The first read
// is a plain Get: opening a cursor costs more than one Get (which can use
// the engine's bloom filters), and many plans fetch a single record.
type Fetcher struct {
	coll *Collection
	r    storage.Reader
	g    storage.Getter      // nil: use r.Get
	pr   storage.PointReader // makes g at the second read; nil if r cannot
	used bool                // a record was read
	key  []byte              // the record prefix, then the last _id read
	n    int                 // length of the record prefix
	// w, when set, is the write transaction the Fetcher reads in; it
	// remembers the record id of each document of a record-id keyed
	// collection it hands out, as Writer.FetchEncoded does, so that an
	// update or delete of that document finds its record directly.
	w *Writer
}

func newFetcher(r storage.Reader, coll *Collection) (*Fetcher, error) {
	p := recPrefix(coll.ID)
	f := &Fetcher{coll: coll, r: r, key: p, n: len(p)}
	if pr, ok := r.(storage.PointReader); ok {
		f.pr = pr
	}
	return f, nil
}

// NewFetcher returns a Fetcher over the snapshot. Close it when done.
func (s *Snap) NewFetcher(coll *Collection) (*Fetcher, error) { return newFetcher(s.s, coll) }

// NewFetcher returns a Fetcher inside the write transaction (it sees the
// transaction's own writes).
func (w *Writer) NewFetcher(coll *Collection) (*Fetcher, error) {
	f, err := newFetcher(w.txn, coll)
	if err == nil && coll.meta.RecordIDs {
		f.w = w
	}
	return f, err
}

// Fetch returns the document whose encoded _id is encID, or nil if there
// is none. The caller owns the returned bytes.
func (f *Fetcher) Fetch(encID []byte) (bson.Raw, error) {
	f.key = append(f.key[:f.n], encID...)
	if f.g == nil && f.pr != nil && f.used {
		g, err := f.pr.NewGetter()
		if err != nil {
			return nil, err
		}
		f.g = g
	}
	f.used = true
	if f.g == nil {
		v, err := f.r.Get(f.key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		raw := bson.Raw(append([]byte(nil), v...))
		if f.w != nil {
			if rid, ok := decodeRID(encID); ok {
				f.w.remember(raw, rid)
			}
		}
		return raw, nil
	}
	v, err := f.g.Get(f.key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return bson.Raw(v), nil
}

// Close releases the engine cursor.
func (f *Fetcher) Close() error {
	if f.g != nil {
		return f.g.Close()
	}
	return nil
}
