package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/server/servertest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

func failPoint(t *testing.T, c *mongo.Client, mode any, data bson.D) {
	t.Helper()
	if _, err := runCmd(t, c, "admin", bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: mode}, {Key: "data", Value: data}}); err != nil {
		t.Fatal(err)
	}
}

func TestFailCommand(t *testing.T) {
	c, _ := servertest.Client(t, servertest.WithTestCommands())
	failPoint(t, c, bson.D{{Key: "times", Value: 1}}, bson.D{
		{Key: "failCommands", Value: bson.A{"find"}},
		{Key: "errorCode", Value: 91},
		{Key: "errorLabels", Value: bson.A{"TestLabel"}},
	})
	_, err := runCmd(t, c, "db", bson.D{{Key: "find", Value: "c"}})
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 91 || !ce.HasErrorLabel("TestLabel") {
		t.Fatalf("first find: %v", err)
	}
	// times: 1 is used up.
	if _, err := runCmd(t, c, "db", bson.D{{Key: "find", Value: "c"}}); err != nil {
		t.Fatalf("second find: %v", err)
	}
	// closeConnection drops the connection; the driver reports a network error.
	failPoint(t, c, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"ping"}}, {Key: "closeConnection", Value: true}})
	if _, err := runCmd(t, c, "db", bson.D{{Key: "ping", Value: 1}}); !mongo.IsNetworkError(err) {
		t.Fatalf("ping through closeConnection: %v", err)
	}
	if _, err := runCmd(t, c, "db", bson.D{{Key: "ping", Value: 1}}); err != nil {
		t.Fatalf("ping after: %v", err)
	}
	// writeConcernError is appended to a successful reply.
	failPoint(t, c, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "writeConcernError", Value: bson.D{{Key: "code", Value: 100}, {Key: "errmsg", Value: "x"}}}})
	_, err = c.Database("db").Collection("c").InsertOne(context.Background(), bson.D{{Key: "a", Value: 1}})
	var we mongo.WriteException
	if !errors.As(err, &we) || we.WriteConcernError == nil || we.WriteConcernError.Code != 100 {
		t.Fatalf("insert with writeConcernError: %v", err)
	}
	failPoint(t, c, "off", bson.D{})
	if _, err := c.Database("db").Collection("c").InsertOne(context.Background(), bson.D{{Key: "a", Value: 1}}); err != nil {
		t.Fatalf("insert after off: %v", err)
	}
}

func TestFailPointNeedsTestCommands(t *testing.T) {
	c, _ := servertest.Client(t)
	_, err := runCmd(t, c, "admin", bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "alwaysOn"}})
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 59 {
		t.Fatalf("configureFailPoint without test commands: %v", err)
	}
}

func TestAPIVersion(t *testing.T) {
	c, _ := servertest.Client(t)
	cases := []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"bad version", bson.D{{Key: "ping", Value: 1}, {Key: "apiVersion", Value: "2"}}, 322},
		{"strict without version", bson.D{{Key: "ping", Value: 1}, {Key: "apiStrict", Value: true}}, 4886600},
		{"strict non-v1 command", bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a"}, {Key: "apiVersion", Value: "1"}, {Key: "apiStrict", Value: true}}, 323},
		{"v1 ok", bson.D{{Key: "ping", Value: 1}, {Key: "apiVersion", Value: "1"}, {Key: "apiStrict", Value: true}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCmd(t, c, "db", tc.cmd)
			var ce mongo.CommandError
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.code != 0 && (!errors.As(err, &ce) || ce.Code != tc.code):
				t.Fatalf("got %v, want code %d", err, tc.code)
			}
		})
	}
}
