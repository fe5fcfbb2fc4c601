package aggregate

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
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

// runErr runs stages over input and returns the error of the run (nil if
// it succeeded).
func runErr(t *testing.T, stages []bson.D, input []bson.D, allow bool) error {
	t.Helper()
	p, err := Parse(stages, &Options{AllowDiskUse: allow})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := p.Run(ctx, SliceSource(slices.Clone(input)))
	if err != nil {
		return err
	}
	_, err = ReadAll(ctx, src)
	return err
}

// windowInput has 211 partitions (p) of about 24 documents, a numeric
// sort field with ties (x), a date (t) and a string to give the
// documents some weight (s).
func windowInput(n int) []bson.D {
	docs := make([]bson.D, n)
	for i := range docs {
		docs[i] = bson.D{
			{Key: "_id", Value: int32(i)},
			{Key: "p", Value: int32(i * 7919 % 211)},
			{Key: "x", Value: int32(i * 37 % 101)},
			{Key: "t", Value: bson.DateTime(int64(i*7%n) * 3600_000)},
			{Key: "s", Value: fmt.Sprintf("payload-%05d", i*31%n)},
		}
	}
	return docs
}

func d(k string, v any) bson.D { return bson.D{{Key: k, Value: v}} }

func windowFields(spec ...bson.E) []bson.D {
	return []bson.D{d("$setWindowFields", bson.D(spec))}
}

func bucketAuto(spec ...bson.E) []bson.D {
	return []bson.D{d("$bucketAuto", bson.D(spec))}
}

// TestSpillingWindowAndBucketAuto runs $setWindowFields and $bucketAuto
// under a lowered MemoryLimit: without allowDiskUse they must fail with
// 292; with it they must write spill files, give exactly the in-memory
// result (same documents, same order) and leave no files behind.
func TestSpillingWindowAndBucketAuto(t *testing.T) {
	input := windowInput(5000)
	byP := bson.E{Key: "partitionBy", Value: "$p"}
	sortID := bson.E{Key: "sortBy", Value: d("_id", int32(1))}
	sortX := bson.E{Key: "sortBy", Value: d("x", int32(1))}
	win := func(kind string, lo, hi any) bson.E { return bson.E{Key: "window", Value: d(kind, bson.A{lo, hi})} }
	out := func(field string, fn bson.D, w ...bson.E) bson.E {
		return bson.E{Key: "output", Value: d(field, append(fn, w...))}
	}
	cases := []struct {
		name   string
		stages []bson.D
	}{
		{"window sum over documents [-2, 1]", windowFields(byP, sortID,
			out("sum", d("$sum", "$x"), win("documents", int32(-2), int32(1))))},
		{"window running sum, descending sort", windowFields(byP, bson.E{Key: "sortBy", Value: d("s", int32(-1))},
			out("run", d("$sum", "$x"), win("documents", "unbounded", "current")))},
		{"window rank and denseRank on ties", windowFields(byP, sortX, bson.E{Key: "output", Value: bson.D{
			{Key: "rank", Value: d("$rank", bson.D{})},
			{Key: "dense", Value: d("$denseRank", bson.D{})},
		}})},
		{"window shift with default", windowFields(byP, sortID,
			out("prev", d("$shift", bson.D{{Key: "output", Value: "$s"}, {Key: "by", Value: int32(-1)}, {Key: "default", Value: "none"}})))},
		{"window first and last", windowFields(byP, sortID, bson.E{Key: "output", Value: bson.D{
			{Key: "first", Value: bson.D{{Key: "$first", Value: "$s"}, {Key: "window", Value: d("documents", bson.A{int32(-3), int32(0)})}}},
			{Key: "last", Value: bson.D{{Key: "$last", Value: "$_id"}, {Key: "window", Value: d("documents", bson.A{"current", "unbounded"})}}},
		}})},
		{"window range on numbers", windowFields(byP, sortX,
			out("near", d("$push", "$_id"), win("range", int32(-10), int32(10))))},
		{"window range on dates with unit", windowFields(byP, bson.E{Key: "sortBy", Value: d("t", int32(1))},
			out("cnt", d("$count", bson.D{}), bson.E{Key: "window", Value: bson.D{
				{Key: "range", Value: bson.A{int32(-500), int32(0)}}, {Key: "unit", Value: "hour"}}}))},
		{"window whole partition, computed partition key", windowFields(
			bson.E{Key: "partitionBy", Value: d("$mod", bson.A{"$_id", int32(97)})},
			out("avg", d("$avg", "$x")))},
		{"window without partitionBy (one partition over the limit)", windowFields(sortID,
			out("n", d("$documentNumber", bson.D{})))},
		{"bucketAuto on a number with ties", bucketAuto(
			bson.E{Key: "groupBy", Value: "$x"}, bson.E{Key: "buckets", Value: int32(7)})},
		{"bucketAuto on a string with accumulators", bucketAuto(
			bson.E{Key: "groupBy", Value: "$s"}, bson.E{Key: "buckets", Value: int32(12)},
			bson.E{Key: "output", Value: bson.D{
				{Key: "n", Value: d("$sum", int32(1))},
				{Key: "first", Value: d("$first", "$_id")},
				{Key: "last", Value: d("$last", "$_id")},
				{Key: "xs", Value: d("$addToSet", "$x")},
			}})},
		{"bucketAuto more buckets than values", bucketAuto(
			bson.E{Key: "groupBy", Value: d("$mod", bson.A{"$x", int32(5)})}, bson.E{Key: "buckets", Value: int32(9)},
			bson.E{Key: "output", Value: d("ids", d("$push", "$_id"))})},
		{"bucketAuto with granularity, zero values first", bucketAuto(
			bson.E{Key: "groupBy", Value: "$x"}, bson.E{Key: "buckets", Value: int32(7)},
			bson.E{Key: "granularity", Value: "R20"},
			bson.E{Key: "output", Value: bson.D{{Key: "n", Value: d("$sum", int32(1))}, {Key: "xs", Value: d("$addToSet", "$x")}}})},
		{"bucketAuto with POWERSOF2 on doubles", bucketAuto(
			bson.E{Key: "groupBy", Value: d("$add", bson.A{"$_id", 0.5})}, bson.E{Key: "buckets", Value: int32(6)},
			bson.E{Key: "granularity", Value: "POWERSOF2"})},
		{"bucketAuto then sort", []bson.D{
			bucketAuto(bson.E{Key: "groupBy", Value: "$t"}, bson.E{Key: "buckets", Value: int32(5)})[0],
			d("$sort", d("count", int32(-1))),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := runWith(t, c.stages, input, false) // default limit: in memory
			if len(want) == 0 {
				t.Fatal("the in-memory run gave no documents")
			}
			dir := withSpill(t, 20_000)
			if err := runErr(t, c.stages, input, false); !mongoerr.Is(err, mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed) {
				t.Fatalf("without allowDiskUse: got %v, want code 292", err)
			}
			before := spillFilesCreated.Load()
			got := runWith(t, c.stages, input, true)
			if spillFilesCreated.Load() == before {
				t.Fatalf("no spill file was written with MemoryLimit %d", MemoryLimit)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("%d spill files left behind", len(ents))
			}
			if len(got) != len(want) {
				t.Fatalf("spilled run gave %d documents, in-memory run %d", len(got), len(want))
			}
			for i := range got {
				if g, w := extJSON(t, got[i]), extJSON(t, want[i]); g != w {
					t.Fatalf("document %d differs:\n spilled   %s\n in memory %s", i, g, w)
				}
			}
		})
	}
}

// TestSpillFilesRemoved checks that the spill files of each spilling
// stage exist while its output is being read and are gone after an early
// Close, and after a run that fails once the input has been spilled.
func TestSpillFilesRemoved(t *testing.T) {
	input := windowInput(3000)
	// From _id 2900 on, documents carry an array (arr) and x is a string:
	// stages that fail on those fail after the input has been spilled,
	// while sorting (an array partition key) or while the sorted runs are
	// being merged ($integral, $mergeObjects).
	bad := slices.Clone(input)
	for i := 2900; i < len(bad); i++ {
		bad[i] = append(slices.Clone(bad[i]), bson.E{Key: "arr", Value: bson.A{int32(1)}})
		bad[i][2].Value = "not a number"
	}
	byP := bson.E{Key: "partitionBy", Value: "$p"}
	sortID := bson.E{Key: "sortBy", Value: d("_id", int32(1))}
	groupByS := bson.E{Key: "groupBy", Value: "$s"}
	ten := bson.E{Key: "buckets", Value: int32(10)}
	cases := []struct {
		name    string
		stages  []bson.D
		failing [][]bson.D // stages that fail on bad after spilling
	}{
		{"sort", []bson.D{d("$sort", d("s", int32(1)))}, nil},
		{"setWindowFields",
			windowFields(byP, sortID, bson.E{Key: "output", Value: d("i", d("$integral", d("input", "$x")))}),
			[][]bson.D{
				windowFields(bson.E{Key: "partitionBy", Value: d("$ifNull", bson.A{"$arr", "$p"})},
					bson.E{Key: "output", Value: d("n", d("$sum", int32(1)))}),
				windowFields(byP, sortID, bson.E{Key: "output", Value: d("i", d("$integral", d("input", "$x")))}),
			},
		},
		{"bucketAuto",
			bucketAuto(groupByS, ten),
			[][]bson.D{
				bucketAuto(groupByS, ten, bson.E{Key: "output", Value: d("m", d("$mergeObjects", "$arr"))}),
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name+"/early close", func(t *testing.T) {
			dir := withSpill(t, 10_000)
			p, err := Parse(c.stages, &Options{AllowDiskUse: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			src, err := p.Run(ctx, SliceSource(slices.Clone(input)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Next(ctx); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) == 0 {
				t.Fatal("expected spill files while the output is being read")
			}
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("%d spill files left after Close", len(ents))
			}
		})
		for i, stages := range c.failing {
			t.Run(fmt.Sprintf("%s/error %d", c.name, i), func(t *testing.T) {
				if err := runErr(t, stages, bad, false); err == nil || mongoerr.Is(err, mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed) {
					t.Fatalf("with the default limit: got %v, want the stage's own error", err)
				}
				if err := runErr(t, stages, input, false); err != nil {
					t.Fatalf("on the good input: %v", err)
				}
				dir := withSpill(t, 10_000)
				before := spillFilesCreated.Load()
				err := runErr(t, stages, bad, true)
				if err == nil {
					t.Fatal("the run did not fail")
				}
				if spillFilesCreated.Load() == before {
					t.Fatal("the run failed before spilling")
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Fatalf("%d spill files left after %v", len(ents), err)
				}
			})
		}
	}
}
