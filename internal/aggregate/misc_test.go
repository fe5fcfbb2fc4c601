package aggregate

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMemoryLimit(t *testing.T) {
	old := MemoryLimit
	MemoryLimit = 10_000
	defer func() { MemoryLimit = old }()
	var docs []bson.D
	for i := 0; i < 1000; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "s", Value: fmt.Sprintf("value-%d", i)}})
	}
	pipes := map[string][]bson.D{
		"group":      {{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$_id"}, {Key: "s", Value: bson.D{{Key: "$push", Value: "$s"}}}}}}},
		"sort":       {{{Key: "$sort", Value: bson.D{{Key: "s", Value: int32(1)}}}}},
		"bucketAuto": {{{Key: "$bucketAuto", Value: bson.D{{Key: "groupBy", Value: "$s"}, {Key: "buckets", Value: int32(3)}}}}},
	}
	for name, stages := range pipes {
		for _, allow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/allowDiskUse=%v", name, allow), func(t *testing.T) {
				p, err := Parse(stages, &Options{AllowDiskUse: allow})
				if err != nil {
					t.Fatal(err)
				}
				src, err := p.Run(context.Background(), SliceSource(append([]bson.D(nil), docs...)))
				if err != nil {
					t.Fatal(err)
				}
				_, err = ReadAll(context.Background(), src)
				if allow {
					if err != nil {
						t.Fatalf("with allowDiskUse: %v", err)
					}
					return
				}
				if !mongoerr.Is(err, mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed) {
					t.Fatalf("got %v, want code 292", err)
				}
			})
		}
	}
}

func TestLeadingMatch(t *testing.T) {
	stages := []bson.D{
		{{Key: "$match", Value: bson.D{{Key: "a", Value: int32(1)}}}},
		{{Key: "$match", Value: bson.D{{Key: "b", Value: int32(2)}}}},
		{{Key: "$limit", Value: int32(3)}},
	}
	p, err := Parse(stages, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, rest := p.LeadingMatch()
	want := bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "b", Value: int32(2)}}}}}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Errorf("filter = %v, want %v", f, want)
	}
	if len(rest.Stages()) != 1 || rest.Stages()[0].Name() != "$limit" {
		t.Errorf("rest = %v", rest.Stages())
	}
	if got := p.Stages()[2].Spec(); fmt.Sprint(got) != fmt.Sprint(stages[2]) {
		t.Errorf("Spec() = %v, want %v", got, stages[2])
	}
	f, rest = rest.LeadingMatch()
	if f != nil || len(rest.Stages()) != 1 {
		t.Errorf("no leading match: got %v, %d stages", f, len(rest.Stages()))
	}
	s, rest := p.LeadingSort()
	if s != nil || rest != p {
		t.Errorf("LeadingSort on a $match pipeline: %v", s)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := Parse([]bson.D{{{Key: "$sort", Value: bson.D{{Key: "a", Value: int32(1)}}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := p.Run(ctx, SliceSource([]bson.D{{{Key: "a", Value: int32(1)}}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(ctx); !mongoerr.Is(err, mongoerr.Interrupted) {
		t.Fatalf("got %v, want Interrupted", err)
	}
}

func TestNumSum(t *testing.T) {
	dec := func(s string) bson.Decimal128 { d, _ := bson.ParseDecimal128(s); return d }
	tests := []struct {
		in   []any
		sum  string
		avg  string
		kind string
	}{
		{[]any{int32(1), int32(2)}, "3", "1.5", "int32"},
		{[]any{int32(2147483647), int32(2147483647)}, "4294967294", "2.147483647e+09", "int64"},
		{[]any{int64(-9223372036854775808), int64(-1)}, "-9.223372036854776e+18", "-4.611686018427388e+18", "float64"},
		{[]any{dec("1.10"), dec("2.2")}, "3.30", "1.65", "bson.Decimal128"},
		{[]any{dec("1"), 0.5}, "1.5", "0.75", "bson.Decimal128"},
		{[]any{dec("NaN"), int32(1)}, "NaN", "NaN", "bson.Decimal128"},
		{[]any{}, "0", "<nil>", "int32"},
	}
	for _, tc := range tests {
		var s numSum
		for _, v := range tc.in {
			s.add(v)
		}
		r := s.result()
		if got := fmt.Sprint(r); got != tc.sum {
			t.Errorf("sum(%v) = %s, want %s", tc.in, got, tc.sum)
		}
		if got := fmt.Sprintf("%T", r); got != tc.kind {
			t.Errorf("sum(%v) type = %s, want %s", tc.in, got, tc.kind)
		}
		if got := fmt.Sprint(s.avg()); got != tc.avg {
			t.Errorf("avg(%v) = %s, want %s", tc.in, got, tc.avg)
		}
	}
}

// BenchmarkMatchGroup runs $match + $group over 100k documents.
func BenchmarkMatchGroup(b *testing.B) {
	docs := make([]bson.D, 100_000)
	for i := range docs {
		docs[i] = bson.D{
			{Key: "_id", Value: int32(i)},
			{Key: "cat", Value: fmt.Sprintf("c%d", i%100)},
			{Key: "qty", Value: int32(i % 17)},
			{Key: "price", Value: float64(i%1000) / 10},
		}
	}
	stages := []bson.D{
		{{Key: "$match", Value: bson.D{{Key: "qty", Value: bson.D{{Key: "$gt", Value: int32(3)}}}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$cat"},
			{Key: "total", Value: bson.D{{Key: "$sum", Value: "$price"}}},
			{Key: "avgQty", Value: bson.D{{Key: "$avg", Value: "$qty"}}},
			{Key: "n", Value: bson.D{{Key: "$count", Value: bson.D{}}}},
		}}},
	}
	p, err := Parse(stages, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		src, err := p.Run(ctx, SliceSource(append([]bson.D(nil), docs...)))
		if err != nil {
			b.Fatal(err)
		}
		out, err := ReadAll(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != 100 {
			b.Fatalf("got %d groups", len(out))
		}
	}
}
