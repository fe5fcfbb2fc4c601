package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// Compressor is an OP_COMPRESSED compressor id.
type Compressor int8

// Compressor ids. CompressorNone marks an uncompressed message; it is not
// a wire value.
const (
	CompressorNone   Compressor = -1
	CompressorNoop   Compressor = 0
	CompressorSnappy Compressor = 1
	CompressorZlib   Compressor = 2
	CompressorZstd   Compressor = 3
)

// SupportedCompressors are the compressor names Cairn negotiates, in its
// order of preference.
var SupportedCompressors = []string{"snappy", "zstd", "zlib"}

// Name returns the name used in the hello "compression" field.
func (c Compressor) Name() string {
	switch c {
	case CompressorNoop:
		return "noop"
	case CompressorSnappy:
		return "snappy"
	case CompressorZlib:
		return "zlib"
	case CompressorZstd:
		return "zstd"
	case CompressorNone:
		return "none"
	}
	return fmt.Sprintf("compressor(%d)", int8(c))
}

// CompressorByName returns the compressor with the given hello name.
func CompressorByName(name string) (Compressor, bool) {
	switch name {
	case "noop":
		return CompressorNoop, true
	case "snappy":
		return CompressorSnappy, true
	case "zlib":
		return CompressorZlib, true
	case "zstd":
		return CompressorZstd, true
	}
	return CompressorNone, false
}

type innerMessage struct {
	op   OpCode
	body []byte
}

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
	zstdErr  error
)

func zstdCodecs() (*zstd.Encoder, *zstd.Decoder, error) {
	zstdOnce.Do(func() {
		zstdEnc, zstdErr = zstd.NewWriter(nil)
		if zstdErr != nil {
			return
		}
		zstdDec, zstdErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(MaxMessageSize), zstd.WithDecoderMaxWindow(MaxMessageSize))
	})
	return zstdEnc, zstdDec, zstdErr
}

// decompress decodes an OP_COMPRESSED body.
func decompress(body []byte) (innerMessage, Compressor, error) {
	r := &reader{b: body}
	op, err := r.int32("OP_COMPRESSED originalOpcode")
	if err != nil {
		return innerMessage{}, CompressorNone, err
	}
	size, err := r.int32("OP_COMPRESSED uncompressedSize")
	if err != nil {
		return innerMessage{}, CompressorNone, err
	}
	id, err := r.byte("OP_COMPRESSED compressorId")
	if err != nil {
		return innerMessage{}, CompressorNone, err
	}
	c := Compressor(id)
	if size < 0 || int64(size)+HeaderLen > MaxMessageSize {
		return innerMessage{}, c, malformed("OP_COMPRESSED uncompressedSize %d out of range", size)
	}
	if OpCode(op) == OpCompressed {
		return innerMessage{}, c, malformed("OP_COMPRESSED may not wrap another OP_COMPRESSED")
	}
	data := body[r.off:]
	var out []byte
	switch c {
	case CompressorNoop:
		out = data
	case CompressorSnappy:
		n, err := snappy.DecodedLen(data)
		if err != nil {
			return innerMessage{}, c, malformed("snappy: %v", err)
		}
		if n != int(size) {
			return innerMessage{}, c, malformed("snappy decoded length %d, want %d", n, size)
		}
		out, err = snappy.Decode(make([]byte, n), data)
		if err != nil {
			return innerMessage{}, c, malformed("snappy: %v", err)
		}
	case CompressorZlib:
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return innerMessage{}, c, malformed("zlib: %v", err)
		}
		out = make([]byte, 0, int(size))
		buf := bytes.NewBuffer(out)
		if _, err := io.Copy(buf, io.LimitReader(zr, int64(size)+1)); err != nil {
			return innerMessage{}, c, malformed("zlib: %v", err)
		}
		out = buf.Bytes()
	case CompressorZstd:
		_, dec, err := zstdCodecs()
		if err != nil {
			return innerMessage{}, c, fmt.Errorf("wire: zstd: %w", err)
		}
		out, err = dec.DecodeAll(data, make([]byte, 0, int(size)))
		if err != nil {
			return innerMessage{}, c, malformed("zstd: %v", err)
		}
	default:
		return innerMessage{}, c, malformed("unknown compressor id %d", id)
	}
	if len(out) != int(size) {
		return innerMessage{}, c, malformed("decompressed %d bytes, header says %d", len(out), size)
	}
	return innerMessage{op: OpCode(op), body: out}, c, nil
}

// Compress wraps a complete message (header included) in an OP_COMPRESSED
// using compressor c. The result keeps the message's requestID and
// responseTo. CompressorNone returns msg unchanged.
func Compress(msg []byte, c Compressor) ([]byte, error) {
	if c == CompressorNone {
		return msg, nil
	}
	h, err := ParseHeader(msg)
	if err != nil {
		return nil, err
	}
	if int(h.Length) != len(msg) {
		return nil, fmt.Errorf("wire: compress: header length %d, message %d bytes", h.Length, len(msg))
	}
	payload := msg[HeaderLen:]
	out := make([]byte, 0, HeaderLen+9+len(payload)/2+64)
	out = AppendHeader(out, Header{RequestID: h.RequestID, ResponseTo: h.ResponseTo, OpCode: OpCompressed})
	out = binary.LittleEndian.AppendUint32(out, uint32(h.OpCode))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(payload)))
	out = append(out, byte(c))
	switch c {
	case CompressorNoop:
		out = append(out, payload...)
	case CompressorSnappy:
		out = append(out, snappy.Encode(nil, payload)...)
	case CompressorZlib:
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		if _, err := zw.Write(payload); err != nil {
			return nil, fmt.Errorf("wire: zlib: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("wire: zlib: %w", err)
		}
		out = append(out, buf.Bytes()...)
	case CompressorZstd:
		enc, _, err := zstdCodecs()
		if err != nil {
			return nil, fmt.Errorf("wire: zstd: %w", err)
		}
		out = enc.EncodeAll(payload, out)
	default:
		return nil, fmt.Errorf("wire: unknown compressor %d", c)
	}
	if len(out) > MaxMessageSize {
		return nil, fmt.Errorf("wire: compressed message of %d bytes exceeds the maximum", len(out))
	}
	binary.LittleEndian.PutUint32(out[0:], uint32(len(out)))
	return out, nil
}
