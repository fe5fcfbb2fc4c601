package loadgen

import (
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\tcairn\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nThreads: 9\n", 12345 * 1024, false},
		{"missing", "Name:\tcairn\n", 0, true},
		{"bad unit", "VmRSS:\t 5 MB\n", 0, true},
		{"bad number", "VmRSS:\t x kB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVmRSS(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseVmRSS = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMemFromStatus(t *testing.T) {
	status := func(d bson.D) bson.Raw {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rss := func(pid int64) (int64, error) {
		if pid == 42 {
			return 7 << 20, nil
		}
		return 0, errors.New("no such process")
	}
	withBoth := status(bson.D{{Key: "pid", Value: int64(42)}, {Key: "mem", Value: bson.D{{Key: "resident", Value: int32(100)}}}})
	tests := []struct {
		name       string
		st         bson.Raw
		local      bool
		wantBytes  int64
		wantSource string
	}{
		{"local pid wins", withBoth, true, 7 << 20, "proc"},
		{"remote uses mem.resident", withBoth, false, 100 << 20, "serverStatus"},
		{"int32 pid", status(bson.D{{Key: "pid", Value: int32(42)}}), true, 7 << 20, "proc"},
		{"unreadable pid falls back", status(bson.D{{Key: "pid", Value: int64(43)}, {Key: "mem", Value: bson.D{{Key: "resident", Value: 3.5}}}}), true, int64(3.5 * (1 << 20)), "serverStatus"},
		{"nothing reported", status(bson.D{{Key: "ok", Value: 1.0}}), true, -1, "not reported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := memFromStatus(tc.st, tc.local, rss)
			if got.Bytes != tc.wantBytes || got.Source != tc.wantSource {
				t.Fatalf("memFromStatus = %+v, want {%d %s}", got, tc.wantBytes, tc.wantSource)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		hosts []string
		want  bool
	}{
		{[]string{"127.0.0.1:27017"}, true},
		{[]string{"localhost:27017"}, true},
		{[]string{"[::1]:27017"}, true},
		{[]string{"localhost"}, true},
		{[]string{"/tmp/mongodb-27017.sock"}, true},
		{[]string{"127.0.0.1:1", "db.example.com:27017"}, false},
		{[]string{"10.0.0.5:27017"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := loopbackOnly(tc.hosts); got != tc.want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", tc.hosts, got, tc.want)
		}
	}
}
