package planner

import (
	"fmt"
	"io"
	"sort"

	"github.com/cairndb/cairn/internal/bsonutil"
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
}

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
}

// Doc is a matched document: its stored bytes, decoded form and the array
// position that matched (for the positional operator).
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

// Matches runs the filter (and sort, skip, limit) of q over coll and returns
// the matching documents, without projection. It is what update, delete and
// findAndModify use to find their targets.
func Matches(src Source, coll *catalog.Collection, q *Query) ([]Doc, error) {
	it, err := open(src, coll, q)
	if err != nil {
		return nil, err
	}
	defer it.close()
	var out []Doc
	for {
		d, err := it.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
}

// Find plans and runs q, returning an iterator over the projected results.
func Find(src Source, coll *catalog.Collection, q *Query) (Iterator, error) {
	var proj *query.Projection
	if len(q.Projection) > 0 {
		var err error
		proj, err = query.NewProjection(q.Projection, &query.Options{Vars: q.Vars})
		if err != nil {
			return nil, err
		}
	}
	it, err := open(src, coll, q)
	if err != nil {
		return nil, err
	}
	return &projectIter{in: it, proj: proj}, nil
}

type projectIter struct {
	in   docIter
	proj *query.Projection
}

func (p *projectIter) Next() (bson.Raw, error) {
	d, err := p.in.next()
	if err != nil {
		return nil, err
	}
	if p.proj == nil {
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

type docIter interface {
	next() (Doc, error)
	close() error
}

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

func open(src Source, coll *catalog.Collection, q *Query) (docIter, error) {
	m, err := query.NewMatcher(q.Filter, &query.Options{Vars: q.Vars})
	if err != nil {
		return nil, err
	}
	var s *query.Sort
	if len(q.Sort) > 0 {
		if s, err = query.NewSort(q.Sort); err != nil {
			return nil, err
		}
	}
	if q.Skip < 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "skip value must be non-negative")
	}
	var base docIter
	if coll == nil {
		base = &sliceIter{}
	} else if id, ok := idEquality(q.Filter); ok {
		raw, err := src.FindID(coll, id)
		if err != nil {
			return nil, err
		}
		var docs []Doc
		if raw != nil {
			var d bson.D
			if err := bson.Unmarshal(raw, &d); err != nil {
				return nil, err
			}
			if ok, pos, err := m.MatchArrayPos(d); err != nil {
				return nil, err
			} else if ok {
				docs = append(docs, Doc{Raw: raw, D: d, MatchPos: pos})
			}
		}
		base = &sliceIter{docs: docs}
	} else {
		ri, err := src.Scan(coll, false)
		if err != nil {
			return nil, err
		}
		base = &scanIter{ri: ri, m: m}
	}
	if s != nil {
		max := q.MaxSortBytes
		if max == 0 {
			max = 100 * 1024 * 1024
		}
		var docs []keyed
		var total int64
		for {
			d, err := base.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				base.close()
				return nil, err
			}
			total += int64(len(d.Raw))
			if total > max && !q.AllowDiskUse {
				base.close()
				return nil, mongoerr.New(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
					"Executor error during find command :: caused by :: Sort exceeded memory limit of 104857600 bytes, but did not opt in to external sorting.")
			}
			docs = append(docs, keyed{d, s.Key(d.D)})
			if q.Limit > 0 && int64(len(docs)) > 2*(q.Limit+q.Skip)+1024 {
				// Keep memory bounded for top-k: sort and truncate.
				sortKeyed(s, docs)
				docs = docs[:q.Limit+q.Skip]
			}
		}
		base.close()
		sortKeyed(s, docs)
		out := make([]Doc, len(docs))
		for i, k := range docs {
			out[i] = k.doc
		}
		base = &sliceIter{docs: out}
	}
	return &limitIter{in: base, skip: q.Skip, limit: q.Limit}, nil
}

type keyed struct {
	doc Doc
	key query.SortKey
}

func sortKeyed(s *query.Sort, docs []keyed) {
	sort.SliceStable(docs, func(i, j int) bool { return s.CompareKeys(docs[i].key, docs[j].key) < 0 })
}

type sliceIter struct {
	docs []Doc
	i    int
}

func (s *sliceIter) next() (Doc, error) {
	if s.i >= len(s.docs) {
		return Doc{}, io.EOF
	}
	d := s.docs[s.i]
	s.docs[s.i] = Doc{}
	s.i++
	return d, nil
}

func (s *sliceIter) close() error { return nil }

type scanIter struct {
	ri *catalog.RecordIter
	m  *query.Matcher
}

func (s *scanIter) next() (Doc, error) {
	for {
		raw, err := s.ri.Next()
		if err != nil {
			return Doc{}, err
		}
		var d bson.D
		if err := bson.Unmarshal(raw, &d); err != nil {
			return Doc{}, fmt.Errorf("planner: decode stored document: %w", err)
		}
		ok, pos, err := s.m.MatchArrayPos(d)
		if err != nil {
			return Doc{}, err
		}
		if ok {
			return Doc{Raw: raw, D: d, MatchPos: pos}, nil
		}
	}
}

func (s *scanIter) close() error { return s.ri.Close() }

type limitIter struct {
	in          docIter
	skip, limit int64
	n           int64
}

func (l *limitIter) next() (Doc, error) {
	for l.skip > 0 {
		if _, err := l.in.next(); err != nil {
			return Doc{}, err
		}
		l.skip--
	}
	if l.limit > 0 && l.n >= l.limit {
		return Doc{}, io.EOF
	}
	d, err := l.in.next()
	if err == nil {
		l.n++
	}
	return d, err
}

func (l *limitIter) close() error { return l.in.close() }

var _ = bsonutil.Missing
