package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit statuses of Main.
const (
	ExitOK     = 0 // every operation and check succeeded
	ExitErrors = 1 // some operation or check failed
	ExitUsage  = 2 // bad flags, or a server could not be reached
)

// Main is cairn-load: it parses args, runs the workloads and prints the
// results (a table, or JSON with --json) to stdout; progress and errors that
// stop the run go to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := ParseArgs(args, stderr)
	if errors.Is(err, ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "cairn-load: %v\n", err)
		return ExitUsage
	}
	var progress func(Result)
	if !cfg.JSON {
		fmt.Fprintf(stdout, "cairn-load: %s; concurrency %d, duration %v, warmup %v, records %d\n",
			strings.Join(cfg.Workloads, ","), cfg.Concurrency, cfg.Duration, cfg.Warmup, cfg.Records)
		fmt.Fprintf(stdout, "A = %s\n", redactURI(cfg.URI))
		if cfg.CompareURI != "" {
			fmt.Fprintf(stdout, "B = %s (%d rounds, alternating A B)\n", redactURI(cfg.CompareURI), cfg.Rounds)
		}
		header := false
		progress = func(r Result) {
			if !header {
				fmt.Fprintln(stdout, resultHeader())
				header = true
			}
			writeResult(stdout, r)
		}
	}
	rep, err := Run(ctx, cfg, progress)
	if rep == nil {
		fmt.Fprintf(stderr, "cairn-load: %v\n", err)
		return ExitUsage
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "cairn-load: %v\n", err)
			return ExitErrors
		}
	} else {
		writeComparisons(stdout, rep.Comparisons)
		writePingRatios(stdout, rep.PingRatios)
		fmt.Fprintf(stdout, "%d errors\n", rep.TotalErrors)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cairn-load: stopped: %v\n", err)
		return ExitErrors
	}
	if rep.TotalErrors > 0 {
		return ExitErrors
	}
	return ExitOK
}

func resultHeader() string {
	return fmt.Sprintf("%-12s %-6s %5s %12s %10s %10s %7s %11s %11s  %s",
		"workload", "server", "round", "ops/s", "p50", "p99", "errors", "srv CPU/op", "cli CPU/op", "server RSS before -> after")
}

func writeResult(w io.Writer, r Result) {
	round := "-"
	if r.Round > 0 {
		round = fmt.Sprint(r.Round)
	}
	name := r.Workload
	if r.Bracket {
		name = "(ping)" // added by --ping-ratio
	}
	fmt.Fprintf(w, "%-12s %-6s %5s %12.1f %10s %10s %7d %11s %11s  %s -> %s (%s)\n",
		name, r.Server, round, r.OpsPerSec,
		fmtMicros(r.P50Micros), fmtMicros(r.P99Micros), r.Errors,
		fmtCPU(r.ServerCPUMicros), fmtCPU(r.ClientCPUMicros),
		fmtBytes(r.RSSBefore), fmtBytes(r.RSSAfter), r.RSSSource)
	if r.Ops == 0 && r.Round > 0 {
		fmt.Fprintf(w, "    note: no operation completed inside the measured window; try a longer --duration\n")
	}
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "    error: %s\n", e)
	}
	if r.Errors > uint64(len(r.FirstErrors)) {
		fmt.Fprintf(w, "    ... and %d more errors\n", r.Errors-uint64(len(r.FirstErrors)))
	}
}

func writeComparisons(w io.Writer, cs []Comparison) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nB/A over all rounds (ops/s: above 1 means B is faster; latency: below 1 means B is faster)\n")
	fmt.Fprintf(w, "%-12s %12s %12s %9s %9s %9s %8s %8s\n",
		"workload", "A ops/s", "B ops/s", "ops B/A", "p50 B/A", "p99 B/A", "A errs", "B errs")
	for _, c := range cs {
		fmt.Fprintf(w, "%-12s %12.1f %12.1f %9.3f %9.3f %9.3f %8d %8d\n",
			c.Workload, c.AOpsPerSec, c.BOpsPerSec, c.OpsRatio, c.P50Ratio, c.P99Ratio, c.AErrors, c.BErrors)
	}
}

func writePingRatios(w io.Writer, prs []PingRatio) {
	if len(prs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nRatio to ping (ops/s over the mean of the ping runs just before and after each workload)\n")
	fmt.Fprintf(w, "%-12s %12s %12s %12s %7s\n", "workload", "ops/s", "ping before", "ping after", "ratio")
	for _, p := range prs {
		fmt.Fprintf(w, "%-12s %12.1f %12s %12s %7.3f\n", p.Workload, p.OpsPerSec, fmtOps(p.PingBefore), fmtOps(p.PingAfter), p.Ratio)
	}
}

func fmtOps(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtMicros(us float64) string {
	d := time.Duration(us * float64(time.Microsecond))
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", us)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", us/1000)
	default:
		return fmt.Sprintf("%.2fs", us/1e6)
	}
}

func fmtBytes(b *int64) string {
	if b == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1fMiB", float64(*b)/(1024*1024))
}

// fmtCPU formats CPU microseconds per operation ("?" when unknown).
func fmtCPU(us float64) string {
	if us < 0 {
		return "?"
	}
	return fmtMicros(us)
}
