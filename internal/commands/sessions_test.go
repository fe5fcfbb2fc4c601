package commands

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestSessionsTouchEndAndExpire(t *testing.T) {
	var s Sessions
	lsid := func(b byte) bson.D {
		return bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: []byte{b}}}}
	}
	s.Touch(lsid(1))
	s.Touch(lsid(2))
	if n := len(s.List()); n != 2 {
		t.Fatalf("List has %d sessions, want 2", n)
	}
	s.End(bson.A{lsid(1)})
	if n := len(s.List()); n != 1 {
		t.Fatalf("after End: %d sessions, want 1", n)
	}
	// An old session is forgotten by the periodic sweep.
	s.mu.Lock()
	e := s.m[string([]byte{2})]
	e.lastUse = time.Now().Add(-2 * sessionTimeout)
	s.m[string([]byte{2})] = e
	s.mu.Unlock()
	for i := 0; i < 1024; i++ {
		s.Touch(lsid(3))
	}
	if n := len(s.List()); n != 1 {
		t.Fatalf("after the sweep: %d sessions, want 1 (the fresh one)", n)
	}
	s.Clear()
	if n := len(s.List()); n != 0 {
		t.Fatalf("after Clear: %d sessions", n)
	}
}
