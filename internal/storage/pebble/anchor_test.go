package pebble

import (
	"context"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func (e *Engine) anchorSnap() bool {
	e.anchorMu.Lock()
	defer e.anchorMu.Unlock()
	return e.anchor.snap != nil
}

// TestAnchorSnapshot: a synced commit gives the engine an anchor snapshot
// (older than the durable snapshots it replaces), an unsynced one does
// not, an idle engine lets it go, and Close releases one still held.
func TestAnchorSnapshot(t *testing.T) {
	defer func(d time.Duration) { anchorEvery = d }(anchorEvery)
	anchorEvery = 20 * time.Millisecond
	ctx := context.Background()
	put := func(e *Engine, noSync bool) {
		t.Helper()
		err := e.Update(ctx, storage.UpdateOptions{NoSync: noSync}, func(txn storage.Txn) error {
			return txn.Set([]byte("k"), []byte("v"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	e := openMem(t, vfs.NewMem())
	put(e, true)
	if e.anchorSnap() {
		t.Fatal("an unsynced commit took an anchor snapshot")
	}
	put(e, false)
	if !e.anchorSnap() {
		t.Fatal("no anchor snapshot after a synced commit")
	}
	// Idle: the anchor goes (waited for, not timed: the deadline is far).
	deadline := time.Now().Add(30 * time.Second)
	for e.anchorSnap() {
		if time.Now().After(deadline) {
			t.Fatal("an idle engine kept its anchor snapshot")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Renewed by the next commits, and released by Close.
	for range 3 {
		put(e, false)
		time.Sleep(anchorEvery)
	}
	if !e.anchorSnap() {
		t.Fatal("no anchor snapshot after synced commits")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e.anchorSnap() {
		t.Fatal("Close kept the anchor snapshot")
	}
	time.Sleep(3 * anchorEvery) // a timer firing after Close does nothing
}
