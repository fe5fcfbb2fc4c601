package commands

import (
	"bytes"
	"context"
	"io"
	"strconv"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "find", Help: "query a collection", Handler: findCmd})
	Register(&Command{Name: "getMore", Help: "get more results from a cursor", Handler: getMoreCmd})
	Register(&Command{Name: "killCursors", Help: "close cursors", Handler: killCursorsCmd})
}

const (
	defaultFirstBatch = 101
	// maxBatchBytes bounds a batch so that the whole reply (the documents,
	// their array element headers and the cursor envelope) stays within
	// the 16 MiB BSON limit.
	maxBatchBytes = 16*1024*1024 - 64*1024
)

// snapIter closes its snapshot with the iterator.
type snapIter struct {
	planner.Iterator
	snap *catalog.Snap
}

func (s *snapIter) Close() error {
	err := s.Iterator.Close()
	if cerr := s.snap.Close(); err == nil {
		err = cerr
	}
	return err
}

func nonNegative(req *Request, field string) (int64, bool, error) {
	n, ok, err := argInt64(req, field)
	if err != nil {
		return 0, ok, err
	}
	if n < 0 {
		return 0, ok, mongoerr.Newf(mongoerr.Code(51024), "BSON field '%s' value must be >= 0, actual value '%d'", field, n)
	}
	return n, ok, nil
}

func findCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, "filter", "sort", "projection", "hint", "skip", "limit", "batchSize",
		"singleBatch", "max", "min", "returnKey", "showRecordId", "tailable", "oplogReplay",
		"noCursorTimeout", "awaitData", "allowPartialResults", "collation", "allowDiskUse", "let",
		"readOnce", "term", "$_requestResumeToken", "$_resumeAfter"); err != nil {
		return nil, err
	}
	q, err := parseFindQuery(req)
	if err != nil {
		return nil, err
	}
	batchSize, hasBatch, err := nonNegative(req, "batchSize")
	if err != nil {
		return nil, err
	}
	if !hasBatch {
		batchSize = defaultFirstBatch
	}
	singleBatch, err := argBool(req, "singleBatch")
	if err != nil {
		return nil, err
	}
	if tailable, awaitData, err := tailableOption(req); err != nil {
		return nil, err
	} else if tailable {
		return tailableFind(env, req, name, q, batchSize, singleBatch, awaitData)
	}
	if vr := viewReadOf(env, req.DB, name); vr != nil {
		return vr.find(ctx, env, req, q, batchSize, singleBatch)
	}
	coll := env.Catalog.Collection(req.DB, name)
	snap, err := env.Catalog.Snapshot()
	if err != nil {
		return nil, err
	}
	pit, err := planner.Find(snap, coll, q)
	if err != nil {
		snap.Close()
		return nil, err
	}
	cur := &Cursor{NS: ns(req.DB, name), Iter: &snapIter{Iterator: pit, snap: snap}, Limit: q.Limit}
	cur.Borrowed = planner.BorrowRaw(pit)
	return firstBatch(env, cur, batchSize, singleBatch, batchBlock(req))
}

// parseFindQuery reads the query of a find command (filter, sort,
// projection, skip, limit, returnKey, allowDiskUse, let, hint, min, max,
// collation). find and explain of find share it.
func parseFindQuery(req *Request) (*planner.Query, error) {
	q := &planner.Query{}
	var err error
	if q.Filter, _, err = argDoc(req, "filter"); err != nil {
		return nil, err
	}
	if q.Sort, _, err = argDoc(req, "sort"); err != nil {
		return nil, err
	}
	if q.Projection, _, err = argDoc(req, "projection"); err != nil {
		return nil, err
	}
	if q.Skip, _, err = nonNegative(req, "skip"); err != nil {
		return nil, err
	}
	if q.Limit, _, err = nonNegative(req, "limit"); err != nil {
		return nil, err
	}
	if q.AllowDiskUse, err = argBool(req, "allowDiskUse"); err != nil {
		return nil, err
	}
	if q.ReturnKey, err = argBool(req, "returnKey"); err != nil {
		return nil, err
	}
	if q.Vars, err = letVars(req); err != nil {
		return nil, err
	}
	if err := queryHints(req, q); err != nil {
		return nil, err
	}
	if err := naturalSort(q); err != nil {
		return nil, err
	}
	return q, nil
}

// firstBatch fills the first batch of a new cursor and registers the
// cursor if documents remain. block is as for fillBatch.
func firstBatch(env *Env, cur *Cursor, batchSize int64, singleBatch bool, block *[]byte) (bson.D, error) {
	batch, done, err := fillBatch(cur, batchSize, block)
	if err != nil {
		cur.Iter.Close()
		return nil, err
	}
	var id int64
	if done || singleBatch {
		cur.Iter.Close()
	} else {
		id = env.Cursors.Add(cur)
	}
	return cursorReply(cur.NS, id, "firstBatch", batch), nil
}

func cursorReply(ns string, id int64, field string, batch bson.A) bson.D {
	if batch == nil {
		batch = bson.A{}
	}
	return bson.D{{Key: "cursor", Value: bson.D{
		{Key: field, Value: batch},
		{Key: "id", Value: id},
		{Key: "ns", Value: ns},
	}}}
}

// fillBatch reads up to n documents (0 = as many as fit in 16 MiB) from
// the cursor. done reports that the cursor is exhausted. Borrowed
// documents (c.Borrowed) are copied into block, a reusable block that the
// batch may use until the reply is encoded (the connection's; nil for
// none): it starts there and keeps the last block it filled for the next
// batch.
func fillBatch(c *Cursor, n int64, block *[]byte) (batch bson.A, done bool, err error) {
	size := 0
	var arena []byte // copies of borrowed documents (c.Borrowed)
	if block != nil && c.Borrowed {
		arena = (*block)[:0]
		defer func() {
			if cap(arena) <= maxKeptBatchBlock {
				*block = arena[:0]
			}
		}()
	}
	for n == 0 || int64(len(batch)) < n {
		if c.Limit > 0 && c.Returned >= c.Limit {
			return batch, true, nil
		}
		doc := c.Pending
		c.Pending = nil
		borrowed := false
		if doc == nil {
			doc, err = c.Iter.Next()
			if err == io.EOF {
				return batch, true, nil
			}
			if err != nil {
				return nil, false, err
			}
			borrowed = c.Borrowed
		}
		// Each array element costs a type byte, its decimal index and a NUL.
		elem := len(doc) + 2 + len(strconv.Itoa(len(batch)))
		if len(batch) > 0 && size+elem > maxBatchBytes {
			if borrowed {
				doc = bytes.Clone(doc)
			}
			c.Pending = doc
			return batch, false, nil
		}
		if borrowed {
			if cap(arena)-len(arena) < len(doc) {
				arena = make([]byte, 0, arenaChunk(c, n, int64(len(batch)), len(doc)))
			}
			start := len(arena)
			arena = append(arena, doc...)
			doc = arena[start:len(arena):len(arena)]
		}
		size += elem
		batch = append(batch, doc)
		c.Returned++
	}
	if c.Limit > 0 && c.Returned >= c.Limit {
		return batch, true, nil
	}
	return batch, false, nil
}

// maxKeptBatchBlock bounds the block a connection keeps between batches;
// a larger one (arenaChunk makes them up to 1 MiB) is left to the garbage
// collector.
const maxKeptBatchBlock = 256 << 10

// arenaChunk sizes a new block for borrowed documents' copies: room for
// as many documents of this one's size as the batch (and the cursor's
// limit) still allows, within 1 MiB, and for this one at least.
func arenaChunk(c *Cursor, n, filled int64, docLen int) int {
	want := int64(defaultFirstBatch)
	if n > 0 {
		want = n - filled
	}
	if c.Limit > 0 {
		want = min(want, c.Limit-c.Returned)
	}
	want = max(want, 1)
	return max(docLen, int(min(want*int64(docLen), 1<<20)))
}

func getMoreCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	var id int64
	switch v := req.Body[0].Value.(type) {
	case int64:
		id = v
	default:
		return nil, fieldErr(req.Name, "getMore", "long", v)
	}
	collV, ok := req.Arg("collection")
	if !ok {
		return nil, mongoerr.New(mongoerr.Code(40414), "BSON field 'getMore.collection' is missing but a required field")
	}
	coll, isStr := collV.(string)
	if !isStr {
		return nil, fieldErr(req.Name, "collection", "string", collV)
	}
	if err := checkFields(req, "collection", "batchSize", "term", "lastKnownCommittedOpTime"); err != nil {
		return nil, err
	}
	batchSize, _, err := nonNegative(req, "batchSize")
	if err != nil {
		return nil, err
	}
	cur, err := env.Cursors.Checkout(id, ns(req.DB, coll))
	if err != nil {
		return nil, err
	}
	if batchSize == 0 {
		batchSize = int64(cur.BatchSize)
	}
	if cur.Tailable {
		return tailableGetMore(ctx, env, cur, batchSize)
	}
	batch, done, err := fillBatch(cur, batchSize, batchBlock(req))
	if err != nil {
		env.Cursors.Remove(cur)
		return nil, err
	}
	if done {
		env.Cursors.Remove(cur)
		id = 0
	} else {
		env.Cursors.Checkin(cur)
	}
	return cursorReply(cur.NS, id, "nextBatch", batch), nil
}

func killCursorsCmd(ctx context.Context, env *Env, req *Request) (bson.D, error) {
	name, err := collName(req)
	if err != nil {
		return nil, err
	}
	v, ok := req.Arg("cursors")
	if !ok {
		return nil, mongoerr.New(mongoerr.Code(40414), "BSON field 'killCursors.cursors' is missing but a required field")
	}
	a, isA := v.(bson.A)
	if !isA {
		return nil, fieldErr(req.Name, "cursors", "array", v)
	}
	var ids []int64
	for _, e := range a {
		id, isInt := e.(int64)
		if !isInt {
			return nil, mongoerr.Newf(mongoerr.TypeMismatch, "BSON field 'killCursors.cursors.0' is the wrong type '%s', expected type 'long'", bsonutil.TypeName(e))
		}
		ids = append(ids, id)
	}
	killed, notFound := env.Cursors.Kill(ns(req.DB, name), ids)
	toA := func(x []int64) bson.A {
		out := bson.A{}
		for _, id := range x {
			out = append(out, id)
		}
		return out
	}
	return bson.D{
		{Key: "cursorsKilled", Value: toA(killed)},
		{Key: "cursorsNotFound", Value: toA(notFound)},
		{Key: "cursorsAlive", Value: bson.A{}},
		{Key: "cursorsUnknown", Value: bson.A{}},
	}, nil
}
