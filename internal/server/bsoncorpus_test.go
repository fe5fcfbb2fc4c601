package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairndb/cairn/internal/server/servertest"
	"github.com/cairndb/cairn/internal/wire"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// corpusFile is one file of the BSON corpus (../shared/spec-tests/bson-corpus).
type corpusFile struct {
	Description string `json:"description"`
	Valid       []struct {
		Description   string `json:"description"`
		CanonicalBSON string `json:"canonical_bson"`
	} `json:"valid"`
	DecodeErrors []struct {
		Description string `json:"description"`
		Bson        string `json:"bson"`
	} `json:"decodeErrors"`
}

func loadCorpus(t *testing.T) map[string]corpusFile {
	t.Helper()
	dir := os.Getenv("CAIRN_SPEC_DIR")
	if dir == "" {
		dir = "../../../shared/spec-tests"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "bson-corpus", "tests", "*.json"))
	if len(files) == 0 {
		t.Skipf("BSON corpus not found under %s (set CAIRN_SPEC_DIR)", dir)
	}
	out := map[string]corpusFile{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cf corpusFile
		if err := json.Unmarshal(data, &cf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = cf
	}
	return out
}

// TestBSONCorpusRoundTrip stores every valid corpus document (as the field
// x of a document) and reads it back: the bytes must be identical.
func TestBSONCorpusRoundTrip(t *testing.T) {
	corpus := loadCorpus(t)
	c, _ := servertest.Client(t)
	coll := c.Database("corpus").Collection("docs")
	ctx := context.Background()
	n := 0
	for name, cf := range corpus {
		for i, v := range cf.Valid {
			want, err := hex.DecodeString(v.CanonicalBSON)
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("%s/%d", name, i)
			if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "x", Value: bson.Raw(want)}}); err != nil {
				t.Errorf("%s valid[%d] %q: insert: %v", name, i, v.Description, err)
				continue
			}
			raw, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
			if err != nil {
				t.Errorf("%s valid[%d] %q: find: %v", name, i, v.Description, err)
				continue
			}
			got, ok := raw.Lookup("x").DocumentOK()
			if !ok || string(got) != string(want) {
				t.Errorf("%s valid[%d] %q: round trip changed the bytes:\n got %x\nwant %x", name, i, v.Description, []byte(got), want)
			}
			n++
		}
	}
	t.Logf("%d valid corpus documents round-tripped", n)
}

// TestBSONCorpusDecodeErrors sends every decodeErrors input inside an
// insert command; each must get a coded error and the connection must
// stay usable.
func TestBSONCorpusDecodeErrors(t *testing.T) {
	corpus := loadCorpus(t)
	uri, _ := servertest.Start(t)
	rc := dialRaw(t, uri)
	n := 0
	for name, cf := range corpus {
		for i, de := range cf.DecodeErrors {
			bad, err := hex.DecodeString(de.Bson)
			if err != nil {
				t.Fatal(err)
			}
			id := rc.msg(0, bson.D{{Key: "insert", Value: "c"}, {Key: "$db", Value: "corpus"}},
				wire.Sequence{Identifier: "documents", Documents: []bsoncore.Document{bad}})
			out := rc.reply(id)
			if get(out, "ok") != 0.0 || get(out, "code") == nil {
				t.Errorf("%s decodeErrors[%d] %q: reply %v, want a coded error", name, i, de.Description, out)
			}
			n++
			t.Logf("%s decodeErrors[%d] %q: %v", name, i, de.Description, get(out, "errmsg"))
			ping := rc.msg(0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
			if out := rc.reply(ping); get(out, "ok") != 1.0 {
				t.Fatalf("%s decodeErrors[%d]: connection unusable afterwards: %v", name, i, out)
			}
		}
	}
	t.Logf("%d decodeErrors inputs answered with coded errors", n)
}
