package commands

import (
	"context"
	"io"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/planner"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Tailable cursors.
//
// find {tailable: true} on a capped collection returns a cursor that stays
// open when it has returned every document: a later getMore returns the
// documents inserted since. The cursor remembers the record id of the last
// document it read and each getMore scans from the next one
// (catalog.Snap.ScanAfter), through the planner with a {$natural: 1} hint
// so that filter, projection and collation apply as for any find. With
// awaitData, a getMore that finds nothing waits for an insert into the
// collection (catalog.InsertSignal) up to its maxTimeMS (1 second by
// default) before returning an empty batch.
//
// As in MongoDB, the cursor is not kept when the collection is empty at
// find time, and a getMore fails with CappedPositionLost when documents
// the cursor had not reached yet were evicted.

const (
	codeCappedPositionLost = mongoerr.Code(136)
	codeQueryPlanKilled    = mongoerr.Code(175)

	// defaultAwaitTime is how long an awaitData getMore without maxTimeMS
	// waits for new documents.
	defaultAwaitTime = time.Second
)

// tailableOption reads find's tailable and awaitData options.
func tailableOption(req *Request) (tailable, awaitData bool, err error) {
	if tailable, err = argBool(req, "tailable"); err != nil {
		return false, false, err
	}
	if awaitData, err = argBool(req, "awaitData"); err != nil {
		return false, false, err
	}
	if awaitData && !tailable {
		return false, false, mongoerr.New(mongoerr.FailedToParse, "Cannot set 'awaitData' without also setting 'tailable'")
	}
	return tailable, awaitData, nil
}

// tailableFind runs a find with tailable: true (findCmd's hook).
func tailableFind(env *Env, req *Request, name string, q *planner.Query, batchSize int64, singleBatch, awaitData bool) (bson.D, error) {
	if sort, ok := req.Arg("sort"); ok {
		d, _ := sort.(bson.D)
		if len(d) > 0 && !(len(d) == 1 && d[0].Key == "$natural" && bsonutil.Equal(d[0].Value, int32(1))) {
			return nil, mongoerr.New(mongoerr.BadValue, "cannot use tailable option with a sort other than {$natural: 1}")
		}
	}
	if singleBatch {
		return nil, mongoerr.New(mongoerr.BadValue, "cannot use tailable option with the 'singleBatch' option")
	}
	nsName := ns(req.DB, name)
	coll := env.Catalog.Collection(req.DB, name)
	if coll == nil {
		return cursorReply(nsName, 0, "firstBatch", nil), nil
	}
	if _, capped := coll.Capped(); !capped {
		return nil, mongoerr.New(mongoerr.BadValue, "error processing query: tailable cursor requested on non capped collection")
	}
	tq := *q
	tq.Sort, tq.Limit, tq.Hint, tq.Min, tq.Max = nil, 0, bson.D{{Key: "$natural", Value: int32(1)}}, nil, nil
	it := &tailIter{env: env, db: req.DB, name: name, collID: coll.ID, q: tq}
	if err := it.open(); err != nil {
		return nil, err
	}
	cur := &Cursor{NS: nsName, Iter: it, Limit: q.Limit, Tailable: true, AwaitData: awaitData}
	batch, _, err := fillBatch(cur, batchSize, nil)
	if err != nil {
		it.Close()
		return nil, err
	}
	var id int64
	if it.empty || limitReached(cur) {
		it.Close()
	} else {
		id = env.Cursors.Add(cur)
	}
	return cursorReply(nsName, id, "firstBatch", batch), nil
}

func limitReached(c *Cursor) bool { return c.Limit > 0 && c.Returned >= c.Limit }

// tailableGetMore runs getMore on a tailable cursor (getMoreCmd's hook).
// Running out of documents does not close the cursor.
func tailableGetMore(ctx context.Context, env *Env, cur *Cursor, batchSize int64) (bson.D, error) {
	var timeout <-chan time.Time
	if cur.AwaitData {
		if _, ok := ctx.Deadline(); !ok {
			t := time.NewTimer(defaultAwaitTime)
			defer t.Stop()
			timeout = t.C
		}
	}
	var shutdown <-chan struct{}
	if env.Info != nil {
		shutdown = env.Info.ShuttingDown
	}
	for {
		var wake <-chan struct{}
		if it, ok := cur.Iter.(*tailIter); ok && cur.AwaitData {
			if coll := env.Catalog.Collection(it.db, it.name); coll != nil && coll.ID == it.collID {
				wake = env.Catalog.InsertSignal(coll)
			}
		}
		batch, _, err := fillBatch(cur, batchSize, nil)
		if err != nil {
			env.Cursors.Remove(cur)
			return nil, err
		}
		if limitReached(cur) {
			env.Cursors.Remove(cur)
			return cursorReply(cur.NS, 0, "nextBatch", batch), nil
		}
		if len(batch) > 0 || wake == nil {
			env.Cursors.Checkin(cur)
			return cursorReply(cur.NS, cur.ID, "nextBatch", batch), nil
		}
		select {
		case <-wake:
			continue
		case <-ctx.Done():
		case <-timeout:
		case <-shutdown:
		}
		env.Cursors.Checkin(cur)
		return cursorReply(cur.NS, cur.ID, "nextBatch", nil), nil
	}
}

// tailIter reads a capped collection in passes: each pass is a planner
// query over a snapshot, starting after the last record read; a pass ends
// at the end of its snapshot (Next returns io.EOF) and the next call to
// Next starts a new one.
type tailIter struct {
	env      *Env
	db, name string
	collID   uint64
	q        planner.Query // natural order, no sort or limit

	pos    uint64 // record id of the last document read
	passes int
	empty  bool // the collection had no documents at the first pass
	snap   *catalog.Snap
	it     planner.Iterator
}

// afterSource is a planner.Source whose collection scan starts after a
// record id and reports its position.
type afterSource struct {
	*catalog.Snap
	after uint64
	pos   *uint64
}

func (s afterSource) Scan(coll *catalog.Collection, reverse bool) (*catalog.RecordIter, error) {
	return s.Snap.ScanAfter(coll, s.after, s.pos)
}

func (t *tailIter) open() error {
	coll := t.env.Catalog.Collection(t.db, t.name)
	if coll == nil || coll.ID != t.collID {
		return mongoerr.Newf(codeQueryPlanKilled, "collection %s.%s was dropped while a tailable cursor was open on it", t.db, t.name)
	}
	snap, err := t.env.Catalog.Snapshot()
	if err != nil {
		return err
	}
	if t.passes == 0 {
		n, _, err := snap.Stats(coll)
		if err != nil {
			snap.Close()
			return err
		}
		t.empty = n == 0
	} else {
		_, low, err := snap.RecordIDs(coll)
		if err != nil {
			snap.Close()
			return err
		}
		if low > t.pos+1 {
			snap.Close()
			return mongoerr.Newf(codeCappedPositionLost, "CollectionScan died due to position in capped collection being deleted. Last seen record id: RecordId(%d)", t.pos)
		}
	}
	q := t.q
	if t.passes > 0 {
		q.Skip = 0
	}
	it, err := planner.Find(afterSource{Snap: snap, after: t.pos, pos: &t.pos}, coll, &q)
	if err != nil {
		snap.Close()
		return err
	}
	t.passes++
	t.snap, t.it = snap, it
	return nil
}

func (t *tailIter) closePass() error {
	if t.it == nil {
		return nil
	}
	err := t.it.Close()
	if cerr := t.snap.Close(); err == nil {
		err = cerr
	}
	t.it, t.snap = nil, nil
	return err
}

// Next returns the next document, or io.EOF at the end of the current
// pass (the cursor stays usable).
func (t *tailIter) Next() (bson.Raw, error) {
	if t.it == nil {
		if err := t.open(); err != nil {
			return nil, err
		}
	}
	doc, err := t.it.Next()
	if err != nil {
		if cerr := t.closePass(); err == io.EOF && cerr != nil {
			err = cerr
		}
		return nil, err
	}
	return doc, nil
}

func (t *tailIter) Close() error { return t.closePass() }
