package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Zipfian draws integers in [0, items) with a Zipfian distribution: item 0 is
// the most popular, item 1 the next, and so on, with popularity of rank r
// proportional to 1/(r+1)^theta. It is the generator from Gray et al.,
// "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD 1994), as
// used by YCSB. A Zipfian is read-only after construction and safe for
// concurrent use; each caller supplies its own *rand.Rand.
type Zipfian struct {
	items     int64
	theta     float64
	alpha     float64
	zetan     float64
	eta       float64
	halfPowTh float64 // 0.5^theta
	scrambled bool
}

// YCSBTheta is YCSB's default Zipfian constant.
const YCSBTheta = 0.99

// NewZipfian returns a generator over [0, items). theta must be in (0, 1).
func NewZipfian(items int64, theta float64) (*Zipfian, error) {
	if items < 1 {
		return nil, fmt.Errorf("zipfian: items must be at least 1, got %d", items)
	}
	if !(theta > 0 && theta < 1) {
		return nil, fmt.Errorf("zipfian: theta must be in (0, 1), got %v", theta)
	}
	z := &Zipfian{items: items, theta: theta}
	z.alpha = 1 / (1 - theta)
	z.zetan = zeta(items, theta)
	zeta2 := zeta(2, theta)
	z.eta = (1 - math.Pow(2/float64(items), 1-theta)) / (1 - zeta2/z.zetan)
	z.halfPowTh = math.Pow(0.5, theta)
	return z, nil
}

// NewScrambledZipfian is like NewZipfian but spreads the popular items over
// the key space by hashing each rank (FNV-1a) modulo items, as YCSB's
// ScrambledZipfianGenerator does, so that hot keys are not all adjacent.
func NewScrambledZipfian(items int64, theta float64) (*Zipfian, error) {
	z, err := NewZipfian(items, theta)
	if err != nil {
		return nil, err
	}
	z.scrambled = true
	return z, nil
}

// Items is the size of the key space.
func (z *Zipfian) Items() int64 { return z.items }

// Next draws one value in [0, Items()).
func (z *Zipfian) Next(r *rand.Rand) int64 {
	v := z.rank(r.Float64())
	if z.scrambled {
		return int64(fnv1a64(uint64(v)) % uint64(z.items))
	}
	return v
}

// rank maps a uniform u in [0, 1) to a Zipfian rank in [0, items).
func (z *Zipfian) rank(u float64) int64 {
	uz := u * z.zetan
	if uz < 1 {
		return 0
	}
	if uz < 1+z.halfPowTh {
		if z.items < 2 {
			return 0
		}
		return 1
	}
	v := int64(float64(z.items) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	if v >= z.items {
		v = z.items - 1
	}
	if v < 0 {
		v = 0
	}
	return v
}

// zeta computes sum_{i=1..n} 1/i^theta.
func zeta(n int64, theta float64) float64 {
	var sum float64
	for i := int64(1); i <= n; i++ {
		sum += 1 / math.Pow(float64(i), theta)
	}
	return sum
}

// fnv1a64 hashes the eight little-endian bytes of v with FNV-1a.
func fnv1a64(v uint64) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= prime
		v >>= 8
	}
	return h
}
