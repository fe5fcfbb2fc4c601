package storagetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
)

// RunEngineTests runs the conformance suite against engines returned by
// open, which must return a new, empty engine on each call.
func RunEngineTests(t *testing.T, open func(t *testing.T) storage.Engine) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e storage.Engine)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"GetValueStable", testGetValueStable},
		{"ScanBounds", testScanBounds},
		{"ScanTxnOverlay", testScanTxnOverlay},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"IteratorUnaffectedByWrites", testIteratorUnaffectedByWrites},
		{"ReadYourWrites", testReadYourWrites},
		{"Rollback", testRollback},
		{"DeleteRange", testDeleteRange},
		{"ReadOnlyUpdate", testReadOnlyUpdate},
		{"ContextCanceled", testContextCanceled},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"AtomicVisibility", testAtomicVisibility},
		{"LargeValues", testLargeValues},
		{"GetValueOwned", testGetValueOwned},
		{"PrefixEndScan", testPrefixEndScan},
		{"Closed", testClosed},
		{"PointReader", testPointReader},
		{"Borrower", testBorrower},
		{"ApplyNotifier", testApplyNotifier},
		{"TxnPointReader", testTxnPointReader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := open(t)
			defer func() {
				if err := e.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.fn(t, e)
		})
	}
}

// RunReopenTests checks durability across Close and reopen. open returns
// a fresh, empty engine plus a function that opens the same store again
// (after the suite has closed the previous engine).
func RunReopenTests(t *testing.T, open func(t *testing.T) (storage.Engine, func(t *testing.T) storage.Engine)) {
	t.Run("Reopen", func(t *testing.T) {
		e, reopen := open(t)
		want := map[string]string{}
		for i := range 200 {
			k, v := fmt.Sprintf("k%04d", i), fmt.Sprintf("v%d", i)
			opts := storage.UpdateOptions{NoSync: i%2 == 1}
			mustUpdate(t, e, opts, func(tx storage.Txn) error { return tx.Set([]byte(k), []byte(v)) })
			want[k] = v
		}
		mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
			delete(want, "k0003")
			if err := tx.Delete([]byte("k0003")); err != nil {
				return err
			}
			for i := 100; i < 150; i++ {
				delete(want, fmt.Sprintf("k%04d", i))
			}
			return tx.DeleteRange([]byte("k0100"), []byte("k0150"))
		})
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for round := range 2 {
			e2 := reopen(t)
			got := scanAll(t, e2, nil, nil, false)
			if len(got) != len(want) {
				t.Errorf("round %d: after reopen: %d keys, want %d", round, len(got), len(want))
			}
			for _, kv := range got {
				if want[kv[0]] != kv[1] {
					t.Errorf("round %d: after reopen: %s=%q, want %q", round, kv[0], kv[1], want[kv[0]])
				}
			}
			// Write more, so the second round also checks post-reopen writes.
			k := fmt.Sprintf("r%d", round)
			mustUpdate(t, e2, storage.UpdateOptions{}, func(tx storage.Txn) error { return tx.Set([]byte(k), []byte("x")) })
			want[k] = "x"
			if err := e2.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	})
}

// ---- helpers ----

func mustUpdate(t testing.TB, e storage.Engine, opts storage.UpdateOptions, fn func(storage.Txn) error) {
	t.Helper()
	if err := e.Update(context.Background(), opts, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func set(t testing.TB, e storage.Engine, kv ...string) {
	t.Helper()
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Set([]byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
}

func snap(t testing.TB, e storage.Engine) storage.Snapshot {
	t.Helper()
	s, err := e.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return s
}

// getString returns the value of key in r, or "<nil>" if absent.
func getString(t testing.TB, r storage.Reader, key string) string {
	t.Helper()
	v, err := r.Get([]byte(key))
	if errors.Is(err, storage.ErrNotFound) {
		return "<nil>"
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v)
}

func snapGet(t testing.TB, e storage.Engine, key string) string {
	t.Helper()
	s := snap(t, e)
	defer s.Close()
	return getString(t, s, key)
}

// collect drains an iterator into [key, value] pairs.
func collect(t testing.TB, r storage.Reader, lower, upper []byte, reverse bool) [][2]string {
	t.Helper()
	it, err := r.Scan(lower, upper, reverse)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var out [][2]string
	for it.Next() {
		out = append(out, [2]string{string(it.Key()), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("iterator Close: %v", err)
	}
	return out
}

func scanAll(t testing.TB, e storage.Engine, lower, upper []byte, reverse bool) [][2]string {
	t.Helper()
	s := snap(t, e)
	defer s.Close()
	return collect(t, s, lower, upper, reverse)
}

func keysOf(kvs [][2]string) string {
	ks := make([]string, len(kvs))
	for i, kv := range kvs {
		ks[i] = kv[0]
	}
	return strings.Join(ks, ",")
}

// ---- tests ----

func testGetSetDelete(t *testing.T, e storage.Engine) {
	if got := snapGet(t, e, "a"); got != "<nil>" {
		t.Fatalf("Get on empty engine = %q, want not found", got)
	}
	set(t, e, "a", "1", "b", "", "\x00\xff", "bin")
	for _, c := range []struct{ k, want string }{{"a", "1"}, {"b", ""}, {"\x00\xff", "bin"}, {"c", "<nil>"}} {
		if got := snapGet(t, e, c.k); got != c.want {
			t.Errorf("Get(%q) = %q, want %q", c.k, got, c.want)
		}
	}
	// Empty value is present, not missing.
	s := snap(t, e)
	if v, err := s.Get([]byte("b")); err != nil || len(v) != 0 {
		t.Errorf("Get(b) = %q, %v; want empty value, nil", v, err)
	}
	if _, err := s.Get([]byte("zz")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get(zz) error = %v, want ErrNotFound", err)
	}
	s.Close()
	set(t, e, "a", "2")
	if got := snapGet(t, e, "a"); got != "2" {
		t.Errorf("after overwrite Get(a) = %q, want 2", got)
	}
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error { return tx.Delete([]byte("a")) })
	if got := snapGet(t, e, "a"); got != "<nil>" {
		t.Errorf("after delete Get(a) = %q, want not found", got)
	}
	// Deleting an absent key is not an error.
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error { return tx.Delete([]byte("nope")) })
}

func testGetValueStable(t *testing.T, e storage.Engine) {
	set(t, e, "k", "old")
	s := snap(t, e)
	defer s.Close()
	v, err := s.Get([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	set(t, e, "k", "NEW")
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		got, err := tx.Get([]byte("k"))
		if err != nil {
			return err
		}
		if err := tx.Set([]byte("k"), []byte("zzz")); err != nil {
			return err
		}
		if string(got) != "NEW" {
			t.Errorf("txn Get after own Set changed earlier result to %q", got)
		}
		return nil
	})
	if string(v) != "old" {
		t.Errorf("snapshot Get result changed to %q after later writes", v)
	}
}

func testScanBounds(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1", "b", "2", "b\x00", "3", "c", "4", "d", "5", "e", "6")
	s := snap(t, e)
	defer s.Close()
	b := func(s string) []byte { return []byte(s) }
	cases := []struct {
		lower, upper []byte
		want         string // ascending
	}{
		{nil, nil, "a,b,b\x00,c,d,e"},
		{b("b"), b("d"), "b,b\x00,c"},
		{b("b\x00"), b("d\x00"), "b\x00,c,d"},
		{b("0"), b("bb"), "a,b,b\x00"},
		{b("c"), nil, "c,d,e"},
		{nil, b("c"), "a,b,b\x00"},
		{b("c"), b("c"), ""},
		{b("f"), nil, ""},
		{b("x"), b("z"), ""},
		{b(""), b("a\x00"), "a"},
	}
	for _, c := range cases {
		for _, rev := range []bool{false, true} {
			got := keysOf(collect(t, s, c.lower, c.upper, rev))
			want := c.want
			if rev {
				ks := strings.Split(want, ",")
				for i, j := 0, len(ks)-1; i < j; i, j = i+1, j-1 {
					ks[i], ks[j] = ks[j], ks[i]
				}
				want = strings.Join(ks, ",")
			}
			if got != want {
				t.Errorf("Scan(%q, %q, reverse=%v) = %q, want %q", c.lower, c.upper, rev, got, want)
			}
		}
	}
	// Values travel with keys.
	kvs := collect(t, s, b("c"), b("e"), true)
	if len(kvs) != 2 || kvs[0] != [2]string{"d", "5"} || kvs[1] != [2]string{"c", "4"} {
		t.Errorf("reverse scan kvs = %q", kvs)
	}
	// Key and Value stay valid until Next: copy them and compare.
	it, err := s.Scan(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var prev []byte
	for it.Next() {
		k := append([]byte(nil), it.Key()...)
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Errorf("keys out of order: %q then %q", prev, k)
		}
		prev = k
	}
	if it.Next() {
		t.Error("Next after exhaustion returned true")
	}
}

func testScanTxnOverlay(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1", "b", "2", "c", "3", "d", "4")
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		if err := tx.Set([]byte("bb"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Set([]byte("a"), []byte("1b")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("c")); err != nil {
			return err
		}
		for _, rev := range []bool{false, true} {
			got := collect(t, tx, nil, nil, rev)
			want := "a=1b,b=2,bb=new,d=4"
			if rev {
				want = "d=4,bb=new,b=2,a=1b"
			}
			var parts []string
			for _, kv := range got {
				parts = append(parts, kv[0]+"="+kv[1])
			}
			if g := strings.Join(parts, ","); g != want {
				t.Errorf("txn scan reverse=%v = %q, want %q", rev, g, want)
			}
		}
		if err := tx.DeleteRange([]byte("b"), []byte("c")); err != nil {
			return err
		}
		if got := keysOf(collect(t, tx, []byte("a"), []byte("z"), false)); got != "a,d" {
			t.Errorf("txn scan after DeleteRange = %q, want a,d", got)
		}
		return nil
	})
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,d" {
		t.Errorf("committed keys = %q, want a,d", got)
	}
}

func testSnapshotIsolation(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1", "b", "2", "c", "3")
	s := snap(t, e)
	defer s.Close()
	set(t, e, "a", "10", "z", "26")
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		if err := tx.Delete([]byte("b")); err != nil {
			return err
		}
		return tx.DeleteRange([]byte("c"), []byte("d"))
	})
	if got := getString(t, s, "a"); got != "1" {
		t.Errorf("old snapshot Get(a) = %q, want 1", got)
	}
	if got := getString(t, s, "b"); got != "2" {
		t.Errorf("old snapshot Get(b) = %q, want 2", got)
	}
	if got := getString(t, s, "z"); got != "<nil>" {
		t.Errorf("old snapshot Get(z) = %q, want not found", got)
	}
	if got := keysOf(collect(t, s, nil, nil, false)); got != "a,b,c" {
		t.Errorf("old snapshot scan = %q, want a,b,c", got)
	}
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,z" {
		t.Errorf("new snapshot scan = %q, want a,z", got)
	}
}

func testIteratorUnaffectedByWrites(t *testing.T, e storage.Engine) {
	for i := range 20 {
		set(t, e, fmt.Sprintf("k%02d", i), "v")
	}
	s := snap(t, e)
	defer s.Close()
	it, err := s.Scan(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		if n == 3 {
			set(t, e, "k05x", "inserted", "k19", "changed")
			mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
				return tx.DeleteRange([]byte("k10"), []byte("k15"))
			})
		}
		if string(it.Value()) != "v" {
			t.Errorf("iterator saw later write %q=%q", it.Key(), it.Value())
		}
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Errorf("iterated %d keys, want 20 (snapshot must ignore later writes)", n)
	}
}

func testReadYourWrites(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1", "b", "2", "c", "3")
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		checks := []struct {
			op   func() error
			key  string
			want string
		}{
			{func() error { return nil }, "a", "1"},
			{func() error { return tx.Set([]byte("a"), []byte("11")) }, "a", "11"},
			{func() error { return tx.Set([]byte("new"), []byte("n")) }, "new", "n"},
			{func() error { return tx.Delete([]byte("b")) }, "b", "<nil>"},
			{func() error { return tx.Set([]byte("b"), []byte("again")) }, "b", "again"},
			{func() error { return tx.DeleteRange([]byte("a"), []byte("c")) }, "b", "<nil>"},
			{func() error { return nil }, "a", "<nil>"},
			{func() error { return nil }, "c", "3"},
			{func() error { return tx.Set([]byte("a"), []byte("post-range")) }, "a", "post-range"},
		}
		for i, c := range checks {
			if err := c.op(); err != nil {
				return err
			}
			if got := getString(t, tx, c.key); got != c.want {
				t.Errorf("step %d: txn Get(%q) = %q, want %q", i, c.key, got, c.want)
			}
		}
		return nil
	})
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,c,new" {
		t.Errorf("committed keys = %q, want a,c,new", got)
	}
	if got := snapGet(t, e, "a"); got != "post-range" {
		t.Errorf("committed a = %q, want post-range", got)
	}
}

func testRollback(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1", "b", "2")
	boom := errors.New("boom")
	err := e.Update(context.Background(), storage.UpdateOptions{}, func(tx storage.Txn) error {
		if err := tx.Set([]byte("a"), []byte("changed")); err != nil {
			return err
		}
		if err := tx.Set([]byte("x"), []byte("new")); err != nil {
			return err
		}
		if err := tx.DeleteRange([]byte("b"), []byte("c")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want wrapping boom", err)
	}
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,b" {
		t.Errorf("after rollback keys = %q, want a,b", got)
	}
	if got := snapGet(t, e, "a"); got != "1" {
		t.Errorf("after rollback a = %q, want 1", got)
	}
	// The engine still works after a rollback.
	set(t, e, "c", "3")
	if got := snapGet(t, e, "c"); got != "3" {
		t.Errorf("after rollback then set c = %q, want 3", got)
	}
}

func testDeleteRange(t *testing.T, e storage.Engine) {
	set(t, e, "a", "", "b", "", "c", "", "c\x00", "", "d", "", "e", "")
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		return tx.DeleteRange([]byte("b"), []byte("d"))
	})
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,d,e" {
		t.Errorf("after DeleteRange[b,d) keys = %q, want a,d,e", got)
	}
	// Keys re-set after a range deletion in a later txn are visible.
	set(t, e, "c", "back")
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,c,d,e" {
		t.Errorf("after re-set keys = %q, want a,c,d,e", got)
	}
	// Empty and inverted-free ranges delete nothing.
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		return tx.DeleteRange([]byte("c"), []byte("c"))
	})
	if got := keysOf(scanAll(t, e, nil, nil, false)); got != "a,c,d,e" {
		t.Errorf("after empty DeleteRange keys = %q, want a,c,d,e", got)
	}
	// Prefix deletion with PrefixEnd.
	set(t, e, "p/1", "", "p/2", "", "p0", "", "p", "")
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		return tx.DeleteRange([]byte("p/"), storage.PrefixEnd([]byte("p/")))
	})
	if got := keysOf(scanAll(t, e, []byte("p"), []byte("q"), false)); got != "p,p0" {
		t.Errorf("after prefix DeleteRange keys = %q, want p,p0", got)
	}
}

func testReadOnlyUpdate(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1")
	for _, noSync := range []bool{false, true} {
		var got string
		mustUpdate(t, e, storage.UpdateOptions{NoSync: noSync}, func(tx storage.Txn) error {
			got = getString(t, tx, "a")
			return nil
		})
		if got != "1" {
			t.Errorf("read-only Update saw a=%q, want 1", got)
		}
	}
}

func testContextCanceled(t *testing.T, e storage.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := e.Update(ctx, storage.UpdateOptions{}, func(tx storage.Txn) error {
		ran = true
		return tx.Set([]byte("a"), []byte("1"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with canceled ctx error = %v, want context.Canceled", err)
	}
	if ran {
		t.Error("Update ran fn with a canceled context")
	}
	if got := snapGet(t, e, "a"); got != "<nil>" {
		t.Errorf("a = %q after canceled Update, want not found", got)
	}
}

func testConcurrentIncrements(t *testing.T, e storage.Engine) {
	const workers, perWorker = 8, 40
	key := []byte("counter")
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				opts := storage.UpdateOptions{NoSync: (w+i)%2 == 0}
				err := e.Update(context.Background(), opts, func(tx storage.Txn) error {
					var n uint64
					v, err := tx.Get(key)
					switch {
					case errors.Is(err, storage.ErrNotFound):
					case err != nil:
						return err
					default:
						n = binary.BigEndian.Uint64(v)
					}
					return tx.Set(key, binary.BigEndian.AppendUint64(nil, n+1))
				})
				if errors.Is(err, storage.ErrConflict) {
					continue // a retrying engine: try again is the caller's job
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("Update: %v", err)
	}
	s := snap(t, e)
	defer s.Close()
	v, err := s.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != workers*perWorker {
		t.Errorf("counter = %d, want %d (lost updates)", got, workers*perWorker)
	}
}

// testAtomicVisibility moves units between two keys while readers check in
// snapshots that the total never changes.
func testAtomicVisibility(t *testing.T, e storage.Engine) {
	const total = 1000
	enc := func(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }
	dec := func(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		if err := tx.Set([]byte("x"), enc(total)); err != nil {
			return err
		}
		return tx.Set([]byte("y"), enc(0))
	})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				s, err := e.Snapshot()
				if err != nil {
					t.Errorf("Snapshot: %v", err)
					return
				}
				var sum int64
				for _, kv := range collect(t, s, nil, nil, i%2 == 0) {
					sum += dec([]byte(kv[1]))
				}
				s.Close()
				if sum != total {
					t.Errorf("snapshot saw sum %d, want %d (non-atomic commit)", sum, total)
					return
				}
			}
		}()
	}
	for i := range 200 {
		mustUpdate(t, e, storage.UpdateOptions{NoSync: i%4 != 0}, func(tx storage.Txn) error {
			x, err := tx.Get([]byte("x"))
			if err != nil {
				return err
			}
			y, err := tx.Get([]byte("y"))
			if err != nil {
				return err
			}
			d := int64(i%7) - 3
			if err := tx.Set([]byte("x"), enc(dec(x)-d)); err != nil {
				return err
			}
			return tx.Set([]byte("y"), enc(dec(y)+d))
		})
	}
	close(done)
	wg.Wait()
}

func testLargeValues(t *testing.T, e storage.Engine) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		return tx.Set([]byte("big"), big)
	})
	s := snap(t, e)
	defer s.Close()
	v, err := s.Get([]byte("big"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v, big) {
		t.Errorf("large value round trip: got %d bytes, want %d", len(v), len(big))
	}
}

func testPrefixEndScan(t *testing.T, e storage.Engine) {
	set(t, e, "ab", "", "ab\xff", "", "ab\xff\xff", "", "ac", "", "\xff\xff", "", "\xff\xff\x01", "")
	cases := []struct{ prefix, want string }{
		{"ab", "ab,ab\xff,ab\xff\xff"},
		{"ab\xff", "ab\xff,ab\xff\xff"},
		{"\xff\xff", "\xff\xff,\xff\xff\x01"}, // PrefixEnd is nil: unbounded
	}
	for _, c := range cases {
		got := keysOf(scanAll(t, e, []byte(c.prefix), storage.PrefixEnd([]byte(c.prefix)), false))
		if got != c.want {
			t.Errorf("prefix %q scan = %q, want %q", c.prefix, got, c.want)
		}
	}
}

func testClosed(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1")
	s := snap(t, e)
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := e.Snapshot(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Snapshot after Close: %v, want ErrClosed", err)
	}
	err := e.Update(context.Background(), storage.UpdateOptions{}, func(storage.Txn) error { return nil })
	if !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Update after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Get([]byte("a")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("snapshot Get after engine Close: %v, want ErrClosed", err)
	}
	_ = s.Close() // must not panic
	if err := e.Close(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

// pointFixture stores a=1 b=2 bb=22 d=4, takes a snapshot and a Getter
// over it (skipping the test if the engine offers none), then stores c=3
// and a=changed, which neither may see.
func pointFixture(t *testing.T, e storage.Engine) (storage.Snapshot, storage.Getter) {
	t.Helper()
	set(t, e, "a", "1", "b", "2", "bb", "22", "d", "4")
	s := snap(t, e)
	pr, ok := s.(storage.PointReader)
	if !ok {
		s.Close()
		t.Skip("engine does not implement storage.PointReader (optional)")
	}
	g, err := pr.NewGetter()
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	set(t, e, "c", "3", "a", "changed")
	return s, g
}

// testPointReader checks the optional storage.PointReader capability:
// a Getter sees the snapshot's state (not later writes), finds keys in
// any order, reports absent keys (including prefixes and successors of
// present ones) as ErrNotFound, and hands out values the caller owns.
func testPointReader(t *testing.T, e storage.Engine) {
	s, g := pointFixture(t, e)
	defer s.Close()
	defer g.Close()
	var held []byte
	for _, tc := range []struct{ key, want string }{
		{"a", "1"}, {"bb", "22"}, {"b", "2"}, {"c", ""}, {"ba", ""}, {"", ""},
		{"d", "4"}, {"a", "1"}, {"dd", ""}, {"b", "2"},
		// ascending runs, as a fetch in index order makes them
		{"a", "1"}, {"b", "2"}, {"ba", ""}, {"bb", "22"}, {"bb", "22"}, {"d", "4"}, {"e", ""}, {"d", "4"},
		{"a", "1"}, {"bc", ""}, {"d", "4"},
	} {
		v, err := g.Get([]byte(tc.key))
		if tc.want == "" {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", tc.key, v, err)
			}
			continue
		}
		if err != nil || string(v) != tc.want {
			t.Fatalf("Get(%q) = %q, %v; want %q", tc.key, v, err, tc.want)
		}
		if held == nil {
			held = v
		}
	}
	if string(held) != "1" {
		t.Fatalf("value from the first Get changed to %q after later reads", held)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Get([]byte("a")); err == nil {
		t.Fatal("Get after Close succeeded")
	}
}

// testBorrower checks the optional storage.Borrower capability of a
// snapshot's Getter: Borrow finds what Get finds, in any order, sees the
// snapshot's state, reports absent keys as ErrNotFound, and fails after
// Close.
func testBorrower(t *testing.T, e storage.Engine) {
	s, g := pointFixture(t, e)
	defer s.Close()
	defer g.Close()
	b, ok := g.(storage.Borrower)
	if !ok {
		t.Skip("the engine's Getter does not implement storage.Borrower (optional)")
	}
	for _, tc := range []struct{ key, want string }{
		{"a", "1"}, {"bb", "22"}, {"b", "2"}, {"c", ""}, {"ba", ""}, {"", ""},
		{"a", "1"}, {"b", "2"}, {"ba", ""}, {"bb", "22"}, {"d", "4"}, {"e", ""}, {"d", "4"},
	} {
		v, err := b.Borrow([]byte(tc.key))
		if tc.want == "" {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Borrow(%q) = %q, %v; want ErrNotFound", tc.key, v, err)
			}
			continue
		}
		if err != nil || string(v) != tc.want {
			t.Fatalf("Borrow(%q) = %q, %v; want %q", tc.key, v, err, tc.want)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Borrow([]byte("a")); err == nil {
		t.Fatal("Borrow after Close succeeded")
	}
}

// testApplyNotifier checks the optional storage.ApplyNotifier capability
// of a Txn: a registered function runs once when the transaction commits
// (synced or not, with writes or without), before Update returns, and
// never when fn fails.
func testApplyNotifier(t *testing.T, e storage.Engine) {
	ctx := context.Background()
	errFail := errors.New("fail")
	for _, tc := range []struct {
		name   string
		noSync bool
		write  bool
		fail   bool
		want   int
	}{
		{"synced", false, true, false, 1},
		{"unsynced", true, true, false, 1},
		{"no writes", false, false, false, 1},
		{"failed", false, true, true, 0},
	} {
		ran := 0
		err := e.Update(ctx, storage.UpdateOptions{NoSync: tc.noSync}, func(txn storage.Txn) error {
			an, ok := txn.(storage.ApplyNotifier)
			if !ok {
				t.Skip("engine's Txn does not implement storage.ApplyNotifier (optional)")
			}
			an.OnApply(func() { ran++ })
			if tc.write {
				if err := txn.Set([]byte("k-"+tc.name), []byte("v")); err != nil {
					return err
				}
			}
			if ran != 0 {
				t.Errorf("%s: OnApply function ran before the commit", tc.name)
			}
			if tc.fail {
				return errFail
			}
			return nil
		})
		if tc.fail != (err != nil) {
			t.Fatalf("%s: Update: %v", tc.name, err)
		}
		if ran != tc.want {
			t.Errorf("%s: OnApply function ran %d times, want %d", tc.name, ran, tc.want)
		}
	}
}

// testTxnPointReader checks storage.PointReader on a Txn, when offered: a
// Getter sees the committed state and the transaction's own writes and
// deletes, including those made after the Getter was created.
func testTxnPointReader(t *testing.T, e storage.Engine) {
	set(t, e, "a", "1", "c", "3", "e", "5")
	mustUpdate(t, e, storage.UpdateOptions{}, func(txn storage.Txn) error {
		pr, ok := txn.(storage.PointReader)
		if !ok {
			t.Skip("engine's Txn does not implement storage.PointReader (optional)")
		}
		if err := txn.Set([]byte("b"), []byte("2")); err != nil {
			return err
		}
		g, err := pr.NewGetter()
		if err != nil {
			return err
		}
		defer g.Close()
		step := func(key, want string) {
			t.Helper()
			v, err := g.Get([]byte(key))
			if want == "" {
				if !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, v, err)
				}
				return
			}
			if err != nil || string(v) != want {
				t.Fatalf("Get(%q) = %q, %v; want %q", key, v, err, want)
			}
		}
		step("a", "1")
		step("b", "2")
		step("d", "")
		if err := txn.Set([]byte("d"), []byte("4")); err != nil {
			return err
		}
		step("d", "4")
		if err := txn.Delete([]byte("c")); err != nil {
			return err
		}
		step("c", "")
		step("e", "5")
		if err := txn.Set([]byte("a"), []byte("one")); err != nil {
			return err
		}
		step("a", "one")
		for _, k := range []string{"f", "g", "h"} {
			step(k, "")
			if err := txn.Set([]byte(k), []byte(k+k)); err != nil {
				return err
			}
			step(k, k+k)
		}
		return nil
	})
	if got := snapGet(t, e, "d"); got != "4" {
		t.Fatalf("after commit d = %q, want 4", got)
	}
}

// testGetValueOwned checks that a value Get returns belongs to the caller:
// changing it changes nothing stored, and it stays as read after the key
// is overwritten (in the same transaction and after commit) and after the
// snapshot is closed.
func testGetValueOwned(t *testing.T, e storage.Engine) {
	set(t, e, "k", "before")
	s := snap(t, e)
	v, err := s.Get([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, e, storage.UpdateOptions{}, func(tx storage.Txn) error {
		tv, err := tx.Get([]byte("k"))
		if err != nil {
			return err
		}
		if err := tx.Set([]byte("k"), []byte("AFTER!")); err != nil {
			return err
		}
		if string(tv) != "before" {
			t.Errorf("txn Get value changed by a later Set in the transaction: %q", tv)
		}
		tv[0] = 'X'
		again, err := tx.Get([]byte("k"))
		if err != nil {
			return err
		}
		if string(again) != "AFTER!" {
			t.Errorf("txn Get after Set and after changing an earlier value = %q", again)
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if string(v) != "before" {
		t.Errorf("snapshot Get value changed after overwrite and Close: %q", v)
	}
	v[0] = 'Y'
	s2 := snap(t, e)
	defer s2.Close()
	if got, err := s2.Get([]byte("k")); err != nil || string(got) != "AFTER!" {
		t.Errorf("stored value after changing a returned one = %q, %v", got, err)
	}
}
