// Command cairn runs the Cairn document database server.
//
// Usage:
//
//	cairn [--listen-addr host:port] [--data-dir dir] [--log-level level]
//	      [--max-conns n] [--enable-test-commands] [--ttl-interval d]
//	      [--cache-size bytes] [--row-cache-size bytes] [--memtable-size bytes]
//	      [--debug-addr host:port]
//
// CAIRN_LISTEN_ADDR and CAIRN_DATA_DIR override the built-in defaults;
// flags override both. SIGINT or SIGTERM shut the server down cleanly:
// it stops accepting connections, lets requests in flight finish, then
// closes the catalog and the storage engine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cairndb/cairn/internal/ttl"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// config is the parsed command line.
type config struct {
	ListenAddr         string
	DataDir            string
	LogLevel           slog.Level
	MaxConns           int
	EnableTestCommands bool
	TTLInterval        time.Duration
	CacheSize          int64
	RowCacheSize       int64
	MemTableSize       int64
	// JournalCommitInterval bounds how long a w:1 write stays unsynced;
	// 0 syncs every acknowledged write.
	JournalCommitInterval time.Duration
	DebugAddr             string
}

// parseFlags parses args (without the program name) with defaults taken
// from getenv.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, bson.D, error) {
	o := config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", MaxConns: server.DefaultMaxConns, TTLInterval: ttl.DefaultInterval, CacheSize: pebble.DefaultCacheSize, RowCacheSize: pebble.DefaultRowCacheSize, MemTableSize: int64(pebble.DefaultMemTableSize), JournalCommitInterval: pebble.DefaultSyncInterval}
	if v := getenv("CAIRN_LISTEN_ADDR"); v != "" {
		o.ListenAddr = v
	}
	if v := getenv("CAIRN_DATA_DIR"); v != "" {
		o.DataDir = v
	}
	fs := flag.NewFlagSet("cairn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.ListenAddr, "listen-addr", o.ListenAddr, "address to listen on (env CAIRN_LISTEN_ADDR)")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "data directory (env CAIRN_DATA_DIR)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&o.MaxConns, "max-conns", o.MaxConns, "maximum concurrent client connections")
	fs.BoolVar(&o.EnableTestCommands, "enable-test-commands", false, "enable test-only commands")
	fs.DurationVar(&o.TTLInterval, "ttl-interval", o.TTLInterval, "how often the TTL monitor deletes expired documents")
	fs.Int64Var(&o.CacheSize, "cache-size", o.CacheSize, "storage engine block cache size in bytes")
	fs.Int64Var(&o.RowCacheSize, "row-cache-size", o.RowCacheSize, "cache of recently read records and index entries, in bytes (0 turns it off)")
	fs.Int64Var(&o.MemTableSize, "memtable-size", o.MemTableSize, "storage engine memtable size in bytes (at most two are in memory)")
	fs.DurationVar(&o.JournalCommitInterval, "journal-commit-interval", o.JournalCommitInterval, "how long a write acknowledged without j:true (w:1, the default) may stay written to the log but not synced to disk; 0 syncs every acknowledged write (1ms to 500ms, as MongoDB's commitIntervalMs)")
	fs.StringVar(&o.DebugAddr, "debug-addr", "", "serve Go's pprof profiles (/debug/pprof/) and Pebble's metrics (/debug/pebble) over HTTP on this address, e.g. 127.0.0.1:6060 (off when empty)")
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	if fs.NArg() > 0 {
		return o, nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := o.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return o, nil, fmt.Errorf("bad --log-level %q: want debug, info, warn or error", *level)
	}
	if o.TTLInterval <= 0 {
		return o, nil, fmt.Errorf("--ttl-interval must be positive, got %v", o.TTLInterval)
	}
	if o.CacheSize <= 0 {
		return o, nil, fmt.Errorf("--cache-size must be positive, got %d", o.CacheSize)
	}
	if o.RowCacheSize < 0 {
		return o, nil, fmt.Errorf("--row-cache-size must not be negative, got %d", o.RowCacheSize)
	}
	if o.MemTableSize < 1<<20 || o.MemTableSize > 1<<30 {
		return o, nil, fmt.Errorf("--memtable-size must be between 1 MiB and 1 GiB, got %d", o.MemTableSize)
	}
	if o.JournalCommitInterval != 0 && (o.JournalCommitInterval < time.Millisecond || o.JournalCommitInterval > 500*time.Millisecond) {
		return o, nil, fmt.Errorf("--journal-commit-interval must be 0 or between 1ms and 500ms, got %v", o.JournalCommitInterval)
	}
	if o.MaxConns <= 0 {
		return o, nil, fmt.Errorf("--max-conns must be positive, got %d", o.MaxConns)
	}
	parsed := bson.D{
		{Key: "net", Value: bson.D{
			{Key: "bindIpAll", Value: false},
			{Key: "listenAddr", Value: o.ListenAddr},
			{Key: "maxIncomingConnections", Value: int32(o.MaxConns)},
		}},
		{Key: "storage", Value: bson.D{{Key: "dbPath", Value: o.DataDir}, {Key: "engine", Value: "pebble"},
			{Key: "journal", Value: bson.D{{Key: "commitIntervalMs", Value: int32(o.JournalCommitInterval / time.Millisecond)}}}}},
		{Key: "systemLog", Value: bson.D{{Key: "verbosity", Value: *level}}},
		{Key: "setParameter", Value: bson.D{{Key: "enableTestCommands", Value: o.EnableTestCommands}}},
	}
	return o, parsed, nil
}

func main() {
	if err := run(os.Args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "cairn:", err)
		os.Exit(1)
	}
}

func run(argv []string, getenv func(string) string) error {
	o, parsed, err := parseFlags(argv[1:], getenv, os.Stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.LogLevel}))
	slog.SetDefault(logger)
	tuneGC(o, getenv)

	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	rowCache := o.RowCacheSize
	if rowCache == 0 {
		rowCache = -1 // off
	}
	syncInterval := o.JournalCommitInterval
	if syncInterval == 0 {
		syncInterval = -1 // sync every acknowledged write
	}
	eng, err := pebble.Open(o.DataDir, &pebble.Options{Logger: logger, CacheSize: o.CacheSize, RowCacheSize: rowCache,
		MemTableSize: uint64(o.MemTableSize), SyncInterval: syncInterval, PrewriteWAL: true})
	if err != nil {
		return err
	}
	cat, err := catalog.Open(eng, logger)
	if err != nil {
		eng.Close()
		return err
	}
	closeStorage := func() {
		if err := cat.Close(); err != nil {
			logger.Error("closing catalog", "err", err)
		}
		if err := eng.Close(); err != nil {
			logger.Error("closing storage engine", "err", err)
		}
	}

	ln, err := net.Listen("tcp", o.ListenAddr)
	if err != nil {
		closeStorage()
		return fmt.Errorf("listen on %s: %w", o.ListenAddr, err)
	}
	info := &commands.ServerInfo{
		ListenAddr:         ln.Addr().String(),
		DataDir:            o.DataDir,
		Argv:               argv,
		Parsed:             parsed,
		EnableTestCommands: o.EnableTestCommands,
		StartTime:          time.Now(),
	}
	if o.ListenAddr != "" && !strings.HasPrefix(o.ListenAddr, "127.") && !strings.HasPrefix(o.ListenAddr, "localhost") && !strings.HasPrefix(o.ListenAddr, "[::1]") {
		info.StartupWarnings = append(info.StartupWarnings, "Access control is not enabled for the database. Read and write access to data and configuration is unrestricted.")
	}
	srv, err := server.New(server.Config{
		ListenAddr:         o.ListenAddr,
		Logger:             logger,
		Env:                &commands.Env{Catalog: cat, Info: info, Logger: logger},
		MaxConns:           o.MaxConns,
		EnableTestCommands: o.EnableTestCommands,
	})
	if err != nil {
		ln.Close()
		closeStorage()
		return err
	}

	if o.DebugAddr != "" {
		dln, err := net.Listen("tcp", o.DebugAddr)
		if err != nil {
			ln.Close()
			closeStorage()
			return fmt.Errorf("listen on --debug-addr %s: %w", o.DebugAddr, err)
		}
		defer dln.Close()
		go func() { _ = http.Serve(dln, debugMux(eng.Metrics)) }()
		logger.Info("debug endpoints served", "pprof", "http://"+dln.Addr().String()+"/debug/pprof/", "pebble", "http://"+dln.Addr().String()+"/debug/pebble")
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ttlCtx, stopTTL := context.WithCancel(context.Background())
	ttlDone := make(chan struct{})
	go func() {
		defer close(ttlDone)
		ttl.Run(ttlCtx, cat, o.TTLInterval, logger)
	}()
	logger.Info("cairn started", "addr", ln.Addr().String(), "dataDir", o.DataDir, "pid", os.Getpid(), "version", info.Version)

	var serveErr error
	select {
	case sig := <-sigs:
		logger.Info("shutting down", "signal", sig.String())
	case serveErr = <-served:
		logger.Error("server stopped", "err", serveErr)
	}
	signal.Stop(sigs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("shutdown did not finish in time; connections closed", "err", err)
	}
	stopTTL()
	<-ttlDone
	closeStorage()
	logger.Info("cairn stopped")
	if serveErr != nil && !errors.Is(serveErr, server.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// debugMux serves Go's runtime profiles (CPU, heap, allocations,
// goroutines, mutex and block) under /debug/pprof/, and the storage
// engine's metrics as text at /debug/pebble (503 once it is closed).
func debugMux[M fmt.Stringer](metrics func() (M, error)) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pebble", func(w http.ResponseWriter, r *http.Request) {
		m, err := metrics()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, m.String())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// gcPercent is the garbage collector's target unless GOGC is set: the
// server's live heap is small (the block cache and memtables live outside
// it in cgo builds), so Go's default of 100 collects very often under
// load; 200 gave YCSB A and insert_one 4-7% more throughput
// (docs/performance.md).
const gcPercent = 200

// tuneGC sets the GC target and, unless GOMEMLIMIT is set, a soft memory
// limit that bounds what the higher target may cost. Near the limit the
// collector runs as often as it needs to, so large aggregations or index
// builds do not let the heap grow further than with the default target.
func tuneGC(o config, getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(o, pebbleOffHeap))
	}
}

// memoryLimit is the Go runtime's soft limit: 384 MiB for the server's own
// heap and the row cache, plus the block cache and two memtables when
// Pebble allocates them on the Go heap (builds without cgo; see
// offheap_cgo.go).
func memoryLimit(o config, offHeap bool) int64 {
	limit := int64(384<<20) + o.RowCacheSize
	if !offHeap {
		limit += o.CacheSize + 2*o.MemTableSize
	}
	return limit
}
