package aggregate

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testEnv serves collections from memory (see memenv_test.go).
type testEnv = *memEnv

// aggCase is one data-driven case from testdata/*.json.
type aggCase struct {
	Name     string
	Pipeline []bson.D
	Input    []bson.D
	Output   []bson.D
	Foreign  bson.D // collection name -> documents (in database "test")
	// Unique lists unique indexes: collection name -> array of arrays of
	// field names.
	Unique bson.D
	// Colls is the expected content of collections after the run
	// (collection name, or "db.coll" for another database -> documents).
	Colls     bson.D
	Unordered bool  // compare outputs as multisets
	Error     int32 // expected error code (0: none)
	// SkipIf names a known gap in a dependency: when the pipeline fails
	// with an error containing this text, the case is skipped with that
	// reason instead of failing.
	SkipIf string
}

func docsOf(t *testing.T, v any) []bson.D {
	t.Helper()
	arr, ok := v.(bson.A)
	if !ok {
		t.Fatalf("expected an array of documents, got %T", v)
	}
	out := make([]bson.D, len(arr))
	for i, e := range arr {
		d, ok := e.(bson.D)
		if !ok {
			t.Fatalf("element %d: expected a document, got %T", i, e)
		}
		out[i] = d
	}
	return out
}

func loadCases(t *testing.T, path string) []aggCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top bson.D
	if err := bson.UnmarshalExtJSON(data, false, &top); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var cases []aggCase
	for _, e := range top {
		if e.Key != "cases" {
			continue
		}
		for _, c := range e.Value.(bson.A) {
			cd := c.(bson.D)
			var ac aggCase
			for _, f := range cd {
				switch f.Key {
				case "name":
					ac.Name = f.Value.(string)
				case "pipeline":
					ac.Pipeline = docsOf(t, f.Value)
				case "input":
					ac.Input = docsOf(t, f.Value)
				case "output":
					ac.Output = docsOf(t, f.Value)
				case "foreign":
					ac.Foreign = f.Value.(bson.D)
				case "unordered":
					ac.Unordered = f.Value.(bool)
				case "error":
					ac.Error = f.Value.(int32)
				case "unique":
					ac.Unique = f.Value.(bson.D)
				case "colls":
					ac.Colls = f.Value.(bson.D)
				case "skipIf":
					ac.SkipIf = f.Value.(string)
				default:
					t.Fatalf("%s: unknown case field %q", path, f.Key)
				}
			}
			cases = append(cases, ac)
		}
	}
	return cases
}

func extJSON(t *testing.T, d bson.D) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(d, true, false)
	if err != nil {
		t.Fatalf("marshal %v: %v", d, err)
	}
	return string(b)
}

func runPipeline(stages []bson.D, input []bson.D, env Env) ([]bson.D, error) {
	p, err := Parse(stages, &Options{DB: "test", Env: env})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	src, err := p.Run(ctx, SliceSource(input))
	if err != nil {
		return nil, err
	}
	return ReadAll(ctx, src)
}

func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata files")
	}
	for _, file := range files {
		for _, c := range loadCases(t, file) {
			name := strings.TrimSuffix(filepath.Base(file), ".json") + "/" + c.Name
			t.Run(name, func(t *testing.T) {
				env := newMemEnv()
				for _, f := range c.Foreign {
					env.colls["test."+f.Key] = docsOf(t, f.Value)
				}
				for _, u := range c.Unique {
					for _, ix := range u.Value.(bson.A) {
						var fields []string
						for _, f := range ix.(bson.A) {
							fields = append(fields, f.(string))
						}
						env.unique["test."+u.Key] = append(env.unique["test."+u.Key], fields)
					}
				}
				got, err := runPipeline(c.Pipeline, c.Input, env)
				if err != nil && c.SkipIf != "" && strings.Contains(err.Error(), c.SkipIf) {
					t.Skipf("dependency gap (%q): %v", c.SkipIf, err)
				}
				defer checkColls(t, env, c.Colls)
				if c.Error != 0 {
					if err == nil {
						t.Fatalf("expected error code %d, got success: %v", c.Error, got)
					}
					if me := mongoerr.As(err); me.Code != mongoerr.Code(c.Error) {
						t.Fatalf("expected error code %d, got %d (%s): %v", c.Error, me.Code, me.Code.Name(), err)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				gs, ws := make([]string, len(got)), make([]string, len(c.Output))
				for i, d := range got {
					gs[i] = extJSON(t, d)
				}
				for i, d := range c.Output {
					ws[i] = extJSON(t, d)
				}
				if c.Unordered {
					slices.Sort(gs)
					slices.Sort(ws)
				}
				if !slices.Equal(gs, ws) {
					t.Errorf("output mismatch\n got: %s\nwant: %s", strings.Join(gs, "\n      "), strings.Join(ws, "\n      "))
				}
			})
		}
	}
}

func TestSourceErrorsPropagate(t *testing.T) {
	boom := errors.New("boom")
	src := &funcSource{next: func(context.Context) (bson.D, error) { return nil, boom }}
	p, err := Parse([]bson.D{{{Key: "$match", Value: bson.D{}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.Next(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

func TestEmptyPipeline(t *testing.T) {
	in := []bson.D{{{Key: "a", Value: int32(1)}}}
	got, err := runPipeline(nil, in, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := SliceSource(nil).Next(context.Background()); err != io.EOF {
		t.Fatalf("empty source: got %v", err)
	}
}
