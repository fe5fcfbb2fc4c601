package aggregate

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// readDepsFile reads a testdata/deps file as a document.
func readDepsFile(t *testing.T, name string) bson.D {
	t.Helper()
	data, err := os.ReadFile("testdata/deps/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var top bson.D
	if err := bson.UnmarshalExtJSON(data, false, &top); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return top
}

func getField(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// TestDependencies checks the dependency analysis against
// testdata/deps/analysis.json: each pipeline with the top-level fields it
// needs (in first-mention order), or all: true.
func TestDependencies(t *testing.T) {
	top := readDepsFile(t, "analysis.json")
	cases, _ := getField(top, "cases").(bson.A)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		cd := c.(bson.D)
		name, _ := getField(cd, "name").(string)
		t.Run(name, func(t *testing.T) {
			p, err := Parse(docsOf(t, getField(cd, "pipeline")), &Options{DB: "test", Env: newMemEnv()})
			if err != nil {
				if skip, _ := getField(cd, "skipIf").(string); skip != "" && strings.Contains(err.Error(), skip) {
					t.Skipf("not supported: %v", err)
				}
				t.Fatal(err)
			}
			got := p.Dependencies()
			if all, _ := getField(cd, "all").(bool); all {
				if !got.All {
					t.Fatalf("got fields %q, want all", got.Fields)
				}
				return
			}
			arr, ok := getField(cd, "fields").(bson.A)
			if !ok {
				t.Fatal("case has neither fields nor all")
			}
			want := []string{}
			for _, f := range arr {
				want = append(want, f.(string))
			}
			if got.All {
				t.Fatalf("got all, want fields %q", want)
			}
			if !slices.Equal(append([]string{}, got.Fields...), want) {
				t.Fatalf("got fields %q, want %q", got.Fields, want)
			}
		})
	}
}

// rawSource is what the server gives a pipeline: stored documents decoded
// by a DocDecoder.
func rawSource(raws []bson.Raw, dec *DocDecoder) Source {
	i := 0
	return &funcSource{next: func(context.Context) (bson.D, error) {
		if i >= len(raws) {
			return nil, io.EOF
		}
		i++
		return dec.Decode(raws[i-1])
	}}
}

// runRaw runs stages over raws decoded for deps and returns the results as
// canonical extended JSON, or the error.
func runRaw(t *testing.T, stages []bson.D, raws []bson.Raw, env Env, deps func(*Pipeline) Deps) ([]string, error) {
	t.Helper()
	p, err := Parse(stages, &Options{DB: "test", Env: env})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := p.Run(ctx, rawSource(raws, NewDocDecoder(deps(p))))
	if err != nil {
		return nil, err
	}
	docs, err := ReadAll(ctx, out)
	if err != nil {
		return nil, err
	}
	js := make([]string, len(docs))
	for i, d := range docs {
		js[i] = extJSON(t, d)
	}
	return js, nil
}

// TestPartialDecodeDifferential runs every pipeline of
// testdata/deps/differential.json twice over the same stored documents:
// decoded whole, and decoded with only the fields the dependency analysis
// asks for. The results (documents and their order, or the error code)
// must be identical, and the analysis must have taken the partial path
// exactly when the case says so.
func TestPartialDecodeDifferential(t *testing.T) {
	top := readDepsFile(t, "differential.json")
	var raws []bson.Raw
	for _, d := range docsOf(t, getField(top, "input")) {
		raw, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	// A document with a duplicate field name (drivers can send one).
	raws = append(raws, bson.Raw(bsoncore.NewDocumentBuilder().
		AppendInt32("_id", 9).AppendInt32("dup", 1).AppendInt32("g", 1).AppendString("dup", "two").Build()))
	foreign := docsOf(t, getField(top, "foreign"))
	cases, _ := getField(top, "cases").(bson.A)
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		cd := c.(bson.D)
		name, _ := getField(cd, "name").(string)
		t.Run(name, func(t *testing.T) {
			stages := docsOf(t, getField(cd, "pipeline"))
			env := newMemEnv()
			env.colls["test.f"] = foreign
			p, err := Parse(stages, &Options{DB: "test", Env: env})
			if err != nil {
				t.Fatal(err)
			}
			deps := p.Dependencies()
			if wantPartial, _ := getField(cd, "partial").(bool); wantPartial == deps.All {
				t.Fatalf("analysis gave %+v, want partial=%v", deps, wantPartial)
			}
			whole, werr := runRaw(t, stages, raws, env, func(*Pipeline) Deps { return Deps{All: true} })
			part, perr := runRaw(t, stages, raws, env, (*Pipeline).Dependencies)
			if werr != nil || perr != nil {
				if werr == nil || perr == nil || mongoerr.As(werr).Code != mongoerr.As(perr).Code {
					t.Fatalf("errors differ: whole %v, partial %v", werr, perr)
				}
				return
			}
			if len(whole) == 0 {
				t.Fatal("the pipeline gave no documents; the case tests nothing")
			}
			if !slices.Equal(whole, part) {
				t.Fatalf("results differ (fields %q)\n whole:   %s\n partial: %s", deps.Fields,
					strings.Join(whole, "\n          "), strings.Join(part, "\n          "))
			}
		})
	}
}

// TestDocDecoder checks partial decoding on its own: order, duplicates,
// every BSON type through the bsonutil.Decode fallback, and malformed
// input.
func TestDocDecoder(t *testing.T) {
	doc := bson.D{
		{Key: "a", Value: int32(1)}, {Key: "skip", Value: "x"}, {Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{1, 2}}},
		{Key: "d", Value: bson.D{{Key: "x", Value: bson.A{int64(1), 2.5}}}}, {Key: "dec", Value: bson.NewDecimal128(1, 2)},
		{Key: "s", Value: "str"}, {Key: "n", Value: nil}, {Key: "t", Value: bson.Timestamp{T: 1, I: 2}},
	}
	raw, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		fields []string
		want   bson.D
	}{
		{[]string{"s", "a"}, bson.D{doc[0], doc[5]}},
		{[]string{"bin", "d", "dec", "n", "t"}, bson.D{doc[2], doc[3], doc[4], doc[6], doc[7]}},
		{[]string{"nope"}, bson.D{}},
		{[]string{"a", "skip", "bin", "d", "dec", "s", "n", "t", "z1", "z2"}, doc}, // > 8 names: map lookup
	}
	for _, c := range cases {
		got, err := NewDocDecoder(Deps{Fields: c.fields}).Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := extJSON(t, got), extJSON(t, c.want); g != w {
			t.Errorf("fields %q: got %s, want %s", c.fields, g, w)
		}
	}
	dec := NewDocDecoder(Deps{Fields: []string{"a"}})
	for _, bad := range [][]byte{nil, {5, 0, 0}, raw[:len(raw)-3], []byte{12, 0, 0, 0, 0x10, 'a', 0, 1, 0, 0, 0, 0}[:11],
		{14, 0, 0, 0, 0x02, 'a', 0, 0xff, 0xff, 0, 0, 'x', 0, 0}, {10, 0, 0, 0, 0x10, 'a', 'b', 'c', 'd', 0}} {
		if _, err := dec.Decode(bad); err == nil {
			t.Errorf("Decode(%x): no error", bad)
		}
	}
}

// TestDocDecoderDetached: a picking decoder's result does not alias its
// input (Detached), which the aggregate command reads in place from the
// storage engine: after the input's bytes are overwritten, binary data at
// the top level, in an embedded document, in an array and in a code with
// scope's scope is as it was.
func TestDocDecoderDetached(t *testing.T) {
	bin := bson.Binary{Subtype: 0, Data: []byte{1, 2, 3}}
	doc := bson.D{
		{Key: "b", Value: bin},
		{Key: "d", Value: bson.D{{Key: "x", Value: bin}}},
		{Key: "a", Value: bson.A{bin}},
		{Key: "c", Value: bson.CodeWithScope{Code: "f()", Scope: bson.D{{Key: "x", Value: bin}}}},
	}
	raw, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := NewDocDecoder(Deps{Fields: []string{"b", "d", "a", "c"}})
	if !dec.Detached() {
		t.Fatal("a picking decoder is not Detached")
	}
	got, err := dec.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := extJSON(t, got)
	for i := range raw {
		raw[i] = 0xff
	}
	if after := extJSON(t, got); after != want {
		t.Fatalf("decoded %s; after its input was overwritten, %s", want, after)
	}
}

// BenchmarkDecodeAndGroup is the per-document work of the load tool's
// group workload without storage: partial decoding of a ~1 KB usertable
// document and a $group by a 100-valued field with {$sum: 1}. The
// "whole" variant decodes whole documents, as before the dependency
// analysis.
func BenchmarkDecodeAndGroup(b *testing.B) {
	fill := strings.Repeat("abcdefghij", 10)
	raws := make([]bson.Raw, 1000)
	for i := range raws {
		d := bson.D{{Key: "_id", Value: int64(i)}, {Key: "i", Value: int64(i)}, {Key: "g", Value: int32(i % 100)}, {Key: "n", Value: int32(0)}}
		for f := 0; f < 10; f++ {
			d = append(d, bson.E{Key: "f" + string(rune('0'+f)), Value: fill})
		}
		raw, err := bson.Marshal(d)
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = raw
	}
	p, err := Parse([]bson.D{{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: int32(1)}}}}}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		deps Deps
	}{{"partial", p.Dependencies()}, {"whole", Deps{All: true}}} {
		b.Run(v.name, func(b *testing.B) {
			dec := NewDocDecoder(v.deps)
			r := p.stages[0].(*groupStage).g.newRun()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				doc, err := dec.Decode(raws[i%len(raws)])
				if err != nil {
					b.Fatal(err)
				}
				if err := r.add(doc); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if len(r.keys) != 100 {
				b.Fatalf("%d groups", len(r.keys))
			}
		})
	}
}

// FuzzDocDecoder decodes arbitrary bytes with a DocDecoder for a few field
// names. Nothing may panic, and whenever bsonutil.Decode accepts the
// document the partial decode must succeed and equal the whole document's
// elements with those names, in order.
func FuzzDocDecoder(f *testing.F) {
	seed := func(d bson.D) {
		raw, err := bson.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(raw), "a,b")
	}
	seed(bson.D{{Key: "a", Value: int32(1)}, {Key: "x", Value: "s"}, {Key: "b", Value: bson.A{1.5, bson.D{{Key: "c", Value: nil}}}}})
	seed(bson.D{{Key: "b", Value: bson.Binary{Data: []byte{1}}}, {Key: "a", Value: bson.Regex{Pattern: "p", Options: "i"}}, {Key: "a", Value: int64(2)}})
	seed(bson.D{{Key: "z", Value: bson.DateTime(5)}, {Key: "a", Value: bson.NewObjectID()}, {Key: "b", Value: true}})
	f.Fuzz(func(t *testing.T, raw []byte, names string) {
		fields := strings.Split(names, ",")
		got, perr := NewDocDecoder(Deps{Fields: fields}).Decode(raw)
		whole, werr := NewDocDecoder(Deps{All: true}).Decode(raw)
		if werr != nil {
			return
		}
		if perr != nil {
			t.Fatalf("partial decode failed where the whole decode did not: %v", perr)
		}
		want := bson.D{}
		for _, e := range whole {
			if slices.Contains(fields, e.Key) {
				want = append(want, e)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range got {
			if got[i].Key != want[i].Key || bsonutil.Compare(got[i].Value, want[i].Value) != 0 || bsonutil.TypeName(got[i].Value) != bsonutil.TypeName(want[i].Value) {
				t.Fatalf("element %d: got %v, want %v", i, got[i], want[i])
			}
		}
	})
}
