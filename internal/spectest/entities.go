package spectest

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// recordedEvent is one observed command monitoring or CMAP event.
type recordedEvent struct {
	kind         string // commandStartedEvent, commandSucceededEvent, commandFailedEvent, or a CMAP event name
	commandName  string
	databaseName string
	command      bson.Raw
	reply        bson.Raw
	serverConnID *int64
	serviceID    *bson.ObjectID
	reason       string
}

// clientEntity is a MongoClient with its event recording.
type clientEntity struct {
	id               string
	client           *mongo.Client
	observe          map[string]bool
	ignore           map[string]bool
	observeSensitive bool

	mu         sync.Mutex
	recording  bool
	events     []recordedEvent
	ignoredIDs map[int64]bool
	checkedOut int
}

var sensitiveCommands = map[string]bool{
	"authenticate": true, "saslstart": true, "saslcontinue": true, "getnonce": true,
	"createuser": true, "updateuser": true, "copydbgetnonce": true, "copydbsaslstart": true, "copydb": true,
}

func (c *clientEntity) skipCommand(name string, cmd bson.Raw) bool {
	if name == "configureFailPoint" || c.ignore[name] {
		return true
	}
	if c.observeSensitive {
		return false
	}
	lower := strings.ToLower(name)
	if sensitiveCommands[lower] {
		return true
	}
	if lower == "hello" || lower == "ismaster" {
		// Redacted (speculativeAuthenticate) hellos come through empty.
		if len(cmd) <= 5 {
			return true
		}
		if _, err := cmd.LookupErr("speculativeAuthenticate"); err == nil {
			return true
		}
	}
	return false
}

func (c *clientEntity) commandMonitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.skipCommand(e.CommandName, e.Command) {
				c.ignoredIDs[e.RequestID] = true
				return
			}
			if !c.recording || !c.observe["commandStartedEvent"] {
				return
			}
			c.events = append(c.events, recordedEvent{kind: "commandStartedEvent", commandName: e.CommandName,
				databaseName: e.DatabaseName, command: cloneRaw(e.Command), serverConnID: e.ServerConnectionID, serviceID: e.ServiceID})
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.ignoredIDs[e.RequestID] {
				delete(c.ignoredIDs, e.RequestID)
				return
			}
			if !c.recording || !c.observe["commandSucceededEvent"] {
				return
			}
			c.events = append(c.events, recordedEvent{kind: "commandSucceededEvent", commandName: e.CommandName,
				databaseName: e.DatabaseName, reply: cloneRaw(e.Reply), serverConnID: e.ServerConnectionID, serviceID: e.ServiceID})
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.ignoredIDs[e.RequestID] {
				delete(c.ignoredIDs, e.RequestID)
				return
			}
			if !c.recording || !c.observe["commandFailedEvent"] {
				return
			}
			c.events = append(c.events, recordedEvent{kind: "commandFailedEvent", commandName: e.CommandName,
				databaseName: e.DatabaseName, serverConnID: e.ServerConnectionID, serviceID: e.ServiceID})
		},
	}
}

var poolEventNames = map[string]string{
	event.ConnectionPoolCreated:     "poolCreatedEvent",
	event.ConnectionPoolReady:       "poolReadyEvent",
	event.ConnectionPoolCleared:     "poolClearedEvent",
	event.ConnectionPoolClosed:      "poolClosedEvent",
	event.ConnectionCreated:         "connectionCreatedEvent",
	event.ConnectionReady:           "connectionReadyEvent",
	event.ConnectionClosed:          "connectionClosedEvent",
	event.ConnectionCheckOutStarted: "connectionCheckOutStartedEvent",
	event.ConnectionCheckOutFailed:  "connectionCheckOutFailedEvent",
	event.ConnectionCheckedOut:      "connectionCheckedOutEvent",
	event.ConnectionCheckedIn:       "connectionCheckedInEvent",
}

func (c *clientEntity) poolMonitor() *event.PoolMonitor {
	return &event.PoolMonitor{Event: func(e *event.PoolEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch e.Type {
		case event.ConnectionCheckedOut:
			c.checkedOut++
		case event.ConnectionCheckedIn:
			c.checkedOut--
		}
		name := poolEventNames[e.Type]
		if name == "" || !c.recording || !c.observe[name] {
			return
		}
		c.events = append(c.events, recordedEvent{kind: name, reason: e.Reason, serviceID: e.ServiceID})
	}}
}

func cloneRaw(r bson.Raw) bson.Raw {
	if r == nil {
		return nil
	}
	return append(bson.Raw(nil), r...)
}

// sessionEntity is an explicit session.
type sessionEntity struct {
	id     string
	sess   *mongo.Session
	client *clientEntity
	lsid   bson.D
}

// cursorEntity is a saved find or command cursor.
type cursorEntity struct {
	cursor *mongo.Cursor
	closed bool
}

// eventListEntity is reserved for storeEventsAsEntities (unsupported).

// entityMap holds the entities of one test.
type entityMap struct {
	mu      sync.Mutex
	byName  map[string]any
	clients []*clientEntity
	order   []string
}

func newEntityMap() *entityMap { return &entityMap{byName: map[string]any{}} }

func (m *entityMap) add(name string, v any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.byName[name]; dup {
		return fmt.Errorf("entity %q already exists", name)
	}
	m.byName[name] = v
	m.order = append(m.order, name)
	if c, ok := v.(*clientEntity); ok {
		m.clients = append(m.clients, c)
	}
	return nil
}

func (m *entityMap) get(name string) (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.byName[name]
	if !ok {
		return nil, fmt.Errorf("no entity named %q", name)
	}
	return v, nil
}

func getEntity[T any](m *entityMap, name, kind string) (T, error) {
	var zero T
	v, err := m.get(name)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("entity %q is a %s, not a %s", name, entityKind(v), kind)
	}
	return t, nil
}

func entityKind(v any) string {
	switch v.(type) {
	case *clientEntity:
		return "client"
	case *mongo.Database:
		return "database"
	case *mongo.Collection:
		return "collection"
	case *sessionEntity:
		return "session"
	case *mongo.GridFSBucket:
		return "bucket"
	case *cursorEntity:
		return "cursor"
	}
	return "BSON value"
}

// BSONEntity implements EntityResolver.
func (m *entityMap) BSONEntity(name string) (any, error) {
	v, err := m.get(name)
	if err != nil {
		return nil, err
	}
	if entityKind(v) != "BSON value" {
		return nil, fmt.Errorf("entity %q is a %s, not a BSON value", name, entityKind(v))
	}
	return v, nil
}

// SessionLsid implements EntityResolver.
func (m *entityMap) SessionLsid(name string) (bson.D, error) {
	s, err := getEntity[*sessionEntity](m, name, "session")
	if err != nil {
		return nil, err
	}
	return s.lsid, nil
}

// close ends sessions, closes cursors and disconnects clients.
func (m *entityMap) close(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.order {
		switch v := m.byName[name].(type) {
		case *sessionEntity:
			v.sess.EndSession(ctx)
		case *cursorEntity:
			if !v.closed {
				_ = v.cursor.Close(ctx)
			}
		}
	}
	for _, c := range m.clients {
		_ = c.client.Disconnect(ctx)
	}
}

func (m *entityMap) stopRecording() {
	for _, c := range m.clients {
		c.mu.Lock()
		c.recording = false
		c.mu.Unlock()
	}
}

// entityFeatures returns a skip error if an entity description uses
// something the runner does not support.
func entityFeatures(e bson.D) error {
	if len(e) != 1 {
		return fmt.Errorf("entity must have exactly one key, has %d", len(e))
	}
	switch e[0].Key {
	case "client", "database", "collection", "session", "bucket":
	case "clientEncryption":
		return skipf("clientEncryption entities (client-side encryption)")
	case "thread":
		return skipf("thread entities")
	default:
		return fmt.Errorf("unknown entity type %q", e[0].Key)
	}
	spec, _ := e[0].Value.(bson.D)
	for _, f := range spec {
		switch f.Key {
		case "observeLogMessages":
			return skipf("client observeLogMessages (driver log messages)")
		case "autoEncryptOpts":
			return skipf("client autoEncryptOpts (client-side encryption)")
		case "storeEventsAsEntities":
			return skipf("client storeEventsAsEntities")
		case "observeTracingMessages":
			return skipf("client observeTracingMessages")
		}
	}
	return nil
}

// createEntity creates one entity described by e.
func (r *Runner) createEntity(ctx context.Context, m *entityMap, e bson.D) error {
	if err := entityFeatures(e); err != nil {
		return err
	}
	kind := e[0].Key
	spec, ok := e[0].Value.(bson.D)
	if !ok {
		return fmt.Errorf("%s entity is not a document", kind)
	}
	a := newArgs(spec)
	id, err := a.str("id", true)
	if err != nil {
		return err
	}
	var v any
	switch kind {
	case "client":
		v, err = r.createClient(ctx, id, a)
	case "database":
		v, err = createDatabase(m, a)
	case "collection":
		v, err = createCollection(m, a)
	case "session":
		v, err = createSession(m, id, a)
	case "bucket":
		v, err = createBucket(m, a)
	}
	if err != nil {
		return fmt.Errorf("create %s %q: %w", kind, id, err)
	}
	return m.add(id, v)
}

func (r *Runner) createClient(ctx context.Context, id string, a *args) (*clientEntity, error) {
	c := &clientEntity{id: id, observe: map[string]bool{}, ignore: map[string]bool{}, ignoredIDs: map[int64]bool{}, recording: true}
	uri := r.URI
	if uo, ok, err := a.doc("uriOptions"); err != nil {
		return nil, err
	} else if ok {
		uri, err = applyURIOptions(uri, uo)
		if err != nil {
			return nil, err
		}
	}
	if _, err := a.boolean("useMultipleMongoses"); err != nil {
		return nil, err
	}
	if obs, ok := a.get("observeEvents"); ok {
		arr, isArr := obs.(bson.A)
		if !isArr {
			return nil, fmt.Errorf("observeEvents is not an array")
		}
		for _, o := range arr {
			s, _ := o.(string)
			if strings.HasPrefix(s, "server") || strings.HasPrefix(s, "topology") {
				return nil, skipf("observing SDAM event %s", s)
			}
			c.observe[s] = true
		}
	}
	if ign, ok := a.get("ignoreCommandMonitoringEvents"); ok {
		arr, _ := ign.(bson.A)
		for _, o := range arr {
			s, _ := o.(string)
			c.ignore[s] = true
		}
	}
	if b, err := a.boolean("observeSensitiveCommands"); err != nil {
		return nil, err
	} else {
		c.observeSensitive = b
	}
	opts := options.Client().ApplyURI(uri).SetMonitor(c.commandMonitor()).SetPoolMonitor(c.poolMonitor())
	if api, ok, err := a.doc("serverApi"); err != nil {
		return nil, err
	} else if ok {
		sa := newArgs(api)
		ver, err := sa.str("version", true)
		if err != nil {
			return nil, err
		}
		if ver != string(options.ServerAPIVersion1) {
			return nil, fmt.Errorf("serverApi version %q is not supported by the driver", ver)
		}
		so := options.ServerAPI(options.ServerAPIVersion1)
		if v, ok := sa.get("strict"); ok {
			b, _ := v.(bool)
			so.SetStrict(b)
		}
		if v, ok := sa.get("deprecationErrors"); ok {
			b, _ := v.(bool)
			so.SetDeprecationErrors(b)
		}
		if err := sa.finish(); err != nil {
			return nil, err
		}
		opts.SetServerAPIOptions(so)
	}
	if err := a.finish("id"); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("client options: %w", err)
	}
	cl, err := mongo.Connect(opts)
	if err != nil {
		return nil, err
	}
	c.client = cl
	return c, nil
}

// applyURIOptions adds uriOptions to a connection string, overriding
// options already there.
func applyURIOptions(uri string, uo bson.D) (string, error) {
	base, query, _ := strings.Cut(uri, "?")
	// Ensure there is a path separator before the options.
	if i := strings.Index(base, "://"); i >= 0 && !strings.Contains(base[i+3:], "/") {
		base += "/"
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("parse connection string options: %w", err)
	}
	lowerKeys := map[string]string{}
	for k := range vals {
		lowerKeys[strings.ToLower(k)] = k
	}
	for _, e := range uo {
		if old, ok := lowerKeys[strings.ToLower(e.Key)]; ok {
			vals.Del(old)
		}
		if _, _, isOp := specialOperator(e.Value); isOp {
			return "", skipf("$$placeholder uriOptions (%s)", e.Key)
		}
		switch v := e.Value.(type) {
		case bson.A:
			for _, x := range v {
				vals.Add(e.Key, uriValue(x))
			}
		case bson.D:
			var parts []string
			for _, f := range v {
				parts = append(parts, f.Key+":"+uriValue(f.Value))
			}
			vals.Set(e.Key, strings.Join(parts, ","))
		default:
			vals.Set(e.Key, uriValue(v))
		}
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		for _, v := range vals[k] {
			if sb.Len() > 0 {
				sb.WriteByte('&')
			}
			sb.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	if sb.Len() == 0 {
		return base, nil
	}
	return base + "?" + sb.String(), nil
}

func uriValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.Itoa(int(x))
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func createDatabase(m *entityMap, a *args) (*mongo.Database, error) {
	clientName, err := a.str("client", true)
	if err != nil {
		return nil, err
	}
	c, err := getEntity[*clientEntity](m, clientName, "client")
	if err != nil {
		return nil, err
	}
	name, err := a.str("databaseName", true)
	if err != nil {
		return nil, err
	}
	dbo := options.Database()
	if err := applyCollOrDBOptions(dbo, a, "databaseOptions"); err != nil {
		return nil, err
	}
	if err := a.finish("id"); err != nil {
		return nil, err
	}
	return c.client.Database(name, dbo), nil
}

func createCollection(m *entityMap, a *args) (*mongo.Collection, error) {
	dbName, err := a.str("database", true)
	if err != nil {
		return nil, err
	}
	db, err := getEntity[*mongo.Database](m, dbName, "database")
	if err != nil {
		return nil, err
	}
	name, err := a.str("collectionName", true)
	if err != nil {
		return nil, err
	}
	co := options.Collection()
	if err := applyCollOrDBOptions(co, a, "collectionOptions"); err != nil {
		return nil, err
	}
	if err := a.finish("id"); err != nil {
		return nil, err
	}
	return db.Collection(name, co), nil
}

func createSession(m *entityMap, id string, a *args) (*sessionEntity, error) {
	clientName, err := a.str("client", true)
	if err != nil {
		return nil, err
	}
	c, err := getEntity[*clientEntity](m, clientName, "client")
	if err != nil {
		return nil, err
	}
	so := options.Session()
	if o, ok, err := a.doc("sessionOptions"); err != nil {
		return nil, err
	} else if ok {
		sa := newArgs(o)
		if v, ok := sa.get("causalConsistency"); ok {
			b, _ := v.(bool)
			so.SetCausalConsistency(b)
		}
		if v, ok := sa.get("snapshot"); ok {
			b, _ := v.(bool)
			so.SetSnapshot(b)
		}
		if _, ok := sa.get("defaultTransactionOptions"); ok {
			return nil, skipf("sessionOptions.defaultTransactionOptions")
		}
		if err := sa.finish(); err != nil {
			return nil, err
		}
	}
	if err := a.finish("id"); err != nil {
		return nil, err
	}
	sess, err := c.client.StartSession(so)
	if err != nil {
		return nil, err
	}
	var lsid bson.D
	if err := bson.Unmarshal(sess.ID(), &lsid); err != nil {
		return nil, fmt.Errorf("decode lsid: %w", err)
	}
	return &sessionEntity{id: id, sess: sess, client: c, lsid: lsid}, nil
}

func createBucket(m *entityMap, a *args) (*mongo.GridFSBucket, error) {
	dbName, err := a.str("database", true)
	if err != nil {
		return nil, err
	}
	db, err := getEntity[*mongo.Database](m, dbName, "database")
	if err != nil {
		return nil, err
	}
	bo := options.GridFSBucket()
	if o, ok, err := a.doc("bucketOptions"); err != nil {
		return nil, err
	} else if ok {
		ba := newArgs(o)
		if v, err := ba.str("bucketName", false); err != nil {
			return nil, err
		} else if v != "" {
			bo.SetName(v)
		}
		if v, ok := ba.get("chunkSizeBytes"); ok {
			n, _ := toInt(v)
			bo.SetChunkSizeBytes(int32(n))
		}
		if d, ok, err := ba.doc("writeConcern"); err != nil {
			return nil, err
		} else if ok {
			wc, err := parseWriteConcern(d)
			if err != nil {
				return nil, err
			}
			bo.SetWriteConcern(wc)
		}
		if d, ok, err := ba.doc("readConcern"); err != nil {
			return nil, err
		} else if ok {
			rc, err := parseReadConcern(d)
			if err != nil {
				return nil, err
			}
			bo.SetReadConcern(rc)
		}
		if d, ok, err := ba.doc("readPreference"); err != nil {
			return nil, err
		} else if ok {
			rp, err := parseReadPreference(d)
			if err != nil {
				return nil, err
			}
			bo.SetReadPreference(rp)
		}
		if err := ba.finish(); err != nil {
			return nil, err
		}
	}
	if err := a.finish("id"); err != nil {
		return nil, err
	}
	return db.GridFSBucket(bo), nil
}

// applyCollOrDBOptions parses the optional document argument key with
// parseCollOrDBOptions and sets the concerns it holds on o (a database or
// collection options builder).
func applyCollOrDBOptions[B interface {
	SetReadConcern(*readconcern.ReadConcern) B
	SetWriteConcern(*writeconcern.WriteConcern) B
	SetReadPreference(*readpref.ReadPref) B
}](o B, a *args, key string) error {
	d, ok, err := a.doc(key)
	if err != nil || !ok {
		return err
	}
	rc, wc, rp, err := parseCollOrDBOptions(d)
	if err != nil {
		return err
	}
	if rc != nil {
		o.SetReadConcern(rc)
	}
	if wc != nil {
		o.SetWriteConcern(wc)
	}
	if rp != nil {
		o.SetReadPreference(rp)
	}
	return nil
}

func parseCollOrDBOptions(d bson.D) (*readconcern.ReadConcern, *writeconcern.WriteConcern, *readpref.ReadPref, error) {
	var (
		rc  *readconcern.ReadConcern
		wc  *writeconcern.WriteConcern
		rp  *readpref.ReadPref
		err error
	)
	for _, e := range d {
		sub, ok := e.Value.(bson.D)
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s is not a document", e.Key)
		}
		switch e.Key {
		case "readConcern":
			rc, err = parseReadConcern(sub)
		case "writeConcern":
			wc, err = parseWriteConcern(sub)
		case "readPreference":
			rp, err = parseReadPreference(sub)
		case "timeoutMS":
			return nil, nil, nil, skipf("timeoutMS (client-side operation timeouts)")
		default:
			return nil, nil, nil, fmt.Errorf("unknown collection/database option %q", e.Key)
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	return rc, wc, rp, nil
}

func parseReadConcern(d bson.D) (*readconcern.ReadConcern, error) {
	a := newArgs(d)
	level, err := a.str("level", true)
	if err != nil {
		return nil, err
	}
	if err := a.finish(); err != nil {
		return nil, err
	}
	return &readconcern.ReadConcern{Level: level}, nil
}

func parseWriteConcern(d bson.D) (*writeconcern.WriteConcern, error) {
	wc := &writeconcern.WriteConcern{}
	for _, e := range d {
		switch e.Key {
		case "w":
			switch w := e.Value.(type) {
			case string:
				wc.W = w
			default:
				n, ok := toInt(w)
				if !ok {
					return nil, fmt.Errorf("writeConcern w is %s", describe(w))
				}
				wc.W = int(n)
			}
		case "journal", "j":
			b, ok := e.Value.(bool)
			if !ok {
				return nil, fmt.Errorf("writeConcern journal is %s", describe(e.Value))
			}
			wc.Journal = &b
		case "wtimeoutMS":
			return nil, skipf("writeConcern wtimeoutMS (not in driver v2)")
		default:
			return nil, fmt.Errorf("unknown writeConcern field %q", e.Key)
		}
	}
	return wc, nil
}

func parseReadPreference(d bson.D) (*readpref.ReadPref, error) {
	a := newArgs(d)
	mode, err := a.str("mode", true)
	if err != nil {
		return nil, err
	}
	m, err := readpref.ModeFromString(mode)
	if err != nil {
		return nil, err
	}
	var opts []readpref.Option
	if v, ok := a.get("maxStalenessSeconds"); ok {
		n, _ := toInt(v)
		opts = append(opts, readpref.WithMaxStaleness(secondsDuration(n)))
	}
	if v, ok := a.get("tagSets"); ok {
		arr, _ := v.(bson.A)
		for _, ts := range arr {
			td, _ := ts.(bson.D)
			var tags []string
			for _, t := range td {
				tags = append(tags, t.Key, fmt.Sprint(t.Value))
			}
			opts = append(opts, readpref.WithTags(tags...))
		}
	}
	if _, ok := a.get("hedge"); ok {
		return nil, skipf("readPreference hedge")
	}
	if err := a.finish(); err != nil {
		return nil, err
	}
	return readpref.New(m, opts...)
}
