package crashtest

import (
	"context"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

type collection struct{ c *mongo.Collection }

func (c *collection) insert(t *testing.T, doc any) {
	t.Helper()
	if _, err := c.c.InsertOne(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
}

// tempDir is a directory for the server binary that outlives individual
// tests (t.TempDir is removed when its test ends).
func tempDir() (string, error) { return os.MkdirTemp("", "cairn-crashtest-") }

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
