package planner

import (
	"fmt"
	"github.com/cairndb/cairn/internal/collation"
	"io"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/expr"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Source is where a plan reads documents: a catalog.Snap for reads, a
// catalog.Writer inside write transactions.
type Source interface {
	FindID(coll *catalog.Collection, id any) (bson.Raw, error)
	Scan(coll *catalog.Collection, reverse bool) (*catalog.RecordIter, error)
	ScanIndex(coll *catalog.Collection, ix *catalog.Index, lower, upper []byte, reverse bool) (*catalog.IndexIter, error)
	FetchEncoded(coll *catalog.Collection, encID []byte) (bson.Raw, error)
	IndexMultikey(coll *catalog.Collection, ix *catalog.Index) (bool, error)
}

var (
	_ Source = (*catalog.Snap)(nil)
	_ Source = (*catalog.Writer)(nil)
)

// Query describes what to read.
type Query struct {
	Filter     bson.D
	Sort       bson.D
	Projection bson.D
	Skip       int64
	Limit      int64 // 0 = no limit
	Vars       *expr.Vars
	// MaxSortBytes bounds an in-memory sort (0 = 100 MiB).
	MaxSortBytes int64
	AllowDiskUse bool
	// Hint is nil, an index name (string) or a key pattern (bson.D);
	// {$natural: 1 | -1} forces a collection scan.
	Hint any
	// Min and Max bound the hinted index's keys ([Min, Max)); they
	// require Hint, as in MongoDB.
	Min, Max bson.D
	// Collation applies to string comparisons in the filter and sort; nil
	// is the simple (binary) collation. Index keys are binary, so a query
	// with a collation runs as a collection scan.
	Collation *collation.Collation
	// ReturnKey returns, instead of each document, the key of the index
	// the plan scans ({} for a collection scan), as find's returnKey.
	ReturnKey bool
}

// Doc is a matched document: its stored bytes, decoded form and the array
// position that matched (for the positional operator). Raw is nil for a
// document built from index keys (a covered query).
type Doc struct {
	Raw      bson.Raw
	D        bson.D
	MatchPos int
}

// Iterator yields documents. Next returns io.EOF at the end.
type Iterator interface {
	Next() (bson.Raw, error)
	Close() error
}

// prepared is a planned and opened query.
type prepared struct {
	sol  *solution
	it   docIter
	proj *query.Projection
}

func prepare(src Source, coll *catalog.Collection, q *Query, count bool) (*prepared, error) {
	m, err := query.NewMatcher(q.Filter, &query.Options{Vars: q.Vars, Collation: q.Collation})
	if err != nil {
		return nil, err
	}
	var sort *query.Sort
	if len(q.Sort) > 0 {
		if sort, err = query.NewSortCollation(q.Sort, q.Collation); err != nil {
			return nil, err
		}
	}
	if q.Skip < 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "skip value must be non-negative")
	}
	p := &prepared{}
	if len(q.Projection) > 0 && !count {
		if p.proj, err = query.NewProjection(q.Projection, &query.Options{Vars: q.Vars, Collation: q.Collation}); err != nil {
			return nil, err
		}
	}
	p.sol, err = plan(src, coll, q, m, count)
	if err != nil {
		return nil, err
	}
	x := &executor{src: src, coll: coll, q: q, m: m, sortBy: sort}
	if count && p.sol.root.child() != nil && bottom(p.sol.root).stage == stageCountScan {
		return p, nil
	}
	p.it, err = x.docs(p.sol.root)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// bottom returns the access stage of a linear plan.
func bottom(n *node) *node {
	for len(n.children) == 1 && n.stage != stageFetch {
		n = n.children[0]
	}
	return n
}

// Matches runs the filter (and sort, skip, limit) of q over coll and returns
// the matching documents, without projection. It is what update, delete and
// findAndModify use to find their targets.
func Matches(src Source, coll *catalog.Collection, q *Query) ([]Doc, error) {
	return matches(src, coll, q, false)
}

// MatchesRaw is Matches for a caller that may need only the stored bytes:
// where the plan can skip decoding (an _id equality, an index scan whose
// bounds are the whole filter), the documents come back with a nil D and
// MatchPos -1. The caller decodes Raw when it needs D.
func MatchesRaw(src Source, coll *catalog.Collection, q *Query) ([]Doc, error) {
	return matches(src, coll, q, true)
}

func matches(src Source, coll *catalog.Collection, q *Query, rawOnly bool) ([]Doc, error) {
	qq := *q
	qq.Projection = nil
	p, err := prepare(src, coll, &qq, false)
	if err != nil {
		return nil, err
	}
	defer p.it.close()
	if rawOnly {
		markRawOnly(p.it)
	}
	var out []Doc
	for {
		d, err := p.it.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if d.Raw == nil {
			if d.Raw, err = bson.Marshal(d.D); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
}

// Find plans and runs q, returning an iterator over the projected results.
func Find(src Source, coll *catalog.Collection, q *Query) (Iterator, error) {
	p, err := prepare(src, coll, q, false)
	if err != nil {
		return nil, err
	}
	it := &projectIter{in: p.it, proj: p.proj}
	if q.ReturnKey {
		it.proj, it.keyOnly = nil, true
		it.keyPattern = scannedKey(p.sol.root)
	} else if p.proj == nil {
		markRawOnly(p.it)
	}
	return it, nil
}

// scannedKey returns the key pattern of the index a plan scans, or nil for
// a collection scan.
func scannedKey(n *node) bson.D {
	if n == nil {
		return nil
	}
	switch n.stage {
	case stageIXScan:
		return n.ix.Key
	case stageIDHack:
		return bson.D{{Key: "_id", Value: int32(1)}}
	}
	for _, c := range n.children {
		if k := scannedKey(c); k != nil {
			return k
		}
	}
	return nil
}

// Count returns the number of documents q matches (after skip and
// limit). When an index expresses the filter exactly it counts index keys
// without reading documents.
func Count(src Source, coll *catalog.Collection, q *Query) (int64, error) {
	qq := *q
	qq.Projection, qq.Sort = nil, nil
	p, err := prepare(src, coll, &qq, true)
	if err != nil {
		return 0, err
	}
	return p.count(src, coll, &qq)
}

func (p *prepared) count(src Source, coll *catalog.Collection, q *Query) (int64, error) {
	var n int64
	if p.it == nil {
		acc := bottom(p.sol.root)
		x := &executor{src: src, coll: coll, q: q}
		it, err := x.entries(acc)
		if err != nil {
			return 0, err
		}
		defer it.close()
		for {
			_, err := it.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, err
			}
			n++
		}
		n = max(n-q.Skip, 0)
		if q.Limit > 0 {
			n = min(n, q.Limit)
		}
		for c := p.sol.root; c != nil; c = c.child() {
			if c == acc {
				break
			}
			c.nReturned = n
		}
		return n, nil
	}
	defer p.it.close()
	markRawOnly(p.it)
	for {
		_, err := p.it.next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n++
	}
}

type projectIter struct {
	in   docIter
	proj *query.Projection
	// keyOnly (returnKey) outputs the keyPattern fields of each document.
	keyOnly    bool
	keyPattern bson.D
}

// BorrowRaw is called, before the first Next, by a caller of it.Next
// that is done with each document before it calls Next again or Close
// (it copies what it keeps). The documents may then be the storage
// engine's own bytes, valid only until that next call. It reports whether
// they may.
func BorrowRaw(it Iterator) bool {
	b, ok := it.(interface{ BorrowRaw() bool })
	return ok && b.BorrowRaw()
}

// BorrowRaw implements the package function BorrowRaw.
func (p *projectIter) BorrowRaw() bool {
	if p.proj != nil || p.keyOnly {
		return false
	}
	return markBorrow(p.in)
}

func (p *projectIter) Next() (bson.Raw, error) {
	d, err := p.in.next()
	if err != nil {
		return nil, err
	}
	if p.keyOnly {
		out := bson.D{}
		for _, k := range p.keyPattern {
			vals := query.PathValues(d.D, k.Key)
			if len(vals) > 0 {
				out = append(out, bson.E{Key: k.Key, Value: vals[0]})
			} else {
				out = append(out, bson.E{Key: k.Key, Value: nil})
			}
		}
		return bson.Marshal(out)
	}
	if p.proj == nil {
		if d.Raw == nil {
			return bson.Marshal(d.D)
		}
		return d.Raw, nil
	}
	out, err := p.proj.Apply(d.D, d.MatchPos)
	if err != nil {
		return nil, err
	}
	b, err := bson.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("planner: encode projected document: %w", err)
	}
	return b, nil
}

func (p *projectIter) Close() error { return p.in.close() }

// idEquality returns the _id value a filter pins, if it is {_id: <scalar>}
// or {_id: {$eq: <scalar>}}.
func idEquality(filter bson.D) (any, bool) {
	if len(filter) != 1 || filter[0].Key != "_id" {
		return nil, false
	}
	v := filter[0].Value
	if d, ok := v.(bson.D); ok {
		if len(d) == 1 && d[0].Key == "$eq" {
			v = d[0].Value
		} else {
			return nil, false
		}
	}
	switch v.(type) {
	case bson.D, bson.A, bson.Regex, nil, bson.Null, bson.Undefined, bson.MinKey, bson.MaxKey:
		return nil, false
	}
	return v, true
}

var _ = time.Now
