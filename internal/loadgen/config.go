package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Config is everything cairn-load was asked to do.
type Config struct {
	URI         string        // server A
	CompareURI  string        // server B; empty means no comparison
	Workloads   []string      // in the order given, duplicates removed
	Concurrency int           // parallel workers per run
	Duration    time.Duration // measured time per run
	Warmup      time.Duration // unmeasured time before each run
	Records     int64         // preloaded records for the read/update workloads
	DB          string        // database the tool owns (it drops its collections)
	Rounds      int           // A/B alternations when CompareURI is set
	JSON        bool          // machine-readable output
	Seed        uint64        // random seed; 0 picks one from the clock
	// PingRatio runs ping right before each workload's measured run and
	// once after the last, and reports each workload's throughput as a
	// ratio to the mean of the two pings around it.
	PingRatio bool
	// Journal makes every write workload write with j:true (acknowledged
	// once synced to disk). insert_one always does; the others otherwise
	// use the server's default write concern.
	Journal bool
}

// WorkloadNames lists every workload in a stable order.
var WorkloadNames = []string{
	"ping", "insert_many", "insert_one", "find_id",
	"ycsb_a", "ycsb_b", "ycsb_c", "range", "count", "group", "update_many",
}

// ErrHelp is returned by ParseArgs for -h/--help, after the usage text has
// been written.
var ErrHelp = flag.ErrHelp

// ParseArgs parses cairn-load's command line (without the program name).
// Usage and flag errors are written to errOut. The result is validated:
// unknown workloads and non-positive sizes are errors.
func ParseArgs(args []string, errOut io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("cairn-load", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&c.URI, "uri", "mongodb://127.0.0.1:27017", "MongoDB URI of the server to load")
	fs.StringVar(&c.CompareURI, "compare-uri", "", "second server; run each workload A,B,A,B... and print B/A ratios")
	workloads := fs.String("workload", "ping", "comma-separated workloads: "+strings.Join(WorkloadNames, ","))
	fs.IntVar(&c.Concurrency, "concurrency", 8, "parallel workers")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration of each run")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unmeasured warm-up before each run")
	fs.Int64Var(&c.Records, "records", 100000, "records preloaded for find_id, ycsb_*, range, count, group, update_many")
	fs.StringVar(&c.DB, "db", "cairnload", "database to use (its collections are dropped and recreated)")
	fs.IntVar(&c.Rounds, "rounds", 2, "rounds per server with --compare-uri")
	fs.BoolVar(&c.JSON, "json", false, "print results as JSON")
	fs.BoolVar(&c.PingRatio, "ping-ratio", false, "run ping before each workload and after the last; report each workload's ratio to the pings around it")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed (0: from the clock)")
	fs.BoolVar(&c.Journal, "journal", false, "write with j:true in every write workload (insert_one always does; the others otherwise use the server's default write concern)")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "usage: cairn-load [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ws, err := parseWorkloads(*workloads)
	if err != nil {
		return Config{}, err
	}
	c.Workloads = ws
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func parseWorkloads(s string) ([]string, error) {
	known := make(map[string]bool, len(WorkloadNames))
	for _, n := range WorkloadNames {
		known[n] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			continue
		}
		if name == "all" {
			for _, n := range WorkloadNames {
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
			continue
		}
		if !known[name] {
			return nil, fmt.Errorf("unknown workload %q (known: %s, all)", name, strings.Join(WorkloadNames, ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--workload: no workload given")
	}
	return out, nil
}

func (c *Config) validate() error {
	switch {
	case strings.TrimSpace(c.URI) == "":
		return errors.New("--uri must not be empty")
	case c.Concurrency < 1:
		return fmt.Errorf("--concurrency must be at least 1, got %d", c.Concurrency)
	case c.Duration <= 0:
		return fmt.Errorf("--duration must be positive, got %v", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("--warmup must not be negative, got %v", c.Warmup)
	case c.Records < 1:
		return fmt.Errorf("--records must be at least 1, got %d", c.Records)
	case c.PingRatio && c.CompareURI != "":
		return errors.New("--ping-ratio measures one server; it cannot be combined with --compare-uri")
	case c.Rounds < 1:
		return fmt.Errorf("--rounds must be at least 1, got %d", c.Rounds)
	case strings.TrimSpace(c.DB) == "" || strings.ContainsAny(c.DB, "/\\. \"$\x00"):
		return fmt.Errorf("--db %q is not a valid database name", c.DB)
	}
	return nil
}
