package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cairndb/cairn/internal/storage/pebble"
)

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{"defaults", nil, nil, config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"env", nil, map[string]string{"CAIRN_LISTEN_ADDR": "0.0.0.0:1", "CAIRN_DATA_DIR": "/e"},
			config{ListenAddr: "0.0.0.0:1", DataDir: "/e", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"flags beat env", []string{"--listen-addr", "127.0.0.1:2", "--data-dir=/f", "--log-level", "debug", "--max-conns", "5", "--enable-test-commands"},
			map[string]string{"CAIRN_LISTEN_ADDR": "0.0.0.0:1", "CAIRN_DATA_DIR": "/e"},
			config{ListenAddr: "127.0.0.1:2", DataDir: "/f", LogLevel: slog.LevelDebug, MaxConns: 5, EnableTestCommands: true, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"warn level", []string{"--log-level=warn"}, nil, config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelWarn, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"debug addr", []string{"--debug-addr=127.0.0.1:6060"}, nil,
			config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond, DebugAddr: "127.0.0.1:6060"}, false},
		{"bad level", []string{"--log-level=loud"}, nil, config{}, true},
		{"bad max conns", []string{"--max-conns=0"}, nil, config{}, true},
		{"ttl and cache", []string{"--ttl-interval=5s", "--cache-size=1048576"}, nil,
			config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: 5 * time.Second, CacheSize: 1 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"memtable", []string{"--memtable-size=8388608"}, nil,
			config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 8 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"row cache off", []string{"--row-cache-size=0"}, nil,
			config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 100 * time.Millisecond}, false},
		{"journal every write", []string{"--journal-commit-interval=0"}, nil,
			config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20}, false},
		{"journal 30ms", []string{"--journal-commit-interval=30ms"}, nil,
			config{ListenAddr: "127.0.0.1:27017", DataDir: "./cairn-data", LogLevel: slog.LevelInfo, MaxConns: 1000, TTLInterval: time.Minute, CacheSize: 256 << 20, RowCacheSize: 64 << 20, MemTableSize: 32 << 20, JournalCommitInterval: 30 * time.Millisecond}, false},
		{"journal too long", []string{"--journal-commit-interval=1s"}, nil, config{}, true},
		{"journal too short", []string{"--journal-commit-interval=10us"}, nil, config{}, true},
		{"journal negative", []string{"--journal-commit-interval=-1ms"}, nil, config{}, true},
		{"negative row cache", []string{"--row-cache-size=-1"}, nil, config{}, true},
		{"memtable too small", []string{"--memtable-size=1000"}, nil, config{}, true},
		{"bad ttl interval", []string{"--ttl-interval=0s"}, nil, config{}, true},
		{"unknown flag", []string{"--nope"}, nil, config{}, true},
		{"positional", []string{"extra"}, nil, config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, parsed, err := parseFlags(tt.args, env(tt.env), io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if len(parsed) == 0 {
				t.Error("parsed options empty")
			}
		})
	}
}

// TestBinary builds cairn, starts it, pings it with the Go driver and
// stops it with SIGTERM, checking for a clean exit and that data written
// survives a restart.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds and runs the cairn binary (-short)")
	}
	bin := filepath.Join(t.TempDir(), "cairn")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := t.TempDir()
	for round := 0; round < 2; round++ {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--listen-addr", addr, "--data-dir", dataDir, "--log-level", "info")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		logs := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				logs <- sc.Text()
			}
			close(logs)
		}()
		// Wait for the startup line.
		started := false
		for line := range logs {
			if strings.Contains(line, "cairn started") {
				if !strings.Contains(line, addr) || !strings.Contains(line, dataDir) {
					t.Errorf("startup line lacks address or data dir: %s", line)
				}
				started = true
				break
			}
		}
		if !started {
			cmd.Process.Kill()
			t.Fatal("cairn exited before starting")
		}
		go func() {
			for range logs {
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/?directConnection=true"))
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Ping(ctx, nil); err != nil {
			t.Fatalf("ping: %v", err)
		}
		coll := client.Database("bin").Collection("c")
		if round == 0 {
			if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "x", Value: "kept"}}); err != nil {
				t.Fatalf("insert: %v", err)
			}
		} else {
			var got bson.D
			if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: 1}}).Decode(&got); err != nil {
				t.Fatalf("find after restart: %v", err)
			}
		}
		_ = client.Disconnect(ctx)
		cancel()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("cairn exit: %v", err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDebugMux: the profile index, a named profile and the storage
// engine's metrics answer on the debug mux; other paths do not; metrics
// of a closed engine are a 503.
func TestDebugMux(t *testing.T) {
	eng, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(debugMux(eng.Metrics))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/heap?debug=1": 200, "/debug/pebble": 200, "/metrics": 404} {
		if code, _ := get(path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	// Pebble's table: one row per level, then flush and compaction counts.
	if _, body := get("/debug/pebble"); !strings.Contains(body, "level | tables") || !strings.Contains(body, "Compactions:") {
		t.Errorf("GET /debug/pebble: no LSM table in\n%s", body)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/debug/pebble"); code != http.StatusServiceUnavailable || !strings.Contains(body, "closed") {
		t.Errorf("GET /debug/pebble after Close: %d %q, want 503 and the closed error", code, body)
	}
}

// TestMemoryLimit checks the soft memory limit that bounds the raised GC
// target: 384 MiB and the row cache, plus the block cache and two memtables
// when Pebble keeps them on the Go heap.
func TestMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		cache, rows, memtable int64
		offHeap               bool
		want                  int64
	}{
		{256 << 20, 0, 32 << 20, true, 384 << 20},
		{256 << 20, 16 << 20, 32 << 20, true, (384 + 16) << 20},
		{256 << 20, 0, 32 << 20, false, (256 + 64 + 384) << 20},
		{1 << 30, 16 << 20, 64 << 20, false, (1024 + 16 + 128 + 384) << 20},
	} {
		if got := memoryLimit(config{CacheSize: tt.cache, RowCacheSize: tt.rows, MemTableSize: tt.memtable}, tt.offHeap); got != tt.want {
			t.Errorf("memoryLimit(cache %d, memtable %d, off heap %v) = %d, want %d", tt.cache, tt.memtable, tt.offHeap, got, tt.want)
		}
	}
}

// TestMallocArenasCapped: with cgo on glibc (Debian, where CI runs) the
// C allocator is capped at one arena when the program loads, unless
// MALLOC_ARENA_MAX says otherwise; without cgo there is nothing to cap.
func TestMallocArenasCapped(t *testing.T) {
	if !pebbleOffHeap {
		if mallocArenasCapped() {
			t.Error("mallocArenasCapped reported a cap without cgo")
		}
		return
	}
	if runtime.GOOS != "linux" {
		t.Skipf("glibc's mallopt(M_ARENA_MAX) is checked on linux only, not %s", runtime.GOOS)
	}
	if musl, _ := filepath.Glob("/lib/ld-musl-*"); len(musl) > 0 {
		t.Skip("musl's malloc has no arenas to cap")
	}
	if os.Getenv("MALLOC_ARENA_MAX") != "" {
		t.Skip("MALLOC_ARENA_MAX is set: the program leaves the allocator to it")
	}
	if !mallocArenasCapped() {
		t.Error("the C allocator's arenas were not capped at load")
	}
}
