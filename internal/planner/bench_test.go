package planner

import (
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// notMultikey reports every index as non-multikey, as the catalog will
// once the write path records multikey markers (the benchmark data has no
// arrays, so this is exact).
type notMultikey struct{ Source }

func (notMultikey) IndexMultikey(*catalog.Collection, *catalog.Index) (bool, error) {
	return false, nil
}

func benchSizes() []int {
	sizes := []int{20000, 200000}
	if os.Getenv("PLANNER_BENCH_1M") != "" {
		sizes = append(sizes, 1000000)
	}
	return sizes
}

func loadBench(b *testing.B, n int) *testEnv {
	env := newEnv(b)
	env.createIndexes(bson.D{{Key: "key", Value: bson.D{{Key: "i", Value: int32(1)}}}, {Key: "name", Value: "i_1"}})
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		docs := make([]bson.D, 0, batch)
		for k := lo; k < min(lo+batch, n); k++ {
			docs = append(docs, bson.D{{Key: "_id", Value: int64(k)}, {Key: "i", Value: int64(k)}, {Key: "g", Value: int32(k % 16)},
				{Key: "pad", Value: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}})
		}
		env.insert(docs...)
	}
	env.docs = nil // not needed; keep memory down
	settle(b, env)
	return env
}

// settle flushes the memtable and waits (up to a minute) for the
// compactions the load started to finish, so every size is measured in
// the steady state a running server reaches shortly after a bulk load,
// not with the load's L0 files still stacked up. Pebble leaves a few L0
// files alone (it compacts L0 from 4 sublevels on), so "settled" is: no
// compaction running, at most 2 L0 sublevels, twice in a row.
func settle(b *testing.B, env *testEnv) {
	db := env.eng.DB()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	quiet := 0
	for time.Now().Before(deadline) {
		m := db.Metrics()
		if m.Compact.NumInProgress == 0 && m.Levels[0].Sublevels <= 2 {
			if quiet++; quiet == 2 {
				return
			}
		} else {
			quiet = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Logf("compactions still pending after a minute: %s", db.Metrics().String())
}

func drainCount(b *testing.B, it Iterator) int {
	n := 0
	for {
		_, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	it.Close()
	return n
}

// BenchmarkIndexed measures indexed equality, range + sort + limit 20 and
// count over a 100-key range, with exact multikey information ("tracked")
// and with today's conservative default ("untracked"). Set
// PLANNER_BENCH_1M=1 to add a 1M-document collection.
func BenchmarkIndexed(b *testing.B) {
	for _, n := range benchSizes() {
		env := loadBench(b, n)
		coll := env.coll()
		for _, tracked := range []bool{true, false} {
			var src Source = env.source(false)
			mode := "untracked"
			if tracked {
				src, mode = notMultikey{src}, "tracked"
			}
			b.Run(fmt.Sprintf("equality/n=%d/%s", n, mode), func(b *testing.B) {
				for k := 0; k < b.N; k++ {
					it, err := Find(src, coll, &Query{Filter: bson.D{{Key: "i", Value: int64(k * 7919 % n)}}})
					if err != nil {
						b.Fatal(err)
					}
					if got := drainCount(b, it); got != 1 {
						b.Fatalf("got %d", got)
					}
				}
			})
			b.Run(fmt.Sprintf("range_sort_limit20/n=%d/%s", n, mode), func(b *testing.B) {
				for k := 0; k < b.N; k++ {
					lo := int64(k * 7919 % (n - 100))
					it, err := Find(src, coll, &Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: lo}}}},
						Sort: bson.D{{Key: "i", Value: int32(1)}}, Limit: 20})
					if err != nil {
						b.Fatal(err)
					}
					if got := drainCount(b, it); got != 20 {
						b.Fatalf("got %d", got)
					}
				}
			})
			b.Run(fmt.Sprintf("count_range100/n=%d/%s", n, mode), func(b *testing.B) {
				for k := 0; k < b.N; k++ {
					lo := int64(k * 7919 % (n - 100))
					c, err := Count(src, coll, &Query{Filter: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: lo}, {Key: "$lt", Value: lo + 100}}}}})
					if err != nil {
						b.Fatal(err)
					}
					if c != 100 {
						b.Fatalf("count %d", c)
					}
				}
			})
		}
	}
}
