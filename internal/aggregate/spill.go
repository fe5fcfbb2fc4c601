package aggregate

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/cairndb/cairn/internal/bsonutil"
	"hash/fnv"
	"io"
	"os"
	"sync/atomic"

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

// externalSort sorts its input in memory while it fits; past the memory
// limit it writes sorted runs to spill files and merges them at the end.
type externalSort struct {
	sort *query.Sort
	mem  *memTracker
	buf  []bson.D
	runs []*spillFile
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
	x.sort.SortDocs(x.buf)
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
		x.sort.SortDocs(x.buf)
		return SliceSource(x.buf), nil
	}
	if len(x.buf) > 0 {
		if err := x.spill(); err != nil {
			x.close()
			return nil, err
		}
	}
	m := &mergeSource{x: x, h: mergeHeap{sort: x.sort}}
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
	sort  *query.Sort
}

func (h mergeHeap) Len() int { return len(h.items) }
func (h mergeHeap) Less(i, j int) bool {
	c := h.sort.CompareKeys(h.items[i].key, h.items[j].key)
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
	heap.Push(&m.h, mergeItem{doc: d, key: m.x.sort.Key(d), run: i})
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
// partitioned by a hash of the group key. Each spilled record is
// {k: key, d: doc}.
type groupSpill struct {
	parts [groupSpillPartitions]*spillFile
	seed  byte
}

func (g *groupSpill) write(key any, doc bson.D) error {
	h := fnv.New32a()
	h.Write([]byte{g.seed})
	h.Write([]byte(keyString(key)))
	p := h.Sum32() % groupSpillPartitions
	if g.parts[p] == nil {
		f, err := newSpillFile()
		if err != nil {
			return err
		}
		g.parts[p] = f
	}
	return g.parts[p].write(bson.D{{Key: "k", Value: key}, {Key: "d", Value: doc}})
}

func (g *groupSpill) close() {
	for i, f := range g.parts {
		if f != nil {
			f.remove()
			g.parts[i] = nil
		}
	}
}
