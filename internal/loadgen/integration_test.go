package loadgen

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestAgainstServer runs every workload briefly against the server named by
// $CAIRN_LOAD_TEST_URI, with a database of its own, and expects no errors:
// every workload's answers are checked, so this is an end-to-end check of
// the server as much as of the tool.
func TestAgainstServer(t *testing.T) {
	uri := os.Getenv("CAIRN_LOAD_TEST_URI")
	if uri == "" {
		t.Skip("set CAIRN_LOAD_TEST_URI (e.g. mongodb://127.0.0.1:27017) to run cairn-load's workloads against a live server")
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
}
