package loadgen

import (
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{"plain", "4242 (cairn) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0", 3250 * time.Millisecond, false},
		{"spaces and parens in the name", "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0", 30 * time.Millisecond, false},
		{"truncated", "7 (x) R 1 2 3", 0, true},
		{"no name", "garbage", 0, true},
		{"bad number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 zz 2 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStatCPU(tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCPUPerOp(t *testing.T) {
	if got := cpuPerOp(time.Second, 2*time.Second, 1000); got != 1000 {
		t.Fatalf("cpuPerOp = %v, want 1000 µs", got)
	}
	if got := cpuPerOp(-1, time.Second, 10); got != -1 {
		t.Fatalf("unknown start: %v, want -1", got)
	}
	if got := cpuPerOp(0, time.Second, 0); got != -1 {
		t.Fatalf("no ops: %v, want -1", got)
	}
}
