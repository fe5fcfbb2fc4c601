package server

import (
	"io"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type fakeIter struct{ closed int }

func (f *fakeIter) Next() (bson.Raw, error) { return nil, io.EOF }
func (f *fakeIter) Close() error            { f.closed++; return nil }

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestStore(timeout time.Duration) (*CursorStore, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	cs := NewCursorStore(timeout)
	cs.now = clk.now
	return cs, clk
}

func TestCursorStoreLifecycle(t *testing.T) {
	cs, _ := newTestStore(time.Minute)
	it := &fakeIter{}
	c := &commands.Cursor{NS: "db.c", Iter: it}
	id := cs.Add(c)
	if id <= 0 || c.ID != id {
		t.Fatalf("id = %d, cursor id %d", id, c.ID)
	}
	if _, err := cs.Checkout(id, "db.other"); !mongoerr.Is(err, mongoerr.CursorNotFound) {
		t.Fatalf("checkout from other ns: %v", err)
	}
	got, err := cs.Checkout(id, "db.c")
	if err != nil || got != c {
		t.Fatalf("checkout: %v", err)
	}
	if _, err := cs.Checkout(id, "db.c"); !mongoerr.Is(err, mongoerr.CursorNotFound) {
		t.Fatalf("double checkout: %v", err)
	}
	cs.Checkin(c)
	if got, err := cs.Checkout(id, "db.c"); err != nil || got != c {
		t.Fatalf("checkout after checkin: %v", err)
	}
	cs.Remove(c)
	if it.closed != 1 || cs.Len() != 0 {
		t.Fatalf("remove: closed %d, len %d", it.closed, cs.Len())
	}
	if _, err := cs.Checkout(id, "db.c"); !mongoerr.Is(err, mongoerr.CursorNotFound) {
		t.Fatalf("checkout after remove: %v", err)
	}
}

func TestCursorStoreIDsUnique(t *testing.T) {
	cs, _ := newTestStore(0)
	seen := map[int64]bool{}
	for i := 0; i < 1000; i++ {
		id := cs.Add(&commands.Cursor{NS: "db.c"})
		if id <= 0 || seen[id] {
			t.Fatalf("bad or duplicate id %d", id)
		}
		seen[id] = true
	}
}

func TestCursorStoreKill(t *testing.T) {
	cs, _ := newTestStore(time.Minute)
	idleIt, busyIt := &fakeIter{}, &fakeIter{}
	idle := &commands.Cursor{NS: "db.c", Iter: idleIt}
	busy := &commands.Cursor{NS: "db.c", Iter: busyIt}
	other := &commands.Cursor{NS: "db.d", Iter: &fakeIter{}}
	cs.Add(idle)
	cs.Add(busy)
	cs.Add(other)
	if _, err := cs.Checkout(busy.ID, "db.c"); err != nil {
		t.Fatal(err)
	}
	killed, notFound := cs.Kill("db.c", []int64{idle.ID, busy.ID, other.ID, 12345})
	if len(killed) != 2 || killed[0] != idle.ID || killed[1] != busy.ID {
		t.Fatalf("killed = %v", killed)
	}
	if len(notFound) != 2 || notFound[0] != other.ID || notFound[1] != 12345 {
		t.Fatalf("notFound = %v", notFound)
	}
	if idleIt.closed != 1 || busyIt.closed != 0 {
		t.Fatalf("closed idle %d busy %d", idleIt.closed, busyIt.closed)
	}
	cs.Checkin(busy) // killed while checked out: closed now
	if busyIt.closed != 1 {
		t.Fatalf("busy cursor not closed at checkin")
	}
	if _, err := cs.Checkout(busy.ID, "db.c"); !mongoerr.Is(err, mongoerr.CursorNotFound) {
		t.Fatalf("killed cursor still available: %v", err)
	}
	cs.KillAll()
	if cs.Len() != 0 {
		t.Fatalf("len after KillAll = %d", cs.Len())
	}
}

func TestCursorStoreReap(t *testing.T) {
	cs, clk := newTestStore(10 * time.Minute)
	old, fresh, busy := &fakeIter{}, &fakeIter{}, &fakeIter{}
	cOld := &commands.Cursor{NS: "db.c", Iter: old}
	cs.Add(cOld)
	cBusy := &commands.Cursor{NS: "db.c", Iter: busy}
	cs.Add(cBusy)
	if _, err := cs.Checkout(cBusy.ID, "db.c"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(6 * time.Minute)
	cFresh := &commands.Cursor{NS: "db.c", Iter: fresh}
	cs.Add(cFresh)
	clk.t = clk.t.Add(5 * time.Minute)
	if n := cs.Reap(); n != 1 {
		t.Fatalf("reaped %d, want 1", n)
	}
	if old.closed != 1 || fresh.closed != 0 || busy.closed != 0 {
		t.Fatalf("closed old %d fresh %d busy %d", old.closed, fresh.closed, busy.closed)
	}
	// Checkin refreshes the idle time.
	cs.Checkin(cBusy)
	clk.t = clk.t.Add(9 * time.Minute)
	if n := cs.Reap(); n != 1 || fresh.closed != 1 || busy.closed != 0 {
		t.Fatalf("second reap %d: fresh %d busy %d", n, fresh.closed, busy.closed)
	}
}

func TestCursorStoreClose(t *testing.T) {
	cs, _ := newTestStore(time.Minute)
	cs.StartReaper()
	it := &fakeIter{}
	c := &commands.Cursor{NS: "db.c", Iter: it}
	cs.Add(c)
	if _, err := cs.Checkout(c.ID, "db.c"); err != nil {
		t.Fatal(err)
	}
	cs.Close()
	cs.Checkin(c)
	if it.closed != 1 || cs.Len() != 0 {
		t.Fatalf("after close: closed %d len %d", it.closed, cs.Len())
	}
	cs.Close() // idempotent
}
