package commands

import (
	"context"
	"crypto/rand"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	Register(&Command{Name: "buildInfo", Aliases: []string{"buildinfo"}, Help: "server version and build details", Handler: buildInfoCmd})
	Register(&Command{Name: "getParameter", Help: "read server parameters", AdminOnly: true, Handler: getParameterCmd})
	Register(&Command{Name: "getCmdLineOpts", Help: "the server's command line", AdminOnly: true, Handler: getCmdLineOptsCmd})
	Register(&Command{Name: "serverStatus", Help: "server status and counters", Handler: serverStatusCmd})
	Register(&Command{Name: "hostInfo", Help: "information about the host", Handler: hostInfoCmd})
	Register(&Command{Name: "whatsmyuri", Help: "the client's address as the server sees it", Handler: whatsmyuriCmd})
	Register(&Command{Name: "connectionStatus", Help: "authentication state of the connection", Handler: connectionStatusCmd})
	Register(&Command{Name: "listCommands", Help: "list the commands the server supports", Handler: listCommandsCmd})
	Register(&Command{Name: "startSession", Help: "start a logical session", Handler: startSessionCmd})
	Register(&Command{Name: "endSessions", Help: "end logical sessions", Handler: endSessionsCmd})
	Register(&Command{Name: "refreshSessions", Help: "refresh logical sessions (no-op)", Handler: okCmd})
	Register(&Command{Name: "killSessions", Help: "kill logical sessions (no-op)", Handler: okCmd})
	Register(&Command{Name: "killAllSessions", Help: "kill all sessions and their cursors", Handler: killAllSessionsCmd})
	Register(&Command{Name: "killAllSessionsByPattern", Help: "kill sessions and their cursors", Handler: killAllSessionsCmd})
	Register(&Command{Name: "getLog", Help: "recent log messages", AdminOnly: true, Handler: getLogCmd})
}

func buildInfoCmd(_ context.Context, env *Env, _ *Request) (bson.D, error) {
	info := hsInfo(env)
	v := hsVersion(info)
	arr := bson.A{}
	parts := strings.SplitN(v, ".", 4)
	for i := 0; i < 4; i++ {
		n := 0
		if i < len(parts) {
			n, _ = strconv.Atoi(strings.TrimFunc(parts[i], func(r rune) bool { return r < '0' || r > '9' }))
		}
		arr = append(arr, int32(n))
	}
	return bson.D{
		{Key: "version", Value: v},
		{Key: "gitVersion", Value: "cairn"},
		{Key: "modules", Value: bson.A{}},
		{Key: "allocator", Value: "go"},
		{Key: "javascriptEngine", Value: "none"},
		{Key: "sysInfo", Value: "deprecated"},
		{Key: "versionArray", Value: arr},
		{Key: "openssl", Value: bson.D{{Key: "running", Value: "disabled"}, {Key: "compiled", Value: "disabled"}}},
		{Key: "buildEnvironment", Value: bson.D{
			{Key: "distarch", Value: runtime.GOARCH},
			{Key: "target_arch", Value: runtime.GOARCH},
			{Key: "target_os", Value: runtime.GOOS},
			{Key: "goversion", Value: runtime.Version()},
		}},
		{Key: "bits", Value: int32(64)},
		{Key: "debug", Value: false},
		{Key: "maxBsonObjectSize", Value: int32(hsMaxBSONObjectSize)},
		{Key: "storageEngines", Value: bson.A{"pebble"}},
	}, nil
}

// admParameters returns the parameters getParameter knows, by name.
func admParameters(env *Env) map[string]any {
	info := hsInfo(env)
	return map[string]any{
		"featureCompatibilityVersion":     bson.D{{Key: "version", Value: "7.0"}},
		"authenticationMechanisms":        bson.A{"SCRAM-SHA-1", "SCRAM-SHA-256"},
		"requireApiVersion":               false,
		"enableTestCommands":              info.EnableTestCommands,
		"logLevel":                        int32(0),
		"quiet":                           false,
		"cursorTimeoutMillis":             int64(10 * 60 * 1000),
		"transactionLifetimeLimitSeconds": int32(60),
		"maxBSONDepth":                    int32(200),
		"internalQueryMaxBlockingSortMemoryUsageBytes": int64(100 * 1024 * 1024),
		"internalDocumentSourceGroupMaxMemoryBytes":    int64(100 * 1024 * 1024),
		"allowDiskUseByDefault":                        true,
		"notablescan":                                  false,
		"ttlMonitorEnabled":                            false,
		"tlsMode":                                      "disabled",
	}
}

func getParameterCmd(_ context.Context, env *Env, req *Request) (bson.D, error) {
	params := admParameters(env)
	all := false
	details := false
	switch v := req.Body[0].Value.(type) {
	case string:
		all = v == "*"
	case bson.D:
		for _, e := range v {
			switch e.Key {
			case "allParameters":
				all = bsonutil.IsTruthy(e.Value)
			case "showDetails":
				details = bsonutil.IsTruthy(e.Value)
			}
		}
	}
	render := func(v any) any {
		if !details {
			return v
		}
		return bson.D{{Key: "value", Value: v}, {Key: "settableAtRuntime", Value: false}, {Key: "settableAtStartup", Value: false}}
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var out bson.D
	if all {
		for _, n := range names {
			out = append(out, bson.E{Key: n, Value: render(params[n])})
		}
		return out, nil
	}
	for _, e := range req.Body[1:] {
		if v, ok := params[e.Key]; ok {
			out = append(out, bson.E{Key: e.Key, Value: render(v)})
		}
	}
	if len(out) == 0 {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "no option found to get")
	}
	return out, nil
}

func getCmdLineOptsCmd(_ context.Context, env *Env, _ *Request) (bson.D, error) {
	info := hsInfo(env)
	argv := bson.A{}
	for _, a := range info.Argv {
		argv = append(argv, a)
	}
	parsed := info.Parsed
	if parsed == nil {
		parsed = bson.D{}
	}
	return bson.D{{Key: "argv", Value: argv}, {Key: "parsed", Value: parsed}}, nil
}

func serverStatusCmd(_ context.Context, env *Env, _ *Request) (bson.D, error) {
	info := hsInfo(env)
	now := time.Now()
	up := time.Duration(0)
	if !info.StartTime.IsZero() {
		up = now.Sub(info.StartTime)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := bson.D{
		{Key: "host", Value: info.Host},
		{Key: "version", Value: hsVersion(info)},
		{Key: "process", Value: "cairn"},
		{Key: "pid", Value: int64(os.Getpid())},
		{Key: "uptime", Value: float64(int64(up.Seconds()))},
		{Key: "uptimeMillis", Value: up.Milliseconds()},
		{Key: "uptimeEstimate", Value: int64(up.Seconds())},
		{Key: "localTime", Value: bson.NewDateTimeFromTime(now)},
	}
	var stats bson.D
	if info.Stats != nil {
		stats = info.Stats()
	}
	for _, section := range []string{"connections", "network", "opcounters"} {
		var v any = bson.D{}
		for _, e := range stats {
			if e.Key == section {
				v = e.Value
			}
		}
		out = append(out, bson.E{Key: section, Value: v})
	}
	for _, e := range stats {
		if e.Key != "connections" && e.Key != "network" && e.Key != "opcounters" {
			out = append(out, e)
		}
	}
	const mib = 1024 * 1024
	out = append(out,
		bson.E{Key: "mem", Value: bson.D{
			{Key: "bits", Value: int32(64)},
			{Key: "resident", Value: int32(ms.HeapInuse / mib)},
			{Key: "virtual", Value: int32(ms.Sys / mib)},
			{Key: "supported", Value: true},
		}},
		bson.E{Key: "storageEngine", Value: bson.D{
			{Key: "name", Value: "pebble"},
			{Key: "supportsCommittedReads", Value: true},
			{Key: "oldestRequiredTimestampForCrashRecovery", Value: bson.Timestamp{}},
			{Key: "supportsPendingDrops", Value: false},
			{Key: "dropPendingIdents", Value: int64(0)},
			{Key: "supportsSnapshotReadConcern", Value: false},
			{Key: "readOnly", Value: false},
			{Key: "persistent", Value: true},
			{Key: "backupCursorOpen", Value: false},
		}},
	)
	return out, nil
}

func hostInfoCmd(_ context.Context, env *Env, _ *Request) (bson.D, error) {
	info := hsInfo(env)
	host := info.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	osName := runtime.GOOS
	osType := strings.ToUpper(osName[:1]) + osName[1:]
	return bson.D{
		{Key: "system", Value: bson.D{
			{Key: "currentTime", Value: bson.NewDateTimeFromTime(time.Now())},
			{Key: "hostname", Value: host},
			{Key: "cpuAddrSize", Value: int32(64)},
			{Key: "numCores", Value: int32(runtime.NumCPU())},
			{Key: "cpuArch", Value: runtime.GOARCH},
			{Key: "numaEnabled", Value: false},
		}},
		{Key: "os", Value: bson.D{{Key: "type", Value: osType}, {Key: "name", Value: osName}}},
		{Key: "extra", Value: bson.D{}},
	}, nil
}

func whatsmyuriCmd(_ context.Context, _ *Env, req *Request) (bson.D, error) {
	you := ""
	if req.Conn != nil {
		you = req.Conn.RemoteAddr
	}
	return bson.D{{Key: "you", Value: you}}, nil
}

func connectionStatusCmd(_ context.Context, _ *Env, req *Request) (bson.D, error) {
	auth := bson.D{
		{Key: "authenticatedUsers", Value: bson.A{}},
		{Key: "authenticatedUserRoles", Value: bson.A{}},
	}
	if v, ok := req.Arg("showPrivileges"); ok && bsonutil.IsTruthy(v) {
		auth = append(auth, bson.E{Key: "authenticatedUserPrivileges", Value: bson.A{}})
	}
	return bson.D{{Key: "authInfo", Value: auth}}, nil
}

func listCommandsCmd(_ context.Context, env *Env, _ *Request) (bson.D, error) {
	info := hsInfo(env)
	cmds := bson.D{}
	for _, c := range All() {
		if c.TestOnly && !info.EnableTestCommands {
			continue
		}
		cmds = append(cmds, bson.E{Key: c.Name, Value: bson.D{
			{Key: "help", Value: c.Help},
			{Key: "requiresAuth", Value: false},
			{Key: "secondaryOk", Value: true},
			{Key: "adminOnly", Value: c.AdminOnly},
			{Key: "apiVersions", Value: bson.A{}},
			{Key: "deprecatedApiVersions", Value: bson.A{}},
		}})
	}
	return bson.D{{Key: "commands", Value: cmds}}, nil
}

func startSessionCmd(context.Context, *Env, *Request) (bson.D, error) {
	uuid := make([]byte, 16)
	_, _ = rand.Read(uuid)
	uuid[6] = uuid[6]&0x0f | 0x40
	uuid[8] = uuid[8]&0x3f | 0x80
	return bson.D{
		{Key: "id", Value: bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: uuid}}}},
		{Key: "timeoutMinutes", Value: int32(hsSessionTimeoutMin)},
	}, nil
}

func endSessionsCmd(_ context.Context, env *Env, req *Request) (bson.D, error) {
	if ids, ok := req.Body[0].Value.(bson.A); ok && env != nil {
		env.Sessions.End(ids)
	}
	return bson.D{}, nil
}

func killAllSessionsCmd(_ context.Context, env *Env, _ *Request) (bson.D, error) {
	if env != nil && env.Cursors != nil {
		env.Cursors.KillAll()
	}
	if env != nil {
		env.Sessions.Clear()
	}
	return bson.D{}, nil
}

func getLogCmd(_ context.Context, env *Env, req *Request) (bson.D, error) {
	name, ok := req.Body[0].Value.(string)
	if !ok {
		return nil, mongoerr.Newf(mongoerr.TypeMismatch, "Argument to getLog must be of type String; found %v of type %s", req.Body[0].Value, bsonutil.TypeName(req.Body[0].Value))
	}
	switch name {
	case "*":
		return bson.D{{Key: "names", Value: bson.A{"global", "startupWarnings"}}}, nil
	case "global", "startupWarnings":
		lines := bson.A{}
		if name == "startupWarnings" {
			for _, w := range hsInfo(env).StartupWarnings {
				lines = append(lines, w)
			}
		}
		return bson.D{{Key: "totalLinesWritten", Value: int32(len(lines))}, {Key: "log", Value: lines}}, nil
	}
	return nil, mongoerr.Newf(mongoerr.OperationFailed, "No log named '%s'", name)
}
