package commands

import (
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestBuildInfoVersionArray(t *testing.T) {
	tests := []struct {
		version string
		want    [4]int32
	}{
		{"7.0.0", [4]int32{7, 0, 0, 0}},
		{"7.0.12", [4]int32{7, 0, 12, 0}},
		{"8.1.0-rc1", [4]int32{8, 1, 0, 0}},
	}
	for _, tt := range tests {
		env := hsTestEnv()
		env.Info.Version = tt.version
		out, err := hsRun(t, env, nil, bson.D{{Key: "buildinfo", Value: 1}})
		if err != nil {
			t.Fatal(err)
		}
		arr, _ := hsGet(out, "versionArray").(bson.A)
		if len(arr) != 4 {
			t.Fatalf("%s: versionArray %v", tt.version, arr)
		}
		for i := range arr {
			if arr[i] != tt.want[i] {
				t.Errorf("%s: versionArray %v, want %v", tt.version, arr, tt.want)
			}
		}
		if hsGet(out, "version") != tt.version || hsGet(out, "bits") != int32(64) {
			t.Errorf("buildInfo %v", out)
		}
		engines, _ := hsGet(out, "storageEngines").(bson.A)
		if len(engines) != 1 || engines[0] != "pebble" {
			t.Errorf("storageEngines %v", engines)
		}
	}
}

func TestGetParameter(t *testing.T) {
	env := hsTestEnv()
	out, err := hsRun(t, env, nil, bson.D{{Key: "getParameter", Value: 1}, {Key: "featureCompatibilityVersion", Value: 1}, {Key: "noSuch", Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	fcv, _ := hsGet(out, "featureCompatibilityVersion").(bson.D)
	if hsGet(fcv, "version") != "7.0" || len(out) != 1 {
		t.Errorf("getParameter fcv: %v", out)
	}
	out, err = hsRun(t, env, nil, bson.D{{Key: "getParameter", Value: "*"}})
	if err != nil {
		t.Fatal(err)
	}
	if hsGet(out, "requireApiVersion") != false || hsGet(out, "authenticationMechanisms") == nil {
		t.Errorf("getParameter *: %v", out)
	}
	out, err = hsRun(t, env, nil, bson.D{{Key: "getParameter", Value: bson.D{{Key: "showDetails", Value: true}}}, {Key: "requireApiVersion", Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := hsGet(out, "requireApiVersion").(bson.D)
	if hsGet(d, "value") != false {
		t.Errorf("showDetails: %v", out)
	}
	_, err = hsRun(t, env, nil, bson.D{{Key: "getParameter", Value: 1}, {Key: "noSuch", Value: 1}})
	if !mongoerr.Is(err, mongoerr.InvalidOptions) {
		t.Errorf("unknown parameter: %v", err)
	}
}

func TestServerStatus(t *testing.T) {
	env := hsTestEnv()
	env.Info.StartTime = time.Now().Add(-90 * time.Second)
	env.Info.Stats = func() bson.D {
		return bson.D{
			{Key: "opcounters", Value: bson.D{{Key: "insert", Value: int64(5)}}},
			{Key: "connections", Value: bson.D{{Key: "current", Value: int32(3)}}},
			{Key: "extraSection", Value: int32(1)},
		}
	}
	out, err := hsRun(t, env, nil, bson.D{{Key: "serverStatus", Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if hsGet(out, "host") != "testhost" || hsGet(out, "process") != "cairn" || hsGet(out, "version") != "7.0.0" {
		t.Errorf("serverStatus identity: %v", out)
	}
	if up, _ := hsGet(out, "uptimeMillis").(int64); up < 90_000 {
		t.Errorf("uptimeMillis = %v", hsGet(out, "uptimeMillis"))
	}
	ops, _ := hsGet(out, "opcounters").(bson.D)
	conns, _ := hsGet(out, "connections").(bson.D)
	if hsGet(ops, "insert") != int64(5) || hsGet(conns, "current") != int32(3) || hsGet(out, "extraSection") != int32(1) {
		t.Errorf("serverStatus counters: %v", out)
	}
	if _, ok := hsGet(out, "network").(bson.D); !ok {
		t.Errorf("network section missing")
	}
	se, _ := hsGet(out, "storageEngine").(bson.D)
	if hsGet(se, "name") != "pebble" {
		t.Errorf("storageEngine %v", se)
	}
}

func TestSmallAdminCommands(t *testing.T) {
	env := hsTestEnv()
	env.Info.Argv = []string{"cairn", "--data-dir", "/d"}
	env.Info.Parsed = bson.D{{Key: "storage", Value: bson.D{{Key: "dbPath", Value: "/d"}}}}
	env.Info.StartupWarnings = []string{"warn1"}
	conn := &Conn{ID: 3, RemoteAddr: "127.0.0.1:5555"}

	out, err := hsRun(t, env, conn, bson.D{{Key: "whatsmyuri", Value: 1}})
	if err != nil || hsGet(out, "you") != "127.0.0.1:5555" {
		t.Errorf("whatsmyuri: %v %v", out, err)
	}
	out, err = hsRun(t, env, conn, bson.D{{Key: "getCmdLineOpts", Value: 1}})
	if argv, _ := hsGet(out, "argv").(bson.A); err != nil || len(argv) != 3 || argv[2] != "/d" {
		t.Errorf("getCmdLineOpts: %v %v", out, err)
	}
	out, err = hsRun(t, env, conn, bson.D{{Key: "connectionStatus", Value: 1}, {Key: "showPrivileges", Value: true}})
	auth, _ := hsGet(out, "authInfo").(bson.D)
	if users, ok := hsGet(auth, "authenticatedUsers").(bson.A); err != nil || !ok || len(users) != 0 || hsGet(auth, "authenticatedUserPrivileges") == nil {
		t.Errorf("connectionStatus: %v %v", out, err)
	}
	out, err = hsRun(t, env, conn, bson.D{{Key: "getLog", Value: "startupWarnings"}})
	if lines, _ := hsGet(out, "log").(bson.A); err != nil || len(lines) != 1 || lines[0] != "warn1" {
		t.Errorf("getLog: %v %v", out, err)
	}
	out, err = hsRun(t, env, conn, bson.D{{Key: "getLog", Value: "*"}})
	if names, _ := hsGet(out, "names").(bson.A); err != nil || len(names) != 2 {
		t.Errorf("getLog *: %v %v", out, err)
	}
	if _, err := hsRun(t, env, conn, bson.D{{Key: "getLog", Value: "nope"}}); err == nil {
		t.Error("getLog nope accepted")
	}
	if _, err := hsRun(t, env, conn, bson.D{{Key: "getLog", Value: 1}}); !mongoerr.Is(err, mongoerr.TypeMismatch) {
		t.Errorf("getLog 1: %v", err)
	}
	out, err = hsRun(t, env, conn, bson.D{{Key: "hostInfo", Value: 1}})
	sys, _ := hsGet(out, "system").(bson.D)
	if err != nil || hsGet(sys, "hostname") != "testhost" {
		t.Errorf("hostInfo: %v %v", out, err)
	}
	out, err = hsRun(t, env, conn, bson.D{{Key: "startSession", Value: 1}})
	id, _ := hsGet(out, "id").(bson.D)
	if b, ok := hsGet(id, "id").(bson.Binary); err != nil || !ok || b.Subtype != 4 || len(b.Data) != 16 {
		t.Errorf("startSession: %v %v", out, err)
	}
	for _, name := range []string{"endSessions", "refreshSessions", "killSessions", "killAllSessions", "killAllSessionsByPattern"} {
		if _, err := hsRun(t, env, conn, bson.D{{Key: name, Value: bson.A{}}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestListCommands(t *testing.T) {
	env := hsTestEnv()
	if _, ok := Lookup("zzHiddenTestOnly"); !ok {
		Register(&Command{Name: "zzHiddenTestOnly", TestOnly: true, Handler: okCmd})
	}
	out, err := hsRun(t, env, nil, bson.D{{Key: "listCommands", Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cmds, _ := hsGet(out, "commands").(bson.D)
	hello, _ := hsGet(cmds, "hello").(bson.D)
	if hsGet(hello, "help") == nil || hsGet(hello, "adminOnly") != false {
		t.Errorf("hello entry %v", hello)
	}
	gp, _ := hsGet(cmds, "getParameter").(bson.D)
	if hsGet(gp, "adminOnly") != true {
		t.Errorf("getParameter entry %v", gp)
	}
	if hsGet(cmds, "zzHiddenTestOnly") != nil || hsGet(cmds, "ismaster") != nil {
		t.Errorf("test-only command or alias listed")
	}
	env.Info.EnableTestCommands = true
	out, _ = hsRun(t, env, nil, bson.D{{Key: "listCommands", Value: 1}})
	cmds, _ = hsGet(out, "commands").(bson.D)
	if hsGet(cmds, "zzHiddenTestOnly") == nil {
		t.Errorf("test-only command not listed with test commands enabled")
	}
}
