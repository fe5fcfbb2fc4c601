package loadgen

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestGroupSize(t *testing.T) {
	tests := []struct{ records, g, want int64 }{
		{100000, 0, 1000}, {100000, 99, 1000}, {1050, 49, 11}, {1050, 50, 10}, {5, 4, 1}, {5, 5, 0}, {1, 0, 1},
	}
	for _, tc := range tests {
		if got := groupSize(tc.records, tc.g); got != tc.want {
			t.Errorf("groupSize(%d, %d) = %d, want %d", tc.records, tc.g, got, tc.want)
		}
	}
	// The sizes add up to the record count.
	for _, records := range []int64{1, 99, 100, 101, 12345} {
		var sum int64
		for g := int64(0); g < groupCount; g++ {
			sum += groupSize(records, g)
		}
		if sum != records {
			t.Errorf("records=%d: group sizes add up to %d", records, sum)
		}
	}
}

func resultWith(server string, secs float64, lat time.Duration, n int, errs uint64) Result {
	r := Result{Server: server, Seconds: secs, Errors: errs, hist: &Histogram{}}
	for i := 0; i < n; i++ {
		r.hist.Record(lat)
	}
	return r
}

func TestCompareRatios(t *testing.T) {
	a := []Result{resultWith("A", 1, 100*time.Microsecond, 1000, 0), resultWith("A", 1, 100*time.Microsecond, 1000, 1)}
	b := []Result{resultWith("B", 1, 200*time.Microsecond, 500, 0), resultWith("B", 1, 200*time.Microsecond, 500, 0)}
	c := compare("find_id", a, b)
	if c.AOpsPerSec != 1000 || c.BOpsPerSec != 500 {
		t.Fatalf("ops/s A=%v B=%v, want 1000 and 500", c.AOpsPerSec, c.BOpsPerSec)
	}
	if c.OpsRatio != 0.5 {
		t.Errorf("ops ratio %v, want 0.5", c.OpsRatio)
	}
	if c.P50Ratio < 1.98 || c.P50Ratio > 2.02 || c.P99Ratio < 1.98 || c.P99Ratio > 2.02 {
		t.Errorf("latency ratios p50=%v p99=%v, want about 2", c.P50Ratio, c.P99Ratio)
	}
	if c.AErrors != 1 || c.BErrors != 0 {
		t.Errorf("errors A=%d B=%d, want 1 and 0", c.AErrors, c.BErrors)
	}
	if z := compare("x", []Result{resultWith("A", 1, 0, 0, 0)}, b); z.OpsRatio != 0 {
		t.Errorf("ratio over an idle A = %v, want 0", z.OpsRatio)
	}
}

func TestWriteResultShowsErrors(t *testing.T) {
	before, after := int64(10<<20), int64(12<<20)
	r := Result{Workload: "count", Server: "A", Round: 1, Ops: 3, OpsPerSec: 3, P50Micros: 1500, P99Micros: 90,
		Errors: 7, FirstErrors: []string{"count 5 <= i < 105: got 99, want 100"}, RSSBefore: &before, RSSAfter: &after, RSSSource: "proc"}
	var sb strings.Builder
	writeResult(&sb, r)
	out := sb.String()
	for _, want := range []string{"count", "1.50ms", "90µs", "10.0MiB -> 12.0MiB (proc)", "error: count 5 <= i < 105: got 99, want 100", "and 6 more errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sb.Reset()
	writeResult(&sb, Result{Workload: "group", Server: "B", Round: 2, RSSSource: "not reported"})
	if !strings.Contains(sb.String(), "n/a -> n/a") || !strings.Contains(sb.String(), "no operation completed") {
		t.Errorf("idle run output:\n%s", sb.String())
	}
}

func TestRedactURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mongodb://u:secret@h:1/db", "mongodb://u:xxxxx@h:1/db"},
		{"mongodb://h:1", "mongodb://h:1"},
		{"mongodb://u@h:1", "mongodb://u@h:1"},
	}
	for _, tc := range tests {
		if got := redactURI(tc.in); got != tc.want {
			t.Errorf("redactURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPingRatios(t *testing.T) {
	ping := func(ops float64) Result { return Result{Workload: "ping", OpsPerSec: ops, Bracket: true} }
	run := func(name string, ops float64) Result { return Result{Workload: name, OpsPerSec: ops} }
	tests := []struct {
		name string
		in   []Result
		want []PingRatio
	}{
		{"no brackets", []Result{run("find_id", 10)}, nil},
		{
			"each workload between two pings",
			[]Result{ping(100), run("find_id", 90), ping(80), run("ycsb_a", 36), ping(100)},
			[]PingRatio{
				{Workload: "find_id", OpsPerSec: 90, PingBefore: 100, PingAfter: 80, Ratio: 1},
				{Workload: "ycsb_a", OpsPerSec: 36, PingBefore: 80, PingAfter: 100, Ratio: 0.4},
			},
		},
		{
			"setup failure rows and a missing final ping",
			[]Result{ping(50), run("count", 0), run("range", 20)},
			[]PingRatio{
				{Workload: "count", OpsPerSec: 0, PingBefore: 50, Ratio: 0},
				{Workload: "range", OpsPerSec: 20, PingBefore: 50, Ratio: 0.4},
			},
		},
		{
			"an asked-for ping is a workload like any other",
			[]Result{ping(40), run("ping", 44), ping(48)},
			[]PingRatio{{Workload: "ping", OpsPerSec: 44, PingBefore: 40, PingAfter: 48, Ratio: 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pingRatios(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Workload != w.Workload || g.OpsPerSec != w.OpsPerSec || g.PingBefore != w.PingBefore ||
					g.PingAfter != w.PingAfter || math.Abs(g.Ratio-w.Ratio) > 1e-9 {
					t.Errorf("entry %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
	var b strings.Builder
	writePingRatios(&b, pingRatios([]Result{ping(100), run("ycsb_a", 40), ping(100)}))
	if !strings.Contains(b.String(), "ycsb_a") || !strings.Contains(b.String(), "0.400") {
		t.Errorf("table does not show ycsb_a's ratio 0.400:\n%s", b.String())
	}
}
