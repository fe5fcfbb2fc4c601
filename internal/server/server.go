package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/wire"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Defaults for Config fields left zero.
const (
	DefaultMaxConns      = 1000
	DefaultReadTimeout   = 60 * time.Second
	DefaultWriteTimeout  = 60 * time.Second
	DefaultCursorTimeout = 10 * time.Minute
)

// Config configures a Server.
type Config struct {
	// ListenAddr is used by ListenAndServe (default "127.0.0.1:27017").
	ListenAddr string
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
	// Env is handed to every command. The caller sets Catalog; the server
	// fills in Cursors, Info and Logger when they are nil, and always sets
	// Info.Stats, Info.ShuttingDown and (if zero) Info.ProcessID,
	// Info.Compressors, Info.Version, Info.MaxWireVersion, Info.StartTime
	// and Info.Host.
	Env *commands.Env
	// MaxConns is the maximum number of concurrent client connections
	// (default 1000).
	MaxConns int
	// EnableTestCommands enables test-only commands.
	EnableTestCommands bool
	// ReadTimeout bounds the time to receive the rest of a message once
	// its header has arrived (default 60 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one reply (default 60 s).
	WriteTimeout time.Duration
	// CursorTimeout is the idle timeout of server-side cursors (default
	// 10 minutes). Negative disables the reaper.
	CursorTimeout time.Duration
}

// Server serves the MongoDB wire protocol.
type Server struct {
	cfg     Config
	env     *commands.Env
	log     *slog.Logger
	cursors *CursorStore
	stats   stats

	baseCtx    context.Context
	cancelBase context.CancelFunc

	closing  atomic.Bool
	shutdown chan struct{}

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	connWG    sync.WaitGroup
	addr      net.Addr
	addrReady chan struct{}
	addrOnce  sync.Once

	nextConnID atomic.Int64
}

// New builds a Server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.CursorTimeout == 0 {
		cfg.CursorTimeout = DefaultCursorTimeout
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = "127.0.0.1:27017"
	}
	env := cfg.Env
	if env == nil {
		env = &commands.Env{}
	}
	if env.Logger == nil {
		env.Logger = cfg.Logger
	}
	s := &Server{
		cfg:       cfg,
		env:       env,
		log:       cfg.Logger,
		shutdown:  make(chan struct{}),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		addrReady: make(chan struct{}),
	}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	if env.Cursors == nil {
		s.cursors = NewCursorStore(cfg.CursorTimeout)
		env.Cursors = s.cursors
	}
	if env.Info == nil {
		env.Info = &commands.ServerInfo{}
	}
	info := env.Info
	if info.Version == "" {
		info.Version = "7.0.0"
	}
	if info.MaxWireVersion == 0 {
		info.MaxWireVersion = 21
	}
	if info.StartTime.IsZero() {
		info.StartTime = time.Now()
	}
	if info.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		info.Host = h
	}
	if info.ListenAddr == "" {
		info.ListenAddr = cfg.ListenAddr
	}
	if info.ProcessID.IsZero() {
		info.ProcessID = bson.NewObjectID()
	}
	if info.Compressors == nil {
		info.Compressors = append([]string(nil), wire.SupportedCompressors...)
	}
	info.EnableTestCommands = info.EnableTestCommands || cfg.EnableTestCommands
	if env.Sessions == nil {
		env.Sessions = &commands.Sessions{}
	}
	if info.EnableTestCommands && env.FailPoints == nil {
		env.FailPoints = &commands.FailPoints{}
	}
	info.Stats = s.statsDoc
	info.ShuttingDown = s.shutdown
	return s, nil
}

// Env returns the command environment the server uses.
func (s *Server) Env() *commands.Env { return s.env }

// ListenAndServe listens on Config.ListenAddr and serves.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.cfg.ListenAddr, err)
	}
	return s.Serve(ln)
}

// Addr returns the address of the first listener Serve was given, or nil
// before Serve has been called.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Ready is closed once Serve has registered its first listener, after
// which Addr is non-nil.
func (s *Server) Ready() <-chan struct{} { return s.addrReady }

// Serve accepts connections on ln until Shutdown. It returns
// ErrServerClosed after Shutdown and other accept errors otherwise. ln is
// closed when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if s.addr == nil {
		s.addr = ln.Addr()
	}
	s.mu.Unlock()
	s.addrOnce.Do(func() { close(s.addrReady) })
	if s.cursors != nil {
		s.cursors.StartReaper()
	}
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept error; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("server: accept: %w", err)
		}
		backoff = 0
		s.accept(nc)
	}
}

func (s *Server) accept(nc net.Conn) {
	s.stats.totalCreated.Add(1)
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if len(s.conns) >= s.cfg.MaxConns {
		n := len(s.conns)
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		s.log.Warn("connection refused because too many open connections",
			"remote", nc.RemoteAddr().String(), "open", n, "maxConns", s.cfg.MaxConns)
		nc.Close()
		return
	}
	c := s.newConn(nc)
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	s.stats.current.Add(1)
	go func() {
		defer s.connWG.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			s.stats.current.Add(-1)
		}()
		c.serve()
	}()
}

// Shutdown stops accepting connections, lets requests in flight finish,
// closes idle connections and waits for all connections to end. If ctx
// expires first, the remaining connections are closed forcibly, command
// contexts are cancelled and ctx.Err() is returned. Open cursors are
// killed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.Swap(true) {
		close(s.shutdown)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.interruptIfIdle()
	}
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancelBase()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.cancelBase()
	if s.cursors != nil {
		s.cursors.Close()
	}
	return err
}
