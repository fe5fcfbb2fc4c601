package catalog

import (
	"errors"

	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// pointReads reads single keys from r: the first with a plain Get, the
// rest through one storage.Getter when r offers one (opening the engine's
// cursor costs more than one Get, which can use bloom filters, but far less
// than many). Values it returns belong to the caller.
type pointReads struct {
	r    storage.Reader
	g    storage.Getter // made at the second read; nil before, or if r cannot
	used bool           // a key was read
	many bool           // many reads are expected: the first uses g too (Fetcher.ExpectMany)
	// borrow: values read through g may be the engine's (Fetcher.Borrow).
	borrow bool
}

func (p *pointReads) get(key []byte) ([]byte, error) {
	if p.g == nil && (p.used || p.many) {
		if pr, ok := p.r.(storage.PointReader); ok {
			g, err := pr.NewGetter()
			if err != nil {
				return nil, err
			}
			p.g = g
		}
	}
	p.used = true
	if p.g != nil {
		if p.borrow {
			if b, ok := p.g.(storage.Borrower); ok {
				return b.Borrow(key)
			}
		}
		return p.g.Get(key)
	}
	return p.r.Get(key) // Get's value is ours
}

func (p *pointReads) close() error {
	if p.g == nil {
		return nil
	}
	err := p.g.Close()
	p.g = nil
	return err
}

// Fetcher reads many records of one collection by encoded _id, as an
// index scan reports them. On a snapshot whose engine implements
// storage.PointReader it reuses one engine cursor for every read after
// the first, which costs far less than a Get per record. The first read
// is a plain Get: opening a cursor costs more than one Get (which can use
// the engine's bloom filters), and many plans fetch a single record.
type Fetcher struct {
	reads pointReads
	key   []byte // the record prefix, then the last _id read
	n     int    // length of the record prefix
	// w, when set, is the write transaction the Fetcher reads in; it
	// remembers the record id of each document of a record-id keyed
	// collection it hands out, as Writer.FetchEncoded does, so that an
	// update or delete of that document finds its record directly.
	w *Writer
}

func newFetcher(r storage.Reader, coll *Collection) (*Fetcher, error) {
	p := recPrefix(coll.ID)
	return &Fetcher{reads: pointReads{r: r}, key: p, n: len(p)}, nil
}

// ExpectMany tells f, before its first Fetch, that it will likely read
// several records: it then reads every one, the first too, through the
// engine's cursor (a plain Get first would be one lookup more).
func (f *Fetcher) ExpectMany() { f.reads.many = true }

// Borrow tells f, before its first Fetch, that its caller is done with
// each document before the next Fetch or Close (it copies what it keeps):
// Fetch may then return the engine's own bytes (where its Getter is a
// storage.Borrower), which are valid only until then. A Fetcher that
// remembers the documents it hands out for its Writer (record-id keyed
// collections) ignores it.
func (f *Fetcher) Borrow() {
	if f.w == nil {
		f.reads.borrow = true
	}
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
// is none. The caller owns the returned bytes, unless f.Borrow was called.
func (f *Fetcher) Fetch(encID []byte) (bson.Raw, error) {
	f.key = append(f.key[:f.n], encID...)
	v, err := f.reads.get(f.key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	raw := bson.Raw(v)
	if f.w != nil {
		if rid, ok := decodeRID(encID); ok {
			f.w.remember(raw, rid)
		}
	}
	return raw, nil
}

// Close releases the engine cursor.
func (f *Fetcher) Close() error { return f.reads.close() }
