package planner

import "testing"

// TestScansRange: a fetch over an index scan that is not a single point
// expects several records and reads all of them through one cursor.
func TestScansRange(t *testing.T) {
	pt := interval{lo: []byte{1}, hi: []byte{1}, loInc: true, hiInc: true}
	rng := interval{lo: []byte{1}, hi: []byte{2}, loInc: true, hiInc: true}
	open := interval{lo: []byte{1}, hi: []byte{1}, loInc: true}
	for _, tc := range []struct {
		name string
		n    *node
		want bool
	}{
		{"nil", nil, false},
		{"collscan", &node{stage: stageCollScan}, false},
		{"point", &node{stage: stageIXScan, bounds: &indexBounds{ivs: [][]interval{{pt}}}}, false},
		{"compound point", &node{stage: stageIXScan, bounds: &indexBounds{ivs: [][]interval{{pt}, {pt}}}}, false},
		{"range", &node{stage: stageIXScan, bounds: &indexBounds{ivs: [][]interval{{rng}}}}, true},
		{"point then range", &node{stage: stageIXScan, bounds: &indexBounds{ivs: [][]interval{{pt}, {rng}}}}, true},
		{"two points ($in)", &node{stage: stageIXScan, bounds: &indexBounds{ivs: [][]interval{{pt, pt}}}}, true},
		{"not a point", &node{stage: stageIXScan, bounds: &indexBounds{ivs: [][]interval{{open}}}}, true},
		{"min/max", &node{stage: stageIXScan, bounds: &indexBounds{minMax: true}}, true},
	} {
		if got := scansRange(tc.n); got != tc.want {
			t.Errorf("%s: scansRange %v, want %v", tc.name, got, tc.want)
		}
	}
}
