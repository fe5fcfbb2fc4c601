package catalog_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/cairndb/cairn/internal/catalog"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func lookupStage(from string) bson.D {
	return bson.D{{Key: "$lookup", Value: bson.D{{Key: "from", Value: from}, {Key: "localField", Value: "a"}, {Key: "foreignField", Value: "a"}, {Key: "as", Value: "j"}}}}
}

func TestViewGraph(t *testing.T) {
	ci := bson.D{{Key: "locale", Value: "en"}, {Key: "strength", Value: int32(2)}}
	chain := func(n int) []catalog.View {
		var vs []catalog.View
		prev := "c"
		for i := 0; i < n; i++ {
			name := "s" + string(rune('a'+i))
			vs = append(vs, catalog.View{Name: name, ViewOn: prev})
			prev = name
		}
		return vs
	}
	for _, tc := range []struct {
		name  string
		views []catalog.View // created in order; the last is the one checked
		code  mongoerr.Code  // 0: the last view is accepted
	}{
		{"view on a collection", []catalog.View{{Name: "v", ViewOn: "c"}}, 0},
		{"view on a view", []catalog.View{{Name: "v", ViewOn: "c"}, {Name: "w", ViewOn: "v"}}, 0},
		{"self", []catalog.View{{Name: "v", ViewOn: "v"}}, mongoerr.GraphContainsCycle},
		{"self through $lookup", []catalog.View{{Name: "v", ViewOn: "c", Pipeline: []bson.D{lookupStage("v")}}}, mongoerr.GraphContainsCycle},
		{"through $unionWith in $facet", []catalog.View{
			{Name: "v", ViewOn: "c", Pipeline: []bson.D{{{Key: "$facet", Value: bson.D{{Key: "f", Value: bson.A{bson.D{{Key: "$unionWith", Value: "v"}}}}}}}}},
		}, mongoerr.GraphContainsCycle},
		{"two views reading the same one", []catalog.View{
			{Name: "v", ViewOn: "c"}, {Name: "w", ViewOn: "v", Pipeline: []bson.D{lookupStage("v")}},
		}, 0},
		{"20 stacked", chain(20), 0},
		{"21 stacked", chain(21), mongoerr.ViewDepthLimitExceeded},
		{"collation must match the view below", []catalog.View{{Name: "v", ViewOn: "c", Collation: ci}, {Name: "w", ViewOn: "v"}}, mongoerr.OptionNotSupportedOnView},
		{"same collation", []catalog.View{{Name: "v", ViewOn: "c", Collation: ci}, {Name: "w", ViewOn: "v", Collation: ci}}, 0},
		{"collation of a collection does not matter", []catalog.View{{Name: "v", ViewOn: "c", Collation: ci}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, eng := openCatalog(t, vfs.NewMem())
			defer eng.Close()
			ctx := context.Background()
			if _, err := c.Create(ctx, "db", "c", catalog.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			for i, v := range tc.views {
				v.DB = "db"
				err := c.CreateView(ctx, v)
				if i < len(tc.views)-1 {
					if err != nil {
						t.Fatalf("view %s: %v", v.Name, err)
					}
					continue
				}
				switch {
				case tc.code == 0 && err != nil:
					t.Fatalf("view %s refused: %v", v.Name, err)
				case tc.code != 0 && !mongoerr.Is(err, tc.code):
					t.Fatalf("view %s: got %v, want code %d", v.Name, err, tc.code)
				case tc.code != 0 && c.View("db", v.Name) != nil:
					t.Fatalf("refused view %s was stored", v.Name)
				}
			}
		})
	}
}

func TestModifyViewCycle(t *testing.T) {
	c, eng := openCatalog(t, vfs.NewMem())
	defer eng.Close()
	ctx := context.Background()
	for _, v := range []catalog.View{{DB: "db", Name: "a", ViewOn: "c"}, {DB: "db", Name: "b", ViewOn: "a"}} {
		if err := c.CreateView(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	err := c.ModifyView(ctx, "db", "a", func(v *catalog.View) error { v.ViewOn = "b"; return nil })
	if !mongoerr.Is(err, mongoerr.GraphContainsCycle) {
		t.Fatalf("cycle through collMod: %v", err)
	}
	if got := c.View("db", "a").ViewOn; got != "c" {
		t.Fatalf("a.viewOn after the refused change = %q", got)
	}
	if err := c.ModifyView(ctx, "db", "a", func(v *catalog.View) error { v.ViewOn = "d"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyView(ctx, "db", "zz", func(v *catalog.View) error { return nil }); !mongoerr.Is(err, mongoerr.NamespaceNotFound) {
		t.Fatalf("modify a missing view: %v", err)
	}
}

func TestViewsPersistAndReserveNames(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	c, eng := openCatalog(t, fs)
	if _, err := c.Create(ctx, "db", "c", catalog.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ci := bson.D{{Key: "locale", Value: "fr"}}
	want := []*catalog.View{
		{DB: "db", Name: "v", ViewOn: "c", Pipeline: []bson.D{{{Key: "$match", Value: bson.D{{Key: "a", Value: int32(1)}}}}}, Collation: ci},
		{DB: "db", Name: "w", ViewOn: "v", Pipeline: []bson.D{}, Collation: ci},
		{DB: "only", Name: "x", ViewOn: "nothing", Pipeline: []bson.D{}},
	}
	for _, v := range want {
		if err := c.CreateView(ctx, *v); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		what string
		err  error
		code mongoerr.Code
	}{
		{"view over a view", c.CreateView(ctx, catalog.View{DB: "db", Name: "v", ViewOn: "c"}), mongoerr.NamespaceExists},
		{"view over a collection", c.CreateView(ctx, catalog.View{DB: "db", Name: "c", ViewOn: "v"}), mongoerr.NamespaceExists},
		{"collection over a view", errOf(c.Create(ctx, "db", "v", catalog.CreateOptions{})), mongoerr.NamespaceExists},
		{"implicit collection over a view", errOf(c.Ensure(ctx, "db", "w")), mongoerr.NamespaceExists},
		{"index on a view", errOf4(c.CreateIndexes(ctx, "db", "v", []bson.D{{{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "name", Value: "a_1"}}})), mongoerr.NamespaceExists},
		{"rename onto a view", c.Rename(ctx, "db", "c", "db", "v", true), mongoerr.NamespaceExists},
		{"rename a view", c.Rename(ctx, "db", "v", "db", "v2", false), mongoerr.CommandNotSupportedOnView},
		{"collection named system.views", errOf(c.Create(ctx, "db", catalog.SystemViews, catalog.CreateOptions{})), mongoerr.InvalidNamespace},
	} {
		if !mongoerr.Is(tc.err, tc.code) {
			t.Errorf("%s: got %v, want code %d", tc.what, tc.err, tc.code)
		}
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}

	c, eng = openCatalog(t, fs)
	defer eng.Close()
	got := append(c.Views("db"), c.Views("only")...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("views after reopening:\n got %v\nwant %v", got, want)
	}
	if dbs := c.Databases(); !reflect.DeepEqual(dbs, []string{"db", "only"}) {
		t.Fatalf("databases = %v", dbs)
	}
	if ok, err := c.DropView(ctx, "db", "w"); !ok || err != nil {
		t.Fatalf("drop view: %v, %v", ok, err)
	}
	if err := c.DropDatabase(ctx, "only"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.DropViews(ctx, "db"); n != 1 || err != nil {
		t.Fatalf("drop views: %d, %v", n, err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	c, eng = openCatalog(t, fs)
	defer eng.Close()
	if v := append(c.Views("db"), c.Views("only")...); len(v) != 0 {
		t.Fatalf("views after dropping them all and reopening: %v", v)
	}
	if c.Collection("db", "c") == nil {
		t.Fatal("dropping views dropped the collection")
	}
}

func errOf[T any](_ T, err error) error { return err }

func errOf4[A, B, C any](_ A, _ B, _ C, err error) error { return err }
