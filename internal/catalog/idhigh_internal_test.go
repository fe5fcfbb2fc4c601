package catalog

import (
	"bytes"
	"slices"
	"testing"
)

// TestRecentKeys checks the invariant idHighs keeps per collection (every
// key added above the floor is still remembered or at most the floor) and
// which keys it reports absent without a read.
func TestRecentKeys(t *testing.T) {
	key := func(i int32) []byte { return recKey(7, i) }
	h := &idHighs{enabled: true, colls: map[uint64]*recentKeys{
		7: {floor: key(10)},
	}}
	absent := func(i int32) bool {
		t.Helper()
		ok, err := h.absent(nil, 7, key(i))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		id   int32
		want bool
	}{{5, false}, {10, false}, {11, true}, {500, true}} {
		if got := absent(tc.id); got != tc.want {
			t.Errorf("absent(%d) = %v before any insert, want %v", tc.id, got, tc.want)
		}
	}
	h.add(7, key(12))
	if absent(12) {
		t.Errorf("absent(12) after adding it")
	}
	if !absent(11) {
		t.Errorf("absent(11): an id under the largest added but above the floor should be absent")
	}
	h.add(7, key(3)) // under the floor: not remembered, storage answers
	if absent(3) {
		t.Errorf("absent(3): ids at or under the floor are never absent")
	}

	for _, i := range []int32{40, 38, 39, 37, 41} {
		h.add(7, key(i))
	}
	if !slices.IsSortedFunc(h.colls[7].recent, bytes.Compare) {
		t.Errorf("out-of-order adds left the keys unsorted: %x", h.colls[7].recent)
	}
	h.add(7, key(39)) // again: no duplicate entry
	if n := len(h.colls[7].recent); n != 6 {
		t.Errorf("%d keys remembered after 12 and five more (one twice), want 6", n)
	}
	added := [][]byte{key(12), key(37), key(38), key(39), key(40), key(41)}
	for i := int32(100); i < 100+3*maxRecentKeys; i++ {
		h.add(7, key(i))
		added = append(added, key(i))
	}
	rc := h.colls[7]
	if len(rc.recent) > maxRecentKeys {
		t.Errorf("%d keys remembered, want at most %d", len(rc.recent), maxRecentKeys)
	}
	if !slices.IsSortedFunc(rc.recent, bytes.Compare) {
		t.Errorf("the remembered keys are out of order")
	}
	if bytes.Compare(rc.floor, key(100)) <= 0 {
		t.Errorf("the floor did not rise past the first keys of the run")
	}
	for _, k := range added {
		if _, ok := rc.find(k); !ok && bytes.Compare(k, rc.floor) > 0 {
			t.Fatalf("key %x is above the floor %x but not remembered", k, rc.floor)
		}
		if ok, _ := h.absent(nil, 7, k); ok {
			t.Fatalf("added key %x reported absent", k)
		}
	}
	if !absent(100 + 3*maxRecentKeys) {
		t.Errorf("the next id after the run should be absent")
	}

	off := &idHighs{colls: map[uint64]*recentKeys{}}
	if ok, _ := off.absent(nil, 7, key(1)); ok {
		t.Errorf("a disabled idHighs reported a key absent")
	}
}
