package commands

import (
	"crypto/sha256"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Sessions remembers the logical sessions (lsid) clients have used, for
// $listLocalSessions and endSessions. Cairn has no transactions yet, so a
// session carries no other state.
type Sessions struct {
	mu      sync.Mutex
	m       map[string]sessionEntry
	touches int
}

// sessionTimeout is how long an unused session is remembered, as
// logicalSessionTimeoutMinutes (30) in hello.
const sessionTimeout = 30 * time.Minute

type sessionEntry struct {
	id      bson.Binary
	lastUse time.Time
}

// anonymousUID is the uid of sessions without authentication: the SHA-256
// of the empty user name, as MongoDB reports it.
var anonymousUID = func() bson.Binary {
	h := sha256.Sum256(nil)
	return bson.Binary{Subtype: 0, Data: h[:]}
}()

// Touch records a use of the session whose lsid is given.
func (s *Sessions) Touch(lsid bson.D) {
	if s == nil {
		return
	}
	for _, e := range lsid {
		if e.Key != "id" {
			continue
		}
		id, ok := e.Value.(bson.Binary)
		if !ok {
			return
		}
		now := time.Now()
		s.mu.Lock()
		if s.m == nil {
			s.m = map[string]sessionEntry{}
		}
		s.m[string(id.Data)] = sessionEntry{id: id, lastUse: now}
		// Forget expired sessions now and then, so that clients that never
		// send endSessions cannot grow the cache without bound.
		s.touches++
		if s.touches%1024 == 0 {
			for k, e := range s.m {
				if now.Sub(e.lastUse) > sessionTimeout {
					delete(s.m, k)
				}
			}
		}
		s.mu.Unlock()
	}
}

// End forgets the given sessions ({id: UUID} documents).
func (s *Sessions) End(ids bson.A) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range ids {
		if d, ok := v.(bson.D); ok {
			for _, e := range d {
				if id, ok := e.Value.(bson.Binary); ok && e.Key == "id" {
					delete(s.m, string(id.Data))
				}
			}
		}
	}
}

// Clear forgets every session.
func (s *Sessions) Clear() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.m = nil
	s.mu.Unlock()
}

// List returns the sessions as $listLocalSessions reports them.
func (s *Sessions) List() []bson.D {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bson.D, 0, len(s.m))
	for _, e := range s.m {
		out = append(out, bson.D{
			{Key: "_id", Value: bson.D{{Key: "id", Value: e.id}, {Key: "uid", Value: anonymousUID}}},
			{Key: "lastUse", Value: bson.NewDateTimeFromTime(e.lastUse)},
		})
	}
	return out
}
