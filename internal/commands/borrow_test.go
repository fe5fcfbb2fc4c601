package commands

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// reusingIter hands out every document in one buffer that the next call
// overwrites, as a storage engine's borrowed bytes may be.
type reusingIter struct {
	n, size, i int
	buf        []byte
}

func (r *reusingIter) Next() (bson.Raw, error) {
	if r.i == r.n {
		return nil, io.EOF
	}
	doc, err := bson.Marshal(bson.D{{Key: "_id", Value: int32(r.i)}, {Key: "s", Value: strings.Repeat("x", r.size)}})
	if err != nil {
		return nil, err
	}
	r.i++
	r.buf = append(r.buf[:0], doc...)
	return r.buf, nil
}

func (r *reusingIter) Close() error { return nil }

// TestFillBatchCopiesBorrowed: a cursor whose documents are borrowed gets
// batches that keep each document as it was read, also the one held over
// to the next batch when a batch is full.
func TestFillBatchCopiesBorrowed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, size    int
		batch      int64
		limit      int64
		wantBatch1 int
	}{
		{"small", 30, 100, 0, 0, 30},
		{"batchSize", 30, 100, 7, 0, 7},
		{"limit", 30, 100, 0, 20, 20},
		// 17 documents of 1 MiB do not fit in one batch: the 16th is held over.
		{"full batch", 17, 1 << 20, 0, 0, 15},
	} {
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/shared block %v", tc.name, shared), func(t *testing.T) {
				fillBatchRounds(t, tc.n, tc.size, tc.batch, tc.limit, tc.wantBatch1, shared)
			})
		}
	}
}

// fillBatchRounds reads a borrowed cursor to the end and checks each
// batch as soon as it is filled (a shared block is reused by the next).
func fillBatchRounds(t *testing.T, n, size int, batchSize, limit int64, wantBatch1 int, shared bool) {
	var block *[]byte
	if shared {
		block = new([]byte)
	}
	c := &Cursor{Iter: &reusingIter{n: n, size: size}, Borrowed: true, Limit: limit}
	var got []int32
	for round := 0; ; round++ {
		batch, done, err := fillBatch(c, batchSize, block)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 && len(batch) != wantBatch1 {
			t.Fatalf("first batch has %d documents, want %d", len(batch), wantBatch1)
		}
		if shared && len(batch) > 0 && size < 1<<20 {
			// Small batches fit in one block, which the connection keeps.
			if first := batch[0].(bson.Raw); cap(*block) == 0 || &first[:1][0] != &(*block)[:1][0] {
				t.Fatalf("round %d: the batch did not use the shared block", round)
			}
		}
		for _, d := range batch {
			id, ok := d.(bson.Raw).Lookup("_id").Int32OK()
			if !ok {
				t.Fatalf("document %d has no int32 _id", len(got))
			}
			got = append(got, id)
		}
		if done || round > 100 {
			break
		}
	}
	want := n
	if limit > 0 {
		want = int(limit)
	}
	if len(got) != want {
		t.Fatalf("%d documents in all, want %d", len(got), want)
	}
	for i, id := range got {
		if id != int32(i) {
			t.Fatalf("document %d has _id %d: a borrowed document was not copied", i, id)
		}
	}
}

// TestArenaChunk sizes the copies' blocks by the documents the batch and
// the limit still allow.
func TestArenaChunk(t *testing.T) {
	for _, tc := range []struct {
		limit, returned, n, filled int64
		docLen, want               int
	}{
		{0, 0, 0, 0, 1000, 101 * 1000},
		{20, 0, 0, 0, 1000, 20 * 1000},
		{20, 15, 0, 0, 1000, 5 * 1000},
		{0, 0, 10, 4, 1000, 6 * 1000},
		{0, 0, 0, 0, 1 << 20, 1 << 20},
		{0, 0, 0, 0, 2 << 20, 2 << 20},
		{5, 5, 0, 0, 100, 100},
	} {
		c := &Cursor{Limit: tc.limit, Returned: tc.returned}
		if got := arenaChunk(c, tc.n, tc.filled, tc.docLen); got != tc.want {
			t.Errorf("arenaChunk(limit %d, returned %d, n %d, filled %d, doc %d) = %d, want %d",
				tc.limit, tc.returned, tc.n, tc.filled, tc.docLen, got, tc.want)
		}
	}
}
