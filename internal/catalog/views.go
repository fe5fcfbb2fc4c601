package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Views.
//
// A view is a name in a database that stands for an aggregation pipeline
// over another collection or view of the same database. The catalog keeps
// view definitions only; the commands layer reads a view by running its
// resolved pipeline on the underlying collection. Definitions live under
// their own key tag, next to (not inside) the collection metadata:
//
//	tagView db 0x00 name -> viewMeta (BSON)
//
// and in memory in Catalog.views, guarded by Catalog.mu like the
// collections. A name is either a collection or a view, never both:
// creating a collection (explicitly, implicitly by a write, or by a
// rename) over a view fails with NamespaceExists, and so does creating a
// view over a collection.
//
// MongoDB keeps view definitions in a "system.views" collection of each
// database. Cairn does not store one; the name is reserved (no collection
// called system.views can be created) and the commands layer presents a
// read-only system.views in databases that have views.
const tagView byte = 0x10

// SystemViews is the collection name MongoDB keeps view definitions in.
const SystemViews = "system.views"

// MaxViewDepth is how many views may be stacked on one another, as in
// MongoDB.
const MaxViewDepth = 20

// View is a view's definition. View values are immutable; changes replace
// them in the catalog.
type View struct {
	DB   string
	Name string
	// ViewOn is the collection or view (in DB) the view reads.
	ViewOn string
	// Pipeline is the view's aggregation pipeline.
	Pipeline []bson.D
	// Collation is the view's default collation as listCollections reports
	// it (every option filled in), nil for the simple collation.
	Collation bson.D
}

// NS returns "db.name".
func (v *View) NS() string { return v.DB + "." + v.Name }

// PipelineArray returns the pipeline as a BSON array.
func (v *View) PipelineArray() bson.A {
	a := make(bson.A, len(v.Pipeline))
	for i, s := range v.Pipeline {
		a[i] = s
	}
	return a
}

// Options returns the view's options as listCollections reports them:
// {viewOn, pipeline[, collation]}.
func (v *View) Options() bson.D {
	d := bson.D{{Key: "viewOn", Value: v.ViewOn}, {Key: "pipeline", Value: v.PipelineArray()}}
	if v.Collation != nil {
		d = append(d, bson.E{Key: "collation", Value: v.Collation})
	}
	return d
}

// SameDefinition reports whether v and o define the same view.
func (v *View) SameDefinition(o *View) bool {
	return v.DB == o.DB && v.Name == o.Name && v.ViewOn == o.ViewOn &&
		bsonutil.Equal(v.PipelineArray(), o.PipelineArray()) &&
		bsonutil.Equal(orEmptyD(v.Collation), orEmptyD(o.Collation))
}

func orEmptyD(d bson.D) bson.D {
	if d == nil {
		return bson.D{}
	}
	return d
}

// viewMeta is the persisted form of a view.
type viewMeta struct {
	DB        string   `bson:"db"`
	Name      string   `bson:"name"`
	ViewOn    string   `bson:"viewOn"`
	Pipeline  []bson.D `bson:"pipeline"`
	Collation bson.D   `bson:"collation,omitempty"`
}

func viewKey(db, name string) []byte {
	k := make([]byte, 0, 2+len(db)+len(name))
	k = append(k, tagView)
	k = append(k, db...)
	k = append(k, 0)
	return append(k, name...)
}

func putView(txn storage.Txn, v *View) error {
	b, err := bson.Marshal(viewMeta{DB: v.DB, Name: v.Name, ViewOn: v.ViewOn, Pipeline: v.Pipeline, Collation: v.Collation})
	if err != nil {
		return fmt.Errorf("catalog: encode view %s: %w", v.NS(), err)
	}
	return txn.Set(viewKey(v.DB, v.Name), b)
}

// loadViews reads the stored view definitions (Open calls it).
func (c *Catalog) loadViews(r storage.Reader) error {
	c.views = map[string]*View{}
	lo, hi := prefixRange([]byte{tagView})
	it, err := r.Scan(lo, hi, false)
	if err != nil {
		return fmt.Errorf("catalog: open: views: %w", err)
	}
	defer it.Close()
	for it.Next() {
		var m viewMeta
		if err := bson.Unmarshal(it.Value(), &m); err != nil {
			return fmt.Errorf("catalog: open: decode view %q: %w", it.Key(), err)
		}
		v := &View{DB: m.DB, Name: m.Name, ViewOn: m.ViewOn, Pipeline: m.Pipeline, Collation: m.Collation}
		if v.Pipeline == nil {
			v.Pipeline = []bson.D{}
		}
		c.views[v.NS()] = v
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("catalog: open: views: %w", err)
	}
	return nil
}

// View returns the view db.name, or nil if there is none.
func (c *Catalog) View(db, name string) *View {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.views[db+"."+name]
}

// Views returns db's views sorted by name.
func (c *Catalog) Views(db string) []*View {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.viewsOfLocked(db)
}

func (c *Catalog) viewsOfLocked(db string) []*View {
	var out []*View
	for _, v := range c.views {
		if v.DB == db {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkCreateLocked refuses to create a collection db.name where a view
// of that name exists, or under the reserved name system.views.
func (c *Catalog) checkCreateLocked(db, name string) error {
	if _, ok := c.views[db+"."+name]; ok {
		return mongoerr.Newf(mongoerr.NamespaceExists, "A view already exists. NS: %s.%s", db, name)
	}
	if name == SystemViews {
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Cannot create %s.%s: Cairn keeps view definitions in its catalog, not in a collection", db, name)
	}
	return nil
}

// checkRenameLocked refuses to rename a view or to rename a collection
// onto a view.
func (c *Catalog) checkRenameLocked(fromDB, fromName, toDB, toName string) error {
	if _, ok := c.views[fromDB+"."+fromName]; ok {
		return mongoerr.Newf(mongoerr.CommandNotSupportedOnView, "cannot rename view: %s.%s", fromDB, fromName)
	}
	if _, ok := c.views[toDB+"."+toName]; ok {
		return mongoerr.Newf(mongoerr.NamespaceExists, "a view already exists with that name: %s.%s", toDB, toName)
	}
	if toName == SystemViews {
		return mongoerr.Newf(mongoerr.InvalidNamespace, "Cannot rename to %s.%s: the name is reserved for view definitions", toDB, toName)
	}
	return nil
}

// CreateView stores the view v. It fails with NamespaceExists if a
// collection or view of that name exists, and checks the view graph: no
// cycles (GraphContainsCycle), at most MaxViewDepth views stacked
// (ViewDepthLimitExceeded), and a view on a view has the same collation
// (OptionNotSupportedOnView). The pipeline itself is the caller's to
// validate.
func (c *Catalog) CreateView(ctx context.Context, v View) error {
	if err := ValidateCollName(v.DB, v.Name); err != nil {
		return err
	}
	if v.Pipeline == nil {
		v.Pipeline = []bson.D{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := v.NS()
	if _, ok := c.colls[ns]; ok {
		return mongoerr.Newf(mongoerr.NamespaceExists, "Collection %s already exists.", ns)
	}
	if _, ok := c.views[ns]; ok {
		return mongoerr.Newf(mongoerr.NamespaceExists, "A view already exists. NS: %s", ns)
	}
	nv := &v
	if err := c.checkViewGraphLocked(nv); err != nil {
		return err
	}
	if err := c.ddl(ctx, func(txn storage.Txn) error { return putView(txn, nv) }); err != nil {
		return fmt.Errorf("catalog: create view %s: %w", ns, err)
	}
	c.views[ns] = nv
	return nil
}

// ModifyView changes the view db.name (collMod): change gets a copy of
// the current definition to modify. The result is checked like a new view.
func (c *Catalog) ModifyView(ctx context.Context, db, name string, change func(v *View) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.views[db+"."+name]
	if !ok {
		return mongoerr.Newf(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", db, name)
	}
	nv := *old
	nv.Pipeline = append([]bson.D(nil), old.Pipeline...)
	if err := change(&nv); err != nil {
		return err
	}
	nv.DB, nv.Name = old.DB, old.Name
	if nv.Pipeline == nil {
		nv.Pipeline = []bson.D{}
	}
	if err := c.checkViewGraphLocked(&nv); err != nil {
		return err
	}
	if err := c.ddl(ctx, func(txn storage.Txn) error { return putView(txn, &nv) }); err != nil {
		return fmt.Errorf("catalog: modify view %s: %w", nv.NS(), err)
	}
	c.views[nv.NS()] = &nv
	return nil
}

// DropView drops the view db.name and reports whether it existed.
func (c *Catalog) DropView(ctx context.Context, db, name string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.views[db+"."+name]
	if !ok {
		return false, nil
	}
	if err := c.ddl(ctx, func(txn storage.Txn) error { return txn.Delete(viewKey(v.DB, v.Name)) }); err != nil {
		return false, fmt.Errorf("catalog: drop view %s: %w", v.NS(), err)
	}
	delete(c.views, v.NS())
	return true, nil
}

// DropViews drops every view of db (dropping system.views) and returns how
// many there were.
func (c *Catalog) DropViews(ctx context.Context, db string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	views := c.viewsOfLocked(db)
	if len(views) == 0 {
		return 0, nil
	}
	if err := c.ddl(ctx, func(txn storage.Txn) error { return deleteViews(txn, views) }); err != nil {
		return 0, fmt.Errorf("catalog: drop views of %s: %w", db, err)
	}
	c.forgetViewsLocked(views)
	return len(views), nil
}

func deleteViews(txn storage.Txn, views []*View) error {
	for _, v := range views {
		if err := txn.Delete(viewKey(v.DB, v.Name)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Catalog) forgetViewsLocked(views []*View) {
	for _, v := range views {
		delete(c.views, v.NS())
	}
}

// viewDBsLocked adds the databases that hold views to seen and out.
func (c *Catalog) viewDBsLocked(seen map[string]bool, out []string) []string {
	for _, v := range c.views {
		if !seen[v.DB] {
			seen[v.DB] = true
			out = append(out, v.DB)
		}
	}
	return out
}

// ---- the view graph ----

// ViewRefs returns the names (in the view's database) a view depends on:
// its viewOn and the collections its pipeline reads with $lookup,
// $graphLookup and $unionWith, also inside sub-pipelines and $facet.
func ViewRefs(v *View) []string {
	refs := []string{v.ViewOn}
	return appendPipelineRefs(refs, v.Pipeline)
}

func appendPipelineRefs(refs []string, stages []bson.D) []string {
	for _, st := range stages {
		if len(st) != 1 {
			continue
		}
		switch st[0].Key {
		case "$lookup", "$graphLookup":
			d, _ := st[0].Value.(bson.D)
			if from, ok := bsonutil.Get(d, "from").(string); ok {
				refs = append(refs, from)
			}
			refs = appendSubPipelineRefs(refs, bsonutil.Get(d, "pipeline"))
		case "$unionWith":
			switch x := st[0].Value.(type) {
			case string:
				refs = append(refs, x)
			case bson.D:
				if coll, ok := bsonutil.Get(x, "coll").(string); ok {
					refs = append(refs, coll)
				}
				refs = appendSubPipelineRefs(refs, bsonutil.Get(x, "pipeline"))
			}
		case "$facet":
			d, _ := st[0].Value.(bson.D)
			for _, e := range d {
				refs = appendSubPipelineRefs(refs, e.Value)
			}
		}
	}
	return refs
}

func appendSubPipelineRefs(refs []string, v any) []string {
	a, ok := v.(bson.A)
	if !ok {
		return refs
	}
	stages := make([]bson.D, 0, len(a))
	for _, e := range a {
		if d, ok := e.(bson.D); ok {
			stages = append(stages, d)
		}
	}
	return appendPipelineRefs(refs, stages)
}

// checkViewGraphLocked checks the view graph as it would be with nv added
// (or replacing the view of the same name). The graph without nv is
// valid, so only paths through nv need checking: a cycle through nv, the
// longest stack of views through nv, and the collations of nv's direct
// neighbours.
func (c *Catalog) checkViewGraphLocked(nv *View) error {
	lookup := func(name string) *View {
		if name == nv.Name {
			return nv
		}
		return c.views[nv.DB+"."+name]
	}
	// Cycles and the height below nv (views only, nv included).
	var path []string
	heights := map[string]int{}
	var down func(v *View) (int, error)
	down = func(v *View) (int, error) {
		path = append(path, v.Name)
		defer func() { path = path[:len(path)-1] }()
		if len(path) > MaxViewDepth+1 {
			return 0, mongoerr.Newf(mongoerr.ViewDepthLimitExceeded, "View depth limit exceeded; maximum depth is %d", MaxViewDepth)
		}
		best := 0
		for _, ref := range ViewRefs(v) {
			if ref == nv.Name {
				names := make([]string, 0, len(path)+1)
				for _, n := range path {
					names = append(names, nv.DB+"."+n)
				}
				names = append(names, nv.DB+"."+ref)
				return 0, mongoerr.Newf(mongoerr.GraphContainsCycle, "View cycle detected: %s", strings.Join(names, " => "))
			}
			child := lookup(ref)
			if child == nil {
				continue
			}
			if v == nv && !sameCollation(nv.Collation, child.Collation) {
				return 0, collationMismatch(nv, child)
			}
			h, seen := heights[ref]
			if !seen {
				var err error
				if h, err = down(child); err != nil {
					return 0, err
				}
				heights[ref] = h
			}
			best = max(best, h)
		}
		return best + 1, nil
	}
	below, err := down(nv)
	if err != nil {
		return err
	}
	// The height above nv: views that (transitively) depend on it.
	parents := map[string][]*View{}
	for _, v := range c.views {
		if v.DB != nv.DB || v.Name == nv.Name {
			continue
		}
		for _, ref := range ViewRefs(v) {
			parents[ref] = append(parents[ref], v)
		}
	}
	for _, p := range parents[nv.Name] {
		if !sameCollation(nv.Collation, p.Collation) {
			return collationMismatch(p, nv)
		}
	}
	aboveMemo := map[string]int{}
	var up func(name string, depth int) (int, error)
	up = func(name string, depth int) (int, error) {
		if depth > MaxViewDepth {
			return 0, mongoerr.Newf(mongoerr.ViewDepthLimitExceeded, "View depth limit exceeded; maximum depth is %d", MaxViewDepth)
		}
		if h, ok := aboveMemo[name]; ok {
			return h, nil
		}
		best := 0
		for _, p := range parents[name] {
			h, err := up(p.Name, depth+1)
			if err != nil {
				return 0, err
			}
			best = max(best, h)
		}
		aboveMemo[name] = best + 1
		return best + 1, nil
	}
	above, err := up(nv.Name, 0)
	if err != nil {
		return err
	}
	if below+above-1 > MaxViewDepth {
		return mongoerr.Newf(mongoerr.ViewDepthLimitExceeded, "View depth limit exceeded; maximum depth is %d", MaxViewDepth)
	}
	return nil
}

func sameCollation(a, b bson.D) bool { return bsonutil.Equal(orEmptyD(a), orEmptyD(b)) }

func collationMismatch(v, other *View) error {
	return mongoerr.Newf(mongoerr.OptionNotSupportedOnView, "View %s has a collation that does not match the collation of view %s", v.NS(), other.NS())
}
