package commands

import (
	"context"
	"testing"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func hsTestEnv() *Env {
	return &Env{Info: &ServerInfo{
		Version:        "7.0.0",
		MaxWireVersion: 21,
		ProcessID:      bson.NewObjectID(),
		Compressors:    []string{"snappy", "zstd", "zlib"},
		Host:           "testhost",
	}}
}

func hsGet(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

func hsRun(t *testing.T, env *Env, conn *Conn, body bson.D) (bson.D, error) {
	t.Helper()
	c, ok := Lookup(body[0].Key)
	if !ok {
		t.Fatalf("command %s not registered", body[0].Key)
	}
	return c.Handler(context.Background(), env, &Request{DB: "admin", Name: body[0].Key, Body: body, Conn: conn})
}

func TestHelloReply(t *testing.T) {
	env := hsTestEnv()
	tests := []struct {
		name string
		body bson.D
		want map[string]any
		not  []string
	}{
		{"hello", bson.D{{Key: "hello", Value: int32(1)}},
			map[string]any{"isWritablePrimary": true, "maxWireVersion": int32(21), "connectionId": int32(42), "readOnly": false},
			[]string{"ismaster", "helloOk", "compression", "saslSupportedMechs"}},
		{"isMaster helloOk", bson.D{{Key: "isMaster", Value: int32(1)}, {Key: "helloOk", Value: true}},
			map[string]any{"ismaster": true, "helloOk": true, "maxBsonObjectSize": int32(16777216)},
			[]string{"isWritablePrimary"}},
		{"ismaster", bson.D{{Key: "ismaster", Value: 1.0}, {Key: "helloOk", Value: false}},
			map[string]any{"ismaster": true, "maxMessageSizeBytes": int32(48000000), "maxWriteBatchSize": int32(100000)},
			[]string{"helloOk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := hsRun(t, env, &Conn{ID: 42}, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got := hsGet(out, k); got != v {
					t.Errorf("%s = %#v, want %#v", k, got, v)
				}
			}
			for _, k := range tt.not {
				if hsGet(out, k) != nil {
					t.Errorf("%s should be absent: %v", k, out)
				}
			}
			// No topologyVersion: drivers use the polling protocol.
			if tv := hsGet(out, "topologyVersion"); tv != nil {
				t.Errorf("topologyVersion = %v, want none", tv)
			}
			if hsGet(out, "ok") != nil {
				t.Errorf("handlers must not set ok: %v", out)
			}
		})
	}
}

func TestHelloCompressionNegotiation(t *testing.T) {
	env := hsTestEnv()
	tests := []struct {
		offered bson.A
		want    bson.A
	}{
		{bson.A{"zlib", "snappy"}, bson.A{"zlib", "snappy"}},
		{bson.A{"lz4", "zstd", "zstd"}, bson.A{"zstd"}},
		{bson.A{"lz4"}, bson.A{}},
		{bson.A{}, bson.A{}},
	}
	for _, tt := range tests {
		out, err := hsRun(t, env, &Conn{ID: 1}, bson.D{{Key: "hello", Value: 1}, {Key: "compression", Value: tt.offered}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := hsGet(out, "compression").(bson.A)
		if len(got) != len(tt.want) {
			t.Fatalf("offered %v: got %v, want %v", tt.offered, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("offered %v: got %v, want %v", tt.offered, got, tt.want)
			}
		}
	}
	_, err := hsRun(t, env, &Conn{ID: 1}, bson.D{{Key: "hello", Value: 1}, {Key: "compression", Value: "snappy"}})
	if !mongoerr.Is(err, mongoerr.TypeMismatch) {
		t.Fatalf("non-array compression: %v", err)
	}
}

func TestHelloClientMetadataOnce(t *testing.T) {
	env := hsTestEnv()
	conn := &Conn{ID: 1}
	md := bson.D{{Key: "driver", Value: bson.D{{Key: "name", Value: "test"}}}}
	if _, err := hsRun(t, env, conn, bson.D{{Key: "hello", Value: 1}, {Key: "client", Value: md}}); err != nil {
		t.Fatal(err)
	}
	if conn.ClientMetadata == nil {
		t.Fatal("client metadata not recorded")
	}
	_, err := hsRun(t, env, conn, bson.D{{Key: "hello", Value: 1}, {Key: "client", Value: md}})
	if !mongoerr.Is(err, mongoerr.Code(186)) {
		t.Fatalf("second client metadata: %v", err)
	}
	// Without client metadata, later hellos are fine.
	if _, err := hsRun(t, env, conn, bson.D{{Key: "hello", Value: 1}}); err != nil {
		t.Fatal(err)
	}
}

func TestHelloAwaitable(t *testing.T) {
	env := hsTestEnv()
	shutting := make(chan struct{})
	env.Info.ShuttingDown = shutting
	current := bson.D{{Key: "processId", Value: env.Info.ProcessID}, {Key: "counter", Value: int64(0)}}
	stale := bson.D{{Key: "processId", Value: bson.NewObjectID()}, {Key: "counter", Value: int64(0)}}
	hello := func(tv bson.D, maxAwait any) bson.D {
		return bson.D{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: tv}, {Key: "maxAwaitTimeMS", Value: maxAwait}}
	}
	// A stale topologyVersion is answered at once (the test would hang
	// otherwise).
	if _, err := hsRun(t, env, &Conn{ID: 1}, hello(stale, int64(1<<40))); err != nil {
		t.Fatal(err)
	}
	// A current one waits until shutdown begins.
	close(shutting)
	if _, err := hsRun(t, env, &Conn{ID: 1}, hello(current, int64(1<<40))); err != nil {
		t.Fatal(err)
	}
	// ... or until the context ends.
	env.Info.ShuttingDown = nil
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ := Lookup("hello")
	if _, err := c.Handler(ctx, env, &Request{DB: "admin", Name: "hello", Body: hello(current, int64(1<<40))}); err != nil {
		t.Fatal(err)
	}
	// Argument validation.
	for _, body := range []bson.D{
		{{Key: "hello", Value: 1}, {Key: "maxAwaitTimeMS", Value: int64(10)}},
		{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: current}},
		hello(current, int64(-1)),
		hello(current, "x"),
	} {
		if _, err := hsRun(t, env, &Conn{ID: 1}, body); err == nil {
			t.Errorf("%v accepted", body)
		}
	}
}

func TestPingAndAuth(t *testing.T) {
	env := hsTestEnv()
	out, err := hsRun(t, env, nil, bson.D{{Key: "ping", Value: 1}})
	if err != nil || len(out) != 0 {
		t.Fatalf("ping: %v %v", out, err)
	}
	for _, name := range []string{"saslStart", "saslContinue", "authenticate", "getnonce"} {
		_, err := hsRun(t, env, nil, bson.D{{Key: name, Value: 1}})
		if !mongoerr.Is(err, mongoerr.AuthenticationFailed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := hsRun(t, env, nil, bson.D{{Key: "logout", Value: 1}}); err != nil {
		t.Errorf("logout: %v", err)
	}
}
