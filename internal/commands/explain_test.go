package commands_test

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// planStages lists the stages of a winning plan from the root down.
func planStages(plan bson.Raw) []string {
	var out []string
	for plan != nil {
		out = append(out, plan.Lookup("stage").StringValue())
		next, ok := plan.Lookup("inputStage").DocumentOK()
		if !ok {
			break
		}
		plan = next
	}
	return out
}

func TestExplainAndHints(t *testing.T) {
	ctx := context.Background()
	db := connect(t).Database("explain_db")
	coll := db.Collection("c")
	docs := make([]any, 50)
	for i := range docs {
		docs[i] = bson.D{{Key: "_id", Value: int32(i)}, {Key: "i", Value: int32(i)}, {Key: "s", Value: "x"}}
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "i", Value: int32(1)}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		cmd       bson.D
		wantStage string // expected somewhere in the winning plan
		wantIndex string
		wantKeys  int64 // -1: don't check
	}{
		{"find equality", bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "i", Value: int32(7)}}}}, "IXSCAN", "i_1", 1},
		{"find natural hint", bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "i", Value: int32(7)}}}, {Key: "hint", Value: bson.D{{Key: "$natural", Value: int32(1)}}}}, "COLLSCAN", "", 0},
		{"count range", bson.D{{Key: "count", Value: "c"}, {Key: "query", Value: bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: int32(10)}, {Key: "$lt", Value: int32(20)}}}}}}, "COUNT", "i_1", -1},
		{"distinct", bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "s"}, {Key: "query", Value: bson.D{{Key: "i", Value: int32(3)}}}}, "IXSCAN", "i_1", 1},
		{"aggregate leading match", bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "i", Value: int32(3)}}}}}}, {Key: "cursor", Value: bson.D{}}}, "IXSCAN", "i_1", 1},
		{"update", bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "i", Value: int32(3)}}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: "y"}}}}}}}}}, "UPDATE", "i_1", 1},
		{"delete", bson.D{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "i", Value: int32(3)}}}, {Key: "limit", Value: int32(1)}}}}}, "DELETE", "i_1", 1},
		{"findAndModify", bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "i", Value: int32(3)}}}, {Key: "remove", Value: true}}, "DELETE", "i_1", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var res bson.Raw
			err := db.RunCommand(ctx, bson.D{{Key: "explain", Value: tc.cmd}, {Key: "verbosity", Value: "executionStats"}}).Decode(&res)
			if err != nil {
				t.Fatal(err)
			}
			plan, ok := res.Lookup("queryPlanner", "winningPlan").DocumentOK()
			if !ok {
				t.Fatalf("no winningPlan in %s", res)
			}
			stages := planStages(plan)
			if !strings.Contains(strings.Join(stages, ","), tc.wantStage) {
				t.Fatalf("stages %v, want %s", stages, tc.wantStage)
			}
			if tc.wantIndex != "" && !strings.Contains(plan.String(), `"indexName": "`+tc.wantIndex+`"`) {
				t.Fatalf("plan %s does not use %s", plan, tc.wantIndex)
			}
			if tc.wantKeys >= 0 {
				if got := res.Lookup("executionStats", "totalKeysExamined").AsInt64(); got != tc.wantKeys {
					t.Fatalf("totalKeysExamined %d, want %d", got, tc.wantKeys)
				}
			}
		})
	}
	// The explained writes did not write.
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "s", Value: "x"}}); err != nil || n != 50 {
		t.Fatalf("after explain: %d documents with s=x, %v", n, err)
	}
	// Counting through the index.
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: int32(10)}, {Key: "$lt", Value: int32(20)}}}}); err != nil || n != 10 {
		t.Fatalf("count = %d, %v; want 10", n, err)
	}
	errCases := []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"bad hint", bson.D{{Key: "find", Value: "c"}, {Key: "hint", Value: "nope"}}, 2},
		{"bad hint on count", bson.D{{Key: "count", Value: "c"}, {Key: "query", Value: bson.D{{Key: "i", Value: int32(1)}}}, {Key: "hint", Value: bson.D{{Key: "zz", Value: int32(1)}}}}, 2},
		{"min without hint", bson.D{{Key: "find", Value: "c"}, {Key: "min", Value: bson.D{{Key: "i", Value: int32(1)}}}}, 51173},
		{"explain of unknown command", bson.D{{Key: "explain", Value: bson.D{{Key: "frobnicate", Value: "c"}}}}, 59},
		{"bad verbosity", bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: "c"}}}, {Key: "verbosity", Value: "loud"}}, 2},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := runErr(t, db, tc.cmd); code != tc.code {
				t.Fatalf("code %d, want %d", code, tc.code)
			}
		})
	}
	// Hinted find returns the right documents.
	cur, err := coll.Find(ctx, bson.D{{Key: "i", Value: bson.D{{Key: "$lt", Value: int32(5)}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []bson.Raw
	if err := cur.All(ctx, &got); err != nil || len(got) != 5 {
		t.Fatalf("find i<5: %d docs, %v", len(got), err)
	}
}
