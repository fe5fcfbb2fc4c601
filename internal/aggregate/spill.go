package aggregate

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"sync/atomic"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/query"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// SpillDir is the directory blocking stages write their temporary files
// to when they exceed MemoryLimit with AllowDiskUse ("" means
// os.TempDir()).
var SpillDir = ""

// over reports whether the tracked memory is past the limit (the caller
// spills; only meaningful with AllowDiskUse).
func (m *memTracker) over() bool { return m.allow && m.used > m.limit }

// reset forgets the accounted memory (after a spill).
func (m *memTracker) reset() { m.used = 0 }

// spillFile is a temporary file of BSON documents written one after the
// other (each document carries its own length prefix).
type spillFile struct {
	f *os.File
	w *bufio.Writer
	n int
}

// spillFilesCreated counts spill files, for tests.
var spillFilesCreated atomic.Int64

func newSpillFile() (*spillFile, error) {
	spillFilesCreated.Add(1)
	f, err := os.CreateTemp(SpillDir, "cairn-agg-spill-*")
	if err != nil {
		return nil, fmt.Errorf("aggregate: create spill file: %w", err)
	}
	return &spillFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (s *spillFile) write(d bson.D) error {
	b, err := bson.Marshal(d)
	if err != nil {
		return fmt.Errorf("aggregate: encode spilled document: %w", err)
	}
	s.n++
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("aggregate: write spill file: %w", err)
	}
	return nil
}

// reader flushes the file and returns a reader from its start.
func (s *spillFile) reader() (*spillReader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("aggregate: write spill file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("aggregate: rewind spill file: %w", err)
	}
	return &spillReader{r: bufio.NewReaderSize(s.f, 64<<10)}, nil
}

func (s *spillFile) remove() {
	name := s.f.Name()
	_ = s.f.Close()
	_ = os.Remove(name)
}

type spillReader struct {
	r *bufio.Reader
}

// next returns the next document, or io.EOF.
func (r *spillReader) next() (bson.D, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r.r, lb[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("aggregate: truncated spill file")
		}
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(lb[:]))
	if n < 5 {
		return nil, fmt.Errorf("aggregate: corrupt spill file")
	}
	buf := make([]byte, n)
	copy(buf, lb[:])
	if _, err := io.ReadFull(r.r, buf[4:]); err != nil {
		return nil, fmt.Errorf("aggregate: truncated spill file: %w", err)
	}
	d, err := bsonutil.Decode(buf)
	if err != nil {
		return nil, fmt.Errorf("aggregate: decode spilled document: %w", err)
	}
	return d, nil
}

// ---- external sort ----

// docOrder orders documents by a key computed once per document.
// *query.Sort is one; recordOrder is another.
type docOrder interface {
	Key(doc bson.D) query.SortKey
	CompareKeys(a, b query.SortKey) int
}

// sortDocs sorts docs in place, stably, computing each key once.
func sortDocs(o docOrder, docs []bson.D) {
	if len(docs) < 2 {
		return
	}
	type keyed struct {
		key query.SortKey
		doc bson.D
	}
	tmp := make([]keyed, len(docs))
	for i, d := range docs {
		tmp[i] = keyed{o.Key(d), d}
	}
	slices.SortStableFunc(tmp, func(x, y keyed) int { return o.CompareKeys(x.key, y.key) })
	for i := range tmp {
		docs[i] = tmp[i].doc
	}
}

// externalSort sorts its input in memory while it fits; past the memory
// limit it writes sorted runs to spill files and merges them at the end.
type externalSort struct {
	order docOrder
	mem   *memTracker
	buf   []bson.D
	runs  []*spillFile
}

func (x *externalSort) add(d bson.D) error {
	x.buf = append(x.buf, d)
	if err := x.mem.add(approxSize(d)); err != nil {
		return err
	}
	if x.mem.over() {
		return x.spill()
	}
	return nil
}

func (x *externalSort) spill() error {
	sortDocs(x.order, x.buf)
	f, err := newSpillFile()
	if err != nil {
		return err
	}
	x.runs = append(x.runs, f)
	for _, d := range x.buf {
		if err := f.write(d); err != nil {
			return err
		}
	}
	x.buf = x.buf[:0]
	x.mem.reset()
	return nil
}

// close removes the spill files.
func (x *externalSort) close() {
	for _, f := range x.runs {
		f.remove()
	}
	x.runs = nil
}

// result returns the sorted documents as a source that removes the spill
// files when closed or exhausted.
func (x *externalSort) result() (Source, error) {
	if len(x.runs) == 0 {
		sortDocs(x.order, x.buf)
		return SliceSource(x.buf), nil
	}
	if len(x.buf) > 0 {
		if err := x.spill(); err != nil {
			x.close()
			return nil, err
		}
	}
	m := &mergeSource{x: x, h: mergeHeap{order: x.order}}
	for i, f := range x.runs {
		r, err := f.reader()
		if err != nil {
			x.close()
			return nil, err
		}
		m.readers = append(m.readers, r)
		if err := m.pull(i); err != nil {
			x.close()
			return nil, err
		}
	}
	return m, nil
}

type mergeItem struct {
	doc bson.D
	key query.SortKey
	run int
}

type mergeHeap struct {
	items []mergeItem
	order docOrder
}

func (h mergeHeap) Len() int { return len(h.items) }
func (h mergeHeap) Less(i, j int) bool {
	c := h.order.CompareKeys(h.items[i].key, h.items[j].key)
	if c != 0 {
		return c < 0
	}
	return h.items[i].run < h.items[j].run // earlier runs hold earlier input: stable
}
func (h mergeHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(v any)   { h.items = append(h.items, v.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}

// mergeSource is the k-way merge of sorted runs.
type mergeSource struct {
	x       *externalSort
	readers []*spillReader
	h       mergeHeap
}

// pull pushes the next document of run i onto the heap.
func (m *mergeSource) pull(i int) error {
	d, err := m.readers[i].next()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	heap.Push(&m.h, mergeItem{doc: d, key: m.x.order.Key(d), run: i})
	return nil
}

func (m *mergeSource) Next(ctx context.Context) (bson.D, error) {
	if len(m.h.items) == 0 {
		m.x.close()
		return nil, io.EOF
	}
	it := heap.Pop(&m.h).(mergeItem)
	if err := m.pull(it.run); err != nil {
		m.x.close()
		return nil, err
	}
	return it.doc, nil
}

func (m *mergeSource) Close() error {
	m.x.close()
	return nil
}

// ---- $group spilling ----

// groupSpillPartitions is the number of hash partitions a spilling
// $group writes.
const groupSpillPartitions = 16

// groupSpill holds the documents of groups that did not fit in memory,
// partitioned by a hash of the group key. Each spilled record is a
// keyedRecord {k: key, d: doc}.
type groupSpill struct {
	parts [groupSpillPartitions]*spillFile
	seed  byte
}

func (g *groupSpill) write(key any, doc bson.D) error {
	var buf [64]byte
	h := fnv.New32a()
	h.Write(appendHashKey(append(buf[:0], g.seed), key)) // the seed, then the key
	p := h.Sum32() % groupSpillPartitions
	if g.parts[p] == nil {
		f, err := newSpillFile()
		if err != nil {
			return err
		}
		g.parts[p] = f
	}
	return g.parts[p].write(keyedRecord(key, doc))
}

func (g *groupSpill) close() {
	for i, f := range g.parts {
		if f != nil {
			f.remove()
			g.parts[i] = nil
		}
	}
}

// ---- sorting documents by a computed value ----

// closeSorted closes the output of sortByValue (nil if it was never
// called; its error is ignored) and then the input it drained.
func closeSorted(sorted, in Source) error {
	if sorted != nil {
		sorted.Close()
	}
	return in.Close()
}

// keyedRecord is how documents travel with a value computed from them
// (a group key, a groupBy value, a partition key) through spill files and
// the external sort: {k: value, d: doc}.
func keyedRecord(k any, doc bson.D) bson.D {
	return bson.D{{Key: "k", Value: k}, {Key: "d", Value: doc}}
}

// recordParts returns the value and the document of a keyedRecord; ok is
// false if rec is not one.
func recordParts(rec bson.D) (k any, doc bson.D, ok bool) {
	haveK := false
	for _, e := range rec {
		switch e.Key {
		case "k":
			k, haveK = e.Value, true
		case "d":
			doc, ok = e.Value.(bson.D)
		}
	}
	return k, doc, ok && haveK
}

// errBadRecord is returned for a spilled record that is not a keyedRecord.
var errBadRecord = fmt.Errorf("aggregate: corrupt spill file: malformed record")

// recordOrder orders keyedRecords by their value (bsonutil.Compare, as
// whole values: arrays are not expanded), ties by their document under
// then (nil: by the value only). Ties beyond that keep input order.
type recordOrder struct {
	then *query.Sort
}

func (o recordOrder) Key(rec bson.D) query.SortKey {
	k, doc, _ := recordParts(rec)
	key := query.SortKey{k}
	if o.then != nil {
		key = append(key, o.then.Key(doc)...)
	}
	return key
}

func (o recordOrder) CompareKeys(a, b query.SortKey) int {
	if c := bsonutil.Compare(a[0], b[0]); c != 0 {
		return c
	}
	if o.then != nil {
		return o.then.CompareKeys(a[1:], b[1:])
	}
	return 0
}

// sortByValue drains in through an external sort of keyedRecords, the
// value of each document given by value, in the order o, accounting the
// records in mem (so past the limit it fails with 292 without
// AllowDiskUse, and spills sorted runs with it). It returns the sorted
// records, as a source that removes its spill files when exhausted or
// closed, and their number.
func sortByValue(ctx context.Context, in Source, mem *memTracker, o recordOrder, value func(bson.D) (any, error)) (Source, int, error) {
	x := &externalSort{order: o, mem: mem}
	n := 0
	err := drain(ctx, in, func(d bson.D) error {
		v, err := value(d)
		if err != nil {
			return err
		}
		n++
		return x.add(keyedRecord(v, d))
	})
	if err != nil {
		x.close()
		return nil, 0, err
	}
	src, err := x.result()
	if err != nil {
		return nil, 0, err
	}
	return src, n, nil
}
