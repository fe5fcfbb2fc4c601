package server_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/commands"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/server/servertest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

var testMoreToComeCalls atomic.Int64

func init() {
	commands.Register(&commands.Command{Name: "cairnTestPanic", TestOnly: true, Help: "panics (server tests)",
		Handler: func(context.Context, *commands.Env, *commands.Request) (bson.D, error) {
			panic("boom")
		}})
	commands.Register(&commands.Command{Name: "cairnTestError", TestOnly: true, Help: "fails with labels (server tests)",
		Handler: func(context.Context, *commands.Env, *commands.Request) (bson.D, error) {
			e := mongoerr.New(mongoerr.DuplicateKey, "dup").WithLabels("TestLabel")
			e.Extra = []mongoerr.ExtraField{{Key: "keyValue", Value: bson.D{{Key: "a", Value: int32(1)}}}}
			return nil, e
		}})
	commands.Register(&commands.Command{Name: "cairnTestCount", TestOnly: true, Help: "counts calls (server tests)",
		Handler: func(context.Context, *commands.Env, *commands.Request) (bson.D, error) {
			testMoreToComeCalls.Add(1)
			return bson.D{{Key: "n", Value: testMoreToComeCalls.Load()}}, nil
		}})
	commands.Register(&commands.Command{Name: "cairnTestSleep", TestOnly: true, Help: "waits for ctx (server tests)",
		Handler: func(ctx context.Context, _ *commands.Env, _ *commands.Request) (bson.D, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}})
	commands.Register(&commands.Command{Name: "cairnTestEcho", TestOnly: true, Help: "echoes its body (server tests)",
		Handler: func(_ context.Context, _ *commands.Env, req *commands.Request) (bson.D, error) {
			return bson.D{{Key: "db", Value: req.DB}, {Key: "body", Value: req.Body}}, nil
		}})
}

func runCmd(t *testing.T, c *mongo.Client, db string, cmd bson.D) (bson.D, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bson.D
	err := c.Database(db).RunCommand(ctx, cmd).Decode(&out)
	return out, err
}

func get(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

func TestPing(t *testing.T) {
	c, _ := servertest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatalf("ping: %v", err)
	}
	out, err := runCmd(t, c, "admin", bson.D{{Key: "ping", Value: 1}})
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	if ok, _ := get(out, "ok").(float64); ok != 1 {
		t.Fatalf("ping reply %v: want ok: 1.0 (double)", out)
	}
}

func TestHelloFields(t *testing.T) {
	c, _ := servertest.Client(t)
	for _, name := range []string{"hello", "isMaster", "ismaster"} {
		t.Run(name, func(t *testing.T) {
			out, err := runCmd(t, c, "admin", bson.D{{Key: name, Value: 1}, {Key: "helloOk", Value: true}})
			if err != nil {
				t.Fatal(err)
			}
			primaryField := "isWritablePrimary"
			if name != "hello" {
				primaryField = "ismaster"
			}
			want := map[string]any{
				primaryField:                   true,
				"helloOk":                      true,
				"maxBsonObjectSize":            int32(16777216),
				"maxMessageSizeBytes":          int32(48000000),
				"maxWriteBatchSize":            int32(100000),
				"logicalSessionTimeoutMinutes": int32(30),
				"minWireVersion":               int32(0),
				"maxWireVersion":               int32(21),
				"readOnly":                     false,
				"ok":                           1.0,
			}
			for k, v := range want {
				if got := get(out, k); got != v {
					t.Errorf("%s = %#v, want %#v (reply %v)", k, got, v, out)
				}
			}
			if _, ok := get(out, "localTime").(bson.DateTime); !ok {
				t.Errorf("localTime missing: %v", out)
			}
			if _, ok := get(out, "connectionId").(int32); !ok {
				t.Errorf("connectionId missing: %v", out)
			}
			if get(out, "topologyVersion") != nil {
				t.Errorf("topologyVersion should be absent (polling protocol): %v", out)
			}
			if get(out, "saslSupportedMechs") != nil {
				t.Errorf("saslSupportedMechs should be absent: %v", out)
			}
		})
	}
}

func TestBuildInfo(t *testing.T) {
	c, _ := servertest.Client(t)
	for _, name := range []string{"buildInfo", "buildinfo"} {
		out, err := runCmd(t, c, "test", bson.D{{Key: name, Value: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if v := get(out, "version"); v != "7.0.0" {
			t.Errorf("%s version = %v", name, v)
		}
		arr, _ := get(out, "versionArray").(bson.A)
		if len(arr) != 4 || arr[0] != int32(7) || arr[1] != int32(0) {
			t.Errorf("%s versionArray = %v", name, arr)
		}
		if get(out, "bits") != int32(64) || get(out, "maxBsonObjectSize") != int32(16777216) {
			t.Errorf("%s reply %v", name, out)
		}
	}
}

func wantCode(t *testing.T, err error, code int32, name string) {
	t.Helper()
	var ce mongo.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a CommandError", err, err)
	}
	if ce.Code != code || ce.Name != name {
		t.Fatalf("error code %d %s, want %d %s (%v)", ce.Code, ce.Name, code, name, err)
	}
}

func TestUnknownCommand(t *testing.T) {
	c, _ := servertest.Client(t)
	_, err := runCmd(t, c, "test", bson.D{{Key: "noSuchThing", Value: 1}})
	wantCode(t, err, 59, "CommandNotFound")
	if ce := (mongo.CommandError{}); errors.As(err, &ce) && ce.Message != "no such command: 'noSuchThing'" {
		t.Errorf("message %q", ce.Message)
	}
	// Test-only commands are hidden without EnableTestCommands.
	_, err = runCmd(t, c, "test", bson.D{{Key: "cairnTestEcho", Value: 1}})
	wantCode(t, err, 59, "CommandNotFound")
	// The connection (pool) still works.
	if _, err := runCmd(t, c, "test", bson.D{{Key: "ping", Value: 1}}); err != nil {
		t.Fatalf("ping after error: %v", err)
	}
}

func TestErrorReplyShape(t *testing.T) {
	c, _ := servertest.Client(t, servertest.WithTestCommands())
	_, err := runCmd(t, c, "test", bson.D{{Key: "cairnTestError", Value: 1}})
	wantCode(t, err, 11000, "DuplicateKey")
	var ce mongo.CommandError
	errors.As(err, &ce)
	if !ce.HasErrorLabel("TestLabel") {
		t.Errorf("labels %v", ce.Labels)
	}
	if v, lerr := ce.Raw.LookupErr("keyValue", "a"); lerr != nil || v.Int32() != 1 {
		t.Errorf("keyValue missing from %v", ce.Raw)
	}
}

func TestAdminOnly(t *testing.T) {
	c, _ := servertest.Client(t)
	_, err := runCmd(t, c, "test", bson.D{{Key: "getParameter", Value: 1}, {Key: "featureCompatibilityVersion", Value: 1}})
	wantCode(t, err, 13, "Unauthorized")
}

func TestPanicBecomesInternalError(t *testing.T) {
	c, _ := servertest.Client(t, servertest.WithTestCommands())
	_, err := runCmd(t, c, "test", bson.D{{Key: "cairnTestPanic", Value: 1}})
	wantCode(t, err, 1, "InternalError")
	if _, err := runCmd(t, c, "test", bson.D{{Key: "ping", Value: 1}}); err != nil {
		t.Fatalf("ping after panic: %v", err)
	}
}

func TestSequencesAndDB(t *testing.T) {
	c, _ := servertest.Client(t, servertest.WithTestCommands())
	out, err := runCmd(t, c, "mydb", bson.D{{Key: "cairnTestEcho", Value: 1}, {Key: "x", Value: "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if get(out, "db") != "mydb" {
		t.Errorf("db = %v", get(out, "db"))
	}
	body, _ := get(out, "body").(bson.D)
	if get(body, "x") != "y" || get(body, "$db") != "mydb" {
		t.Errorf("body = %v", body)
	}
}

func TestMaxTimeMS(t *testing.T) {
	c, _ := servertest.Client(t, servertest.WithTestCommands())
	_, err := runCmd(t, c, "test", bson.D{{Key: "cairnTestSleep", Value: 1}, {Key: "maxTimeMS", Value: int32(20)}})
	wantCode(t, err, 50, "MaxTimeMSExpired")
}

func TestCompression(t *testing.T) {
	for _, comp := range []string{"snappy", "zlib", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			c, srv := servertest.Client(t, servertest.WithTestCommands(), servertest.WithClientOptions(func(o *options.ClientOptions) {
				o.SetCompressors([]string{comp})
			}))
			// A large, compressible command round trip.
			big := make([]byte, 0, 1<<20)
			for len(big) < 1<<20 {
				big = append(big, "cairn compresses well "...)
			}
			out, err := runCmd(t, c, "test", bson.D{{Key: "cairnTestEcho", Value: 1}, {Key: "big", Value: string(big)}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := get(out, "body").(bson.D)
			if s, _ := get(body, "big").(string); s != string(big) {
				t.Fatalf("echo mismatch: got %d bytes", len(s))
			}
			// The request went over the wire compressed.
			net, _ := get(srv.Stats(), "network").(bson.D)
			if in, _ := get(net, "bytesIn").(int64); in >= int64(len(big)) {
				t.Errorf("bytesIn = %d: request was not compressed", in)
			}
			hello, err := runCmd(t, c, "admin", bson.D{{Key: "hello", Value: 1}, {Key: "compression", Value: bson.A{"lz4", comp, "noop"}}})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := get(hello, "compression").(bson.A)
			if len(got) != 1 || got[0] != comp {
				t.Errorf("negotiated %v, want [%s]", got, comp)
			}
		})
	}
}

func TestServerStatusCounters(t *testing.T) {
	c, _ := servertest.Client(t)
	for i := 0; i < 3; i++ {
		if _, err := runCmd(t, c, "admin", bson.D{{Key: "ping", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCmd(t, c, "admin", bson.D{{Key: "serverStatus", Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if get(out, "process") != "cairn" || get(out, "version") != "7.0.0" {
		t.Errorf("serverStatus %v", out)
	}
	conns, _ := get(out, "connections").(bson.D)
	if cur, _ := get(conns, "current").(int32); cur < 1 {
		t.Errorf("connections.current = %v", get(conns, "current"))
	}
	ops, _ := get(out, "opcounters").(bson.D)
	if cmd, _ := get(ops, "command").(int64); cmd < 4 {
		t.Errorf("opcounters.command = %v, want >= 4", get(ops, "command"))
	}
	se, _ := get(out, "storageEngine").(bson.D)
	if get(se, "name") != "pebble" {
		t.Errorf("storageEngine = %v", se)
	}
}
