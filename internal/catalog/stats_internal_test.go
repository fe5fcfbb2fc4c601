package catalog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestCommittedStats: through random inserts, replacements (which change
// the size), deletes and writes that fail, the statistics an exclusive
// catalog keeps in memory are after every write what is stored, and what
// is stored is the collection's real count and size, also after a reopen
// and in a fresh catalog whose memory starts empty.
func TestCommittedStats(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	open := func() (*Catalog, *pebble.Engine) {
		eng, err := pebble.Open("db", &pebble.Options{FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(eng, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, eng
	}
	c, eng := open()
	if c.committed == nil {
		t.Fatal("no committed statistics on an exclusive engine")
	}
	if _, err := c.Create(ctx, "db", "c", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[int32]int{} // _id -> document size
	errFail := errors.New("fail")
	check := func(c *Catalog, step string) {
		t.Helper()
		coll := c.Collection("db", "c")
		s, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		count, size, err := readStats(s.s, coll.ID)
		if err != nil {
			t.Fatal(err)
		}
		var wantSize int64
		for _, n := range live {
			wantSize += int64(n)
		}
		if count != int64(len(live)) || size != wantSize {
			t.Fatalf("%s: stored count %d size %d, want %d %d", step, count, size, len(live), wantSize)
		}
		if mc, ms, ok := c.committed.get(coll.ID); ok && (mc != count || ms != size) {
			t.Fatalf("%s: remembered count %d size %d, stored %d %d", step, mc, ms, count, size)
		}
	}
	doc := func(id int32) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "s", Value: strings.Repeat("x", rng.IntN(200))}}
	}
	for step := range 300 {
		coll := c.Collection("db", "c")
		fail := rng.IntN(5) == 0
		pending := map[int32]int{}
		for k, v := range live {
			pending[k] = v
		}
		err := c.Write(ctx, storage.UpdateOptions{NoSync: rng.IntN(2) == 0}, func(w *Writer) error {
			for range 1 + rng.IntN(4) {
				id := int32(rng.IntN(40))
				old, err := w.FindID(coll, id)
				if err != nil {
					return err
				}
				d := doc(id)
				raw, err := bson.Marshal(d)
				if err != nil {
					return err
				}
				switch {
				case old == nil:
					if err := w.Insert(coll, d); err != nil {
						return err
					}
					pending[id] = len(raw)
				case rng.IntN(2) == 0:
					if err := w.Delete(coll, old); err != nil {
						return err
					}
					delete(pending, id)
				default:
					var od bson.D
					if err := bson.Unmarshal(old, &od); err != nil {
						return err
					}
					if err := w.Replace(coll, old, od, d); err != nil {
						return err
					}
					pending[id] = len(raw)
				}
			}
			if fail {
				return errFail
			}
			return nil
		})
		if fail {
			if !errors.Is(err, errFail) {
				t.Fatalf("step %d: failing write: %v", step, err)
			}
		} else {
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			live = pending
		}
		check(c, fmt.Sprintf("step %d", step))
	}
	if _, _, ok := c.committed.get(c.Collection("db", "c").ID); !ok {
		t.Fatal("no statistics remembered after the writes")
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	c, eng = open()
	defer eng.Close()
	check(c, "reopened")
	coll := c.Collection("db", "c")
	if err := c.Write(ctx, storage.UpdateOptions{}, func(w *Writer) error {
		d := doc(1000)
		raw, _ := bson.Marshal(d)
		live[1000] = len(raw)
		return w.Insert(coll, d)
	}); err != nil {
		t.Fatal(err)
	}
	check(c, "insert after reopen")
}
