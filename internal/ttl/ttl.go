package ttl

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/planner"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// DefaultInterval is how often the monitor runs.
const DefaultInterval = 60 * time.Second

// Run runs Pass every interval until ctx is done.
func Run(ctx context.Context, cat *catalog.Catalog, interval time.Duration, logger *slog.Logger) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := Pass(ctx, cat, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("ttl: pass failed", "err", err)
		case n > 0:
			logger.Debug("ttl: expired documents", "deleted", n)
		}
	}
}

// Pass deletes every expired document as of now and returns how many it
// deleted.
func Pass(ctx context.Context, cat *catalog.Catalog, now time.Time) (int, error) {
	deleted := 0
	for _, db := range cat.Databases() {
		for _, coll := range cat.Collections(db) {
			for _, ix := range coll.Indexes {
				if ix.ExpireAfterSeconds == nil || len(ix.Fields()) != 1 || ix.IsID() {
					continue
				}
				cutoff := now.Add(-time.Duration(*ix.ExpireAfterSeconds) * time.Second)
				n, err := expire(ctx, cat, coll.DB, coll.Name, ix.Fields()[0], cutoff)
				deleted += n
				if err != nil {
					return deleted, fmt.Errorf("ttl: %s.%s index %s: %w", coll.DB, coll.Name, ix.Name, err)
				}
			}
			if field, secs, ok := timeseriesExpiry(coll); ok {
				n, err := expire(ctx, cat, coll.DB, coll.Name, field, now.Add(-time.Duration(secs)*time.Second))
				deleted += n
				if err != nil {
					return deleted, fmt.Errorf("ttl: time series %s.%s: %w", coll.DB, coll.Name, err)
				}
			}
		}
	}
	return deleted, nil
}

// expire deletes the documents of db.name whose field holds a date before
// cutoff. Comparison operators only compare within a BSON type, so
// non-date values never match.
func expire(ctx context.Context, cat *catalog.Catalog, db, name, field string, cutoff time.Time) (int, error) {
	filter := bson.D{{Key: field, Value: bson.D{{Key: "$lt", Value: bson.NewDateTimeFromTime(cutoff)}}}}
	n := 0
	err := cat.Write(ctx, storage.UpdateOptions{}, func(w *catalog.Writer) error {
		n = 0
		coll := w.Collection(db, name)
		if coll == nil {
			return nil
		}
		docs, err := planner.Matches(w, coll, &planner.Query{Filter: filter})
		if err != nil {
			return err
		}
		for _, d := range docs {
			if err := w.Delete(coll, d.Raw); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
