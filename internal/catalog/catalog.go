package catalog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Catalog is the document layer over one storage engine.
//
// Locking: mu guards the in-memory collection map. Data writes (Write) hold
// mu for reading for their whole transaction, and DDL holds it for writing,
// so a write never races with a change of the collection's indexes.
type Catalog struct {
	eng    storage.Engine
	logger *slog.Logger

	mu    sync.RWMutex
	colls map[string]*Collection // by "db.coll"

	signals insertSignals    // wakes awaitData cursors (recordid.go)
	views   map[string]*View // by "db.name" (views.go)
	idHigh  *idHighs         // recently inserted record keys (idhigh.go)
	// multikey holds indexes' multikey markers once read (indexscan.go).
	multikey *multikeyCache
	// committed holds collections' committed statistics (write.go).
	committed *committedStats
}

// Open loads the catalog stored in eng.
func Open(eng storage.Engine, logger *slog.Logger) (*Catalog, error) {
	if logger == nil {
		logger = slog.Default()
	}
	c := &Catalog{eng: eng, logger: logger, colls: map[string]*Collection{}, idHigh: newIDHighs(eng),
		multikey: newMultikeyCache(eng), committed: newCommittedStats(eng)}
	snap, err := eng.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("catalog: open: %w", err)
	}
	defer snap.Close()
	lo, hi := prefixRange([]byte{tagMeta})
	it, err := snap.Scan(lo, hi, false)
	if err != nil {
		return nil, fmt.Errorf("catalog: open: %w", err)
	}
	defer it.Close()
	for it.Next() {
		var m collMeta
		if err := bson.Unmarshal(it.Value(), &m); err != nil {
			return nil, fmt.Errorf("catalog: open: decode metadata %q: %w", it.Key(), err)
		}
		coll, err := buildCollection(m)
		if err != nil {
			return nil, err
		}
		c.colls[coll.NS()] = coll
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("catalog: open: %w", err)
	}
	if err := c.loadViews(snap); err != nil {
		return nil, err
	}
	return c, nil
}

// Engine returns the underlying storage engine.
func (c *Catalog) Engine() storage.Engine { return c.eng }

// Close releases the catalog; it does not close the engine.
func (c *Catalog) Close() error { return nil }

// Collection returns the collection db.name, or nil if it does not exist.
func (c *Catalog) Collection(db, name string) *Collection {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.colls[db+"."+name]
}

// Collections returns db's collections sorted by name.
func (c *Catalog) Collections(db string) []*Collection {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Collection
	for _, coll := range c.colls {
		if coll.DB == db {
			out = append(out, coll)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Databases returns the names of databases that hold at least one
// collection, sorted.
func (c *Catalog) Databases() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, coll := range c.colls {
		if !seen[coll.DB] {
			seen[coll.DB] = true
			out = append(out, coll.DB)
		}
	}
	out = c.viewDBsLocked(seen, out)
	sort.Strings(out)
	return out
}

// ddl runs fn in a storage transaction holding the catalog's write lock.
func (c *Catalog) ddl(ctx context.Context, fn func(txn storage.Txn) error) error {
	return c.eng.Update(ctx, storage.UpdateOptions{}, fn)
}

func nextCollID(txn storage.Txn) (uint64, error) {
	var id uint64 = 1
	v, err := txn.Get(seqKey())
	switch {
	case err == nil:
		id = binary.BigEndian.Uint64(v)
	case !errors.Is(err, storage.ErrNotFound):
		return 0, err
	}
	if err := txn.Set(seqKey(), binary.BigEndian.AppendUint64(nil, id+1)); err != nil {
		return 0, err
	}
	return id, nil
}

func putMeta(txn storage.Txn, m collMeta) error {
	b, err := bson.Marshal(m)
	if err != nil {
		return fmt.Errorf("catalog: encode metadata: %w", err)
	}
	return txn.Set(metaKey(m.DB, m.Name), b)
}

// CreateOptions are the options of the create command that Cairn stores.
type CreateOptions struct {
	// Options is the options document as listCollections reports it.
	Options bson.D
	// IDIndexSpec replaces the default _id index spec (a clustered
	// collection reports its clustered index there).
	IDIndexSpec bson.D
	// Capped makes a capped collection and TimeField a time series
	// collection; both key their records by record id (recordid.go).
	Capped    *CappedLimits
	TimeField string
}

// Create creates the collection db.name. It fails with NamespaceExists if
// it exists already.
func (c *Catalog) Create(ctx context.Context, db, name string, opts CreateOptions) (*Collection, error) {
	if err := ValidateCollName(db, name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.colls[db+"."+name]; ok {
		return nil, mongoerr.Newf(mongoerr.NamespaceExists, "Collection %s.%s already exists.", db, name)
	}
	return c.createLocked(ctx, db, name, opts)
}

func (c *Catalog) createLocked(ctx context.Context, db, name string, opts CreateOptions) (*Collection, error) {
	if err := c.checkCreateLocked(db, name); err != nil {
		return nil, err
	}
	var coll *Collection
	err := c.ddl(ctx, func(txn storage.Txn) error {
		id, err := nextCollID(txn)
		if err != nil {
			return err
		}
		options := opts.Options
		if options == nil {
			options = bson.D{}
		}
		idSpec := opts.IDIndexSpec
		if idSpec == nil {
			idSpec = IDIndexSpec()
		}
		m := collMeta{DB: db, Name: name, ID: id, UUID: newUUID(), Options: options,
			Indexes: []indexMeta{{ID: 0, Spec: idSpec}}, NextIndexID: 1}
		if err := opts.applyLayout(&m); err != nil {
			return err
		}
		if err := putMeta(txn, m); err != nil {
			return err
		}
		coll, err = buildCollection(m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: create %s.%s: %w", db, name, err)
	}
	c.colls[coll.NS()] = coll
	return coll, nil
}

// Ensure returns db.name, creating it if it does not exist (implicit
// creation by a write).
func (c *Catalog) Ensure(ctx context.Context, db, name string) (*Collection, error) {
	if coll := c.Collection(db, name); coll != nil {
		return coll, nil
	}
	if err := ValidateCollName(db, name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if coll, ok := c.colls[db+"."+name]; ok {
		return coll, nil
	}
	return c.createLocked(ctx, db, name, CreateOptions{})
}

func dropData(txn storage.Txn, m collMeta) error {
	for _, p := range [][]byte{recPrefix(m.ID), collPrefix(tagIdx, m.ID), collPrefix(tagMultikey, m.ID)} {
		lo, hi := prefixRange(p)
		if err := txn.DeleteRange(lo, hi); err != nil {
			return err
		}
	}
	if err := txn.Delete(statKey(m.ID)); err != nil {
		return err
	}
	if m.RecordIDs {
		if err := txn.Delete(recordIDsKey(m.ID)); err != nil {
			return err
		}
	}
	return txn.Delete(metaKey(m.DB, m.Name))
}

// Drop drops db.name and reports whether it existed.
func (c *Catalog) Drop(ctx context.Context, db, name string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, ok := c.colls[db+"."+name]
	if !ok {
		return false, nil
	}
	if err := c.ddl(ctx, func(txn storage.Txn) error { return dropData(txn, coll.meta) }); err != nil {
		return false, fmt.Errorf("catalog: drop %s: %w", coll.NS(), err)
	}
	delete(c.colls, coll.NS())
	return true, nil
}

// DropDatabase drops every collection of db.
func (c *Catalog) DropDatabase(ctx context.Context, db string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var victims []*Collection
	for _, coll := range c.colls {
		if coll.DB == db {
			victims = append(victims, coll)
		}
	}
	views := c.viewsOfLocked(db)
	if len(victims) == 0 && len(views) == 0 {
		return nil
	}
	err := c.ddl(ctx, func(txn storage.Txn) error {
		for _, coll := range victims {
			if err := dropData(txn, coll.meta); err != nil {
				return err
			}
		}
		return deleteViews(txn, views)
	})
	if err != nil {
		return fmt.Errorf("catalog: drop database %s: %w", db, err)
	}
	for _, coll := range victims {
		delete(c.colls, coll.NS())
	}
	c.forgetViewsLocked(views)
	return nil
}

// Rename renames a collection, within or across databases. With
// dropTarget, an existing target is dropped first; otherwise an existing
// target fails with NamespaceExists.
func (c *Catalog) Rename(ctx context.Context, fromDB, fromName, toDB, toName string, dropTarget bool) error {
	if err := ValidateCollName(toDB, toName); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkRenameLocked(fromDB, fromName, toDB, toName); err != nil {
		return err
	}
	src, ok := c.colls[fromDB+"."+fromName]
	if !ok {
		return mongoerr.Newf(mongoerr.NamespaceNotFound, "Source collection %s.%s does not exist", fromDB, fromName)
	}
	if fromDB == toDB && fromName == toName {
		return mongoerr.New(mongoerr.IllegalOperation, "Can't rename a collection to itself")
	}
	dst, exists := c.colls[toDB+"."+toName]
	if exists && !dropTarget {
		return mongoerr.New(mongoerr.NamespaceExists, "target namespace exists")
	}
	m := src.meta
	m.DB, m.Name = toDB, toName
	var coll *Collection
	err := c.ddl(ctx, func(txn storage.Txn) error {
		if exists {
			if err := dropData(txn, dst.meta); err != nil {
				return err
			}
		}
		if err := txn.Delete(metaKey(fromDB, fromName)); err != nil {
			return err
		}
		if err := putMeta(txn, m); err != nil {
			return err
		}
		var err error
		coll, err = buildCollection(m)
		return err
	})
	if err != nil {
		return fmt.Errorf("catalog: rename %s.%s: %w", fromDB, fromName, err)
	}
	delete(c.colls, src.NS())
	if exists {
		delete(c.colls, dst.NS())
	}
	c.colls[coll.NS()] = coll
	return nil
}

// SetOptions replaces a collection's stored options (collMod).
func (c *Catalog) SetOptions(ctx context.Context, db, name string, options bson.D) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	coll, ok := c.colls[db+"."+name]
	if !ok {
		return mongoerr.Newf(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", db, name)
	}
	m := coll.meta
	m.Options = options
	var nc *Collection
	err := c.ddl(ctx, func(txn storage.Txn) error {
		if err := putMeta(txn, m); err != nil {
			return err
		}
		var err error
		nc, err = buildCollection(m)
		return err
	})
	if err != nil {
		return err
	}
	c.colls[nc.NS()] = nc
	return nil
}

// isSystem reports whether name is a system collection name.
func isSystem(name string) bool { return strings.HasPrefix(name, "system.") }
