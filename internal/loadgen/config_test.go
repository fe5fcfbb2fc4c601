package loadgen

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseArgsDefaults(t *testing.T) {
	got, err := ParseArgs(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		URI:         "mongodb://127.0.0.1:27017",
		Workloads:   []string{"ping"},
		Concurrency: 8,
		Duration:    10 * time.Second,
		Warmup:      2 * time.Second,
		Records:     100000,
		DB:          "cairnload",
		Rounds:      2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(Config) bool
		wantErr string // substring; empty means success
	}{
		{
			name: "everything set",
			args: []string{"--uri", "mongodb://h:1", "--compare-uri=mongodb://h:2", "--workload", "ycsb_a,find_id",
				"--concurrency", "32", "--duration", "3s", "--warmup", "0s", "--records", "500", "--db", "x",
				"--rounds", "4", "--json", "--seed", "11"},
			check: func(c Config) bool {
				return c.URI == "mongodb://h:1" && c.CompareURI == "mongodb://h:2" &&
					reflect.DeepEqual(c.Workloads, []string{"ycsb_a", "find_id"}) && c.Concurrency == 32 &&
					c.Duration == 3*time.Second && c.Warmup == 0 && c.Records == 500 && c.DB == "x" &&
					c.Rounds == 4 && c.JSON && c.Seed == 11
			},
		},
		{
			name:  "journal",
			args:  []string{"--workload", "ycsb_a", "--journal"},
			check: func(c Config) bool { return c.Journal },
		},
		{
			name:  "ping ratio",
			args:  []string{"--workload", "ycsb_a", "--ping-ratio"},
			check: func(c Config) bool { return c.PingRatio && c.CompareURI == "" },
		},
		{
			name:    "ping ratio measures one server",
			args:    []string{"--compare-uri", "mongodb://h:2", "--ping-ratio"},
			wantErr: "--ping-ratio measures one server",
		},
		{
			name:  "single dash flags work too",
			args:  []string{"-workload", "count", "-concurrency", "2"},
			check: func(c Config) bool { return reflect.DeepEqual(c.Workloads, []string{"count"}) && c.Concurrency == 2 },
		},
		{
			name:  "duplicates and blanks dropped, order kept",
			args:  []string{"--workload", " range, ping,,range ,ping"},
			check: func(c Config) bool { return reflect.DeepEqual(c.Workloads, []string{"range", "ping"}) },
		},
		{
			name:  "all expands to every workload",
			args:  []string{"--workload", "all"},
			check: func(c Config) bool { return reflect.DeepEqual(c.Workloads, WorkloadNames) },
		},
		{name: "unknown workload", args: []string{"--workload", "ping,nope"}, wantErr: `unknown workload "nope"`},
		{name: "empty workload list", args: []string{"--workload", " , "}, wantErr: "no workload"},
		{name: "zero concurrency", args: []string{"--concurrency", "0"}, wantErr: "--concurrency"},
		{name: "zero duration", args: []string{"--duration", "0s"}, wantErr: "--duration"},
		{name: "negative warmup", args: []string{"--warmup", "-1s"}, wantErr: "--warmup"},
		{name: "zero records", args: []string{"--records", "0"}, wantErr: "--records"},
		{name: "zero rounds", args: []string{"--rounds", "0"}, wantErr: "--rounds"},
		{name: "empty uri", args: []string{"--uri", ""}, wantErr: "--uri"},
		{name: "bad db name", args: []string{"--db", "a.b"}, wantErr: "--db"},
		{name: "bad duration syntax", args: []string{"--duration", "ten"}, wantErr: "invalid value"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "not defined"},
		{name: "stray argument", args: []string{"ping"}, wantErr: `unexpected argument "ping"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseArgs(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseArgs(%q) error = %v, want one containing %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", tc.args, err)
			}
			if !tc.check(c) {
				t.Fatalf("ParseArgs(%q) = %+v", tc.args, c)
			}
		})
	}
}

func TestParseArgsHelp(t *testing.T) {
	var out strings.Builder
	_, err := ParseArgs([]string{"-h"}, &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("-h gave %v, want ErrHelp", err)
	}
	for _, flag := range []string{"-uri", "-compare-uri", "-workload", "-concurrency", "-duration", "-warmup", "-records", "-db", "-rounds", "-json"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("usage does not mention %s:\n%s", flag, out.String())
		}
	}
}

func TestMainUsageErrorsExit2(t *testing.T) {
	var out, errOut strings.Builder
	code := Main(t.Context(), []string{"--workload", "bogus"}, &out, &errOut)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errOut.String(), "bogus") {
		t.Fatalf("stderr %q does not name the bad workload", errOut.String())
	}
}
