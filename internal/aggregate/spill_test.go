package aggregate

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// withSpill lowers MemoryLimit and points SpillDir at a fresh directory.
func withSpill(t *testing.T, limit int64) string {
	t.Helper()
	oldLimit, oldDir := MemoryLimit, SpillDir
	dir := t.TempDir()
	MemoryLimit, SpillDir = limit, dir
	t.Cleanup(func() { MemoryLimit, SpillDir = oldLimit, oldDir })
	return dir
}

func spillInput(n int) []bson.D {
	docs := make([]bson.D, n)
	for i := range docs {
		docs[i] = bson.D{
			{Key: "_id", Value: int32(i)},
			{Key: "k", Value: int32(i * 7919 % 503)},
			{Key: "s", Value: fmt.Sprintf("v%05d", i*31%n)},
		}
	}
	return docs
}

func runWith(t *testing.T, stages []bson.D, input []bson.D, allow bool) []bson.D {
	t.Helper()
	p, err := Parse(stages, &Options{AllowDiskUse: allow})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := p.Run(ctx, SliceSource(slices.Clone(input)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadAll(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSpilling(t *testing.T) {
	input := spillInput(5000)
	cases := []struct {
		name      string
		stages    []bson.D
		unordered bool
	}{
		{"sort stable on duplicate keys", []bson.D{{{Key: "$sort", Value: bson.D{{Key: "k", Value: int32(1)}}}}}, false},
		{"sort two keys then limit", []bson.D{
			{{Key: "$sort", Value: bson.D{{Key: "k", Value: int32(-1)}, {Key: "s", Value: int32(1)}}}},
			{{Key: "$limit", Value: int32(700)}},
		}, false},
		{"group sum push", []bson.D{{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$k"},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: int32(1)}}},
			{Key: "ids", Value: bson.D{{Key: "$push", Value: "$_id"}}},
			{Key: "first", Value: bson.D{{Key: "$first", Value: "$s"}}},
		}}}}, true},
		{"group then sort", []bson.D{
			{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$s"}, {Key: "k", Value: bson.D{{Key: "$max", Value: "$k"}}}}}},
			{{Key: "$sort", Value: bson.D{{Key: "_id", Value: int32(1)}}}},
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := runWith(t, c.stages, input, false) // default limit: in memory
			dir := withSpill(t, 20_000)
			before := spillFilesCreated.Load()
			got := runWith(t, c.stages, input, true)
			if spillFilesCreated.Load() == before {
				t.Fatalf("no spill file was written with MemoryLimit %d", MemoryLimit)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("%d spill files left behind", len(ents))
			}
			gs, ws := make([]string, len(got)), make([]string, len(want))
			for i, d := range got {
				gs[i] = extJSON(t, d)
			}
			for i, d := range want {
				ws[i] = extJSON(t, d)
			}
			if c.unordered {
				slices.Sort(gs)
				slices.Sort(ws)
			}
			if !slices.Equal(gs, ws) {
				t.Fatalf("spilled result differs from in-memory result (%d vs %d documents)", len(gs), len(ws))
			}
		})
	}
}

func TestSpillFilesRemovedOnEarlyClose(t *testing.T) {
	dir := withSpill(t, 10_000)
	p, err := Parse([]bson.D{{{Key: "$sort", Value: bson.D{{Key: "s", Value: int32(1)}}}}}, &Options{AllowDiskUse: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := p.Run(ctx, SliceSource(spillInput(3000)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) == 0 {
		t.Fatal("expected spill files while the merge is open")
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("%d spill files left after Close", len(ents))
	}
}
