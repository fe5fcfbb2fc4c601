package crashtest

import (
	"context"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

var (
	cycles  = flag.Int("cycles", 20, "number of crash cycles")
	seed    = flag.Int64("seed", 0, "random seed (0 picks one from the clock)")
	writers = flag.Int("writers", 8, "concurrent writers")
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// serverBinary builds cmd/cairn once per test binary run.
func serverBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: the crash harness builds and runs the server binary (not in -short mode)")
	}
	buildOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		binPath, buildErr = BuildServer(context.Background(), dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestCrashRecovery builds the server, then kills and restarts it -cycles
// times under concurrent writes, checking durability and consistency
// after every restart (see the package documentation).
func TestCrashRecovery(t *testing.T) {
	bin := serverBinary(t)
	s := *seed
	if s == 0 {
		s = time.Now().UnixNano()
	}
	t.Logf("crashtest: seed %d, %d cycles, %d writers (rerun with -seed=%d -cycles=%d)", s, *cycles, *writers, s, *cycles)
	rep, err := Run(context.Background(), Config{
		Binary:  bin,
		WorkDir: t.TempDir(),
		Cycles:  *cycles,
		Seed:    s,
		Writers: *writers,
		Logf:    t.Logf,
	})
	if rep != nil {
		t.Logf("crashtest: %d cycles, %d restarts, %d ops acknowledged, %d uncertain (%d of them found applied), %d rejected by the unique index",
			rep.Cycles, rep.Restarts, rep.Acked, rep.Uncertain, rep.Resolved, rep.Rejected)
	}
	if err != nil {
		t.Fatalf("seed %d: %v", s, err)
	}
	if rep.Acked == 0 || rep.Cycles != *cycles {
		t.Fatalf("harness did no work: %+v", rep)
	}
}

// TestVerifyDetectsViolations tampers with the database or the model
// behind the harness's back and checks that verify reports each kind of
// violation, so that a passing crash run means something.
func TestVerifyDetectsViolations(t *testing.T) {
	bin := serverBinary(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, h *harness, db func(string) *collection)
		want   string
	}{
		{"clean", func(*testing.T, *harness, func(string) *collection) {}, ""},
		{"lost acknowledged insert", func(t *testing.T, h *harness, db func(string) *collection) {
			h.m.docs["w0-999"] = docModel{present: true, doc: bson.D{{Key: "_id", Value: "w0-999"}, {Key: "a", Value: int64(1)}}}
		}, "acknowledged document w0-999 is missing"},
		{"half-applied update", func(t *testing.T, h *harness, db func(string) *collection) {
			db(docsColl).insert(t, bson.D{{Key: "_id", Value: "w1-0"}, {Key: "w", Value: int32(1)}, {Key: "ver", Value: int64(1)},
				{Key: "a", Value: int64(1)}, {Key: "b", Value: int64(2)}, {Key: "tags", Value: bson.A{}}, {Key: "pad", Value: ""}})
			h.m.docs["w1-0"] = docModel{present: true, doc: bson.D{{Key: "_id", Value: "w1-0"}, {Key: "w", Value: int32(1)}, {Key: "ver", Value: int64(1)},
				{Key: "a", Value: int64(1)}, {Key: "b", Value: int64(1)}, {Key: "tags", Value: bson.A{}}, {Key: "pad", Value: ""}}}
		}, "half applied"},
		{"resurrected delete", func(t *testing.T, h *harness, db func(string) *collection) {
			db(docsColl).insert(t, bson.D{{Key: "_id", Value: "w2-0"}})
			h.m.docs["w2-0"] = docModel{present: false}
		}, "matches none"},
		{"unexpected document", func(t *testing.T, h *harness, db func(string) *collection) {
			db(docsColl).insert(t, bson.D{{Key: "_id", Value: "ghost"}})
		}, "unexpected document"},
		{"counter above attempts", func(t *testing.T, h *harness, db func(string) *collection) {
			h.m.counters[1].base = -5
		}, "counters: c1 = 0, want between -5"},
		{"counter below acknowledged", func(t *testing.T, h *harness, db func(string) *collection) {
			h.m.counters[2].acked = 3
		}, "counters: c2 = 0, want between 3"},
		{"rejected unique insert present", func(t *testing.T, h *harness, db func(string) *collection) {
			db(uniqColl).insert(t, bson.D{{Key: "_id", Value: "u-x"}, {Key: "k", Value: int64(7)}})
		}, "rejected or never attempted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{cfg: Config{Binary: bin, Writers: 1}, dataDir: t.TempDir() + "/data", logPath: t.TempDir() + "/log",
				m: newModel(1), rep: &Report{}}
			p, client, err := h.start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer p.kill()
			defer client.Disconnect(ctx)
			if err := h.setup(ctx, client); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, h, func(name string) *collection {
				return &collection{c: client.Database(dbName).Collection(name)}
			})
			err = h.verify(ctx, client)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("clean database reported: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("verify = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
