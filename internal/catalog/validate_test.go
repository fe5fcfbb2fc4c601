package catalog

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// validateFixture builds test.c with a plain, a unique, a sparse and a
// multikey index and a few documents.
func validateFixture(t *testing.T) (*Catalog, *Collection) {
	t.Helper()
	eng, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	c, err := Open(eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	specs := []bson.D{
		{{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "name", Value: "a_1"}},
		{{Key: "key", Value: bson.D{{Key: "b", Value: 1}}}, {Key: "name", Value: "b_1"}, {Key: "unique", Value: true}},
		{{Key: "key", Value: bson.D{{Key: "s", Value: -1}}}, {Key: "name", Value: "s_-1"}, {Key: "sparse", Value: true}},
		{{Key: "key", Value: bson.D{{Key: "tags", Value: 1}}}, {Key: "name", Value: "tags_1"}},
	}
	if _, _, _, err := c.CreateIndexes(ctx, "test", "c", specs); err != nil {
		t.Fatal(err)
	}
	coll := c.Collection("test", "c")
	err = c.Write(ctx, storage.UpdateOptions{}, func(w *Writer) error {
		for i := 1; i <= 5; i++ {
			d := bson.D{{Key: "_id", Value: int32(i)}, {Key: "a", Value: int32(i % 2)}, {Key: "b", Value: int32(i)},
				{Key: "tags", Value: bson.A{"x", "y", int32(i)}}}
			if i%2 == 0 {
				d = append(d, bson.E{Key: "s", Value: "sp"})
			}
			if err := w.Insert(coll, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, coll
}

// entryKey returns the full index key doc id needs in index name.
func entryKey(t *testing.T, coll *Collection, name string, doc bson.D) []byte {
	t.Helper()
	ix := coll.Index(name)
	keys, _, _, err := ix.entries(doc)
	if err != nil || len(keys) == 0 {
		t.Fatalf("entries of %v in %s: %v %v", doc, name, keys, err)
	}
	full := append(idxPrefix(coll.ID, ix.ID), keys[0]...)
	if !ix.Unique {
		full = append(full, EncodeID(docID(doc))...)
	}
	return full
}

func doc3() bson.D {
	return bson.D{{Key: "_id", Value: int32(3)}, {Key: "a", Value: int32(1)}, {Key: "b", Value: int32(3)},
		{Key: "tags", Value: bson.A{"x", "y", int32(3)}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		full    bool
		corrupt func(t *testing.T, coll *Collection, txn storage.Txn)
		// wantErr is a substring of one of the errors; empty means valid.
		wantErr      string
		extra        int
		missing      int
		corruptRecs  int
		invalidIndex string
	}{
		{name: "clean"},
		{name: "clean full", full: true},
		{
			name: "missing plain entry",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Delete(entryKey(t, coll, "a_1", doc3())))
			},
			wantErr: "no entry", missing: 1, invalidIndex: "a_1",
		},
		{
			name: "missing unique entry",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Delete(entryKey(t, coll, "b_1", doc3())))
			},
			wantErr: "no entry", missing: 1, invalidIndex: "b_1",
		},
		{
			name: "extra plain entry",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				d := doc3()
				d[1].Value = int32(42)
				must(t, txn.Set(entryKey(t, coll, "a_1", d), nil))
			},
			wantErr: "no document needs", extra: 1, invalidIndex: "a_1",
		},
		{
			name: "unique entry points at another record",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Set(entryKey(t, coll, "b_1", doc3()), EncodeID(int32(4))))
			},
			wantErr: "points at record", missing: 1, extra: 1, invalidIndex: "b_1",
		},
		{
			name: "record deleted behind the indexes",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Delete(recKey(coll.ID, int32(3))))
			},
			// a_1, b_1 and three tags entries are left over; the
			// stored stats still count the record.
			wantErr: "stored document count", extra: 5, invalidIndex: "a_1,b_1,tags_1",
		},
		{
			name: "multikey entry missing",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Delete(entryKey(t, coll, "tags_1", doc3())))
			},
			wantErr: "no entry", missing: 1, invalidIndex: "tags_1",
		},
		{
			name: "record under the wrong key",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				raw, err := txn.Get(recKey(coll.ID, int32(3)))
				must(t, err)
				must(t, txn.Delete(recKey(coll.ID, int32(3))))
				must(t, txn.Set(recKey(coll.ID, int32(99)), raw))
			},
			wantErr: "does not match its _id", corruptRecs: 1, extra: 5,
		},
		{
			name: "undecodable record",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Set(recKey(coll.ID, int32(3)), []byte{5, 0, 0, 0, 1}))
			},
			wantErr: "cannot be decoded", corruptRecs: 1, extra: 5,
		},
		{
			name: "invalid BSON detected by full",
			full: true,
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				raw, err := txn.Get(recKey(coll.ID, int32(3)))
				must(t, err)
				bad := append([]byte(nil), raw...)
				// Turn the "a" int32 element's type byte into an unknown type.
				i := strings.Index(string(bad), "\x10a\x00")
				if i < 0 {
					t.Fatal("no a field")
				}
				bad[i] = 0x7e
				must(t, txn.Set(recKey(coll.ID, int32(3)), bad))
			},
			wantErr: "BSON", corruptRecs: 1, extra: 5,
		},
		{
			name: "stats drift",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				v := binary.BigEndian.AppendUint64(nil, 6)
				v = binary.BigEndian.AppendUint64(v, 1)
				must(t, txn.Set(statKey(coll.ID), v))
			},
			wantErr: "stored document count",
		},
		{
			name: "entries of a dropped index",
			corrupt: func(t *testing.T, coll *Collection, txn storage.Txn) {
				must(t, txn.Set(append(idxPrefix(coll.ID, 77), 1, 2, 3), nil))
			},
			wantErr: "index id 77",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, coll := validateFixture(t)
			if tc.corrupt != nil {
				err := c.eng.Update(context.Background(), storage.UpdateOptions{}, func(txn storage.Txn) error {
					tc.corrupt(t, coll, txn)
					return nil
				})
				must(t, err)
			}
			res, err := c.Validate(context.Background(), "test", "c", ValidateOptions{Full: tc.full})
			must(t, err)
			if res.Valid != (tc.wantErr == "") {
				t.Fatalf("valid = %v, errors %q", res.Valid, res.Errors)
			}
			if tc.wantErr != "" && !strings.Contains(strings.Join(res.Errors, "\n"), tc.wantErr) {
				t.Errorf("errors %q do not mention %q", res.Errors, tc.wantErr)
			}
			if len(res.ExtraIndexEntries) != tc.extra || len(res.MissingIndexEntries) != tc.missing || len(res.CorruptRecords) != tc.corruptRecs {
				t.Errorf("extra/missing/corrupt = %d/%d/%d, want %d/%d/%d (errors %q)",
					len(res.ExtraIndexEntries), len(res.MissingIndexEntries), len(res.CorruptRecords),
					tc.extra, tc.missing, tc.corruptRecs, res.Errors)
			}
			if int64(len(res.CorruptRecords)) != res.NInvalidDocuments {
				t.Errorf("nInvalidDocuments = %d, corrupt records %d", res.NInvalidDocuments, len(res.CorruptRecords))
			}
			for _, iv := range res.Indexes {
				bad := strings.Contains(","+tc.invalidIndex+",", ","+iv.Name+",")
				if want := !bad; iv.Valid != want && tc.invalidIndex != "" {
					t.Errorf("index %s valid = %v, want %v", iv.Name, iv.Valid, want)
				}
				if tc.wantErr == "" && !iv.Valid {
					t.Errorf("index %s invalid in a clean collection", iv.Name)
				}
			}
		})
	}
}

func TestValidateCounts(t *testing.T) {
	c, _ := validateFixture(t)
	res, err := c.Validate(context.Background(), "test", "c", ValidateOptions{})
	must(t, err)
	// tags: "x", "y" and a number per document.
	want := map[string]int64{"_id_": 5, "a_1": 5, "b_1": 5, "s_-1": 2, "tags_1": 15}
	if res.NRecords != 5 || len(res.Indexes) != len(want) {
		t.Fatalf("nrecords %d, indexes %+v", res.NRecords, res.Indexes)
	}
	for _, iv := range res.Indexes {
		if iv.Keys != want[iv.Name] {
			t.Errorf("keysPerIndex[%s] = %d, want %d", iv.Name, iv.Keys, want[iv.Name])
		}
	}
	// A collection that does not exist validates as empty.
	res, err = c.Validate(context.Background(), "test", "nope", ValidateOptions{})
	must(t, err)
	if !res.Valid || res.NRecords != 0 {
		t.Errorf("missing collection: %+v", res)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
