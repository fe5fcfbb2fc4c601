package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestZipfianRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name  string
		items int64
		theta float64
	}{
		{"no items", 0, 0.99},
		{"negative items", -5, 0.99},
		{"theta zero", 10, 0},
		{"theta one", 10, 1},
		{"theta above one", 10, 1.5},
		{"theta NaN", 10, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewZipfian(tc.items, tc.theta); err == nil {
				t.Fatalf("NewZipfian(%d, %v) succeeded, want an error", tc.items, tc.theta)
			}
			if _, err := NewScrambledZipfian(tc.items, tc.theta); err == nil {
				t.Fatalf("NewScrambledZipfian(%d, %v) succeeded, want an error", tc.items, tc.theta)
			}
		})
	}
}

func TestZipfianStaysInRange(t *testing.T) {
	for _, items := range []int64{1, 2, 3, 10, 1000, 100000} {
		for _, scrambled := range []bool{false, true} {
			ctor := NewZipfian
			if scrambled {
				ctor = NewScrambledZipfian
			}
			z, err := ctor(items, YCSBTheta)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 20000; i++ {
				if v := z.Next(r); v < 0 || v >= items {
					t.Fatalf("items=%d scrambled=%v: Next() = %d, out of [0, %d)", items, scrambled, v, items)
				}
			}
		}
	}
}

// zipfPMF is the exact Zipfian probability of each rank.
func zipfPMF(items int64, theta float64) []float64 {
	p := make([]float64, items)
	var sum float64
	for i := range p {
		p[i] = 1 / math.Pow(float64(i+1), theta)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

func TestZipfianSkew(t *testing.T) {
	const (
		items   = 1000
		samples = 400000
	)
	z, err := NewZipfian(items, YCSBTheta)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 7))
	counts := make([]int, items)
	for i := 0; i < samples; i++ {
		counts[z.Next(r)]++
	}
	pmf := zipfPMF(items, YCSBTheta)

	// The two head ranks are exact in Gray's algorithm: within 3% of the
	// true probability.
	for rank := 0; rank < 2; rank++ {
		got := float64(counts[rank]) / samples
		if math.Abs(got-pmf[rank])/pmf[rank] > 0.03 {
			t.Errorf("rank %d: frequency %.4f, want %.4f ±3%%", rank, got, pmf[rank])
		}
	}
	// Popularity falls with rank.
	if !(counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > counts[10] && counts[10] > counts[100]) {
		t.Errorf("counts not decreasing with rank: c0=%d c1=%d c2=%d c10=%d c100=%d",
			counts[0], counts[1], counts[2], counts[10], counts[100])
	}
	// Cumulative mass of the top 1% and 10% of items is close to Zipf's.
	for _, top := range []int{10, 100} {
		var got, want float64
		for i := 0; i < top; i++ {
			got += float64(counts[i]) / samples
			want += pmf[i]
		}
		if math.Abs(got-want) > 0.05 {
			t.Errorf("top %d items: mass %.3f, want %.3f ±0.05", top, got, want)
		}
	}
	// And far from uniform: the top 1% of keys draw over a third of the load.
	var top1 int
	for i := 0; i < items/100; i++ {
		top1 += counts[i]
	}
	if frac := float64(top1) / samples; frac < 0.33 {
		t.Errorf("top 1%% of keys drew %.3f of samples; a Zipfian with theta 0.99 should draw > 0.33", frac)
	}
}

func TestScrambledZipfianMovesTheHotKey(t *testing.T) {
	const (
		items   = 100000
		samples = 200000
	)
	z, err := NewScrambledZipfian(items, YCSBTheta)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	counts := map[int64]int{}
	for i := 0; i < samples; i++ {
		counts[z.Next(r)]++
	}
	hot := int64(fnv1a64(0) % items)
	for k, c := range counts {
		if c > counts[hot] {
			t.Fatalf("key %d drawn %d times, more than the hot key %d (%d times)", k, c, hot, counts[hot])
		}
	}
	want := zipfPMF(items, YCSBTheta)[0]
	if got := float64(counts[hot]) / samples; math.Abs(got-want)/want > 0.05 {
		t.Errorf("hot key frequency %.4f, want %.4f ±5%%", got, want)
	}
	if hot == 0 {
		t.Errorf("scrambling left the hot key at 0")
	}
}

func TestZipfianIsDeterministicForASeed(t *testing.T) {
	z, err := NewZipfian(5000, YCSBTheta)
	if err != nil {
		t.Fatal(err)
	}
	a := rand.New(rand.NewPCG(9, 9))
	b := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 1000; i++ {
		if x, y := z.Next(a), z.Next(b); x != y {
			t.Fatalf("draw %d: %d != %d with the same seed", i, x, y)
		}
	}
}
