package pebble

import (
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// anchorEvery is how long an anchor snapshot lives before the next synced
// commit replaces it, and how long an idle engine keeps it.
var anchorEvery = time.Second

// anchor is a Pebble snapshot that stays older than the per-commit
// durable snapshots (publishDurable).
//
// Closing a Pebble snapshot that is the oldest one open makes Pebble look
// for compactions that the snapshot held back, under the DB's mutex. Every
// synced commit replaces the durable snapshot, and the one it replaces is
// usually the oldest: that look cost 3% of the server's CPU under
// single-document inserts. With an older snapshot open, closing the
// durable ones is only a list removal; the anchor itself is renewed at
// most once per anchorEvery and closed when the engine has been idle that
// long, so it holds back the removal of overwritten and deleted data by
// at most about two anchorEvery.
type anchor struct {
	snap *pebble.Snapshot
	at   time.Time
}

// renewAnchor gives the engine an anchor older than every snapshot a
// commit takes from now on, replacing one older than anchorEvery. It runs
// after each synced commit.
func (e *Engine) renewAnchor() {
	now := time.Now()
	e.anchorMu.Lock()
	if e.anchor.snap != nil && now.Sub(e.anchor.at) < anchorEvery {
		e.anchorMu.Unlock()
		return
	}
	old := e.anchor.snap
	snap := e.db.NewSnapshot()
	e.anchor = anchor{snap: snap, at: now}
	e.anchorMu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	time.AfterFunc(2*anchorEvery, func() { e.dropAnchor(snap) })
}

// dropAnchor closes snap if it is still the anchor (the engine has had no
// synced commit to renew it), or does nothing.
func (e *Engine) dropAnchor(snap *pebble.Snapshot) {
	if !e.enter() {
		return // closed or closing: Close releases the anchor
	}
	defer e.exit()
	e.releaseAnchor(snap)
}

// closeAnchor releases the anchor; Close calls it before closing the DB.
func (e *Engine) closeAnchor() { e.releaseAnchor(nil) }

// releaseAnchor closes the anchor if it is only (any anchor when only is
// nil).
func (e *Engine) releaseAnchor(only *pebble.Snapshot) {
	e.anchorMu.Lock()
	snap := e.anchor.snap
	if snap == nil || (only != nil && snap != only) {
		e.anchorMu.Unlock()
		return
	}
	e.anchor = anchor{}
	e.anchorMu.Unlock()
	_ = snap.Close()
}
