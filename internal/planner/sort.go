package planner

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"github.com/cairndb/cairn/internal/bsonutil"
	"io"
	"os"
	"sort"

	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// DefaultMaxSortBytes is MongoDB's in-memory sort limit (100 MiB).
const DefaultMaxSortBytes = 100 * 1024 * 1024

type keyed struct {
	doc Doc
	key query.SortKey
}

func sortKeyed(s *query.Sort, docs []keyed) {
	sort.SliceStable(docs, func(i, j int) bool { return s.CompareKeys(docs[i].key, docs[j].key) < 0 })
}

func docSize(d Doc) int64 {
	if d.Raw != nil {
		return int64(len(d.Raw))
	}
	b, _ := bson.Marshal(d.D)
	return int64(len(b))
}

// sort consumes in and returns its documents in q.Sort order (a SORT
// node's sortSpec is always q.Sort, compiled once in prepare). Past
// the memory limit it fails with code 292, or with AllowDiskUse spills
// sorted runs to temporary files and merges them.
func (x *executor) sort(n *node, in docIter) (docIter, error) {
	defer in.close()
	s := x.sortBy
	maxBytes := x.q.MaxSortBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxSortBytes
	}
	topK := n.n // 0: keep everything
	var docs []keyed
	var total int64
	var runs []*os.File
	cleanup := func() {
		for _, f := range runs {
			f.Close()
			os.Remove(f.Name())
		}
	}
	for {
		d, err := in.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		sz := docSize(d)
		total += sz
		docs = append(docs, keyed{d, s.Key(d.D)})
		if topK > 0 && int64(len(docs)) > 2*topK+1024 {
			sortKeyed(s, docs)
			for _, k := range docs[topK:] {
				total -= docSize(k.doc)
			}
			docs = docs[:topK]
		}
		if total > n.memBytes {
			n.memBytes = total
		}
		if total > maxBytes {
			if !x.q.AllowDiskUse {
				cleanup()
				return nil, mongoerr.Newf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
					"Executor error during find command :: caused by :: Sort exceeded memory limit of %d bytes, but did not opt in to external sorting.", maxBytes)
			}
			sortKeyed(s, docs)
			f, err := writeRun(docs)
			if err != nil {
				cleanup()
				return nil, err
			}
			runs = append(runs, f)
			n.spills++
			docs, total = nil, 0
		}
	}
	sortKeyed(s, docs)
	if len(runs) == 0 {
		if topK > 0 && int64(len(docs)) > topK {
			docs = docs[:topK]
		}
		out := make([]Doc, len(docs))
		for i, k := range docs {
			out[i] = k.doc
		}
		n.nReturned += int64(len(out))
		return &sliceIter{docs: out}, nil
	}
	if len(docs) > 0 {
		f, err := writeRun(docs)
		if err != nil {
			cleanup()
			return nil, err
		}
		runs = append(runs, f)
		n.spills++
	}
	m, err := newMerger(s, runs)
	if err != nil {
		cleanup()
		return nil, err
	}
	var it docIter = m
	if topK > 0 {
		it = &limitIter{in: m, limit: topK}
	}
	return &countingIter{in: it, n: n}, nil
}

// A run file is a sequence of records: matchPos (int32, big-endian), then
// the BSON document (whose first 4 bytes are its length).
func writeRun(docs []keyed) (*os.File, error) {
	f, err := os.CreateTemp("", "cairn-sort-*.run")
	if err != nil {
		return nil, fmt.Errorf("planner: external sort: %w", err)
	}
	w := bufio.NewWriter(f)
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("planner: external sort: %w", err)
	}
	for _, k := range docs {
		raw := k.doc.Raw
		if raw == nil {
			if raw, err = bson.Marshal(k.doc.D); err != nil {
				return fail(err)
			}
		}
		var pos [4]byte
		binary.BigEndian.PutUint32(pos[:], uint32(int32(k.doc.MatchPos)))
		if _, err := w.Write(pos[:]); err != nil {
			return fail(err)
		}
		if _, err := w.Write(raw); err != nil {
			return fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return f, nil
}

type runReader struct {
	f   *os.File
	r   *bufio.Reader
	idx int
	cur keyed
}

func (rr *runReader) advance(s *query.Sort) (bool, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(rr.r, hdr[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("planner: external sort: read run: %w", err)
	}
	pos := int32(binary.BigEndian.Uint32(hdr[:4]))
	size := int(binary.LittleEndian.Uint32(hdr[4:]))
	if size < 5 || size > 64*1024*1024 {
		return false, fmt.Errorf("planner: external sort: corrupt run")
	}
	raw := make([]byte, size)
	copy(raw, hdr[4:])
	if _, err := io.ReadFull(rr.r, raw[4:]); err != nil {
		return false, fmt.Errorf("planner: external sort: read run: %w", err)
	}
	d, err := bsonutil.Decode(raw)
	if err != nil {
		return false, fmt.Errorf("planner: external sort: decode: %w", err)
	}
	rr.cur = keyed{doc: Doc{Raw: raw, D: d, MatchPos: int(pos)}, key: s.Key(d)}
	return true, nil
}

// merger is a k-way merge of sorted runs; ties go to the earlier run, so
// the merge is stable.
type merger struct {
	s   *query.Sort
	h   []*runReader
	all []*runReader
}

func newMerger(s *query.Sort, files []*os.File) (*merger, error) {
	m := &merger{s: s}
	for i, f := range files {
		rr := &runReader{f: f, r: bufio.NewReaderSize(f, 64*1024), idx: i}
		m.all = append(m.all, rr)
		ok, err := rr.advance(s)
		if err != nil {
			m.close()
			return nil, err
		}
		if ok {
			m.h = append(m.h, rr)
		}
	}
	heap.Init(m)
	return m, nil
}

func (m *merger) Len() int { return len(m.h) }
func (m *merger) Less(i, j int) bool {
	c := m.s.CompareKeys(m.h[i].cur.key, m.h[j].cur.key)
	if c != 0 {
		return c < 0
	}
	return m.h[i].idx < m.h[j].idx
}
func (m *merger) Swap(i, j int) { m.h[i], m.h[j] = m.h[j], m.h[i] }
func (m *merger) Push(x any)    { m.h = append(m.h, x.(*runReader)) }
func (m *merger) Pop() any {
	x := m.h[len(m.h)-1]
	m.h = m.h[:len(m.h)-1]
	return x
}

func (m *merger) next() (Doc, error) {
	if len(m.h) == 0 {
		return Doc{}, io.EOF
	}
	top := m.h[0]
	d := top.cur.doc
	ok, err := top.advance(m.s)
	if err != nil {
		return Doc{}, err
	}
	if ok {
		heap.Fix(m, 0)
	} else {
		heap.Pop(m)
	}
	return d, nil
}

func (m *merger) close() error {
	for _, rr := range m.all {
		rr.f.Close()
		os.Remove(rr.f.Name())
	}
	m.all, m.h = nil, nil
	return nil
}
