package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	vals := []int64{0, 1, 63, 127, 128, 129, 255, 256, 1000, 4095, 4096, 1e6, 123456789, 1 << 40, math.MaxInt64}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 2000; i++ {
		vals = append(vals, r.Int64N(1<<uint(1+r.IntN(62))))
	}
	for _, v := range vals {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, out of [0, %d)", v, i, histBuckets)
		}
		low, width := histBounds(i)
		if v < low || v-low >= width {
			t.Fatalf("value %d in bucket %d = [%d, %d+%d)", v, i, low, low, width)
		}
		if v >= 128 && float64(width)/float64(v) > 1.0/64 {
			t.Fatalf("value %d: bucket width %d is more than 1/64 of it", v, width)
		}
	}
	for i := 1; i < histBuckets; i++ {
		pl, pw := histBounds(i - 1)
		l, _ := histBounds(i)
		if pl+pw != l {
			t.Fatalf("bucket %d ends at %d but bucket %d starts at %d", i-1, pl+pw, i, l)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
		relTol  float64
	}{
		{"empty", nil, 0.5, 0, 0},
		{"single", []time.Duration{3 * time.Millisecond}, 0.99, 3 * time.Millisecond, 0},
		{"exact small median", seq(1, 100, 1), 0.5, 50, 0},
		{"exact small p99", seq(1, 100, 1), 0.99, 99, 0},
		{"uniform median", seq(1, 10000, time.Microsecond), 0.5, 5000 * time.Microsecond, 0.008},
		{"uniform p99", seq(1, 10000, time.Microsecond), 0.99, 9900 * time.Microsecond, 0.008},
		{"q=0 is min", seq(7, 70, time.Millisecond), 0, 7 * time.Millisecond, 0},
		{"q=1 is max", seq(7, 70, time.Millisecond), 1, 70 * time.Millisecond, 0},
		{"tail outlier shows at p99", append(repeat(100*time.Microsecond, 98), time.Second, time.Second), 0.99, time.Second, 0},
		{"tail outlier hidden at p50", append(repeat(100*time.Microsecond, 98), time.Second, time.Second), 0.5, 100 * time.Microsecond, 0},
		{"negative counts as zero", []time.Duration{-5}, 0.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, s := range tc.samples {
				h.Record(s)
			}
			got := h.Quantile(tc.q)
			diff := math.Abs(float64(got - tc.want))
			if diff > tc.relTol*float64(tc.want) {
				t.Fatalf("Quantile(%v) = %v, want %v (±%.1f%%)", tc.q, got, tc.want, tc.relTol*100)
			}
		})
	}
}

func TestHistogramStatsAndMerge(t *testing.T) {
	var a, b, all Histogram
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		d := time.Duration(r.Int64N(int64(50 * time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{}) // merging an empty one changes nothing
	if m.Count() != all.Count() || m.Min() != all.Min() || m.Max() != all.Max() {
		t.Fatalf("merged count/min/max %d/%v/%v, want %d/%v/%v", m.Count(), m.Min(), m.Max(), all.Count(), all.Min(), all.Max())
	}
	if d := m.Mean() - all.Mean(); d < -1 || d > 1 {
		t.Fatalf("merged mean %v, want %v", m.Mean(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Fatalf("merged Quantile(%v) = %v, want %v", q, m.Quantile(q), all.Quantile(q))
		}
	}

	var h Histogram
	for _, d := range []time.Duration{10, 20, 30, 40} {
		h.Record(d)
	}
	if h.Count() != 4 || h.Min() != 10 || h.Max() != 40 || h.Mean() != 25 {
		t.Fatalf("count/min/max/mean = %d/%v/%v/%v, want 4/10ns/40ns/25ns", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

func seq(from, to int, unit time.Duration) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*unit)
	}
	return out
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
