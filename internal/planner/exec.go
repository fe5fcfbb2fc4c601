package planner

import (
	"cmp"
	"fmt"
	"github.com/cairndb/cairn/internal/bsonutil"
	"io"
	"strings"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// executor builds iterators for a plan tree.
type executor struct {
	src    Source
	coll   *catalog.Collection
	q      *Query
	m      *query.Matcher
	sortBy *query.Sort // q.Sort compiled (what a SORT stage sorts by); nil without one
}

type docIter interface {
	next() (Doc, error)
	close() error
}

// entry is one index entry: encoded key values, encoded _id and, for the
// _id index, the record itself.
type entry struct {
	key, id []byte
	rec     bson.Raw
}

type entryIter interface {
	next() (entry, error)
	close() error
}

// docs returns the documents n produces.
func (x *executor) docs(n *node) (docIter, error) {
	switch n.stage {
	case stageEOF:
		return &sliceIter{}, nil
	case stageCollScan:
		ri, err := x.src.Scan(x.coll, n.direction < 0)
		if err != nil {
			return nil, err
		}
		return &scanIter{ri: ri, m: x.m, n: n}, nil
	case stageIDHack:
		return x.idHack(n)
	case stageFetch:
		in, err := x.entries(n.child())
		if err != nil {
			return nil, err
		}
		return &fetchIter{x: x, in: in, n: n, check: n.filter != nil}, nil
	case stageIXScan:
		in, err := x.entries(n)
		if err != nil {
			return nil, err
		}
		return &coveredIter{x: x, in: in, n: n}, nil
	case stageSort:
		in, err := x.docs(n.child())
		if err != nil {
			return nil, err
		}
		return x.sort(n, in)
	case stageSkip:
		in, err := x.docs(n.child())
		if err != nil {
			return nil, err
		}
		return &limitIter{in: in, skip: n.n, n: n}, nil
	case stageLimit:
		in, err := x.docs(n.child())
		if err != nil {
			return nil, err
		}
		return &limitIter{in: in, limit: n.n, n: n}, nil
	case stageProjSimp, stageProjDef, stageProjCov, stageCount:
		in, err := x.docs(n.child())
		if err != nil {
			return nil, err
		}
		return &countingIter{in: in, n: n}, nil
	}
	return nil, fmt.Errorf("planner: stage %s does not produce documents", n.stage)
}

// entries returns the index entries n produces.
func (x *executor) entries(n *node) (entryIter, error) {
	switch n.stage {
	case stageIXScan, stageCountScan:
		return &ixIter{x: x, n: n, dedupe: n.multikey}, nil
	case stageOr:
		return &orIter{x: x, n: n, seen: map[string]bool{}}, nil
	}
	return nil, fmt.Errorf("planner: stage %s does not produce index entries", n.stage)
}

func (x *executor) idHack(n *node) (docIter, error) {
	return &idHackIter{x: x, n: n}, nil
}

// idHackIter reads the one document an _id equality names, at the first
// next. With rawOnly (markRawOnly: the consumer reads only Doc.Raw) it
// neither decodes nor matches it: the filter is exactly {_id: v}, and a
// record found under v's key has an _id equal to v (the key encoding
// puts equal values, such as 5 and 5.0, under one key).
type idHackIter struct {
	x       *executor
	n       *node
	done    bool
	rawOnly bool
}

func (it *idHackIter) next() (Doc, error) {
	if it.done {
		return Doc{}, io.EOF
	}
	it.done = true
	x, n := it.x, it.n
	id, _ := idEquality(x.q.Filter)
	raw, err := x.src.FindID(x.coll, id)
	if err != nil {
		return Doc{}, err
	}
	if raw == nil {
		return Doc{}, io.EOF
	}
	n.keysExamined++
	n.docsExamined++
	if it.rawOnly {
		n.nReturned++
		return Doc{Raw: raw, MatchPos: -1}, nil
	}
	d, ok, err := decodeMatch(x.m, raw)
	if err != nil || !ok {
		return Doc{}, cmp.Or(err, io.EOF)
	}
	n.nReturned++
	return d, nil
}

func (it *idHackIter) close() error { return nil }

// decodeMatch decodes a stored document and runs the filter on it,
// returning it (with the matched array position) and whether it matches.
func decodeMatch(m *query.Matcher, raw bson.Raw) (Doc, bool, error) {
	d, err := bsonutil.Decode(raw)
	if err != nil {
		return Doc{}, false, fmt.Errorf("planner: decode stored document: %w", err)
	}
	ok, pos, err := m.MatchArrayPos(d)
	if err != nil || !ok {
		return Doc{}, false, err
	}
	return Doc{Raw: raw, D: d, MatchPos: pos}, true, nil
}

// ---- index scan ----

type ixIter struct {
	x      *executor
	n      *node
	i      int // next range
	cur    *catalog.IndexIter
	dedupe bool
	seen   map[string]bool
	done   bool
}

func (it *ixIter) next() (entry, error) {
	b := it.n.bounds
	reverse := it.n.direction < 0
	for !it.done {
		if it.cur == nil {
			if it.i >= len(b.ranges) {
				it.done = true
				break
			}
			r := b.ranges[it.i]
			if reverse {
				r = b.ranges[len(b.ranges)-1-it.i]
			}
			it.i++
			cur, err := it.x.src.ScanIndex(it.x.coll, it.n.ix, r.start, r.end, reverse)
			if err != nil {
				return entry{}, err
			}
			it.cur = cur
		}
		if !it.cur.Next() {
			err := it.cur.Err()
			it.cur.Close()
			it.cur = nil
			if err != nil {
				return entry{}, err
			}
			continue
		}
		it.n.keysExamined++
		key := it.cur.Key()
		if len(b.check) > 0 {
			fields, _, err := index.SplitKey(key, b.desc)
			if err != nil {
				return entry{}, fmt.Errorf("planner: index %s: %w", it.n.ix.Name, err)
			}
			if !b.entryInBounds(fields) {
				continue
			}
		}
		if it.dedupe {
			if it.seen == nil {
				it.seen = map[string]bool{}
			}
			if it.seen[string(it.cur.ID())] {
				continue
			}
			it.seen[string(it.cur.ID())] = true
		}
		it.n.nReturned++
		e := entry{key: append([]byte(nil), key...), id: append([]byte(nil), it.cur.ID()...)}
		if rec := it.cur.Record(); rec != nil {
			e.rec = append(bson.Raw(nil), rec...)
		}
		return e, nil
	}
	return entry{}, io.EOF
}

func (it *ixIter) close() error {
	if it.cur != nil {
		err := it.cur.Close()
		it.cur = nil
		return err
	}
	return nil
}

// orIter concatenates its children's entries, dropping repeated
// documents.
type orIter struct {
	x    *executor
	n    *node
	i    int
	cur  entryIter
	seen map[string]bool
}

func (o *orIter) next() (entry, error) {
	for {
		if o.cur == nil {
			if o.i >= len(o.n.children) {
				return entry{}, io.EOF
			}
			c, err := o.x.entries(o.n.children[o.i])
			if err != nil {
				return entry{}, err
			}
			o.cur = c
			o.i++
		}
		e, err := o.cur.next()
		if err == io.EOF {
			o.cur.close()
			o.cur = nil
			continue
		}
		if err != nil {
			return entry{}, err
		}
		if o.seen[string(e.id)] {
			continue
		}
		o.seen[string(e.id)] = true
		o.n.nReturned++
		return e, nil
	}
}

func (o *orIter) close() error {
	if o.cur != nil {
		return o.cur.close()
	}
	return nil
}

// ---- fetch ----

type fetchIter struct {
	x     *executor
	in    entryIter
	n     *node
	check bool
	f     *catalog.Fetcher // made at the first fetch when the source can
	noF   bool             // the source cannot make a Fetcher
	// rawOnly: the consumer reads only Doc.Raw, and the index bounds
	// express the whole filter (check is false), so a fetched document
	// is neither decoded nor matched again.
	rawOnly bool
	// borrow: the consumer is done with each document before the next
	// one is asked for (BorrowRaw), and documents are handed on as
	// fetched (rawOnly, no check): they may be the engine's bytes.
	borrow bool
}

// fetcherSource is a Source that can read many records through one
// catalog.Fetcher (both catalog.Snap and catalog.Writer can).
type fetcherSource interface {
	NewFetcher(coll *catalog.Collection) (*catalog.Fetcher, error)
}

func (f *fetchIter) fetch(e entry) (bson.Raw, error) {
	if e.rec != nil {
		return e.rec, nil
	}
	if f.f == nil && !f.noF {
		fs, ok := f.x.src.(fetcherSource)
		if !ok {
			f.noF = true
		} else {
			fr, err := fs.NewFetcher(f.x.coll)
			if err != nil {
				return nil, err
			}
			if scansRange(f.n.child()) {
				fr.ExpectMany()
			}
			if f.borrow {
				fr.Borrow()
			}
			f.f = fr
		}
	}
	if f.f != nil {
		return f.f.Fetch(e.id)
	}
	return f.x.src.FetchEncoded(f.x.coll, e.id)
}

// scansRange reports whether n is an index scan whose bounds hold
// something other than one point, so that it likely yields several
// entries.
func scansRange(n *node) bool {
	if n == nil || n.stage != stageIXScan || n.bounds == nil {
		return false
	}
	if n.bounds.minMax {
		return true
	}
	for _, ivs := range n.bounds.ivs {
		if len(ivs) != 1 || !ivs[0].isPoint() {
			return true
		}
	}
	return false
}

func (f *fetchIter) next() (Doc, error) {
	for {
		e, err := f.in.next()
		if err != nil {
			return Doc{}, err
		}
		raw, err := f.fetch(e)
		if err != nil {
			return Doc{}, err
		}
		if raw == nil {
			continue // the index and the records disagree; skip
		}
		f.n.docsExamined++
		if f.rawOnly && !f.check {
			f.n.nReturned++
			return Doc{Raw: raw, MatchPos: -1}, nil
		}
		// The full filter always decides (it also finds the matched
		// array position for the positional operator).
		d, ok, err := decodeMatch(f.x.m, raw)
		if err != nil {
			return Doc{}, err
		}
		if ok {
			f.n.nReturned++
			return d, nil
		}
	}
}

func (f *fetchIter) close() error {
	err := f.in.close()
	if f.f != nil {
		if ferr := f.f.Close(); err == nil {
			err = ferr
		}
		f.f = nil
	}
	return err
}

// coveredIter builds documents from index keys. Values whose BSON type the
// key encoding does not preserve (numbers, null) make it fetch the
// document instead.
type coveredIter struct {
	x  *executor
	in entryIter
	n  *node
}

func (c *coveredIter) next() (Doc, error) {
	for {
		e, err := c.in.next()
		if err != nil {
			return Doc{}, err
		}
		d, ok, err := c.fromKey(e.key)
		if err != nil {
			return Doc{}, err
		}
		if ok {
			return Doc{D: d, MatchPos: -1}, nil
		}
		raw, err := c.x.src.FetchEncoded(c.x.coll, e.id)
		if err != nil {
			return Doc{}, err
		}
		if raw == nil {
			continue
		}
		c.n.docsExamined++
		if err := bson.Unmarshal(raw, &d); err != nil {
			return Doc{}, fmt.Errorf("planner: decode stored document: %w", err)
		}
		matched, pos, err := c.x.m.MatchArrayPos(d)
		if err != nil {
			return Doc{}, err
		}
		if matched {
			return Doc{Raw: raw, D: d, MatchPos: pos}, nil
		}
	}
}

func (c *coveredIter) fromKey(key []byte) (bson.D, bool, error) {
	ix := c.n.ix
	desc := ix.KeyDesc()
	d := bson.D{}
	for i, f := range ix.Fields() {
		v, n, exact, err := index.DecodeValue(key, desc[i])
		if err != nil {
			return nil, false, fmt.Errorf("planner: index %s: %w", ix.Name, err)
		}
		if !exact {
			return nil, false, nil
		}
		key = key[n:]
		d = setPath(d, strings.Split(f, "."), v)
	}
	return d, true, nil
}

// setPath sets a dotted path in d, creating subdocuments.
func setPath(d bson.D, parts []string, v any) bson.D {
	for i := range d {
		if d[i].Key == parts[0] {
			if len(parts) == 1 {
				d[i].Value = v
				return d
			}
			sub, _ := d[i].Value.(bson.D)
			d[i].Value = setPath(sub, parts[1:], v)
			return d
		}
	}
	if len(parts) == 1 {
		return append(d, bson.E{Key: parts[0], Value: v})
	}
	return append(d, bson.E{Key: parts[0], Value: setPath(bson.D{}, parts[1:], v)})
}

func (c *coveredIter) close() error { return c.in.close() }

// ---- collection scan ----

type scanIter struct {
	ri *catalog.RecordIter
	m  *query.Matcher
	n  *node
}

func (s *scanIter) next() (Doc, error) {
	for {
		raw, err := s.ri.Next()
		if err != nil {
			return Doc{}, err
		}
		if s.n != nil {
			s.n.docsExamined++
		}
		d, ok, err := decodeMatch(s.m, raw)
		if err != nil {
			return Doc{}, err
		}
		if ok {
			if s.n != nil {
				s.n.nReturned++
			}
			return d, nil
		}
	}
}

func (s *scanIter) close() error { return s.ri.Close() }

// ---- small stages ----

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

// markRawOnly tells the FETCH or IDHACK under a chain of SKIP and LIMIT
// stages that its consumer reads only Doc.Raw (no projection, no
// in-memory sort).
func markRawOnly(it docIter) {
	switch x := belowLimits(it).(type) {
	case *fetchIter:
		x.rawOnly = true
	case *idHackIter:
		x.rawOnly = true
	}
}

// belowLimits returns the iterator under a chain of SKIP and LIMIT stages.
func belowLimits(it docIter) docIter {
	for {
		l, ok := it.(*limitIter)
		if !ok {
			return it
		}
		it = l.in
	}
}

// markBorrow tells the FETCH under a chain of SKIP and LIMIT stages
// (which hold no document past their next call) that its consumer copies
// each document before asking for the next. It reports whether that FETCH
// will lend the engine's bytes: only when it hands documents on as
// fetched (markRawOnly, and no filter left to check).
func markBorrow(it docIter) bool {
	f, ok := belowLimits(it).(*fetchIter)
	if !ok || !f.rawOnly || f.check {
		return false
	}
	f.borrow = true
	return true
}

type limitIter struct {
	in          docIter
	skip, limit int64
	count       int64
	n           *node
}

func (l *limitIter) next() (Doc, error) {
	for l.skip > 0 {
		if _, err := l.in.next(); err != nil {
			return Doc{}, err
		}
		l.skip--
	}
	if l.limit > 0 && l.count >= l.limit {
		return Doc{}, io.EOF
	}
	d, err := l.in.next()
	if err == nil {
		l.count++
		if l.n != nil {
			l.n.nReturned++
		}
	}
	return d, err
}

func (l *limitIter) close() error { return l.in.close() }

type countingIter struct {
	in docIter
	n  *node
}

func (c *countingIter) next() (Doc, error) {
	d, err := c.in.next()
	if err == nil {
		c.n.nReturned++
	}
	return d, err
}

func (c *countingIter) close() error { return c.in.close() }
