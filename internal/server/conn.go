package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"github.com/cairndb/cairn/internal/mongoerr"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/wire"
)

// maxKeptWriteBuf is the largest reply buffer a connection keeps for
// reuse; a larger one is dropped after its write.
const maxKeptWriteBuf = 1 << 20

// conn is one client connection.
type conn struct {
	s    *Server
	nc   net.Conn
	br   *bufio.Reader
	info *commands.Conn
	log  *slog.Logger
	// wbuf is reused for each OP_MSG reply (it holds the last one until
	// the next request); see maxKeptWriteBuf.
	wbuf []byte

	// mu guards busy; the read deadline is only changed while holding it
	// so that Shutdown can interrupt idle connections without cutting a
	// request in half.
	mu   sync.Mutex
	busy bool

	nextReqID int32

	// failClose is set when a fail point asks to drop the connection.
	failClose bool
}

func (s *Server) newConn(nc net.Conn) *conn {
	id := s.nextConnID.Add(1)
	info := &commands.Conn{ID: id, RemoteAddr: nc.RemoteAddr().String(), LocalAddr: nc.LocalAddr().String()}
	return &conn{
		s:    s,
		nc:   nc,
		br:   bufio.NewReaderSize(nc, 64*1024),
		info: info,
		log:  s.log.With("conn", id, "remote", info.RemoteAddr),
	}
}

// interruptIfIdle makes a connection that is waiting for a request stop
// waiting. A connection in the middle of a request is left alone; it
// notices the shutdown when it has replied.
func (c *conn) interruptIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.busy {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// begin marks the connection busy; it reports false if the server is
// shutting down and the request should be dropped.
func (c *conn) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.closing.Load() {
		return false
	}
	c.busy = true
	c.s.stats.active.Add(1)
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
	return true
}

// end marks the connection idle; it reports false if the server is
// shutting down.
func (c *conn) end() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy {
		c.busy = false
		c.s.stats.active.Add(-1)
	}
	if c.s.closing.Load() {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	return true
}

func (c *conn) serve() {
	c.log.Debug("connection accepted")
	defer func() {
		c.mu.Lock()
		if c.busy {
			c.busy = false
			c.s.stats.active.Add(-1)
		}
		c.mu.Unlock()
		c.nc.Close()
		c.log.Debug("connection closed")
	}()
	if !c.end() {
		return
	}
	var hb [wire.HeaderLen]byte
	for {
		if _, err := io.ReadFull(c.br, hb[:]); err != nil {
			c.logReadErr(err)
			return
		}
		if !c.begin() {
			return
		}
		h, err := wire.ParseHeader(hb[:])
		if err != nil {
			c.log.Info("closing connection: bad message header", "err", err)
			return
		}
		body, err := wire.ReadBody(c.br, h)
		if err != nil {
			c.log.Info("closing connection: reading message", "err", err)
			return
		}
		c.s.stats.bytesIn.Add(int64(h.Length))
		c.s.stats.requests.Add(1)
		var reply []byte
		keep := true
		msg, err := wire.Decode(h, body)
		switch {
		case err != nil && errors.Is(err, wire.ErrInvalidBSON) && h.OpCode == wire.OpMsg:
			// The frame is sound but a document in it is not valid BSON:
			// answer with a coded error and keep the connection.
			reply = c.invalidBSONReply(h, body, err)
			msg = &wire.Message{Header: h, Compressor: wire.CompressorNone}
		case err != nil:
			c.log.Info("closing connection: malformed message", "err", err, "opCode", h.OpCode.String())
			return
		default:
			reply, keep = c.handle(msg)
		}
		if !keep {
			return
		}
		if reply != nil {
			if msg.Compressor != wire.CompressorNone {
				compressed, err := wire.Compress(reply, msg.Compressor)
				if err != nil {
					c.log.Error("compressing reply", "err", err)
					return
				}
				reply = compressed
			}
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
			if _, err := c.nc.Write(reply); err != nil {
				c.log.Debug("closing connection: write failed", "err", err)
				return
			}
			c.s.stats.bytesOut.Add(int64(len(reply)))
		}
		if cap(c.wbuf) > maxKeptWriteBuf {
			c.wbuf = nil // do not pin one huge reply's buffer for the connection's life
		}
		if !c.end() {
			return
		}
	}
}

func (c *conn) logReadErr(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return
	case c.s.closing.Load():
		return
	}
	c.log.Debug("connection read ended", "err", err)
}

func (c *conn) replyID() int32 {
	c.nextReqID++
	return c.nextReqID
}

// invalidBSONReply is the reply to a well-framed OP_MSG whose BSON does not
// validate (nil when the request asked for no reply).
func (c *conn) invalidBSONReply(h wire.Header, body []byte, err error) []byte {
	if len(body) >= 4 && wire.MsgFlags(binary.LittleEndian.Uint32(body))&wire.MoreToCome != 0 {
		return nil
	}
	raw, merr := marshalReply(errorReply(mongoerr.Newf(mongoerr.InvalidBSON, "invalid BSON in OP_MSG: %v", err)))
	if merr != nil {
		return nil
	}
	return wire.AppendMsg(nil, c.replyID(), h.RequestID, 0, raw)
}

// handle processes one decoded message. It returns the reply frame (nil
// for none) and whether the connection should stay open.
func (c *conn) handle(msg *wire.Message) ([]byte, bool) {
	ctx := c.s.baseCtx
	switch msg.Header.OpCode {
	case wire.OpMsg:
		return c.handleMsg(ctx, msg)
	case wire.OpQuery:
		return c.handleQuery(ctx, msg)
	default:
		c.log.Info("closing connection: unsupported op code", "opCode", msg.Header.OpCode.String())
		return nil, false
	}
}
