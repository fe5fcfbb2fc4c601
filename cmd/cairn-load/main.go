// Command cairn-load drives any MongoDB-compatible server with named
// workloads through the official Go driver and reports throughput, latency
// percentiles, errors and the server's resident memory. See
// internal/loadgen for the workloads and `cairn-load -h` for the flags.
//
//	cairn-load --uri mongodb://127.0.0.1:27017 --workload ping,find_id,ycsb_a
//	cairn-load --uri URI_A --compare-uri URI_B --workload all --rounds 3 --json
//
// With CAIRN_LOAD_CPUPROFILE=file set, the tool writes its own CPU
// profile there (the server's comes from cairn --debug-addr).
//
// The exit status is 0 when every operation and check succeeded, 1 when
// any failed, and 2 for bad flags or an unreachable server.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/cairndb/cairn/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if path := os.Getenv("CAIRN_LOAD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cairn-load:", err)
			os.Exit(loadgen.ExitUsage)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "cairn-load:", err)
			os.Exit(loadgen.ExitUsage)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	code := loadgen.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code != loadgen.ExitOK {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}
