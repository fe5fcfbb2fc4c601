package aggregate

import (
	"context"
	"errors"
	"io"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Source is a stream of documents. Next returns io.EOF at the end.
type Source interface {
	Next(ctx context.Context) (bson.D, error)
	Close() error
}

// Env gives stages access to other collections ($lookup, $unionWith,
// $graphLookup; later $out/$merge).
type Env interface {
	// Scan returns all documents of db.coll (an empty source if it does not
	// exist).
	Scan(ctx context.Context, db, coll string) (Source, error)
}

// SliceSource returns a Source over docs. The documents are handed out as
// they are, not copied; stages never modify their input documents.
func SliceSource(docs []bson.D) Source { return &sliceSource{docs: docs} }

type sliceSource struct {
	docs []bson.D
	i    int
}

func (s *sliceSource) Next(ctx context.Context) (bson.D, error) {
	if s.i >= len(s.docs) {
		return nil, io.EOF
	}
	d := s.docs[s.i]
	s.docs[s.i] = nil // let consumed documents be collected
	s.i++
	return d, nil
}

func (s *sliceSource) Close() error { return nil }

// funcSource adapts a next function and an optional close function.
type funcSource struct {
	next  func(ctx context.Context) (bson.D, error)
	close func() error
}

func (s *funcSource) Next(ctx context.Context) (bson.D, error) { return s.next(ctx) }

func (s *funcSource) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// ReadAll drains src into a slice and closes it.
func ReadAll(ctx context.Context, src Source) ([]bson.D, error) {
	defer src.Close()
	var out []bson.D
	for {
		d, err := src.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
}

// checkCtx converts a done context into a MongoDB-shaped error.
func checkCtx(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return mongoerr.New(mongoerr.MaxTimeMSExpired, "operation exceeded time limit")
	}
	return mongoerr.New(mongoerr.Interrupted, "operation was interrupted")
}

// drain reads all of in (checking for cancellation), calling fn for each
// document, and closes in.
func drain(ctx context.Context, in Source, fn func(bson.D) error) error {
	defer in.Close()
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := checkCtx(ctx); err != nil {
				return err
			}
		}
		d, err := in.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
}

// scanAll reads every document of db.coll through env.
func scanAll(ctx context.Context, env Env, db, coll, stage string) ([]bson.D, error) {
	if env == nil {
		return nil, mongoerr.Newf(mongoerr.NotImplemented, "%s is not available in this context", stage)
	}
	src, err := env.Scan(ctx, db, coll)
	if err != nil {
		return nil, err
	}
	return ReadAll(ctx, src)
}
