package loadgen

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cairndb/cairn/internal/server/servertest"
)

// TestAgainstServer runs every workload briefly against an in-process
// Cairn (or the server named by $CAIRN_LOAD_TEST_URI), with a database of
// its own, and expects no errors: every workload's answers are checked, so
// this is an end-to-end check of the server as much as of the tool.
func TestAgainstServer(t *testing.T) {
	uri := os.Getenv("CAIRN_LOAD_TEST_URI")
	if uri == "" {
		uri, _ = servertest.Start(t)
	}
	var out, errOut strings.Builder
	code := Main(t.Context(), []string{
		"--uri", uri, "--workload", "all", "--duration", "1s", "--warmup", "200ms",
		"--records", "2000", "--concurrency", "4", "--db", "cairnload_test", "--json",
	}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	var rep Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, out.String())
	}
	if len(rep.Results) != len(WorkloadNames) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(WorkloadNames))
	}
	for _, r := range rep.Results {
		if r.Workload == "ping" && r.Ops == 0 {
			t.Errorf("ping: no operation measured")
		}
	}

	// --ping-ratio: a ping before each workload and after the last, and
	// a ratio for each workload.
	out.Reset()
	errOut.Reset()
	code = Main(t.Context(), []string{
		"--uri", uri, "--workload", "find_id,ycsb_a", "--duration", "500ms", "--warmup", "100ms",
		"--records", "1000", "--concurrency", "2", "--db", "cairnload_test", "--json", "--ping-ratio",
	}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("--ping-ratio: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rep = Report{}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("--ping-ratio output is not a JSON report: %v\n%s", err, out.String())
	}
	var brackets int
	for _, r := range rep.Results {
		if r.Bracket {
			brackets++
		}
	}
	if brackets != 3 || len(rep.Results) != 5 {
		t.Errorf("--ping-ratio: %d results with %d bracketing pings, want 5 with 3", len(rep.Results), brackets)
	}
	if len(rep.PingRatios) != 2 {
		t.Fatalf("--ping-ratio: %d ratios, want 2: %+v", len(rep.PingRatios), rep.PingRatios)
	}
	for _, pr := range rep.PingRatios {
		if pr.PingBefore <= 0 || pr.PingAfter <= 0 || pr.Ratio <= 0 {
			t.Errorf("--ping-ratio: %+v lacks a ping or a ratio", pr)
		}
	}
}

// TestWriteConcerns checks the write concern each write workload sends:
// insert_one always j:true (it measures durable inserts), the others
// none (the server's default) unless --journal.
func TestWriteConcerns(t *testing.T) {
	uri, _ := servertest.Start(t)
	for _, journal := range []bool{false, true} {
		var mu sync.Mutex
		sent := map[string]string{} // collection inserted into -> writeConcern sent
		mon := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
			if e.CommandName != "insert" {
				return
			}
			wc := "none"
			if v, err := e.Command.LookupErr("writeConcern"); err == nil {
				wc = v.String()
			}
			mu.Lock()
			sent[e.Command.Lookup("insert").StringValue()] = wc
			mu.Unlock()
		}}
		client, err := mongo.Connect(options.Client().ApplyURI(uri).SetMonitor(mon))
		if err != nil {
			t.Fatal(err)
		}
		z, err := NewScrambledZipfian(10, YCSBTheta)
		if err != nil {
			t.Fatal(err)
		}
		tg := newTarget("A", uri, &Config{Concurrency: 1, Records: 10, DB: "wc", Journal: journal}, client, z, true)
		w := &worker{rng: rand.New(rand.NewPCG(1, 2))}
		ctx := t.Context()
		for _, step := range []func() error{
			func() error { return setupInsertOne(ctx, tg) },
			func() error { return opInsertOne(ctx, tg, w) },
			func() error { return setupInsertMany(ctx, tg) },
			func() error { return opInsertMany(ctx, tg, w) },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		tg.close()
		want := map[string]string{tg.coll(collInsertOne): `{"j": true}`, tg.coll(collInsertMany): "none"}
		if journal {
			want[tg.coll(collInsertMany)] = `{"j": true}`
		}
		mu.Lock()
		for coll, wc := range want {
			if sent[coll] != wc {
				t.Errorf("journal=%v: insert into %s sent writeConcern %s, want %s", journal, coll, sent[coll], wc)
			}
		}
		mu.Unlock()
	}
}
