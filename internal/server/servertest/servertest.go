package servertest

import (
	"context"
	"errors"
	"fmt"
	"github.com/cairndb/cairn/internal/storage"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Option customizes Start.
type Option func(*settings)

type settings struct {
	cfg    server.Config
	fs     vfs.FS
	client []func(*options.ClientOptions)
	uri    string
}

// WithTestCommands enables test-only commands.
func WithTestCommands() Option {
	return func(s *settings) { s.cfg.EnableTestCommands = true }
}

// WithLogger sets the server's logger (the default discards logs).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.cfg.Logger = l } }

// WithConfig lets a test adjust any server.Config field. Env is built by
// Start; setting it here replaces the whole environment.
func WithConfig(f func(*server.Config)) Option { return func(s *settings) { f(&s.cfg) } }

// WithFS runs the engine on fs (for example one shared across restarts)
// instead of a fresh vfs.NewMem().
func WithFS(fs vfs.FS) Option { return func(s *settings) { s.fs = fs } }

// WithClientOptions adjusts the driver options Client uses.
func WithClientOptions(f func(*options.ClientOptions)) Option {
	return func(s *settings) { s.client = append(s.client, f) }
}

// Start starts a server on 127.0.0.1:0 over an in-memory Pebble engine and
// returns a connection string for it (directConnection=true) and the
// server. Everything is shut down and closed when the test ends.
func Start(t testing.TB, opts ...Option) (uri string, srv *server.Server) {
	t.Helper()
	srv, st := start(t, opts)
	return st.uri, srv
}

func start(t testing.TB, opts []Option) (*server.Server, *settings) {
	t.Helper()
	st := &settings{}
	for _, o := range opts {
		o(st)
	}
	if st.cfg.Logger == nil {
		st.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if st.fs == nil {
		st.fs = vfs.NewMem()
	}
	eng, err := pebble.Open("cairn-test", &pebble.Options{FS: st.fs, Logger: st.cfg.Logger})
	if err != nil {
		t.Fatalf("servertest: open engine: %v", err)
	}
	cat, err := catalog.Open(eng, st.cfg.Logger)
	if err != nil {
		eng.Close()
		t.Fatalf("servertest: open catalog: %v", err)
	}
	if st.cfg.Env == nil {
		st.cfg.Env = &commands.Env{}
	}
	st.cfg.Env.Catalog = cat
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cat.Close()
		eng.Close()
		t.Fatalf("servertest: listen: %v", err)
	}
	st.cfg.ListenAddr = ln.Addr().String()
	st.uri = fmt.Sprintf("mongodb://%s/?directConnection=true", ln.Addr().String())
	srv, err := server.New(st.cfg)
	if err != nil {
		ln.Close()
		cat.Close()
		eng.Close()
		t.Fatalf("servertest: new server: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-srv.Ready():
	case err := <-served:
		t.Fatalf("servertest: serve: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("servertest: shutdown: %v", err)
		}
		<-served
		if err := cat.Close(); err != nil {
			t.Errorf("servertest: close catalog: %v", err)
		}
		// An engine that failed (an injected disk fault) reports it again
		// on Close; that is expected, not a test failure.
		if err := eng.Close(); err != nil && !errors.Is(err, storage.ErrFailed) {
			t.Errorf("servertest: close engine: %v", err)
		}
	})
	return srv, st
}

// Client starts a server like Start and returns a driver client connected
// to it; the client is disconnected before the server shuts down.
func Client(t testing.TB, opts ...Option) (*mongo.Client, *server.Server) {
	t.Helper()
	srv, st := start(t, opts)
	co := options.Client().ApplyURI(st.uri).SetTimeout(60 * time.Second)
	for _, f := range st.client {
		f(co)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		t.Fatalf("servertest: connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	return client, srv
}
